//! The container side of the `static` source: the optional build (a one-shot container with the
//! commit mounted at `/src`) and the nginx / Deno runtimes (a container with the folder mounted
//! read-only, health-probed before the faces switch to it, the previous one removed after).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tinyforge_plugin::ports::{Backend, ContainerSpec, EngineError, Mount, RouteTarget};
use tinyforge_plugin::probe::http_status;
use tinyforge_plugin::{Deps, PluginError, Workload};
use tokio::time::Instant;

use super::config::{Build, Runtime, StaticConfig};
use crate::image::{LABEL_DEPLOYMENT, LABEL_INSTANCE, LABEL_WORKLOAD};

fn port_err(e: EngineError) -> PluginError {
    PluginError::Port(e.to_string())
}

fn labels(deps: &Deps, w: &Workload, deployment: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_WORKLOAD.to_owned(), w.id.clone()),
        (LABEL_INSTANCE.to_owned(), deps.instance.clone()),
        (LABEL_DEPLOYMENT.to_owned(), deployment.to_owned()),
    ])
}

/// Runs the build in `src`; a non-zero exit fails with the end of its output.
pub async fn build(deps: &Deps, w: &Workload, b: &Build, src: &Path) -> Result<(), PluginError> {
    let spec = ContainerSpec {
        name: format!("tf-{}-build-{}", w.name, std::process::id()),
        image: deps.engine.ensure_image(&b.image, None, false).await.map_err(port_err)?.id,
        env: w.env.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
        cmd: Some(b.command.clone()),
        network: "tinyforge".into(),
        mounts: vec![Mount { source: src.to_owned(), target: "/src".into(), read_only: false }],
        workdir: Some("/src".into()),
        one_shot: true,
        ..ContainerSpec::default()
    };
    let c = deps.engine.run(&spec).await.map_err(port_err)?;
    let code = deps.engine.wait(&c.id).await;
    let output = deps.engine.output(&c.id, 20).await.unwrap_or_default();
    let _ = deps.engine.remove(&c.id, Duration::ZERO).await;
    match code.map_err(port_err)? {
        0 => Ok(()),
        n => Err(PluginError::Port(format!("the build exited with {n}: {}", output.trim()))),
    }
}

/// Starts the runtime container on `root`, waits until it answers, and returns the routes to it
/// and its id.
pub async fn start(
    deps: &Deps,
    w: &Workload,
    cfg: &StaticConfig,
    root: &Path,
    commit: &str,
    deployment: &str,
) -> Result<(Vec<RouteTarget>, String), PluginError> {
    let (image, port, target, cmd) = match &cfg.runtime {
        Runtime::Builtin => return Err(PluginError::Port("the builtin runtime runs no container".into())),
        Runtime::Nginx { image, port } => (image, *port, "/usr/share/nginx/html", None),
        Runtime::Deno { image, entry, port } => (
            image,
            *port,
            "/app",
            Some(vec![
                "deno".into(),
                "serve".into(),
                format!("--port={port}"),
                "--allow-env".into(),
                "--allow-read=/app".into(),
                format!("/app/{entry}"),
            ]),
        ),
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 100_000);
    let spec = ContainerSpec {
        name: format!("tf-{}-{}-{stamp}", w.name, &commit[..commit.len().min(8)]),
        image: deps.engine.ensure_image(image, None, false).await.map_err(port_err)?.id,
        env: w.env.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
        labels: labels(deps, w, deployment),
        cmd,
        network: "tinyforge".into(),
        mounts: vec![Mount { source: root.to_owned(), target: target.into(), read_only: true }],
        ..ContainerSpec::default()
    };
    let c = deps.engine.run(&spec).await.map_err(port_err)?;
    let ready = async {
        let ip = c.ip.ok_or_else(|| PluginError::Unhealthy("the runtime container has no address".into()))?;
        let addr = SocketAddr::new(ip, port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match http_status(addr, &cfg.faces[0].host, "/", Duration::from_secs(2)).await {
                Ok(s) if s < 500 => break Ok(addr),
                other if Instant::now() >= deadline => {
                    break Err(PluginError::Unhealthy(format!(
                        "the {} runtime did not answer on port {port}: {other:?}",
                        runtime_name(cfg)
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    match ready.await {
        Ok(addr) => Ok((
            cfg.faces
                .iter()
                .map(|f| RouteTarget {
                    host: f.host.to_ascii_lowercase(),
                    path_prefix: f.path_prefix.clone(),
                    backend: Backend::Upstream(addr),
                    tls: f.tls,
                })
                .collect(),
            c.id,
        )),
        Err(e) => {
            let _ = deps.engine.remove(&c.id, Duration::from_secs(2)).await;
            Err(e)
        }
    }
}

fn runtime_name(cfg: &StaticConfig) -> &'static str {
    match cfg.runtime {
        Runtime::Builtin => "builtin",
        Runtime::Nginx { .. } => "nginx",
        Runtime::Deno { .. } => "deno",
    }
}

/// Removes the workload's runtime containers other than `keep`.
pub async fn remove_others(deps: &Deps, w: &Workload, keep: Option<&str>) -> Result<(), PluginError> {
    for c in deps.engine.list(LABEL_WORKLOAD, Some(&w.id)).await.map_err(port_err)? {
        if Some(c.id.as_str()) != keep {
            deps.engine.remove(&c.id, Duration::from_secs(5)).await.map_err(port_err)?;
        }
    }
    Ok(())
}
