//! Cloudflare DNS over its REST API (v4): list the zone's A records by name, then create, update
//! or delete; a scoped API token as Bearer. The base URL is configurable (a local stand-in in
//! tests).

use std::net::Ipv4Addr;

use async_trait::async_trait;
use serde_json::{Value, json};
use tinyforge_plugin::ports::{Dns, DnsError};

/// Cloudflare's API.
pub const API: &str = "https://api.cloudflare.com/client/v4";

/// One Cloudflare zone.
pub struct Cloudflare {
    base: String,
    zone_id: String,
    token: String,
    ttl: u32,
    client: reqwest::Client,
}

impl Cloudflare {
    /// A provider for `zone_id` with an API token allowed `Zone.DNS:Edit`.
    pub fn new(base: &str, zone_id: &str, token: &str, ttl: u32) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            zone_id: zone_id.to_owned(),
            token: token.to_owned(),
            ttl,
            client: reqwest::Client::new(),
        }
    }

    fn err(name: &str, why: impl Into<String>) -> DnsError {
        DnsError { provider: "cloudflare", name: name.to_owned(), why: why.into() }
    }

    async fn call(&self, name: &str, req: reqwest::RequestBuilder) -> Result<Value, DnsError> {
        let resp = req.bearer_auth(&self.token).send().await.map_err(|e| Self::err(name, e.to_string()))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| Self::err(name, format!("{status}: {e}")))?;
        if !status.is_success() || body["success"] != Value::Bool(true) {
            let msg = body["errors"]
                .as_array()
                .and_then(|e| e.first())
                .and_then(|e| e["message"].as_str())
                .unwrap_or("");
            return Err(Self::err(name, format!("{status}: {msg}")));
        }
        Ok(body["result"].clone())
    }

    async fn find(&self, name: &str) -> Result<Option<String>, DnsError> {
        // `name` is a validated DNS name: nothing in it needs escaping.
        let url = format!("{}/zones/{}/dns_records?type=A&name={name}", self.base, self.zone_id);
        let found = self.call(name, self.client.get(url)).await?;
        Ok(found.as_array().and_then(|r| r.first()).and_then(|r| r["id"].as_str()).map(str::to_owned))
    }
}

#[async_trait]
impl Dns for Cloudflare {
    async fn upsert(&self, name: &str, ip: Ipv4Addr) -> Result<(), DnsError> {
        let body =
            json!({"type": "A", "name": name, "content": ip.to_string(), "ttl": self.ttl, "proxied": false});
        let records = format!("{}/zones/{}/dns_records", self.base, self.zone_id);
        match self.find(name).await? {
            Some(id) => self.call(name, self.client.put(format!("{records}/{id}")).json(&body)).await?,
            None => self.call(name, self.client.post(records).json(&body)).await?,
        };
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), DnsError> {
        if let Some(id) = self.find(name).await? {
            let url = format!("{}/zones/{}/dns_records/{id}", self.base, self.zone_id);
            self.call(name, self.client.delete(url)).await?;
        }
        Ok(())
    }
}
