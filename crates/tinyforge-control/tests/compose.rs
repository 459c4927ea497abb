//! The compose source on the real engine with `docker-compose` (S2): a two-service stack served
//! through the edge; a changed compose file redeploys; a killed service is brought back by
//! reconcile; teardown leaves nothing; a forbidden key is refused naming service and key.

mod common;

use std::time::Duration;

use common::Harness;
use serde_json::json;
use tinyforge_plugin::ports::Engine;
use tinyforge_store::DeploymentStatus;

fn stack(web_tag: &str) -> String {
    format!(
        "services:\n  web:\n    image: tf-test/app:{web_tag}\n  backend:\n    image: tf-test/app:v2\n    environment:\n      GREETING: ${{GREETING}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_service_stack_is_served_and_redeployed() {
    let h = Harness::new().await;
    let name = Harness::name("stack");
    let (web, api) = (format!("{name}.test"), format!("api-{name}.test"));
    let config = |web_tag: &str| {
        json!({"compose": stack(web_tag), "faces": [
            {"service": "web", "port": 8080, "host": web},
            {"service": "backend", "port": 8080, "host": api}]})
    };
    let source = h.control.registry().source("compose").unwrap();
    let mut bad = config("v1");
    bad["compose"] = "services:\n  web:\n    image: tf-test/app:v1\n    privileged: true\n".into();
    bad["faces"] = json!([{"service": "web", "port": 8080, "host": web}]);
    let e = source.validate(&bad).unwrap_err();
    assert_eq!(e.field, "compose");
    assert!(e.message.contains("service `web`: `privileged` is refused"), "{e}");

    let env = [tinyforge_plugin::EnvVar { key: "GREETING".into(), value: "hello".into(), secret: true }];
    let w = h.store.insert_workload(&name, "compose", &config("v1"), &env).unwrap();
    let deploy = || async {
        let d = h.control.deploy_manually(&w.id, "test", None).await.unwrap();
        h.control.wait_for(&d.id, Duration::from_secs(120)).await.unwrap()
    };
    let d = deploy().await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:?}", d.error);
    assert_eq!(h.get(&web).await.unwrap(), (200, "v1".into()));
    assert_eq!(h.get(&api).await.unwrap(), (200, "v2".into()));
    let project = format!("tf-{name}");
    let containers = h.engine.list("com.docker.compose.project", Some(&project)).await.unwrap();
    assert_eq!(containers.len(), 2);
    assert!(
        containers.iter().all(|c| c.labels.get("tinyforge.workload") == Some(&w.id)),
        "labelled as the workload's"
    );

    // A changed compose file redeploys.
    h.store.update_workload(&w.id, &name, &config("v2"), None).unwrap();
    let d = deploy().await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:?}", d.error);
    assert_eq!(h.get(&web).await.unwrap(), (200, "v2".into()));

    // A killed service comes back with reconcile.
    let backend = h.engine.list("com.docker.compose.service", Some("backend")).await.unwrap();
    let backend =
        backend.iter().find(|c| c.labels.get("com.docker.compose.project") == Some(&project)).unwrap();
    assert!(std::process::Command::new("docker").args(["kill", &backend.id]).status().unwrap().success());
    // `docker kill` returns once the signal is sent; reconcile after the container has died.
    assert!(
        std::process::Command::new("docker").args(["wait", &backend.id]).output().unwrap().status.success()
    );
    let rep = h.control.reconcile_workload(&w.id).await.unwrap();
    assert!(rep.repaired.iter().any(|r| r.contains("compose up")), "{rep:?}");
    assert_eq!(h.get(&api).await.unwrap(), (200, "v2".into()));

    // Teardown leaves nothing.
    h.control.teardown(&w.id).await.unwrap();
    assert!(h.engine.list("com.docker.compose.project", Some(&project)).await.unwrap().is_empty());
    assert_eq!(h.get(&web).await.unwrap().0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_file_can_come_from_git() {
    let h = Harness::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, work) = (tmp.path().join("stack.git"), tmp.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let git = |dir: &std::path::Path, args: &[&str]| {
        tinyforge_testkit::run(
            std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
                .args(args)
                .current_dir(dir),
        )
    };
    git(tmp.path(), &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(work.join("deploy")).unwrap();
    std::fs::write(work.join("deploy/compose.yml"), "services:\n  web:\n    image: tf-test/app:v2\n")
        .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "stack"]);
    git(&work, &["push", "-q", &format!("file://{}", bare.display()), "main"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);

    let name = Harness::name("gitstack");
    let host = format!("{name}.test");
    let cfg = json!({"from_git": {"repository": format!("file://{}", bare.display()), "path": "deploy/compose.yml"},
        "faces": [{"service": "web", "port": 8080, "host": host}]});
    let w = h.store.insert_workload(&name, "compose", &cfg, &[]).unwrap();
    let d = h.control.deploy_manually(&w.id, "test", None).await.unwrap();
    let d = h.control.wait_for(&d.id, Duration::from_secs(120)).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:?}", d.error);
    assert_eq!(d.version.as_deref(), Some(sha.as_str()), "the deployed commit is recorded");
    assert_eq!(h.get(&host).await.unwrap(), (200, "v2".into()));
    h.control.teardown(&w.id).await.unwrap();
}
