//! Schema migrations, tracked in `PRAGMA user_version`; each runs once, in order, in a transaction.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE workloads (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    source_kind   TEXT NOT NULL,
    source_config TEXT NOT NULL,            -- JSON; secret fields sealed
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE workload_env (
    workload_id TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,              -- sealed when secret = 1
    secret      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workload_id, key)
);
CREATE TABLE triggers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    config         TEXT NOT NULL,
    secret_hash    TEXT NOT NULL UNIQUE,    -- SHA-256 of the URL secret
    signing_secret TEXT,                    -- sealed
    poll_state     TEXT,                    -- polling kinds: what the last poll saw
    created_at     TEXT NOT NULL
);
CREATE TABLE workload_trigger_bindings (
    id             TEXT PRIMARY KEY,
    workload_id    TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
    trigger_id     TEXT NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
    enabled        INTEGER NOT NULL DEFAULT 1,
    binding_config TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL,
    last_fired_at  TEXT,                    -- scheduled kinds: last tick handled
    UNIQUE (workload_id, trigger_id)
);
CREATE INDEX bindings_by_trigger ON workload_trigger_bindings(trigger_id);
CREATE TABLE deployments (
    id            TEXT PRIMARY KEY,
    workload_id   TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
    status        TEXT NOT NULL,            -- queued running succeeded failed superseded interrupted
    intent        TEXT NOT NULL,            -- JSON DeploymentIntent
    triggered_by  TEXT NOT NULL,
    source_config TEXT NOT NULL,            -- snapshot used (secrets sealed), for rollback
    version       TEXT,
    outcome       TEXT,
    error         TEXT,
    queued_at     TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT
);
CREATE INDEX deployments_by_workload ON deployments(workload_id, queued_at);
CREATE INDEX deployments_by_status ON deployments(status);
CREATE TABLE containers (
    id            TEXT PRIMARY KEY,
    workload_id   TEXT NOT NULL,
    deployment_id TEXT,
    name          TEXT NOT NULL,
    running       INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    id                 TEXT PRIMARY KEY,
    trigger_id         TEXT NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
    vendor             TEXT NOT NULL,
    vendor_delivery_id TEXT,
    event              TEXT,
    headers            TEXT NOT NULL,       -- JSON, secret headers removed
    body               BLOB NOT NULL,       -- truncated to the stored limit
    verdict            TEXT NOT NULL,       -- accepted rejected duplicate ignored invalid
    summary            TEXT NOT NULL,
    received_at        TEXT NOT NULL
);
CREATE INDEX deliveries_by_trigger ON webhook_deliveries(trigger_id, received_at);
CREATE INDEX deliveries_by_vendor_id ON webhook_deliveries(trigger_id, vendor_delivery_id);
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    workload_id TEXT,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE TABLE notification_endpoints (
    id          TEXT PRIMARY KEY,
    workload_id TEXT REFERENCES workloads(id) ON DELETE CASCADE,  -- NULL: every workload
    url         TEXT NOT NULL,
    secret      TEXT,                       -- sealed; NULL: the global secret applies
    format      TEXT NOT NULL,              -- json | chat
    kinds       TEXT NOT NULL,              -- JSON array of kind prefixes; [] = all
    created_at  TEXT NOT NULL
);
CREATE TABLE notification_deliveries (
    id          TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES notification_endpoints(id) ON DELETE CASCADE,
    event_seq   INTEGER NOT NULL,
    status      TEXT NOT NULL,              -- delivered | failed
    attempts    INTEGER NOT NULL,
    response    TEXT,
    at          TEXT NOT NULL
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                     -- sealed for secrets
);
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE ui_sessions (
    token_hash TEXT PRIMARY KEY,            -- SHA-256 of the cookie value
    csrf       TEXT NOT NULL,               -- the token every form of this session carries
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"#,
    r#"
-- The queue's lookups by partial indexes: superseding a workload's queued deployments and
-- claiming the oldest queued one no longer scan (and sort) every queued row; with 1,000 queued
-- rows that made a fan-out quadratic.
DROP INDEX deployments_by_status;
CREATE INDEX deployments_queued ON deployments(workload_id) WHERE status = 'queued';
CREATE INDEX deployments_queue_order ON deployments(queued_at) WHERE status = 'queued';
CREATE INDEX deployments_running ON deployments(workload_id) WHERE status = 'running';
"#,
];

/// Applies every migration newer than the database's `user_version`.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1))?;
    }
    Ok(())
}
