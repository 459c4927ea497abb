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
    // Test processes run in parallel and several build the same tag: build once per content, or
    // a rebuild re-points the tag under a test that already deployed it.
    let key = format!("{version}/{behaviour:?}");
    let dockerfile = format!("{dockerfile}LABEL tf-test.key=\"{key}\"\n");
    write(d, "Dockerfile", dockerfile.as_bytes())?;
    let _lock = build_lock()?;
    let current = Command::new("docker")
        .args(["image", "inspect", "-f", "{{index .Config.Labels \"tf-test.key\"}}", tag])
        .output()
        .map_err(|e| format!("docker: {e}"))?;
    if current.status.success() && String::from_utf8_lossy(&current.stdout).trim() == key {
        return Ok(());
    }
    docker_build(tag, d)
}

/// Serialises image builds across test processes (an exclusive lock on a file in the temp dir).
fn build_lock() -> Result<std::fs::File, String> {
    let path = std::env::temp_dir().join("tinyforge-testkit-images.lock");
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.lock().map_err(|e| format!("locking {}: {e}", path.display()))?;
    Ok(f)
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

/// The shared libraries `binary` links (from `ldd`), dynamic loader included.
fn libraries(binary: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let out = Command::new("ldd").arg(binary).output().map_err(|e| format!("ldd: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')).map(std::path::PathBuf::from))
        .collect())
}

/// Builds `tag` FROM scratch with `binary` at `at`, the libraries it links, `files`
/// (path → content), empty `dirs`, `env` and `cmd`.
pub fn build_with_binary(
    tag: &str,
    binary: &Path,
    at: &str,
    files: &[(&str, &[u8])],
    dirs: &[&str],
    env: &[(&str, &str)],
    cmd: &[&str],
) -> Result<(), String> {
    let ctx = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = ctx.path().join("root");
    let copy = |from: &Path, to: &str| -> Result<(), String> {
        let bytes = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
        write(&root, to.trim_start_matches('/'), &bytes)
    };
    copy(binary, at)?;
    for lib in libraries(binary)? {
        copy(&lib, &lib.display().to_string())?;
    }
    for (path, content) in files {
        write(&root, path.trim_start_matches('/'), content)?;
    }
    for d in dirs {
        std::fs::create_dir_all(root.join(d.trim_start_matches('/'))).map_err(|e| e.to_string())?;
    }
    let env: String = env.iter().map(|(k, v)| format!("ENV {k}={v}\n")).collect();
    let cmd = cmd.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ");
    write(ctx.path(), "Dockerfile", format!("FROM scratch\nCOPY root/ /\n{env}CMD [{cmd}]\n").as_bytes())?;
    docker_build(tag, ctx.path())
}

/// An nginx image from Debian's `nginx` binary: serves `/usr/share/nginx/html` on port 80.
pub fn build_nginx(tag: &str) -> Result<(), String> {
    let conf = b"user root;\ndaemon off;\npid /tmp/nginx.pid;\nerror_log stderr;\nevents { worker_connections 64; }\n\
http {\n  access_log off;\n  client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fastcgi;\n  \
uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;\n  types { text/html html; text/css css; application/javascript js; }\n  \
server { listen 80; root /usr/share/nginx/html; index index.html; }\n}\n";
    build_with_binary(
        tag,
        Path::new("/usr/sbin/nginx"),
        "/usr/sbin/nginx",
        &[
            ("/etc/nginx/nginx.conf", conf),
            ("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"),
            ("/etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
        ],
        &["/tmp", "/var/log/nginx", "/var/lib/nginx", "/usr/share/nginx/html"],
        &[],
        &["/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"],
    )
}

/// A Deno image from the PyPI `deno` wheel (downloaded once into the cargo target dir).
pub fn build_deno(tag: &str) -> Result<(), String> {
    let cache = std::env::temp_dir().join("tinyforge-testkit-deno");
    let binary = cache.join("deno");
    if !binary.exists() {
        std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
        let out = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "-q", "-d"])
            .arg(&cache)
            .arg("deno")
            .output()
            .map_err(|e| format!("pip: {e}"))?;
        if !out.status.success() {
            return Err(format!("pip download deno: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let wheel = std::fs::read_dir(&cache)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
            .ok_or("no deno wheel downloaded")?;
        let out = Command::new("python3")
            .args(["-c", "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);n=[i for i in z.namelist() if i.endswith('/scripts/deno')][0];open(sys.argv[2],'wb').write(z.read(n))"])
            .arg(&wheel)
            .arg(&binary)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("unpacking deno: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    build_with_binary(
        tag,
        &binary,
        "/usr/bin/deno",
        &[],
        &["/tmp"],
        &[("DENO_DIR", "/tmp/deno"), ("HOME", "/tmp")],
        &["/usr/bin/deno", "--version"],
    )
}
