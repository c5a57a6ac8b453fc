//! Why a plan cannot be made. Each message says what is wrong and what to do about it.

use super::{Mode, Path};

/// An acquisition that cannot be planned from this inventory and request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The instance is not in the inventory.
    #[error(
        "instance `{instance_id}` is not in the inventory ({}); check the id, or collect the inventory again",
        known_list(.known)
    )]
    UnknownInstance { instance_id: String, known: Vec<String> },

    /// The instance is terminated or terminating: its volumes are gone or going.
    #[error(
        "instance `{instance_id}` is {state} in the inventory: its volumes are gone or going (EBS deletes the \
         volumes marked DeleteOnTermination when the instance terminates), so there is nothing to snapshot; \
         look for the instance's snapshots or detached volumes instead"
    )]
    InstanceGone { instance_id: String, state: String },

    /// The inventory could not read the instance's volumes, or it has none.
    #[error(
        "instance `{instance_id}` has no volumes in the inventory{}: custody plans one snapshot per EBS \
         volume; collect the inventory again with permission for ec2:DescribeVolumes",
        if *.unknown { " (they could not be read)" } else { "" }
    )]
    NoVolumes { instance_id: String, unknown: bool },

    /// custody has no role to assume in the source account.
    #[error(
        "no source role for account `{account}`, where instance `{instance_id}` runs: custody acts there \
         through a role it assumes; add its ARN to `config.source_role_arns` under \"{account}\""
    )]
    NoSourceRole { account: String, instance_id: String },

    /// custody has no role to act as in the destination account (`--to` names an account that is
    /// neither the forensic account nor one with a source role).
    #[error(
        "no role for destination account `{account}`: it is not the forensic account ({forensic_account}) \
         and `config.source_role_arns` has no role for it; add one, or leave out --to"
    )]
    NoDestinationRole { account: String, forensic_account: String },

    /// A copy must be encrypted in the destination Region and the forensic account has no key there.
    #[error(
        "volume `{volume_id}` needs a key of the forensic account in `{region}` to encrypt its copy (path \
         {path}), and `config.forensic_key_arns` has none for `{region}`; add a customer managed key for that \
         Region"
    )]
    NoForensicKey { volume_id: String, region: String, path: Path },

    /// An encrypted volume without a key ARN.
    #[error(
        "volume `{volume_id}` is encrypted but the inventory gives no `kms_key_arn` for it; collect the \
         inventory again"
    )]
    MissingKeyArn { volume_id: String },

    /// A volume was asked for where custody cannot create it.
    #[error("--volume-az `{availability_zone}`: {why}")]
    VolumeZone { availability_zone: String, why: String },

    /// A volume's key is not in the inventory, so its kind (AWS managed or customer) is unknown.
    #[error(
        "volume `{volume_id}` is encrypted under `{key_arn}`, which is not in the inventory: custody cannot \
         tell an AWS managed key (aws/ebs) from a customer managed key, and the path depends on it; collect \
         the key (kms:DescribeKey, kms:GetKeyPolicy, kms:ListGrants) into `keys`"
    )]
    UnknownKey { volume_id: String, key_arn: String },

    /// `--mode` forces a path that cannot work for a volume.
    #[error("`--mode {mode}` is impossible for volume `{volume_id}`: {why}; {help}")]
    ModeImpossible { mode: Mode, volume_id: String, why: String, help: String },

    /// The case id cannot name a role session and a KMS alias.
    #[error(
        "case id `{case_id}` cannot name the role session `custody-<case>` and the alias \
         `alias/<prefix>-<case>-<volume>`: use 1 to 56 letters, digits, `-` or `_`"
    )]
    BadCaseId { case_id: String },

    /// The run id is not one custody makes.
    #[error("`{run_id}` is not a run id: expected `r-` then 1 to 62 letters, digits or `-`")]
    BadRunId { run_id: String },

    /// An ARN in the inventory's configuration is not of the expected form.
    #[error("`{field}` is `{value}`, not {expected}; fix the inventory's configuration")]
    BadConfig { field: String, value: String, expected: String },

    /// `--to` names a malformed account.
    #[error("destination account `{account}` is not a 12-digit account id")]
    BadAccount { account: String },
}

fn known_list(known: &[String]) -> String {
    match known.len() {
        0 => "it lists no instances".to_string(),
        1..=5 => format!("it lists {}", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")),
        n => format!(
            "it lists {n} instances: {}, …",
            known.iter().take(5).map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}
