//! Steps: the intent recorded before each mutating AWS call, the outcome after.

use rusqlite::{params, OptionalExtension, Row};

use crate::{now, require_case, Entry, EntryId, Fail, Intent, Journal, JournalError, Outcome};

const ENTRY_COLUMNS: &str = "id, case_id, instance_id, step_id, api, account, region, signer, params, intended_at, \
     outcome, result, error_code, error_message, request_id, finished_at";

/// The `outcome` column's values.
const OK: &str = "ok";
const FAILED: &str = "failed";

/// An `entries` row as stored, before its JSON and outcome are parsed.
struct RawEntry {
    id: EntryId,
    case_id: String,
    instance_id: String,
    step_id: String,
    api: String,
    account: String,
    region: String,
    signer: String,
    params: String,
    intended_at: String,
    outcome: Option<String>,
    result: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    request_id: Option<String>,
    finished_at: Option<String>,
}

impl RawEntry {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawEntry> {
        Ok(RawEntry {
            id: row.get(0)?,
            case_id: row.get(1)?,
            instance_id: row.get(2)?,
            step_id: row.get(3)?,
            api: row.get(4)?,
            account: row.get(5)?,
            region: row.get(6)?,
            signer: row.get(7)?,
            params: row.get(8)?,
            intended_at: row.get(9)?,
            outcome: row.get(10)?,
            result: row.get(11)?,
            error_code: row.get(12)?,
            error_message: row.get(13)?,
            request_id: row.get(14)?,
            finished_at: row.get(15)?,
        })
    }
}

impl Journal {
    /// Records that a call is about to be made, and returns the entry's id for its outcome. The
    /// transaction is committed, and on disk, when this returns: only then may the call be made.
    pub fn intend(&self, intent: &Intent) -> Result<EntryId, JournalError> {
        self.write("record the intent", |tx| {
            require_case(tx, &intent.case_id)?;
            tx.prepare_cached(
                "INSERT INTO entries
                     (case_id, instance_id, step_id, api, account, region, signer, params, intended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                intent.case_id,
                intent.instance_id,
                intent.step_id,
                intent.api,
                intent.account,
                intent.region,
                intent.signer,
                intent.params.to_string(),
                now(),
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Records what came of an intended call. An entry has at most one outcome: recording a second
    /// fails with [`JournalError::OutcomeRecorded`] (a retry is a new intent).
    pub fn record_outcome(&self, id: EntryId, outcome: &Outcome) -> Result<(), JournalError> {
        self.write("record the outcome", |tx| {
            let (kind, result, code, message, request_id) = match outcome {
                Outcome::Ok { result, request_id } => (OK, Some(result.to_string()), None, None, request_id),
                Outcome::Failed { code, message, request_id } => {
                    (FAILED, None, code.as_deref(), Some(message.as_str()), request_id)
                }
            };
            let updated = tx
                .prepare_cached(
                    "UPDATE entries
                     SET outcome = ?2, result = ?3, error_code = ?4, error_message = ?5, request_id = ?6,
                         finished_at = ?7
                     WHERE id = ?1 AND outcome IS NULL",
                )?
                .execute(params![id, kind, result, code, message, request_id, now()])?;
            if updated == 0 {
                let exists = tx.prepare_cached("SELECT 1 FROM entries WHERE id = ?1")?.exists([id])?;
                return Err(
                    if exists { JournalError::OutcomeRecorded(id) } else { JournalError::UnknownEntry(id) }.into()
                );
            }
            Ok(())
        })
    }

    /// Every entry of the case, in the order intended (empty for an unknown case).
    pub fn entries(&self, case_id: &str) -> Result<Vec<Entry>, JournalError> {
        self.read("read the entries", |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE case_id = ?1 ORDER BY id"))?;
            let rows = stmt.query_map([case_id], RawEntry::from_row)?;
            rows.map(|raw| self.entry(raw?)).collect()
        })
    }

    /// Entries of the case that were intended and have no outcome: calls that may or may not have
    /// taken effect, in the order intended.
    pub fn unfinished(&self, case_id: &str) -> Result<Vec<Entry>, JournalError> {
        self.read("read the unfinished entries", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE case_id = ?1 AND outcome IS NULL ORDER BY id"
            ))?;
            let rows = stmt.query_map([case_id], RawEntry::from_row)?;
            rows.map(|raw| self.entry(raw?)).collect()
        })
    }

    /// The entry with this id, if any.
    pub fn entry_by_id(&self, id: EntryId) -> Result<Option<Entry>, JournalError> {
        self.read("read the entry", |conn| {
            let raw = conn
                .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE id = ?1"))?
                .query_row([id], RawEntry::from_row)
                .optional()?;
            raw.map(|raw| self.entry(raw)).transpose()
        })
    }

    /// The latest entry for this call of this step, if any: what resume needs to know (completed ok,
    /// failed, or intended with no outcome).
    pub fn last_entry(
        &self,
        case_id: &str,
        instance_id: &str,
        step_id: &str,
        api: &str,
    ) -> Result<Option<Entry>, JournalError> {
        self.read("read the last entry", |conn| {
            let raw = conn
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries
                     WHERE case_id = ?1 AND instance_id = ?2 AND step_id = ?3 AND api = ?4
                     ORDER BY id DESC LIMIT 1"
                ))?
                .query_row([case_id, instance_id, step_id, api], RawEntry::from_row)
                .optional()?;
            raw.map(|raw| self.entry(raw)).transpose()
        })
    }

    fn entry(&self, raw: RawEntry) -> Result<Entry, Fail> {
        let row = format!("entry {}", raw.id);
        let outcome = match raw.outcome.as_deref() {
            None => None,
            Some(OK) => {
                let Some(result) = raw.result else {
                    return Err(self.corrupt("entries", "result", &row, "missing for an `ok` outcome"));
                };
                Some(Outcome::Ok { result: self.json("entries", "result", &row, &result)?, request_id: raw.request_id })
            }
            Some(FAILED) => {
                let Some(message) = raw.error_message else {
                    return Err(self.corrupt("entries", "error_message", &row, "missing for a `failed` outcome"));
                };
                Some(Outcome::Failed { code: raw.error_code, message, request_id: raw.request_id })
            }
            Some(other) => {
                return Err(self.corrupt(
                    "entries",
                    "outcome",
                    &row,
                    format_args!("`{other}` is neither `{OK}` nor `{FAILED}`"),
                ))
            }
        };
        Ok(Entry {
            id: raw.id,
            intent: Intent {
                params: self.json("entries", "params", &row, &raw.params)?,
                case_id: self.case_id("entries", &row, raw.case_id)?,
                instance_id: raw.instance_id,
                step_id: raw.step_id,
                api: raw.api,
                account: raw.account,
                region: raw.region,
                signer: raw.signer,
            },
            intended_at: raw.intended_at,
            outcome,
            finished_at: raw.finished_at,
        })
    }
}
