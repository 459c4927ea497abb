//! The edge's request-body limit holds for every framing: a `Content-Length` over the limit is
//! refused up front, a chunked upload is cut off once it passes the limit (413 either way), and a
//! body under the limit reaches the app whole.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tinyforge_edge::{Edge, EdgeConfig, serve};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: u64 = 1 << 20;

/// An app that answers how many body bytes it received.
async fn counting_app() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    let n = req.into_body().collect().await?.to_bytes().len();
                    Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(n.to_string()))))
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(s), svc).await;
            });
        }
    });
    addr
}

/// Sends `head` then `chunks` of `size` bytes each (chunked when `chunked`), returns the status
/// line and body.
async fn upload(edge: SocketAddr, chunked: bool, chunks: usize, size: usize) -> String {
    let mut s = TcpStream::connect(edge).await.unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", chunks * size)
    };
    let head = format!("POST /upload HTTP/1.1\r\nHost: app.test\r\n{framing}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let data = vec![b'x'; size];
    for _ in 0..chunks {
        // The edge may answer and close before the whole body is sent.
        let sent = if chunked {
            s.write_all(format!("{size:x}\r\n").as_bytes())
                .await
                .and(s.write_all(&data).await)
                .and(s.write_all(b"\r\n").await)
        } else {
            s.write_all(&data).await
        };
        if sent.is_err() {
            break;
        }
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n").await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split_once("\r\n\r\n").map(|b| b.1.to_owned()).unwrap_or_default();
    format!("{status} | {body}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_holds_for_every_framing() {
    let edge = Edge::new(EdgeConfig { max_body_bytes: LIMIT, ..EdgeConfig::default() });
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(edge.clone(), l, "http", std::future::pending()));
    let app = counting_app().await;
    let target = RouteTarget {
        host: "app.test".into(),
        path_prefix: None,
        backend: Backend::Upstream(app),
        tls: false,
    };
    edge.switch("app", vec![target], Duration::from_secs(1)).await;

    let small = upload(addr, true, 8, 64 << 10).await;
    assert!(small.starts_with("HTTP/1.1 200") && small.ends_with("| 524288"), "{small}");
    let declared = upload(addr, false, 2, 1 << 20).await;
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    let chunked = upload(addr, true, 32, 64 << 10).await;
    assert!(chunked.starts_with("HTTP/1.1 413"), "a chunked 2 MiB upload passed a 1 MiB limit: {chunked}");
}
