//! The registry watcher: polls the registry's API (oci-client: anonymous, basic and bearer-token
//! flows) for the tag the policy selects and its digest; a change since the last poll becomes an
//! image push. The first poll only records what it sees.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};
use tinyforge_plugin::{ImagePush, InboundEvent, PluginError};

use super::{RegistryConfig, TagPolicy};

fn err(what: &str, e: impl std::fmt::Display) -> PluginError {
    PluginError::Port(format!("registry watcher: {what}: {e}"))
}

/// The newest tag among `tags` the policy allows: highest semver when they all parse, else the
/// last in lexical order.
fn newest<'a>(policy: &TagPolicy, tags: &'a [String]) -> Option<&'a String> {
    let fit: Vec<&String> = tags.iter().filter(|t| policy.allows(t)).collect();
    let versions: Option<Vec<(semver::Version, &String)>> =
        fit.iter().map(|t| semver::Version::parse(t.trim_start_matches('v')).ok().map(|v| (v, *t))).collect();
    match versions {
        Some(mut v) if !v.is_empty() => {
            v.sort();
            v.last().map(|(_, t)| *t)
        }
        _ => fit.into_iter().max(),
    }
}

pub async fn poll(c: &RegistryConfig, state: &Value) -> Result<(Vec<InboundEvent>, Value), PluginError> {
    let Some(w) = &c.watch else { return Ok((Vec::new(), state.clone())) };
    let registry = c.registry.clone().unwrap_or_default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new(ClientConfig {
        protocol: if w.insecure { ClientProtocol::Http } else { ClientProtocol::Https },
        ..ClientConfig::default()
    });
    let auth = match (&w.username, &w.password) {
        (Some(u), Some(p)) => RegistryAuth::Basic(u.clone(), p.0.clone()),
        _ => RegistryAuth::Anonymous,
    };
    let repo = format!("{registry}/{}", c.repository.to_ascii_lowercase());
    let tag = match &c.tags {
        TagPolicy::Exact { tag } => tag.clone(),
        policy => {
            let r: Reference = repo.parse().map_err(|e| err("reference", e))?;
            let tags = client.list_tags(&r, &auth, None, None).await.map_err(|e| err("listing tags", e))?;
            match newest(policy, &tags.tags) {
                Some(t) => t.clone(),
                None => return Ok((Vec::new(), state.clone())),
            }
        }
    };
    let r: Reference = format!("{repo}:{tag}").parse().map_err(|e| err("reference", e))?;
    let digest = client.fetch_manifest_digest(&r, &auth).await.map_err(|e| err("reading the digest", e))?;
    let seen = json!({"tag": tag, "digest": digest});
    if state.is_null() || *state == seen {
        return Ok((Vec::new(), seen));
    }
    let push = ImagePush { registry, repository: c.repository.clone(), tag: Some(tag), digest: Some(digest) };
    Ok((vec![InboundEvent::ImagePush(push)], seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_fitting_tag() {
        let tags: Vec<String> =
            ["1.2.0", "1.10.0", "1.9.3", "2.0.0", "latest"].iter().map(|s| s.to_string()).collect();
        assert_eq!(newest(&TagPolicy::Semver { range: "^1".into() }, &tags).unwrap(), "1.10.0");
        assert_eq!(newest(&TagPolicy::Glob { pattern: "1.9*".into() }, &tags).unwrap(), "1.9.3");
        assert_eq!(newest(&TagPolicy::Exact { tag: "latest".into() }, &tags).unwrap(), "latest");
        assert!(newest(&TagPolicy::Semver { range: "^3".into() }, &tags).is_none());
    }
}
