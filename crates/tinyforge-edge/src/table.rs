//! The immutable route table (rebuilt on every change, swapped whole) and the upstreams with
//! their in-flight counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tinyforge_plugin::ports::{Backend, RouteTarget};
use tokio::sync::Notify;

/// One upstream address and the requests in flight to it.
#[derive(Debug)]
pub struct Upstream {
    pub addr: SocketAddr,
    /// `addr` as a URI authority, built once.
    pub authority: http::uri::Authority,
    inflight: AtomicUsize,
    retired: AtomicBool,
    idle: Notify,
}

/// Holds one in-flight slot of an upstream; released on drop (when the response body ends).
pub struct InflightGuard(Arc<Upstream>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Upstream {
    fn new(addr: SocketAddr) -> Self {
        let authority = addr.to_string().parse().expect("a socket address is a valid authority");
        Self {
            addr,
            authority,
            inflight: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            idle: Notify::new(),
        }
    }

    /// Takes an in-flight slot, unless the upstream was retired meanwhile (then the caller
    /// re-reads the table). SeqCst on both sides: either the drainer sees our slot, or we see
    /// its retirement.
    pub fn acquire(self: &Arc<Self>) -> Option<InflightGuard> {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let guard = InflightGuard(self.clone());
        if self.retired.load(Ordering::SeqCst) { None } else { Some(guard) }
    }

    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }

    /// Waits until nothing is in flight (true) or `deadline` (false).
    pub async fn drained(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            let idle = self.idle.notified();
            if self.inflight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.inflight.load(Ordering::SeqCst) == 0;
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    pub owner: String,
    pub target: RouteTarget,
    /// The upstream with its in-flight counter (`None` for routes the edge serves from files).
    pub upstream: Option<Arc<Upstream>>,
}

/// host → routes, longest path prefix first.
#[derive(Debug, Default)]
pub struct RouteTable {
    by_host: HashMap<String, Vec<Route>>,
}

fn prefix_len(r: &Route) -> usize {
    r.target.path_prefix.as_deref().map_or(0, str::len)
}

/// Whether `path` is under `prefix` (`/api` covers `/api` and `/api/x`, not `/apix`).
fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

impl RouteTable {
    /// The route for `host` and `path`.
    pub fn find(&self, host: &str, path: &str) -> Option<&Route> {
        self.by_host
            .get(host)?
            .iter()
            .find(|r| r.target.path_prefix.as_deref().is_none_or(|p| under(path, p)))
    }

    /// A new table where `owner` has exactly `targets`; plus the upstreams that are gone.
    /// Upstreams that stay (same address) keep their counters.
    pub fn with_owner(&self, owner: &str, targets: Vec<RouteTarget>) -> (Self, Vec<Arc<Upstream>>) {
        let mut old: HashMap<SocketAddr, Arc<Upstream>> = HashMap::new();
        let mut by_host: HashMap<String, Vec<Route>> = HashMap::new();
        for (host, routes) in &self.by_host {
            for r in routes {
                if r.owner == owner {
                    if let Some(u) = &r.upstream {
                        old.insert(u.addr, u.clone());
                    }
                } else {
                    by_host.entry(host.clone()).or_default().push(r.clone());
                }
            }
        }
        let mut kept = HashMap::new();
        for mut t in targets {
            t.host = t.host.to_ascii_lowercase();
            let upstream = match t.backend {
                Backend::Upstream(addr) => Some(
                    kept.entry(addr)
                        .or_insert_with(|| {
                            old.get(&addr).cloned().unwrap_or_else(|| Arc::new(Upstream::new(addr)))
                        })
                        .clone(),
                ),
                Backend::Files { .. } => None,
            };
            by_host.entry(t.host.clone()).or_default().push(Route {
                owner: owner.to_owned(),
                target: t,
                upstream,
            });
        }
        for routes in by_host.values_mut() {
            routes.sort_by_key(|r| std::cmp::Reverse(prefix_len(r)));
        }
        let retired = old.into_iter().filter(|(a, _)| !kept.contains_key(a)).map(|(_, u)| u).collect();
        (Self { by_host }, retired)
    }

    /// Whether any route serves `host`.
    pub fn has_host(&self, host: &str) -> bool {
        self.by_host.contains_key(host)
    }

    /// `owner`'s routes.
    pub fn of(&self, owner: &str) -> Vec<RouteTarget> {
        self.all().into_iter().filter(|(o, _)| o == owner).map(|(_, t)| t).collect()
    }

    /// Every (owner, route).
    pub fn all(&self) -> Vec<(String, RouteTarget)> {
        let mut v: Vec<_> =
            self.by_host.values().flatten().map(|r| (r.owner.clone(), r.target.clone())).collect();
        v.sort_by(|a, b| (&a.1.host, &a.1.path_prefix).cmp(&(&b.1.host, &b.1.path_prefix)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, prefix: Option<&str>, port: u16) -> RouteTarget {
        RouteTarget {
            host: host.into(),
            path_prefix: prefix.map(Into::into),
            backend: Backend::Upstream(SocketAddr::from(([127, 0, 0, 1], port))),
            tls: false,
        }
    }

    #[test]
    fn longest_prefix_wins_and_prefix_is_a_path_segment() {
        let (tb, _) =
            RouteTable::default().with_owner("a", vec![t("x.test", None, 1), t("X.test", Some("/api"), 2)]);
        assert_eq!(tb.find("x.test", "/api/v1").unwrap().upstream.as_ref().unwrap().addr.port(), 2);
        assert_eq!(tb.find("x.test", "/api").unwrap().upstream.as_ref().unwrap().addr.port(), 2);
        assert_eq!(tb.find("x.test", "/apix").unwrap().upstream.as_ref().unwrap().addr.port(), 1);
        assert!(tb.find("y.test", "/").is_none());
    }

    #[test]
    fn switch_retires_only_departed_upstreams_and_keeps_others() {
        let (tb, _) = RouteTable::default().with_owner("a", vec![t("a.test", None, 1)]);
        let (tb, _) = tb.with_owner("b", vec![t("b.test", None, 9)]);
        let (tb2, retired) = tb.with_owner("a", vec![t("a.test", None, 2)]);
        assert_eq!(retired.iter().map(|u| u.addr.port()).collect::<Vec<_>>(), [1]);
        assert_eq!(tb2.find("b.test", "/").unwrap().upstream.as_ref().unwrap().addr.port(), 9);
        let (_, retired) = tb2.with_owner("a", vec![t("a.test", None, 2), t("www.a.test", None, 2)]);
        assert!(retired.is_empty());
    }
}
