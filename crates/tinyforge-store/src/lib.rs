//! tinyforge's state in one SQLite file (WAL): workloads and their env, triggers, bindings, the
//! deploy queue and history, the containers index, webhook deliveries, events and API tokens.
//!
//! Calls are synchronous and short (one statement or one small transaction on a local file); the
//! connection sits behind a mutex. Secret values (env marked secret, trigger signing secrets) are
//! sealed here, so no caller can store them in plain.

mod containers;
mod deliveries;
mod deployments;
mod events;
mod migrations;
mod notifications;
mod seal;
mod sessions;
mod tokens;
mod triggers;
mod workloads;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use containers::ContainerRow;
pub use deliveries::{DeliveryRow, NewDelivery};
pub use deployments::{DeploymentRow, DeploymentStatus, NewDeployment};
pub use events::EventRow;
pub use notifications::{EndpointRow, NotificationDeliveryRow};
pub use seal::{Sealer, random_bytes, write_private};
pub use sessions::SessionRow;
pub use tokens::TokenRow;
pub use triggers::{BindingRow, TriggerRow};
pub use workloads::WorkloadRow;

/// Read-only connections beside the writer.
const READERS: usize = 3;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row with that id.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// What was looked for (`workload`, `trigger`, …).
        what: &'static str,
        /// The id or name asked for.
        id: String,
    },
    /// A unique name or pair already exists.
    #[error("{0}")]
    Conflict(String),
    /// The EncKey is missing, malformed, or does not open a sealed value.
    #[error("encryption key: {0}")]
    Key(String),
    /// SQLite failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// The store. Share it behind an `Arc`.
pub struct Store {
    conn: Mutex<Connection>,
    /// Read-only connections for lookups, so reads do not queue behind writes (WAL lets them run
    /// concurrently with the writer).
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    sealer: Sealer,
}

/// Now, as stored (RFC 3339, UTC, milliseconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// SHA-256 of a secret, hex: how URL secrets and API tokens are stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random secret: 32 bytes, URL-safe hex.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    hex::encode(b)
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path, sealer: Sealer) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        // busy_timeout before the WAL switch, or a racing opener fails without waiting.
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&conn)?;
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            r.pragma_update(None, "busy_timeout", 5000)?;
            readers.push(Mutex::new(r));
        }
        Ok(Self { conn: Mutex::new(conn), readers, next_reader: Default::default(), sealer })
    }

    /// The sealer this store seals with.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// A read-only connection: a free one when there is, else the next in turn.
    fn read(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(g) = r.try_lock() {
                return g;
            }
        }
        let i = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Maps a UNIQUE violation to [`StoreError::Conflict`] with `msg`.
fn conflict(e: rusqlite::Error, msg: impl FnOnce() -> String) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(msg())
        }
        e => StoreError::Db(e),
    }
}

fn json_col(s: String) -> serde_json::Value {
    serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
}
