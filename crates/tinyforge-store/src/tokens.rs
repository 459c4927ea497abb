//! API tokens, stored as SHA-256 hashes and compared in constant time.

use rusqlite::params;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{Store, StoreError, hash_secret, new_id, new_secret, now};

/// An API token as listings show it (never its value).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl Store {
    /// Creates a token named `name`; returns its plain value (shown once).
    pub fn create_token(&self, name: &str) -> Result<String, StoreError> {
        let token = format!("tf_{}", new_secret());
        self.db().execute(
            "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![new_id(), name, hash_secret(&token), now()],
        )?;
        Ok(token)
    }

    /// Whether any token exists (first start creates the admin one).
    pub fn has_tokens(&self) -> Result<bool, StoreError> {
        Ok(self.read().query_row("SELECT EXISTS (SELECT 1 FROM api_tokens)", [], |r| r.get(0))?)
    }

    /// The name of the token `token`, if it is one of ours.
    pub fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        let h = hash_secret(token);
        let db = self.read();
        let mut st = db.prepare_cached("SELECT name, token_hash FROM api_tokens WHERE token_hash = ?1")?;
        let mut rows = st.query([&h])?;
        if let Some(r) = rows.next()? {
            let stored: String = r.get(1)?;
            if bool::from(stored.as_bytes().ct_eq(h.as_bytes())) {
                return Ok(Some(r.get(0)?));
            }
        }
        Ok(None)
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let db = self.read();
        let mut st = db.prepare("SELECT id, name, created_at FROM api_tokens ORDER BY created_at, id")?;
        let rows =
            st.query_map([], |r| Ok(TokenRow { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a token.
    pub fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        let n = self.db().execute("DELETE FROM api_tokens WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "token", id: id.to_owned() });
        }
        Ok(())
    }
}
