//! The command-line client: `tinyforge <noun> <verb>` against a running tinyforge's API. The URL
//! and token come from flags, `TINYFORGE_URL` / `TINYFORGE_TOKEN`, or `~/.config/tinyforge/cli.toml`
//! (`url = "…"`, `token = "…"`). Errors are printed in plain words with the API's detail.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// Where the API is and how to present answers.
#[derive(Debug, Args)]
pub struct Client {
    /// API base URL.
    #[arg(long, env = "TINYFORGE_URL", global = true)]
    url: Option<String>,
    /// API token.
    #[arg(long, env = "TINYFORGE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// `text` (default) or `json`.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// Workloads.
#[derive(Debug, Subcommand)]
pub enum Workloads {
    /// List workloads.
    List,
    /// Show one workload (id or name).
    Get { workload: String },
    /// Create a workload from a TOML or JSON file (`name`, `source_kind`, `source_config`, `env`).
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Delete a workload (its containers and routes go first).
    Delete { workload: String },
    /// Deploy now; `--ref` picks a tag, digest or git ref.
    Deploy {
        workload: String,
        #[arg(long = "ref")]
        reference: Option<String>,
        /// Wait until the deployment ends.
        #[arg(long)]
        wait: bool,
    },
    /// Roll back to the previous successful deployment (or `--to` one).
    Rollback {
        workload: String,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        wait: bool,
    },
    /// Show the serving container's logs; `-f` follows.
    Logs {
        workload: String,
        #[arg(short, long)]
        follow: bool,
        #[arg(long, default_value_t = 200)]
        tail: u32,
    },
}

/// Triggers and bindings.
#[derive(Debug, Subcommand)]
pub enum Triggers {
    /// List triggers.
    List,
    /// Create a trigger from a TOML or JSON file (`name`, `kind`, `config`, `signing_secret`); prints
    /// its webhook URL and secret once.
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Bind a workload to a trigger, with an optional binding config (JSON).
    Bind {
        workload: String,
        trigger: String,
        #[arg(long)]
        config: Option<String>,
    },
    /// Remove a binding.
    Unbind { binding: String },
}

/// Webhook deliveries.
#[derive(Debug, Subcommand)]
pub enum Deliveries {
    /// A trigger's recent deliveries.
    List { trigger: String },
    /// Run a recorded delivery again.
    Replay { trigger: String, delivery: String },
}

#[derive(serde::Deserialize, Default)]
struct FileConfig {
    url: Option<String>,
    token: Option<String>,
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
    output: Output,
}

impl Client {
    fn connect(&self) -> anyhow::Result<Api> {
        let file: FileConfig = std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".config/tinyforge/cli.toml"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| toml::from_str(&t))
            .transpose()
            .context("~/.config/tinyforge/cli.toml")?
            .unwrap_or_default();
        let token =
            self.token.clone().or(file.token).context("no API token: set TINYFORGE_TOKEN or --token")?;
        let base = self.url.clone().or(file.url).unwrap_or_else(|| "http://127.0.0.1:8080".into());
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
            output: self.output,
        })
    }
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.with_context(|| format!("cannot reach tinyforge at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let detail = v["detail"].as_str().unwrap_or("");
            let field = v["field"].as_str().map(|f| format!(" (field `{f}`)")).unwrap_or_default();
            bail!("{detail}{field} [HTTP {}]", status.as_u16());
        }
        Ok(v)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// The id of the `what` (`workload`, `trigger`) listed at `path` whose id or name is `key`.
    async fn id_of(&self, path: &str, what: &str, key: &str) -> anyhow::Result<String> {
        let all = self.get(path).await?;
        all.as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == key || x["name"] == key)
            .and_then(|x| x["id"].as_str().map(str::to_owned))
            .with_context(|| format!("no {what} `{key}`"))
    }

    async fn workload_id(&self, key: &str) -> anyhow::Result<String> {
        self.id_of("/api/workloads", "workload", key).await
    }

    async fn trigger_id(&self, key: &str) -> anyhow::Result<String> {
        self.id_of("/api/triggers", "trigger", key).await
    }

    fn show(&self, v: &Value, text: impl Fn(&Value) -> String) {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
            Output::Text => println!("{}", text(v)),
        }
    }
}

fn read_file(path: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()));
    }
    let v: toml::Value = toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    Ok(serde_json::to_value(v)?)
}

fn table(rows: &Value, cols: &[(&str, &str)]) -> String {
    let mut out = cols.iter().map(|(h, _)| format!("{h:<24}")).collect::<String>().trim_end().to_owned();
    for r in rows.as_array().into_iter().flatten() {
        out.push('\n');
        let line: String = cols
            .iter()
            .map(|(_, ptr)| {
                let v = r.pointer(ptr).cloned().unwrap_or(Value::Null);
                let s = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| if v.is_null() { "-".into() } else { v.to_string() });
                format!("{s:<24}")
            })
            .collect();
        out.push_str(line.trim_end());
    }
    out
}

fn deployment_line(d: &Value) -> String {
    let err = d["error"].as_str().map(|e| format!(" — {e}")).unwrap_or_default();
    format!(
        "deployment {} {} {}{err}",
        d["id"].as_str().unwrap_or("?"),
        d["status"].as_str().unwrap_or("?"),
        d["version"].as_str().unwrap_or("")
    )
}

pub async fn workloads(c: &Client, cmd: Workloads) -> anyhow::Result<()> {
    let api = c.connect()?;
    match cmd {
        Workloads::List => {
            let v = api.get("/api/workloads").await?;
            api.show(&v, |v| {
                table(
                    v,
                    &[
                        ("NAME", "/name"),
                        ("KIND", "/source_kind"),
                        ("STATUS", "/status"),
                        ("VERSION", "/current_deployment/version"),
                    ],
                )
            });
        }
        Workloads::Get { workload } => {
            let id = api.workload_id(&workload).await?;
            let v = api.get(&format!("/api/workloads/{id}")).await?;
            api.show(&v, |v| serde_json::to_string_pretty(v).unwrap_or_default());
        }
        Workloads::Create { file } => {
            let v = api.post("/api/workloads", read_file(&file)?).await?;
            api.show(&v, |v| {
                format!(
                    "created workload {} ({})",
                    v["name"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("?")
                )
            });
        }
        Workloads::Delete { workload } => {
            let id = api.workload_id(&workload).await?;
            api.call(reqwest::Method::DELETE, &format!("/api/workloads/{id}"), None).await?;
            api.show(&json!({"deleted": id}), |_| format!("deleted {workload}"));
        }
        Workloads::Deploy { workload, reference, wait } => {
            let id = api.workload_id(&workload).await?;
            let v = api
                .post(&format!("/api/workloads/{id}/deploy?wait={wait}"), json!({"reference": reference}))
                .await?;
            api.show(&v, deployment_line);
            if v["status"] == "failed" {
                bail!("the deployment failed");
            }
        }
        Workloads::Rollback { workload, to, wait } => {
            let id = api.workload_id(&workload).await?;
            let v = api
                .post(&format!("/api/workloads/{id}/rollback?wait={wait}"), json!({"deployment_id": to}))
                .await?;
            api.show(&v, deployment_line);
        }
        Workloads::Logs { workload, follow, tail } => {
            let id = api.workload_id(&workload).await?;
            if !follow {
                let v = api.get(&format!("/api/workloads/{id}/logs?tail={tail}")).await?;
                api.show(&v, |v| {
                    v["lines"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                return Ok(());
            }
            let mut resp = api
                .http
                .get(format!("{}/api/workloads/{id}/logs?follow=true&tail={tail}", api.base))
                .bearer_auth(&api.token)
                .send()
                .await?;
            let mut buf = String::new();
            while let Some(chunk) = resp.chunk().await? {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(i) = buf.find('\n') {
                    let line: String = buf.drain(..=i).collect();
                    if let Some(data) = line.strip_prefix("data: ") {
                        println!("{}", data.trim_end());
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn triggers(c: &Client, cmd: Triggers) -> anyhow::Result<()> {
    let api = c.connect()?;
    match cmd {
        Triggers::List => {
            let v = api.get("/api/triggers").await?;
            api.show(&v, |v| {
                table(
                    v,
                    &[("NAME", "/name"), ("KIND", "/kind"), ("SIGNED", "/has_signing_secret"), ("ID", "/id")],
                )
            });
        }
        Triggers::Create { file } => {
            let v = api.post("/api/triggers", read_file(&file)?).await?;
            api.show(&v, |v| {
                format!(
                    "created trigger {}\nwebhook URL (shown once): {}{}",
                    v["name"].as_str().unwrap_or("?"),
                    api.base,
                    v["webhook_url"].as_str().unwrap_or("?")
                )
            });
        }
        Triggers::Bind { workload, trigger, config } => {
            let w = api.workload_id(&workload).await?;
            let t = api.trigger_id(&trigger).await?;
            let cfg: Value = match config {
                Some(c) => serde_json::from_str(&c).context("--config must be JSON")?,
                None => json!({}),
            };
            let v = api
                .post("/api/bindings", json!({"workload_id": w, "trigger_id": t, "binding_config": cfg}))
                .await?;
            api.show(&v, |v| format!("bound: binding {}", v["id"].as_str().unwrap_or("?")));
        }
        Triggers::Unbind { binding } => {
            api.call(reqwest::Method::DELETE, &format!("/api/bindings/{binding}"), None).await?;
            api.show(&json!({"unbound": binding}), |_| format!("removed binding {binding}"));
        }
    }
    Ok(())
}

pub async fn deliveries(c: &Client, cmd: Deliveries) -> anyhow::Result<()> {
    let api = c.connect()?;
    match cmd {
        Deliveries::List { trigger } => {
            let t = api.trigger_id(&trigger).await?;
            let v = api.get(&format!("/api/triggers/{t}/deliveries")).await?;
            api.show(&v, |v| {
                table(
                    v,
                    &[
                        ("RECEIVED", "/received_at"),
                        ("VENDOR", "/vendor"),
                        ("EVENT", "/event"),
                        ("VERDICT", "/verdict"),
                        ("ID", "/id"),
                    ],
                )
            });
        }
        Deliveries::Replay { trigger, delivery } => {
            let t = api.trigger_id(&trigger).await?;
            let v = api.post(&format!("/api/triggers/{t}/deliveries/{delivery}/replay"), json!({})).await?;
            api.show(&v, |v| format!("replayed: {} deployment(s) queued", v["queued"]));
        }
    }
    Ok(())
}
