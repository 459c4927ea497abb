//! The static source for real (S3, built-in runtime): a local bare repository over file://; a
//! GitHub-shaped push delivery to a git trigger redeploys the site at the pushed commit, served
//! by the edge; a commit without the folder fails and the previous release keeps serving;
//! rollback; a folder with `..` is refused.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{Server, http};
use serde_json::{Value, json};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=tinyforge-test", "-c", "user.email=test@tinyforge.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn commit(work: &Path, content: Option<&str>, message: &str) -> String {
    match content {
        Some(c) => {
            std::fs::create_dir_all(work.join("public")).unwrap();
            std::fs::write(work.join("public/index.html"), c).unwrap();
        }
        None => {
            let _ = std::fs::remove_dir_all(work.join("public"));
            std::fs::write(work.join("README"), message).unwrap();
        }
    }
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", message]);
    git(work, &["push", "-q", "origin", "main"]);
    git(work, &["rev-parse", "HEAD"])
}

/// A bare repository at `bare` (branch main) and a clone of it at `work`.
fn init_repo(tmp: &Path, bare: &Path, work: &Path) {
    std::fs::create_dir_all(work).unwrap();
    git(tmp, &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
    git(work, &["init", "-q", "-b", "main"]);
    git(work, &["remote", "add", "origin", &format!("file://{}", bare.display())]);
}

#[test]
fn git_push_redeploys_the_site() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("site.git");
    let work = tmp.path().join("work");
    init_repo(tmp.path(), &bare, &work);
    commit(&work, Some("<h1>site v1</h1>"), "v1");

    let srv = Server::start(&tmp.path().join("data"));
    let name = format!("site-{}", std::process::id());
    let host = format!("{name}.test");
    let config = |folder: &str| {
        json!({"name": name, "source_kind": "static", "source_config": {"repository": format!("file://{}", bare.display()),
            "git_ref": "main", "folder": folder, "faces": [{"host": host}]}})
    };
    let (s, e) = srv.call("POST", "/api/workloads", Some(config("../etc")));
    assert_eq!((s, e["field"].as_str()), (400, Some("source_config.folder")), "{e}");
    let (s, w) = srv.call("POST", "/api/workloads", Some(config("public")));
    assert_eq!(s, 201, "{w}");
    let wid = w["id"].as_str().unwrap().to_owned();
    let (_, d1) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!(d1["status"], "succeeded", "{d1}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None), (200, "<h1>site v1</h1>".into()));

    // A git trigger for the repository, and a push delivered the way GitHub sends it.
    let (_, t) = srv.call(
        "POST",
        "/api/triggers",
        Some(json!({"name": name, "kind": "git", "config": {"repository": "acme/site"}})),
    );
    assert_eq!(
        srv.call("POST", "/api/bindings", Some(json!({"workload_id": wid, "trigger_id": t["id"]}))).0,
        201
    );
    let sha = commit(&work, Some("<h1>site v2</h1>"), "v2");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/webhooks/github/push-branch-one-commit.json");
    let mut push: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    push["ref"] = "refs/heads/main".into();
    push["after"] = sha.clone().into();
    push["repository"]["full_name"] = "acme/site".into();
    push["head_commit"]["message"] = "v2".into();
    let t0 = Instant::now();
    let url = format!("{}?wait=true", t["webhook_url"].as_str().unwrap());
    let body = push.to_string();
    let mut s = std::net::TcpStream::connect(srv.api).unwrap();
    use std::io::{Read, Write};
    write!(s, "POST {url} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let answer: Value = serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(answer["outcomes"][0]["status"], "succeeded", "{answer}");
    assert_eq!(answer["outcomes"][0]["version"], sha.as_str());
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None), (200, "<h1>site v2</h1>".into()));
    println!("static: push delivery → new content served in {} ms", t0.elapsed().as_millis());

    // A commit without the folder fails; v2 keeps serving.
    commit(&work, None, "oops, removed the site");
    let (_, d3) = srv.call("POST", &format!("/api/workloads/{wid}/deploy?wait=true"), None);
    assert_eq!(d3["status"], "failed", "{d3}");
    assert!(d3["error"].as_str().unwrap().contains("does not exist"), "{d3}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).1, "<h1>site v2</h1>");

    // Rollback to v1 (its release is still on disk).
    let (_, rb) = srv.call("POST", &format!("/api/workloads/{wid}/rollback?wait=true"), None);
    assert_eq!(rb["status"], "succeeded", "{rb}");
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).1, "<h1>site v1</h1>");
    assert_eq!(srv.call("DELETE", &format!("/api/workloads/{wid}"), None).0, 204);
    assert_eq!(http(srv.edge, "GET", "/", &host, None, None).0, 404);
    assert!(!tmp.path().join("data/static").join(&wid).exists(), "teardown removes the releases");
}

#[test]
fn served_from_git_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("repos/site.git");
    let work = tmp.path().join("work");
    init_repo(tmp.path(), &bare, &work);
    let sha = commit(&work, Some("<h1>over git://</h1>"), "v1");
    let port = tinyforge_testkit::free_port();
    /// `git daemon` forks its server: it is stopped through its pid file, also on a failure.
    struct Daemon(std::path::PathBuf);
    impl Drop for Daemon {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(&self.0) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
    let pid_file = tmp.path().join("git-daemon.pid");
    let _daemon = Daemon(pid_file.clone());
    Command::new("git")
        .args([
            "daemon",
            "--detach",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
        ])
        .arg(format!("--pid-file={}", pid_file.display()))
        .arg(format!("--base-path={}", tmp.path().join("repos").display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "git daemon did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let srv = Server::start(&tmp.path().join("data"));
    let name = format!("gitd-{}", std::process::id());
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "static", "source_config": {
            "repository": format!("git://127.0.0.1:{port}/site.git"), "folder": "public", "faces": [{"host": format!("{name}.test")}]}})),
    );
    assert_eq!(s, 201, "{w}");
    let (_, d) =
        srv.call("POST", &format!("/api/workloads/{}/deploy?wait=true", w["id"].as_str().unwrap()), None);
    assert_eq!((d["status"].as_str(), d["version"].as_str()), (Some("succeeded"), Some(sha.as_str())), "{d}");
    assert_eq!(http(srv.edge, "GET", "/", &format!("{name}.test"), None, None).1, "<h1>over git://</h1>");
}

/// A repository with `files` committed on main; returns (bare repo URL, work dir, tmp).
fn repo(files: &[(&str, &str)]) -> (String, std::path::PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("site.git");
    let work = tmp.path().join("work");
    init_repo(tmp.path(), &bare, &work);
    for (path, content) in files {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "site"]);
    git(&work, &["push", "-q", "origin", "main"]);
    (format!("file://{}", bare.display()), work, tmp)
}

fn deploy_static(srv: &Server, name: &str, config: Value, env: Value) -> (String, Value) {
    let (s, w) = srv.call(
        "POST",
        "/api/workloads",
        Some(json!({"name": name, "source_kind": "static", "source_config": config, "env": env})),
    );
    assert_eq!(s, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_owned();
    let (_, d) = srv.call("POST", &format!("/api/workloads/{id}/deploy?wait=true"), None);
    (id, d)
}

#[test]
fn nginx_and_deno_runtimes_and_the_build_step() {
    tinyforge_testkit::images::build_nginx("tf-test/nginx:1").unwrap();
    tinyforge_testkit::images::build_deno("tf-test/deno:1").unwrap();
    tinyforge_testkit::images::build_app(
        "tf-test/app:v1",
        "v1",
        tinyforge_testkit::images::Behaviour::Healthy,
    )
    .unwrap();
    let (url, work, tmp) = repo(&[
        ("public/index.html", "<h1>served by nginx</h1>"),
        (
            "public/main.ts",
            "export default { fetch() { return new Response(`deno says ${Deno.env.get(\"GREETING\")}`); } };\n",
        ),
    ]);
    let srv = Server::start(&tmp.path().join("data"));
    let pid = std::process::id();
    let face = |n: &str| json!([{"host": format!("{n}.test")}]);

    // nginx: the folder mounted read-only into a locally built nginx image.
    let n = format!("nginx-{pid}");
    let (nid, d) = deploy_static(
        &srv,
        &n,
        json!({"repository": url, "folder": "public", "faces": face(&n),
        "runtime": {"kind": "nginx", "image": "tf-test/nginx:1"}}),
        json!([]),
    );
    assert_eq!(d["status"], "succeeded", "{d}");
    assert_eq!(
        http(srv.edge, "GET", "/", &format!("{n}.test"), None, None),
        (200, "<h1>served by nginx</h1>".into())
    );

    // Deno: `deno serve` of the entry file, with the workload's secret env given at run time.
    let d_name = format!("deno-{pid}");
    let (did, d) = deploy_static(
        &srv,
        &d_name,
        json!({"repository": url, "folder": "public", "faces": face(&d_name),
        "runtime": {"kind": "deno", "image": "tf-test/deno:1", "entry": "main.ts"}}),
        json!([{"key": "GREETING", "value": "hello-from-a-secret", "secret": true}]),
    );
    assert_eq!(d["status"], "succeeded", "{d}");
    assert_eq!(
        http(srv.edge, "GET", "/", &format!("{d_name}.test"), None, None),
        (200, "deno says hello-from-a-secret".into())
    );

    // A build step writes into the release; a failing build leaves the served release alone.
    let b = format!("build-{pid}");
    let build = |cmd: &[&str]| {
        json!({"repository": url, "folder": "public", "faces": face(&b),
        "build": {"image": "tf-test/app:v1", "command": cmd}})
    };
    let (bid, d) = deploy_static(
        &srv,
        &b,
        build(&["/bin/busybox", "sh", "-c", "echo built-at-deploy > public/built.txt"]),
        json!([]),
    );
    assert_eq!(d["status"], "succeeded", "{d}");
    assert_eq!(
        http(srv.edge, "GET", "/built.txt", &format!("{b}.test"), None, None),
        (200, "built-at-deploy\n".into())
    );
    std::fs::write(work.join("public/index.html"), "<h1>v2</h1>").unwrap();
    git(&work, &["commit", "-q", "-am", "v2"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let (s, _) = srv.call(
        "PUT",
        &format!("/api/workloads/{bid}"),
        Some(json!({"name": b, "source_kind": "static",
        "source_config": build(&["/bin/busybox", "sh", "-c", "echo compiling; exit 3"])})),
    );
    assert_eq!(s, 200);
    let (_, d) = srv.call("POST", &format!("/api/workloads/{bid}/deploy?wait=true"), None);
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("exited with 3"), "{d}");
    assert_eq!(
        http(srv.edge, "GET", "/built.txt", &format!("{b}.test"), None, None).1,
        "built-at-deploy\n",
        "the previous release keeps serving"
    );

    for id in [nid, did, bid] {
        assert_eq!(srv.call("DELETE", &format!("/api/workloads/{id}"), None).0, 204);
        let left = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label=tinyforge.workload={id}")])
            .output()
            .unwrap();
        assert!(left.stdout.is_empty(), "teardown removes the runtime container");
    }
}
