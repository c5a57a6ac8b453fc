//! What the inventory says about a volume's key, asked of the policy engine to choose a path: the
//! grants that already name the forensic role, and whether the roles' own policies, the key policy
//! and the key's grants let a role use the key through EC2 or create the grant a copy needs.

use crate::inventory::{Key, Volume};
use crate::plan::context::{Ctx, KeyRef, Signer};
use crate::plan::kms::{create_grant, ebs_key_operations};
use crate::plan::names::arn_field;
use custody_policy::{describe_ref, evaluate, explain, Case, DecisionKind};
use serde_json::{json, Value};

/// Operations of an existing grant that make it useful for a copy.
const USEFUL_GRANT_OPERATIONS: [&str; 3] = ["Decrypt", "ReEncryptFrom", "CreateGrant"];

/// A grant on `key` whose grantee is the destination role (or its account) and that lists an
/// operation a copy needs; its id.
pub(super) fn owner_grant(key: &Key, dest: &Signer) -> Option<String> {
    let partition = arn_field(&dest.role_arn, 1);
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
pub(super) fn grants_itself(ctx: &Ctx, key: &Key, key_ref: &KeyRef, volume: &Volume) -> bool {
    let Ok(dest) = ctx.dest() else { return false };
    decrypts_through_ec2(ctx, dest, key, key_ref, volume) == Some(false)
        && may_create_copy_grant(ctx, dest, dest, key, key_ref, volume) == Some(true)
}

/// Whether, across accounts, only the source role can reach `key`: it may use the key through EC2
/// for every operation AWS lists for EBS encryption, but may not create the grant path 5 needs for
/// the forensic role (seed 000 option 2 naming only
/// the source account's role). Anything unknown answers no.
pub(super) fn only_the_source_role_may_use(ctx: &Ctx, key: &Key, key_ref: &KeyRef, volume: &Volume) -> bool {
    let Ok(dest) = ctx.dest() else { return false };
    let uses_it = ebs_key_operations(&key_ref.account, &ctx.source.account).iter().all(|op| {
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
    let (request, _) = create_grant(grantor, key_ref, &grantee.role_arn, "probe", &volume.id);
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
pub(crate) enum Probe {
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
pub(super) fn key_policy_admits(key: &Key, key_ref: &KeyRef, dest: &Signer, volume: &Volume) -> Probe {
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
