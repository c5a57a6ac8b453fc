//! The path of one volume (issue 3, "Paths"), and why, in words.
//!
//! - Not encrypted: path 1, whatever the destination.
//! - Same account, same Region: path 2 (aws/ebs) or 3 (customer key).
//! - Same account, other Region: path 4 (KMS keys are regional, so the copy is re-encrypted).
//! - Same account, customer key that lets the forensic role create a grant but not use the key
//!   through EC2 (seed 000 option 1, probed with the engine under the role's own policies), or
//!   `--mode grant-only`: the role grants itself the EBS operations first, then path 3 or 4.
//! - Other account, AWS managed key: path 8. Snapshots under aws/ebs cannot be shared ("You can't
//!   share snapshots that are encrypted with the default AWS managed key",
//!   <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html>).
//! - Other account, customer key: path 7 when a grant on the key already names the forensic role
//!   (or its account); else path 6 when the key policy lets the forensic role decrypt through EC2
//!   (probed with the engine); else, when the source role may use the key through EC2 but may not
//!   create path 5's grant (seed 000 option 2 naming only that role), the temporary-key route of
//!   path 8 (seed 002); else path 5. `--mode grant-only|direct|owner-grants` forces 5/6/7.
//! - `--mode direct-read`: path 9 for every volume.

mod probe;
mod reason;

pub(crate) use reason::Reason;

use super::context::{Ctx, KeyRef, Signer};
use super::{Mode, Path, PlanError};
use crate::inventory::{Key, KeyManager, Volume};
use probe::Probe;
use reason::{AcrossAccounts, Forced, Impossible, InPlace, Route, SameAccount, VolumeKey};

/// A path and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub path: Path,
    pub reason: Reason,
    /// The volume's key, when encrypted.
    pub key: Option<KeyRef>,
    /// Same account, customer key: the forensic role grants itself the copy operations on the key
    /// first, and retires the grant after (seed 000 option 1, "only provide kms:CreateGrant").
    pub own_grant: bool,
}

impl Choice {
    fn new(path: Path, reason: Reason, key: Option<KeyRef>) -> Choice {
        Choice { path, reason, key, own_grant: false }
    }
}

/// Chooses the path of `volume`.
pub(crate) fn choose(ctx: &Ctx, volume: &Volume, mode: Mode) -> Result<Choice, PlanError> {
    let key_arn = match (volume.encrypted, volume.kms_key_arn.as_deref()) {
        (false, _) => None,
        (true, Some(arn)) => Some(arn),
        (true, None) => return Err(PlanError::MissingKeyArn { volume_id: volume.id.clone() }),
    };
    if mode == Mode::DirectRead {
        let reason = Reason::DirectRead {
            account: ctx.src_account.clone(),
            region: ctx.src_region.clone(),
            key_arn: key_arn.map(str::to_string),
        };
        return Ok(Choice::new(Path::DirectRead, reason, key_arn.map(KeyRef::parse)));
    }
    let Some(key_arn) = key_arn else { return Ok(unencrypted(ctx, mode)) };
    let key = ctx
        .key(key_arn)
        .ok_or_else(|| PlanError::UnknownKey { volume_id: volume.id.clone(), key_arn: key_arn.to_string() })?;
    let words = VolumeKey { manager: key.manager, arn: key_arn.to_string() };
    if ctx.same_account() {
        same_account(ctx, volume, mode, key, words)
    } else if key.manager == KeyManager::Aws {
        aws_managed_across_accounts(ctx, volume, mode, words)
    } else {
        customer_key_across_accounts(ctx, volume, mode, key, words)
    }
}

/// A volume without a key: path 1, whatever the destination and the mode.
fn unencrypted(ctx: &Ctx, mode: Mode) -> Choice {
    let route = if ctx.same_account() && ctx.same_region() {
        Route::Stays
    } else if ctx.same_account() {
        Route::CopiedAcross { from: ctx.src_region.clone(), to: ctx.dst_region.clone() }
    } else {
        Route::Shared { account: ctx.dst_account.clone(), region: ctx.dst_region.clone() }
    };
    let ignored_mode = (mode != Mode::Auto).then_some(mode);
    Choice::new(Path::Unencrypted, Reason::Unencrypted { route, ignored_mode }, None)
}

/// A volume whose snapshot stays in its account: paths 2, 3 and 4, with or without the grant the
/// forensic role gives itself.
fn same_account(ctx: &Ctx, volume: &Volume, mode: Mode, key: &Key, words: VolumeKey) -> Result<Choice, PlanError> {
    let key_ref = KeyRef::parse(&words.arn);
    let own_grant = key.manager == KeyManager::Customer
        && ctx.forensic_key.as_ref().is_some_and(|fk| fk.arn != words.arn || !ctx.same_region());
    if own_grant
        && (mode == Mode::GrantOnly || (mode == Mode::Auto && probe::grants_itself(ctx, key, &key_ref, volume)))
    {
        let role = ctx.dest()?.role_arn.clone();
        let path = if ctx.same_region() { Path::CustomerKeySameAccount } else { Path::CrossRegion };
        let reason = Reason::SameAccount(SameAccount::OwnGrant { key: words, role, forced: mode == Mode::GrantOnly });
        return Ok(Choice { path, reason, key: Some(key_ref), own_grant: true });
    }
    if mode != Mode::Auto {
        return Err(Impossible::SameAccount { account: ctx.src_account.clone() }.error(mode, &volume.id));
    }
    if !ctx.same_region() {
        let (from, to) = (ctx.src_region.clone(), ctx.dst_region.clone());
        let reason = Reason::SameAccount(SameAccount::OtherRegion { key: words, from, to });
        return Ok(Choice::new(Path::CrossRegion, reason, Some(key_ref)));
    }
    let path = match key.manager {
        KeyManager::Aws => Path::AwsManagedSameAccount,
        KeyManager::Customer => Path::CustomerKeySameAccount,
    };
    let what = match &ctx.forensic_key {
        Some(fk) if fk.arn == words.arn => InPlace::UnderForensicKey,
        Some(fk) => InPlace::ReEncrypted { forensic_key: fk.arn.clone() },
        None => InPlace::NoForensicKey { region: ctx.dst_region.clone() },
    };
    Ok(Choice::new(path, Reason::SameAccount(SameAccount::SameRegion { key: words, what }), Some(key_ref)))
}

/// Across accounts under aws/ebs: path 8 (a temporary customer managed key), whatever else is asked.
fn aws_managed_across_accounts(ctx: &Ctx, volume: &Volume, mode: Mode, words: VolumeKey) -> Result<Choice, PlanError> {
    if mode != Mode::Auto {
        let impossible = Impossible::AwsManagedKey {
            source_account: ctx.src_account.clone(),
            dest_account: ctx.dst_account.clone(),
        };
        return Err(impossible.error(mode, &volume.id));
    }
    let key_ref = KeyRef::parse(&words.arn);
    let reason = Reason::AcrossAccounts(AcrossAccounts::AwsManagedKey {
        key: words,
        source_account: ctx.src_account.clone(),
        temp_alias: ctx.temp_alias(volume),
    });
    Ok(Choice::new(Path::CrossAccountAwsManagedKey, reason, Some(key_ref)))
}

/// Across accounts under a customer key: paths 5, 6, 7 and 8, as forced or as the inventory allows.
fn customer_key_across_accounts(
    ctx: &Ctx,
    volume: &Volume,
    mode: Mode,
    key: &Key,
    words: VolumeKey,
) -> Result<Choice, PlanError> {
    let key_ref = KeyRef::parse(&words.arn);
    let dest = ctx.dest()?;
    let grant = probe::owner_grant(key, dest);
    let probe = probe::key_policy_admits(key, &key_ref, dest, volume);
    let role = dest.role_arn.clone();
    let (path, reason) = match mode {
        Mode::GrantOnly => (Path::CrossAccountGrantOnly, Reason::Forced(Forced::GrantOnly { key: words, role })),
        Mode::Direct => (Path::CrossAccountDirect, Reason::Forced(Forced::Direct { key: words, role, probe })),
        Mode::OwnerGrants => {
            (Path::CrossAccountOwnerGrants, Reason::Forced(Forced::OwnerGrants { key: words, role, grant }))
        }
        Mode::Auto | Mode::DirectRead => match (&grant, &probe) {
            (None, Probe::Refuses | Probe::Unknown(_))
                if probe::only_the_source_role_may_use(ctx, key, &key_ref, volume) =>
            {
                let reason = Reason::AcrossAccounts(AcrossAccounts::TempKey {
                    key: words,
                    role,
                    source_role: ctx.source.role_arn.clone(),
                    temp_alias: ctx.temp_alias(volume),
                });
                (Path::CrossAccountTempKey, reason)
            }
            _ => auto_cross_account(words, dest, grant, probe),
        },
    };
    Ok(Choice::new(path, reason, Some(key_ref)))
}

/// Mode::Auto for a cross-account customer key.
fn auto_cross_account(key: VolumeKey, dest: &Signer, grant: Option<String>, probe: Probe) -> (Path, Reason) {
    let role = dest.role_arn.clone();
    let (path, why) = match (grant, probe) {
        (Some(grant), _) => (Path::CrossAccountOwnerGrants, AcrossAccounts::OwnerGrant { key, role, grant }),
        (None, Probe::Admits(by)) => (Path::CrossAccountDirect, AcrossAccounts::KeyPolicyAdmits { key, role, by }),
        (None, Probe::Refuses) => (Path::CrossAccountGrantOnly, AcrossAccounts::GrantOnly { key, role, unknown: None }),
        (None, Probe::Unknown(why)) => {
            (Path::CrossAccountGrantOnly, AcrossAccounts::GrantOnly { key, role, unknown: Some(why) })
        }
    };
    (path, Reason::AcrossAccounts(why))
}
