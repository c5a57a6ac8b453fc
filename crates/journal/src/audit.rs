//! What `custody audit` keeps: the inventory each acquisition was planned from, and the CloudTrail
//! events matched to journaled calls.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::{now, require_case, EntryId, Journal, JournalError};

/// One CloudTrail event an audit matched to a journaled call (by request id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditMatch {
    pub entry_id: EntryId,
    /// CloudTrail's `eventID`.
    pub event_id: String,
    /// The account whose event history holds the event (a call across accounts is logged in both).
    pub account: String,
    pub region: String,
    /// CloudTrail's `eventTime`.
    pub event_time: String,
    /// When the audit that matched it ran (as recorded).
    #[serde(default)]
    pub audited_at: String,
}

impl Journal {
    /// Records the inventory `instance_id`'s acquisition in `case_id` was planned from. Fails with
    /// [`JournalError::UnknownAcquisition`] when there is no such acquisition.
    pub fn set_acquisition_inventory(
        &self,
        case_id: &str,
        instance_id: &str,
        inventory: &serde_json::Value,
    ) -> Result<(), JournalError> {
        self.write("record the inventory", |tx| {
            require_case(tx, case_id)?;
            let updated = tx
                .prepare_cached("UPDATE acquisitions SET inventory = ?3 WHERE case_id = ?1 AND instance_id = ?2")?
                .execute(params![case_id, instance_id, inventory.to_string()])?;
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

    /// The inventory the acquisition was planned from; `None` for an acquisition journaled before
    /// custody kept it (or an unknown one).
    pub fn acquisition_inventory(
        &self,
        case_id: &str,
        instance_id: &str,
    ) -> Result<Option<serde_json::Value>, JournalError> {
        self.read("read the inventory", |conn| {
            let text: Option<Option<String>> = conn
                .prepare_cached("SELECT inventory FROM acquisitions WHERE case_id = ?1 AND instance_id = ?2")?
                .query_row([case_id, instance_id], |row| row.get(0))
                .optional()?;
            let row = format!("acquisition {case_id}/{instance_id}");
            text.flatten().map(|t| self.json("acquisitions", "inventory", &row, &t)).transpose()
        })
    }

    /// Replaces the case's matched events with `matches` (an audit run again saw at least as much).
    pub fn record_audit_matches(&self, case_id: &str, matches: &[AuditMatch]) -> Result<(), JournalError> {
        self.write("record the audit's matches", |tx| {
            require_case(tx, case_id)?;
            tx.prepare_cached("DELETE FROM audit_events WHERE case_id = ?1")?.execute([case_id])?;
            let at = now();
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_events
                     (case_id, entry_id, event_id, account, region, event_time, audited_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for m in matches {
                insert.execute(params![case_id, m.entry_id, m.event_id, m.account, m.region, m.event_time, at])?;
            }
            Ok(())
        })
    }

    /// The events the case's latest audit matched, by entry then event time.
    pub fn audit_matches(&self, case_id: &str) -> Result<Vec<AuditMatch>, JournalError> {
        self.read("read the audit's matches", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT entry_id, event_id, account, region, event_time, audited_at FROM audit_events
                 WHERE case_id = ?1 ORDER BY entry_id, event_time, event_id",
            )?;
            let rows = stmt.query_map([case_id], |row| {
                Ok(AuditMatch {
                    entry_id: row.get(0)?,
                    event_id: row.get(1)?,
                    account: row.get(2)?,
                    region: row.get(3)?,
                    event_time: row.get(4)?,
                    audited_at: row.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::{Intent, NewCase};
    use serde_json::json;

    fn journal_with_case() -> Journal {
        let journal = Journal::open_in_memory().unwrap();
        journal
            .create_case(&NewCase {
                case_id: "IR-1".into(),
                examiner: None,
                destination_account: "999999999999".into(),
                destination_region: "us-east-1".into(),
                note: None,
                simulated: false,
            })
            .unwrap();
        journal.add_acquisition("IR-1", "i-1", &json!({})).unwrap();
        journal
    }

    #[test]
    fn the_inventory_is_kept_with_the_acquisition() {
        let journal = journal_with_case();
        assert_eq!(journal.acquisition_inventory("IR-1", "i-1").unwrap(), None);
        journal.set_acquisition_inventory("IR-1", "i-1", &json!({"accounts": []})).unwrap();
        assert_eq!(journal.acquisition_inventory("IR-1", "i-1").unwrap(), Some(json!({"accounts": []})));
        assert!(journal.set_acquisition_inventory("IR-1", "i-2", &json!({})).is_err());
    }

    #[test]
    fn a_second_audit_replaces_the_first_ones_matches() {
        let journal = journal_with_case();
        let entry = journal
            .intend(&Intent {
                case_id: "IR-1".into(),
                instance_id: "i-1".into(),
                step_id: "create-snapshots".into(),
                api: "ec2:CreateSnapshots".into(),
                account: "111122223333".into(),
                region: "us-east-1".into(),
                signer: "arn:aws:iam::111122223333:role/R".into(),
                params: json!({}),
            })
            .unwrap();
        let m = |event: &str| AuditMatch {
            entry_id: entry,
            event_id: event.into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_time: "2026-12-05T10:00:00Z".into(),
            audited_at: String::new(),
        };
        journal.record_audit_matches("IR-1", &[m("e-1")]).unwrap();
        journal.record_audit_matches("IR-1", &[m("e-2"), m("e-3")]).unwrap();
        let ids: Vec<String> = journal.audit_matches("IR-1").unwrap().into_iter().map(|m| m.event_id).collect();
        assert_eq!(ids, ["e-2", "e-3"]);
        assert!(journal.record_audit_matches("IR-9", &[]).is_err());
    }
}
