//! Docker Hub push notifications (no digest in the payload).

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent};

use super::{req, s};
use crate::{ParseError, Parsed};

pub fn parse(p: &Value) -> Result<Parsed, ParseError> {
    Ok(Parsed::Events(vec![InboundEvent::ImagePush(ImagePush {
        registry: "docker.io".into(),
        repository: req(p, "/repository/repo_name")?,
        tag: s(p, "/push_data/tag"),
        digest: None,
    })]))
}
