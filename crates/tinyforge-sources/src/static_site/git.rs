//! Git through the `git` CLI, argv only: a bare mirror per workload, fetched with the token in an
//! `http.extraHeader` passed by environment (never in the URL, argv, logs or `.git/config`), and
//! a commit unpacked into a release directory with `git archive` + `tar`.

use std::path::Path;

use tinyforge_plugin::PluginError;
use tokio::process::Command;

fn fail(what: &str, out: &std::process::Output) -> PluginError {
    let err = String::from_utf8_lossy(&out.stderr);
    PluginError::Port(format!("{what}: {}", err.lines().last().unwrap_or("failed").trim()))
}

async fn run(mut cmd: Command, what: &str) -> Result<String, PluginError> {
    cmd.env("GIT_TERMINAL_PROMPT", "0").kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| PluginError::Port(format!("{what}: {e}")))?;
    if !out.status.success() {
        return Err(fail(what, &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("--git-dir").arg(repo);
    c
}

/// Fetches every branch and tag of `url` into the bare mirror `repo` (created when missing).
pub async fn fetch(repo: &Path, url: &str, token: Option<&str>) -> Result<(), PluginError> {
    if !repo.join("HEAD").exists() {
        tokio::fs::create_dir_all(repo).await.map_err(|e| PluginError::Port(e.to_string()))?;
        let mut init = Command::new("git");
        init.args(["init", "--quiet", "--bare"]).arg(repo);
        run(init, "git init").await?;
    }
    let mut f = git(repo);
    f.args([
        "fetch",
        "--quiet",
        "--force",
        "--prune",
        "--no-tags",
        "--",
        url,
        "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*",
    ]);
    if let Some(t) = token {
        f.env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env("GIT_CONFIG_VALUE_0", format!("Authorization: Bearer {t}"));
    }
    run(f, "git fetch").await.map(|_| ())
}

/// The commit `rev` (branch, tag or sha) names in `repo`.
pub async fn resolve(repo: &Path, rev: &str) -> Result<String, PluginError> {
    let mut c = git(repo);
    c.args(["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")]);
    run(c, &format!("`{rev}` is not a branch, tag or commit of the repository")).await
}

/// Unpacks `commit` into `dest` (created; must not exist).
pub async fn unpack(repo: &Path, commit: &str, dest: &Path) -> Result<(), PluginError> {
    let port = |e: std::io::Error| PluginError::Port(format!("unpacking: {e}"));
    tokio::fs::create_dir_all(dest).await.map_err(port)?;
    let tar = dest.with_extension("tar");
    let mut a = git(repo);
    a.args(["archive", "--format=tar", "-o"]).arg(&tar).arg(commit);
    run(a, "git archive").await?;
    let mut x = Command::new("tar");
    x.arg("-xf").arg(&tar).arg("-C").arg(dest);
    let r = run(x, "tar").await;
    let _ = tokio::fs::remove_file(&tar).await;
    r.map(|_| ())
}

/// The content of `path` at `commit`.
pub async fn read_file(repo: &Path, commit: &str, path: &str) -> Result<String, PluginError> {
    let mut c = git(repo);
    c.args(["show", &format!("{commit}:{}", path.trim_start_matches("./"))]);
    run(c, &format!("reading `{path}` at {commit}")).await
}
