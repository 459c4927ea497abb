//! Bitbucket Cloud: `repo:push`, one event per entry of `push.changes[]`.

use serde_json::Value;
use tinyforge_plugin::{GitPush, GitTag, InboundEvent};

use super::{req, s};
use crate::{ParseError, Parsed};

pub fn parse(event: &str, p: &Value) -> Result<Parsed, ParseError> {
    if event != "repo:push" {
        return Ok(Parsed::Ignore(format!("Bitbucket event `{event}` does not deploy")));
    }
    let repository = req(p, "/repository/full_name")?;
    // No clone URL in the payload: derive it from the web link.
    let clone_url = s(p, "/repository/links/html/href").map(|h| format!("{h}.git"));
    let mut events = Vec::new();
    let mut ignored = Vec::new();
    for c in p.pointer("/push/changes").and_then(Value::as_array).into_iter().flatten() {
        let Some(new) = c.get("new").filter(|n| !n.is_null()) else {
            let old = s(c, "/old/name").unwrap_or_default();
            ignored.push(format!("{} {old} deleted", s(c, "/old/type").unwrap_or_else(|| "ref".into())));
            continue;
        };
        let name = req(new, "/name")?;
        let commit = req(new, "/target/hash")?;
        match s(new, "/type").as_deref() {
            Some("tag") => events.push(InboundEvent::GitTag(GitTag {
                repository: repository.clone(),
                clone_url: clone_url.clone(),
                tag: name,
                commit: Some(commit),
            })),
            _ => events.push(InboundEvent::GitPush(GitPush {
                repository: repository.clone(),
                clone_url: clone_url.clone(),
                branch: name,
                commit,
                message: s(new, "/target/message"),
                changed_paths: Vec::new(),
            })),
        }
    }
    if events.is_empty() {
        return Ok(Parsed::Ignore(if ignored.is_empty() {
            "no ref changes".into()
        } else {
            ignored.join("; ")
        }));
    }
    Ok(Parsed::Events(events))
}
