//! The seeds' alternatives for custody's access to a customer managed key in another account, each
//! built for exactly the operations the plan performs on the key and re-evaluated:
//!
//! 1. *CreateGrant only* (seeds 000, 001, 004: "the simplest approach is to give kms:CreateGrant
//!    permissions to the role being assumed in the target account"): custody, as its role in the key's
//!    account, creates a grant for the calling role with only the operations needed, and retires it;
//! 2. *direct* (seed 000 option 2, seed 003 example 1): the key policy names the role for the
//!    operations, and allows `kms:CreateGrant` only when `kms:GrantIsForAWSResource` is true; the
//!    caller's own account must allow too ("both the primary and secondary account roles need to be
//!    accessible principals");
//! 3. *a grant by the key's owner* (seed 000 option 3, seed 003 example 2): `aws kms create-grant`.
//!
//! Grants authorise their grantee on their own, from any account (KMS Developer Guide, "Grants in AWS
//! KMS", <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>); a key policy statement
//! for another account needs the identity side too ("Allowing users in other accounts to use a KMS
//! key", <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html>).

use super::edit::{self, Slot};
use super::{complete, complete_except, Change, ChangeAction, Ctx, Fix, FixKind, Proposal};
use crate::check::build::{Checker, Working};
use crate::check::case::{KeyInfo, RequestSpec};
use crate::check::place::{caller_role_arn, identity};
use crate::inventory::KeyManager;
use crate::key_access;
use crate::plan::{ContextEntry, Plan, PolicyScope};
use custody_policy::kms::GRANT_OPERATIONS;
use custody_policy::{evaluate, DecisionKind, GateKind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Offers options 1–3 when the request is on a customer managed key of another account.
pub(super) fn kms_options(checker: &mut Checker<'_>, ctx: &Ctx, w: &Working, out: &mut Proposal) {
    let Some(key) = w.key.clone() else { return };
    let req = &w.case.request;
    let Some(caller_account) = req.caller.account() else { return };
    if key.manager != KeyManager::Customer || key.account == caller_account || key.planned_by.is_some() {
        return;
    }
    let role = caller_role_arn(w.caller_arn.as_deref(), &req.principal);
    let ops = needed_operations(checker.plan, &req.principal, &key.arn, req.action_name());
    // A grant passes CreateGrant on only for a new grant whose operations it lists itself (KMS
    // Developer Guide, "Granting CreateGrant permission",
    // https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant).
    let mut for_grant = ops.clone();
    if let Some(child) = req.context.get("kms:GrantOperations") {
        for_grant.extend(child.values().map(str::to_string));
    }
    let grant_ops: Vec<String> = for_grant.iter().filter(|o| GRANT_OPERATIONS.contains(&o.as_str())).cloned().collect();
    option1(checker, ctx, w, &key, &role, &grant_ops, out);
    option2(ctx, w, &key, &role, &ops, out);
    option3(w, &key, &role, &grant_ops, out);
}

/// The KMS operations the plan performs on `key` as the caller's role (the request's own included).
/// `RetireGrant` is left out: the grant decides it, and it "is not effective in a key policy".
fn needed_operations(plan: &Plan, principal: &str, key: &str, this: &str) -> BTreeSet<String> {
    let me = identity(principal);
    let mut ops: BTreeSet<String> = plan
        .steps
        .iter()
        .flat_map(|s| &s.calls)
        .flat_map(|c| &c.requests)
        .filter(|r| r.resource == key && identity(&r.principal) == me)
        .filter_map(|r| {
            r.action.split_once(':').filter(|(s, _)| s.eq_ignore_ascii_case("kms")).map(|(_, n)| n.to_string())
        })
        .collect();
    ops.insert(this.to_string());
    ops.remove("RetireGrant");
    ops
}

fn grant_json(id: &str, grantee: &str, ops: &[String], retiring: &str, issuing_account: &str) -> Value {
    json!({"grant_id": id, "grantee_principal": grantee, "operations": ops,
           "retiring_principal": retiring, "issuing_account": issuing_account})
}

/// Whether the request passes with `grant` added.
fn passes_with_grant(w: &Working, grant: &Value) -> bool {
    let mut work = w.clone();
    let slot = Slot::Grant(work.slots.grants.len());
    edit::set_slot(&mut work, slot, grant.clone()).is_ok() && evaluate(&work.case).kind == DecisionKind::Allowed
}

fn option1(
    checker: &mut Checker<'_>,
    ctx: &Ctx,
    w: &Working,
    key: &KeyInfo,
    role: &str,
    ops: &[String],
    out: &mut Proposal,
) {
    const NAME: &str = "grant-only (custody creates and retires a grant)";
    // custody's role in the key's account: a source role, or the forensic role for a forensic key.
    let config = &checker.inventory.config;
    let in_key_account = config
        .source_role_arns
        .get(&key.account)
        .cloned()
        .or_else(|| (config.forensic_account == key.account).then(|| config.forensic_role_arn.clone()));
    let Some(source_role) = in_key_account else {
        out.not_offered.push(format!(
            "{NAME}: no custody role is configured for account {} (`config.source_role_arns`)",
            key.account
        ));
        return;
    };
    if !ops.iter().any(|o| o == w.case.request.action_name()) {
        out.not_offered.push(format!("{NAME}: a grant cannot carry {}", w.case.request.action));
        return;
    }
    let grant = grant_json("custody-grant", role, ops, &source_role, &key.account);
    if !passes_with_grant(w, &grant) {
        out.not_offered.push(format!("{NAME}: a grant for {role} does not make this request pass"));
        return;
    }
    // The grant is created by custody as the source role: that CreateGrant must pass too.
    let mut context = BTreeMap::new();
    context.insert("kms:GranteePrincipal".to_string(), ContextEntry::Single(role.to_string()));
    context.insert("kms:RetiringPrincipal".to_string(), ContextEntry::Single(source_role.clone()));
    context.insert("kms:GrantOperations".to_string(), ContextEntry::Multi(ops.to_vec()));
    let spec = RequestSpec {
        principal: &source_role,
        action: "kms:CreateGrant",
        resource: &key.arn,
        resource_account: None,
        context: &context,
        grant_id: None,
        scope: PolicyScope::All,
    };
    let Ok(mut create) = checker.working(&spec) else { return };
    let mut changes = Vec::new();
    if evaluate(&create.case).kind != DecisionKind::Allowed {
        let sid = key_access::grant_only_iam_sid(&key.arn);
        let stmt = key_access::grant_only_statement(&sid, None, &key.arn, role, ops);
        let slot = Slot::Identity(create.slots.identity.len());
        if edit::set_slot(&mut create, slot, edit::new_document(std::slice::from_ref(&stmt))).is_err() {
            return;
        }
        let target = format!("an identity-based policy of {source_role} (a new inline policy, or appended to one)");
        let mut change = Change::new(ChangeAction::AddStatement, target).with_json(stmt);
        change.owner = Some(source_role.clone());
        changes.push(change);
    }
    if !complete(&mut create, ctx, &mut changes) {
        let d = evaluate(&create.case);
        let why = custody_policy::explain(&create.case, &d).summary;
        out.not_offered.push(format!("{NAME}: {source_role} could not create the grant: {why}"));
        return;
    }
    // Those changes are to the source role's policies, not to this request's case.
    for c in &mut changes {
        c.case_field = None;
    }
    let mut grant_change = Change::new(
        ChangeAction::CustodyCreatesGrant,
        format!("created by custody as {source_role} during the acquisition, and retired by it afterwards"),
    );
    grant_change.json = Some(grant);
    grant_change.case_field = Some("grants".into());
    changes.push(grant_change);
    let summary = if changes.len() == 1 {
        format!("Grant-only: {source_role} can already create the grant; plan with `--mode grant-only`")
    } else {
        format!("Grant-only: let {source_role} create grants on the key for {role} (nothing else); custody creates the grant and retires it (`--mode grant-only`)")
    };
    out.fixes.push(Fix::new(
        FixKind::KmsGrantOnly,
        summary,
        format!(
            "the simplest approach across accounts and Regions: the key's account delegates exactly {} through a grant that lasts the acquisition",
            ops.join(", ")
        ),
        changes,
    ));
}

fn option2(ctx: &Ctx, w: &Working, key: &KeyInfo, role: &str, ops: &BTreeSet<String>, out: &mut Proposal) {
    const NAME: &str = "direct use (CreateGrant for AWS resources only)";
    if !key.policy_editable() {
        out.not_offered.push(format!("{NAME}: the key policy of {} is unknown", key.arn));
        return;
    }
    let ops: Vec<String> = ops.iter().cloned().collect();
    let stmts = key_access::direct_use_statements(key_access::DIRECT_USE_KEY_POLICY_SIDS, Some(role), "*", &ops);
    let mut work = w.clone();
    let doc = edit::with_added(&work, Slot::Resource, &stmts);
    if edit::set_slot(&mut work, Slot::Resource, doc).is_err() {
        return;
    }
    let key_target =
        work.sources.get("resource_policy").cloned().unwrap_or_else(|| format!("the key policy of {}", key.arn));
    let mut changes: Vec<Change> = stmts
        .into_iter()
        .map(|s| Change::new(ChangeAction::AddStatement, key_target.clone()).at("resource_policy").with_json(s))
        .collect();
    let d = evaluate(&work.case);
    if d.gate.map(|g| g.kind) == Some(GateKind::IdentityPolicy) {
        let sids = key_access::direct_use_iam_sids(&key.arn);
        let stmts = key_access::direct_use_statements((&sids.0, &sids.1), None, &key.arn, &ops);
        let slot = Slot::Identity(work.slots.identity.len());
        if edit::set_slot(&mut work, slot, edit::new_document(&stmts)).is_err() {
            return;
        }
        let target = format!("an identity-based policy of {role} (a new inline policy, or appended to one)");
        for stmt in stmts {
            let mut change =
                Change::new(ChangeAction::AddStatement, target.clone()).at("identity_policies").with_json(stmt);
            change.owner = Some(role.to_string());
            changes.push(change);
        }
    }
    // Completing must not add an unconditional key-policy statement: that would be another option.
    if !complete_except(&mut work, ctx, &mut changes, &[GateKind::KeyPolicy]) {
        let why = if w.case.request.action_name() == "CreateGrant" {
            "this CreateGrant is custody's own, not EC2's on its behalf, so `kms:GrantIsForAWSResource` is false"
                .to_string()
        } else {
            custody_policy::explain(&work.case, &evaluate(&work.case)).summary
        };
        out.not_offered.push(format!("{NAME}: does not make this request pass: {why}"));
        return;
    }
    let own_account = if changes.iter().any(|c| c.case_field.as_deref() == Some("identity_policies")) {
        format!(", and allow it in {role}'s own account")
    } else {
        String::new()
    };
    out.fixes.push(Fix::new(
        FixKind::KmsDirectUse,
        format!("Direct use: name {role} in the key policy for {} (CreateGrant only for AWS resources){own_account} (`--mode direct-use`)", ops.join(", ")),
        "across accounts both the key policy and the caller's identity policy must allow; CreateGrant stays limited to grants EC2 makes for AWS resources".into(),
        changes,
    ));
}

fn option3(w: &Working, key: &KeyInfo, role: &str, ops: &[String], out: &mut Proposal) {
    const NAME: &str = "key-owner grant";
    if !ops.iter().any(|o| o == w.case.request.action_name()) {
        out.not_offered.push(format!("{NAME}: a grant cannot carry {}", w.case.request.action));
        return;
    }
    let grant = grant_json("custody-owner-grant", role, ops, role, &key.account);
    if !passes_with_grant(w, &grant) {
        out.not_offered.push(format!("{NAME}: a grant for {role} does not make this request pass"));
        return;
    }
    let command = key_access::create_grant_command(&key.region, &key.arn, role, ops, Some(role));
    let mut change = Change::new(
        ChangeAction::RunCommand,
        format!("in account {} (the key's owner), as a principal allowed kms:CreateGrant on the key", key.account),
    );
    change.command = Some(command);
    change.json = Some(grant);
    change.case_field = Some("grants".into());
    out.fixes.push(Fix::new(
        FixKind::KmsOwnerGrant,
        format!("Key-owner grant: the key's owner grants {role} {} (`--mode owner-grant`)", ops.join(", ")),
        "a grant authorises its grantee on its own, from any account, with only the operations listed; custody retires it afterwards".into(),
        vec![change],
    ));
}
