//! What the plan is about, resolved once: the instance, the accounts and Regions, the roles custody
//! signs with (and their session ARNs), the forensic key, and the snapshots and keys the plan will
//! create, under the names [`super::names`] gives them.

use super::names::{arn_field, placeholder};
use super::{PlanError, PlanRequest, EVIDENCE_TAG_VALUE, TAG_CASE, TAG_EVIDENCE, TAG_INSTANCE, TAG_RUN, TAG_VOLUME};
use crate::inventory::arn::is_account_id;
use crate::inventory::{Instance, Inventory, Key, Volume};

/// A role custody signs calls with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signer {
    /// `arn:aws:iam::<acct>:role/<path/>name`.
    pub role_arn: String,
    /// `arn:aws:sts::<acct>:assumed-role/<name>/custody-<case>`.
    pub session: String,
    /// The role session name alone (the last part of `session`).
    pub session_name: String,
    pub account: String,
}

/// A KMS key, by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRef {
    pub arn: String,
    pub region: String,
    pub account: String,
}

impl KeyRef {
    pub fn parse(arn: &str) -> KeyRef {
        KeyRef { arn: arn.to_string(), region: arn_field(arn, 3).to_string(), account: arn_field(arn, 4).to_string() }
    }
}

/// A snapshot: existing (or planned, with a placeholder ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapRef {
    pub id: String,
    pub account: String,
    pub region: String,
    /// The tags custody put on it when it created it.
    pub tags: Vec<(String, String)>,
    /// For a CreateSnapshots product: the volume it was taken from.
    pub parent_volume: Option<String>,
    /// The key and `aws:ebs:id` of its data, when encrypted.
    pub key: Option<KeyRef>,
    pub ebs_id: Option<String>,
}

/// Everything resolved for one plan.
pub(crate) struct Ctx<'a> {
    pub inventory: &'a Inventory,
    pub instance: &'a Instance,
    pub partition: String,
    pub case_id: String,
    /// The run that carries the plan out (tagged on everything it creates).
    pub run_id: String,
    pub src_account: String,
    pub src_region: String,
    pub dst_account: String,
    pub dst_region: String,
    /// The role custody runs as (`config.forensic_role_arn`).
    pub forensic: Signer,
    /// The role custody acts as in the source account.
    pub source: Signer,
    /// The role custody acts as in the destination account (`Err` when it has none: an error only
    /// if a volume needs it).
    pub dest: Result<Signer, PlanError>,
    /// `config.forensic_key_arns[dest Region]`.
    pub forensic_key: Option<KeyRef>,
}

impl<'a> Ctx<'a> {
    pub fn new(inventory: &'a Inventory, request: &PlanRequest) -> Result<Ctx<'a>, PlanError> {
        let config = &inventory.config;
        let case_id = request.case_id.clone();
        if crate::CaseId::parse(&case_id).is_err() {
            return Err(PlanError::BadCaseId { case_id });
        }
        if !super::is_run_id(&request.run_id) {
            return Err(PlanError::BadRunId { run_id: request.run_id.clone() });
        }
        let instance = inventory.instance(&request.instance_id).ok_or_else(|| PlanError::UnknownInstance {
            instance_id: request.instance_id.clone(),
            known: inventory.instances.iter().map(|i| i.id.clone()).collect(),
        })?;
        if let Some(state @ ("terminated" | "shutting-down")) = instance.state.as_deref() {
            return Err(PlanError::InstanceGone { instance_id: instance.id.clone(), state: state.to_string() });
        }
        if instance.volumes.is_empty() {
            return Err(PlanError::NoVolumes {
                instance_id: instance.id.clone(),
                unknown: instance.unknown.iter().any(|u| u == "volumes"),
            });
        }
        let session_name = super::session_name(&case_id);
        let forensic = signer(&config.forensic_role_arn, &session_name, "config.forensic_role_arn")?;
        let partition = arn_field(&config.forensic_role_arn, 1).to_string();
        // The role custody acts as in an account: its source role, or in the forensic account the
        // forensic role unless a source role is configured for it (`Inventory::source_role_arn`).
        let role_for = |account: &str| -> Option<Result<Signer, PlanError>> {
            inventory.source_role_arn(account).map(|arn| {
                if arn == config.forensic_role_arn {
                    Ok(forensic.clone())
                } else {
                    signer(arn, &session_name, &format!("config.source_role_arns.{account}"))
                }
            })
        };
        let source = role_for(&instance.account).ok_or_else(|| PlanError::NoSourceRole {
            account: instance.account.clone(),
            instance_id: instance.id.clone(),
        })??;
        let dst_account = request.to_account.clone().unwrap_or_else(|| config.forensic_account.clone());
        if !is_account_id(&dst_account) {
            return Err(PlanError::BadAccount { account: dst_account });
        }
        let dst_region = request.to_region.clone().unwrap_or_else(|| config.forensic_region.clone());
        // Evidence in the forensic account belongs to the forensic role; elsewhere, to the role custody
        // acts as there.
        let dest_role =
            if dst_account == config.forensic_account { Some(Ok(forensic.clone())) } else { role_for(&dst_account) };
        let dest = dest_role.unwrap_or_else(|| {
            Err(PlanError::NoDestinationRole {
                account: dst_account.clone(),
                forensic_account: config.forensic_account.clone(),
            })
        });
        let forensic_key = inventory.forensic_key_arn(&dst_region).map(KeyRef::parse);
        Ok(Ctx {
            inventory,
            instance,
            partition,
            case_id,
            run_id: request.run_id.clone(),
            src_account: instance.account.clone(),
            src_region: instance.region.clone(),
            dst_account,
            dst_region,
            forensic,
            source,
            dest,
            forensic_key,
        })
    }

    /// True when the destination is the source account.
    pub fn same_account(&self) -> bool {
        self.src_account == self.dst_account
    }

    /// True when the destination is the source Region.
    pub fn same_region(&self) -> bool {
        self.src_region == self.dst_region
    }

    /// The destination role, or why there is none.
    pub fn dest(&self) -> Result<&Signer, PlanError> {
        self.dest.as_ref().map_err(Clone::clone)
    }

    /// The key with this ARN, if the inventory has it.
    pub fn key(&self, arn: &str) -> Option<&'a Key> {
        self.inventory.key(arn)
    }

    /// The AWS managed `aws/ebs` key of an account and Region, if the inventory has it.
    pub fn default_ebs_key(&self, account: &str, region: &str) -> Option<&'a Key> {
        self.inventory.keys.iter().find(|k| {
            let r = KeyRef::parse(&k.arn);
            r.account == account
                && r.region == region
                && k.manager == crate::inventory::KeyManager::Aws
                && (k.aliases.is_empty() || k.aliases.iter().any(|a| a == "alias/aws/ebs"))
        })
    }

    /// EBS encryption by default where custody makes a copy or a volume of unencrypted data.
    pub fn encryption_by_default(&self, account: &str, region: &str) -> crate::inventory::EncryptionByDefault<'a> {
        self.inventory.ebs_encryption_default(account, region)
    }

    /// `arn:<p>:ec2:<r>:<acct>:instance/<id>`.
    pub fn instance_arn(&self) -> String {
        format!("arn:{}:ec2:{}:{}:instance/{}", self.partition, self.src_region, self.src_account, self.instance.id)
    }

    /// `arn:<p>:ec2:<r>:<acct>:volume/<id>`.
    pub fn volume_arn(&self, volume: &Volume) -> String {
        format!("arn:{}:ec2:{}:{}:volume/{}", self.partition, self.src_region, self.src_account, volume.id)
    }

    /// `arn:<p>:ec2:<r>::snapshot/<id>` (snapshot ARNs carry no account, map §0).
    pub fn snapshot_arn(&self, region: &str, id: &str) -> String {
        format!("arn:{}:ec2:{region}::snapshot/{id}", self.partition)
    }

    /// The tags on every snapshot custody creates.
    pub fn case_tags(&self) -> Vec<(String, String)> {
        vec![
            (TAG_CASE.to_string(), self.case_id.clone()),
            (TAG_INSTANCE.to_string(), self.instance.id.clone()),
            (TAG_RUN.to_string(), self.run_id.clone()),
        ]
    }

    /// The tags on the per-volume copies.
    pub fn volume_tags(&self, volume: &Volume) -> Vec<(String, String)> {
        let mut tags = self.case_tags();
        tags.push((TAG_VOLUME.to_string(), volume.id.clone()));
        tags
    }

    /// The snapshot CreateSnapshots makes of `volume` (placeholder ID).
    pub fn source_snapshot(&self, volume: &Volume) -> SnapRef {
        let key = volume.kms_key_arn.as_deref().filter(|_| volume.encrypted).map(KeyRef::parse);
        SnapRef {
            id: placeholder("source", &volume.id),
            account: self.src_account.clone(),
            region: self.src_region.clone(),
            tags: self.case_tags(),
            parent_volume: Some(volume.id.clone()),
            ebs_id: key.as_ref().map(|_| volume.id.clone()),
            key,
        }
    }

    /// A copy of `volume`'s snapshot (`stage` names the placeholder: `temp`, `evidence`).
    pub fn copy_snapshot(
        &self,
        volume: &Volume,
        stage: &str,
        account: &str,
        region: &str,
        key: Option<KeyRef>,
    ) -> SnapRef {
        let id = placeholder(stage, &volume.id);
        let mut tags = self.volume_tags(volume);
        if stage == "evidence" {
            // Marked at creation, so no moment exists in which the evidence copy is unprotected.
            tags.push((TAG_EVIDENCE.to_string(), EVIDENCE_TAG_VALUE.to_string()));
        }
        SnapRef {
            ebs_id: key.as_ref().map(|_| id.clone()),
            id,
            account: account.to_string(),
            region: region.to_string(),
            tags,
            parent_volume: None,
            key,
        }
    }

    /// `alias/<prefix>-<case>-<volume>`.
    pub fn temp_alias(&self, volume: &Volume) -> String {
        format!("alias/{}-{}-{}", self.inventory.config.alias_prefix, self.case_id, volume.id)
    }

    /// The temporary key's placeholder ARN, in the source account and Region.
    pub fn temp_key(&self, volume: &Volume) -> KeyRef {
        KeyRef {
            arn: format!(
                "arn:{}:kms:{}:{}:key/custody-temp-{}",
                self.partition, self.src_region, self.src_account, volume.id
            ),
            region: self.src_region.clone(),
            account: self.src_account.clone(),
        }
    }

    /// The ARN of an alias in the source account and Region.
    pub fn alias_arn(&self, alias: &str) -> String {
        format!("arn:{}:kms:{}:{}:{alias}", self.partition, self.src_region, self.src_account)
    }

    /// The placeholder id of the grant custody creates for `volume` (path 5).
    pub fn grant_id(&self, volume: &Volume) -> String {
        format!("custody-grant-{}", volume.id)
    }
}

/// A role ARN and the ARN of custody's session of it.
fn signer(role_arn: &str, session_name: &str, field: &str) -> Result<Signer, PlanError> {
    let bad = || PlanError::BadConfig {
        field: field.to_string(),
        value: role_arn.to_string(),
        expected: "a role ARN (`arn:aws:iam::<account>:role/<name>`)".to_string(),
    };
    let arn = custody_ids::Arn::parse(role_arn).map_err(|_| bad())?;
    match (arn.role(), arn.account()) {
        (Some(role), Some(account)) => Ok(Signer {
            role_arn: role_arn.to_string(),
            session: format!("arn:{}:sts::{account}:assumed-role/{}/{session_name}", arn.partition(), role.name),
            session_name: session_name.to_string(),
            account: account.to_string(),
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_arns_drop_the_role_path() {
        // Assumed-role ARNs name the role without its path (IAM User Guide, "IAM identifiers",
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
        let s = signer("arn:aws:iam::111111111111:role/custody/CustodyResponse", "custody-C", "f").unwrap();
        assert_eq!(s.session, "arn:aws:sts::111111111111:assumed-role/CustodyResponse/custody-C");
        assert_eq!(s.account, "111111111111");
    }

    #[test]
    fn a_non_role_arn_is_refused() {
        for bad in ["arn:aws:iam::111111111111:user/alice", "CustodyResponse", "arn:aws:iam::1:role/R"] {
            assert!(matches!(signer(bad, "s", "f"), Err(PlanError::BadConfig { .. })), "{bad}");
        }
    }
}
