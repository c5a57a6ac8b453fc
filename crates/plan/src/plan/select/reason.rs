//! Why a volume takes its path, or why a forced mode cannot apply to it: the facts the choice rests
//! on, rendered to the words the plan and the report show (`VolumePlan::reason`,
//! `PlanError::ModeImpossible`) only where the text is needed.

use super::probe::Probe;
use crate::inventory::KeyManager;
use crate::plan::{Mode, PlanError};
use std::fmt;

/// The key a volume is encrypted under, as the reasons name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VolumeKey {
    pub manager: KeyManager,
    pub arn: String,
}

impl fmt::Display for VolumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.manager {
            KeyManager::Aws => write!(f, "the AWS managed key aws/ebs ({})", self.arn),
            KeyManager::Customer => write!(f, "customer managed key {}", self.arn),
        }
    }
}

/// Where the snapshot of an unencrypted volume goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Already in the destination account and Region.
    Stays,
    /// Same account, copied to another Region.
    CopiedAcross { from: String, to: String },
    /// Shared with another account and copied there.
    Shared { account: String, region: String },
}

impl fmt::Display for Route {
    /// What follows "not encrypted".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Stays => {
                f.write_str(", and already in the destination account and Region: the snapshot is kept where it is")
            }
            Route::CopiedAcross { from, to } => {
                write!(f, ": the snapshot is copied from {from} to {to} with no KMS key involved")
            }
            Route::Shared { account, region } => write!(
                f,
                ": the snapshot is shared with account {account} and copied there ({region}) with no KMS key involved"
            ),
        }
    }
}

/// What happens to a snapshot already in the destination account and Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InPlace {
    /// It is under the forensic key already.
    UnderForensicKey,
    /// Copied in place, re-encrypted under this forensic key.
    ReEncrypted { forensic_key: String },
    /// The destination Region has no forensic key.
    NoForensicKey { region: String },
}

impl fmt::Display for InPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InPlace::UnderForensicKey => {
                f.write_str("it is already under the forensic key, so the snapshot is kept as is")
            }
            InPlace::ReEncrypted { forensic_key } => {
                write!(f, "the snapshot is copied in place, re-encrypted under the forensic key {forensic_key}")
            }
            InPlace::NoForensicKey { region } => {
                write!(f, "the snapshot is kept as is (no forensic key is configured for {region})")
            }
        }
    }
}

/// Why a volume takes its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// `--mode direct-read`: the source role reads the snapshot's blocks where it is.
    DirectRead { account: String, region: String, key_arn: Option<String> },
    /// Not encrypted; `ignored_mode`: a `--mode` that has nothing to act on.
    Unencrypted { route: Route, ignored_mode: Option<Mode> },
    /// Encrypted, and the snapshot stays in its account.
    SameAccount(SameAccount),
    /// Encrypted under a customer key of another account, on the path `--mode` forces.
    Forced(Forced),
    /// Encrypted under a key of another account, on the path the inventory allows.
    AcrossAccounts(AcrossAccounts),
}

/// Why a volume whose snapshot stays in its account takes its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SameAccount {
    /// The forensic role may create a grant on the key but not use it through EC2 (`forced`: by
    /// `--mode grant-only`, not found by the probe).
    OwnGrant { key: VolumeKey, role: String, forced: bool },
    /// Another Region: re-encrypted under the destination's forensic key.
    OtherRegion { key: VolumeKey, from: String, to: String },
    /// The same Region.
    SameRegion { key: VolumeKey, what: InPlace },
}

/// The path `--mode` forces across accounts under a customer key, and what the inventory shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forced {
    GrantOnly {
        key: VolumeKey,
        role: String,
    },
    /// `probe`: what the key policy was found to say.
    Direct {
        key: VolumeKey,
        role: String,
        probe: Probe,
    },
    /// `grant`: the key owner's grant found, if any.
    OwnerGrants {
        key: VolumeKey,
        role: String,
        grant: Option<String>,
    },
}

/// Why a volume under a key of another account takes its path, with `--mode auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AcrossAccounts {
    /// Under aws/ebs: through a temporary customer managed key.
    AwsManagedKey { key: VolumeKey, source_account: String, temp_alias: String },
    /// Only the source role can reach the key: through a temporary key.
    TempKey { key: VolumeKey, role: String, source_role: String, temp_alias: String },
    /// A grant by the key owner already names the forensic role.
    OwnerGrant { key: VolumeKey, role: String, grant: String },
    /// The key policy lets the forensic role decrypt through EC2 (`by`: the statement).
    KeyPolicyAdmits { key: VolumeKey, role: String, by: String },
    /// Neither a grant nor the key policy: the source role creates a grant (`unknown`: why the key
    /// policy could not be probed; `None`: it refuses).
    GrantOnly { key: VolumeKey, role: String, unknown: Option<String> },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::DirectRead { account, region, key_arn } => {
                let what = match key_arn {
                    Some(arn) => format!("its data key is decrypted under {arn} through EC2 in {region}"),
                    None => "the volume is not encrypted, so no key is involved".to_string(),
                };
                write!(
                    f,
                    "--mode direct-read: the snapshot stays in account {account} and the source role reads its blocks \
                     with the EBS direct APIs; {what}"
                )
            }
            Reason::Unencrypted { route, ignored_mode } => {
                write!(f, "not encrypted{route}")?;
                match ignored_mode {
                    Some(mode) => write!(f, "; --mode {mode} does not apply to a volume without a key"),
                    None => Ok(()),
                }
            }
            Reason::SameAccount(why) => why.fmt(f),
            Reason::Forced(why) => why.fmt(f),
            Reason::AcrossAccounts(why) => why.fmt(f),
        }
    }
}

impl fmt::Display for SameAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SameAccount::OwnGrant { key, role, forced } => {
                let forced = if *forced { "forced by --mode grant-only: " } else { "" };
                write!(
                    f,
                    "{forced}encrypted under {key} in the forensic account, which lets {role} create a grant on the \
                     key but not use it through EC2 (probed with the policy engine): the role grants itself the \
                     operations AWS lists for EBS encryption, constrained to the volume, copies under the forensic \
                     key, and retires the grant (the key owner gave the role only kms:CreateGrant)"
                )
            }
            SameAccount::OtherRegion { key, from, to } => write!(
                f,
                "encrypted under {key}, same account, other Region ({from} to {to}): KMS keys are regional, so the \
                 copy is re-encrypted under the forensic key of {to}"
            ),
            SameAccount::SameRegion { key, what } => {
                write!(f, "encrypted under {key}, already in the destination account and Region: {what}")
            }
        }
    }
}

impl fmt::Display for Forced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forced::GrantOnly { key, role } => write!(
                f,
                "forced by --mode grant-only: the source role creates a grant on {key} for {role} with only the \
                 operations a copy needs, and custody retires it (grant-only)"
            ),
            Forced::Direct { key, role, probe } => {
                let shown = match probe {
                    Probe::Admits(by) => format!("the inventory shows it does ({by})"),
                    Probe::Refuses => "the inventory shows it does not, so the key owner must add a statement".into(),
                    Probe::Unknown(why) => format!("custody cannot tell: {why}"),
                };
                write!(
                    f,
                    "forced by --mode direct-use: the key policy of {key} must let {role} use the key through EC2 (direct \
                     use); {shown}"
                )
            }
            Forced::OwnerGrants { key, role, grant } => {
                let shown = match grant {
                    Some(g) => format!("grant `{g}` does"),
                    None => "the inventory shows no such grant, so the key owner must create one".into(),
                };
                write!(
                    f,
                    "forced by --mode owner-grant: a grant by the key owner must let {role} use {key} (key-owner \
                     grant); {shown}"
                )
            }
        }
    }
}

impl fmt::Display for AcrossAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcrossAccounts::AwsManagedKey { key, source_account, temp_alias } => write!(
                f,
                "cross-account under {key}: snapshots under aws/ebs cannot be shared (its key policy admits only \
                 account {source_account} through EC2 and cannot be changed), so the snapshot is re-encrypted under a \
                 temporary customer managed key ({temp_alias}), shared, copied, and the key is scheduled for deletion"
            ),
            AcrossAccounts::TempKey { key, role, source_role, temp_alias } => write!(
                f,
                "cross-account under {key}: no grant names the forensic role, its key policy does not let {role} use \
                 it, and {source_role} may use it through EC2 but not create a grant for the forensic role (probed \
                 with the policy engine under the roles' own policies); so the source role re-encrypts the snapshot \
                 under a temporary customer managed key ({temp_alias}), shares it, then deletes the alias and \
                 schedules the key for deletion"
            ),
            AcrossAccounts::OwnerGrant { key, role, grant } => write!(
                f,
                "cross-account under {key}: grant `{grant}` on the key already lets {role} use it, so custody relies \
                 on it and leaves it in place (key-owner grant)"
            ),
            AcrossAccounts::KeyPolicyAdmits { key, role, by } => write!(
                f,
                "cross-account under {key}: the key policy lets {role} decrypt through EC2 ({by}, probed with the \
                 policy engine), so the forensic role uses the key directly (direct use)"
            ),
            AcrossAccounts::GrantOnly { key, role, unknown } => {
                let why = match unknown {
                    Some(why) => why.clone(),
                    None => format!(
                        "its key policy does not let {role} decrypt through EC2 (probed with the policy engine)"
                    ),
                };
                write!(
                    f,
                    "cross-account under {key}: no grant on the key names the forensic role, and {why}; so the source \
                     role creates a grant with the operations AWS lists for a shared key, and custody retires it \
                     (grant-only)"
                )
            }
        }
    }
}

/// Why a forced `--mode` cannot apply to a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Impossible {
    /// The volume stays in its account: there is no other account's key to open.
    SameAccount { account: String },
    /// Across accounts under aws/ebs: its key policy cannot be changed and admits only its account.
    AwsManagedKey { source_account: String, dest_account: String },
}

impl Impossible {
    /// The error for `mode` on `volume_id`, in words.
    pub fn error(&self, mode: Mode, volume_id: &str) -> PlanError {
        let (why, help) = match self {
            Impossible::SameAccount { account } => (
                format!(
                    "it stays in account {account}, so no key of another account has to be opened to the forensic role"
                ),
                "run with --mode auto (or leave --mode out)",
            ),
            Impossible::AwsManagedKey { source_account, dest_account } => (
                format!(
                    "it is encrypted under the AWS managed key aws/ebs, whose key policy cannot be changed and lets \
                     only account {source_account} use the key, through EC2, so neither a grant nor a key policy \
                     statement can open it to account {dest_account}"
                ),
                "run with --mode auto: custody re-encrypts such a volume under a temporary customer managed key before \
                 sharing it (path 8)",
            ),
        };
        PlanError::ModeImpossible { mode, volume_id: volume_id.to_string(), why, help: help.to_string() }
    }
}
