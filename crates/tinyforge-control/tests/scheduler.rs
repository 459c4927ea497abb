//! The scheduler (T4) over a real store: a due tick queues exactly one deploy; the same instant
//! never fires twice, also for a fresh control plane on the same database (a restart).

mod common;

use chrono::{Duration, Utc};
use common::Harness;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_fire_once_and_survive_a_restart() {
    let h = Harness::new().await;
    let name = Harness::name("cron");
    let w = h.workload(&name, json!({}));
    let t =
        h.store.insert_trigger(&name, "cron", &json!({"schedule": "*/10 * * * * *"}), &name, None).unwrap();
    let b = h.store.insert_binding(&w.id, &t.id, true, &json!({})).unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(&b.created_at).unwrap().with_timezone(&Utc);

    let later = created + Duration::seconds(25);
    assert_eq!(h.control.scheduler_pass(later).await.unwrap(), 1);
    assert_eq!(h.control.scheduler_pass(later).await.unwrap(), 0, "the same tick never fires twice");
    let fired = h.store.binding(&b.id).unwrap().last_fired_at.unwrap();
    let d = &h.store.deployments(&w.id, 10).unwrap()[0];
    assert_eq!(d.intent["event"]["kind"], "cron_tick");
    assert!(d.triggered_by.starts_with("trigger:cron:"));
    assert_eq!(d.intent["event"]["at"].as_str().map(|s| &s[..19]), Some(&fired[..19]));

    // A restart: a new control plane over the same database neither repeats nor loses the tick.
    let again = Harness::reopen(&h).await;
    assert_eq!(again.control.scheduler_pass(later).await.unwrap(), 0);
    assert_eq!(again.control.scheduler_pass(later + Duration::seconds(10)).await.unwrap(), 1);
    h.control.teardown(&w.id).await.unwrap();
}
