//! The webhook ingress for real (W1–W5, T1): Debian's `docker-registry` on loopback sends its
//! notifications to a registry trigger's URL; `docker push` of a new tag redeploys the bound image
//! workload at exactly the pushed digest, served through the edge. Forged, unknown, oversized,
//! malformed and duplicate deliveries are answered as the spec says and deploy nothing.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, http};
use serde_json::{Value, json};
use tinyforge_testkit::Registry;

fn docker(args: &[&str]) -> String {
    tinyforge_testkit::run(Command::new("docker").args(args))
}

fn wait_for_body(srv: &Server, host: &str, want: &str, limit: Duration) {
    let t = Instant::now();
    loop {
        if http(srv.edge, "GET", "/", host, None, None) == (200, format!("{want}\n")) {
            return;
        }
        assert!(t.elapsed() < limit, "{host} never served {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn registry_push_redeploys_the_exact_digest() {
    use tinyforge_testkit::images::{Behaviour, build_app};
    build_app("tf-test/hook:v1", "hook-v1", Behaviour::Healthy).unwrap();
    build_app("tf-test/hook:v2", "hook-v2", Behaviour::Healthy).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let reg_addr = common::free_port().to_string();
    let repo = format!("{reg_addr}/team/hook");
    let name = format!("hook-{}", std::process::id());
    let host = format!("{name}.test");

    let (s, t) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": name, "kind": "registry", "config": {"registry": reg_addr, "repository": "team/hook",
            "tags": {"policy": "glob", "pattern": "v*"}}, "signing_secret": "registry-shared-secret-0123"})),
    );
    assert_eq!(s, 201, "{t}");
    let url = t["webhook_url"].as_str().unwrap().to_owned();
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": {"image": repo, "tag": "v1",
            "faces": [{"host": host, "port": 8080}], "health": {"path": "/health"}}})),
    );
    assert_eq!(s, 201, "{w}");
    let wid = w["id"].as_str().unwrap().to_owned();
    assert_eq!(
        srv.call("POST", "/api/bindings", Some(json!({"workload_id": wid, "trigger_id": t["id"]}))).0,
        201
    );

    let notify = format!("http://{}{url}", srv.api);
    let _reg = Registry::start_at(&reg_addr, None, Some((&notify, "registry-shared-secret-0123")));
    let mut pushed_at = None;
    for v in ["v1", "v2"] {
        docker(&["tag", &format!("tf-test/hook:{v}"), &format!("{repo}:{v}")]);
        let t0 = Instant::now();
        let out = docker(&["push", &format!("{repo}:{v}")]);
        let digest = out
            .split_whitespace()
            .skip_while(|w| *w != "digest:")
            .nth(1)
            .expect("docker push prints the digest");
        wait_for_body(&srv, &host, &format!("hook-{v}"), Duration::from_secs(60));
        println!("docker push {v} → new version serving through the edge: {} ms", t0.elapsed().as_millis());
        pushed_at = Some(format!("{repo}@{digest}"));
    }
    // The new version serves before the old one is drained and removed; then the deploy is recorded.
    let started = Instant::now();
    let hist = loop {
        let (_, hist) = srv.call("GET", &format!("/api/workloads/{wid}/deployments"), None);
        if hist[0]["status"] != "running" && hist[0]["status"] != "queued" {
            break hist;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    };
    let current = hist.as_array().unwrap().iter().find(|d| d["status"] == "succeeded").unwrap().clone();
    assert_eq!(current["version"].as_str(), pushed_at.as_deref(), "deployed exactly the pushed digest");
    assert!(current["triggered_by"].as_str().unwrap().starts_with("trigger:registry:"));
    let deployments_before = hist.as_array().unwrap().len();

    // A forged delivery (no Authorization) is refused with 401 and deploys nothing.
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/webhooks/distribution/push-manifest-tagged.json"),
    )
    .unwrap()
    .replace("127.0.0.1:5055", &reg_addr)
    .replace("myorg/webapp", "team/hook")
    .replace("\"1.4.2\"", "\"v9\"");
    let forged: Value = serde_json::from_str(&fixture).unwrap();
    let (s, b) = http(srv.api, "POST", &url, "api", None, Some(&forged));
    assert_eq!(s, 401, "{b}");
    let (s, _) = http(srv.api, "POST", "/api/webhook/triggers/not-a-secret", "api", None, Some(&forged));
    assert_eq!(s, 404);
    std::thread::sleep(Duration::from_millis(300));
    let (_, hist) = srv.call("GET", &format!("/api/workloads/{wid}/deployments"), None);
    assert_eq!(hist.as_array().unwrap().len(), deployments_before, "nothing deployed by the forged delivery");
    let (_, deliveries) =
        srv.call("GET", &format!("/api/triggers/{}/deliveries", t["id"].as_str().unwrap()), None);
    let verdicts: Vec<&str> =
        deliveries.as_array().unwrap().iter().map(|d| d["verdict"].as_str().unwrap()).collect();
    assert!(verdicts.contains(&"rejected") && verdicts.contains(&"accepted"), "{verdicts:?}");
    assert!(
        !deliveries.to_string().contains("registry-shared-secret-0123"),
        "no credential in the delivery log"
    );
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}

#[test]
fn bad_deliveries_and_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start_with(tmp.path(), &[("TINYFORGE_WEBHOOK_MAX_BODY", "65536")]);
    let (_, t) = srv.call("POST", "/api/triggers", Some(json!({"name": "m", "kind": "manual"})));
    let url = t["webhook_url"].as_str().unwrap().to_owned();

    // Oversized → 413; not JSON → 400 naming the problem; unknown shape → 400.
    let big = Value::String("x".repeat(70_000));
    assert_eq!(http(srv.api, "POST", &url, "api", None, Some(&big)).0, 413);
    let (s, b) = http(srv.api, "POST", &url, "api", None, Some(&Value::String("{".into())));
    assert_eq!(s, 400, "{b}");
    let (s, b) = http(srv.api, "POST", &url, "api", None, Some(&json!({"hello": 1})));
    assert_eq!(s, 400);
    assert!(b.contains("no vendor recognised"), "{b}");

    // A ping deploys nothing; a repeated vendor delivery id is a duplicate.
    let send = |body: Value, extra: &str| {
        let mut s = std::net::TcpStream::connect(srv.api).unwrap();
        let b = body.to_string();
        use std::io::{Read, Write};
        write!(s, "POST {url} HTTP/1.1\r\nHost: x\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status: u16 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str::<Value>(out.split_once("\r\n\r\n").unwrap().1).unwrap())
    };
    let (s, b) =
        send(json!({"zen": "hi", "hook_id": 1}), "X-GitHub-Event: ping\r\nX-GitHub-Delivery: p-1\r\n");
    assert_eq!((s, b["event"]["kind"].as_str(), b["queued"].as_u64()), (200, Some("ping"), Some(0)), "{b}");
    let manual = json!({"event": "manual", "actor": "ci"});
    let (s, b) = send(manual.clone(), "webhook-id: d-42\r\n");
    assert_eq!((s, b["queued"].as_u64()), (200, Some(0)), "{b}");
    assert_eq!(b["event"]["kind"], "manual");
    let (s, b) = send(manual, "webhook-id: d-42\r\n");
    assert_eq!((s, b["duplicate"].as_bool()), (200, Some(true)), "{b}");
    // Each verdict is announced as an event, stored with the delivery row.
    let (_, events) = srv.call("GET", "/api/events/recent?limit=1000", None);
    let kinds: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"webhook.received") && kinds.contains(&"webhook.duplicate"), "{kinds:?}");
    let (_, deliveries) =
        srv.call("GET", &format!("/api/triggers/{}/deliveries", t["id"].as_str().unwrap()), None);
    let first = deliveries.as_array().unwrap().iter().find(|d| d["verdict"] == "accepted").unwrap();
    let (s, r) = srv.call(
        "POST",
        &format!(
            "/api/triggers/{}/deliveries/{}/replay",
            t["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!((s, r["replay_of"].as_str()), (200, first["id"].as_str()), "{r}");
}

#[test]
fn cron_binding_redeploys_on_schedule() {
    use tinyforge_testkit::images::{Behaviour, build_app};
    build_app("tf-test/cron:v1", "cron-v1", Behaviour::Healthy).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let name = format!("cron-{}", std::process::id());
    let host = format!("{name}.test");
    let (_, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": {"image": "tf-test/cron", "tag": "v1",
            "faces": [{"host": host, "port": 8080}], "health": {"path": "/health"}, "drain_timeout_secs": 2}})),
    );
    let wid = w["id"].as_str().unwrap().to_owned();
    let (s, e) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": name, "kind": "cron", "config": {"schedule": "every minute"}})),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("config.schedule")), "{e}");
    let (_, t) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": name, "kind": "cron", "config": {"schedule": "*/3 * * * * *"}})),
    );
    assert_eq!(
        srv.call("POST", "/api/bindings", Some(json!({"workload_id": wid, "trigger_id": t["id"]}))).0,
        201
    );
    let t0 = Instant::now();
    loop {
        let (_, hist) = srv.call("GET", &format!("/api/workloads/{wid}/deployments"), None);
        let by_cron = hist
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "succeeded" && d["intent"]["event"]["kind"] == "cron_tick")
            .count();
        if by_cron >= 2 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "two scheduled deploys within 30 s: {hist}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None), (200, "cron-v1\n".into()));
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}

#[test]
fn watcher_logs_in_with_sealed_credentials_and_finds_a_pushed_tag() {
    use tinyforge_testkit::images::{Behaviour, build_app};
    build_app("tf-test/watch:v1", "watch-1.0.0", Behaviour::Healthy).unwrap();
    build_app("tf-test/watch:v2", "watch-1.1.0", Behaviour::Healthy).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    // A registry that wants a login (htpasswd basic auth): the watcher must use the trigger's
    // credentials, sealed at rest and opened only for the poll.
    let (user, pass) = ("watcher", "s3cret-watch-pass-0042");
    let reg_addr = common::free_port().to_string();
    let _reg = Registry::start_at(&reg_addr, Some((user, pass)), None);
    let repo = format!("{reg_addr}/team/watch");
    let cfg = tempfile::tempdir().unwrap();
    let cfg_dir = cfg.path().to_str().unwrap();
    let mut login = Command::new("docker")
        .args(["--config", cfg_dir, "login", "-u", user, "--password-stdin", &reg_addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(login.stdin.as_mut().unwrap(), pass.as_bytes()).unwrap();
    drop(login.stdin.take());
    assert!(login.wait().unwrap().success());
    docker(&["tag", "tf-test/watch:v1", &format!("{repo}:1.0.0")]);
    docker(&["--config", cfg_dir, "push", &format!("{repo}:1.0.0")]);
    let name = format!("watch-{}", std::process::id());
    let host = format!("{name}.test");
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": {"image": repo, "tag": "1.0.0",
            "faces": [{"host": host, "port": 8080}], "health": {"path": "/health"},
            "registry_auth": {"username": user, "password": pass}}})),
    );
    assert_eq!(s, 201, "{w}");
    let wid = w["id"].as_str().unwrap().to_owned();
    let (s, d) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!((s, d["status"].as_str()), (200, Some("succeeded")), "{d}");
    let (s, t) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": name, "kind": "registry", "config": {"registry": reg_addr, "repository": "team/watch",
            "tags": {"policy": "semver", "range": "^1"},
            "watch": {"interval_secs": 1, "insecure": true, "username": user, "password": pass}}})),
    );
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["config"]["watch"]["password"], "********", "{t}");
    assert_eq!(
        srv.call("POST", "/api/bindings", Some(json!({"workload_id": wid, "trigger_id": t["id"]}))).0,
        201
    );
    // The first poll records what the registry has (1.0.0) and deploys nothing.
    let t0 = Instant::now();
    loop {
        let (_, t) = srv.call("GET", &format!("/api/triggers/{}", t["id"].as_str().unwrap()), None);
        if t["poll_state"]["tag"] == "1.0.0" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the watcher never polled: {t}");
        std::thread::sleep(Duration::from_millis(100));
    }
    docker(&["tag", "tf-test/watch:v2", &format!("{repo}:1.1.0")]);
    let t0 = Instant::now();
    docker(&["--config", cfg_dir, "push", &format!("{repo}:1.1.0")]);
    wait_for_body(&srv, &host, "watch-1.1.0", Duration::from_secs(30));
    println!("watcher: push of 1.1.0 → serving after {} ms", t0.elapsed().as_millis());
    let (_, hist) = srv.call("GET", &format!("/api/workloads/{wid}/deployments"), None);
    assert!(hist.as_array().unwrap().iter().any(|d| d["intent"]["target"]["tag"] == "1.1.0"), "{hist}");
    // The password is in no answer and nowhere in the data dir's database files.
    let (_, all) = srv.call("GET", "/api/triggers", None);
    assert!(!all.to_string().contains(pass), "{all}");
    for f in std::fs::read_dir(tmp.path()).unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with("tinyforge.db") {
            let bytes = std::fs::read(f.path()).unwrap();
            assert!(
                !bytes.windows(pass.len()).any(|w| w == pass.as_bytes()),
                "{:?} holds the password",
                f.path()
            );
        }
    }
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}
