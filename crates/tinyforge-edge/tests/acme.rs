//! ACME for real (edge issue, item 4): Debian's Pebble (with pebble-challtestsrv as its DNS,
//! resolving every name to 127.0.0.1) issues a certificate over HTTP-01 answered by the edge's
//! HTTP listener; a TLS request with SNI is then served with it and verifies against Pebble's root;
//! plain HTTP to the TLS face is redirected.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tinyforge_edge::acme::{Acme, AcmeConfig};
use tinyforge_edge::tls::CertStore;
use tinyforge_edge::{Edge, EdgeConfig, serve, serve_tls};
use tinyforge_plugin::ports::{Backend, RouteTarget, Routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

use tinyforge_testkit::free_port as port;

async fn wait_tcp(addr: &str) {
    let t = Instant::now();
    while TcpStream::connect(addr).await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(15), "{addr} never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tls_client(roots_pem: &[u8]) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(roots_pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// GET `path` over TLS to `addr` with SNI/Host `host`; returns the raw answer.
async fn tls_get(connector: &tokio_rustls::TlsConnector, addr: SocketAddr, host: &str, path: &str) -> String {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap();
    let mut s = connector.connect(name, tcp).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pebble_issues_a_certificate_that_serves() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let own = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(d.join("pebble.crt"), own.cert.pem()).unwrap();
    std::fs::write(d.join("pebble.key"), own.signing_key.serialize_pem()).unwrap();

    // The edge first: Pebble must know its HTTP port.
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (http_addr, https_addr) = (http.local_addr().unwrap(), https.local_addr().unwrap());
    let edge = Edge::new(EdgeConfig { https_port: Some(https_addr.port()), ..EdgeConfig::default() });
    let certs = Arc::new(CertStore::open(&d.join("certs")).unwrap());
    tokio::spawn(serve(edge.clone(), http, "http", std::future::pending()));
    tokio::spawn(serve_tls(edge.clone(), https, certs.server_config(), std::future::pending()));

    let (acme_port, mgmt_port, dns_port) = (port(), port(), port());
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{acme_port}"), "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
        "certificate": d.join("pebble.crt"), "privateKey": d.join("pebble.key"),
        "httpPort": http_addr.port(), "tlsPort": port(), "ocspResponderURL": "", "externalAccountBindingRequired": false}});
    std::fs::write(d.join("pebble.json"), config.to_string()).unwrap();
    let _dns = Kill(
        Command::new("pebble-challtestsrv")
            .args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &format!("127.0.0.1:{dns_port}"),
            ])
            .args([
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{}", port()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian package pebble) is required"),
    );
    let _pebble = Kill(
        Command::new("pebble")
            .arg("-config")
            .arg(d.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian package pebble) is required"),
    );
    wait_tcp(&format!("127.0.0.1:{acme_port}")).await;
    wait_tcp(&format!("127.0.0.1:{mgmt_port}")).await;

    // The app behind a TLS face.
    let app = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = app.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (s, _) = app.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("secure hello"))))
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(s), svc).await;
            });
        }
    });
    let host = "app.tinyforge.test";
    edge.switch(
        "app",
        vec![RouteTarget {
            host: host.into(),
            path_prefix: None,
            backend: Backend::Upstream(app_addr),
            tls: true,
        }],
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(edge.tls_hosts(), [host]);

    let acme = Acme::new(
        AcmeConfig {
            directory: format!("https://127.0.0.1:{acme_port}/dir"),
            ca_roots: Some(d.join("pebble.crt")),
            email: Some("ops@example.test".into()),
            state_dir: d.join("acme"),
        },
        edge.challenges(),
        certs.clone(),
    );
    let t = Instant::now();
    let failures = acme.ensure(&edge.tls_hosts()).await;
    assert!(failures.is_empty(), "{failures:?}");
    println!("pebble issued a certificate for {host} in {} ms", t.elapsed().as_millis());
    assert!(d.join("acme/account.json").exists());
    assert!(certs.is_fresh(host, Duration::from_secs(3600)));
    assert!(acme.ensure(&edge.tls_hosts()).await.is_empty(), "a fresh certificate is not re-issued");

    // Pebble's issuing root, from its management API (served with our own self-signed cert).
    let mgmt = tls_get(
        &tls_client(own.cert.pem().as_bytes()),
        format!("127.0.0.1:{mgmt_port}").parse().unwrap(),
        "localhost",
        "/roots/0",
    )
    .await;
    let root_pem = &mgmt[mgmt.find("-----BEGIN").expect("a PEM root")..];
    let answer = tls_get(&tls_client(root_pem.as_bytes()), https_addr, host, "/").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("secure hello"), "{answer}");

    // Plain HTTP to a TLS face is redirected to the HTTPS listener.
    let mut s = TcpStream::connect(http_addr).await.unwrap();
    s.write_all(format!("GET /x?y=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 301"), "{out}");
    assert!(out.contains(&format!("location: https://{host}:{}/x?y=1", https_addr.port())), "{out}");
}
