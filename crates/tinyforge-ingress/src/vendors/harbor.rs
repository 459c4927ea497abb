//! Harbor, default and CloudEvents formats: artifact pushes deploy; everything else is ignored.

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent};

use super::{s, split_image_url};
use crate::{ParseError, Parsed};

fn resources(data: &Value) -> Result<Parsed, ParseError> {
    let repo = s(data, "/repository/repo_full_name");
    let mut out = Vec::new();
    for r in data.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let Some((registry, from_url)) = s(r, "/resource_url").as_deref().and_then(split_image_url) else {
            continue;
        };
        let tag = s(r, "/tag").filter(|t| !t.starts_with("sha256:"));
        out.push(InboundEvent::ImagePush(ImagePush {
            registry,
            repository: repo.clone().unwrap_or(from_url),
            tag,
            digest: s(r, "/digest"),
        }));
    }
    if out.is_empty() {
        return Err(ParseError("a Harbor push without resources".into()));
    }
    Ok(Parsed::Events(out))
}

pub fn parse_default(p: &Value) -> Result<Parsed, ParseError> {
    match s(p, "/type").as_deref() {
        Some("PUSH_ARTIFACT") | Some("pushImage") => resources(p.get("event_data").unwrap_or(&Value::Null)),
        other => Ok(Parsed::Ignore(format!("Harbor event {} does not deploy", other.unwrap_or("?")))),
    }
}

pub fn parse_cloudevents(p: &Value) -> Result<Parsed, ParseError> {
    match s(p, "/type").as_deref() {
        Some("harbor.artifact.pushed") => resources(p.get("data").unwrap_or(&Value::Null)),
        other => Ok(Parsed::Ignore(format!("type {} does not deploy", other.unwrap_or("?")))),
    }
}
