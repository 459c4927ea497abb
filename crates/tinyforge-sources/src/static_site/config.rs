//! The `static` source's config. Every field's `///` text is the UI's help for it.

use std::path::{Component, Path};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tinyforge_plugin::ConfigError;
use tinyforge_plugin::schema::SecretString;

/// Serve a folder of a git repository as a static site, straight from tinyforge's edge: every
/// deploy fetches the commit, unpacks it into a new release and switches the faces atomically.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// Git repository URL (`https://`, `ssh://`, `git://` or `file://`).
    pub repository: String,
    /// Branch, tag or commit deployed when the triggering event names none.
    #[serde(default = "default_ref")]
    pub git_ref: String,
    /// Folder of the repository to serve, relative to its root (`.` = the root).
    #[serde(default = "default_folder")]
    pub folder: String,
    /// Access token for a private repository over HTTPS (sent as a header, never in the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretString>,
    /// Where the site answers.
    pub faces: Vec<StaticFace>,
    /// Answer `index.html` for paths that match no file (single-page apps).
    #[serde(default)]
    pub spa: bool,
    /// Releases kept on disk for instant rollback.
    #[serde(default = "default_keep")]
    pub keep_releases: usize,
    /// What serves the files: the edge itself, an nginx container, or a Deno program.
    #[serde(default)]
    pub runtime: Runtime,
    /// A build run in a container before the release goes live (the commit is mounted at `/src`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
}

/// What serves the site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Runtime {
    /// tinyforge's edge serves the files itself (ETag, ranges, precompressed files).
    #[default]
    Builtin,
    /// An nginx container with the folder mounted read-only at `/usr/share/nginx/html`.
    Nginx {
        /// nginx image.
        #[serde(default = "default_nginx")]
        image: String,
        /// Port nginx listens on in the container.
        #[serde(default = "default_nginx_port")]
        port: u16,
    },
    /// `deno serve` of an entry file of the folder (mounted read-only at `/app`); the workload's
    /// env, secrets included, is given to it at run time.
    Deno {
        /// Image with the `deno` binary.
        #[serde(default = "default_deno")]
        image: String,
        /// Entry file, relative to the folder.
        #[serde(default = "default_entry")]
        entry: String,
        /// Port `deno serve` listens on.
        #[serde(default = "default_deno_port")]
        port: u16,
    },
}

/// A build step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Image to build in (it must contain the tools the command needs).
    pub image: String,
    /// Command and arguments, run in `/src` (the repository root), e.g. `["npm", "run", "build"]`.
    pub command: Vec<String>,
}

/// A host (and optional path prefix) the site is served on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticFace {
    /// Public host name, e.g. `docs.example.com`.
    pub host: String,
    /// Serve the site under this path prefix (e.g. `/docs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Serve over HTTPS with an automatic certificate (and redirect HTTP to it).
    #[serde(default)]
    pub tls: bool,
}

fn default_ref() -> String {
    "main".into()
}
fn default_folder() -> String {
    ".".into()
}
fn default_keep() -> usize {
    5
}
fn default_nginx() -> String {
    "nginx:1.27".into()
}
fn default_nginx_port() -> u16 {
    80
}
fn default_deno() -> String {
    "denoland/deno:2".into()
}
fn default_entry() -> String {
    "main.ts".into()
}
fn default_deno_port() -> u16 {
    8000
}

impl StaticConfig {
    /// Semantic checks the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        const SCHEMES: [&str; 4] = ["https://", "ssh://", "git://", "file://"];
        if !SCHEMES.iter().any(|s| self.repository.starts_with(s))
            || self.repository.contains(char::is_whitespace)
        {
            return Err(ConfigError::new(
                "repository",
                "a git URL starting with https://, ssh://, git:// or file://",
            ));
        }
        if self.repository.split("://").nth(1).is_some_and(|rest| {
            rest.split('/').next().is_some_and(|h| h.contains('@') && self.repository.starts_with("https://"))
        }) {
            return Err(ConfigError::new("repository", "put credentials in `token`, not in the URL"));
        }
        if self.git_ref.starts_with('-')
            || self.git_ref.is_empty()
            || self.git_ref.contains(char::is_whitespace)
        {
            return Err(ConfigError::new("git_ref", "a branch, tag or commit name"));
        }
        let folder = Path::new(&self.folder);
        if folder.is_absolute()
            || folder.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(ConfigError::new("folder", "a folder inside the repository: relative, without `..`"));
        }
        if self.faces.is_empty() {
            return Err(ConfigError::new(
                "faces",
                "at least one face is needed for the site to be reachable",
            ));
        }
        for (i, f) in self.faces.iter().enumerate() {
            if f.host.is_empty() || !f.host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(ConfigError::new(
                    format!("faces[{i}].host"),
                    "must be a DNS name like `docs.example.com`",
                ));
            }
            if f.path_prefix.as_ref().is_some_and(|p| !p.starts_with('/')) {
                return Err(ConfigError::new(format!("faces[{i}].path_prefix"), "must start with `/`"));
            }
        }
        if let Runtime::Deno { entry, .. } = &self.runtime {
            let e = Path::new(entry);
            if e.is_absolute()
                || e.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return Err(ConfigError::new(
                    "runtime.entry",
                    "a file inside the folder: relative, without `..`",
                ));
            }
        }
        if self.build.as_ref().is_some_and(|b| b.command.is_empty()) {
            return Err(ConfigError::new("build.command", "the build needs a command"));
        }
        if self.keep_releases == 0 {
            return Err(ConfigError::new("keep_releases", "keep at least the serving release"));
        }
        Ok(())
    }
}
