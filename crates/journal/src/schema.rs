//! The schema, its version and its migrations.
//!
//! The version lives in `PRAGMA user_version` (in the database header, so it changes in the same
//! transaction as the tables). `MIGRATIONS[i]` takes a journal from version `i` to `i + 1`; a new
//! schema is a new entry at the end, never an edit of an old one, because journals of every earlier
//! version exist on examiners' disks and are evidence of what was done.
//!
//! Tables are `STRICT` (a value of the wrong type is an error, not silently stored). Enum columns have
//! no `CHECK`: adding a variant would then need a table rebuild, and the reader refuses an unknown value
//! anyway ([`crate::JournalError::Corrupt`]). JSON columns hold `serde_json` text.

use rusqlite::{Connection, TransactionBehavior};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first schema.
    "
    CREATE TABLE cases (
        case_id             TEXT NOT NULL PRIMARY KEY,
        examiner            TEXT,
        destination_account TEXT NOT NULL,
        destination_region  TEXT NOT NULL,
        note                TEXT,
        status              TEXT NOT NULL,
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL
    ) STRICT;

    CREATE TABLE acquisitions (
        case_id     TEXT NOT NULL REFERENCES cases (case_id),
        instance_id TEXT NOT NULL,
        plan        TEXT NOT NULL,   -- JSON
        status      TEXT NOT NULL,
        error       TEXT,
        started_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (case_id, instance_id)
    ) STRICT;

    -- One row per intended AWS call. The outcome columns stay NULL until the call's result is known:
    -- outcome is 'ok' (result set) or 'failed' (error_message set).
    -- AUTOINCREMENT: an id is never reused, even after the last row is deleted by hand.
    CREATE TABLE entries (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id       TEXT NOT NULL REFERENCES cases (case_id),
        instance_id   TEXT NOT NULL,
        step_id       TEXT NOT NULL,
        api           TEXT NOT NULL,
        account       TEXT NOT NULL,
        region        TEXT NOT NULL,
        signer        TEXT NOT NULL,
        params        TEXT NOT NULL, -- JSON
        intended_at   TEXT NOT NULL,
        outcome       TEXT,
        result        TEXT,          -- JSON
        error_code    TEXT,
        error_message TEXT,
        request_id    TEXT,
        finished_at   TEXT
    ) STRICT;
    CREATE INDEX entries_by_step ON entries (case_id, instance_id, step_id, api, id);

    CREATE TABLE resources (
        case_id     TEXT NOT NULL REFERENCES cases (case_id),
        instance_id TEXT NOT NULL,
        kind        TEXT NOT NULL,
        id          TEXT NOT NULL,
        account     TEXT NOT NULL,
        region      TEXT NOT NULL,
        temporary   INTEGER NOT NULL,
        detail      TEXT NOT NULL,   -- JSON
        created_at  TEXT NOT NULL,
        removed_at  TEXT,
        removal     TEXT,
        PRIMARY KEY (case_id, kind, id, account, region)
    ) STRICT;
    CREATE INDEX resources_open ON resources (temporary, removed_at);

    CREATE TABLE evidence (
        case_id     TEXT NOT NULL REFERENCES cases (case_id),
        instance_id TEXT NOT NULL,
        volume_id   TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        account     TEXT NOT NULL,
        region      TEXT NOT NULL,
        key_arn     TEXT,
        path        TEXT NOT NULL,
        tags        TEXT NOT NULL,   -- JSON object of strings
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (case_id, volume_id, snapshot_id)
    ) STRICT;
    ",
    // 1 → 2: triage through SSM Run Command (crate custody-triage). Additive: two new tables.
    "
    -- One row per (command, instance): what was sent and the invocation's latest SSM status
    -- (Pending, InProgress, Success, Failed, TimedOut, Cancelled, …, as GetCommandInvocation says).
    CREATE TABLE triage_commands (
        case_id         TEXT NOT NULL REFERENCES cases (case_id),
        command_id      TEXT NOT NULL,
        instance_id     TEXT NOT NULL,
        kind            TEXT NOT NULL,   -- collect | memory
        document        TEXT NOT NULL,
        script_version  TEXT NOT NULL,
        script_sha256   TEXT NOT NULL,   -- of the commands exactly as sent
        output_location TEXT,            -- s3://bucket/prefix/… ; NULL: inline output only
        status          TEXT NOT NULL,
        status_details  TEXT,
        response_code   INTEGER,
        sent_at         TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        PRIMARY KEY (command_id, instance_id)
    ) STRICT;
    CREATE INDEX triage_commands_by_case ON triage_commands (case_id);

    -- Every artifact fetched (an S3 object, or the inline output), with its SHA-256 as received.
    CREATE TABLE triage_artifacts (
        case_id     TEXT NOT NULL REFERENCES cases (case_id),
        command_id  TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        name        TEXT NOT NULL,
        location    TEXT NOT NULL,
        sha256      TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        detail      TEXT NOT NULL,   -- JSON
        content     TEXT,            -- the inline output itself (at most 24,000 characters)
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (command_id, instance_id, name),
        FOREIGN KEY (command_id, instance_id) REFERENCES triage_commands (command_id, instance_id)
    ) STRICT;
    ",
    // 2 → 3: a case acquired from the simulated cloud (`custody acquire --simulate`) says so, so that
    // nobody takes a dry run's "evidence" for real. Additive: a column every older case has as 0.
    "
    ALTER TABLE cases ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
    ",
    // 3 → 4: `custody audit`. Additive: the inventory each acquisition was planned from (the model the
    // audit holds AWS's record against; NULL for acquisitions journaled before), and the CloudTrail
    // events an audit matched to journaled calls.
    "
    ALTER TABLE acquisitions ADD COLUMN inventory TEXT;  -- JSON

    -- One row per (journaled call, CloudTrail event) an audit matched, by request id. An audit run
    -- again replaces the case's rows: the newest audit is the one that saw the most of the record.
    CREATE TABLE audit_events (
        case_id     TEXT NOT NULL REFERENCES cases (case_id),
        entry_id    INTEGER NOT NULL REFERENCES entries (id),
        event_id    TEXT NOT NULL,
        account     TEXT NOT NULL,   -- whose event history holds it
        region      TEXT NOT NULL,
        event_time  TEXT NOT NULL,
        audited_at  TEXT NOT NULL,
        PRIMARY KEY (entry_id, event_id, account)
    ) STRICT;
    CREATE INDEX audit_events_by_case ON audit_events (case_id);
    ",
];

/// What `migrate` found.
pub enum Migration {
    /// The journal is at `SCHEMA_VERSION` (created or migrated if it was older).
    Current,
    /// The journal was written by a newer custody.
    Newer(i64),
    /// The version is negative: no custody wrote this.
    Invalid(i64),
}

/// Brings the schema to `SCHEMA_VERSION`, each step in its own transaction, so a crash mid-migration
/// leaves the journal at the last complete version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Migration> {
    loop {
        // IMMEDIATE: two processes opening an old journal at once must not both migrate it; the second
        // waits for the write lock and then sees the new version.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Ok(Migration::Newer(version));
        }
        let Ok(index) = usize::try_from(version) else {
            return Ok(Migration::Invalid(version));
        };
        let Some(sql) = MIGRATIONS.get(index) else {
            return Ok(Migration::Current);
        };
        tx.execute_batch(sql)?;
        // PRAGMA takes no parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_journal_migrates_to_triage_keeping_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
        conn.execute_batch(
            "INSERT INTO cases VALUES ('IR-1', NULL, '111122223333', 'eu-west-1', NULL, 'running', 't', 't')",
        )
        .unwrap();
        assert!(matches!(migrate(&mut conn).unwrap(), Migration::Current));
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let cases: i64 = conn.query_row("SELECT count(*) FROM cases", [], |r| r.get(0)).unwrap();
        let triage: i64 = conn.query_row("SELECT count(*) FROM triage_commands", [], |r| r.get(0)).unwrap();
        assert_eq!((cases, triage), (1, 0));
        // A case from before `--simulate` was recorded is a real one.
        let simulated: i64 = conn.query_row("SELECT simulated FROM cases", [], |r| r.get(0)).unwrap();
        assert_eq!(simulated, 0);
    }
}
