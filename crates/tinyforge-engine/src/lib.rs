//! The Docker seam: bollard over the local unix socket, implementing the contract's [`Engine`]
//! port plus what only the binary needs (logs, the events stream, version). Every daemon error is
//! classified into an [`EngineError`] whose message says what to do.

mod errors;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    ListContainersOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tinyforge_plugin::ports::{
    ContainerInfo, ContainerSpec, Engine, EngineError, ImageInfo, RegistryCredentials,
};

use errors::{classify, classify_pull};

/// The network every workload container joins; the edge reaches containers on it.
pub const NETWORK: &str = "tinyforge";

/// The local Docker Engine.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
}

/// A container lifecycle event from the daemon.
#[derive(Debug, Clone)]
pub struct ContainerEvent {
    /// `die`, `oom`, `kill`, `destroy`, `start`, …
    pub action: String,
    /// Container id.
    pub id: String,
    /// The `tinyforge.workload` label, when present.
    pub workload: Option<String>,
}

impl DockerEngine {
    /// Connects to the local daemon (`DOCKER_HOST` or `/var/run/docker.sock`) and checks it answers.
    pub async fn connect() -> Result<Self, EngineError> {
        let docker =
            Docker::connect_with_local_defaults().map_err(|e| EngineError::Unreachable(e.to_string()))?;
        docker.ping().await.map_err(|e| EngineError::Unreachable(e.to_string()))?;
        Ok(Self { docker })
    }

    /// The daemon's version and API version.
    pub async fn version(&self) -> Result<(String, String), EngineError> {
        let v = self.docker.version().await.map_err(classify)?;
        Ok((v.version.unwrap_or_default(), v.api_version.unwrap_or_default()))
    }

    /// Creates the `tinyforge` bridge network when missing.
    pub async fn ensure_network(&self) -> Result<(), EngineError> {
        match self.docker.inspect_network(NETWORK, None).await {
            Ok(_) => Ok(()),
            Err(e) => match classify(e) {
                EngineError::NotFound(_) => {
                    let req = NetworkCreateRequest {
                        name: NETWORK.into(),
                        driver: Some("bridge".into()),
                        labels: Some(HashMap::from([("tinyforge.managed".into(), "true".into())])),
                        ..Default::default()
                    };
                    match self.docker.create_network(req).await.map_err(classify) {
                        Ok(_) | Err(EngineError::Conflict(_)) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
                other => Err(other),
            },
        }
    }

    /// A container's log lines (stdout and stderr), the last `tail`, then new ones if `follow`.
    pub fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: u32,
    ) -> impl Stream<Item = Result<String, EngineError>> + Send + use<> {
        let opts = LogsOptionsBuilder::new()
            .follow(follow)
            .stdout(true)
            .stderr(true)
            .tail(&tail.to_string())
            .build();
        self.docker.logs(id, Some(opts)).map_ok(|l| l.to_string()).map_err(classify)
    }

    /// Container events (die, oom, kill, destroy, start) of tinyforge-labelled containers.
    pub fn container_events(&self) -> impl Stream<Item = Result<ContainerEvent, EngineError>> + Send + use<> {
        let filters = HashMap::from([("type", vec!["container"]), ("label", vec!["tinyforge.workload"])]);
        let opts = EventsOptionsBuilder::new().filters(&filters).build();
        self.docker.events(Some(opts)).map_err(classify).map_ok(|m| {
            let actor = m.actor.unwrap_or_default();
            let attrs = actor.attributes.unwrap_or_default();
            ContainerEvent {
                action: m.action.unwrap_or_default(),
                id: actor.id.unwrap_or_default(),
                workload: attrs.get("tinyforge.workload").cloned(),
            }
        })
    }
}

fn ip_of(networks: Option<&HashMap<String, EndpointSettings>>) -> Option<std::net::IpAddr> {
    networks?.get(NETWORK)?.ip_address.as_deref().filter(|s| !s.is_empty())?.parse().ok()
}

#[async_trait]
impl Engine for DockerEngine {
    async fn ensure_image(
        &self,
        reference: &str,
        creds: Option<&RegistryCredentials>,
        pull: bool,
    ) -> Result<ImageInfo, EngineError> {
        if !pull && let Ok(i) = self.docker.inspect_image(reference).await {
            return Ok(image_info(i, reference));
        }
        let auth = creds.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: reference.split('/').next().map(str::to_owned),
            ..Default::default()
        });
        let opts = CreateImageOptionsBuilder::new().from_image(reference).build();
        let mut pulling = self.docker.create_image(Some(opts), None, auth);
        while let Some(step) = pulling.next().await {
            step.map_err(|e| classify_pull(e, reference))?;
        }
        let i = self.docker.inspect_image(reference).await.map_err(classify)?;
        Ok(image_info(i, reference))
    }

    async fn run(&self, spec: &ContainerSpec) -> Result<ContainerInfo, EngineError> {
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            cmd: spec.cmd.clone(),
            working_dir: spec.workdir.clone(),
            host_config: Some(HostConfig {
                network_mode: Some(spec.network.clone()),
                memory: spec.memory_bytes,
                nano_cpus: spec.nano_cpus,
                binds: Some(
                    spec.mounts
                        .iter()
                        .map(|m| {
                            format!(
                                "{}:{}:{}",
                                m.source.display(),
                                m.target,
                                if m.read_only { "ro" } else { "rw" }
                            )
                        })
                        .collect(),
                ),
                restart_policy: Some(RestartPolicy {
                    name: Some(if spec.one_shot {
                        RestartPolicyNameEnum::NO
                    } else {
                        RestartPolicyNameEnum::UNLESS_STOPPED
                    }),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::new().name(&spec.name).build();
        let created = self.docker.create_container(Some(opts), body).await.map_err(classify)?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id, Duration::ZERO).await;
            return Err(classify(e));
        }
        self.inspect(&created.id).await
    }

    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.docker.start_container(id, None).await.map_err(classify)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let c = self.docker.inspect_container(id, None).await.map_err(classify)?;
        let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
        Ok(ContainerInfo {
            id: c.id.unwrap_or_default(),
            name: c.name.unwrap_or_default().trim_start_matches('/').to_owned(),
            image: c.image.unwrap_or_default(),
            labels: c.config.and_then(|c| c.labels).unwrap_or_default().into_iter().collect(),
            running,
            ip: if running {
                ip_of(c.network_settings.as_ref().and_then(|n| n.networks.as_ref()))
            } else {
                None
            },
        })
    }

    async fn remove(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        let stop = StopContainerOptionsBuilder::new().t(grace.as_secs() as i32).build();
        match self.docker.stop_container(id, Some(stop)).await.map_err(classify) {
            Ok(()) | Err(EngineError::NotFound(_)) => {}
            Err(EngineError::Other(m)) if m.contains("304") => {}
            Err(e) => tracing::debug!(container = id, error = %e, "stop before remove failed; forcing"),
        }
        let rm = RemoveContainerOptionsBuilder::new().force(true).build();
        match self.docker.remove_container(id, Some(rm)).await.map_err(classify) {
            Ok(()) | Err(EngineError::NotFound(_)) => Ok(()),
            Err(EngineError::Conflict(m)) if m.contains("already in progress") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn wait(&self, id: &str) -> Result<i64, EngineError> {
        let mut waiting =
            self.docker.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
        match waiting.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(classify(e)),
            None => Err(EngineError::Other(format!("waiting for {id}: no answer"))),
        }
    }

    async fn output(&self, id: &str, lines: u32) -> Result<String, EngineError> {
        let all: Vec<String> = self.logs(id, false, lines).try_collect().await?;
        Ok(all.concat())
    }

    async fn list(&self, key: &str, value: Option<&str>) -> Result<Vec<ContainerInfo>, EngineError> {
        let label = match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_owned(),
        };
        let filters = HashMap::from([("label", vec![label])]);
        let opts = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let list = self.docker.list_containers(Some(opts)).await.map_err(classify)?;
        Ok(list
            .into_iter()
            .map(|c| {
                let running = c.state.map(|s| s.to_string() == "running").unwrap_or(false);
                ContainerInfo {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_owned(),
                    image: c.image_id.unwrap_or_default(),
                    labels: c.labels.unwrap_or_default().into_iter().collect::<BTreeMap<_, _>>(),
                    running,
                    ip: if running {
                        ip_of(c.network_settings.as_ref().and_then(|n| n.networks.as_ref()))
                    } else {
                        None
                    },
                }
            })
            .collect())
    }
}

fn image_info(i: bollard::models::ImageInspect, reference: &str) -> ImageInfo {
    let repo = reference.split('@').next().unwrap_or(reference);
    let repo = match repo.rfind(':') {
        Some(p) if !repo[p..].contains('/') => &repo[..p],
        _ => repo,
    };
    // Only a digest of the same repository names this version: the image may also carry digests
    // of other names it was pushed under, which say nothing about this workload.
    let repo = docker_hub_short(repo);
    let digests = i.repo_digests.unwrap_or_default();
    let repo_digest =
        digests.iter().find(|d| d.split_once('@').is_some_and(|(r, _)| docker_hub_short(r) == repo)).cloned();
    ImageInfo { id: i.id.unwrap_or_default(), repo_digest }
}

/// Docker Hub names as Docker shows them: `docker.io/library/nginx` → `nginx`.
fn docker_hub_short(repo: &str) -> &str {
    let r = repo.strip_prefix("docker.io/").or_else(|| repo.strip_prefix("index.docker.io/")).unwrap_or(repo);
    r.strip_prefix("library/").unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::image_info;

    fn inspect(digests: &[&str]) -> bollard::models::ImageInspect {
        bollard::models::ImageInspect {
            id: Some("sha256:id".into()),
            repo_digests: Some(digests.iter().map(|d| d.to_string()).collect()),
            ..Default::default()
        }
    }

    /// A version names the workload's repository: digests of other names the image was pushed
    /// under are not this workload's version.
    #[test]
    fn the_version_is_a_digest_of_the_same_repository_only() {
        let digest = |d: &[&str], r: &str| image_info(inspect(d), r).repo_digest;
        let both = ["other/app@sha256:a", "ghcr.io/acme/web@sha256:b"];
        assert_eq!(digest(&both, "ghcr.io/acme/web:1.4").as_deref(), Some("ghcr.io/acme/web@sha256:b"));
        assert_eq!(digest(&["127.0.0.1:5000/priv/app@sha256:a"], "sha256:id"), None);
        assert_eq!(digest(&["127.0.0.1:5000/priv/app@sha256:a"], "tf-test/app:v1"), None);
        assert_eq!(
            digest(&["nginx@sha256:c"], "docker.io/library/nginx:1.27").as_deref(),
            Some("nginx@sha256:c")
        );
        let local = ["127.0.0.1:5000/a@sha256:d"];
        assert_eq!(digest(&local, "127.0.0.1:5000/a:v1").as_deref(), Some("127.0.0.1:5000/a@sha256:d"));
    }
}
