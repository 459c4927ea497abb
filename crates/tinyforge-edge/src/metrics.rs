//! Prometheus metrics of the edge: requests by route host and status, latency histogram by route
//! host, upstream errors. Exposed by the binary on the authenticated admin API, never on the
//! public listeners.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's host (`unrouted` for requests no route matched).
    pub host: String,
    /// HTTP status code.
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostLabels {
    /// The route's host.
    pub host: String,
}

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The edge's metrics.
#[derive(Clone)]
pub struct EdgeMetrics {
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: Family<HostLabels, Histogram, fn() -> Histogram>,
    pub(crate) upstream_errors: Family<HostLabels, Counter>,
}

impl Default for EdgeMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency),
            upstream_errors: Family::default(),
        }
    }
}

impl EdgeMetrics {
    /// Registers every metric under `tinyforge_edge_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("tinyforge_edge_requests", "Requests answered by the edge", self.requests.clone());
        registry.register(
            "tinyforge_edge_request_duration_seconds",
            "Time to the response head, by route host",
            self.latency.clone(),
        );
        registry.register(
            "tinyforge_edge_upstream_errors",
            "Requests the upstream did not answer (502/504)",
            self.upstream_errors.clone(),
        );
    }
}
