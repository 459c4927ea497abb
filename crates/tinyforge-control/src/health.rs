//! Per-face health (the status the API shows): every route of every workload is probed on an
//! interval — an HTTP GET of the source config's `health.path` (else `/`) on the face's upstream;
//! any answer below 500 is up. Three failed rounds in a row ask the reconciler to look at the
//! workload. Faces served from files are up while their root exists.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tinyforge_plugin::ports::Backend;
use tinyforge_plugin::probe::http_status;
use tokio::sync::mpsc;

use crate::Control;

/// Failed rounds in a row before the reconciler is asked to look.
const DOWN_ROUNDS: u32 = 3;

/// One face's last probe.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaceHealth {
    /// Public host.
    pub host: String,
    /// Path prefix, if any.
    pub path_prefix: Option<String>,
    /// Whether it answered.
    pub up: bool,
    /// Status code or error.
    pub detail: String,
    /// When it was probed (RFC 3339).
    pub checked_at: String,
}

#[derive(Default)]
pub(crate) struct HealthState {
    faces: HashMap<String, Vec<FaceHealth>>,
    down_rounds: HashMap<String, u32>,
}

impl Control {
    /// The last probe of each of the workload's faces (empty before the first round).
    pub fn face_health(&self, workload_id: &str) -> Vec<FaceHealth> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .faces
            .get(workload_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Probes every face once; returns the workloads that just crossed the down threshold.
    pub async fn health_round(&self) -> Vec<String> {
        let Ok(rows) = self.store.workloads() else { return Vec::new() };
        let mut crossed = Vec::new();
        for row in rows {
            let routes = self.deps.routes.routes_of(&row.id);
            if routes.is_empty() {
                continue;
            }
            let path =
                row.source_config.pointer("/health/path").and_then(|p| p.as_str()).unwrap_or("/").to_owned();
            let mut faces = Vec::with_capacity(routes.len());
            for r in routes {
                let (up, detail) = match &r.backend {
                    Backend::Upstream(addr) => {
                        match http_status(*addr, &r.host, &path, Duration::from_secs(3)).await {
                            Ok(s) => (s < 500, format!("{path} answered {s}")),
                            Err(e) => (false, e),
                        }
                    }
                    Backend::Files { root, .. } => (root.is_dir(), format!("files in {}", root.display())),
                };
                let checked_at = tinyforge_store::now();
                faces.push(FaceHealth { host: r.host, path_prefix: r.path_prefix, up, detail, checked_at });
            }
            let all_up = faces.iter().all(|f| f.up);
            let mut st = self.health.lock().unwrap_or_else(|p| p.into_inner());
            st.faces.insert(row.id.clone(), faces);
            let rounds = st.down_rounds.entry(row.id.clone()).or_default();
            *rounds = if all_up { 0 } else { *rounds + 1 };
            if *rounds == DOWN_ROUNDS {
                crossed.push(row.id);
            }
        }
        crossed
    }

    /// Runs health rounds forever, every `every`; faces down for three rounds are sent to `soon`
    /// (the reconciler).
    pub async fn run_health(self: Arc<Self>, every: Duration, soon: mpsc::Sender<String>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for id in self.health_round().await {
                tracing::warn!(workload = %id, "faces down for {DOWN_ROUNDS} rounds; reconciling");
                let _ = soon.try_send(id);
            }
        }
    }
}
