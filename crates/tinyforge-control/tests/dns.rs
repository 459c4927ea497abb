//! DNS for real (X4): RFC 2136 updates signed with TSIG against Debian's bind9 started on
//! loopback (a face's record answers `dig` after a deploy and is gone after teardown; a wrong key
//! is refused), and Cloudflare's REST shape against a local stand-in that enforces the
//! documented requests.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Harness;
use serde_json::{Value, json};
use tinyforge_control::dns::{Cloudflare, Rfc2136};
use tinyforge_plugin::ports::Dns;

const KEY: &str = "c2VjcmV0LWtleS1mb3ItdGlueWZvcmdlLXRlc3RzLTEyMzQ1Ng==";

struct Named(Child, #[allow(dead_code)] tempfile::TempDir);
impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn bind9() -> (Named, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let port = tinyforge_testkit::free_port();
    std::fs::write(
        dir.path().join("named.conf"),
        format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }};\n\
             listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};\n\
             key \"tinyforge\" {{ algorithm hmac-sha256; secret \"{KEY}\"; }};\n\
             zone \"example.test\" {{ type primary; file \"{d}/example.test.zone\"; allow-update {{ key \"tinyforge\"; }}; }};\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("example.test.zone"),
        "$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 60 60 600 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n",
    )
    .unwrap();
    let child = Command::new("named")
        .args(["-g", "-c"])
        .arg(dir.path().join("named.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("named (Debian package bind9) is required");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Listening is not enough: updates fail (SERVFAIL) until the zone is loaded.
    let t = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() || !soa(addr).contains("ns.example.test.") {
        assert!(t.elapsed() < Duration::from_secs(15), "named did not load the zone");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Named(child, dir), addr)
}

fn soa(server: SocketAddr) -> String {
    let out = Command::new("dig")
        .args([
            &format!("@{}", server.ip()),
            "-p",
            &server.port().to_string(),
            "example.test",
            "SOA",
            "+short",
            "+tries=1",
            "+time=1",
        ])
        .output()
        .expect("dig (Debian package dnsutils or bind9-dnsutils) is required");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn dig(server: SocketAddr, name: &str) -> String {
    let out = Command::new("dig")
        .args([&format!("@{}", server.ip()), "-p", &server.port().to_string(), name, "A", "+short"])
        .output()
        .expect("dig (Debian package dnsutils or bind9-dnsutils) is required");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_records_follow_deploy_and_teardown() {
    let (_named, server) = bind9();
    let dns = Arc::new(Rfc2136::new(server, "example.test", "tinyforge", KEY, 60).unwrap());
    dns.upsert("one.example.test", Ipv4Addr::new(203, 0, 113, 7)).await.unwrap();
    assert_eq!(dig(server, "one.example.test"), "203.0.113.7");
    dns.upsert("one.example.test", Ipv4Addr::new(203, 0, 113, 8)).await.unwrap();
    assert_eq!(dig(server, "one.example.test"), "203.0.113.8", "updated, not duplicated");
    dns.remove("one.example.test").await.unwrap();
    assert_eq!(dig(server, "one.example.test"), "");
    let forged =
        Rfc2136::new(server, "example.test", "tinyforge", "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ==", 60)
            .unwrap();
    assert!(
        forged.upsert("two.example.test", Ipv4Addr::LOCALHOST).await.is_err(),
        "a wrong TSIG key is refused"
    );
    assert!(
        dns.upsert("outside.other.test", Ipv4Addr::LOCALHOST).await.is_err(),
        "names outside the zone are refused"
    );

    // Through a real deploy: the face's record answers dig; teardown removes it.
    let h = Harness::with_dns(dns.clone(), Ipv4Addr::new(198, 51, 100, 20)).await;
    let name = Harness::name("dns");
    let host = format!("{name}.example.test");
    let w = h
        .store
        .insert_workload(
            &name,
            "image",
            &json!({"image": "tf-test/app", "tag": "v1",
        "faces": [{"host": host, "port": 8080}], "health": {"path": "/health"}}),
            &[],
        )
        .unwrap();
    let d = h.control.deploy_manually(&w.id, "test", None).await.unwrap();
    let d = h.control.wait_for(&d.id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(d.status, tinyforge_store::DeploymentStatus::Succeeded, "{:?}", d.error);
    let t = Instant::now();
    while dig(server, &host) != "198.51.100.20" {
        assert!(t.elapsed() < Duration::from_secs(10), "record not created after deploy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.control.teardown(&w.id).await.unwrap();
    assert_eq!(dig(server, &host), "", "record removed on teardown");
}

/// A stand-in for Cloudflare's v4 DNS records API that refuses anything the docs would refuse.
fn cloudflare_stand_in(
    zone: &'static str,
    token: &'static str,
) -> (String, Arc<Mutex<HashMap<String, Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/client/v4", l.local_addr().unwrap());
    let records: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
    let state = records.clone();
    std::thread::spawn(move || {
        for (n, s) in l.incoming().enumerate() {
            let mut s = s.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, target) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(": ").unwrap();
                headers.insert(k.to_ascii_lowercase(), v.to_owned());
            }
            let len: usize = headers.get("content-length").map_or(0, |v| v.parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let prefix = format!("/client/v4/zones/{zone}/dns_records");
            let (status, answer) = if headers.get("authorization").map(String::as_str)
                != Some(&format!("Bearer {token}"))
            {
                (
                    403,
                    json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "result": null}),
                )
            } else if !target.starts_with(&prefix) {
                (
                    404,
                    json!({"success": false, "errors": [{"code": 7003, "message": "Could not route"}], "result": null}),
                )
            } else {
                let mut recs = state.lock().unwrap();
                let id = target[prefix.len()..].trim_start_matches('/').split('?').next().unwrap().to_owned();
                let valid = |b: &Value| {
                    b["type"] == "A"
                        && b["name"].is_string()
                        && b["content"].as_str().is_some_and(|c| c.parse::<Ipv4Addr>().is_ok())
                        && b["ttl"].is_u64()
                };
                match method.as_str() {
                    "GET" => {
                        let name = target.split("name=").nth(1).unwrap_or("").to_owned();
                        let found: Vec<Value> =
                            recs.values().filter(|r| r["name"] == name.as_str()).cloned().collect();
                        (200, json!({"success": true, "errors": [], "result": found}))
                    }
                    "POST" | "PUT" => {
                        let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if headers.get("content-type").map(String::as_str) != Some("application/json")
                            || !valid(&b)
                        {
                            (
                                400,
                                json!({"success": false, "errors": [{"code": 9000, "message": "bad record"}], "result": null}),
                            )
                        } else {
                            let id = if method == "POST" { format!("rec{n}") } else { id };
                            let mut rec = b.clone();
                            rec["id"] = id.clone().into();
                            recs.insert(id, rec.clone());
                            (200, json!({"success": true, "errors": [], "result": rec}))
                        }
                    }
                    "DELETE" => match recs.remove(&id) {
                        Some(_) => (200, json!({"success": true, "errors": [], "result": {"id": id}})),
                        None => (
                            404,
                            json!({"success": false, "errors": [{"code": 81044, "message": "Record does not exist."}], "result": null}),
                        ),
                    },
                    _ => (405, json!({"success": false, "errors": [], "result": null})),
                }
            };
            let b = answer.to_string();
            write!(s, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len()).unwrap();
        }
    });
    (base, records)
}

#[tokio::test]
async fn cloudflare_rest_shape() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (base, records) = cloudflare_stand_in("zone123", "cf-token");
    let cf = Cloudflare::new(&base, "zone123", "cf-token", 60);
    cf.upsert("app.example.com", Ipv4Addr::new(203, 0, 113, 9)).await.unwrap();
    cf.upsert("app.example.com", Ipv4Addr::new(203, 0, 113, 10)).await.unwrap();
    {
        let recs = records.lock().unwrap();
        assert_eq!(recs.len(), 1, "updated in place: {recs:?}");
        assert_eq!(recs.values().next().unwrap()["content"], "203.0.113.10");
    }
    cf.remove("app.example.com").await.unwrap();
    assert!(records.lock().unwrap().is_empty());
    cf.remove("app.example.com").await.unwrap(); // idempotent
    let e = Cloudflare::new(&base, "zone123", "wrong", 60)
        .upsert("x.example.com", Ipv4Addr::LOCALHOST)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Authentication error"), "{e}");
}
