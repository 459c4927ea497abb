//! The web UI in a real browser (U1, A3): Debian's Chromium driven through chromedriver with
//! fantoccini. One session with JavaScript on walks a first run to a deploy watched live and the
//! app opened through the edge; one with JavaScript off edits, deploys and rolls back with plain
//! forms. Screenshots of every page land in `<target>/tmp/ui-screenshots/` (paths printed).

mod common;
mod ui_driver;

use std::time::{Duration, Instant};

use common::{Server, http};
use serde_json::json;
use ui_driver::{Driver, at, click, fill, find, path, receiver, reload_until, shot, sign_in, text, toggle};

const PASSWORD: &str = "correct horse battery staple";
/// The admin password after the test changes it.
const NEW_PASSWORD: &str = "battery staple horse correct";
/// Where the edge serves the UI over TLS (`--ui-host`).
const UI_HOST: &str = "ui.test";

fn get_app(srv: &Server, host: &str) -> String {
    http(srv.edge, "GET", "/", host, None, None).1.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_to_live_deploy_in_a_browser() {
    use tinyforge_testkit::images::{Behaviour, build_app};
    build_app("tf-test/ui:v1", "ui-v1", Behaviour::Healthy).unwrap();
    build_app("tf-test/ui:v2", "ui-v2", Behaviour::Healthy).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start_with(tmp.path(), &[("TINYFORGE_UI_HOST", UI_HOST)]);
    let base = format!("http://{}", srv.api);
    let app_host = "ui-app.test";
    let driver = Driver::start();
    let c = driver.browser(&tmp.path().join("profile-js"), app_host, true).await;

    // First run: no open sign-up, the console's setup token sets the password.
    c.goto(&base).await.unwrap();
    at(&c, "/setup").await;
    let setup = std::fs::read_to_string(tmp.path().join("setup.token")).unwrap();
    fill(&c, "#setup_token", setup.trim()).await;
    fill(&c, "#password", PASSWORD).await;
    fill(&c, "#confirm", PASSWORD).await;
    shot(&c, "01-setup").await;
    click(&c, "button[type=submit]").await;
    at(&c, "/").await;
    assert!(!tmp.path().join("setup.token").exists(), "the setup token is spent");
    shot(&c, "02-dashboard-empty").await;

    // Sign out; a wrong password is refused, the right one signs in.
    click(&c, "header form button").await;
    at(&c, "/login").await;
    sign_in(&c, &base, "not the password").await;
    assert_eq!(text(&c, "#form-error").await, "Wrong password.");
    shot(&c, "03-login-wrong-password").await;
    c.goto(&base).await.unwrap();
    assert_eq!(path(&c).await, "/login", "a refused sign-in opens no session");
    sign_in(&c, &base, PASSWORD).await;
    at(&c, "/").await;

    // An image workload through the generated form; a bad name is shown at its field.
    click(&c, "a.button[href='/workloads/new?kind=image']").await;
    fill(&c, "#f-name", "UI App").await;
    fill(&c, "#f-cfg-image", "tf-test/ui").await;
    fill(&c, "#f-cfg-tag", "v1").await;
    fill(&c, "#f-cfg-faces-0-host", app_host).await;
    fill(&c, "#f-cfg-faces-0-port", "8080").await;
    fill(&c, "#f-cfg-health-path", "/health").await;
    click(&c, "#save").await;
    assert!(text(&c, "#f-name-err").await.contains("lower-case"));
    assert_eq!(find(&c, "#f-name").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    shot(&c, "04-workload-form-error").await;
    fill(&c, "#f-name", "ui-app").await;
    click(&c, "#save").await;
    find(&c, "#history-h").await;
    let wl_path = path(&c).await;
    assert!(wl_path.starts_with("/workloads/"), "{wl_path}");
    let wl_id = wl_path.trim_start_matches("/workloads/").to_owned();
    let (_, w) = srv.call("GET", &format!("/api/workloads/{wl_id}"), None);
    assert_eq!(w["source_config"]["faces"][0]["port"], 8080, "the form's fields became the config: {w}");
    assert_eq!(w["source_config"]["health"]["path"], "/health");

    // The raw JSON editor: broken JSON is refused and kept as typed; fixed, it creates the workload.
    c.goto(&format!("{base}/workloads/new?kind=image")).await.unwrap();
    fill(&c, "#f-name", "ui-json").await;
    toggle(&c, "#raw summary").await;
    fill(&c, "#f-raw_json", r#"{"image": "tf-test/ui", "faces": ["#).await;
    click(&c, "button[name=_mode]").await;
    assert!(text(&c, "#error-summary").await.contains("not valid JSON"));
    let kept = find(&c, "#f-raw_json").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(r#"{"image": "tf-test/ui", "faces": ["#), "the typed text is kept");
    fill(&c, "#f-raw_json", r#"{"image": "tf-test/ui", "faces": [{"host": "json.test", "port": 8080}]}"#)
        .await;
    click(&c, "button[name=_mode]").await;
    find(&c, "#history-h").await;
    assert_eq!(text(&c, "h1").await, "ui-json");
    // Deleting asks first.
    find(&c, "form[action$='/delete'] button").await.click().await.unwrap();
    c.accept_alert().await.unwrap();
    at(&c, "/").await;
    assert!(!text(&c, "main").await.contains("ui-json"), "deleted");

    // A manual trigger: its webhook URL is shown once.
    c.goto(&format!("{base}/triggers/new?kind=manual")).await.unwrap();
    fill(&c, "#f-name", "ui-manual").await;
    click(&c, "#save").await;
    let url = find(&c, "#webhook-url").await.prop("value").await.unwrap().unwrap();
    assert!(url.starts_with(&format!("{base}/api/webhook/triggers/")), "{url}");
    shot(&c, "05-trigger-created").await;

    // Bind it from the workload's page.
    c.goto(&format!("{base}{wl_path}")).await.unwrap();
    toggle(&c, "details.bind summary").await;
    click(&c, "details.bind button[type=submit]").await;
    assert!(text(&c, "#bindings ul").await.contains("ui-manual"));
    // A binding can be switched off and on again.
    click(&c, "#bindings form[action$='/toggle'] button").await;
    assert!(text(&c, "#bindings ul").await.contains("disabled"));
    click(&c, "#bindings form[action$='/toggle'] button").await;
    assert!(!text(&c, "#bindings ul").await.contains("disabled"));

    // Deploy now, then watch it succeed without reloading the page.
    click(&c, "#deploy").await;
    c.execute("window.__same_page = true", vec![]).await.unwrap();
    let t = Instant::now();
    loop {
        // Read in one script: the page's own JavaScript replaces these elements as events arrive.
        let badge = c
            .execute(
                "return document.querySelector('#history tbody tr:first-child .badge')?.textContent ?? ''",
                vec![],
            )
            .await
            .unwrap();
        let badge = badge.as_str().unwrap_or_default().to_owned();
        if badge == "succeeded" {
            break;
        }
        assert!(!badge.contains("failed"), "deploy failed");
        assert!(t.elapsed() < Duration::from_secs(90), "deployment stuck at {badge}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let same = c.execute("return window.__same_page === true", vec![]).await.unwrap();
    assert_eq!(same, json!(true), "the status changed live, not by a reload");
    assert_eq!(text(&c, "#status").await, "serving");
    shot(&c, "06-deployed-live").await;

    // Open the app through the edge from its face link.
    click(&c, "a.face").await;
    assert_eq!(c.current_url().await.unwrap().host_str(), Some(app_host));
    assert_eq!(text(&c, "body").await.trim(), "ui-v1");
    shot(&c, "07-app-through-edge").await;
    c.goto(&base).await.unwrap();
    assert!(text(&c, "#workloads").await.contains("serving"));
    shot(&c, "07b-dashboard").await;

    // Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
    c.set_window_size(390, 844).await.unwrap();
    for (page, name) in [("/", "07c-phone-dashboard"), (wl_path.as_str(), "07d-phone-workload")] {
        c.goto(&format!("{base}{page}")).await.unwrap();
        let fits =
            c.execute("return document.documentElement.scrollWidth <= window.innerWidth", vec![]).await;
        assert_eq!(fits.unwrap(), json!(true), "{page} is wider than a phone");
        shot(&c, name).await;
    }
    c.set_window_size(1280, 1100).await.unwrap();

    // The live events page lists the deploy.
    c.goto(&format!("{base}/events")).await.unwrap();
    let events = text(&c, "#events").await;
    assert!(events.contains("deploy.succeeded"), "{events}");
    shot(&c, "08-events").await;

    // An API token made in the UI works once copied.
    c.goto(&format!("{base}/tokens")).await.unwrap();
    fill(&c, "#token-name", "ci").await;
    click(&c, "form[action='/tokens'] button").await;
    let token = text(&c, "#created-token pre").await;
    assert_eq!(http(srv.api, "GET", "/api/workloads", "api", Some(token.trim()), None).0, 200);
    shot(&c, "09-tokens").await;

    // The admin password changes only with the current one.
    for (current, want) in [("not the password", "#form-error"), (PASSWORD, "#notice")] {
        fill(&c, "#pw-current", current).await;
        fill(&c, "#pw-new", NEW_PASSWORD).await;
        fill(&c, "#pw-confirm", NEW_PASSWORD).await;
        click(&c, "#change-password").await;
        let said = text(&c, want).await;
        assert!(
            said.contains(if want == "#notice" { "Password changed" } else { "current password is wrong" }),
            "{said}"
        );
    }

    // A signed notification endpoint for deploy events, added in the UI.
    let (hook_url, received) = receiver();
    c.goto(&format!("{base}/notifications")).await.unwrap();
    fill(&c, "#n-url", &hook_url).await;
    fill(&c, "#n-kinds", "deploy.").await;
    fill(&c, "#n-secret", "a-receiver-secret-0123").await;
    click(&c, "form[action='/notifications'] button[type=submit]").await;
    assert!(text(&c, "#endpoints").await.contains("every workload"));

    // The other kinds' generated forms.
    for (page, name) in [
        ("/workloads/new?kind=compose", "09b-compose-form"),
        ("/workloads/new?kind=static", "09c-static-form"),
        ("/triggers/new?kind=registry", "09d-registry-trigger-form"),
    ] {
        c.goto(&format!("{base}{page}")).await.unwrap();
        find(&c, "form.config").await;
        shot(&c, name).await;
    }

    // A tagged union in a generated form: the registry trigger's tag policy.
    fill(&c, "#f-name", "ui-registry").await;
    fill(&c, "#f-cfg-repository", "tf-test/ui").await;
    find(&c, "#f-cfg-tags-policy").await.select_by_value("semver").await.unwrap();
    fill(&c, "#f-cfg-tags-range", "^1.2").await;
    click(&c, "#save").await;
    let id = find(&c, "#created-trigger a").await.attr("href").await.unwrap().unwrap();
    let (_, t) = srv.call("GET", &format!("/api{id}"), None);
    assert_eq!(t["config"]["tags"], json!({"policy": "semver", "range": "^1.2"}), "{t}");
    // Edited through the same generated form, prefilled.
    c.goto(&format!("{base}{id}/edit")).await.unwrap();
    fill(&c, "#f-cfg-tags-range", "^2").await;
    click(&c, "#save").await;
    at(&c, &id).await;
    let (_, t) = srv.call("GET", &format!("/api{id}"), None);
    assert_eq!(t["config"]["tags"], json!({"policy": "semver", "range": "^2"}), "{t}");

    // A forged CSRF token is refused and deploys nothing.
    let before =
        srv.call("GET", &format!("/api/workloads/{wl_id}/deployments"), None).1.as_array().unwrap().len();
    c.goto(&format!("{base}{wl_path}")).await.unwrap();
    let forge = "document.querySelector(\"form[action$='/deploy'] input[name=_csrf]\").value = 'forged'";
    c.execute(forge, vec![]).await.unwrap();
    click(&c, "#deploy").await;
    assert!(text(&c, "#error-detail").await.contains("security token"));
    shot(&c, "10-forged-csrf-refused").await;
    let after =
        srv.call("GET", &format!("/api/workloads/{wl_id}/deployments"), None).1.as_array().unwrap().len();
    assert_eq!(before, after, "the forged form deployed nothing");

    // A delivery to the manual trigger's URL shows on its page with a verdict, and can be replayed.
    let hook = url.trim_start_matches(&base);
    let (status, _) = http(srv.api, "POST", hook, "api", None, Some(&json!({"event": "manual"})));
    assert!(status < 500, "{status}");
    // It queued a deploy of ui-app; let it finish before the browser moves on (Chromium aborts
    // navigations in flight with ERR_NETWORK_CHANGED while Docker adds a container's interfaces).
    let t = Instant::now();
    loop {
        let (_, history) = srv.call("GET", &format!("/api/workloads/{wl_id}/deployments"), None);
        let newest = history[0]["status"].as_str().unwrap_or_default().to_owned();
        if history.as_array().unwrap().len() > before && !["queued", "running"].contains(&newest.as_str()) {
            assert_eq!(newest, "succeeded");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "the delivery's deploy is stuck at {newest}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.goto(&format!("{base}/triggers")).await.unwrap();
    assert!(text(&c, "#triggers").await.contains("ui-manual"));
    shot(&c, "10b-triggers").await;
    click(&c, "#triggers a[href^='/triggers/']").await;
    assert_eq!(text(&c, "#deliveries tbody tr:first-child .badge").await, "accepted");
    shot(&c, "10c-trigger-deliveries").await;
    click(&c, "#deliveries form[action$='/replay'] button").await;
    find(&c, "#deliveries-h").await;

    // The UI through the edge over HTTPS (`--ui-host`): there the session cookie is Secure too.
    let tls_base = format!("https://{UI_HOST}:{}", srv.https.port());
    sign_in(&c, &tls_base, NEW_PASSWORD).await;
    at(&c, "/").await;
    assert!(text(&c, "#workloads").await.contains("ui-app"));
    let cookie = c.get_named_cookie("tf_session").await.unwrap();
    assert_eq!((cookie.secure(), cookie.http_only()), (Some(true), Some(true)), "{cookie:?}");
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    shot(&c, "10d-ui-over-tls").await;
    c.close().await.unwrap();

    // JavaScript off: edit the config, deploy, roll back, all with plain forms.
    let c = driver.browser(&tmp.path().join("profile-nojs"), app_host, false).await;
    sign_in(&c, &base, NEW_PASSWORD).await;
    at(&c, "/").await;
    c.goto(&format!("{base}/events")).await.unwrap();
    assert!(text(&c, "#live-state").await.contains("need JavaScript"), "the page's scripts do not run");
    c.goto(&format!("{base}{wl_path}/edit")).await.unwrap();
    fill(&c, "#f-cfg-tag", "v2").await;
    click(&c, "button[name=_add]").await; // "Add another face": the form again, one more blank row
    assert_eq!(find(&c, "#f-cfg-tag").await.prop("value").await.unwrap().as_deref(), Some("v2"));
    find(&c, "#f-cfg-faces-1-host").await; // a blank row after the filled one
    shot(&c, "11-nojs-edit").await;
    click(&c, "#save").await;
    at(&c, &wl_path).await;
    click(&c, "#deploy").await;
    reload_until(&c, "succeeded").await;
    assert_eq!(get_app(&srv, app_host), "ui-v2");
    shot(&c, "12-nojs-deployed-v2").await;
    click(&c, "#history form[action$='/rollback'] button").await;
    reload_until(&c, "succeeded").await;
    assert_eq!(get_app(&srv, app_host), "ui-v1", "rolled back to v1");
    shot(&c, "13-nojs-rolled-back").await;

    // The deploys were announced to the endpoint, and its page shows the deliveries.
    let t = Instant::now();
    loop {
        c.goto(&format!("{base}/notifications")).await.unwrap();
        if text(&c, "#endpoints").await.contains("delivered") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no delivery shown");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(received.load(std::sync::atomic::Ordering::SeqCst) > 0);
    shot(&c, "14-nojs-notifications").await;
    c.close().await.unwrap();

    let _ = srv.call("DELETE", &format!("/api/workloads/{wl_id}"), None);
}
