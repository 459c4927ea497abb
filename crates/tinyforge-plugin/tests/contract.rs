//! The contract with a test-only kind: registry rules (C6), typed adapter (C3), deadlines (C4),
//! the conformance kit catching a bad kind.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tinyforge_plugin::conformance::assert_trigger_conformance;
use tinyforge_plugin::*;

/// Config of the test-only trigger.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EchoConfig {
    /// Branch to accept.
    branch: String,
    /// Pretend to be slow (ms).
    #[serde(default)]
    delay_ms: u64,
}

struct Echo(&'static str);

#[async_trait]
impl TypedTrigger for Echo {
    type Config = EchoConfig;
    fn kind(&self) -> &'static str {
        self.0
    }
    fn sample(&self) -> EchoConfig {
        EchoConfig { branch: "main".into(), delay_ms: 0 }
    }
    fn check(&self, c: &EchoConfig) -> Result<(), ConfigError> {
        if c.branch.is_empty() {
            return Err(ConfigError::new("branch", "must not be empty"));
        }
        Ok(())
    }
    async fn matches(
        &self,
        c: &EchoConfig,
        _w: &Workload,
        e: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        tokio::time::sleep(Duration::from_millis(c.delay_ms)).await;
        match e {
            InboundEvent::GitPush(p) if p.branch == c.branch => {
                let target = Target { commit: Some(p.commit.clone()), ..Default::default() };
                Ok(MatchOutcome::deploy(target, e, "trigger:echo"))
            }
            InboundEvent::GitPush(_) => Ok(MatchOutcome::Skip("branch")),
            _ => Ok(MatchOutcome::Skip("event_kind")),
        }
    }
}

fn workload(trigger_config: serde_json::Value) -> Workload {
    Workload {
        id: "w1".into(),
        name: "app".into(),
        source_kind: "image".into(),
        source_config: json!({}),
        trigger_kind: Some("echo".into()),
        trigger_config,
        env: vec![],
    }
}

fn push(branch: &str) -> InboundEvent {
    InboundEvent::GitPush(GitPush {
        repository: "o/r".into(),
        clone_url: None,
        branch: branch.into(),
        commit: "abc".into(),
        message: None,
        changed_paths: vec![],
    })
}

#[test]
fn duplicate_kind_stops_boot() {
    let e = RegistryBuilder::new().trigger(Echo("echo")).trigger(Echo("echo")).build().err().unwrap();
    assert_eq!(
        e.to_string(),
        "duplicate trigger kind `echo`: two plugins claim it; remove one from the builtin list"
    );
}

#[test]
fn unknown_kind_names_known_ones() {
    let r = RegistryBuilder::new().trigger(Echo("echo")).trigger(Echo("alpha")).build().unwrap();
    let e = r.trigger("nope").err().unwrap();
    assert_eq!(e.to_string(), "unknown trigger kind `nope`; known kinds: alpha, echo");
    assert_eq!(r.trigger_kinds().iter().map(|k| k.kind).collect::<Vec<_>>(), ["alpha", "echo"]);
}

#[tokio::test]
async fn typed_match_and_deadline() {
    let r = RegistryBuilder::new().trigger(Echo("echo")).build().unwrap();
    let t = r.trigger("echo").unwrap();
    let w = workload(json!({"branch": "main"}));
    match t.matches(&w, &push("main"), Duration::from_secs(1)).await.unwrap() {
        MatchOutcome::Deploy(i) => assert_eq!(i.target.commit.as_deref(), Some("abc")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.matches(&w, &push("dev"), Duration::from_secs(1)).await.unwrap(),
        MatchOutcome::Skip("branch")
    );
    let slow = workload(json!({"branch": "main", "delay_ms": 500}));
    let e = t.matches(&slow, &push("main"), Duration::from_millis(50)).await.unwrap_err();
    assert!(matches!(e, PluginError::Deadline { .. }), "{e}");
    let bad = workload(json!({"branch": ""}));
    let e = t.matches(&bad, &push("main"), Duration::from_secs(1)).await.unwrap_err();
    assert!(e.to_string().contains("branch: must not be empty"), "{e}");
}

#[test]
fn conformance_kit_passes_a_good_kind() {
    assert_trigger_conformance(vec![Arc::new(TriggerAdapter(Echo("echo")))]);
}

/// A kind whose config has an undocumented field.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Undocumented {
    x: String,
}
struct Bad;
#[async_trait]
impl TypedTrigger for Bad {
    type Config = Undocumented;
    fn kind(&self) -> &'static str {
        "bad"
    }
    fn sample(&self) -> Undocumented {
        Undocumented { x: "1".into() }
    }
    async fn matches(
        &self,
        _: &Undocumented,
        _: &Workload,
        _: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        Ok(MatchOutcome::Skip("never"))
    }
}

#[test]
#[should_panic(expected = "undocumented field")]
fn conformance_kit_catches_undocumented_field() {
    assert_trigger_conformance(vec![Arc::new(TriggerAdapter(Bad))]);
}

#[test]
#[should_panic(expected = "duplicate trigger kind")]
fn conformance_kit_catches_duplicates() {
    assert_trigger_conformance(vec![
        Arc::new(TriggerAdapter(Echo("e"))),
        Arc::new(TriggerAdapter(Echo("e"))),
    ]);
}
