//! The public listener: accepts connections, speaks HTTP/1.1 and HTTP/2 (h2c prior knowledge on
//! plain TCP), hands each request to the forwarder, logs it, and drains on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::Edge;
use crate::forward::handle;
use crate::metrics::{HostLabels, RequestLabels};

/// Serves plain HTTP on `listener` until `shutdown` resolves, then lets open requests finish
/// (30 s at most).
pub async fn serve(
    edge: Edge,
    listener: TcpListener,
    scheme: &'static str,
    shutdown: impl Future<Output = ()>,
) {
    run(edge, listener, scheme, None, shutdown).await
}

/// Serves HTTPS (h2 and http/1.1 by ALPN) with certificates from `tls`.
pub async fn serve_tls(
    edge: Edge,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()>,
) {
    run(edge, listener, "https", Some(tokio_rustls::TlsAcceptor::from(tls)), shutdown).await
}

async fn run(
    edge: Edge,
    listener: TcpListener,
    scheme: &'static str,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(64 * 1024).timer(hyper_util::rt::TokioTimer::new());
    builder.http1().header_read_timeout(Duration::from_secs(30));
    builder.http2().max_header_list_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let edge = edge.clone();
        let svc = service_fn(move |req| {
            let edge = edge.clone();
            async move {
                let started = Instant::now();
                let host = crate::forward::host_of(&req);
                let log = tracing::enabled!(target: "tinyforge::access", tracing::Level::DEBUG);
                let (method, path) = if log {
                    (req.method().clone(), req.uri().path().to_owned())
                } else {
                    Default::default()
                };
                let resp = handle(&edge.inner, req, peer, scheme).await;
                let status = resp.status().as_u16();
                let m = &edge.inner.metrics;
                let routed = edge.inner.table.load().has_host(&host);
                let label = if routed { host } else { "unrouted".to_owned() };
                m.latency
                    .get_or_create(&HostLabels { host: label.clone() })
                    .observe(started.elapsed().as_secs_f64());
                if status == 502 || status == 504 {
                    m.upstream_errors.get_or_create(&HostLabels { host: label.clone() }).inc();
                }
                m.requests.get_or_create(&RequestLabels { host: label.clone(), status }).inc();
                if log {
                    tracing::debug!(target: "tinyforge::access", %peer, %method, host = %label, %path,
                        status, micros = started.elapsed().as_micros() as u64);
                }
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        match &tls {
            None => {
                let conn = graceful
                    .watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                let (acceptor, builder, watcher) = (acceptor.clone(), builder.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
}
