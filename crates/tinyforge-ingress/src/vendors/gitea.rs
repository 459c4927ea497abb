//! Gitea, Forgejo and Gogs (one payload family): push, create (tag), ping; delete ignored.

use serde_json::Value;
use tinyforge_plugin::{GitPush, GitTag, InboundEvent};

use super::{changed_paths, is_zero, req, s};
use crate::{ParseError, Parsed};

pub fn parse(event: &str, p: &Value) -> Result<Parsed, ParseError> {
    let repository = || req(p, "/repository/full_name");
    let clone_url = s(p, "/repository/clone_url");
    match event {
        "ping" => Ok(Parsed::Ping),
        "push" => {
            let r#ref = req(p, "/ref")?;
            let after = s(p, "/after").unwrap_or_default();
            if is_zero(&after) {
                return Ok(Parsed::Ignore(format!("{ref} deleted", ref = r#ref)));
            }
            if let Some(tag) = r#ref.strip_prefix("refs/tags/") {
                return Ok(Parsed::Events(vec![InboundEvent::GitTag(GitTag {
                    repository: repository()?,
                    clone_url,
                    tag: tag.to_owned(),
                    commit: Some(after),
                })]));
            }
            let branch = r#ref.strip_prefix("refs/heads/").unwrap_or(&r#ref).to_owned();
            let message = s(p, "/head_commit/message").or_else(|| {
                let commits = p.get("commits")?.as_array()?;
                commits
                    .iter()
                    .find(|c| c.get("id").and_then(Value::as_str) == Some(&after))
                    .and_then(|c| s(c, "/message"))
            });
            Ok(Parsed::Events(vec![InboundEvent::GitPush(GitPush {
                repository: repository()?,
                clone_url,
                branch,
                commit: after,
                message,
                changed_paths: changed_paths(p.get("commits")),
            })]))
        }
        "create" => match s(p, "/ref_type").as_deref() {
            Some("tag") => {
                let r#ref = req(p, "/ref")?;
                // Gitea sends the short name, Forgejo-type hooks the full `refs/tags/…`.
                let tag = r#ref.strip_prefix("refs/tags/").unwrap_or(&r#ref).to_owned();
                Ok(Parsed::Events(vec![InboundEvent::GitTag(GitTag {
                    repository: repository()?,
                    clone_url,
                    tag,
                    commit: s(p, "/sha"),
                })]))
            }
            other => Ok(Parsed::Ignore(format!(
                "create with ref_type={}: the push event carries the data",
                other.unwrap_or("?")
            ))),
        },
        other => Ok(Parsed::Ignore(format!("event `{other}` does not deploy"))),
    }
}
