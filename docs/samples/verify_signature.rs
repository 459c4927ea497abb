// Verifying a tinyforge notification in Rust (crates: hmac 0.13, sha2 0.11, hex 0.4).
// Header: X-Tinyforge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

/// True when `header` signs `body` with `secret` and its timestamp is within `tolerance_secs`
/// of `now` (unix seconds). The comparison is constant-time.
pub fn verify_tinyforge_signature(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    sigs.iter().any(|sig| {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}
