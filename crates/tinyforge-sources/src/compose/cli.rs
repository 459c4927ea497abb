//! The compose CLI, argv only: `docker compose` (v2) when the plugin exists, else `docker-compose`
//! (v1). The workload's env reaches the stack as the process environment (for `${VAR}`
//! substitution), never on a command line or in a file.

use std::path::Path;

use tinyforge_plugin::{EnvVar, PluginError};
use tokio::process::Command;
use tokio::sync::OnceCell;

static PROGRAM: OnceCell<Vec<&'static str>> = OnceCell::const_new();

async fn program() -> &'static [&'static str] {
    PROGRAM
        .get_or_init(|| async {
            let v2 = Command::new("docker").args(["compose", "version"]).output().await;
            if v2.is_ok_and(|o| o.status.success()) {
                vec!["docker", "compose"]
            } else {
                vec!["docker-compose"]
            }
        })
        .await
}

/// Runs `compose -p project -f file <args>` in `dir`.
pub async fn run(dir: &Path, project: &str, env: &[EnvVar], args: &[&str]) -> Result<(), PluginError> {
    let prog = program().await;
    let mut cmd = Command::new(prog[0]);
    cmd.args(&prog[1..])
        .args(["-p", project, "-f", "docker-compose.yml"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .kill_on_drop(true);
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        cmd.env("DOCKER_HOST", host);
    }
    for e in env {
        cmd.env(&e.key, &e.value);
    }
    let out = cmd.output().await.map_err(|e| PluginError::Port(format!("{}: {e}", prog.join(" "))))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).rev().take(3).collect();
        Err(PluginError::Port(format!(
            "compose {}: {}",
            args.first().unwrap_or(&""),
            last.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )))
    }
}
