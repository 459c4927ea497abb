//! The `static` source (S3), built-in runtime: a folder of a git repository served by the edge
//! itself. Deploy = fetch → unpack the commit into a new release → switch every face to it
//! atomically → prune old releases (the last `keep_releases` stay for rollback). A failure
//! anywhere leaves the serving release untouched.

mod config;
pub(crate) mod git;
mod runtime;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;
use tinyforge_plugin::ports::{Backend, RouteTarget, same_routes};
use tinyforge_plugin::{
    ConfigError, DeployOutcome, DeploymentIntent, Deps, InboundEvent, Manual, PluginError, ReconcileReport,
    Target, TypedSource, Workload,
};

pub use config::{Build, Runtime, StaticConfig, StaticFace};

/// The `static` kind.
pub struct StaticSource;

fn workdir(deps: &Deps, w: &Workload) -> PathBuf {
    deps.data_dir.join("static").join(&w.id)
}

fn targets(cfg: &StaticConfig, root: &Path) -> Vec<RouteTarget> {
    cfg.faces
        .iter()
        .map(|f| RouteTarget {
            host: f.host.to_ascii_lowercase(),
            path_prefix: f.path_prefix.clone(),
            backend: Backend::Files { root: root.to_owned(), spa: cfg.spa },
            tls: f.tls,
        })
        .collect()
}

/// Keeps the `keep` newest releases (and always `serving`).
async fn prune(releases: &Path, serving: &Path, keep: usize) {
    let Ok(mut dir) = tokio::fs::read_dir(releases).await else { return };
    let mut all = Vec::new();
    while let Ok(Some(e)) = dir.next_entry().await {
        let modified = e.metadata().await.and_then(|m| m.modified()).ok();
        all.push((modified, e.path()));
    }
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, p) in all.into_iter().skip(keep) {
        if !serving.starts_with(&p) {
            let _ = tokio::fs::remove_dir_all(&p).await;
        }
    }
}

#[async_trait]
impl TypedSource for StaticSource {
    type Config = StaticConfig;

    fn kind(&self) -> &'static str {
        "static"
    }

    fn sample(&self) -> StaticConfig {
        StaticConfig {
            repository: "https://git.example.com/acme/site.git".into(),
            git_ref: "main".into(),
            folder: "public".into(),
            token: None,
            faces: vec![StaticFace { host: "www.example.com".into(), path_prefix: None, tls: true }],
            spa: false,
            keep_releases: 5,
            runtime: Runtime::Builtin,
            build: None,
        }
    }

    fn check(&self, c: &StaticConfig) -> Result<(), ConfigError> {
        c.check()
    }

    async fn deploy(
        &self,
        deps: &Deps,
        w: &Workload,
        cfg: &StaticConfig,
        intent: &DeploymentIntent,
    ) -> Result<DeployOutcome, PluginError> {
        let work = workdir(deps, w);
        let repo = work.join("repo.git");
        git::fetch(&repo, &cfg.repository, cfg.token.as_ref().map(|t| t.0.as_str())).await?;
        let t = &intent.target;
        let rev = t.version.as_ref().or(t.commit.as_ref()).or(t.git_ref.as_ref()).unwrap_or(&cfg.git_ref);
        let commit = git::resolve(&repo, rev).await?;
        let release = work.join("releases").join(&commit);
        if !release.is_dir() {
            let staging = work.join("releases").join(format!(".{commit}.{}", std::process::id()));
            let _ = tokio::fs::remove_dir_all(&staging).await;
            git::unpack(&repo, &commit, &staging).await?;
            if let Some(b) = &cfg.build
                && let Err(e) = runtime::build(deps, w, b, &staging).await
            {
                let _ = tokio::fs::remove_dir_all(&staging).await;
                return Err(e);
            }
            tokio::fs::rename(&staging, &release)
                .await
                .map_err(|e| PluginError::Port(format!("release: {e}")))?;
        }
        let root = release.join(&cfg.folder);
        if !root.is_dir() {
            return Err(PluginError::Port(format!(
                "the folder `{}` does not exist at commit {commit}",
                cfg.folder
            )));
        }
        let container = if cfg.runtime == Runtime::Builtin {
            deps.routes.switch(&w.id, targets(cfg, &root), std::time::Duration::ZERO).await;
            runtime::remove_others(deps, w, None).await?;
            None
        } else {
            let (routes, id) = runtime::start(deps, w, cfg, &root, &commit, &intent.deployment_id).await?;
            deps.routes.switch(&w.id, routes, std::time::Duration::from_secs(10)).await;
            runtime::remove_others(deps, w, Some(&id)).await?;
            Some(id)
        };
        prune(&work.join("releases"), &root, cfg.keep_releases).await;
        Ok(DeployOutcome {
            version: commit,
            detail: json!({"root": root, "release": release, "container_id": container}),
        })
    }

    async fn teardown(&self, deps: &Deps, w: &Workload, _cfg: &StaticConfig) -> Result<(), PluginError> {
        deps.routes.remove(&w.id);
        runtime::remove_others(deps, w, None).await?;
        match tokio::fs::remove_dir_all(workdir(deps, w)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(PluginError::Port(format!("removing the releases: {e}"))),
        }
    }

    async fn reconcile(
        &self,
        deps: &Deps,
        w: &Workload,
        cfg: &StaticConfig,
        current: Option<&DeployOutcome>,
    ) -> Result<ReconcileReport, PluginError> {
        let mut report = ReconcileReport::default();
        let Some(current) = current else {
            if !deps.routes.routes_of(&w.id).is_empty() {
                deps.routes.remove(&w.id);
                report.repaired.push("removed routes of a site with no successful deployment".into());
            }
            return Ok(report);
        };
        let root = current.detail.get("root").and_then(|r| r.as_str()).map(PathBuf::from);
        let container = current.detail.get("container_id").and_then(|c| c.as_str());
        let running = match container {
            None => true,
            Some(id) => deps.engine.inspect(id).await.is_ok_and(|c| c.running),
        };
        match root.filter(|r| r.is_dir() && running) {
            Some(_) if container.is_some() => {
                let mine = deps
                    .engine
                    .list(crate::image::LABEL_WORKLOAD, Some(&w.id))
                    .await
                    .map_err(|e| PluginError::Port(e.to_string()))?;
                for c in mine.iter().filter(|c| Some(c.id.as_str()) != container) {
                    deps.engine
                        .remove(&c.id, std::time::Duration::from_secs(5))
                        .await
                        .map_err(|e| PluginError::Port(e.to_string()))?;
                    report.repaired.push(format!("removed orphan container {}", c.name));
                }
            }
            Some(root) => {
                let want = targets(cfg, &root);
                if !same_routes(&deps.routes.routes_of(&w.id), &want) {
                    deps.routes.switch(&w.id, want, std::time::Duration::ZERO).await;
                    report.repaired.push("re-synced routes".into());
                }
            }
            None => {
                let intent = DeploymentIntent {
                    target: Target { version: Some(current.version.clone()), ..Target::default() },
                    event: InboundEvent::Manual(Manual { actor: "reconciler".into(), reference: None }),
                    triggered_by: "reconcile".into(),
                    deployment_id: String::new(),
                };
                report.replaced = Some(self.deploy(deps, w, cfg, &intent).await?);
                report.repaired.push(format!("restored the release or runtime of {}", current.version));
            }
        }
        Ok(report)
    }
}
