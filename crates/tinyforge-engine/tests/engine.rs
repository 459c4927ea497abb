//! The engine seam against the real Docker Engine: a locally built FROM-scratch image runs on the
//! tinyforge network, answers on its address, is listed by label, and is removed; errors are
//! classified. With no daemon these tests fail (never skip).

use std::collections::BTreeMap;
use std::time::Duration;

use tinyforge_engine::{DockerEngine, NETWORK};
use tinyforge_plugin::ports::{ContainerSpec, Engine, EngineError};
use tinyforge_testkit::images::{Behaviour, build_app};

async fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    Some(out)
}

#[tokio::test]
async fn runs_lists_and_removes_a_local_image() {
    let engine = DockerEngine::connect().await.expect("a Docker Engine is required for these tests");
    engine.ensure_network().await.unwrap();
    build_app("tf-test/engine:v1", "engine-v1", Behaviour::Healthy).unwrap();
    let img = engine.ensure_image("tf-test/engine:v1", None, false).await.unwrap();
    assert!(img.id.starts_with("sha256:"));

    let run_id = format!("{}", std::process::id());
    let spec = ContainerSpec {
        name: format!("tf-engine-test-{run_id}"),
        image: img.id.clone(),
        env: vec![("GREETING".into(), "hi".into())],
        labels: BTreeMap::from([("tinyforge.workload".into(), format!("engine-test-{run_id}"))]),
        network: NETWORK.into(),
        memory_bytes: Some(64 << 20),
        ..Default::default()
    };
    let c = engine.run(&spec).await.unwrap();
    assert!(c.running);
    let ip = c.ip.expect("an address on the tinyforge network");
    let mut body = None;
    for _ in 0..50 {
        body = http_get((ip, 8080).into(), "/").await;
        if body.as_deref().is_some_and(|b| b.contains("200 OK")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.unwrap().ends_with("engine-v1\n"));

    let listed = engine.list("tinyforge.workload", Some(&format!("engine-test-{run_id}"))).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [c.id.as_str()]);
    // A name clash is a conflict.
    assert!(matches!(engine.run(&spec).await, Err(EngineError::Conflict(_))));

    engine.remove(&c.id, Duration::from_secs(1)).await.unwrap();
    engine.remove(&c.id, Duration::from_secs(1)).await.unwrap(); // idempotent
    assert!(matches!(engine.inspect(&c.id).await, Err(EngineError::NotFound(_))));
}

#[tokio::test]
async fn missing_image_is_classified() {
    let engine = DockerEngine::connect().await.expect("a Docker Engine is required for these tests");
    let e = engine.ensure_image("127.0.0.1:1/nope/never:1", None, false).await.unwrap_err();
    assert!(matches!(e, EngineError::ImageNotFound(_) | EngineError::Other(_)), "{e:?}");
    let (version, api) = engine.version().await.unwrap();
    assert!(!version.is_empty() && !api.is_empty());
}
