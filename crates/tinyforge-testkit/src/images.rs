//! Test images without a registry: `FROM scratch` + Debian's static busybox, built locally with
//! `docker build` (argv only). The app answers its version on `/`, `ok` on `/health`, and can be
//! built unhealthy (no `/health`) or slow to start.

use std::path::Path;
use std::process::Command;

/// What the test app does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Serves `/` and `/health` at once.
    Healthy,
    /// Serves `/` but `/health` is 404.
    Unhealthy,
    /// Starts serving after this many seconds.
    SlowStart(u32),
}

/// Where Debian's `busybox-static` puts its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Builds `tag` (e.g. `tf-test/app:v1`): busybox httpd on port 8080 answering `version`.
pub fn build_app(tag: &str, version: &str, behaviour: Behaviour) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let d = dir.path();
    let busybox =
        std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e} (apt-get install busybox-static)"))?;
    write(d, "busybox", &busybox)?;
    write(d, "www/index.html", format!("{version}\n").as_bytes())?;
    if behaviour != Behaviour::Unhealthy {
        write(d, "www/health", b"ok\n")?;
    }
    let delay = match behaviour {
        Behaviour::SlowStart(s) => s,
        _ => 0,
    };
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nEXPOSE 8080\n\
         CMD [\"/bin/busybox\", \"sh\", \"-c\", \"trap 'kill $p; exit 0' TERM; /bin/busybox sleep {delay}; \
         /bin/busybox httpd -f -v -p 8080 -h /www & p=$!; wait\"]\n"
    );
    write(d, "Dockerfile", dockerfile.as_bytes())?;
    docker_build(tag, d)
}

/// `docker build -t tag dir` (quiet).
pub fn docker_build(tag: &str, dir: &Path) -> Result<(), String> {
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(dir)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .map_err(|e| format!("docker: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("docker build {tag}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    Ok(())
}
