//! Blue-green through the real edge with real local HTTP servers (issue: edge proxy, item 3):
//! a request loop across many switches with zero failures, while 2-second requests and an open
//! WebSocket span the switches; old versions are killed only once drained.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tinyforge_edge::{Edge, EdgeConfig, serve};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Message, handshake::derive_accept_key, protocol::Role};

/// A local app: `/` answers its version, `/slow` after 2 s, `/ws` is a WebSocket echo.
/// Dropping the returned JoinSet kills the listener and every open connection.
async fn app(version: &'static str) -> (SocketAddr, JoinSet<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let mut set = JoinSet::new();
    set.spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let (s, _) = l.accept().await.unwrap();
            conns.spawn(async move {
                let svc = service_fn(move |mut req: Request<Incoming>| async move {
                    match req.uri().path() {
                        "/slow" => {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(version))))
                        }
                        "/ws" => {
                            let key = req.headers()["sec-websocket-key"].as_bytes().to_vec();
                            let up = hyper::upgrade::on(&mut req);
                            tokio::spawn(async move {
                                let io = TokioIo::new(up.await.unwrap());
                                let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                                    io,
                                    Role::Server,
                                    None,
                                )
                                .await;
                                while let Some(Ok(m)) = ws.next().await {
                                    if m.is_text() {
                                        let reply = format!("{version}:{}", m.to_text().unwrap());
                                        ws.send(Message::text(reply)).await.unwrap();
                                    }
                                }
                            });
                            Ok(Response::builder()
                                .status(StatusCode::SWITCHING_PROTOCOLS)
                                .header("connection", "upgrade")
                                .header("upgrade", "websocket")
                                .header("sec-websocket-accept", derive_accept_key(&key))
                                .body(Full::new(Bytes::new()))
                                .unwrap())
                        }
                        _ => Ok(Response::new(Full::new(Bytes::from(version)))),
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, set)
}

fn route(addr: SocketAddr) -> Vec<RouteTarget> {
    vec![RouteTarget {
        host: "app.test".into(),
        path_prefix: None,
        backend: Backend::Upstream(addr),
        tls: false,
    }]
}

async fn edge() -> (Edge, SocketAddr) {
    let edge = Edge::new(EdgeConfig::default());
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(edge.clone(), l, "http", std::future::pending()));
    (edge, addr)
}

type Client =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

async fn get(c: &Client, edge: SocketAddr, path: &str, host: &str) -> Result<(u16, String), String> {
    let req = Request::get(format!("http://{edge}{path}")).header("host", host).body(Empty::new()).unwrap();
    let resp = c.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

const VERSIONS: [&str; 13] =
    ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_failures_across_switches_with_slow_requests_and_a_websocket() {
    let (edge, addr) = edge().await;
    let (a0, s0) = app(VERSIONS[0]).await;
    edge.switch("app", route(a0), Duration::from_secs(1)).await;
    let client: Client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();

    // A WebSocket opened on v0 stays open while every switch happens.
    let (mut ws, _) = tokio_tungstenite::client_async(
        "ws://app.test/ws",
        tokio::net::TcpStream::connect(addr).await.unwrap(),
    )
    .await
    .unwrap();

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = JoinSet::new();
    for _ in 0..4 {
        let (c, done, ok, failed) = (client.clone(), done.clone(), ok.clone(), failed.clone());
        load.spawn(async move {
            while !done.load(Ordering::SeqCst)
                || ok.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < 5000
            {
                match get(&c, addr, "/", "app.test").await {
                    Ok((200, _)) => ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        });
    }
    let slow_ok = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let (c, done, slow_ok, failed) = (client.clone(), done.clone(), slow_ok.clone(), failed.clone());
        load.spawn(async move {
            while !done.load(Ordering::SeqCst) {
                match get(&c, addr, "/slow", "app.test").await {
                    Ok((200, _)) => slow_ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("slow failed: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        });
    }

    // 12 switches; each old version is killed (listener and connections) as soon as it drains.
    let mut killers = JoinSet::new();
    let mut old = s0;
    let mut ws_replies = Vec::new();
    for v in &VERSIONS[1..] {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (a, s) = app(v).await;
        let drained = edge.switch_now("app", route(a), Duration::from_secs(30));
        let retiring = std::mem::replace(&mut old, s);
        killers.spawn(async move {
            let ok = drained.await;
            drop(retiring);
            ok
        });
        ws.send(Message::text(format!("during {v}"))).await.unwrap();
        ws_replies.push(ws.next().await.unwrap().unwrap().into_text().unwrap().to_string());
    }
    done.store(true, Ordering::SeqCst);
    while load.join_next().await.is_some() {}
    ws.close(None).await.unwrap();
    drop(ws);
    let mut drained_all = true;
    while let Some(r) = killers.join_next().await {
        drained_all &= r.unwrap();
    }
    let (ok, failed, slow) =
        (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst), slow_ok.load(Ordering::SeqCst));
    println!("switch test: {ok} requests ok, {slow} slow requests ok, {failed} failed, 12 switches");
    assert_eq!(failed, 0);
    assert!(ok >= 5000, "{ok}");
    assert!(slow >= 4, "{slow}");
    assert!(drained_all, "every old version drained before it was killed");
    // The socket opened on v0 was served by v0 the whole time, across all switches.
    assert!(ws_replies.iter().all(|r| r.starts_with("v0:")), "{ws_replies:?}");
    assert_eq!(get(&client, addr, "/", "app.test").await.unwrap(), (200, "v12".into()));
}

#[tokio::test]
async fn unknown_host_404_and_dead_upstream_502() {
    let (edge, addr) = edge().await;
    let client: Client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let (status, body) = get(&client, addr, "/", "nobody.test").await.unwrap();
    assert_eq!(status, 404);
    assert!(!body.contains("app.test"), "the 404 page names no other site");
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap(); // closed on drop
    edge.switch("app", route(dead), Duration::from_secs(1)).await;
    assert_eq!(get(&client, addr, "/", "APP.test:80").await.unwrap().0, 502);
}

#[tokio::test]
async fn headers_forwarded_and_host_kept() {
    let (edge, addr) = edge().await;
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let svc = service_fn(|req: Request<Incoming>| async move {
            let h = req.headers();
            let echo = format!(
                "host={} xff={} proto={} xfh={} conn={}",
                h["host"].to_str().unwrap(),
                h["x-forwarded-for"].to_str().unwrap(),
                h["x-forwarded-proto"].to_str().unwrap(),
                h["x-forwarded-host"].to_str().unwrap(),
                h.contains_key("x-hop"),
            );
            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(echo))))
        });
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(s), svc).await.unwrap();
    });
    edge.switch("app", route(up), Duration::from_secs(1)).await;
    let client: Client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let req = Request::get(format!("http://{addr}/"))
        .header("host", "app.test")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .body(Empty::new())
        .unwrap();
    let body = client.request(req).await.unwrap().into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "host=app.test xff=127.0.0.1 proto=http xfh=app.test conn=false");
}

#[tokio::test]
async fn http2_downstream_is_proxied() {
    let (edge, addr) = edge().await;
    let (a, _s) = app("h2-upstream").await;
    edge.switch("app", route(a), Duration::from_secs(1)).await;
    // h2c with prior knowledge on the plain listener (on HTTPS the same comes through ALPN).
    let client: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    let req = Request::get(format!("http://{addr}/")).header("host", "app.test").body(Empty::new()).unwrap();
    let resp = client.request(req);
    let resp = tokio::time::timeout(Duration::from_secs(5), resp).await.unwrap().unwrap();
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "h2-upstream");
}
