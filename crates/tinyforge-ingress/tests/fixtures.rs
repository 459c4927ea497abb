//! Every real vendor delivery in ../shared/fixtures/webhooks: detection and every normalised field
//! equal to MANIFEST.md's expected; signatures computed here per vendor scheme, forged, missing and
//! stale ones refused; no byte string panics the parsers.

use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use tinyforge_ingress::{Parsed, SignatureError, Vendor, decode, normalise, sign_hex, verify};
use tinyforge_plugin::InboundEvent;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/webhooks")
}

fn headers(file: &Path) -> HeaderMap {
    let mut h = HeaderMap::new();
    let text = std::fs::read_to_string(format!("{}.headers", file.display())).unwrap();
    for line in text.lines().filter(|l| !l.starts_with('#') && l.contains(':')) {
        let (k, v) = line.split_once(':').unwrap();
        h.append(
            HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    h
}

/// `(file, expected)` rows of MANIFEST.md, expected as key → value (annotations stripped).
fn manifest() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(fixtures().join("MANIFEST.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cols: Vec<&str> = l.split(" | ").collect();
            let file = cols[0].trim_start_matches("| `").trim_end_matches('`').to_owned();
            let expected = cols[4]
                .split("; ")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.split(" (").next().unwrap().trim().to_owned()))
                .collect();
            (file, expected)
        })
        .collect()
}

fn opt(v: &str) -> Option<String> {
    (v != "null").then(|| v.to_owned())
}

#[test]
fn every_fixture_normalises_as_the_manifest_says() {
    let rows = manifest();
    assert!(rows.len() >= 40, "manifest rows: {}", rows.len());
    let mut passed = 0;
    for (file, exp) in &rows {
        let path = fixtures().join(file);
        let body = std::fs::read(&path).unwrap();
        let d = decode(&headers(&path), &body).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed = normalise(&d).unwrap_or_else(|e| panic!("{file}: {e}"));
        let get = |k: &str| exp.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
        let kind = get("kind").unwrap();
        let first = match (&parsed, kind) {
            (Parsed::Ping, "ping") | (Parsed::Ignore(_), "ignore") => {
                passed += 1;
                continue;
            }
            (Parsed::Events(e), _) => e[0].clone(),
            (other, _) => panic!("{file}: expected {kind}, got {other:?}"),
        };
        match (&first, kind) {
            (InboundEvent::GitPush(p), "git-push") => {
                assert_eq!(Some(p.repository.as_str()), get("repo"), "{file}");
                assert_eq!(Some(p.branch.as_str()), get("branch"), "{file}");
                assert_eq!(Some(p.commit.as_str()), get("sha"), "{file}");
                if let Some(c) = get("clone_url") {
                    assert_eq!(p.clone_url.as_deref(), Some(c), "{file}");
                }
            }
            (InboundEvent::GitTag(t), "git-tag") => {
                assert_eq!(Some(t.repository.as_str()), get("repo"), "{file}");
                assert_eq!(Some(t.tag.as_str()), get("tag"), "{file}");
                assert_eq!(t.commit, get("sha").and_then(opt), "{file}");
                if let Some(c) = get("clone_url") {
                    assert_eq!(t.clone_url.as_deref(), Some(c), "{file}");
                }
            }
            (InboundEvent::ImagePush(i), "image-push") => {
                assert_eq!(Some(i.registry.as_str()), get("registry"), "{file}");
                assert_eq!(Some(i.repository.as_str()), get("repo"), "{file}");
                assert_eq!(i.tag, get("tag").and_then(opt), "{file}");
                assert_eq!(i.digest, get("digest").and_then(opt), "{file}");
            }
            (InboundEvent::Manual(m), "manual") => {
                assert_eq!(
                    m.reference,
                    get("sha").and_then(opt).or(get("branch").map(str::to_owned)),
                    "{file}"
                );
            }
            (e, k) => panic!("{file}: expected {k}, got {e:?}"),
        }
        passed += 1;
    }
    println!("webhook fixtures: {passed}/{} normalised as MANIFEST.md expects", rows.len());
    assert_eq!(passed, rows.len());
}

#[test]
fn detection_order_puts_gitea_family_before_github() {
    let d = |f: &str| {
        let p = fixtures().join(f);
        decode(&headers(&p), &std::fs::read(&p).unwrap()).unwrap().vendor
    };
    assert_eq!(d("gitea/push-docs.json"), Vendor::Gitea);
    assert_eq!(d("forgejo/create-tag.json"), Vendor::Forgejo);
    assert_eq!(d("gogs/push.json"), Vendor::Gogs);
    assert_eq!(d("github/push-force.json"), Vendor::GitHub);
    assert_eq!(d("bitbucket/repo-push.json"), Vendor::Bitbucket);
    assert_eq!(d("distribution/push-manifest-tagged.json"), Vendor::Distribution);
    assert_eq!(d("harbor/cloudevents-artifact-pulled.json"), Vendor::HarborCloudEvents);
    assert_eq!(d("generic/manual-redeploy.json"), Vendor::Generic);
}

const SECRET: &str = "a-long-signing-secret-for-tests";

fn check(file: &str, sign: impl Fn(&mut HeaderMap, &[u8], &[u8])) -> Result<(), SignatureError> {
    let p = fixtures().join(file);
    let body = std::fs::read(&p).unwrap();
    let mut h = headers(&p);
    let d = decode(&h, &body).unwrap();
    sign(&mut h, &body, &d.payload_bytes);
    let d = decode(&h, &body).unwrap();
    verify(&d, &h, &body, SECRET, chrono::Utc::now().timestamp())
}

fn set(h: &mut HeaderMap, k: &'static str, v: String) {
    h.insert(k, HeaderValue::from_str(&v).unwrap());
}

#[test]
fn signatures_per_vendor_scheme() {
    // GitHub signs the raw body, form bodies included.
    for f in ["github/push-force.json", "github/push-form-urlencoded.form"] {
        check(f, |h, raw, _| set(h, "x-hub-signature-256", format!("sha256={}", sign_hex(SECRET, raw))))
            .unwrap();
        let e =
            check(f, |h, raw, _| set(h, "x-hub-signature-256", format!("sha256={}", sign_hex("wrong", raw))))
                .unwrap_err();
        assert_eq!(e, SignatureError::Mismatch("x-hub-signature-256"));
        assert_eq!(check(f, |_, _, _| {}).unwrap_err(), SignatureError::Missing("x-hub-signature-256"));
    }
    // Gitea signs the JSON payload, not the form body.
    check("gitea/push-form-urlencoded.form", |h, _, json| {
        set(h, "x-gitea-signature", sign_hex(SECRET, json))
    })
    .unwrap();
    let e = check("gitea/push-form-urlencoded.form", |h, raw, _| {
        set(h, "x-gitea-signature", sign_hex(SECRET, raw))
    })
    .unwrap_err();
    assert_eq!(e, SignatureError::Mismatch("x-gitea-signature"));
    check("forgejo/create-tag.json", |h, _, json| set(h, "x-forgejo-signature", sign_hex(SECRET, json)))
        .unwrap();
    // Bitbucket: sha256= over the raw body.
    check("bitbucket/repo-push.json", |h, raw, _| {
        set(h, "x-hub-signature", format!("sha256={}", sign_hex(SECRET, raw)))
    })
    .unwrap();
    // GitLab: the token verbatim, or Standard Webhooks.
    check("gitlab/push-docs.json", |h, _, _| set(h, "x-gitlab-token", SECRET.into())).unwrap();
    assert!(check("gitlab/push-docs.json", |h, _, _| set(h, "x-gitlab-token", "nope".into())).is_err());
    let std_sig = |ts: i64| {
        move |h: &mut HeaderMap, raw: &[u8], _: &[u8]| {
            use base64::Engine as _;
            let key = base64::engine::general_purpose::STANDARD.encode(SECRET);
            let mut msg = format!("msg_1.{ts}.").into_bytes();
            msg.extend_from_slice(raw);
            let mac = {
                use hmac::{KeyInit, Mac};
                let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
                m.update(&msg);
                m.finalize().into_bytes()
            };
            let _ = key;
            set(h, "webhook-id", "msg_1".into());
            set(h, "webhook-timestamp", ts.to_string());
            set(
                h,
                "webhook-signature",
                format!("v1,bogus v1,{}", base64::engine::general_purpose::STANDARD.encode(mac)),
            );
        }
    };
    // The secret is not valid base64, so its raw bytes are the key.
    let now = chrono::Utc::now().timestamp();
    check("gitlab/push-docs.json", std_sig(now)).unwrap();
    assert_eq!(check("gitlab/push-docs.json", std_sig(now - 3600)).unwrap_err(), SignatureError::Stale);
    // Registries: the configured Authorization value.
    check("distribution/push-manifest-tagged.json", |h, _, _| {
        set(h, "authorization", format!("Bearer {SECRET}"))
    })
    .unwrap();
    assert!(check("distribution/push-manifest-tagged.json", |_, _, _| {}).is_err());
    // Docker Hub cannot sign: a signing secret on its trigger is a configuration error.
    assert_eq!(
        check("dockerhub/push-docs.json", |_, _, _| {}).unwrap_err(),
        SignatureError::Unsupported("Docker Hub")
    );
}

#[test]
fn malformed_bodies_are_clear_errors() {
    let h = HeaderMap::new();
    let e = decode(&h, b"{not json").unwrap_err();
    assert!(e.0.contains("not JSON"), "{e}");
    let d = decode(&h, b"{\"hello\": 1}").unwrap();
    assert!(normalise(&d).unwrap_err().0.contains("no vendor recognised"));
    let mut gh = HeaderMap::new();
    gh.insert("x-github-event", HeaderValue::from_static("push"));
    let d = decode(&gh, b"{\"ref\": \"refs/heads/main\"}").unwrap();
    assert_eq!(normalise(&d).unwrap_err().0, "the payload has no `repository.full_name`");
}

proptest! {
    #[test]
    fn no_byte_string_panics(body in proptest::collection::vec(any::<u8>(), 0..512), vendor in 0usize..8) {
        let names = ["x-github-event", "x-gitea-event", "x-gitlab-event", "x-forgejo-event", "x-gogs-event", "x-event-key", "content-type", "x-none"];
        let mut h = HeaderMap::new();
        h.insert(names[vendor], HeaderValue::from_static("push"));
        h.insert("user-agent", HeaderValue::from_static("Bitbucket-Webhooks/2.0"));
        if let Ok(d) = decode(&h, &body) {
            let _ = normalise(&d);
            let _ = verify(&d, &h, &body, "s", 0);
        }
    }

    #[test]
    fn no_json_shape_panics(v in any_json()) {
        for ev in ["push", "create", "package", "Push Hook", "Tag Push Hook", "repo:push"] {
            for hdr in ["x-github-event", "x-gitea-event", "x-gitlab-event", "x-event-key"] {
                let mut h = HeaderMap::new();
                h.insert(hdr, HeaderValue::from_static(ev));
                h.insert("user-agent", HeaderValue::from_static("Bitbucket-Webhooks/2.0"));
                if let Ok(d) = decode(&h, v.to_string().as_bytes()) { let _ = normalise(&d); }
            }
        }
    }
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        "[a-z/0]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("refs/heads/main")),
        Just(serde_json::Value::from("0000000000000000000000000000000000000000")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("ref".to_owned()),
                    Just("after".to_owned()),
                    Just("repository".to_owned()),
                    Just("full_name".to_owned()),
                    Just("events".to_owned()),
                    Just("push".to_owned()),
                    Just("changes".to_owned()),
                    Just("new".to_owned()),
                    "[a-z_]{1,8}".prop_map(String::from)
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
