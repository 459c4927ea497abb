//! tinyforge's generic JSON for CI pipelines and scripts (docs/webhooks.md):
//! `{"event":"manual","ref"?,"sha"?,"actor"?}` or
//! `{"event":"image-push","image":{"registry","repository","tag"?,"digest"?}}`.

use serde_json::Value;
use tinyforge_plugin::{ImagePush, InboundEvent, Manual};

use super::{req, s};
use crate::{ParseError, Parsed};

pub fn parse(p: &Value) -> Result<Parsed, ParseError> {
    match s(p, "/event").as_deref() {
        Some("manual") => {
            let r#ref = s(p, "/ref")
                .map(|r| r.trim_start_matches("refs/heads/").trim_start_matches("refs/tags/").to_owned());
            Ok(Parsed::Events(vec![InboundEvent::Manual(Manual {
                actor: s(p, "/actor").unwrap_or_else(|| "webhook".into()),
                reference: s(p, "/sha").or(r#ref),
            })]))
        }
        Some("image-push") => Ok(Parsed::Events(vec![InboundEvent::ImagePush(ImagePush {
            registry: req(p, "/image/registry")?,
            repository: req(p, "/image/repository")?,
            tag: s(p, "/image/tag"),
            digest: s(p, "/image/digest"),
        })])),
        Some(other) => {
            Err(ParseError(format!("unknown generic event `{other}`: use `manual` or `image-push`")))
        }
        None => Err(ParseError(
            "no vendor recognised and no `event` field (generic format: `manual` or `image-push`)".into(),
        )),
    }
}
