//! One engine list call per reconcile pass: an [`Engine`] that answers "containers of workload
//! W" from a listing taken at the start of the pass and passes every other call through. The
//! reconciler uses it only for workloads nothing has touched since the listing (see
//! `Control::touched`), so a deploy that finished meanwhile is never judged on stale facts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tinyforge_plugin::ports::{
    ContainerInfo, ContainerSpec, Engine, EngineError, ImageInfo, RegistryCredentials,
};

/// The label that names a container's workload.
const WORKLOAD: &str = "tinyforge.workload";

pub struct Snapshot {
    inner: Arc<dyn Engine>,
    by_workload: HashMap<String, Vec<ContainerInfo>>,
}

impl Snapshot {
    /// Lists every workload container once.
    pub async fn take(inner: Arc<dyn Engine>) -> Result<(Self, Vec<ContainerInfo>), EngineError> {
        let all = inner.list(WORKLOAD, None).await?;
        let mut by_workload: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
        for c in &all {
            if let Some(w) = c.labels.get(WORKLOAD) {
                by_workload.entry(w.clone()).or_default().push(c.clone());
            }
        }
        Ok((Self { inner, by_workload }, all))
    }
}

#[async_trait]
impl Engine for Snapshot {
    async fn ensure_image(
        &self,
        r: &str,
        c: Option<&RegistryCredentials>,
        pull: bool,
    ) -> Result<ImageInfo, EngineError> {
        self.inner.ensure_image(r, c, pull).await
    }
    async fn run(&self, spec: &ContainerSpec) -> Result<ContainerInfo, EngineError> {
        self.inner.run(spec).await
    }
    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.inner.start(id).await
    }
    async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        self.inner.inspect(id).await
    }
    async fn remove(&self, id: &str, grace: Duration) -> Result<(), EngineError> {
        self.inner.remove(id, grace).await
    }
    async fn wait(&self, id: &str) -> Result<i64, EngineError> {
        self.inner.wait(id).await
    }
    async fn output(&self, id: &str, lines: u32) -> Result<String, EngineError> {
        self.inner.output(id, lines).await
    }
    async fn list(&self, key: &str, value: Option<&str>) -> Result<Vec<ContainerInfo>, EngineError> {
        match value {
            Some(w) if key == WORKLOAD => Ok(self.by_workload.get(w).cloned().unwrap_or_default()),
            _ => self.inner.list(key, value).await,
        }
    }
}
