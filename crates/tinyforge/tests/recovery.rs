//! What keeps a server right while nobody watches (R1), on the real binary and engine:
//! `docker kill` of a workload's container → serving again within 5 s through the edge (Docker
//! events → reconcile); tinyforge killed with SIGKILL in the middle of a deploy and started again
//! → one running version, no orphan, the deployment resolved.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, http};
use serde_json::{Value, json};
use tinyforge_testkit::images::{Behaviour, build_app};

fn containers(workload: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=tinyforge.workload={workload}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

fn create(srv: &Server, name: &str, image: &str) -> String {
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": {"image": image, "tag": "v1",
            "faces": [{"host": format!("{name}.test"), "port": 8080}],
            "health": {"path": "/health", "start_period_secs": 30}, "drain_timeout_secs": 2}})),
    );
    assert_eq!(s, 201, "{w}");
    w["id"].as_str().unwrap().to_owned()
}

#[test]
fn killed_container_serves_again_within_5_seconds() {
    build_app("tf-test/kill:v1", "kill-v1", Behaviour::Healthy).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let name = format!("kill-{}", std::process::id());
    let host = format!("{name}.test");
    let wid = create(&srv, &name, "tf-test/kill");
    let (_, d) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!(d["status"], "succeeded", "{d}");
    let c = containers(&wid);
    assert_eq!(c.len(), 1);
    assert!(Command::new("docker").args(["kill", &c[0]]).status().unwrap().success());
    let t = Instant::now();
    let mut down_seen = false;
    loop {
        let (s, body) = http(srv.edge, "GET", "/", &host, None, None);
        if s == 200 && body == "kill-v1\n" && (down_seen || t.elapsed() > Duration::from_millis(200)) {
            break;
        }
        down_seen |= s != 200;
        assert!(t.elapsed() < Duration::from_secs(5), "not serving again within 5 s (last: {s} {body:?})");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("docker kill → serving again after {} ms (down observed: {down_seen})", t.elapsed().as_millis());
    let t = Instant::now();
    loop {
        let (_, events) = srv.call("GET", &format!("/api/events/recent?workload_id={wid}&limit=1000"), None);
        let kinds: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        if kinds.contains(&"container.crashed") && kinds.contains(&"container.restarted") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "crash and restart events: {kinds:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The containers index, after a pass.
    assert_eq!(srv.call("POST", "/api/reconcile", None).0, 200);
    let (_, w) = srv.call("GET", &format!("/api/workloads/{wid}"), None);
    let index = w["containers"].as_array().unwrap();
    assert_eq!((index.len(), index[0]["running"].as_bool()), (1, Some(true)), "{w}");
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}

#[test]
fn sigkill_mid_deploy_converges_after_restart() {
    build_app("tf-test/crash:v1", "crash-v1", Behaviour::Healthy).unwrap();
    build_app("tf-test/crash:v2", "crash-v2", Behaviour::SlowStart(20)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Server::start(tmp.path());
    let name = format!("crash-{}", std::process::id());
    let host = format!("{name}.test");
    let wid = create(&srv, &name, "tf-test/crash");
    let (_, d) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!(d["status"], "succeeded", "{d}");

    // v2 starts slowly: kill tinyforge while it is being health-gated.
    let (_, d2) = srv.call("POST", &format!("/api/workloads/{wid}/deploy"), Some(json!({"reference": "v2"})));
    let t = Instant::now();
    while containers(&wid).len() < 2 {
        assert!(t.elapsed() < Duration::from_secs(20), "green never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    srv.child.kill().unwrap(); // SIGKILL
    srv.child.wait().unwrap();
    assert_eq!(containers(&wid).len(), 2, "blue and a half-started green are left behind");

    let srv = Server::start(tmp.path());
    let t = Instant::now();
    loop {
        let (_, hist) = srv.call("GET", &format!("/api/workloads/{wid}/deployments"), None);
        let st =
            |id: &Value| hist.as_array().unwrap().iter().find(|d| d["id"] == *id).unwrap()["status"].clone();
        let served = http(srv.edge, "GET", "/", &host, None, None);
        if st(&d2["id"]) == "interrupted"
            && containers(&wid).len() == 1
            && served == (200, "crash-v1\n".to_owned())
        {
            println!("after SIGKILL mid-deploy: converged in {} ms after restart", t.elapsed().as_millis());
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "did not converge: {hist} {served:?} {:?}",
            containers(&wid)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, w) = srv.call("GET", &format!("/api/workloads/{wid}"), None);
    assert_eq!(w["current_deployment"]["id"], d["id"], "v1 is still the recorded version");
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}
