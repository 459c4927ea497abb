//! Test support shared by tinyforge's test suites (a dev-dependency only): FROM-scratch test
//! images built locally, Debian's `docker-registry` on loopback, and free ports that no parallel
//! test's outgoing connection can steal.

pub mod images;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port below the ephemeral range (32768+), so that no outgoing connection of a
/// parallel test can take it before the server under test binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(7919)
        ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    loop {
        let n = seed.wrapping_add(NEXT.fetch_add(7, Ordering::Relaxed).wrapping_mul(104_729));
        let port = 20_000 + (n % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs `cmd`, panicking with its stderr when it fails; returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Debian's `docker-registry` on a free loopback port; killed (storage removed) on drop.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

impl Registry {
    /// Starts a registry; with `auth = Some((user, pass))` it requires htpasswd login; with
    /// `notify = Some((url, token))` it sends its notifications there with `Authorization: Bearer`.
    pub fn start(auth: Option<(&str, &str)>, notify: Option<(&str, &str)>) -> Self {
        Self::start_at(&format!("127.0.0.1:{}", free_port()), auth, notify)
    }

    /// [`Registry::start`] on a given `addr` (when it must be known before the registry runs).
    pub fn start_at(addr: &str, auth: Option<(&str, &str)>, notify: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = addr.to_owned();
        let root = dir.path().display().to_string();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\nhttp:\n  addr: {addr}\n"
        );
        if let Some((user, pass)) = auth {
            let htpasswd = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
            std::fs::write(dir.path().join("htpasswd"), htpasswd + "\n").unwrap();
            config += &format!("auth:\n  htpasswd:\n    realm: tinyforge-test\n    path: {root}/htpasswd\n");
        }
        if let Some((url, token)) = notify {
            config += &format!(
                "notifications:\n  endpoints:\n    - name: tinyforge\n      url: {url}\n      headers:\n        Authorization: [\"Bearer {token}\"]\n      timeout: 5s\n      threshold: 3\n      backoff: 1s\n"
            );
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package docker-registry) is required");
        let t = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(t.elapsed() < Duration::from_secs(10), "registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr, _dir: dir }
    }
}
