//! The `compose` source (S2): a docker-compose stack per workload (project `tf-<name>`), every
//! service also joined to the `tinyforge` network and labelled as the workload's; each face routed
//! by the edge to its service once the service answers.
//!
//! What a redeploy does today: the new file is written and `up -d --remove-orphans` runs, so
//! compose recreates the services whose definition or image changed — those services are down
//! while their new container starts (no blue-green yet); unchanged services keep running; the
//! routes are switched to the new containers once they answer. Volumes survive redeploys and
//! teardown.

mod cli;
mod config;

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use serde_norway::{Mapping, Value as Yaml};
use tinyforge_plugin::ports::{Backend, EngineError, RouteTarget, same_routes};
use tinyforge_plugin::probe::http_status;
use tinyforge_plugin::{
    ConfigError, DeployOutcome, DeploymentIntent, Deps, PluginError, ReconcileReport, TypedSource, Workload,
};
use tokio::time::Instant;

pub use config::{ComposeConfig, ComposeFace, GitFile};

use crate::image::{LABEL_DEPLOYMENT, LABEL_INSTANCE, LABEL_WORKLOAD, PullPolicy};
use crate::static_site::git;

const PROJECT: &str = "com.docker.compose.project";
const SERVICE: &str = "com.docker.compose.service";

/// The `compose` kind.
pub struct ComposeSource;

fn project(w: &Workload) -> String {
    format!("tf-{}", w.name)
}

fn dir(deps: &Deps, w: &Workload) -> PathBuf {
    deps.data_dir.join("compose").join(&w.id)
}

fn port_err(e: EngineError) -> PluginError {
    PluginError::Port(e.to_string())
}

/// The file tinyforge runs: the user's, with every service also on the `tinyforge` network and
/// carrying the workload's labels.
fn render(mut doc: Yaml, deps: &Deps, w: &Workload, deployment: &str) -> Result<String, PluginError> {
    let labels = [
        (LABEL_WORKLOAD, w.id.as_str()),
        (LABEL_INSTANCE, deps.instance.as_str()),
        (LABEL_DEPLOYMENT, deployment),
    ];
    if let Some(services) = doc.get_mut("services").and_then(Yaml::as_mapping_mut) {
        for (_, svc) in services.iter_mut() {
            let Some(svc) = svc.as_mapping_mut() else { continue };
            match svc.entry("networks".into()).or_insert_with(|| Yaml::Sequence(vec!["default".into()])) {
                Yaml::Sequence(list) => list.push("tinyforge".into()),
                Yaml::Mapping(map) => {
                    map.insert("tinyforge".into(), Yaml::Null);
                }
                _ => {}
            }
            match svc.entry("labels".into()).or_insert_with(|| Yaml::Mapping(Mapping::new())) {
                Yaml::Sequence(list) => {
                    list.extend(labels.iter().map(|(k, v)| Yaml::from(format!("{k}={v}"))))
                }
                Yaml::Mapping(map) => {
                    for (k, v) in labels {
                        map.insert((*k).into(), v.into());
                    }
                }
                _ => {}
            }
        }
    }
    let root =
        doc.as_mapping_mut().ok_or_else(|| PluginError::Port("the compose file is not a mapping".into()))?;
    let networks = root.entry("networks".into()).or_insert_with(|| Yaml::Mapping(Mapping::new()));
    if let Some(n) = networks.as_mapping_mut() {
        let mut ext = Mapping::new();
        ext.insert("external".into(), true.into());
        n.insert("tinyforge".into(), Yaml::Mapping(ext));
    }
    serde_norway::to_string(&doc).map_err(|e| PluginError::Port(format!("writing the compose file: {e}")))
}

/// Waits until every face's service answers on its port; returns the routes.
async fn faces_ready(
    deps: &Deps,
    w: &Workload,
    cfg: &ComposeConfig,
    within: Duration,
) -> Result<Vec<RouteTarget>, PluginError> {
    let deadline = Instant::now() + within;
    let mut targets = Vec::new();
    for f in &cfg.faces {
        let addr = loop {
            let containers = deps.engine.list(PROJECT, Some(&project(w))).await.map_err(port_err)?;
            let ip = containers
                .iter()
                .find(|c| c.running && c.labels.get(SERVICE) == Some(&f.service))
                .and_then(|c| c.ip);
            if let Some(ip) = ip {
                let addr = SocketAddr::new(ip, f.port);
                if http_status(addr, &f.host, "/", Duration::from_secs(2)).await.is_ok() {
                    break addr;
                }
            }
            if Instant::now() >= deadline {
                return Err(PluginError::Unhealthy(format!(
                    "service `{}` did not answer on port {} within {within:?}",
                    f.service, f.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        targets.push(RouteTarget {
            host: f.host.to_ascii_lowercase(),
            path_prefix: f.path_prefix.clone(),
            backend: Backend::Upstream(addr),
            tls: f.tls,
        });
    }
    Ok(targets)
}

/// The compose file to deploy, and the commit it came from (with `from_git`).
async fn compose_text(
    deps: &Deps,
    w: &Workload,
    cfg: &ComposeConfig,
    intent: &DeploymentIntent,
) -> Result<(String, Option<String>), PluginError> {
    let Some(g) = &cfg.from_git else {
        return Ok((cfg.compose.clone().unwrap_or_default(), None));
    };
    let repo = dir(deps, w).join("repo.git");
    git::fetch(&repo, &g.repository, g.token.as_ref().map(|t| t.0.as_str())).await?;
    let t = &intent.target;
    let rev = t.version.as_ref().or(t.commit.as_ref()).or(t.git_ref.as_ref()).unwrap_or(&g.git_ref);
    let commit = git::resolve(&repo, rev).await?;
    Ok((git::read_file(&repo, &commit, &g.path).await?, Some(commit)))
}

#[async_trait]
impl TypedSource for ComposeSource {
    type Config = ComposeConfig;

    fn kind(&self) -> &'static str {
        "compose"
    }

    fn sample(&self) -> ComposeConfig {
        ComposeConfig {
            from_git: None,
            compose: Some("services:\n  web:\n    image: ghcr.io/acme/web:1.4\n    environment:\n      API_URL: http://api:8080\n  api:\n    image: ghcr.io/acme/api:1.4\n".into()),
            faces: vec![ComposeFace { service: "web".into(), port: 8080, host: "app.example.com".into(), path_prefix: None, tls: true }],
            pull: PullPolicy::Missing,
            allow_privileged: false,
            allowed_bind_paths: Vec::new(),
        }
    }

    fn check(&self, c: &ComposeConfig) -> Result<(), ConfigError> {
        c.check_settings()
    }

    async fn deploy(
        &self,
        deps: &Deps,
        w: &Workload,
        cfg: &ComposeConfig,
        intent: &DeploymentIntent,
    ) -> Result<DeployOutcome, PluginError> {
        let (text, commit) = compose_text(deps, w, cfg, intent).await?;
        let doc = cfg.check(&text)?;
        let file = render(doc, deps, w, &intent.deployment_id)?;
        let dir = dir(deps, w);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| PluginError::Port(e.to_string()))?;
        tokio::fs::write(dir.join("docker-compose.yml"), &file)
            .await
            .map_err(|e| PluginError::Port(e.to_string()))?;
        if cfg.pull == PullPolicy::Always {
            cli::run(&dir, &project(w), &w.env, &["pull"]).await?;
        }
        cli::run(&dir, &project(w), &w.env, &["up", "-d", "--remove-orphans"]).await?;
        let targets = faces_ready(deps, w, cfg, Duration::from_secs(60)).await?;
        deps.routes.switch(&w.id, targets, Duration::from_secs(5)).await;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        file.hash(&mut h);
        let version = commit.unwrap_or_else(|| format!("compose:{:016x}", h.finish()));
        Ok(DeployOutcome { version, detail: json!({"project": project(w)}) })
    }

    async fn teardown(&self, deps: &Deps, w: &Workload, _cfg: &ComposeConfig) -> Result<(), PluginError> {
        deps.routes.remove(&w.id);
        let dir = dir(deps, w);
        if dir.join("docker-compose.yml").exists() {
            cli::run(&dir, &project(w), &w.env, &["down", "--remove-orphans"]).await?;
        }
        for c in deps.engine.list(PROJECT, Some(&project(w))).await.map_err(port_err)? {
            deps.engine.remove(&c.id, Duration::from_secs(10)).await.map_err(port_err)?;
        }
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(PluginError::Port(e.to_string())),
        }
    }

    async fn reconcile(
        &self,
        deps: &Deps,
        w: &Workload,
        cfg: &ComposeConfig,
        current: Option<&DeployOutcome>,
    ) -> Result<ReconcileReport, PluginError> {
        let mut report = ReconcileReport::default();
        if current.is_none() {
            if !deps.routes.routes_of(&w.id).is_empty() {
                deps.routes.remove(&w.id);
                report.repaired.push("removed routes of a stack with no successful deployment".into());
            }
            return Ok(report);
        }
        let text = std::fs::read_to_string(dir(deps, w).join("docker-compose.yml")).unwrap_or_default();
        let doc = cfg.check(&text)?;
        let wanted: BTreeSet<String> = doc
            .get("services")
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect();
        let running: BTreeSet<String> = deps
            .engine
            .list(PROJECT, Some(&project(w)))
            .await
            .map_err(port_err)?
            .into_iter()
            .filter(|c| c.running)
            .filter_map(|c| c.labels.get(SERVICE).cloned())
            .collect();
        let dir = dir(deps, w);
        if wanted != running && dir.join("docker-compose.yml").exists() {
            cli::run(&dir, &project(w), &w.env, &["up", "-d", "--remove-orphans"]).await?;
            let missing: Vec<&String> = wanted.difference(&running).collect();
            report.repaired.push(format!("compose up: {missing:?} were not running"));
        }
        let want = faces_ready(deps, w, cfg, Duration::from_secs(30)).await?;
        if !same_routes(&want, &deps.routes.routes_of(&w.id)) {
            deps.routes.switch(&w.id, want, Duration::ZERO).await;
            report.repaired.push("re-synced routes".into());
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tinyforge_plugin::{Source, SourceAdapter};

    use super::*;

    #[test]
    fn forbidden_keys_name_service_and_key() {
        let s = SourceAdapter(ComposeSource);
        let with = |compose: &str| {
            let mut c = s.sample();
            c["compose"] = compose.into();
            c["faces"] = json!([{"service": "web", "port": 80, "host": "a.test"}]);
            s.validate(&c).err().map(|e| e.message)
        };
        assert_eq!(with("services:\n  web:\n    image: x\n"), None);
        let cases = [
            ("services:\n  web:\n    image: x\n    privileged: true\n", "service `web`: `privileged`"),
            (
                "services:\n  web:\n    image: x\n    network_mode: host\n",
                "service `web`: `network_mode` = host",
            ),
            (
                "services:\n  web:\n    image: x\n  db:\n    image: y\n    cap_add: [NET_ADMIN]\n",
                "service `db`: `cap_add`",
            ),
            ("services:\n  web:\n    image: x\n    volumes: [\"/etc:/host-etc\"]\n", "binds `/etc`"),
            (
                "services:\n  web:\n    image: x\n    volumes:\n      - type: bind\n        source: /var/run/docker.sock\n        target: /s\n",
                "binds `/var/run/docker.sock`",
            ),
            ("services: [", "not valid YAML"),
        ];
        for (compose, want) in cases {
            let got = with(compose).unwrap_or_default();
            assert!(got.contains(want), "{compose:?}: {got}");
        }
        let mut c = s.sample();
        c["faces"] = json!([{"service": "nope", "port": 80, "host": "a.test"}]);
        assert_eq!(s.validate(&c).unwrap_err().field, "faces[0].service");
        let mut c = s.sample();
        c["compose"] =
            "services:\n  web:\n    image: x\n    privileged: true\n    volumes: [\"/srv/data/app:/data\"]\n"
                .into();
        c["faces"] = json!([{"service": "web", "port": 80, "host": "a.test"}]);
        c["allow_privileged"] = true.into();
        c["allowed_bind_paths"] = json!(["/srv/data"]);
        assert!(s.validate(&c).is_ok(), "opted in");
    }
}
