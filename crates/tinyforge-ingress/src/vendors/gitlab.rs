//! GitLab: Push Hook and Tag Push Hook; deleted refs ignored.

use serde_json::Value;
use tinyforge_plugin::{GitPush, GitTag, InboundEvent};

use super::{changed_paths, is_zero, req, s};
use crate::{ParseError, Parsed};

pub fn parse(event: &str, p: &Value) -> Result<Parsed, ParseError> {
    if event != "Push Hook" && event != "Tag Push Hook" {
        return Ok(Parsed::Ignore(format!("GitLab event `{event}` does not deploy")));
    }
    let r#ref = req(p, "/ref")?;
    let after = s(p, "/after").unwrap_or_default();
    let commit = s(p, "/checkout_sha");
    let repository = req(p, "/project/path_with_namespace")?;
    let clone_url = s(p, "/project/git_http_url");
    if is_zero(&after) || commit.is_none() {
        return Ok(Parsed::Ignore(format!("{ref} deleted", ref = r#ref)));
    }
    let commit = commit.unwrap_or(after);
    if let Some(tag) = r#ref.strip_prefix("refs/tags/") {
        return Ok(Parsed::Events(vec![InboundEvent::GitTag(GitTag {
            repository,
            clone_url,
            tag: tag.to_owned(),
            commit: Some(commit),
        })]));
    }
    let branch = r#ref.strip_prefix("refs/heads/").unwrap_or(&r#ref).to_owned();
    let message = p
        .get("commits")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("id").and_then(Value::as_str) == Some(&commit)))
        .and_then(|c| s(c, "/message"));
    Ok(Parsed::Events(vec![InboundEvent::GitPush(GitPush {
        repository,
        clone_url,
        branch,
        commit,
        message,
        changed_paths: changed_paths(p.get("commits")),
    })]))
}
