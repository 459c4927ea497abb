//! One event loop per core: `threads` OS threads, each with a current-thread runtime and its own
//! `SO_REUSEPORT` listener on the same address, so the kernel spreads connections and a request's
//! two sockets are driven on one thread (no cross-thread wake-ups, as nginx's workers).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

use crate::Edge;

fn listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    s.set_reuseaddr(true)?;
    s.set_reuseport(true)?;
    s.set_nodelay(true)?;
    s.bind(addr)?;
    s.listen(1024)
}

/// Serves `addr` on `threads` per-core event loops until `stop` is cancelled; `tls` makes it
/// HTTPS. Returns once every loop is listening (or the first bind error).
pub fn serve_per_core(
    edge: Edge,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    threads: usize,
    stop: CancellationToken,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for i in 0..threads.max(1) {
        let (edge, tls, stop) = (edge.clone(), tls.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let h = std::thread::Builder::new().name(format!("edge-{i}")).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let l = match listener(addr) {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                match tls {
                    Some(cfg) => crate::serve_tls(edge, l, cfg, stop.cancelled_owned()).await,
                    None => crate::serve(edge, l, "http", stop.cancelled_owned()).await,
                }
            });
        })?;
        ready_rx.recv().map_err(|_| std::io::Error::other("edge thread died"))??;
        handles.push(h);
    }
    Ok(handles)
}
