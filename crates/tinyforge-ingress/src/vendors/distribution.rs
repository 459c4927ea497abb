//! CNCF distribution notifications (v1 and v2 envelopes): one image push per tagged manifest push;
//! pulls, deletes, blob pushes and untagged (child) manifests deploy nothing.

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent};

use super::s;
use crate::{ParseError, Parsed};

pub fn parse(p: &Value) -> Result<Parsed, ParseError> {
    let events = p
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError("the envelope has no `events` array".into()))?;
    let mut out = Vec::new();
    let mut ignored = Vec::new();
    for e in events {
        let action = s(e, "/action").unwrap_or_default();
        let media = s(e, "/target/mediaType").unwrap_or_default();
        let url = s(e, "/target/url").unwrap_or_default();
        if action != "push" {
            ignored.push(action);
            continue;
        }
        if media == "application/octet-stream" || url.contains("/blobs/") || media.contains("rootfs") {
            ignored.push("blob push".into());
            continue;
        }
        let Some(tag) = s(e, "/target/tag") else {
            ignored.push("manifest pushed by digest (no tag)".into());
            continue;
        };
        let (Some(repository), Some(registry)) = (s(e, "/target/repository"), s(e, "/request/host")) else {
            ignored.push("push without repository or host".into());
            continue;
        };
        out.push(InboundEvent::ImagePush(ImagePush {
            registry,
            repository,
            tag: Some(tag),
            digest: s(e, "/target/digest"),
        }));
    }
    if out.is_empty() {
        ignored.dedup();
        return Ok(Parsed::Ignore(if ignored.is_empty() {
            "empty envelope".into()
        } else {
            ignored.join(", ")
        }));
    }
    Ok(Parsed::Events(out))
}
