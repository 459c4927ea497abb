//! AWS ECR "ECR Image Action" events delivered by an EventBridge API destination.

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent};

use super::{req, s};
use crate::{ParseError, Parsed};

pub fn parse(p: &Value) -> Result<Parsed, ParseError> {
    let action = s(p, "/detail/action-type").unwrap_or_default();
    let result = s(p, "/detail/result").unwrap_or_default();
    if action != "PUSH" || result != "SUCCESS" {
        return Ok(Parsed::Ignore(format!("ECR {action} {result} does not deploy")));
    }
    Ok(Parsed::Events(vec![InboundEvent::ImagePush(ImagePush {
        registry: format!("{}.dkr.ecr.{}.amazonaws.com", req(p, "/account")?, req(p, "/region")?),
        repository: req(p, "/detail/repository-name")?,
        tag: s(p, "/detail/image-tag"),
        digest: s(p, "/detail/image-digest"),
    })]))
}
