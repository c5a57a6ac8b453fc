//! Cases and the acquisitions (one per instance) they run.

use rusqlite::{params, OptionalExtension, Row};

use crate::{now, require_case, AcquisitionRecord, Activity, CaseRecord, Fail, Journal, JournalError, NewCase, Status};

const CASE_COLUMNS: &str =
    "case_id, examiner, destination_account, destination_region, note, status, created_at, updated_at, simulated";
const ACQUISITION_COLUMNS: &str = "case_id, instance_id, plan, status, error, started_at, updated_at";

/// A `cases` row as stored, before its enum is parsed.
struct RawCase {
    record: CaseRecord,
    status: String,
}

impl RawCase {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawCase> {
        Ok(RawCase {
            record: CaseRecord {
                case_id: row.get(0)?,
                examiner: row.get(1)?,
                destination_account: row.get(2)?,
                destination_region: row.get(3)?,
                note: row.get(4)?,
                status: Status::Running, // replaced by the parsed `status`
                created_at: row.get(6)?,
                updated_at: row.get(7)?,
                simulated: row.get(8)?,
            },
            status: row.get(5)?,
        })
    }
}

/// An `acquisitions` row as stored, before its JSON and enum are parsed.
struct RawAcquisition {
    case_id: String,
    instance_id: String,
    plan: String,
    status: String,
    error: Option<String>,
    started_at: String,
    updated_at: String,
}

impl RawAcquisition {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawAcquisition> {
        Ok(RawAcquisition {
            case_id: row.get(0)?,
            instance_id: row.get(1)?,
            plan: row.get(2)?,
            status: row.get(3)?,
            error: row.get(4)?,
            started_at: row.get(5)?,
            updated_at: row.get(6)?,
        })
    }
}

impl Journal {
    /// Opens a case, `running`. Fails with [`JournalError::CaseExists`] if the id is taken.
    pub fn create_case(&self, case: &NewCase) -> Result<(), JournalError> {
        self.write("create the case", |tx| {
            let at = now();
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
                 ON CONFLICT (case_id) DO NOTHING"
                ))?
                .execute(params![
                    case.case_id,
                    case.examiner,
                    case.destination_account,
                    case.destination_region,
                    case.note,
                    Status::Running.as_str(),
                    at,
                    case.simulated,
                ])?;
            if inserted == 0 {
                return Err(JournalError::CaseExists(case.case_id.clone()).into());
            }
            Ok(())
        })
    }

    /// The case, if the journal has it.
    pub fn case(&self, case_id: &str) -> Result<Option<CaseRecord>, JournalError> {
        self.read("read the case", |conn| {
            let raw = conn
                .prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_id = ?1"))?
                .query_row([case_id], RawCase::from_row)
                .optional()?;
            raw.map(|raw| self.case_record(raw)).transpose()
        })
    }

    /// Every case, newest first.
    pub fn cases(&self) -> Result<Vec<CaseRecord>, JournalError> {
        self.read("list the cases", |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY created_at DESC, rowid DESC"))?;
            let rows = stmt.query_map([], RawCase::from_row)?;
            rows.map(|raw| self.case_record(raw?)).collect()
        })
    }

    /// The status of `case` as it stands now: the journal's, except that a case it says is `running`
    /// while no process holds its lock ([`crate::lock`]) is `interrupted`: its process died (killed,
    /// crashed, the machine stopped) and only `custody acquire --resume` can finish it. Computed on
    /// each read and never written, so the journal keeps what was recorded. A case with no
    /// acquisition is left as recorded: there is nothing to resume (a triage-only case is never
    /// marked finished).
    pub fn case_status_now(&self, case: &CaseRecord) -> Result<Status, JournalError> {
        if case.status != Status::Running {
            return Ok(case.status);
        }
        let has_acquisitions = self.read("count the acquisitions", |conn| {
            Ok(conn.prepare_cached("SELECT 1 FROM acquisitions WHERE case_id = ?1")?.exists([&case.case_id])?)
        })?;
        Ok(if has_acquisitions { self.status_now(&case.case_id, case.status) } else { case.status })
    }

    /// `status`, recorded for `case_id` or one of its acquisitions, as it stands now: `running`
    /// becomes `interrupted` when no process holds the case's lock (see [`Journal::case_status_now`]).
    /// When the lock cannot be probed, the recorded status stands.
    pub fn status_now(&self, case_id: &str, status: Status) -> Status {
        match (status, self.activity(case_id)) {
            (Status::Running, Ok(Activity::Idle)) => Status::Interrupted,
            (status, _) => status,
        }
    }

    /// Sets a case's status (and its `updated_at`).
    pub fn set_case_status(&self, case_id: &str, status: Status) -> Result<(), JournalError> {
        self.write("set the case status", |tx| {
            let updated = tx
                .prepare_cached("UPDATE cases SET status = ?2, updated_at = ?3 WHERE case_id = ?1")?
                .execute(params![case_id, status.as_str(), now()])?;
            if updated == 0 {
                return Err(JournalError::UnknownCase(case_id.to_string()).into());
            }
            Ok(())
        })
    }

    /// Starts the acquisition of an instance in a case, `running`, with the plan it runs. Fails with
    /// [`JournalError::AcquisitionExists`] if the case already acquires that instance.
    pub fn add_acquisition(
        &self,
        case_id: &str,
        instance_id: &str,
        plan: &serde_json::Value,
    ) -> Result<(), JournalError> {
        self.add_acquisition_planned_from(case_id, instance_id, plan, None)
    }

    /// [`Journal::add_acquisition`], with the inventory the plan was made from (in the same write, so
    /// no acquisition is ever journaled without it): what `custody audit` holds CloudTrail's record
    /// against.
    pub fn add_acquisition_planned_from(
        &self,
        case_id: &str,
        instance_id: &str,
        plan: &serde_json::Value,
        inventory: Option<&serde_json::Value>,
    ) -> Result<(), JournalError> {
        self.write("add the acquisition", |tx| {
            require_case(tx, case_id)?;
            let at = now();
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO acquisitions ({ACQUISITION_COLUMNS}, inventory) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?5, ?6)
                     ON CONFLICT (case_id, instance_id) DO NOTHING"
                ))?
                .execute(params![
                    case_id,
                    instance_id,
                    plan.to_string(),
                    Status::Running.as_str(),
                    at,
                    inventory.map(|i| i.to_string())
                ])?;
            if inserted == 0 {
                return Err(JournalError::AcquisitionExists {
                    case: case_id.to_string(),
                    instance: instance_id.to_string(),
                }
                .into());
            }
            Ok(())
        })
    }

    /// The acquisitions of a case, in the order they were added (empty for an unknown case).
    pub fn acquisitions(&self, case_id: &str) -> Result<Vec<AcquisitionRecord>, JournalError> {
        self.read("list the acquisitions", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ACQUISITION_COLUMNS} FROM acquisitions WHERE case_id = ?1 ORDER BY started_at, rowid"
            ))?;
            let rows = stmt.query_map([case_id], RawAcquisition::from_row)?;
            rows.map(|raw| self.acquisition_record(raw?)).collect()
        })
    }

    /// The acquisition of one instance in a case, if any.
    pub fn acquisition(&self, case_id: &str, instance_id: &str) -> Result<Option<AcquisitionRecord>, JournalError> {
        self.read("read the acquisition", |conn| {
            let raw = conn
                .prepare_cached(&format!(
                    "SELECT {ACQUISITION_COLUMNS} FROM acquisitions WHERE case_id = ?1 AND instance_id = ?2"
                ))?
                .query_row([case_id, instance_id], RawAcquisition::from_row)
                .optional()?;
            raw.map(|raw| self.acquisition_record(raw)).transpose()
        })
    }

    /// Sets an acquisition's status and error (`None` clears a previous error).
    pub fn set_acquisition_status(
        &self,
        case_id: &str,
        instance_id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        self.write("set the acquisition status", |tx| {
            require_case(tx, case_id)?;
            let updated = tx
                .prepare_cached(
                    "UPDATE acquisitions SET status = ?3, error = ?4, updated_at = ?5
                     WHERE case_id = ?1 AND instance_id = ?2",
                )?
                .execute(params![case_id, instance_id, status.as_str(), error, now()])?;
            if updated == 0 {
                return Err(JournalError::UnknownAcquisition {
                    case: case_id.to_string(),
                    instance: instance_id.to_string(),
                }
                .into());
            }
            Ok(())
        })
    }

    fn case_record(&self, raw: RawCase) -> Result<CaseRecord, Fail> {
        let row = format!("case `{}`", raw.record.case_id.escape_default());
        let status = self.variant("cases", "status", &row, &raw.status)?;
        let case_id = self.case_id("cases", &row, raw.record.case_id)?;
        Ok(CaseRecord { status, case_id, ..raw.record })
    }

    fn acquisition_record(&self, raw: RawAcquisition) -> Result<AcquisitionRecord, Fail> {
        let row = format!("case `{}`, instance `{}`", raw.case_id.escape_default(), raw.instance_id);
        Ok(AcquisitionRecord {
            plan: self.json("acquisitions", "plan", &row, &raw.plan)?,
            status: self.variant("acquisitions", "status", &row, &raw.status)?,
            case_id: self.case_id("acquisitions", &row, raw.case_id)?,
            instance_id: raw.instance_id,
            error: raw.error,
            started_at: raw.started_at,
            updated_at: raw.updated_at,
        })
    }
}
