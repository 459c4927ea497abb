//! The image source through the deployer, the real Docker Engine and the edge (S1, D1–D3, R1):
//! v1 serves; v2 replaces it under load with zero failed requests; an unhealthy v3 is refused and
//! v2 keeps serving; rollback brings v1 back; a killed container and an orphan are repaired by
//! reconcile; racing intents never run at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Harness, get};
use serde_json::json;
use tinyforge_plugin::ports::{ContainerSpec, Engine};
use tinyforge_store::DeploymentStatus;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_lifecycle_on_the_real_engine() {
    let h = Harness::new().await;
    let name = Harness::name("life");
    let host = format!("{name}.test");
    let w = h.workload(&name, json!({}));

    // v1 serves through the edge.
    let d1 = h.control.deploy_manually(&w.id, "test", None).await.unwrap();
    let d1 = h.control.wait_for(&d1.id, WAIT).await.unwrap();
    assert_eq!(d1.status, DeploymentStatus::Succeeded, "{:?}", d1.error);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));

    // v2 under a request loop: zero failures.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut loops = Vec::new();
    for _ in 0..2 {
        let (stop, ok, bad, addr, host) = (stop.clone(), ok.clone(), bad.clone(), h.edge_addr, host.clone());
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match get(addr, &host).await {
                    Ok((200, b)) if b == "v1" || b == "v2" => ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed request: {other:?}");
                        bad.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let d2 = h.control.deploy_manually(&w.id, "test", Some("v2".into())).await.unwrap();
    let d2 = h.control.wait_for(&d2.id, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for l in loops {
        l.await.unwrap();
    }
    println!(
        "v1→v2: {} requests ok, {} failed during a {} ms deploy",
        ok.load(Ordering::SeqCst),
        bad.load(Ordering::SeqCst),
        t.elapsed().as_millis()
    );
    assert_eq!(d2.status, DeploymentStatus::Succeeded, "{:?}", d2.error);
    assert_eq!(bad.load(Ordering::SeqCst), 0);
    assert!(ok.load(Ordering::SeqCst) > 50);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v2".into()));
    assert_eq!(h.engine.list("tinyforge.workload", Some(&w.id)).await.unwrap().len(), 1, "blue removed");

    // An unhealthy v3 is refused; v2 keeps serving; v3's container is gone.
    let d3 = h.control.deploy_manually(&w.id, "test", Some("v3".into())).await.unwrap();
    let d3 = h.control.wait_for(&d3.id, WAIT).await.unwrap();
    assert_eq!(d3.status, DeploymentStatus::Failed);
    assert!(d3.error.as_deref().unwrap().contains("health check failed"), "{:?}", d3.error);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v2".into()));
    assert_eq!(h.engine.list("tinyforge.workload", Some(&w.id)).await.unwrap().len(), 1);

    // Rollback: the deployment before the current one (v1), exact version.
    let rb = h.control.rollback(&w.id, None, "test").unwrap();
    let rb = h.control.wait_for(&rb.id, WAIT).await.unwrap();
    assert_eq!(rb.status, DeploymentStatus::Succeeded, "{:?}", rb.error);
    assert_eq!(rb.version, d1.version);
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));

    h.control.health_round().await;
    let faces = h.control.face_health(&w.id);
    assert!(faces[0].up && faces[0].host == host, "{faces:?}");

    // docker kill → reconcile restores service.
    let c = h.engine.list("tinyforge.workload", Some(&w.id)).await.unwrap().remove(0);
    let killed = std::process::Command::new("docker").args(["kill", &c.id]).output().unwrap();
    assert!(killed.status.success());
    // `docker kill` returns once the signal is sent; wait until the container has died.
    let waited = std::process::Command::new("docker").args(["wait", &c.id]).output().unwrap();
    assert!(waited.status.success());
    assert_ne!(h.get(&host).await.map(|r| r.0), Ok(200), "the kill took the app down");
    // Face health sees it (before any reconcile).
    h.control.health_round().await;
    let faces = h.control.face_health(&w.id);
    assert_eq!((faces.len(), faces[0].up), (1, false), "{faces:?}");
    let t = Instant::now();
    let rep = h.control.reconcile_workload(&w.id).await.unwrap();
    assert!(rep.repaired.iter().any(|r| r.contains("restarted")), "{rep:?}");
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));
    println!("killed container serving again after {} ms of reconcile", t.elapsed().as_millis());

    // A container started by hand with this workload's label is removed.
    let stranger = h
        .engine
        .run(&ContainerSpec {
            name: format!("{name}-stranger"),
            image: "tf-test/app:v2".into(),
            labels: [("tinyforge.workload".to_owned(), w.id.clone())].into(),
            network: "tinyforge".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rep = h.control.reconcile_workload(&w.id).await.unwrap();
    assert!(rep.repaired.iter().any(|r| r.contains("orphan")), "{rep:?}");
    assert!(h.engine.inspect(&stranger.id).await.is_err());
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));

    // The route dropped from the table is restored.
    tinyforge_plugin::ports::Routes::remove(&h.edge, &w.id);
    assert_eq!(h.get(&host).await.unwrap().0, 404);
    h.control.reconcile_workload(&w.id).await.unwrap();
    assert_eq!(h.get(&host).await.unwrap(), (200, "v1".into()));

    // Teardown leaves nothing.
    h.control.teardown(&w.id).await.unwrap();
    assert!(h.engine.list("tinyforge.workload", Some(&w.id)).await.unwrap().is_empty());
    assert_eq!(h.get(&host).await.unwrap().0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_intents_never_overlap_and_the_newest_queued_wins() {
    let h = Harness::new().await;
    let name = Harness::name("race");
    let w = h.workload(&name, json!({}));
    let a = h.control.deploy_manually(&w.id, "test", Some("v1".into())).await.unwrap();
    let b = h.control.deploy_manually(&w.id, "test", Some("v2".into())).await.unwrap();
    let c = h.control.deploy_manually(&w.id, "test", Some("v1".into())).await.unwrap();
    let d = h.control.deploy_manually(&w.id, "test", Some("v2".into())).await.unwrap();
    for id in [&a.id, &b.id, &c.id, &d.id] {
        h.control.wait_for(id, WAIT).await.unwrap();
    }
    let hist = h.store.deployments(&w.id, 10).unwrap();
    let ran: Vec<_> = hist.iter().filter(|x| x.started_at.is_some()).collect();
    for x in &ran {
        for y in &ran {
            if x.id != y.id {
                let (xs, xf) = (x.started_at.clone().unwrap(), x.finished_at.clone().unwrap());
                let (ys, yf) = (y.started_at.clone().unwrap(), y.finished_at.clone().unwrap());
                assert!(xf <= ys || yf <= xs, "{} and {} overlapped", x.id, y.id);
            }
        }
    }
    assert!(hist.iter().any(|x| x.status == DeploymentStatus::Superseded), "a queued intent was superseded");
    assert_eq!(h.store.deployment(&d.id).unwrap().status, DeploymentStatus::Succeeded);
    assert_eq!(h.get(&format!("{name}.test")).await.unwrap(), (200, "v2".into()));
    h.control.teardown(&w.id).await.unwrap();
}
