//! Signature checks (W3), each vendor's exact scheme, all compares in constant time. Called only
//! when the trigger has a signing secret; then an unsigned or mis-signed delivery is refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Decoded, Vendor, header};

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header that should carry the signature is missing or empty.
    #[error("missing signature: this trigger requires `{0}`")]
    Missing(&'static str),
    /// It does not match.
    #[error("signature mismatch in `{0}`")]
    Mismatch(&'static str),
    /// Standard Webhooks timestamp outside ±5 minutes.
    #[error("stale delivery: webhook-timestamp is more than 5 minutes away")]
    Stale,
    /// The vendor cannot sign (Docker Hub, Quay): the URL secret is its only credential.
    #[error("{0} cannot sign deliveries: remove the trigger's signing secret and rely on the URL secret")]
    Unsupported(&'static str),
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// `prefix` + lower-case hex HMAC-SHA256(secret, msg) in header `name`.
fn hex_sig(
    h: &HeaderMap,
    name: &'static str,
    prefix: &str,
    secret: &str,
    msg: &[u8],
) -> Result<(), SignatureError> {
    let got = header(h, name).ok_or(SignatureError::Missing(name))?;
    let hex_part = got.strip_prefix(prefix).ok_or(SignatureError::Mismatch(name))?;
    if hex_part.is_empty() {
        return Err(SignatureError::Missing(name));
    }
    let got = hex::decode(hex_part.to_ascii_lowercase()).map_err(|_| SignatureError::Mismatch(name))?;
    if eq(&got, &hmac256(secret.as_bytes(), &[msg])) { Ok(()) } else { Err(SignatureError::Mismatch(name)) }
}

/// Standard Webhooks: `webhook-signature: v1,<b64>[ v1,<b64>…]` over `id.timestamp.body`, key =
/// base64 of the secret without `whsec_` (or the raw secret when it is not base64).
fn standard_webhooks(h: &HeaderMap, secret: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let sig = header(h, "webhook-signature").ok_or(SignatureError::Missing("webhook-signature"))?;
    let id = header(h, "webhook-id").ok_or(SignatureError::Missing("webhook-id"))?;
    let ts = header(h, "webhook-timestamp").ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let t: i64 = ts.parse().map_err(|_| SignatureError::Mismatch("webhook-timestamp"))?;
    if (now - t).abs() > 300 {
        return Err(SignatureError::Stale);
    }
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = B64.decode(raw).unwrap_or_else(|_| raw.as_bytes().to_vec());
    let want = hmac256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    let ok = sig
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| B64.decode(b).ok())
        .any(|got| eq(&got, &want));
    if ok { Ok(()) } else { Err(SignatureError::Mismatch("webhook-signature")) }
}

/// A static shared value in `Authorization` (registries): the secret, or `Bearer <secret>`.
fn authorization(h: &HeaderMap, secret: &str) -> Result<(), SignatureError> {
    let got = header(h, "authorization").ok_or(SignatureError::Missing("Authorization"))?;
    let got = got.strip_prefix("Bearer ").unwrap_or(got);
    if eq(got.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch("Authorization"))
    }
}

/// Verifies `d` (raw body `raw`) against the trigger's signing `secret`, at unix time `now`.
pub fn verify(d: &Decoded, h: &HeaderMap, raw: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    match d.vendor {
        Vendor::GitHub => hex_sig(h, "x-hub-signature-256", "sha256=", secret, raw),
        Vendor::Bitbucket => hex_sig(h, "x-hub-signature", "sha256=", secret, raw),
        // Gitea-family sign the JSON payload, even when the body is form-encoded.
        Vendor::Forgejo => hex_sig(h, "x-forgejo-signature", "", secret, &d.payload_bytes),
        Vendor::Gitea => hex_sig(h, "x-gitea-signature", "", secret, &d.payload_bytes),
        Vendor::Gogs => hex_sig(h, "x-gogs-signature", "", secret, &d.payload_bytes),
        Vendor::GitLab if header(h, "webhook-signature").is_some() => standard_webhooks(h, secret, raw, now),
        Vendor::GitLab => {
            let got = header(h, "x-gitlab-token").ok_or(SignatureError::Missing("X-Gitlab-Token"))?;
            if eq(got.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(SignatureError::Mismatch("X-Gitlab-Token"))
            }
        }
        Vendor::Generic if header(h, "webhook-signature").is_some() => standard_webhooks(h, secret, raw, now),
        Vendor::Generic => hex_sig(h, "x-hub-signature-256", "sha256=", secret, raw),
        Vendor::Distribution | Vendor::Harbor | Vendor::HarborCloudEvents | Vendor::Ecr => {
            authorization(h, secret)
        }
        Vendor::DockerHub => Err(SignatureError::Unsupported("Docker Hub")),
        Vendor::Quay => Err(SignatureError::Unsupported("Quay")),
    }
}

/// Computes what a sender puts in its signature header (for tests, docs and the CLI).
pub fn sign_hex(secret: &str, msg: &[u8]) -> String {
    hex::encode(hmac256(secret.as_bytes(), &[msg]))
}
