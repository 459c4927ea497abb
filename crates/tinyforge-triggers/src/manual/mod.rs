//! The `manual` trigger (T3): never fires on its own; matches only manual events (UI, API, CLI),
//! optionally restricted to some actors.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::{InboundEvent, MatchOutcome, PluginError, Target, TypedTrigger, Workload};

/// Deploy when someone asks (UI button, API call, CLI).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualConfig {
    /// Only these actors (user or token names) may deploy; empty = anyone authenticated.
    #[serde(default)]
    pub allowed_actors: Vec<String>,
}

/// The `manual` kind.
pub struct ManualTrigger;

#[async_trait]
impl TypedTrigger for ManualTrigger {
    type Config = ManualConfig;

    fn kind(&self) -> &'static str {
        "manual"
    }

    fn sample(&self) -> ManualConfig {
        ManualConfig { allowed_actors: vec!["admin".into()] }
    }

    async fn matches(
        &self,
        cfg: &ManualConfig,
        _w: &Workload,
        event: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        let InboundEvent::Manual(m) = event else {
            return Ok(MatchOutcome::Skip("event_kind"));
        };
        if !cfg.allowed_actors.is_empty() && !cfg.allowed_actors.contains(&m.actor) {
            return Ok(MatchOutcome::Skip("actor"));
        }
        let reference = m.reference.clone();
        let target = match reference {
            Some(r) if r.starts_with("sha256:") => Target { digest: Some(r), ..Target::default() },
            Some(r) => Target { tag: Some(r.clone()), git_ref: Some(r), ..Target::default() },
            None => Target::default(),
        };
        Ok(MatchOutcome::deploy(target, event, format!("manual:{}", m.actor)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tinyforge_plugin::{CronTick, Manual, Trigger, TriggerAdapter};

    use super::*;

    use crate::test_workload as w;

    #[tokio::test]
    async fn matches_manual_only_and_respects_actors() {
        let t = TriggerAdapter(ManualTrigger);
        let d = std::time::Duration::from_secs(1);
        let manual = |actor: &str, r: Option<&str>| {
            InboundEvent::Manual(Manual { actor: actor.into(), reference: r.map(Into::into) })
        };
        let cron = InboundEvent::CronTick(CronTick { schedule: "* * * * *".into(), at: Default::default() });
        assert_eq!(t.matches(&w(json!({})), &cron, d).await.unwrap(), MatchOutcome::Skip("event_kind"));
        let MatchOutcome::Deploy(i) = t.matches(&w(json!({})), &manual("bob", Some("v2")), d).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(i.target.tag.as_deref(), Some("v2"));
        assert_eq!(i.triggered_by, "manual:bob");
        let only_admin = w(json!({"allowed_actors": ["admin"]}));
        assert_eq!(
            t.matches(&only_admin, &manual("bob", None), d).await.unwrap(),
            MatchOutcome::Skip("actor")
        );
        assert!(matches!(
            t.matches(&only_admin, &manual("admin", None), d).await.unwrap(),
            MatchOutcome::Deploy(_)
        ));
    }
}
