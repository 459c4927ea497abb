//! The store against a real SQLite file: CRUD rules, the queue's supersede/claim rules (D2),
//! and secrets never written in plain (X3).

use serde_json::json;
use tinyforge_plugin::EnvVar;
use tinyforge_store::*;

fn open(dir: &std::path::Path) -> Store {
    Store::open(&dir.join("tinyforge.db"), Sealer::load(None, dir).unwrap()).unwrap()
}

#[test]
fn secrets_never_in_plain_in_the_database_file() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    let env = [
        EnvVar { key: "DB_PASSWORD".into(), value: "correct-horse-battery-staple".into(), secret: true },
        EnvVar { key: "MODE".into(), value: "production-mode".into(), secret: false },
    ];
    let cfg = json!({"image": "x", "registry_auth": {"password": s.sealer().seal("registry-pass-0xC0FFEE")}});
    let w = s.insert_workload("app", "image", &cfg, &env).unwrap();
    s.insert_trigger("t", "git", &json!({}), "url-secret-ABCDEF123", Some("signing-secret-XYZ987")).unwrap();
    s.create_token("admin").unwrap();
    assert_eq!(s.env_opened(&w.id).unwrap()[0].value, "correct-horse-battery-staple");
    assert_eq!(s.env_masked(&w.id).unwrap()[0].value, "");
    drop(s);
    let mut bytes = std::fs::read(d.path().join("tinyforge.db")).unwrap();
    if let Ok(wal) = std::fs::read(d.path().join("tinyforge.db-wal")) {
        bytes.extend(wal);
    }
    let hay = String::from_utf8_lossy(&bytes);
    for secret in [
        "correct-horse-battery-staple",
        "registry-pass-0xC0FFEE",
        "url-secret-ABCDEF123",
        "signing-secret-XYZ987",
    ] {
        assert!(!hay.contains(secret), "{secret} is in the database file in plain");
    }
    assert!(hay.contains("production-mode"), "the scan itself must see plain values");
}

#[test]
fn names_unique_and_missing_rows_named() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    s.insert_workload("app", "image", &json!({}), &[]).unwrap();
    let e = s.insert_workload("app", "image", &json!({}), &[]).unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(s.workload("nope").unwrap_err().to_string(), "workload `nope` not found");
}

#[test]
fn trigger_found_by_url_secret_only() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    let t = s.insert_trigger("t", "git", &json!({}), "s3cret", Some("sign")).unwrap();
    let (found, signing) = s.trigger_by_url_secret("s3cret").unwrap().unwrap();
    assert_eq!(found.id, t.id);
    assert_eq!(signing.as_deref(), Some("sign"));
    assert!(s.trigger_by_url_secret("s3cre").unwrap().is_none());
}

#[test]
fn queue_supersedes_and_serialises_per_workload() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    let a = s.insert_workload("a", "image", &json!({}), &[]).unwrap();
    let b = s.insert_workload("b", "image", &json!({}), &[]).unwrap();
    let (a1, _) = s.enqueue_deployment(&a.id, &json!(1), "t", &json!({}), None).unwrap();
    let first = s.claim_next_deployment().unwrap().unwrap();
    assert_eq!(first.id, a1.id);
    let (a2, sup) = s.enqueue_deployment(&a.id, &json!(2), "t", &json!({}), None).unwrap();
    assert!(sup.is_empty(), "a running deployment is not superseded");
    let (a3, sup) = s.enqueue_deployment(&a.id, &json!(3), "t", &json!({}), None).unwrap();
    assert_eq!(sup, vec![a2.id.clone()]);
    assert_eq!(s.deployment(&a2.id).unwrap().status, DeploymentStatus::Superseded);
    let (b1, _) = s.enqueue_deployment(&b.id, &json!(1), "t", &json!({}), None).unwrap();
    // a is running: the next claim is b's, not a3.
    assert_eq!(s.claim_next_deployment().unwrap().unwrap().id, b1.id);
    assert!(s.claim_next_deployment().unwrap().is_none());
    s.finish_deployment(&a1.id, DeploymentStatus::Succeeded, Some("sha256:1"), &json!({}), None).unwrap();
    assert_eq!(s.claim_next_deployment().unwrap().unwrap().id, a3.id);
    let interrupted = s.interrupt_running_deployments().unwrap();
    assert_eq!(interrupted.len(), 2);
    assert_eq!(s.current_deployment(&a.id).unwrap().unwrap().id, a1.id);
}

#[test]
fn tokens_hashed_and_checked() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    assert!(!s.has_tokens().unwrap());
    let t = s.create_token("admin").unwrap();
    assert_eq!(s.token_name(&t).unwrap().as_deref(), Some("admin"));
    assert_eq!(s.token_name("tf_wrong").unwrap(), None);
}
