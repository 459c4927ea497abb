//! Blue-green deploy of an image: resolve → pull when needed → start green → health gate →
//! switch every face → drain blue → remove blue. Any failure removes green; blue keeps serving.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::json;
use tinyforge_plugin::ports::{
    Backend, ContainerInfo, ContainerSpec, EngineError, RegistryCredentials, RouteTarget,
};
use tinyforge_plugin::{DeployOutcome, DeploymentIntent, Deps, InboundEvent, PluginError, Workload};
use tokio::time::Instant;

use super::{ImageConfig, LABEL_DEPLOYMENT, LABEL_FACE, LABEL_INSTANCE, LABEL_WORKLOAD, PullPolicy};
use tinyforge_plugin::probe;

fn port_err(e: EngineError) -> PluginError {
    PluginError::Port(e.to_string())
}

/// The image reference an intent asks for, and whether it must be pulled: always for a registry
/// push (the tag moved) or with `pull: always`; otherwise only when missing.
pub fn reference(cfg: &ImageConfig, intent: &DeploymentIntent) -> (String, bool) {
    let t = &intent.target;
    if let Some(v) = &t.version {
        return (v.clone(), false);
    }
    let pull = cfg.pull == PullPolicy::Always || matches!(intent.event, InboundEvent::ImagePush(_));
    if let Some(d) = t.digest.as_ref().or(cfg.digest.as_ref()) {
        return (format!("{}@{d}", cfg.image), pull);
    }
    (format!("{}:{}", cfg.image, t.tag.as_deref().unwrap_or(&cfg.tag)), pull)
}

/// The edge routes for `cfg`'s faces on a container at `ip`.
pub fn targets(cfg: &ImageConfig, ip: IpAddr) -> Vec<RouteTarget> {
    cfg.faces
        .iter()
        .map(|f| RouteTarget {
            host: f.host.to_ascii_lowercase(),
            path_prefix: f.path_prefix.clone(),
            backend: Backend::Upstream(SocketAddr::new(ip, f.port)),
            tls: f.tls,
        })
        .collect()
}

pub async fn deploy(
    deps: &Deps,
    w: &Workload,
    cfg: &ImageConfig,
    intent: &DeploymentIntent,
) -> Result<DeployOutcome, PluginError> {
    let (reference, pull) = reference(cfg, intent);
    let creds = cfg
        .registry_auth
        .as_ref()
        .map(|a| RegistryCredentials { username: a.username.clone(), password: a.password.0.clone() });
    let image = deps.engine.ensure_image(&reference, creds.as_ref(), pull).await.map_err(port_err)?;
    let version = image.repo_digest.clone().unwrap_or_else(|| image.id.clone());

    let dep =
        if intent.deployment_id.is_empty() { "reconcile".to_owned() } else { intent.deployment_id.clone() };
    let suffix: String = dep.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 100_000);
    let spec = ContainerSpec {
        name: format!("tf-{}-{suffix}-{stamp}", w.name),
        image: image.id.clone(),
        env: w.env.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
        labels: BTreeMap::from([
            (LABEL_WORKLOAD.to_owned(), w.id.clone()),
            (LABEL_INSTANCE.to_owned(), deps.instance.clone()),
            (LABEL_DEPLOYMENT.to_owned(), dep.clone()),
            (LABEL_FACE.to_owned(), cfg.faces.iter().map(|f| f.host.as_str()).collect::<Vec<_>>().join(",")),
        ]),
        cmd: cfg.command.clone(),
        memory_bytes: cfg.resources.memory_mb.map(|m| (m as i64) << 20),
        nano_cpus: cfg.resources.cpus.map(|c| (c * 1e9) as i64),
        network: "tinyforge".into(),
        ..ContainerSpec::default()
    };
    let green = deps.engine.run(&spec).await.map_err(port_err)?;
    match go_live(deps, w, cfg, &green).await {
        Ok(drained) => Ok(DeployOutcome {
            version,
            detail: json!({
                "container_id": green.id,
                "container_name": green.name,
                "image_id": image.id,
                "reference": reference,
                "deployment_id": dep,
                "drained": drained,
            }),
        }),
        Err(e) => {
            if let Err(rm) = deps.engine.remove(&green.id, Duration::from_secs(2)).await {
                tracing::warn!(container = %green.name, error = %rm, "could not remove the failed new version");
            }
            Err(e)
        }
    }
}

/// Health-gates `green`, switches the faces to it, waits for blue to drain, removes blue.
async fn go_live(
    deps: &Deps,
    w: &Workload,
    cfg: &ImageConfig,
    green: &ContainerInfo,
) -> Result<bool, PluginError> {
    let ip = green.ip.ok_or_else(|| {
        PluginError::Unhealthy("the new container has no address on the tinyforge network".into())
    })?;
    health_gate(deps, cfg, &green.id, ip).await?;
    let drained =
        deps.routes.switch(&w.id, targets(cfg, ip), Duration::from_secs(cfg.drain_timeout_secs)).await;
    for old in deps.engine.list(LABEL_WORKLOAD, Some(&w.id)).await.map_err(port_err)? {
        if old.id != green.id {
            deps.engine.remove(&old.id, Duration::from_secs(10)).await.map_err(port_err)?;
        }
    }
    Ok(drained)
}

/// Probes fast (every 100 ms) until the first success, then every `interval_ms` until
/// `successes` in a row; fails after `start_period_secs` or when the container exits.
pub async fn health_gate(deps: &Deps, cfg: &ImageConfig, id: &str, ip: IpAddr) -> Result<(), PluginError> {
    let h = &cfg.health;
    let port = h.port.unwrap_or(cfg.faces[0].port);
    let addr = SocketAddr::new(ip, port);
    let host = &cfg.faces[0].host;
    let deadline = Instant::now() + Duration::from_secs(h.start_period_secs);
    let (mut ok, mut last) = (0, String::from("no probe answered yet"));
    loop {
        match probe::http_status(addr, host, &h.path, Duration::from_millis(h.timeout_ms)).await {
            Ok(s) if (200..400).contains(&s) => {
                ok += 1;
                if ok >= h.successes {
                    return Ok(());
                }
            }
            Ok(s) => (ok, last) = (0, format!("{} answered {s}", h.path)),
            Err(e) => (ok, last) = (0, e),
        }
        if Instant::now() >= deadline {
            return Err(PluginError::Unhealthy(format!(
                "not healthy within {}s on port {port}: {last}",
                h.start_period_secs
            )));
        }
        if !deps.engine.inspect(id).await.map_err(port_err)?.running {
            return Err(PluginError::Unhealthy("the new container exited while starting".into()));
        }
        let pause = if ok > 0 { h.interval_ms } else { 100 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}
