//! Static files through the real edge (edge issue, item 5): index and SPA fallback, ETag and
//! Last-Modified with 304, byte ranges, precompressed siblings; `..`, `%2e%2e` and symlinks that
//! lead outside the root are refused.

use std::net::SocketAddr;
use std::time::Duration;

use tinyforge_edge::{Edge, EdgeConfig, serve};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw(addr: SocketAddr, host: &str, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[tokio::test]
async fn files_are_served_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(root.join("app.js"), "console.log('plain')").unwrap();
    std::fs::write(root.join("app.js.gz"), b"GZIPPED-BYTES").unwrap();
    std::fs::write(root.join("a/b.txt"), "0123456789").unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(root.join("a/b.txt"), root.join("inside.txt")).unwrap();

    let edge = Edge::new(EdgeConfig::default());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(edge.clone(), l, "http", std::future::pending()));
    let files = |spa| Backend::Files { root: root.clone(), spa };
    edge.switch(
        "site",
        vec![
            RouteTarget { host: "site.test".into(), path_prefix: None, backend: files(true), tls: false },
            RouteTarget {
                host: "docs.test".into(),
                path_prefix: Some("/docs".into()),
                backend: files(false),
                tls: false,
            },
        ],
        Duration::ZERO,
    )
    .await;

    let (s, head, body) = raw(addr, "site.test", "/", "").await;
    assert_eq!((s, body.as_slice()), (200, &b"<h1>home</h1>"[..]));
    assert_eq!(header(&head, "content-type"), Some("text/html; charset=utf-8"));
    let etag = header(&head, "etag").unwrap().to_owned();
    let modified = header(&head, "last-modified").unwrap().to_owned();
    assert_eq!(raw(addr, "site.test", "/", &format!("If-None-Match: {etag}\r\n")).await.0, 304);
    assert_eq!(raw(addr, "site.test", "/", &format!("If-Modified-Since: {modified}\r\n")).await.0, 304);

    // SPA fallback on site.test; none under the docs prefix.
    assert_eq!(raw(addr, "site.test", "/dashboard/42", "").await.2, b"<h1>home</h1>");
    assert_eq!(raw(addr, "docs.test", "/docs/nope", "").await.0, 404);
    assert_eq!(raw(addr, "docs.test", "/docs/a/b.txt", "").await.2, b"0123456789");

    // Precompressed sibling only for a client that takes it.
    let (_, head, body) = raw(addr, "site.test", "/app.js", "Accept-Encoding: br, gzip\r\n").await;
    assert_eq!((header(&head, "content-encoding"), body.as_slice()), (Some("gzip"), &b"GZIPPED-BYTES"[..]));
    assert_eq!(raw(addr, "site.test", "/app.js", "").await.2, b"console.log('plain')");

    // Ranges.
    let (s, head, body) = raw(addr, "site.test", "/a/b.txt", "Range: bytes=2-5\r\n").await;
    assert_eq!((s, body.as_slice()), (206, &b"2345"[..]));
    assert_eq!(header(&head, "content-range"), Some("bytes 2-5/10"));
    assert_eq!(raw(addr, "site.test", "/a/b.txt", "Range: bytes=50-60\r\n").await.0, 416);

    // Escapes: refused, and the secret never appears.
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/a/%2E%2E/%2e%2e/secret.txt", "/escape.txt"] {
        let (s, _, body) = raw(addr, "site.test", path, "").await;
        assert!(s == 400 || s == 403 || s == 404, "{path}: {s}");
        assert!(!String::from_utf8_lossy(&body).contains("TOP SECRET"), "{path} leaked the file");
    }
    assert_eq!(raw(addr, "site.test", "/escape.txt", "").await.0, 403);
    assert_eq!(
        raw(addr, "site.test", "/inside.txt", "").await.2,
        b"0123456789",
        "a symlink inside the root is fine"
    );
}
