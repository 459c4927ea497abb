//! DNS providers (X4): records for every public face are created or updated after a deploy and
//! removed on teardown. RFC 2136 dynamic updates signed with TSIG, and Cloudflare's REST API.
//! No provider configured = wildcard DNS: nothing is done.

mod cloudflare;
mod rfc2136;

pub use cloudflare::Cloudflare;

/// Cloudflare's public API base URL.
pub fn cloudflare_api() -> &'static str {
    cloudflare::API
}
pub use rfc2136::Rfc2136;
