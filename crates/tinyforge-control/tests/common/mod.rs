//! A real control plane for tests: SQLite in a temp dir, the local Docker Engine, the edge on a
//! loopback port, the built-in kinds, locally built FROM-scratch images.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use tinyforge_control::{Control, ControlConfig, EventBus};
use tinyforge_edge::{Edge, EdgeConfig};
use tinyforge_engine::DockerEngine;
use tinyforge_plugin::{Deps, RegistryBuilder};
use tinyforge_store::{Sealer, Store, WorkloadRow};
use tinyforge_testkit::images::{Behaviour, build_app};

pub struct Harness {
    pub control: Arc<Control>,
    pub store: Arc<Store>,
    pub engine: DockerEngine,
    pub edge: Edge,
    pub edge_addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

/// Builds `tf-test/app:v1`, `:v2` (healthy) and `:v3` (unhealthy) once per test binary.
pub fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_app("tf-test/app:v1", "v1", Behaviour::Healthy).unwrap();
        build_app("tf-test/app:v2", "v2", Behaviour::Healthy).unwrap();
        build_app("tf-test/app:v3", "v3", Behaviour::Unhealthy).unwrap();
    });
}

impl Harness {
    pub async fn new() -> Self {
        Self::on(tempfile::tempdir().unwrap(), true, None).await
    }

    /// With a DNS provider pointing faces at `ip`.
    pub async fn with_dns(dns: Arc<dyn tinyforge_plugin::ports::Dns>, ip: std::net::Ipv4Addr) -> Self {
        Self::on(tempfile::tempdir().unwrap(), true, Some((dns, ip))).await
    }

    /// A second control plane (no queue workers) over a copy of the same data dir: what a
    /// restart sees.
    pub async fn reopen(other: &Harness) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(other.dir.path().join("enc.key"), dir.path().join("enc.key")).unwrap();
        for f in ["t.db", "t.db-wal", "t.db-shm"] {
            let _ = std::fs::copy(other.dir.path().join(f), dir.path().join(f));
        }
        Self::on(dir, false, None).await
    }

    async fn on(
        dir: tempfile::TempDir,
        workers: bool,
        dns: Option<(Arc<dyn tinyforge_plugin::ports::Dns>, std::net::Ipv4Addr)>,
    ) -> Self {
        images();
        let store =
            Arc::new(Store::open(&dir.path().join("t.db"), Sealer::load(None, dir.path()).unwrap()).unwrap());
        let engine = DockerEngine::connect().await.expect("a Docker Engine is required for these tests");
        engine.ensure_network().await.unwrap();
        let edge = Edge::new(EdgeConfig::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let edge_addr = l.local_addr().unwrap();
        tokio::spawn(tinyforge_edge::serve(edge.clone(), l, "http", std::future::pending()));
        let mut reg = RegistryBuilder::new();
        for s in tinyforge_sources::builtin() {
            reg = reg.source_dyn(s);
        }
        for t in tinyforge_triggers::builtin() {
            reg = reg.trigger_dyn(t);
        }
        let events = Arc::new(EventBus::new(store.clone(), 10_000));
        let deps = Deps {
            engine: Arc::new(engine.clone()),
            routes: Arc::new(edge.clone()),
            events: events.clone(),
            data_dir: dir.path().to_owned(),
            dns: dns.as_ref().map(|(d, _)| d.clone()),
            instance: format!("test-{}", tinyforge_store::new_id()),
        };
        let control = Control::new(
            store.clone(),
            Arc::new(reg.build().unwrap()),
            deps,
            events,
            ControlConfig { public_ip: dns.map(|(_, ip)| ip), ..ControlConfig::default() },
        );
        if workers {
            tokio::spawn(control.clone().run_queue());
        }
        Self { control, store, engine, edge, edge_addr, dir }
    }

    /// An image workload `name` on host `<name>.test`, tag v1.
    pub fn workload(&self, name: &str, extra: Value) -> WorkloadRow {
        let mut cfg = json!({
            "image": "tf-test/app", "tag": "v1",
            "faces": [{"host": format!("{name}.test"), "port": 8080}],
            "health": {"path": "/health", "start_period_secs": 4},
            "drain_timeout_secs": 5
        });
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        self.store.insert_workload(name, "image", &cfg, &[]).unwrap()
    }

    pub async fn get(&self, host: &str) -> Result<(u16, String), String> {
        get(self.edge_addr, host).await
    }

    /// A unique workload name for this test process.
    pub fn name(base: &str) -> String {
        format!("{base}-{}", std::process::id())
    }
}

pub async fn get(edge: SocketAddr, host: &str) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(edge).await.map_err(|e| e.to_string())?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())?;
    let status =
        out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or(format!("bad answer {out:?}"))?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_owned();
    Ok((status, body))
}
