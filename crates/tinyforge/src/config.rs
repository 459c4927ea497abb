//! `tinyforge serve` settings: flags, `TINYFORGE_*` environment variables, and an optional TOML
//! file, in that order of precedence. These names are a stable interface (see the README).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

/// Flags of `tinyforge serve` (each also read from its environment variable).
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Directory for the database, keys and files (created if missing).
    #[arg(long, env = "TINYFORGE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the API and UI.
    #[arg(long, env = "TINYFORGE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Address of the public HTTP listener (the edge proxy).
    #[arg(long, env = "TINYFORGE_HTTP")]
    pub http: Option<SocketAddr>,
    /// Address of the public HTTPS listener (the edge proxy with automatic certificates).
    #[arg(long, env = "TINYFORGE_HTTPS")]
    pub https: Option<SocketAddr>,
    /// ACME directory URL for automatic certificates (default: Let's Encrypt).
    #[arg(long, env = "TINYFORGE_ACME_DIRECTORY")]
    pub acme_directory: Option<String>,
    /// Contact e-mail for the ACME account.
    #[arg(long, env = "TINYFORGE_ACME_EMAIL")]
    pub acme_email: Option<String>,
    /// PEM file of CA roots to trust for the ACME directory (a private or test CA).
    #[arg(long, env = "TINYFORGE_ACME_CA_ROOTS")]
    pub acme_ca_roots: Option<PathBuf>,
    /// The public IPv4 address DNS records of faces point at.
    #[arg(long, env = "TINYFORGE_PUBLIC_IP")]
    pub public_ip: Option<std::net::Ipv4Addr>,
    /// DNS provider for faces: `none` (wildcard DNS), `rfc2136` or `cloudflare`.
    #[arg(long, env = "TINYFORGE_DNS_PROVIDER")]
    pub dns_provider: Option<String>,
    /// RFC 2136: the primary server (`ip:port`); the TSIG secret comes from `TINYFORGE_DNS_TSIG_SECRET`.
    #[arg(long, env = "TINYFORGE_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,
    /// RFC 2136: the zone to update, e.g. `example.com`.
    #[arg(long, env = "TINYFORGE_DNS_ZONE")]
    pub dns_zone: Option<String>,
    /// RFC 2136: the TSIG key name (HMAC-SHA256).
    #[arg(long, env = "TINYFORGE_DNS_TSIG_NAME")]
    pub dns_tsig_name: Option<String>,
    /// Cloudflare: the zone id; the API token comes from `TINYFORGE_CLOUDFLARE_TOKEN`.
    #[arg(long, env = "TINYFORGE_CLOUDFLARE_ZONE_ID")]
    pub cloudflare_zone_id: Option<String>,
    /// Cloudflare: API base URL.
    #[arg(long, env = "TINYFORGE_CLOUDFLARE_API")]
    pub cloudflare_api: Option<String>,
    /// Log format: `pretty` or `json`.
    #[arg(long, env = "TINYFORGE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds between periodic reconcile passes.
    #[arg(long, env = "TINYFORGE_RECONCILE_INTERVAL")]
    pub reconcile_interval: Option<u64>,
    /// Deploys of different workloads that may run at once.
    #[arg(long, env = "TINYFORGE_MAX_PARALLEL_DEPLOYS")]
    pub max_parallel_deploys: Option<usize>,
    /// Largest webhook body accepted, in bytes (larger: 413).
    #[arg(long, env = "TINYFORGE_WEBHOOK_MAX_BODY")]
    pub webhook_max_body: Option<usize>,
    /// Also serve the web UI and API through the edge at this host, over HTTPS with an automatic
    /// certificate (HTTP redirects to it), e.g. `deploy.example.com`.
    #[arg(long, env = "TINYFORGE_UI_HOST")]
    pub ui_host: Option<String>,
    /// Optional TOML file with the same keys (snake_case).
    #[arg(long, env = "TINYFORGE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The same settings as a TOML file may give them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    acme_directory: Option<String>,
    acme_email: Option<String>,
    acme_ca_roots: Option<PathBuf>,
    log_format: Option<String>,
    public_ip: Option<std::net::Ipv4Addr>,
    dns_provider: Option<String>,
    dns_server: Option<SocketAddr>,
    dns_zone: Option<String>,
    dns_tsig_name: Option<String>,
    cloudflare_zone_id: Option<String>,
    cloudflare_api: Option<String>,
    reconcile_interval: Option<u64>,
    max_parallel_deploys: Option<usize>,
    webhook_max_body: Option<usize>,
    ui_host: Option<String>,
}

/// Which DNS provider, with its non-secret settings (secrets come from the environment only).
#[derive(Debug, Clone)]
pub enum DnsSettings {
    /// Wildcard DNS: nothing to do.
    None,
    /// RFC 2136 with TSIG.
    Rfc2136 { server: SocketAddr, zone: String, key_name: String },
    /// Cloudflare.
    Cloudflare { zone_id: String, api: Option<String> },
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub acme_directory: String,
    pub acme_email: Option<String>,
    pub acme_ca_roots: Option<PathBuf>,
    pub json_logs: bool,
    pub public_ip: Option<std::net::Ipv4Addr>,
    pub dns: DnsSettings,
    pub reconcile_interval: u64,
    pub max_parallel_deploys: usize,
    pub webhook_max_body: usize,
    pub ui_host: Option<String>,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

impl ServeArgs {
    /// Flags/env over file over defaults.
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let log_format = self.log_format.or(file.log_format).unwrap_or_else(|| "pretty".into());
        anyhow::ensure!(
            log_format == "pretty" || log_format == "json",
            "log format must be `pretty` or `json`, not `{log_format}`"
        );
        Ok(Settings {
            data_dir: self.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("tinyforge-data")),
            listen: self.listen.or(file.listen).unwrap_or(([127, 0, 0, 1], 8080).into()),
            http: self.http.or(file.http).unwrap_or(([0, 0, 0, 0], 80).into()),
            https: self.https.or(file.https).unwrap_or(([0, 0, 0, 0], 443).into()),
            acme_directory: self
                .acme_directory
                .or(file.acme_directory)
                .unwrap_or_else(|| tinyforge_edge::acme::LETS_ENCRYPT.to_owned()),
            acme_email: self.acme_email.or(file.acme_email),
            acme_ca_roots: self.acme_ca_roots.or(file.acme_ca_roots),
            json_logs: log_format == "json",
            public_ip: self.public_ip.or(file.public_ip),
            dns: match self.dns_provider.or(file.dns_provider).as_deref().unwrap_or("none") {
                "none" => DnsSettings::None,
                "rfc2136" => DnsSettings::Rfc2136 {
                    server: self
                        .dns_server
                        .or(file.dns_server)
                        .context("--dns-server is required for rfc2136")?,
                    zone: self.dns_zone.or(file.dns_zone).context("--dns-zone is required for rfc2136")?,
                    key_name: self
                        .dns_tsig_name
                        .or(file.dns_tsig_name)
                        .context("--dns-tsig-name is required for rfc2136")?,
                },
                "cloudflare" => DnsSettings::Cloudflare {
                    zone_id: self
                        .cloudflare_zone_id
                        .or(file.cloudflare_zone_id)
                        .context("--cloudflare-zone-id is required for cloudflare")?,
                    api: self.cloudflare_api.or(file.cloudflare_api),
                },
                other => {
                    anyhow::bail!("DNS provider must be `none`, `rfc2136` or `cloudflare`, not `{other}`")
                }
            },
            reconcile_interval: self.reconcile_interval.or(file.reconcile_interval).unwrap_or(300).max(1),
            max_parallel_deploys: self.max_parallel_deploys.or(file.max_parallel_deploys).unwrap_or(4).max(1),
            webhook_max_body: self.webhook_max_body.or(file.webhook_max_body).unwrap_or(5 << 20),
            ui_host: self.ui_host.or(file.ui_host).map(|h| h.to_ascii_lowercase()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tf.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9999\"\nhttp = \"127.0.0.1:8081\"\nlog_format = \"json\"\n")
            .unwrap();
        let s = ServeArgs {
            config: Some(f.clone()),
            http: Some("127.0.0.1:7000".parse().unwrap()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(s.http, "127.0.0.1:7000".parse().unwrap());
        assert!(s.json_logs);
        assert_eq!(s.reconcile_interval, 300);
        std::fs::write(&f, "lissen = 1\n").unwrap();
        let e = ServeArgs { config: Some(f), ..Default::default() }.resolve().unwrap_err();
        assert!(format!("{e:#}").contains("unknown field `lissen`"), "{e:#}");
    }
}
