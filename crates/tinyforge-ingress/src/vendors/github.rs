//! GitHub: push (branch or tag), create (tag), ping, package (container images on GHCR).

use serde_json::Value;
use tinyforge_plugin::{GitPush, GitTag, ImagePush, InboundEvent};

use super::{changed_paths, is_zero, req, s, split_image_url};
use crate::{ParseError, Parsed};

pub fn parse(event: &str, p: &Value) -> Result<Parsed, ParseError> {
    match event {
        "ping" => Ok(Parsed::Ping),
        "push" => push(p),
        "create" => match s(p, "/ref_type").as_deref() {
            Some("tag") => Ok(Parsed::Events(vec![InboundEvent::GitTag(GitTag {
                repository: req(p, "/repository/full_name")?,
                clone_url: s(p, "/repository/clone_url"),
                tag: req(p, "/ref")?,
                commit: None,
            })])),
            other => Ok(Parsed::Ignore(format!(
                "create with ref_type={}: the push event carries the data",
                other.unwrap_or("?")
            ))),
        },
        "package" | "registry_package" => package(p),
        other => Ok(Parsed::Ignore(format!("GitHub event `{other}` does not deploy"))),
    }
}

fn push(p: &Value) -> Result<Parsed, ParseError> {
    let r#ref = req(p, "/ref")?;
    let after = s(p, "/after").unwrap_or_default();
    let deleted = p.get("deleted").and_then(Value::as_bool).unwrap_or(false) || is_zero(&after);
    let repository = req(p, "/repository/full_name")?;
    let clone_url = s(p, "/repository/clone_url");
    if let Some(tag) = r#ref.strip_prefix("refs/tags/") {
        if deleted {
            return Ok(Parsed::Ignore(format!("tag {tag} deleted")));
        }
        return Ok(Parsed::Events(vec![InboundEvent::GitTag(GitTag {
            repository,
            clone_url,
            tag: tag.to_owned(),
            commit: Some(after),
        })]));
    }
    let Some(branch) = r#ref.strip_prefix("refs/heads/") else {
        return Ok(Parsed::Ignore(format!("push to {ref} is neither a branch nor a tag", ref = r#ref)));
    };
    if deleted {
        return Ok(Parsed::Ignore(format!("branch {branch} deleted")));
    }
    Ok(Parsed::Events(vec![InboundEvent::GitPush(GitPush {
        repository,
        clone_url,
        branch: branch.to_owned(),
        commit: after,
        message: s(p, "/head_commit/message"),
        changed_paths: changed_paths(p.get("commits")),
    })]))
}

fn package(p: &Value) -> Result<Parsed, ParseError> {
    let pkg = p.get("package").or_else(|| p.get("registry_package")).unwrap_or(&Value::Null);
    // `package_type`/`ecosystem` are unreliable in GitHub's own examples; container metadata is not.
    let is_container = pkg.pointer("/package_version/container_metadata").is_some_and(Value::is_object)
        || s(pkg, "/package_type").is_some_and(|t| t.eq_ignore_ascii_case("container"));
    if !is_container {
        let ty = s(pkg, "/package_type").unwrap_or_else(|| "this".into()).to_ascii_lowercase();
        return Ok(Parsed::Ignore(format!("{ty} package, not a container image")));
    }
    let url = req(pkg, "/package_version/package_url")?;
    let (registry, repository) = split_image_url(&url)
        .ok_or_else(|| ParseError(format!("package_url `{url}` is not an image URL")))?;
    let digest = s(pkg, "/package_version/container_metadata/tag/digest")
        .or_else(|| s(pkg, "/package_version/version"));
    let tag = s(pkg, "/package_version/container_metadata/tag/name");
    Ok(Parsed::Events(vec![InboundEvent::ImagePush(ImagePush { registry, repository, tag, digest })]))
}
