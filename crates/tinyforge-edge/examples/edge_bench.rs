//! The edge alone, for `bench/proxy.sh`: `edge_bench LISTEN UPSTREAM` routes every request for
//! host `127.0.0.1` to UPSTREAM, exactly as a deployed workload's face is routed.

use std::net::SocketAddr;
use std::time::Duration;

use tinyforge_edge::{Edge, EdgeConfig, serve};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args.next().expect("LISTEN").parse().expect("LISTEN address");
    let upstream: SocketAddr = args.next().expect("UPSTREAM").parse().expect("UPSTREAM address");
    let edge = Edge::new(EdgeConfig::default());
    edge.switch(
        "bench",
        vec![RouteTarget {
            host: "127.0.0.1".into(),
            path_prefix: None,
            backend: Backend::Upstream(upstream),
            tls: false,
        }],
        Duration::ZERO,
    )
    .await;
    let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
    serve(edge, listener, "http", std::future::pending()).await;
}
