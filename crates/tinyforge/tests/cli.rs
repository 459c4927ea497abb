//! The command-line client against a running `tinyforge serve` (issue: UI/CLI, item 5): create a
//! workload from a TOML file, list it as JSON, deploy and wait, create and bind a trigger, see
//! errors in plain words with the API's detail and a non-zero exit, print completions.

mod common;

use std::process::{Command, Output};

use common::{Server, http};
use serde_json::Value;

fn cli(srv: &Server, home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinyforge"))
        .args(args)
        .env("TINYFORGE_URL", format!("http://{}", srv.api))
        .env("TINYFORGE_TOKEN", srv.token())
        .env("HOME", home)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_cli_drives_the_api() {
    tinyforge_testkit::images::build_app(
        "tf-test/cli:v1",
        "cli-v1",
        tinyforge_testkit::images::Behaviour::Healthy,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let name = format!("cli-{}", std::process::id());
    let file = tmp.path().join("w.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"{name}\"\nsource_kind = \"image\"\n[source_config]\nimage = \"tf-test/cli\"\ntag = \"v1\"\n\
             health = {{ path = \"/health\" }}\n[[source_config.faces]]\nhost = \"{name}.test\"\nport = 8080\n"
        ),
    )
    .unwrap();
    let out = cli(&srv, tmp.path(), &["workloads", "create", "--file", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("created workload {name}")));

    let out = cli(&srv, tmp.path(), &["workloads", "list", "--output", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.as_array().unwrap().iter().any(|w| w["name"] == name.as_str()));

    let out = cli(&srv, tmp.path(), &["workloads", "deploy", &name, "--wait"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("succeeded"), "{}", text(&out));
    assert_eq!(http(srv.edge, "GET", "/", &format!("{name}.test"), None, None), (200, "cli-v1\n".into()));
    let out = cli(&srv, tmp.path(), &["workloads", "list"]);
    assert!(text(&out).contains(&name) && text(&out).contains("serving"), "{}", text(&out));

    // Errors: plain words, the API's detail and field, a non-zero exit.
    std::fs::write(
        &file,
        "name = \"bad\"\nsource_kind = \"image\"\n[source_config]\nimage = \"x\"\nfaces = []\n",
    )
    .unwrap();
    let out = cli(&srv, tmp.path(), &["workloads", "create", "--file", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("field `source_config.faces`") && text(&out).contains("HTTP 400"),
        "{}",
        text(&out)
    );
    let out = cli(&srv, tmp.path(), &["workloads", "deploy", "no-such-workload"]);
    assert!(!out.status.success() && text(&out).contains("no workload `no-such-workload`"), "{}", text(&out));

    // Triggers: create (URL shown once) and bind by names.
    let tfile = tmp.path().join("t.json");
    std::fs::write(&tfile, format!("{{\"name\": \"{name}-hook\", \"kind\": \"manual\"}}")).unwrap();
    let out = cli(&srv, tmp.path(), &["triggers", "create", "--file", tfile.to_str().unwrap()]);
    assert!(text(&out).contains("/api/webhook/triggers/"), "{}", text(&out));
    let out = cli(&srv, tmp.path(), &["triggers", "bind", &name, &format!("{name}-hook")]);
    assert!(out.status.success() && text(&out).contains("bound"), "{}", text(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_tinyforge")).args(["completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("_tinyforge"), "bash completions");

    let out = cli(&srv, tmp.path(), &["workloads", "delete", &name]);
    assert!(out.status.success(), "{}", text(&out));
}
