//! Secret fields inside source configs (X3): found through the kind's schema (`writeOnly`),
//! sealed before storing, opened only for plugins, redacted in answers.

use serde_json::Value;
use tinyforge_plugin::schema::for_each_secret;
use tinyforge_store::{Sealer, StoreError};

/// What answers show instead of a secret value.
pub const REDACTED: &str = "********";

/// Seals every secret field of `config` (values already sealed are kept).
pub fn seal_config(schema: &Value, config: &Value, sealer: &Sealer) -> Value {
    let mut out = config.clone();
    for_each_secret(schema, &mut out, &mut |s| {
        if !Sealer::is_sealed(s) {
            *s = sealer.seal(s);
        }
    });
    out
}

/// Opens every sealed secret field of `config`.
pub fn open_config(schema: &Value, config: &Value, sealer: &Sealer) -> Result<Value, StoreError> {
    let mut out = config.clone();
    let mut err = None;
    for_each_secret(schema, &mut out, &mut |s| {
        if Sealer::is_sealed(s) {
            match sealer.open(s) {
                Ok(p) => *s = p,
                Err(e) => err = Some(e),
            }
        }
    });
    err.map_or(Ok(out), Err)
}

/// Replaces every secret field of `config` with [`REDACTED`].
pub fn redact_config(schema: &Value, config: &Value) -> Value {
    let mut out = config.clone();
    for_each_secret(schema, &mut out, &mut |s| *s = REDACTED.to_owned());
    out
}

/// In an updated config, a secret left as [`REDACTED`] keeps its stored (sealed) value.
pub fn keep_redacted(schema: &Value, updated: &Value, stored: &Value) -> Value {
    let mut old = Vec::new();
    let mut stored = stored.clone();
    for_each_secret(schema, &mut stored, &mut |s| old.push(s.clone()));
    // Walks visit fields in the same order for the same shape; only keep when shapes agree.
    let mut new_count = 0;
    let mut probe = updated.clone();
    for_each_secret(schema, &mut probe, &mut |_| new_count += 1);
    let mut out = updated.clone();
    if new_count == old.len() {
        let mut it = old.into_iter();
        for_each_secret(schema, &mut out, &mut |s| {
            let prev = it.next();
            if s == REDACTED
                && let Some(p) = prev
            {
                *s = p;
            }
        });
    }
    out
}
