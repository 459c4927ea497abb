//! Vendor detection, in the order of WEBHOOK-FORMATS.md §0 (Gitea-family senders also send
//! GitHub headers, so GitHub is tested after them).

use http::HeaderMap;
use serde_json::Value;

use crate::header;

/// Who sent a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Forgejo.
    Forgejo,
    /// Gitea.
    Gitea,
    /// Gogs.
    Gogs,
    /// GitLab.
    GitLab,
    /// Bitbucket Cloud.
    Bitbucket,
    /// GitHub / GHES.
    GitHub,
    /// CNCF distribution (registry:2/3, GitLab registry).
    Distribution,
    /// Harbor, CloudEvents format.
    HarborCloudEvents,
    /// Harbor, default format.
    Harbor,
    /// Docker Hub.
    DockerHub,
    /// Quay.
    Quay,
    /// AWS ECR through EventBridge.
    Ecr,
    /// tinyforge's generic JSON.
    Generic,
}

impl Vendor {
    /// Lower-case name for logs and the delivery log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Forgejo => "forgejo",
            Self::Gitea => "gitea",
            Self::Gogs => "gogs",
            Self::GitLab => "gitlab",
            Self::Bitbucket => "bitbucket",
            Self::GitHub => "github",
            Self::Distribution => "distribution",
            Self::HarborCloudEvents => "harbor-cloudevents",
            Self::Harbor => "harbor",
            Self::DockerHub => "dockerhub",
            Self::Quay => "quay",
            Self::Ecr => "ecr",
            Self::Generic => "generic",
        }
    }

    pub(crate) fn event_header(self) -> Option<&'static str> {
        Some(match self {
            Self::Forgejo => "x-forgejo-event",
            Self::Gitea => "x-gitea-event",
            Self::Gogs => "x-gogs-event",
            Self::GitLab => "x-gitlab-event",
            Self::Bitbucket => "x-event-key",
            Self::GitHub => "x-github-event",
            _ => return None,
        })
    }

    pub(crate) fn body_delivery_id(self, payload: &Value) -> Option<String> {
        let id = match self {
            Self::HarborCloudEvents | Self::Ecr => payload.get("id"),
            Self::Distribution => payload.pointer("/events/0/id"),
            _ => None,
        };
        id.and_then(Value::as_str).map(str::to_owned)
    }
}

/// Detects the vendor from headers and the decoded JSON payload.
pub fn detect(h: &HeaderMap, body: &Value) -> Vendor {
    let has = |n: &str| header(h, n).is_some();
    let ctype = header(h, "content-type").unwrap_or("");
    if has("x-forgejo-event") {
        return Vendor::Forgejo;
    }
    if has("x-gitea-event") {
        return Vendor::Gitea;
    }
    if has("x-gogs-event") {
        return Vendor::Gogs;
    }
    if has("x-gitlab-event") {
        return Vendor::GitLab;
    }
    if has("x-event-key") && header(h, "user-agent").is_some_and(|u| u.starts_with("Bitbucket-Webhooks/")) {
        return Vendor::Bitbucket;
    }
    if has("x-github-event") {
        return Vendor::GitHub;
    }
    let is_distribution_body = body
        .get("events")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .is_some_and(|e| e.get("action").is_some() && e.get("target").is_some());
    if ctype.starts_with("application/vnd.docker.distribution.events.") || is_distribution_body {
        return Vendor::Distribution;
    }
    let ty = body.get("type").and_then(Value::as_str);
    if ctype.starts_with("application/cloudevents+json") && ty.is_some_and(|t| t.starts_with("harbor.")) {
        return Vendor::HarborCloudEvents;
    }
    if ty.is_some() && body.pointer("/event_data/resources").is_some() {
        return Vendor::Harbor;
    }
    if body.get("callback_url").is_some() && body.get("push_data").is_some() {
        return Vendor::DockerHub;
    }
    if body.get("docker_url").is_some() && body.get("updated_tags").is_some() {
        return Vendor::Quay;
    }
    if body.get("source").and_then(Value::as_str) == Some("aws.ecr")
        && body.get("detail-type").and_then(Value::as_str) == Some("ECR Image Action")
    {
        return Vendor::Ecr;
    }
    Vendor::Generic
}
