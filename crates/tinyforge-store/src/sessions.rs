//! The web UI's admin account and sessions (A3): the admin password as an Argon2id PHC string in
//! `settings`, sessions stored by the SHA-256 of their cookie value with a CSRF token each.

use chrono::{Duration, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{Store, StoreError, hash_secret, new_secret, now};

const ADMIN_PASSWORD: &str = "admin_password";

/// A live session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    /// The token forms of this session must carry.
    pub csrf: String,
    pub expires_at: String,
}

impl Store {
    /// The admin password's PHC string, once set.
    pub fn admin_password(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .read()
            .query_row("SELECT value FROM settings WHERE key = ?1", [ADMIN_PASSWORD], |r| r.get(0))
            .optional()?)
    }

    /// Sets the admin password's PHC string; every existing session ends.
    pub fn set_admin_password(&self, phc: &str) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![ADMIN_PASSWORD, phc],
        )?;
        tx.execute("DELETE FROM ui_sessions", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Opens a session lasting `hours`; returns the cookie value (shown once) and the session.
    pub fn create_session(&self, hours: i64) -> Result<(String, SessionRow), StoreError> {
        let token = new_secret();
        let row = SessionRow {
            csrf: new_secret(),
            expires_at: (Utc::now() + Duration::hours(hours))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        let db = self.db();
        db.execute("DELETE FROM ui_sessions WHERE expires_at < ?1", [now()])?;
        db.execute(
            "INSERT INTO ui_sessions (token_hash, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash_secret(&token), row.csrf, now(), row.expires_at],
        )?;
        Ok((token, row))
    }

    /// The unexpired session whose cookie value is `token`.
    pub fn session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT csrf, expires_at FROM ui_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![hash_secret(token), now()],
                |r| Ok(SessionRow { csrf: r.get(0)?, expires_at: r.get(1)? }),
            )
            .optional()?)
    }

    /// Ends the session whose cookie value is `token`.
    pub fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.db().execute("DELETE FROM ui_sessions WHERE token_hash = ?1", [hash_secret(token)])?;
        Ok(())
    }
}
