//! Reconcile for the `image` source: the recorded container runs and is routed; nothing else
//! with this workload's label runs. Crashed → started again; vanished → the same version
//! redeployed; strangers → removed; routes re-synced.

use std::time::Duration;

use serde_json::json;
use tinyforge_plugin::ports::{EngineError, Event, same_routes};
use tinyforge_plugin::{
    DeployOutcome, DeploymentIntent, Deps, InboundEvent, Manual, PluginError, ReconcileReport, Target,
    Workload,
};

use super::deploy::{deploy, health_gate, targets};
use super::{ImageConfig, LABEL_WORKLOAD};

fn port_err(e: EngineError) -> PluginError {
    PluginError::Port(e.to_string())
}

pub async fn reconcile(
    deps: &Deps,
    w: &Workload,
    cfg: &ImageConfig,
    current: Option<&DeployOutcome>,
) -> Result<ReconcileReport, PluginError> {
    let mut report = ReconcileReport::default();
    let expected = current.and_then(|o| o.detail.get("container_id")).and_then(|v| v.as_str());
    let containers = deps.engine.list(LABEL_WORKLOAD, Some(&w.id)).await.map_err(port_err)?;
    for c in containers.iter().filter(|c| Some(c.id.as_str()) != expected) {
        deps.engine.remove(&c.id, Duration::from_secs(5)).await.map_err(port_err)?;
        report.repaired.push(format!("removed orphan container {}", c.name));
    }
    let Some(current) = current else {
        if !deps.routes.routes_of(&w.id).is_empty() {
            deps.routes.remove(&w.id);
            report.repaired.push("removed routes of a workload with no successful deployment".into());
        }
        return Ok(report);
    };
    let ip = match containers.iter().find(|c| Some(c.id.as_str()) == expected) {
        Some(c) if c.running && c.ip.is_some() => c.ip,
        Some(c) => {
            deps.engine.start(&c.id).await.map_err(port_err)?;
            let ip = deps.engine.inspect(&c.id).await.map_err(port_err)?.ip;
            let ip = ip.ok_or_else(|| PluginError::Unhealthy("restarted container has no address".into()))?;
            health_gate(deps, cfg, &c.id, ip).await?;
            deps.events.publish(Event {
                kind: "container.restarted".into(),
                workload_id: Some(w.id.clone()),
                message: format!("{}: container {} was stopped; started it again", w.name, c.name),
                data: json!({"container": c.name}),
            });
            report.repaired.push(format!("restarted stopped container {}", c.name));
            Some(ip)
        }
        None => None,
    };
    let Some(ip) = ip else {
        let intent = DeploymentIntent {
            target: Target { version: Some(current.version.clone()), ..Target::default() },
            event: InboundEvent::Manual(Manual { actor: "reconciler".into(), reference: None }),
            triggered_by: "reconcile".into(),
            deployment_id: current
                .detail
                .get("deployment_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        };
        let outcome = deploy(deps, w, cfg, &intent).await?;
        report.repaired.push(format!("redeployed vanished container at {}", current.version));
        report.replaced = Some(outcome);
        return Ok(report);
    };
    let want = targets(cfg, ip);
    let have = deps.routes.routes_of(&w.id);
    if !same_routes(&want, &have) {
        deps.routes.switch(&w.id, want, Duration::ZERO).await;
        report.repaired.push("re-synced routes".into());
    }
    Ok(report)
}
