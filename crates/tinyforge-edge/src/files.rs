//! Static files served by the edge itself (the static source's built-in runtime): conditional
//! requests (ETag, Last-Modified → 304), single byte ranges (206/416), precompressed `.br`/`.gz`
//! siblings, `index.html`, an optional SPA fallback. Paths that climb out of the root — `..`,
//! `%2e%2e`, or a symlink leading elsewhere — are refused.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::body::{BoxError, EdgeBody, full};
use crate::forward::plain;

/// Percent-decodes a path; `None` for malformed escapes, NUL, or non-UTF-8.
fn decode(path: &str) -> Option<String> {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0')).then_some(s)
}

/// The file under `root` that `rel` names, refusing any escape. `None`: refused.
fn resolve(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut p = PathBuf::new();
    for c in Path::new(rel.trim_start_matches('/')).components() {
        match c {
            Component::Normal(seg) => p.push(seg),
            Component::CurDir => {}
            // `..`, a root or a prefix inside the path: refused, never normalised away.
            _ => return None,
        }
    }
    Some(root.join(p))
}

/// Whether `candidate` (which exists) really lies inside `root` once symlinks are followed.
fn contained(root: &Path, candidate: &Path) -> bool {
    match (root.canonicalize(), candidate.canonicalize()) {
        (Ok(r), Ok(c)) => c.starts_with(r),
        _ => false,
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

fn accepts(h: &HeaderMap, coding: &str) -> bool {
    h.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |c| c.split(';').next().is_some_and(|n| n.trim().eq_ignore_ascii_case(coding)) && !c.contains("q=0"),
    )
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` on a file of `len` bytes → (start, end inclusive).
/// `Some(None)`: a range header that cannot be satisfied.
fn range(h: &HeaderMap, len: u64) -> Option<Option<(u64, u64)>> {
    let spec = h.get(header::RANGE)?.to_str().ok()?.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // several ranges: answer the whole file
    }
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => {
            n.parse::<u64>().ok().filter(|n| *n > 0 && len > 0).map(|n| (len.saturating_sub(n), len - 1))
        }
        (a, "") => a.parse::<u64>().ok().filter(|a| *a < len).map(|a| (a, len - 1)),
        (a, b) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b && a < len => Some((a, b.min(len - 1))),
            _ => None,
        },
    };
    Some(r)
}

async fn body_of(path: &Path, start: u64, len: u64) -> Result<EdgeBody, std::io::Error> {
    let mut f = tokio::fs::File::open(path).await?;
    if start > 0 {
        f.seek(std::io::SeekFrom::Start(start)).await?;
    }
    let stream =
        tokio_util::io::ReaderStream::new(f.take(len)).map(|c| c.map(Frame::data).map_err(BoxError::from));
    Ok(BodyExt::boxed(StreamBody::new(stream)))
}

/// Serves `req` from `root` (with the route's `prefix` stripped).
pub async fn serve<B>(req: &Request<B>, root: &Path, spa: bool, prefix: Option<&str>) -> Response<EdgeBody> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
    }
    let raw = req.uri().path();
    let rel = prefix.map_or(raw, |p| raw.strip_prefix(p.trim_end_matches('/')).unwrap_or(raw));
    let Some(path) = decode(rel).and_then(|d| resolve(root, &d)) else {
        return plain(StatusCode::BAD_REQUEST, "400 Bad Request: that path is not allowed.\n");
    };
    let mut file = if path.is_dir() { path.join("index.html") } else { path };
    if !file.is_file() && spa {
        file = root.join("index.html");
    }
    if !file.is_file() {
        return plain(StatusCode::NOT_FOUND, "404 Not Found\n");
    }
    if !contained(root, &file) {
        return plain(StatusCode::FORBIDDEN, "403 Forbidden\n");
    }
    let h = req.headers();
    // A precompressed sibling, when the client takes it and it is inside the root too.
    let mut encoding = None;
    for (coding, ext) in [("br", "br"), ("gzip", "gz")] {
        let sibling = PathBuf::from(format!("{}.{ext}", file.display()));
        if accepts(h, coding) && sibling.is_file() && contained(root, &sibling) {
            encoding = Some((coding, sibling));
            break;
        }
    }
    let served = encoding.as_ref().map_or(&file, |(_, p)| p);
    let Ok(meta) = std::fs::metadata(served) else { return plain(StatusCode::NOT_FOUND, "404 Not Found\n") };
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let stamp = modified.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}{}\"", meta.len(), stamp, encoding.as_ref().map_or("", |(c, _)| c));
    let last_modified = httpdate::fmt_http_date(modified);

    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, content_type(&file))
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::VARY, "Accept-Encoding");
    if let Some((coding, _)) = &encoding {
        resp = resp.header(header::CONTENT_ENCODING, *coding);
    }
    let not_modified = match h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => h
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| httpdate::parse_http_date(v.to_str().ok()?).ok())
            .is_some_and(|since| modified.duration_since(since).map_or(true, |d| d.as_secs() == 0)),
    };
    if not_modified {
        return resp.status(StatusCode::NOT_MODIFIED).body(full("")).expect("valid response");
    }
    let len = meta.len();
    let (status, start, count) = match range(h, len) {
        None => (StatusCode::OK, 0, len),
        Some(None) => {
            return resp
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(full(""))
                .expect("valid response");
        }
        Some(Some((a, b))) => {
            resp = resp.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"));
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
    };
    resp = resp.status(status).header(header::CONTENT_LENGTH, HeaderValue::from(count));
    if req.method() == Method::HEAD {
        return resp.body(full(Bytes::new())).expect("valid response");
    }
    match body_of(served, start, count).await {
        Ok(body) => resp.body(body).expect("valid response"),
        Err(_) => plain(StatusCode::NOT_FOUND, "404 Not Found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused() {
        let root = Path::new("/srv/site");
        assert_eq!(resolve(root, "/a/b.html").unwrap(), root.join("a/b.html"));
        assert!(resolve(root, "/../etc/passwd").is_none());
        assert!(resolve(root, &decode("/%2e%2e/etc/passwd").unwrap()).is_none());
        assert!(resolve(root, &decode("/a/%2E%2E/%2e%2e/x").unwrap()).is_none());
        assert_eq!(resolve(root, "//etc/passwd").unwrap(), root.join("etc/passwd"), "stays inside");
        assert!(decode("/a%00b").is_none());
        assert!(decode("/a%zz").is_none());
    }

    #[test]
    fn ranges() {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_static("bytes=2-5"));
        assert_eq!(range(&h, 10), Some(Some((2, 5))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-3"));
        assert_eq!(range(&h, 10), Some(Some((7, 9))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=8-"));
        assert_eq!(range(&h, 10), Some(Some((8, 9))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=20-30"));
        assert_eq!(range(&h, 10), Some(None));
    }
}
