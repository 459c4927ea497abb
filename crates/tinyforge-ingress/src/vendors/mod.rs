//! One module per vendor: payload → [`Parsed`].

mod bitbucket;
mod distribution;
mod dockerhub;
mod ecr;
mod generic;
mod gitea;
mod github;
mod gitlab;
mod harbor;
mod quay;

use serde_json::Value;

use crate::{Decoded, ParseError, Parsed, Vendor};

pub fn normalise(d: &Decoded) -> Result<Parsed, ParseError> {
    let event = d.event.as_deref().unwrap_or("");
    let p = &d.payload;
    match d.vendor {
        Vendor::GitHub => github::parse(event, p),
        Vendor::Gitea | Vendor::Forgejo | Vendor::Gogs => gitea::parse(event, p),
        Vendor::GitLab => gitlab::parse(event, p),
        Vendor::Bitbucket => bitbucket::parse(event, p),
        Vendor::Distribution => distribution::parse(p),
        Vendor::Harbor => harbor::parse_default(p),
        Vendor::HarborCloudEvents => harbor::parse_cloudevents(p),
        Vendor::DockerHub => dockerhub::parse(p),
        Vendor::Quay => quay::parse(p),
        Vendor::Ecr => ecr::parse(p),
        Vendor::Generic => generic::parse(p),
    }
}

/// The string at JSON pointer `ptr`, if non-empty.
pub(crate) fn s(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).filter(|x| !x.is_empty()).map(str::to_owned)
}

/// The string at `ptr`, or a 400 naming what is missing.
pub(crate) fn req(v: &Value, ptr: &str) -> Result<String, ParseError> {
    s(v, ptr).ok_or_else(|| {
        ParseError(format!("the payload has no `{}`", ptr.trim_start_matches('/').replace('/', ".")))
    })
}

/// A git object id of zeros (what vendors send for a deleted ref).
pub(crate) fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Files touched by `commits[]` (added, modified, removed), deduplicated, in order.
pub(crate) fn changed_paths(commits: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in commits.and_then(Value::as_array).into_iter().flatten() {
        for k in ["added", "modified", "removed"] {
            for f in c.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !out.iter().any(|x| x == f) {
                    out.push(f.to_owned());
                }
            }
        }
    }
    out
}

/// `host/path/repo[:tag]` → (host, lower-cased path), as in registry resource URLs.
pub(crate) fn split_image_url(url: &str) -> Option<(String, String)> {
    let url = url.split("://").last()?;
    let (host, rest) = url.split_once('/')?;
    let repo = rest.split('@').next()?;
    let repo = match repo.rfind(':') {
        Some(i) => &repo[..i],
        None => repo,
    };
    Some((host.to_ascii_lowercase(), repo.to_ascii_lowercase()))
}
