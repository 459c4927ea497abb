//! The `image` source (S1): a Docker image deployed blue-green behind the edge, health-gated,
//! several faces per workload, private registry auth.

mod config;
mod deploy;
mod reconcile;

use async_trait::async_trait;
use tinyforge_plugin::{
    ConfigError, DeployOutcome, DeploymentIntent, Deps, PluginError, PublicFace, ReconcileReport,
    TypedSource, Workload,
};

pub use config::{HealthCheck, ImageConfig, PullPolicy, RegistryAuth, Resources};

/// Label carrying the workload id on every container tinyforge starts.
pub const LABEL_WORKLOAD: &str = "tinyforge.workload";
/// Label carrying the installation id (see `Deps::instance`).
pub const LABEL_INSTANCE: &str = "tinyforge.instance";
/// Label carrying the deployment id.
pub const LABEL_DEPLOYMENT: &str = "tinyforge.deployment";
/// Label carrying the faces' hosts.
pub const LABEL_FACE: &str = "tinyforge.face";

/// The `image` kind.
pub struct ImageSource;

#[async_trait]
impl TypedSource for ImageSource {
    type Config = ImageConfig;

    fn kind(&self) -> &'static str {
        "image"
    }

    fn sample(&self) -> ImageConfig {
        ImageConfig {
            image: "ghcr.io/acme/web".into(),
            tag: "latest".into(),
            digest: None,
            registry_auth: None,
            faces: vec![PublicFace {
                host: "web.example.com".into(),
                path_prefix: None,
                port: 8080,
                tls: true,
            }],
            health: HealthCheck { path: "/health".into(), ..HealthCheck::default() },
            resources: Resources { memory_mb: Some(256), cpus: Some(0.5) },
            command: None,
            pull: PullPolicy::Missing,
            drain_timeout_secs: 30,
        }
    }

    fn check(&self, config: &ImageConfig) -> Result<(), ConfigError> {
        config.check()
    }

    async fn deploy(
        &self,
        deps: &Deps,
        workload: &Workload,
        config: &ImageConfig,
        intent: &DeploymentIntent,
    ) -> Result<DeployOutcome, PluginError> {
        deploy::deploy(deps, workload, config, intent).await
    }

    async fn teardown(
        &self,
        deps: &Deps,
        workload: &Workload,
        _config: &ImageConfig,
    ) -> Result<(), PluginError> {
        deps.routes.remove(&workload.id);
        let port = |e: tinyforge_plugin::ports::EngineError| PluginError::Port(e.to_string());
        for c in deps.engine.list(LABEL_WORKLOAD, Some(&workload.id)).await.map_err(port)? {
            deps.engine.remove(&c.id, std::time::Duration::from_secs(10)).await.map_err(port)?;
        }
        Ok(())
    }

    async fn reconcile(
        &self,
        deps: &Deps,
        workload: &Workload,
        config: &ImageConfig,
        current: Option<&DeployOutcome>,
    ) -> Result<ReconcileReport, PluginError> {
        reconcile::reconcile(deps, workload, config, current).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tinyforge_plugin::{Source, SourceAdapter};

    use super::*;

    #[test]
    fn bad_configs_name_the_field() {
        let s = SourceAdapter(ImageSource);
        let base = s.sample();
        let with = |k: &str, v: serde_json::Value| {
            let mut c = base.clone();
            c[k] = v;
            s.validate(&c).unwrap_err().field
        };
        assert_eq!(with("faces", json!([{"host": "a.test", "port": 0}])), "faces[0].port");
        assert_eq!(with("faces", json!([{"host": "bad host", "port": 80}])), "faces[0].host");
        assert_eq!(with("faces", json!([{"host": "a.test", "port": 70000}])), "faces[0].port");
        assert_eq!(with("faces", json!([])), "faces");
        assert_eq!(with("digest", json!("md5:1")), "digest");
        assert_eq!(with("health", json!({"path": "health"})), "health.path");
        assert_eq!(with("registry_auth", json!({"username": "u"})), "registry_auth.password");
        assert_eq!(with("pull", json!("sometimes")), "pull");
    }

    #[test]
    fn registry_password_is_a_secret_field() {
        let s = SourceAdapter(ImageSource);
        let mut cfg = s.sample();
        cfg["registry_auth"] = json!({"username": "u", "password": "p"});
        let mut seen = vec![];
        tinyforge_plugin::schema::for_each_secret(&s.schema(), &mut cfg, &mut |v| seen.push(v.clone()));
        assert_eq!(seen, ["p"]);
    }
}
