//! `application/x-www-form-urlencoded` bodies (`payload=<urlencoded JSON>`), as GitHub, Gitea and
//! Forgejo send when so configured.

use http::HeaderMap;

use crate::{ParseError, header};

/// The JSON payload's bytes: the body itself, or the decoded `payload` form field.
pub fn payload_bytes(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, ParseError> {
    let is_form = header(headers, "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        || body.starts_with(b"payload=");
    if !is_form {
        return Ok(body.to_vec());
    }
    for pair in body.split(|b| *b == b'&') {
        if let Some(v) = pair.strip_prefix(b"payload=") {
            return url_decode(v)
                .ok_or_else(|| ParseError("the form field `payload` is not valid URL encoding".into()));
        }
    }
    Err(ParseError("a form-encoded delivery must carry a `payload` field".into()))
}

fn url_decode(v: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(v.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_payload_field() {
        let h = HeaderMap::new();
        assert_eq!(payload_bytes(&h, b"payload=%7B%22a%22%3A+1%7D").unwrap(), b"{\"a\": 1}");
        assert!(payload_bytes(&h, b"payload=%zz").is_err());
        assert_eq!(payload_bytes(&h, b"{\"x\":1}").unwrap(), b"{\"x\":1}");
    }
}
