//! `tinyforge serve` as a user runs it: a real process on loopback ports with SQLite in a temp
//! data dir and the real Docker Engine. Auth, validation errors naming the field, secrets never
//! shown or stored in plain, a deploy served through the edge, rollback, restart with routes
//! restored, graceful shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{Server, http};
use serde_json::json;

fn images() {
    use tinyforge_testkit::images::{Behaviour, build_app};
    build_app("tf-test/api:v1", "api-v1", Behaviour::Healthy).unwrap();
    build_app("tf-test/api:v2", "api-v2", Behaviour::Healthy).unwrap();
}

#[test]
fn serve_end_to_end() {
    images();
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Server::start(tmp.path());
    let token = srv.token();
    assert!(token.starts_with("tf_"));

    // Health is open; everything under /api needs the token.
    assert_eq!(http(srv.api, "GET", "/healthz", "api", None, None).0, 200);
    assert_eq!(http(srv.api, "GET", "/api/workloads", "api", None, None).0, 401);
    assert_eq!(http(srv.api, "GET", "/api/workloads", "api", Some("tf_forged"), None).0, 401);

    // Kinds with schema and sample.
    let (s, kinds) = srv.call("GET", "/api/workloads/source-kinds", None);
    assert_eq!(s, 200);
    let names: Vec<&str> = kinds.as_array().unwrap().iter().filter_map(|k| k["kind"].as_str()).collect();
    assert_eq!(names, ["compose", "image", "static"]);
    let image = &kinds[1];
    assert!(image["schema"]["properties"]["faces"].is_object());
    assert_eq!(image["sample"]["image"], "ghcr.io/acme/web");
    let (_, tkinds) = srv.call("GET", "/api/workloads/trigger-kinds", None);
    assert!(tkinds.as_array().unwrap().iter().any(|k| k["kind"] == "manual"));

    // A bad config is refused naming the field; unknown kind and id are clear.
    let name = format!("api-{}", std::process::id());
    let host = format!("{name}.test");
    let mut cfg = json!({"image": "tf-test/api", "tag": "v1", "faces": [{"host": host, "port": 0}],
        "health": {"path": "/health", "start_period_secs": 10},
        "registry_auth": {"username": "deploy", "password": "registry-password-plain-123"}});
    let (s, e) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": cfg})),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("source_config.faces[0].port")), "{e}");
    let (s, e) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "imagee", "source_config": {}})),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("source_kind")), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("known kinds: compose, image, static"), "{e}");
    let (s, e) =
        srv.call("POST", "/api/workloads", Some(json!({"source_kind": "image", "source_config": {}})));
    assert_eq!((s, e["field"].as_str()), (400, Some("name")), "{e}");
    assert_eq!(srv.call("GET", "/api/workloads/nope", None).0, 404);

    cfg["faces"][0]["port"] = json!(8080);
    let env = json!([{"key": "API_KEY", "value": "env-secret-plain-456", "secret": true}, {"key": "MODE", "value": "prod"}]);
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": cfg, "env": env})),
    );
    assert_eq!(s, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_owned();
    assert_eq!(w["source_config"]["registry_auth"]["password"], "********");
    assert_eq!(w["env"][0]["value"], "");
    assert_eq!(w["status"], "new");
    let (s, _) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": cfg})),
    );
    assert_eq!(s, 409);

    // A trigger's secret is shown once; a binding validates against the trigger kind.
    let (s, t) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": format!("m-{name}"), "kind": "manual", "config": {}})),
    );
    assert_eq!(s, 201, "{t}");
    let secret = t["secret"].as_str().unwrap().to_owned();
    assert_eq!(t["webhook_url"], format!("/api/webhook/triggers/{secret}"));
    let (_, t2) = srv.call("GET", &format!("/api/triggers/{}", t["id"].as_str().unwrap()), None);
    assert!(!t2.to_string().contains(&secret));
    let (s, e) = srv.call(
        "POST",
        "/api/bindings",
        Some(
            json!({"workload_id": id, "trigger_id": t["id"], "binding_config": {"allowed_actors": "admin"}}),
        ),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("binding_config.allowed_actors")), "{e}");
    let (s, _) = srv.call("POST", "/api/bindings", Some(json!({"workload_id": id, "trigger_id": t["id"], "binding_config": {"allowed_actors": ["admin"]}})));
    assert_eq!(s, 201);

    // Deploy v1 and wait: served through the edge.
    let (s, d) = srv.call("POST", &format!("/api/workloads/{id}/deploy?wait=true"), None);
    assert_eq!((s, d["status"].as_str()), (200, Some("succeeded")), "{d}");
    assert_eq!(d["triggered_by"], "manual:admin");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None), (200, "api-v1\n".into()));
    let (s, d2) =
        srv.call("POST", &format!("/api/workloads/{id}/deploy?wait=true"), Some(json!({"reference": "v2"})));
    assert_eq!((s, d2["status"].as_str()), (200, Some("succeeded")), "{d2}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).1, "api-v2\n");
    let (_, hist) = srv.call("GET", &format!("/api/workloads/{id}/deployments"), None);
    assert_eq!(hist.as_array().unwrap().len(), 2);
    let (_, logs) = srv.call("GET", &format!("/api/workloads/{id}/logs"), None);
    let lines = logs["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l.as_str().unwrap().contains("response:200")), "{logs}");

    // Metrics on the admin API (token required), not on the public listener.
    let (s, m) = http(srv.api, "GET", "/api/metrics", "api", Some(&token), None);
    assert_eq!(s, 200);
    assert!(m.contains(&format!("tinyforge_edge_requests_total{{host=\"{host}\",status=\"200\"}}")), "{m}");
    assert!(m.contains("tinyforge_events_total{kind=\"deploy.succeeded\"} 2"), "{m}");
    assert!(m.contains("tinyforge_edge_request_duration_seconds_bucket"), "{m}");
    assert_eq!(http(srv.api, "GET", "/api/metrics", "api", None, None).0, 401);
    assert_eq!(http(srv.edge, "GET", "/api/metrics", "api", None, None).0, 404);

    // Rollback to v1.
    let (s, rb) = srv.call("POST", &format!("/api/workloads/{id}/rollback?wait=true"), None);
    assert_eq!((s, rb["status"].as_str()), (200, Some("succeeded")), "{rb}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).1, "api-v1\n");
    let (_, w) = srv.call("GET", &format!("/api/workloads/{id}"), None);
    assert_eq!(w["status"], "serving");

    // Graceful stop; secrets are nowhere in plain in the data dir.
    assert!(srv.stop(), "tinyforge exits 0 on SIGTERM");
    assert!(srv.stdout.contains(&token), "the first start prints the admin token once");
    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { out.extend(files(&p)) } else { out.push(p) }
        }
        out
    }
    for f in files(tmp.path()) {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for plain in ["registry-password-plain-123", "env-secret-plain-456", secret.as_str()] {
            assert!(!text.contains(plain), "{plain} found in plain in the data dir");
        }
    }

    // Restart on the same data dir: no new token printed, routes restored by the boot reconcile.
    let mut srv = Server::start(tmp.path());
    let t = Instant::now();
    while http(srv.edge, "GET", "/", &host, None, None).0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(20), "routes restored after restart");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).1, "api-v1\n");

    // Delete tears down: the host is gone from the edge.
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{id}"), None).0, 204);
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).0, 404);
    assert!(srv.stop());
    assert!(!srv.stdout.contains("tf_"), "the token is printed on first start only");
}

/// A compose stack's logs are every running service's, each line named by its container.
#[test]
fn a_compose_stack_logs_every_service() {
    images();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let name = format!("stack-{}", std::process::id());
    let host = format!("{name}.test");
    let compose = "services:\n  web:\n    image: tf-test/api:v1\n  api:\n    image: tf-test/api:v2\n";
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "compose", "source_config": {"compose": compose,
            "faces": [{"service": "web", "port": 8080, "host": host}]}})),
    );
    assert_eq!(s, 201, "{w}");
    let id = w["id"].as_str().unwrap();
    let (s, d) = srv.call("POST", &format!("/api/workloads/{id}/deploy?wait=true"), None);
    assert_eq!((s, d["status"].as_str()), (200, Some("succeeded")), "{d}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None), (200, "api-v1\n".into()));
    let (s, logs) = srv.call("GET", &format!("/api/workloads/{id}/logs"), None);
    assert_eq!(s, 200, "{logs}");
    assert_eq!(logs["containers"].as_array().unwrap().len(), 2, "{logs}");
    let lines: Vec<&str> = logs["lines"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert!(
        lines.iter().any(|l| l.contains("web") && l.contains(" | ") && l.contains("response:200")),
        "{lines:?}"
    );
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{id}"), None).0, 204);
}
