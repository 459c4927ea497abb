//! Forwarding one request: pick the route, take an in-flight slot, rewrite headers (hop-by-hop
//! out, X-Forwarded-* in, Host kept), stream to the upstream, stream the answer back, and tunnel
//! WebSocket upgrades byte for byte.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use tinyforge_plugin::ports::Backend;

use crate::Inner;
use crate::body::{EdgeBody, Tracked, full};
use crate::table::{InflightGuard, Upstream};

/// The pooled keep-alive client to upstreams.
/// Request bodies go upstream through a byte limit, so a chunked upload without a
/// `Content-Length` is cut off at `max_body_bytes` too.
pub type Client = hyper_util::client::legacy::Client<HttpConnector, Limited<Incoming>>;

thread_local! {
    /// One pooled client per thread: a connection is driven on the thread that opened it, so a
    /// request never waits on a wake-up from another thread's pool.
    static CLIENT: Client = client();
}

pub fn client() -> Client {
    let mut conn = HttpConnector::new();
    conn.set_nodelay(true);
    conn.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build(conn)
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes hop-by-hop headers, including those `Connection` names, and `Upgrade`.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in listed {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(n);
    }
    h.remove(header::UPGRADE);
}

fn upgrade_of(h: &HeaderMap) -> Option<HeaderValue> {
    let wants = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")));
    if wants { h.get(header::UPGRADE).cloned() } else { None }
}

/// Host of the request, lower case, without port.
pub fn host_of<B>(req: &Request<B>) -> String {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("");
    let host = if raw.starts_with('[') {
        raw.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        raw.split(':').next().unwrap_or("").to_owned()
    };
    host.to_ascii_lowercase()
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<EdgeBody> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(full(text))
        .expect("a static response is valid")
}

/// What a request goes to.
enum Picked {
    /// An upstream, with an in-flight slot held.
    Upstream(Arc<Upstream>, InflightGuard),
    /// Files under `root`; `prefix` is the route's path prefix (stripped).
    Files { root: std::path::PathBuf, spa: bool, prefix: Option<String> },
}

fn pick(inner: &Inner, host: &str, path: &str) -> Option<Picked> {
    loop {
        let table = inner.table.load();
        let route = table.find(host, path)?;
        let Some(upstream) = route.upstream.clone() else {
            let Backend::Files { root, spa } = &route.target.backend else { return None };
            return Some(Picked::Files {
                root: root.clone(),
                spa: *spa,
                prefix: route.target.path_prefix.clone(),
            });
        };
        if let Some(slot) = upstream.acquire() {
            return Some(Picked::Upstream(upstream, slot));
        }
        // Retired between our read and our slot: the table has moved on, read it again.
    }
}

/// The ACME HTTP-01 answer for `path`, if it is a pending challenge.
fn acme_answer(inner: &Inner, path: &str) -> Option<Response<EdgeBody>> {
    let token = path.strip_prefix("/.well-known/acme-challenge/")?;
    let answer = inner.challenges.read().unwrap_or_else(|p| p.into_inner()).get(token).cloned()?;
    Response::builder().header(header::CONTENT_TYPE, "application/octet-stream").body(full(answer)).ok()
}

/// `301` to the HTTPS listener, for faces served over TLS.
fn to_https(inner: &Inner, host: &str, req: &Request<Incoming>) -> Option<Response<EdgeBody>> {
    let port = inner.config.https_port?;
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location =
        if port == 443 { format!("https://{host}{pq}") } else { format!("https://{host}:{port}{pq}") };
    Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, HeaderValue::from_str(&location).ok()?)
        .body(full(""))
        .ok()
}

pub async fn handle(
    inner: &Inner,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    scheme: &'static str,
) -> Response<EdgeBody> {
    let host = host_of(&req);
    if scheme == "http"
        && let Some(r) = acme_answer(inner, req.uri().path())
    {
        return r;
    }
    let tls_face =
        scheme == "http" && inner.table.load().find(&host, req.uri().path()).is_some_and(|r| r.target.tls);
    if tls_face && let Some(r) = to_https(inner, &host, &req) {
        return r;
    }
    let (upstream, slot) = match pick(inner, &host, req.uri().path()) {
        None => return plain(StatusCode::NOT_FOUND, "404 Not Found: no site is served at this address.\n"),
        Some(Picked::Files { root, spa, prefix }) => {
            return crate::files::serve(&req, &root, spa, prefix.as_deref()).await;
        }
        Some(Picked::Upstream(u, slot)) => (u, slot),
    };
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > inner.config.max_body_bytes);
    if too_big {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large\n");
    }

    let upgrade = upgrade_of(req.headers());
    let downstream_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.to_string());
    strip_hop_by_hop(&mut parts.headers);
    if let Some(u) = &upgrade {
        parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, u.clone());
    }
    if !parts.headers.contains_key(header::HOST)
        && let Some(a) = authority.and_then(|a| HeaderValue::from_str(&a).ok())
    {
        parts.headers.insert(header::HOST, a);
    }
    let xff = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        parts.headers.insert("x-forwarded-for", v);
    }
    parts.headers.insert("x-forwarded-proto", HeaderValue::from_static(scheme));
    if let Ok(v) = HeaderValue::from_str(&host) {
        parts.headers.insert("x-forwarded-host", v);
    }
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match Uri::builder()
        .scheme("http")
        .authority(upstream.authority.clone())
        .path_and_query(pq)
        .build()
    {
        Ok(u) => u,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "400 Bad Request\n"),
    };
    parts.version = Version::HTTP_11;

    let sent = tokio::time::timeout(
        inner.config.upstream_timeout,
        CLIENT.with(|c| {
            c.request(Request::from_parts(parts, Limited::new(body, inner.config.max_body_bytes as usize)))
        }),
    );
    let mut resp = match sent.await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) if over_limit(&e) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "413 Payload Too Large\n");
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream = %upstream.addr, error = %e, "upstream failed");
            return plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway: the app did not answer.\n");
        }
        Err(_) => {
            return plain(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout: the app answered too slowly.\n");
        }
    };

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(down) = downstream_upgrade
    {
        let up = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            let _slot = slot; // the tunnel counts as in flight until it closes
            if let (Ok(down), Ok(up)) = (down.await, up.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(down), &mut TokioIo::new(up)).await;
            }
        });
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, full(""));
    }
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, Tracked::boxed(body, slot))
}

/// Whether a request failed because its body passed the limit.
fn over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_listed_headers_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret-hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-app", HeaderValue::from_static("kept"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-app"));
    }

    #[test]
    fn host_is_lowercased_without_port() {
        let r = Request::builder().header("host", "App.Example.COM:8443").body(()).unwrap();
        assert_eq!(host_of(&r), "app.example.com");
        let r = Request::builder().uri("http://h2.test/x").body(()).unwrap();
        assert_eq!(host_of(&r), "h2.test");
    }
}
