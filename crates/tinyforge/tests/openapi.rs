//! The OpenAPI document (A2) against the router it describes: every documented operation is a
//! route that answers (not the "no such route" fallback), every other method on a documented path
//! is refused with 405, every `$ref` resolves. Routes are registered only through their
//! `#[utoipa::path]` descriptions (`api::api_routes`), so the router cannot grow a route the
//! document lacks; this test checks that claim from outside, over HTTP.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::Server;
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// Status and whatever body arrives within a moment (streams never end).
fn probe(addr: SocketAddr, method: &str, path: &str, token: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_route_is_in_the_openapi_document() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let token = srv.token();
    let (status, doc) = srv.call("GET", "/api/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "{} paths", paths.len());
    let mut operations = 0;
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "x").replace("{delivery}", "x").replace("{secret}", "x");
        for method in METHODS {
            let documented = ops.get(method.to_lowercase()).is_some();
            let (status, text) = probe(srv.api, method, &concrete, &token);
            if documented {
                operations += 1;
                assert!(ops[method.to_lowercase()]["responses"].as_object().is_some_and(|r| !r.is_empty()));
                assert!(
                    status != 405 && !text.contains("no such route"),
                    "{method} {path} is documented but the router does not have it: {status}"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }
    assert!(operations >= 35, "{operations} operations");

    // Only the ingress and health are open; the document says so per operation.
    for (path, op) in [("/healthz", "get"), ("/api/webhook/triggers/{secret}", "post")] {
        assert_eq!(paths[path][op]["security"], serde_json::json!([{}]), "{path} is documented as open");
    }
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));

    // Every schema reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
    }
}
