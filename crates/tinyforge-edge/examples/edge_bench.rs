//! The edge alone, for `bench/proxy.sh`: `edge_bench LISTEN UPSTREAM` routes every request for
//! host `127.0.0.1` to UPSTREAM, exactly as a deployed workload's face is routed, served the way
//! `tinyforge serve` serves its public listeners (one event loop per core).

use std::net::SocketAddr;
use std::time::Duration;

use tinyforge_edge::{Edge, EdgeConfig, serve_per_core};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args.next().expect("LISTEN").parse().expect("LISTEN address");
    let upstream: SocketAddr = args.next().expect("UPSTREAM").parse().expect("UPSTREAM address");
    let edge = Edge::new(EdgeConfig::default());
    let route = RouteTarget {
        host: "127.0.0.1".into(),
        path_prefix: None,
        backend: Backend::Upstream(upstream),
        tls: false,
    };
    edge.switch("bench", vec![route], Duration::ZERO).await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = tokio_util::sync::CancellationToken::new();
    for h in serve_per_core(edge, listen, None, cores, stop).expect("bind") {
        let _ = h.join();
    }
}
