//! A spawned `tinyforge serve` and a tiny HTTP/1.1 client, shared by the binary's tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free loopback address (see `tinyforge_testkit::free_port`).
pub fn free_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], tinyforge_testkit::free_port()))
}

/// One HTTP/1.1 request; returns status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out.split_once("\r\n\r\n").map(|x| x.1.to_owned()).unwrap_or_default())
}

pub struct Server {
    pub child: Child,
    pub api: SocketAddr,
    pub edge: SocketAddr,
    pub https: SocketAddr,
    pub dir: std::path::PathBuf,
    pub stdout: String,
}

impl Server {
    pub fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        // A port can still be taken between the check and the bind: then start again elsewhere.
        for _ in 0..5 {
            let (api, edge, https) = (free_port(), free_port(), free_port());
            let mut child = Command::new(env!("CARGO_BIN_EXE_tinyforge"))
                .args(["serve", "--data-dir"])
                .arg(dir)
                .args([
                    "--listen",
                    &api.to_string(),
                    "--http",
                    &edge.to_string(),
                    "--https",
                    &https.to_string(),
                ])
                .env("TINYFORGE_LOG", "warn")
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let t = Instant::now();
            loop {
                if TcpStream::connect(api).is_ok() {
                    return Self { child, api, edge, https, dir: dir.to_owned(), stdout: String::new() };
                }
                assert!(t.elapsed() < Duration::from_secs(30), "tinyforge did not start");
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("tinyforge exited at start five times (see its log above)");
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.join("admin.token")).unwrap().trim().to_owned()
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (s, b) = http(self.api, method, path, "api", Some(&self.token()), body.as_ref());
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    /// SIGTERM, then wait; returns whether it exited cleanly within 15 s.
    pub fn stop(&mut self) -> bool {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.child.stdout.take().unwrap().read_to_string(&mut self.stdout).unwrap();
                return st.success();
            }
            if t.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
