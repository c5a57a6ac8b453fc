//! The resources an acquisition creates, their removal, and the evidence items.

use rusqlite::{params, Row};
use std::collections::BTreeMap;

use crate::{now, require_case, Evidence, Fail, Journal, JournalError, NewResource, ResourceKind, ResourceRecord};

const RESOURCE_COLUMNS: &str =
    "case_id, instance_id, kind, id, account, region, temporary, detail, created_at, removed_at, removal";
const EVIDENCE_COLUMNS: &str =
    "case_id, instance_id, volume_id, snapshot_id, account, region, key_arn, path, tags, recorded_at";

/// A `resources` row as stored, before its JSON and enum are parsed.
struct RawResource {
    case_id: String,
    instance_id: String,
    kind: String,
    id: String,
    account: String,
    region: String,
    temporary: bool,
    detail: String,
    created_at: String,
    removed_at: Option<String>,
    removal: Option<String>,
}

impl RawResource {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawResource> {
        Ok(RawResource {
            case_id: row.get(0)?,
            instance_id: row.get(1)?,
            kind: row.get(2)?,
            id: row.get(3)?,
            account: row.get(4)?,
            region: row.get(5)?,
            temporary: row.get(6)?,
            detail: row.get(7)?,
            created_at: row.get(8)?,
            removed_at: row.get(9)?,
            removal: row.get(10)?,
        })
    }
}

/// An `evidence` row as stored: the item with its tags still JSON text.
struct RawEvidence {
    item: Evidence,
    tags: String,
}

impl RawEvidence {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawEvidence> {
        Ok(RawEvidence {
            item: Evidence {
                case_id: row.get(0)?,
                instance_id: row.get(1)?,
                volume_id: row.get(2)?,
                snapshot_id: row.get(3)?,
                account: row.get(4)?,
                region: row.get(5)?,
                key_arn: row.get(6)?,
                path: row.get(7)?,
                tags: Default::default(), // replaced by the parsed `tags`
                recorded_at: row.get(9)?,
            },
            tags: row.get(8)?,
        })
    }
}

impl Journal {
    /// Records a resource custody created. Idempotent on (case, kind, id, account, region): recording
    /// it again changes nothing — unless it had been removed, in which case it was created anew (an
    /// alias re-created by a resumed acquisition, say) and is open again with the new details.
    pub fn record_resource(&self, r: &NewResource) -> Result<(), JournalError> {
        self.write("record the resource", |tx| {
            require_case(tx, &r.case_id)?;
            tx.prepare_cached(&format!(
                "INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL)
                 ON CONFLICT (case_id, kind, id, account, region) DO UPDATE SET
                     instance_id = excluded.instance_id, temporary = excluded.temporary,
                     detail = excluded.detail, created_at = excluded.created_at, removed_at = NULL, removal = NULL
                 WHERE resources.removed_at IS NOT NULL"
            ))?
            .execute(params![
                r.case_id,
                r.instance_id,
                r.kind.as_str(),
                r.id,
                r.account,
                r.region,
                r.temporary,
                r.detail.to_string(),
                now(),
            ])?;
            Ok(())
        })
    }

    /// Records that a resource was removed, and how (`ec2:DeleteSnapshot`, "already gone", …).
    /// Removing it again keeps the first removal.
    pub fn resource_removed(
        &self,
        case_id: &str,
        kind: ResourceKind,
        id: &str,
        account: &str,
        region: &str,
        how: &str,
    ) -> Result<(), JournalError> {
        self.write("record the removal", |tx| {
            require_case(tx, case_id)?;
            let key = params![case_id, kind.as_str(), id, account, region];
            let updated = tx
                .prepare_cached(
                    "UPDATE resources SET removed_at = ?6, removal = ?7
                     WHERE case_id = ?1 AND kind = ?2 AND id = ?3 AND account = ?4 AND region = ?5
                       AND removed_at IS NULL",
                )?
                .execute(params![case_id, kind.as_str(), id, account, region, now(), how])?;
            if updated == 0 {
                let exists = tx
                    .prepare_cached(
                        "SELECT 1 FROM resources
                         WHERE case_id = ?1 AND kind = ?2 AND id = ?3 AND account = ?4 AND region = ?5",
                    )?
                    .exists(key)?;
                if !exists {
                    return Err(JournalError::UnknownResource {
                        case: case_id.to_string(),
                        kind: kind.as_str(),
                        id: id.to_string(),
                        account: account.to_string(),
                        region: region.to_string(),
                    }
                    .into());
                }
            }
            Ok(())
        })
    }

    /// The resources of a case, in the order recorded (empty for an unknown case).
    pub fn resources(&self, case_id: &str) -> Result<Vec<ResourceRecord>, JournalError> {
        self.read("read the resources", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RESOURCE_COLUMNS} FROM resources WHERE case_id = ?1 ORDER BY rowid"
            ))?;
            let rows = stmt.query_map([case_id], RawResource::from_row)?;
            rows.map(|raw| self.resource_record(raw?)).collect()
        })
    }

    /// Temporary resources not yet removed, of one case or (`None`) of every case, by case and in the
    /// order recorded: what `cleanup` has to remove.
    pub fn open_temporaries(&self, case_id: Option<&str>) -> Result<Vec<ResourceRecord>, JournalError> {
        self.read("read the open temporary resources", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RESOURCE_COLUMNS} FROM resources
                 WHERE temporary = 1 AND removed_at IS NULL AND (?1 IS NULL OR case_id = ?1)
                 ORDER BY case_id, rowid"
            ))?;
            let rows = stmt.query_map([case_id], RawResource::from_row)?;
            rows.map(|raw| self.resource_record(raw?)).collect()
        })
    }

    /// Records an evidence item. Idempotent on (case, volume, snapshot): the first record stands.
    /// `recorded_at` is set here; the caller's value is ignored.
    pub fn record_evidence(&self, e: &Evidence) -> Result<(), JournalError> {
        self.write("record the evidence", |tx| {
            require_case(tx, &e.case_id)?;
            let tags: serde_json::Map<String, serde_json::Value> =
                e.tags.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
            let tags = serde_json::Value::Object(tags).to_string();
            tx.prepare_cached(&format!(
                "INSERT INTO evidence ({EVIDENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (case_id, volume_id, snapshot_id) DO NOTHING"
            ))?
            .execute(params![
                e.case_id,
                e.instance_id,
                e.volume_id,
                e.snapshot_id,
                e.account,
                e.region,
                e.key_arn,
                e.path,
                tags,
                now(),
            ])?;
            Ok(())
        })
    }

    /// The evidence items of a case, in the order recorded (empty for an unknown case).
    pub fn evidence(&self, case_id: &str) -> Result<Vec<Evidence>, JournalError> {
        self.read("read the evidence", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE case_id = ?1 ORDER BY rowid"
            ))?;
            let rows = stmt.query_map([case_id], RawEvidence::from_row)?;
            rows.map(|raw| {
                let raw = raw?;
                let row = format!(
                    "case `{}`, volume `{}`, snapshot `{}`",
                    raw.item.case_id.escape_default(),
                    raw.item.volume_id,
                    raw.item.snapshot_id
                );
                let tags = self.json("evidence", "tags", &row, &raw.tags)?;
                let case_id = self.case_id("evidence", &row, raw.item.case_id)?;
                Ok(Evidence { tags, case_id, ..raw.item })
            })
            .collect()
        })
    }

    /// The evidence snapshots of a case that were discarded since they were recorded (only an explicit
    /// `custody cleanup --discard-evidence` removes evidence): snapshot id → when and how, as recorded.
    pub fn discarded_evidence(&self, case_id: &str) -> Result<BTreeMap<String, String>, JournalError> {
        self.read("read the discarded evidence", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.id, r.removed_at, r.removal FROM resources r
                 JOIN evidence e ON e.case_id = r.case_id AND e.snapshot_id = r.id
                 WHERE r.case_id = ?1 AND r.kind = ?2 AND r.removed_at IS NOT NULL
                 ORDER BY r.rowid",
            )?;
            let rows = stmt.query_map(params![case_id, ResourceKind::Snapshot.as_str()], |row| {
                let (id, at, how): (String, String, Option<String>) = (row.get(0)?, row.get(1)?, row.get(2)?);
                Ok((id, format!("{at} ({})", how.as_deref().unwrap_or("how not recorded"))))
            })?;
            Ok(rows.collect::<Result<BTreeMap<_, _>, _>>()?)
        })
    }

    fn resource_record(&self, raw: RawResource) -> Result<ResourceRecord, Fail> {
        let row = format!("{} `{}` of case `{}`", raw.kind, raw.id, raw.case_id.escape_default());
        Ok(ResourceRecord {
            kind: self.variant("resources", "kind", &row, &raw.kind)?,
            detail: self.json("resources", "detail", &row, &raw.detail)?,
            case_id: self.case_id("resources", &row, raw.case_id)?,
            instance_id: raw.instance_id,
            id: raw.id,
            account: raw.account,
            region: raw.region,
            temporary: raw.temporary,
            created_at: raw.created_at,
            removed_at: raw.removed_at,
            removal: raw.removal,
        })
    }
}
