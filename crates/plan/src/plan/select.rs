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

use super::names::{Ctx, KeyRef, Signer};
use super::{Mode, Path, PlanError};
use crate::inventory::{Key, KeyManager, Volume};
use custody_policy::{describe_ref, evaluate, explain, Case, DecisionKind};
use serde_json::{json, Value};

/// A path and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub path: Path,
    pub reason: String,
    /// The volume's key, when encrypted.
    pub key: Option<KeyRef>,
    /// Same account, customer key: the forensic role grants itself the copy operations on the key
    /// first, and retires the grant after (seed 000 option 1, "only provide kms:CreateGrant").
    pub own_grant: bool,
}

/// Operations of an existing grant that make it useful for a copy.
const USEFUL_GRANT_OPERATIONS: [&str; 3] = ["Decrypt", "ReEncryptFrom", "CreateGrant"];

/// Chooses the path of `volume`.
pub(crate) fn choose(ctx: &Ctx, volume: &Volume, mode: Mode) -> Result<Choice, PlanError> {
    let key_arn = match (volume.encrypted, volume.kms_key_arn.as_deref()) {
        (false, _) => None,
        (true, Some(arn)) => Some(arn),
        (true, None) => return Err(PlanError::MissingKeyArn { volume_id: volume.id.clone() }),
    };
    let key_ref = key_arn.map(KeyRef::parse);
    if mode == Mode::DirectRead {
        let what = match key_arn {
            Some(arn) => format!("its data key is decrypted under {arn} through EC2 in {}", ctx.src_region),
            None => "the volume is not encrypted, so no key is involved".to_string(),
        };
        let reason = format!(
            "--mode direct-read: the snapshot stays in account {} and the source role reads its blocks with the EBS \
             direct APIs; {what}",
            ctx.src_account
        );
        return Ok(Choice { path: Path::DirectRead, reason, key: key_ref, own_grant: false });
    }
    let Some(key_arn) = key_arn else {
        let mut reason = if ctx.same_account() && ctx.same_region() {
            "not encrypted, and already in the destination account and Region: the snapshot is kept where it is"
                .to_string()
        } else if ctx.same_account() {
            format!(
                "not encrypted: the snapshot is copied from {} to {} with no KMS key involved",
                ctx.src_region, ctx.dst_region
            )
        } else {
            format!(
                "not encrypted: the snapshot is shared with account {} and copied there ({}) with no KMS key involved",
                ctx.dst_account, ctx.dst_region
            )
        };
        if mode != Mode::Auto {
            reason.push_str(&format!("; --mode {mode} does not apply to a volume without a key"));
        }
        return Ok(Choice { path: Path::Unencrypted, reason, key: None, own_grant: false });
    };
    let key = ctx
        .key(key_arn)
        .ok_or_else(|| PlanError::UnknownKey { volume_id: volume.id.clone(), key_arn: key_arn.to_string() })?;
    let key_ref = KeyRef::parse(key_arn);
    let key_words = match key.manager {
        KeyManager::Aws => format!("the AWS managed key aws/ebs ({key_arn})"),
        KeyManager::Customer => format!("customer managed key {key_arn}"),
    };
    if ctx.same_account() {
        let own_grant = key.manager == KeyManager::Customer
            && ctx.forensic_key.as_ref().is_some_and(|fk| fk.arn != key_arn || !ctx.same_region());
        if own_grant && (mode == Mode::GrantOnly || (mode == Mode::Auto && grants_itself(ctx, key, &key_ref, volume))) {
            let forced = if mode == Mode::GrantOnly { "forced by --mode grant-only: " } else { "" };
            let dest = ctx.dest()?;
            let path = if ctx.same_region() { Path::CustomerKeySameAccount } else { Path::CrossRegion };
            let reason = format!(
                "{forced}encrypted under {key_words} in the forensic account, which lets {} create a grant on the key \
                 but not use it through EC2 (probed with the policy engine): the role grants itself the operations AWS \
                 lists for EBS encryption, constrained to the volume, copies under the forensic key, and retires the \
                 grant (the key owner gave the role only kms:CreateGrant)",
                dest.role_arn
            );
            return Ok(Choice { path, reason, key: Some(key_ref), own_grant: true });
        }
        if mode != Mode::Auto {
            return Err(PlanError::ModeImpossible {
                mode,
                volume_id: volume.id.clone(),
                why: format!(
                    "it stays in account {}, so no key of another account has to be opened to the forensic role",
                    ctx.src_account
                ),
                help: "run with --mode auto (or leave --mode out)".to_string(),
            });
        }
        if !ctx.same_region() {
            let reason = format!(
                "encrypted under {key_words}, same account, other Region ({} to {}): KMS keys are regional, so the copy \
                 is re-encrypted under the forensic key of {}",
                ctx.src_region, ctx.dst_region, ctx.dst_region
            );
            return Ok(Choice { path: Path::CrossRegion, reason, key: Some(key_ref), own_grant: false });
        }
        let path = match key.manager {
            KeyManager::Aws => Path::AwsManagedSameAccount,
            KeyManager::Customer => Path::CustomerKeySameAccount,
        };
        let what = match &ctx.forensic_key {
            Some(fk) if fk.arn == key_arn => {
                "it is already under the forensic key, so the snapshot is kept as is".to_string()
            }
            Some(fk) => format!("the snapshot is copied in place, re-encrypted under the forensic key {}", fk.arn),
            None => format!("the snapshot is kept as is (no forensic key is configured for {})", ctx.dst_region),
        };
        let reason = format!("encrypted under {key_words}, already in the destination account and Region: {what}");
        return Ok(Choice { path, reason, key: Some(key_ref), own_grant: false });
    }
    if key.manager == KeyManager::Aws {
        if mode != Mode::Auto {
            return Err(PlanError::ModeImpossible {
                mode,
                volume_id: volume.id.clone(),
                why: format!(
                    "it is encrypted under the AWS managed key aws/ebs, whose key policy cannot be changed and lets only \
                     account {} use the key, through EC2, so neither a grant nor a key policy statement can open it to \
                     account {}",
                    ctx.src_account, ctx.dst_account
                ),
                help: "run with --mode auto: custody re-encrypts such a volume under a temporary customer managed key \
                       before sharing it (path 8)"
                    .to_string(),
            });
        }
        let reason = format!(
            "cross-account under {key_words}: snapshots under aws/ebs cannot be shared (its key policy admits only \
             account {} through EC2 and cannot be changed), so the snapshot is re-encrypted under a temporary customer \
             managed key ({}), shared, copied, and the key is scheduled for deletion",
            ctx.src_account,
            ctx.temp_alias(volume)
        );
        return Ok(Choice { path: Path::CrossAccountAwsManagedKey, reason, key: Some(key_ref), own_grant: false });
    }
    let dest = ctx.dest()?;
    let grant = owner_grant(key, dest);
    let probe = key_policy_admits(key, &key_ref, dest, volume);
    let (path, reason) = match mode {
        Mode::GrantOnly => (
            Path::CrossAccountGrantOnly,
            format!(
                "forced by --mode grant-only: the source role creates a grant on {key_words} for {} with only the \
                 operations a copy needs, and custody retires it (grant-only)",
                dest.role_arn
            ),
        ),
        Mode::Direct => {
            let shown = match &probe {
                Probe::Admits(by) => format!("the inventory shows it does ({by})"),
                Probe::Refuses => "the inventory shows it does not, so the key owner must add a statement".to_string(),
                Probe::Unknown(why) => format!("custody cannot tell: {why}"),
            };
            (
                Path::CrossAccountDirect,
                format!(
                    "forced by --mode direct: the key policy of {key_words} must let {} use the key through EC2 \
                     (direct use); {shown}",
                    dest.role_arn
                ),
            )
        }
        Mode::OwnerGrants => {
            let shown = match &grant {
                Some(g) => format!("grant `{g}` does"),
                None => "the inventory shows no such grant, so the key owner must create one".to_string(),
            };
            (
                Path::CrossAccountOwnerGrants,
                format!(
                    "forced by --mode owner-grants: a grant by the key owner must let {} use {key_words} (key-owner \
                     grant); {shown}",
                    dest.role_arn
                ),
            )
        }
        Mode::Auto | Mode::DirectRead => match (&grant, &probe) {
            (None, Probe::Refuses | Probe::Unknown(_)) if only_the_source_role_may_use(ctx, key, &key_ref, volume) => (
                Path::CrossAccountTempKey,
                format!(
                    "cross-account under {key_words}: no grant names the forensic role, its key policy does not let {} \
                     use it, and {} may use it through EC2 but not create a grant for the forensic role (probed with \
                     the policy engine under the roles' own policies); so the source role re-encrypts the snapshot \
                     under a temporary customer managed key ({}), shares it, then deletes the alias and \
                     schedules the key for deletion",
                    dest.role_arn,
                    ctx.source.role_arn,
                    ctx.temp_alias(volume)
                ),
            ),
            _ => auto_cross_account(&key_words, dest, grant, probe),
        },
    };
    Ok(Choice { path, reason, key: Some(key_ref), own_grant: false })
}

/// Mode::Auto for a cross-account customer key.
fn auto_cross_account(key_words: &str, dest: &Signer, grant: Option<String>, probe: Probe) -> (Path, String) {
    if let Some(g) = grant {
        return (
            Path::CrossAccountOwnerGrants,
            format!(
                "cross-account under {key_words}: grant `{g}` on the key already lets {} use it, so custody relies on \
                 it and leaves it in place (key-owner grant)",
                dest.role_arn
            ),
        );
    }
    match probe {
        Probe::Admits(by) => (
            Path::CrossAccountDirect,
            format!(
                "cross-account under {key_words}: the key policy lets {} decrypt through EC2 ({by}, probed with the \
                 policy engine), so the forensic role uses the key directly (direct use)",
                dest.role_arn
            ),
        ),
        Probe::Refuses | Probe::Unknown(_) => {
            let why = match probe {
                Probe::Unknown(why) => why,
                _ => format!(
                    "its key policy does not let {} decrypt through EC2 (probed with the policy engine)",
                    dest.role_arn
                ),
            };
            (
                Path::CrossAccountGrantOnly,
                format!(
                    "cross-account under {key_words}: no grant on the key names the forensic role, and {why}; so the \
                     source role creates a grant with the operations AWS lists for a shared key, and custody retires it \
                     (grant-only)"
                ),
            )
        }
    }
}

/// A grant on `key` whose grantee is the destination role (or its account) and that lists an
/// operation a copy needs; its id.
fn owner_grant(key: &Key, dest: &Signer) -> Option<String> {
    let partition = super::names::arn_field(&dest.role_arn, 1);
    let account_root = format!("arn:{partition}:iam::{}:root", dest.account);
    key.grants.iter().enumerate().find_map(|(i, g)| {
        let grantee = g.get("grantee_principal").and_then(Value::as_str)?;
        let names_us =
            grantee == dest.role_arn || grantee == dest.session || grantee == account_root || grantee == dest.account;
        let useful = g
            .get("operations")
            .and_then(Value::as_array)
            .is_some_and(|ops| ops.iter().any(|o| o.as_str().is_some_and(|o| USEFUL_GRANT_OPERATIONS.contains(&o))));
        (names_us && useful)
            .then(|| g.get("grant_id").and_then(Value::as_str).map_or_else(|| format!("grants[{i}]"), str::to_string))
    })
}

/// Whether the forensic role, in its own account, may create a grant for itself on `key` but not use
/// the key through EC2 under its own policies, the key policy and the key's grants (seed 000 option
/// 1 in one account). Anything unknown answers no: the plain path is kept and the preflight says why.
fn grants_itself(ctx: &Ctx, key: &Key, key_ref: &KeyRef, volume: &Volume) -> bool {
    let Ok(dest) = ctx.dest() else { return false };
    decrypts_through_ec2(ctx, dest, key, key_ref, volume) == Some(false)
        && may_create_copy_grant(ctx, dest, dest, key, key_ref, volume) == Some(true)
}

/// Whether, across accounts, only the source role can reach `key`: it may use the key through EC2
/// for every operation AWS lists for EBS encryption, but may not create the grant path 5 needs for
/// the forensic role (seed 000 option 2 naming only
/// the source account's role). Anything unknown answers no.
fn only_the_source_role_may_use(ctx: &Ctx, key: &Key, key_ref: &KeyRef, volume: &Volume) -> bool {
    let Ok(dest) = ctx.dest() else { return false };
    let uses_it = super::kms::ebs_key_operations(&key_ref.account, &ctx.source.account).iter().all(|op| {
        let mut context = ec2_context(&ctx.source, key_ref, volume);
        match *op {
            "DescribeKey" => context = json!({"kms:ViaService": context["kms:ViaService"].clone()}),
            "CreateGrant" => context["kms:GrantIsForAWSResource"] = json!("true"),
            _ => {}
        }
        allowed_as(ctx, &ctx.source, key, &format!("kms:{op}"), context) == Some(true)
    });
    uses_it && may_create_copy_grant(ctx, &ctx.source, dest, key, key_ref, volume) == Some(false)
}

/// What EC2 sends KMS for the volume's data key, as `signer`, in the key's Region.
fn ec2_context(signer: &Signer, key_ref: &KeyRef, volume: &Volume) -> Value {
    json!({
        "kms:ViaService": format!("ec2.{}.amazonaws.com", key_ref.region),
        "kms:CallerAccount": signer.account,
        "kms:EncryptionContext:aws:ebs:id": volume.id,
        "kms:EncryptionContextKeys": ["aws:ebs:id"],
        "aws:ViaAWSService": "true",
    })
}

/// kms:Decrypt of the volume's data key by `signer` through EC2 in the key's Region.
fn decrypts_through_ec2(ctx: &Ctx, signer: &Signer, key: &Key, key_ref: &KeyRef, volume: &Volume) -> Option<bool> {
    allowed_as(ctx, signer, key, "kms:Decrypt", ec2_context(signer, key_ref, volume))
}

/// The CreateGrant custody would send as `grantor` for `grantee`'s copy of the volume.
fn may_create_copy_grant(
    ctx: &Ctx,
    grantor: &Signer,
    grantee: &Signer,
    key: &Key,
    key_ref: &KeyRef,
    volume: &Volume,
) -> Option<bool> {
    let (request, _) = super::kms::create_grant(grantor, key_ref, &grantee.role_arn, "probe", &volume.id);
    let context: serde_json::Map<String, Value> =
        request.context.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null))).collect();
    allowed_as(ctx, grantor, key, "kms:CreateGrant", Value::Object(context))
}

/// The engine's decision on `action` on `key` by `signer`, under the role's identity policies and
/// boundary, the key policy and the key's grants (not SCPs: a probe to choose a path, which the
/// preflight then checks in full). `None` when the inventory does not know enough.
fn allowed_as(ctx: &Ctx, signer: &Signer, key: &Key, action: &str, context: Value) -> Option<bool> {
    let role = ctx.inventory.principal(&signer.role_arn)?;
    if !role.unknown.is_empty() || !key.unknown.is_empty() {
        return None;
    }
    let mut case = json!({
        "request": {"principal": signer.session, "action": action, "resource": key.arn, "context": context},
        "identity_policies": role.identity_policies,
        "resource_policy": key.policy.as_ref()?,
        "grants": key.grants,
    });
    if let Some(boundary) = &role.permissions_boundary {
        case["permissions_boundary"] = boundary.clone();
    }
    Case::from_json(&case).ok().map(|c| evaluate(&c).kind == DecisionKind::Allowed)
}

/// What the key policy says about the destination role decrypting through EC2.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    /// Allowed; by which statement.
    Admits(String),
    Refuses,
    /// The policy could not be read or evaluated.
    Unknown(String),
}

/// Probes the key policy with the engine: kms:Decrypt by the destination role session, through
/// `ec2.<key Region>`, under an identity policy that allows everything, so only the key policy
/// decides (a key policy that names the account delegates to IAM, and that counts as admitting it:
/// seed 003, example 2).
fn key_policy_admits(key: &Key, key_ref: &KeyRef, dest: &Signer, volume: &Volume) -> Probe {
    let policy = match &key.policy {
        Some(p) if !key.unknown.iter().any(|u| u == "policy") => p,
        _ => return Probe::Unknown("its key policy could not be read".to_string()),
    };
    let case = json!({
        "request": {
            "principal": dest.session,
            "action": "kms:Decrypt",
            "resource": key.arn,
            "context": ec2_context(dest, key_ref, volume),
        },
        "identity_policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
        "resource_policy": policy,
    });
    let case = match Case::from_json(&case) {
        Ok(c) => c,
        Err(e) => return Probe::Unknown(format!("its key policy does not parse ({e})")),
    };
    let decision = evaluate(&case);
    if decision.kind != DecisionKind::Allowed {
        return Probe::Refuses;
    }
    let x = explain(&case, &decision);
    let by = x
        .allowed_by
        .iter()
        .find(|r| r.policy == "resource_policy")
        .map(|r| describe_ref(r).replacen("resource_policy", "key policy", 1))
        .unwrap_or_else(|| "the key policy".to_string());
    Probe::Admits(by)
}
