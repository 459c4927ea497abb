//! Quay `repo_push`: one image push per updated tag (no digest in the payload).

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent};

use super::{req, split_image_url};
use crate::{ParseError, Parsed};

pub fn parse(p: &Value) -> Result<Parsed, ParseError> {
    let url = req(p, "/docker_url")?;
    let (registry, repository) =
        split_image_url(&url).ok_or_else(|| ParseError(format!("docker_url `{url}` is not an image URL")))?;
    let tags: Vec<String> = p
        .get("updated_tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if tags.is_empty() {
        return Ok(Parsed::Ignore("no updated tags".into()));
    }
    Ok(Parsed::Events(
        tags.into_iter()
            .map(|t| {
                InboundEvent::ImagePush(ImagePush {
                    registry: registry.clone(),
                    repository: repository.clone(),
                    tag: Some(t),
                    digest: None,
                })
            })
            .collect(),
    ))
}
