//! The edge proxy tinyforge owns: a host (+ path prefix) route table held in an `ArcSwap`, swapped
//! atomically on deploy; per-upstream in-flight counting so the old version is stopped only once
//! drained (kamal-proxy's model); streaming bodies, WebSocket tunnels, HTTP/1.1 and h2c.

pub mod acme;
mod body;
mod cores;
mod files;
mod forward;
pub mod metrics;
mod serve;
mod table;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use tinyforge_plugin::ports::{RouteTarget, Routes};

pub use cores::serve_per_core;
pub use serve::{serve, serve_tls};
use table::{RouteTable, Upstream};

/// Proxy settings.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// How long to wait for an upstream's response headers.
    pub upstream_timeout: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Port of the HTTPS listener, when there is one: faces with `tls` redirect HTTP to it.
    pub https_port: Option<u16>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self { upstream_timeout: Duration::from_secs(60), max_body_bytes: 64 << 20, https_port: None }
    }
}

/// The edge: route table plus the upstream client. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
}

struct Inner {
    table: ArcSwap<RouteTable>,
    config: EdgeConfig,
    /// Serialises writers of the table (readers never wait).
    write: std::sync::Mutex<()>,
    /// Pending ACME HTTP-01 answers, served before routing.
    challenges: acme::Challenges,
    /// Wakes whoever keeps certificates for TLS faces (the ACME manager).
    tls_changed: tokio::sync::Notify,
    metrics: metrics::EdgeMetrics,
}

impl Edge {
    /// An edge with an empty route table.
    pub fn new(config: EdgeConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                table: ArcSwap::from_pointee(RouteTable::default()),
                config,
                write: std::sync::Mutex::new(()),
                challenges: acme::Challenges::default(),
                tls_changed: tokio::sync::Notify::new(),
                metrics: metrics::EdgeMetrics::default(),
            }),
        }
    }

    /// The edge's Prometheus metrics (register them on the admin side).
    pub fn metrics(&self) -> &metrics::EdgeMetrics {
        &self.inner.metrics
    }

    /// The pending ACME challenges this edge answers (share them with [`acme::Acme`]).
    pub fn challenges(&self) -> acme::Challenges {
        self.inner.challenges.clone()
    }

    /// Hosts of every route served over TLS.
    pub fn tls_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> =
            self.all_routes().into_iter().filter(|(_, r)| r.tls).map(|(_, r)| r.host).collect();
        hosts.dedup();
        hosts
    }

    /// Resolves when the set of routes changed (a TLS face may need a certificate).
    pub async fn routes_changed(&self) {
        self.inner.tls_changed.notified().await;
    }

    /// Every route, for the API and tests.
    pub fn all_routes(&self) -> Vec<(String, RouteTarget)> {
        self.inner.table.load().all()
    }

    /// Switches `owner` to `targets` now and returns a future that resolves when the previous
    /// upstreams are drained (`true`) or `drain_timeout` passed (`false`).
    pub fn switch_now(
        &self,
        owner: &str,
        targets: Vec<RouteTarget>,
        drain_timeout: Duration,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let retired = self.replace(owner, targets);
        let deadline = tokio::time::Instant::now() + drain_timeout;
        async move {
            let mut drained = true;
            for u in retired {
                drained &= u.drained(deadline).await;
            }
            drained
        }
    }

    /// Replaces `owner`'s routes; returns the upstreams no longer routed to.
    fn replace(&self, owner: &str, targets: Vec<RouteTarget>) -> Vec<Arc<Upstream>> {
        let _w = self.inner.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.inner.table.load_full();
        let (next, retired) = current.with_owner(owner, targets);
        self.inner.table.store(Arc::new(next));
        for u in &retired {
            u.retire();
        }
        // One waiter (the certificate keeper); a permit is kept if it is busy.
        self.inner.tls_changed.notify_one();
        retired
    }
}

#[async_trait]
impl Routes for Edge {
    async fn switch(&self, owner: &str, targets: Vec<RouteTarget>, drain_timeout: Duration) -> bool {
        self.switch_now(owner, targets, drain_timeout).await
    }

    fn remove(&self, owner: &str) {
        self.replace(owner, Vec::new());
    }

    fn routes_of(&self, owner: &str) -> Vec<RouteTarget> {
        self.inner.table.load().of(owner)
    }
}
