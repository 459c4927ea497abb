//! Private registry auth for real (S1, X3): Debian's `docker-registry` on loopback with htpasswd;
//! a private image deployed with sealed credentials; a wrong password fails the deploy with
//! "registry denied" while the previous version keeps serving.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::Harness;
use serde_json::json;
use tinyforge_control::seal_config;
use tinyforge_store::DeploymentStatus;
use tinyforge_testkit::{Registry, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_image_with_sealed_credentials_and_a_wrong_password() {
    let h = Harness::new().await;
    let reg = Registry::start(Some(("deployer", "s3cret-registry-pass")), None);
    let repo = format!("{}/priv/app", reg.addr);
    // Push v1 and v2 with a throwaway docker config, then drop the local tags so deploys must pull.
    let cfg_dir = tempfile::tempdir().unwrap();
    let docker = |args: &[&str]| {
        let mut c = Command::new("docker");
        c.arg("--config").arg(cfg_dir.path()).args(args);
        c
    };
    let mut login = docker(&["login", "-u", "deployer", "--password-stdin", &reg.addr]);
    login.stdin(Stdio::piped()).stdout(Stdio::null());
    let mut child = login.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"s3cret-registry-pass").unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    for v in ["v1", "v2"] {
        run(&mut docker(&["tag", &format!("tf-test/app:{v}"), &format!("{repo}:{v}")]));
        run(docker(&["push", &format!("{repo}:{v}")]).stdout(Stdio::null()));
        run(&mut docker(&["rmi", &format!("{repo}:{v}")]));
    }

    let name = Harness::name("priv");
    let host = format!("{name}.test");
    let schema = h.control.registry().source("image").unwrap().schema();
    let config = |password: &str| {
        json!({"image": repo, "tag": "v1", "faces": [{"host": host, "port": 8080}],
               "health": {"path": "/health", "start_period_secs": 10},
               "registry_auth": {"username": "deployer", "password": password}})
    };
    let sealed = seal_config(&schema, &config("s3cret-registry-pass"), h.store.sealer());
    assert!(!sealed.to_string().contains("s3cret-registry-pass"));
    let w = h.store.insert_workload(&name, "image", &sealed, &[]).unwrap();

    let d = h.control.deploy_manually(&w.id, "test", None).await.unwrap();
    let d = h.control.wait_for(&d.id, Duration::from_secs(120)).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:?}", d.error);
    assert!(d.version.as_deref().unwrap().starts_with(&format!("{repo}@sha256:")), "{:?}", d.version);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));

    let wrong = seal_config(&schema, &config("not-the-password"), h.store.sealer());
    h.store.update_workload(&w.id, &name, &wrong, None).unwrap();
    let d2 = h.control.deploy_manually(&w.id, "test", Some("v2".into())).await.unwrap();
    let d2 = h.control.wait_for(&d2.id, Duration::from_secs(120)).await.unwrap();
    assert_eq!(d2.status, DeploymentStatus::Failed);
    assert!(d2.error.as_deref().unwrap().contains("registry denied"), "{:?}", d2.error);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()), "the previous version keeps serving");
    h.control.teardown(&w.id).await.unwrap();
}
