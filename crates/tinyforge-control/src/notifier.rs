//! Outgoing notifications (X1): every event goes to the endpoints that want it (global ones, and
//! the workload's own), signed `X-Tinyforge-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>` with the endpoint's secret, else the global one; retried with exponential
//! backoff; each outcome kept in the notification delivery log.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use tinyforge_store::{EndpointRow, EventRow, Store};
use tokio::sync::broadcast;

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Retry settings.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Attempts per delivery.
    pub attempts: u32,
    /// First backoff; doubles after each failure.
    pub backoff: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self { attempts: 5, backoff: Duration::from_secs(2), timeout: Duration::from_secs(10) }
    }
}

/// The notifier.
pub struct Notifier {
    store: Arc<Store>,
    client: reqwest::Client,
    config: NotifierConfig,
}

fn wants(ep: &EndpointRow, e: &EventRow) -> bool {
    ep.workload_id.as_ref().is_none_or(|w| e.workload_id.as_ref() == Some(w))
        && (ep.kinds.is_empty() || ep.kinds.iter().any(|k| e.kind.starts_with(k.as_str())))
}

/// The body for an endpoint's format.
pub fn payload(format: &str, e: &EventRow) -> Vec<u8> {
    let v = if format == "chat" {
        let text = format!("[tinyforge] {}", e.message);
        json!({"text": text, "content": text})
    } else {
        json!({"id": e.seq, "kind": e.kind, "workload_id": e.workload_id, "message": e.message, "data": e.data, "at": e.at})
    };
    v.to_string().into_bytes()
}

impl Notifier {
    /// A notifier over `store`.
    pub fn new(store: Arc<Store>, config: NotifierConfig) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("tinyforge-notifier")
            .build()
            .expect("a TLS provider is installed before the notifier starts");
        Arc::new(Self { store, client, config })
    }

    /// Delivers every event from `events` until the bus closes.
    pub async fn run(self: Arc<Self>, mut events: broadcast::Receiver<EventRow>) {
        loop {
            let e = match events.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "notifier fell behind; some events were not delivered");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let endpoints = match self.store.endpoints_with_secrets() {
                Ok(eps) => eps,
                Err(err) => {
                    tracing::warn!(error = %err, "notifier: cannot read endpoints");
                    continue;
                }
            };
            let global = self.store.notify_secret().ok().flatten();
            for (ep, url, own) in endpoints.into_iter().filter(|(ep, _, _)| wants(ep, &e)) {
                let secret = own.or_else(|| global.clone());
                let (me, e) = (self.clone(), e.clone());
                tokio::spawn(async move { me.deliver(&ep, &url, secret.as_deref(), &e).await });
            }
        }
    }

    async fn deliver(&self, ep: &EndpointRow, url: &str, secret: Option<&str>, e: &EventRow) {
        let body = payload(&ep.format, e);
        let mut wait = self.config.backoff;
        let mut last = String::new();
        for attempt in 1..=self.config.attempts {
            let mut req = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("x-tinyforge-event", &e.kind)
                .header("x-tinyforge-delivery", format!("{}-{}", ep.id, e.seq));
            if let Some(s) = secret {
                req =
                    req.header("x-tinyforge-signature", signature(s, chrono::Utc::now().timestamp(), &body));
            }
            match req.body(body.clone()).send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = self.store.record_notification(
                        &ep.id,
                        e.seq,
                        "delivered",
                        attempt,
                        Some(r.status().as_str()),
                    );
                    return;
                }
                Ok(r) => last = r.status().to_string(),
                Err(err) => last = err.to_string(),
            }
            if attempt < self.config.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        tracing::warn!(endpoint = %ep.url, event = %e.kind, error = %last, "notification not delivered");
        let _ = self.store.record_notification(&ep.id, e.seq, "failed", self.config.attempts, Some(&last));
    }
}
