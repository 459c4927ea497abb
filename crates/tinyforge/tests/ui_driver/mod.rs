//! Driving Chromium for the UI tests: chromedriver, waits that survive page loads, screenshots
//! (each first checks that every input has a label), a local notification receiver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// chromedriver on a free port, killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start() -> Self {
        let port = tinyforge_testkit::free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }

    /// A fresh browser; `app_host` resolves to loopback; `js` off disables JavaScript.
    pub async fn browser(&self, profile: &std::path::Path, app_host: &str, js: bool) -> Client {
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,1100".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--host-resolver-rules=MAP {app_host} 127.0.0.1, MAP {} 127.0.0.1", super::UI_HOST),
            // The edge answers a TLS host it has no certificate for yet with a self-signed one.
            "--ignore-certificate-errors".into(),
        ];
        // JavaScript off for the pages (WebDriver's own scripts still run).
        let prefs =
            if js { json!({}) } else { json!({"profile.managed_default_content_settings.javascript": 2}) };
        let caps = json!({"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args, "prefs": prefs}});
        let Value::Object(caps) = caps else { unreachable!() };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Saves a screenshot and prints its path; first checks that every input on the page has a label.
pub async fn shot(c: &Client, name: &str) {
    let unlabelled = c
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter((e) => !e.labels || e.labels.length === 0).map((e) => e.name)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unlabelled, json!([]), "inputs without a label on {name}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, c.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", path.display());
}

/// The element `css` selects, waiting up to 15 s for it (pages load after clicks). On failure
/// the message says which page the browser shows instead.
pub async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let page = c
                .execute("return document.title + ' | ' + document.body.innerText.slice(0, 300)", vec![])
                .await;
            panic!("{css}: {e}; the browser is at {url}: {page:?}")
        }
    }
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let el = find(c, css).await;
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Clicks what `css` selects and, when that loads a new page, waits until it has loaded (a form's
/// submission is still running when the click returns).
pub async fn click(c: &Client, css: &str) {
    let el = find(c, css).await;
    c.execute("window.__tf_before_click = true", vec![]).await.unwrap();
    el.click().await.unwrap();
    let t = Instant::now();
    let loaded = "return window.__tf_before_click === undefined && document.readyState === 'complete'";
    while t.elapsed() < Duration::from_secs(10) {
        if c.execute(loaded, vec![]).await.is_ok_and(|v| v == json!(true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks something that does not load a page (a `<summary>`).
pub async fn toggle(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap();
}

pub async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.unwrap()
}

pub async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Waits up to 15 s for the browser to be at `want` (a click's navigation can still be running).
pub async fn at(c: &Client, want: &str) {
    let t = Instant::now();
    while path(c).await != want {
        if t.elapsed() > Duration::from_secs(15) {
            let page = c.execute("return document.body.innerText.slice(0, 300)", vec![]).await;
            panic!("at {} instead of {want}: {page:?}", path(c).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether Chromium shows its own network-error page instead of ours: it aborts a navigation
/// in flight with ERR_NETWORK_CHANGED when Docker adds or removes a container's interfaces.
pub async fn net_error(c: &Client) -> bool {
    let probe = "return document.getElementById('main-frame-error') !== null";
    c.execute(probe, vec![]).await.is_ok_and(|v| v == json!(true))
}

/// Signs in (again, if a network change aborted the attempt).
pub async fn sign_in(c: &Client, base: &str, password: &str) {
    for _ in 0..3 {
        c.goto(&format!("{base}/login")).await.unwrap();
        fill(c, "#password", password).await;
        click(c, "button[type=submit]").await;
        if !net_error(c).await {
            return;
        }
    }
    panic!("signing in kept failing with a network error");
}

/// Reloads (no JavaScript) until the newest deployment shows `status`.
pub async fn reload_until(c: &Client, status: &str) {
    let t = Instant::now();
    loop {
        // A reload during a container start can land on Chromium's network-error page: reload again.
        let now = match c.find(Locator::Css("#history tbody tr:first-child .badge")).await {
            Ok(badge) => badge.text().await.unwrap_or_default(),
            Err(_) => String::from("(page not loaded)"),
        };
        if now == status {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "deployment stuck at {now}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.refresh().await.unwrap();
    }
}

/// A notification receiver on loopback: answers 200 to every POST, counts them.
pub fn receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as many body bytes as it declares.
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_lowercase();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, count)
}
