//! The events bus (X2): every event is persisted (with retention) and broadcast to live
//! subscribers (the SSE stream, tests). Implements the contract's `Events` port.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tinyforge_plugin::ports::{Event, Events};
use tinyforge_store::{EventRow, Store};
use tokio::sync::broadcast;

/// Persist + broadcast + count.
pub struct EventBus {
    store: std::sync::Arc<Store>,
    tx: broadcast::Sender<EventRow>,
    keep: i64,
    counts: Family<KindLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

impl EventBus {
    /// A bus keeping the newest `keep` events in the store.
    pub fn new(store: std::sync::Arc<Store>, keep: i64) -> Self {
        Self { store, tx: broadcast::channel(1024).0, keep, counts: Family::default() }
    }

    /// Registers `tinyforge_events` (by kind: deploys, crashes, webhooks, drift, certificates).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("tinyforge_events", "Lifecycle events by kind", self.counts.clone());
    }

    /// Live events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventRow> {
        self.tx.subscribe()
    }

    /// Publishes `kind` for `workload_id`.
    pub fn emit(&self, kind: &str, workload_id: Option<&str>, message: String, data: serde_json::Value) {
        self.publish(Event {
            kind: kind.to_owned(),
            workload_id: workload_id.map(str::to_owned),
            message,
            data,
        });
    }
}

impl EventBus {
    /// Publishes several events with one write.
    pub fn publish_many(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        match self.store.insert_events(&events, self.keep) {
            Ok(rows) => self.announce(rows),
            Err(e) => tracing::warn!(error = %e, "could not store events"),
        }
    }

    /// How many events the store keeps (for callers that store events in their own write).
    pub fn keep(&self) -> i64 {
        self.keep
    }

    /// Counts, logs and broadcasts events already stored.
    pub fn announce(&self, rows: Vec<EventRow>) {
        for row in rows {
            self.counts.get_or_create(&KindLabel { kind: row.kind.clone() }).inc();
            tracing::info!(kind = %row.kind, workload = ?row.workload_id, "{}", row.message);
            let _ = self.tx.send(row);
        }
    }
}

impl Events for EventBus {
    fn publish(&self, event: Event) {
        tracing::info!(kind = %event.kind, workload = ?event.workload_id, "{}", event.message);
        match self.store.insert_event(&event, self.keep) {
            Ok(row) => {
                self.counts.get_or_create(&KindLabel { kind: row.kind.clone() }).inc();
                let _ = self.tx.send(row);
            }
            Err(e) => tracing::warn!(error = %e, "could not store an event"),
        }
    }
}
