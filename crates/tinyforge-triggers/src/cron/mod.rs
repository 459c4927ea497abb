//! The `cron` trigger (T4): redeploys on a schedule — 5, 6 (seconds) or 7 (year) fields, in a
//! time zone. The scheduler asks [`due`](TypedTrigger::due) with the last fire time it persisted,
//! so a restart neither loses a tick (a missed one fires once on start) nor doubles one.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use croner::Cron;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::{
    ConfigError, CronTick, InboundEvent, MatchOutcome, PluginError, Target, TypedTrigger, Workload,
};

/// Redeploy on a schedule.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CronConfig {
    /// Cron expression: `min hour dom month dow`, with an optional leading seconds field and an
    /// optional trailing year, e.g. `0 3 * * *` (03:00 daily) or `*/30 * * * * *` (every 30 s).
    pub schedule: String,
    /// IANA time zone the schedule is read in, e.g. `Europe/Berlin`.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

fn parse(c: &CronConfig) -> Result<(Cron, jiff::tz::TimeZone), ConfigError> {
    let cron = Cron::from_str(&c.schedule)
        .map_err(|e| ConfigError::new("schedule", format!("not a cron expression: {e}")))?;
    let tz = jiff::tz::TimeZone::get(&c.timezone).map_err(|_| {
        ConfigError::new(
            "timezone",
            format!("unknown time zone `{}` (use an IANA name like `Europe/Berlin`)", c.timezone),
        )
    })?;
    Ok((cron, tz))
}

fn to_zoned(t: DateTime<Utc>, tz: &jiff::tz::TimeZone) -> Option<jiff::Zoned> {
    jiff::Timestamp::from_nanosecond(t.timestamp_nanos_opt()? as i128).ok().map(|ts| ts.to_zoned(tz.clone()))
}

/// The `cron` kind.
pub struct CronTrigger;

#[async_trait]
impl TypedTrigger for CronTrigger {
    type Config = CronConfig;
    const SCHEDULED: bool = true;

    fn kind(&self) -> &'static str {
        "cron"
    }

    fn sample(&self) -> CronConfig {
        CronConfig { schedule: "0 3 * * *".into(), timezone: "Europe/Berlin".into() }
    }

    fn check(&self, c: &CronConfig) -> Result<(), ConfigError> {
        parse(c).map(|_| ())
    }

    async fn matches(
        &self,
        c: &CronConfig,
        _w: &Workload,
        e: &InboundEvent,
    ) -> Result<MatchOutcome, PluginError> {
        let InboundEvent::CronTick(t) = e else { return Ok(MatchOutcome::Skip("event_kind")) };
        if t.schedule != c.schedule {
            return Ok(MatchOutcome::Skip("schedule"));
        }
        Ok(MatchOutcome::deploy(Target::default(), e, "trigger:cron"))
    }

    fn due(&self, c: &CronConfig, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<InboundEvent> {
        let (cron, tz) = parse(c).ok()?;
        let last = cron.find_previous_occurrence(&to_zoned(now, &tz)?, true).ok()?;
        let at = DateTime::<Utc>::from_timestamp(
            last.timestamp().as_second(),
            last.timestamp().subsec_nanosecond() as u32,
        )?;
        (at > after).then(|| InboundEvent::CronTick(CronTick { schedule: c.schedule.clone(), at }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn cfg(s: &str, tz: &str) -> CronConfig {
        CronConfig { schedule: s.into(), timezone: tz.into() }
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, s).unwrap()
    }

    #[test]
    fn due_fires_once_for_the_latest_missed_occurrence() {
        let t = CronTrigger;
        let daily3 = cfg("0 3 * * *", "UTC");
        // Fired at 03:00 yesterday; now 09:00: today's 03:00 is due, exactly once.
        let yesterday = at(3, 0, 0) - chrono::Duration::days(1);
        let Some(InboundEvent::CronTick(tick)) = t.due(&daily3, yesterday, at(9, 0, 0)) else { panic!() };
        assert_eq!(tick.at, at(3, 0, 0));
        assert!(t.due(&daily3, tick.at, at(9, 0, 1)).is_none(), "not twice");
        // Several missed ticks of a fast schedule fire once, at the latest.
        let every10s = cfg("*/10 * * * * *", "UTC");
        let Some(InboundEvent::CronTick(tick)) = t.due(&every10s, at(8, 0, 0), at(8, 1, 5)) else { panic!() };
        assert_eq!(tick.at, at(8, 1, 0));
    }

    #[test]
    fn time_zone_is_honoured() {
        // 03:00 in Berlin is 02:00 UTC in winter.
        let t = CronTrigger;
        let Some(InboundEvent::CronTick(tick)) =
            t.due(&cfg("0 3 * * *", "Europe/Berlin"), at(0, 0, 0), at(2, 30, 0))
        else {
            panic!()
        };
        assert_eq!(tick.at, at(2, 0, 0));
        assert!(t.due(&cfg("0 3 * * *", "Europe/Berlin"), at(0, 0, 0), at(1, 59, 0)).is_none());
    }

    #[test]
    fn bad_schedule_and_zone_name_the_field() {
        use tinyforge_plugin::{Trigger, TriggerAdapter};
        let t = TriggerAdapter(CronTrigger);
        assert_eq!(t.validate(&serde_json::json!({"schedule": "every day"})).unwrap_err().field, "schedule");
        assert_eq!(
            t.validate(&serde_json::json!({"schedule": "0 3 * * *", "timezone": "Mars/Olympus"}))
                .unwrap_err()
                .field,
            "timezone"
        );
        assert!(t.validate(&serde_json::json!({"schedule": "0 0 3 * * * 2027"})).is_ok(), "7 fields");
    }
}
