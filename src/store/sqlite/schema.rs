//! Opening a task-guard database: refuse what is not ours or is newer, never
//! overwrite, migrate what is older.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::store::StoreError;

/// Marks the file as a task-guard database ('TGRD').
const APPLICATION_ID: i64 = 0x5447_5244;

/// Index + 1 is the `user_version` a migration brings the file to.
const MIGRATIONS: &[&str] = &[V1_GUARDS, V2_STATE_INDEXES];

const V1_GUARDS: &str = "CREATE TABLE guards (
        key TEXT PRIMARY KEY NOT NULL,
        idle INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_fence INTEGER NOT NULL,
        record TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX guards_purge ON guards (idle, updated_at);
    CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO meta (name, value) VALUES ('fence_floor', 0);";

/// Each guard's phase and a running run's expiry, derived from the record by
/// SQLite itself (virtual generated columns: computed, not stored), and indexed
/// so `inspect` counts per state and pages a state by index ranges instead of
/// reading every record. Derived in SQL rather than written by this code, so
/// the columns can never disagree with the record, whoever wrote it.
/// Phase: 0 idle, 1 running (stale or not), 2 failed, 3 approved.
const V2_STATE_INDEXES: &str = "ALTER TABLE guards ADD COLUMN phase INTEGER
        GENERATED ALWAYS AS (CASE
            WHEN idle THEN 0
            WHEN json_type(record, '$.phase.Running') IS NOT NULL THEN 1
            WHEN json_type(record, '$.phase.Failed') IS NOT NULL THEN 2
            ELSE 3 END) VIRTUAL;
    ALTER TABLE guards ADD COLUMN expires_at INTEGER
        GENERATED ALWAYS AS (json_extract(record, '$.phase.Running.expires_at')) VIRTUAL;
    CREATE INDEX guards_by_phase ON guards (phase, expires_at);
    CREATE INDEX guards_by_phase_key ON guards (phase, key, expires_at);";

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// synchronous=FULL: a committed grant survives power loss.
    Full,
    /// synchronous=NORMAL: survives a process crash; the last commits may be lost on power loss.
    Normal,
}

pub fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    let shown = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            StoreError::Corrupt(format!("{shown} is not an SQLite database"))
        }
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(format!("{shown} is damaged: {e}")),
        Some(ErrorCode::CannotOpen) => StoreError::Unavailable(format!("cannot open {shown}: {e}")),
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied) => {
            StoreError::Unavailable(format!("{shown} is not writable: {e}"))
        }
        _ => StoreError::Unavailable(format!("{shown}: {e}")),
    }
}

pub fn open(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(StoreError::Unavailable(format!(
                "directory {} does not exist",
                dir.display()
            )));
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| classify(e, path))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| classify(e, path))?;

    // Look before writing anything: switching to WAL rewrites the header of
    // whatever file this is.
    let (tables, app_id, version) = identify(&conn).map_err(|e| classify(e, path))?;
    let ours = app_id == APPLICATION_ID;
    if !ours && (app_id != 0 || tables > 0 || version != 0) {
        return Err(StoreError::Corrupt(format!(
            "{shown} is an SQLite database but not a task-guard one; refusing to touch it"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::Version(format!(
            "{shown} has schema version {version}, newer than this task-guard's {SCHEMA_VERSION}; upgrade task-guard"
        )));
    }

    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| classify(e, path))?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(|e| classify(e, path))?;
    migrate(&mut conn).map_err(|e| classify(e, path))?;
    Ok(conn)
}

fn identify(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok((tables, app_id, version))
}

/// Brings the schema up to date inside one write transaction, re-reading the
/// version there so processes opening a new file together migrate it once.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    if version == 0 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    tx.commit()
}
