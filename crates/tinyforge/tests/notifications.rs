//! Outgoing notifications for real (X1): a receiver on loopback gets signed deliveries of a
//! deploy's events; the documented Rust and Python verification samples accept the real
//! signature and refuse a tampered body; a failed attempt is retried and logged.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

include!("../../../docs/samples/verify_signature.rs");

/// One received delivery: the signature header and the raw body.
type Got = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver that answers 500 to the very first request, 200 afterwards.
fn receiver() -> (String, Got) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let got: Got = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        let mut first = true;
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let (mut len, mut sig) = (0usize, String::new());
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(": ") {
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => len = v.parse().unwrap(),
                        "x-tinyforge-signature" => sig = v.to_owned(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let status = if std::mem::take(&mut first) { "500 Internal Server Error" } else { "200 OK" };
            if status.starts_with("200") {
                seen.lock().unwrap().push((sig, body));
            }
            write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        }
    });
    (url, got)
}

#[test]
fn signed_notifications_verify_with_the_documented_samples() {
    tinyforge_testkit::images::build_app(
        "tf-test/notify:v1",
        "notify-v1",
        tinyforge_testkit::images::Behaviour::Healthy,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let secret = "global-notification-secret-42";
    assert_eq!(srv.call("PUT", "/api/notifications/secret", Some(json!({"secret": secret}))).0, 204);
    let (url, got) = receiver();
    let (s, ep) =
        srv.call("POST", "/api/notifications", Some(json!({"url": url, "kinds": ["deploy.succeeded"]})));
    assert_eq!(s, 201, "{ep}");
    assert_eq!(ep["has_secret"], false);
    let (s, e) = srv.call("POST", "/api/notifications", Some(json!({"url": "ftp://x"})));
    assert_eq!((s, e["field"].as_str()), (400, Some("url")));

    let name = format!("notify-{}", std::process::id());
    let (_, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "image", "source_config": {"image": "tf-test/notify", "tag": "v1",
            "faces": [{"host": format!("{name}.test"), "port": 8080}], "health": {"path": "/health"}}})),
    );
    let wid = w["id"].as_str().unwrap().to_owned();
    let (_, d) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!(d["status"], "succeeded", "{d}");

    // The first attempt got a 500; the retry (2 s later) is delivered.
    let t = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "no notification arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (sig, body) = got.lock().unwrap()[0].clone();
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (event["kind"].as_str(), event["workload_id"].as_str()),
        (Some("deploy.succeeded"), Some(wid.as_str()))
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;

    // The Rust sample from docs/samples.
    assert!(verify_tinyforge_signature(secret, &sig, &body, now, 300));
    let mut tampered = body.clone();
    tampered[5] ^= 1;
    assert!(!verify_tinyforge_signature(secret, &sig, &tampered, now, 300));
    assert!(!verify_tinyforge_signature("wrong-secret-wrong-secret", &sig, &body, now, 300));
    assert!(!verify_tinyforge_signature(secret, &sig, &body, now + 3600, 300), "stale");

    // The Python sample, run as a user would.
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples/verify_signature.py");
    let run = |b: &[u8]| {
        let f = tmp.path().join("body.json");
        std::fs::write(&f, b).unwrap();
        std::process::Command::new("python3")
            .arg(&sample)
            .args([secret, sig.as_str()])
            .arg(&f)
            .status()
            .unwrap()
            .success()
    };
    assert!(run(&body), "the Python sample accepts the real delivery");
    assert!(!run(&tampered), "the Python sample refuses a tampered body");

    let (_, log) =
        srv.call("GET", &format!("/api/notifications/{}/deliveries", ep["id"].as_str().unwrap()), None);
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("delivered"), Some(2)),
        "{log}"
    );
    let (_, eps) = srv.call("GET", "/api/notifications", None);
    assert!(!eps.to_string().contains(secret), "no secret in answers");
    assert!(
        !eps.to_string().contains("/hook"),
        "the endpoint's path (a credential for chat webhooks) is not shown: {eps}"
    );
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
}
