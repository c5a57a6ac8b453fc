//! Fixes for refused requests: the smallest policy change that makes each one pass, worked out from
//! the engine's decision and re-evaluated before it is offered.
//!
//! - An implicit deny is fixed where its gate says the allow is missing: a statement for the caller's
//!   identity policy, the key policy (naming the role, not the session), the trust policy of a role,
//!   the permissions boundary, an SCP. After each change the case is evaluated again, so a
//!   cross-account request gets both sides: "the request is allowed only if both evaluations return a
//!   decision of Allow" (IAM User Guide, cross-account policy evaluation,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>).
//! - A statement that nearly applied (a near miss) is corrected where it fails: a condition whose
//!   value precludes the request (the seeds' cross-Region warning: "ensure that … policy Conditions
//!   don't preclude the platform's access") gets the request's value added; a key policy naming
//!   another principal gets the caller's role.
//! - An explicit Deny is named with the statement to change; it "overrides any allows", so custody
//!   offers no automatic fix (IAM User Guide, "Policy evaluation logic",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>).
//! - For KMS key access across accounts, every alternative the seeds offer ([`options`]).
//!
//! Only fixes that make the request allowed are offered; the others are listed as not offered, with why.

mod breadth;
mod deny;
mod edit;
mod feature;
mod options;

pub use breadth::Addition;

use super::build::{Checker, Working};
use super::case::is_stand_in;
use super::place::caller_role_arn;
use crate::plan::{AuthzRequest, Phase, PolicyScope, Step};
use custody_policy::{evaluate, near_misses, Decision, DecisionKind, Gate, GateKind, MissReason, NearMiss};
use edit::Slot;
use serde::Serialize;
use serde_json::{json, Value};

/// What kind of change a fix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixKind {
    /// Add a statement to the caller's identity-based policy.
    IdentityStatement,
    /// Add a statement to the key policy (and, across accounts, the identity side too).
    KeyPolicyStatement,
    /// Add a statement to the trust policy of the role custody assumes.
    TrustPolicyStatement,
    /// Add a statement to the caller's permissions boundary.
    BoundaryStatement,
    /// Add a statement to an SCP at the level that lacks an allow.
    ScpStatement,
    /// Change a condition of a statement that nearly applied (add the request's value).
    CorrectedCondition,
    /// Add the caller's role to the Principal of a statement that names someone else.
    CorrectedPrincipal,
    /// Make the caller the retiring principal of the grant it retires.
    GrantRetiringPrincipal,
    /// An explicit Deny: the statement to change; no automatic fix.
    ExplicitDeny,
    /// Grant-only: custody's role in the key's account may create grants; custody creates a grant for
    /// the calling role with exactly the operations needed and retires it afterwards.
    #[serde(rename = "kms-grant-only")]
    KmsGrantOnly,
    /// Direct use: the key policy names the role for the operations, CreateGrant only for AWS resources.
    #[serde(rename = "kms-direct-use")]
    KmsDirectUse,
    /// A grant the key's owner creates for the role.
    #[serde(rename = "kms-owner-grant")]
    KmsOwnerGrant,
}

/// What to do with a change's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeAction {
    /// Append `json` to the `Statement` array of the policy named by `target`.
    AddStatement,
    /// Replace statement `statement` of `target` with `json`.
    ReplaceStatement,
    /// Replace the grant `target` with `json` (re-create it with these fields).
    ReplaceGrant,
    /// Change or remove the Deny statement `json` of `target` (no automatic fix).
    ChangeDeny,
    /// Run `command` (an AWS CLI command) where `target` says.
    RunCommand,
    /// Nothing to paste: custody creates this grant itself during the acquisition.
    CustodyCreatesGrant,
}

/// A condition a fix changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionChange {
    pub operator: String,
    pub key: String,
    pub was: Vec<String>,
    pub now: Vec<String>,
}

/// One change of a fix: the JSON to paste (or the command to run), and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub action: ChangeAction,
    /// Where, in words: `the key policy of arn:…`, `an identity-based policy of arn:aws:iam::…:role/…`.
    pub target: String,
    /// Where the change lands in this request's case file (docs/authz-case-format.md), when it does:
    /// `resource_policy`, `permissions_boundary`, `identity_policies[1]`, `scps[1][0]`, `grants[0]`;
    /// `identity_policies` and `grants` alone mean a new entry. `None` for a change to another
    /// principal's policy (seed option 1's source role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionChange>,
    /// Whose identity-based policy a statement without `Principal` goes into, when not the caller's.
    #[serde(skip)]
    pub(crate) owner: Option<String>,
}

impl Change {
    fn new(action: ChangeAction, target: impl Into<String>) -> Change {
        Change {
            action,
            target: target.into(),
            case_field: None,
            statement: None,
            sid: None,
            json: None,
            command: None,
            conditions: Vec::new(),
            owner: None,
        }
    }

    fn at(mut self, field: impl Into<String>) -> Change {
        self.case_field = Some(field.into());
        self
    }

    fn with_json(mut self, json: Value) -> Change {
        self.sid = json.get("Sid").and_then(Value::as_str).map(str::to_string);
        self.json = Some(json);
        self
    }
}

/// A fix for one refused request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    pub kind: FixKind,
    /// What to do, in one line.
    pub summary: String,
    /// Why, in one line.
    pub reason: String,
    pub changes: Vec<Change>,
    /// Re-evaluated with the changes applied: the request is then allowed.
    pub verified: bool,
    /// The access the fix gives beyond the refused request; fixes are ranked by it.
    pub adds: Vec<Addition>,
    /// Why the fix is too broad to offer next to a narrower one (key administration, policy changes,
    /// deletion, every action): shown, last and as a warning, only when nothing narrower works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
}

impl Fix {
    fn new(kind: FixKind, summary: String, reason: String, changes: Vec<Change>) -> Fix {
        Fix { kind, summary, reason, changes, verified: true, adds: Vec::new(), risk: None }
    }

    /// The (action, resource) pairs the fix adds that the plan does not need.
    pub fn adds_beyond_plan(&self) -> usize {
        self.adds.iter().map(Addition::beyond_plan).sum()
    }

    /// The (action, resource) pairs the fix adds.
    pub fn adds_size(&self) -> usize {
        self.adds.iter().map(Addition::size).sum()
    }
}

/// The fixes for one request.
#[derive(Debug, Default)]
pub(crate) struct Proposal {
    pub fixes: Vec<Fix>,
    pub no_fix: Option<String>,
    pub not_offered: Vec<String>,
}

/// What a fix needs beside the working case.
pub(crate) struct Ctx {
    /// The step's purpose for Sids: `copy-snapshot:vol-1` → `CopySnapshot`.
    pub purpose: String,
    /// The prefix of the temporary key's alias (`config.alias_prefix`).
    pub alias_prefix: String,
}

impl Ctx {
    fn new(step: &Step, alias_prefix: &str) -> Ctx {
        Ctx { purpose: camel(step.id.split(':').next().unwrap_or(&step.id)), alias_prefix: alias_prefix.to_string() }
    }

    /// `CustodyKmsCreateGrantForCopySnapshot`: what the statement is for (Sids are letters and digits).
    pub fn sid(&self, action: &str) -> String {
        format!("Custody{}For{}", camel(action), self.purpose)
    }
}

/// `copy-snapshot` → `CopySnapshot`, `kms:CreateGrant` → `KmsCreateGrant`.
fn camel(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// Works out the fixes for a refused request.
pub(crate) fn propose(
    checker: &mut Checker<'_>,
    step: usize,
    req: &AuthzRequest,
    w: Working,
    decision: &Decision,
) -> Proposal {
    let Some(step) = checker.plan.steps.get(step) else { return Proposal::default() };
    let audit = step.phase == Phase::Audit;
    let ctx = Ctx::new(step, &checker.inventory.config.alias_prefix);
    let mut out = Proposal::default();
    match decision.kind {
        DecisionKind::Allowed => return out,
        DecisionKind::ExplicitDeny => deny::explicit(&w, decision, &mut out),
        DecisionKind::ImplicitDeny => {
            let misses = near_misses(&w.case, decision);
            let (conditions, principals): (Vec<_>, Vec<_>) =
                misses.iter().partition(|m| matches!(m.reason, MissReason::Condition(_)));
            for m in conditions.iter().take(3) {
                corrected(&w, &ctx, m, &mut out);
            }
            let mut minimal = w.clone();
            let mut changes = Vec::new();
            if complete(&mut minimal, &ctx, &mut changes) {
                out.fixes.push(added_fix(changes));
            }
            for m in principals.iter().take(2) {
                corrected(&w, &ctx, m, &mut out);
            }
            if decision.gate.map(|g| g.kind) == Some(GateKind::RetireGrant) {
                retiring_principal(&w, req, &mut out);
            }
            if w.scope == PolicyScope::All {
                options::kms_options(checker, &ctx, &w, &mut out);
            }
        }
    }
    let mut seen: Vec<Vec<Change>> = Vec::new();
    out.fixes.retain(|f| {
        let dup = seen.contains(&f.changes);
        seen.push(f.changes.clone());
        !dup
    });
    for f in &mut out.fixes {
        f.adds = breadth::additions(f, &w, checker.plan);
        f.risk = breadth::risk(&f.adds);
    }
    breadth::rank(&mut out.fixes, &mut out.not_offered);
    if audit {
        feature::name_audit(&mut out.fixes);
    }
    if out.fixes.is_empty() && decision.kind == DecisionKind::ImplicitDeny {
        out.no_fix = Some(no_fix_reason(&w, decision.gate));
    }
    out
}

/// Adds, after each re-evaluation, what the failed gate still asks for, until the request is allowed.
pub(crate) fn complete(w: &mut Working, ctx: &Ctx, changes: &mut Vec<Change>) -> bool {
    complete_except(w, ctx, changes, &[])
}

/// [`complete`], without adding anything for the gates in `keep` (a fix that must not widen them).
pub(crate) fn complete_except(w: &mut Working, ctx: &Ctx, changes: &mut Vec<Change>, keep: &[GateKind]) -> bool {
    let mut tried: Vec<GateKind> = keep.to_vec();
    for _ in 0..6 {
        let d = evaluate(&w.case);
        match (d.kind, d.gate) {
            (DecisionKind::Allowed, _) => return true,
            (DecisionKind::ImplicitDeny, Some(g)) if !tried.contains(&g.kind) => {
                tried.push(g.kind);
                match add_for_gate(w, ctx, g) {
                    Some(c) => changes.push(c),
                    None => return false,
                }
            }
            _ => return false,
        }
    }
    false
}

/// The statement the gate lacks, added to the working case.
fn add_for_gate(w: &mut Working, ctx: &Ctx, gate: Gate) -> Option<Change> {
    let req = &w.case.request;
    let (action, resource) = (req.action.to_string(), req.resource.to_string());
    let role = caller_role_arn(w.caller_arn.as_deref(), &req.principal);
    let sid = ctx.sid(&action);
    // A scoped request's stand-in is not a policy anyone can change.
    let stand_in = |label: &str| w.sources.get(label).is_some_and(|s| is_stand_in(s));
    if stand_in("resource_policy") && matches!(gate.kind, GateKind::KeyPolicy | GateKind::ResourcePolicy)
        || stand_in("identity_policies[0]") && gate.kind == GateKind::IdentityPolicy
    {
        return None;
    }
    match gate.kind {
        GateKind::IdentityPolicy => {
            let stmt = identity_statement(w, ctx, &sid, &action, &resource);
            let slot = Slot::Identity(w.slots.identity.len());
            edit::set_slot(w, slot, edit::new_document(std::slice::from_ref(&stmt))).ok()?;
            let target = format!("an identity-based policy of {role} (a new inline policy, or appended to one)");
            let mut change = Change::new(ChangeAction::AddStatement, target).at("identity_policies").with_json(stmt);
            change.owner = Some(role);
            Some(change)
        }
        GateKind::KeyPolicy => {
            let key = w.key.clone().filter(|k| k.policy_editable())?;
            let mut stmt =
                json!({"Sid": sid, "Effect": "Allow", "Principal": {"AWS": role}, "Action": action, "Resource": "*"});
            // EC2's CreateGrant on the caller's behalf: keep the key policy to grants for AWS resources
            // (seed 003's "Allow attachment of persistent resources").
            if action.eq_ignore_ascii_case("kms:CreateGrant")
                && req.context.get("kms:GrantIsForAWSResource").and_then(|v| v.as_single()) == Some("true")
            {
                stmt["Condition"] = json!({"Bool": {"kms:GrantIsForAWSResource": true}});
            }
            // A request EC2 makes on the caller's behalf: allow it only through EC2 in that Region, so
            // the statement gives nothing the request does not need (KMS Developer Guide,
            // "kms:ViaService", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
            if let Some(via) = req.context.get("kms:ViaService").and_then(|v| v.as_single()) {
                stmt["Condition"]["StringEquals"] = json!({"kms:ViaService": via});
            }
            let doc = edit::with_added(w, Slot::Resource, std::slice::from_ref(&stmt));
            edit::set_slot(w, Slot::Resource, doc).ok()?;
            let target =
                w.sources.get("resource_policy").cloned().unwrap_or_else(|| format!("the key policy of {}", key.arn));
            Some(Change::new(ChangeAction::AddStatement, target).at("resource_policy").with_json(stmt))
        }
        GateKind::ResourcePolicy => {
            let role_arn = w.trust_of.clone()?;
            w.slots.resource.as_ref()?;
            let name = role.rsplit('/').next().unwrap_or_default();
            let mut stmt = json!({"Sid": format!("Trust{}", camel(name)), "Effect": "Allow",
                                  "Principal": {"AWS": role}, "Action": "sts:AssumeRole"});
            if let Some(id) = req.context.get("sts:ExternalId").and_then(|v| v.as_single()) {
                stmt["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
            }
            let doc = edit::with_added(w, Slot::Resource, std::slice::from_ref(&stmt));
            edit::set_slot(w, Slot::Resource, doc).ok()?;
            let target = format!("the trust policy of {role_arn}");
            Some(Change::new(ChangeAction::AddStatement, target).at("resource_policy").with_json(stmt))
        }
        GateKind::PermissionsBoundary => {
            let stmt = json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource});
            let doc = edit::with_added(w, Slot::Boundary, std::slice::from_ref(&stmt));
            edit::set_slot(w, Slot::Boundary, doc).ok()?;
            let target =
                w.sources.get("permissions_boundary").cloned().unwrap_or_else(|| "the permissions boundary".into());
            Some(Change::new(ChangeAction::AddStatement, target).at("permissions_boundary").with_json(stmt))
        }
        GateKind::Scp => {
            let level = gate.level.unwrap_or(0);
            let stmt = json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"});
            let at_level = w.slots.scps.as_ref()?.get(level)?.len();
            let (slot, doc, target) = if at_level > 0 {
                let slot = Slot::Scp(level, 0);
                let target = w.sources.get(&slot.label()).cloned().unwrap_or_else(|| slot.label());
                (slot, edit::with_added(w, slot, std::slice::from_ref(&stmt)), target)
            } else {
                let account = req.caller.account().unwrap_or_default();
                let target = format!("a new SCP at level {level} (0 = root) of account {account}'s organization path");
                (Slot::Scp(level, 0), edit::new_document(std::slice::from_ref(&stmt)), target)
            };
            edit::set_slot(w, slot, doc).ok()?;
            let field = if at_level > 0 { slot.label() } else { format!("scps[{level}]") };
            Some(Change::new(ChangeAction::AddStatement, target).at(field).with_json(stmt))
        }
        GateKind::Rcp | GateKind::VpcEndpointPolicy | GateKind::SessionPolicy | GateKind::RetireGrant => None,
    }
}

/// An identity statement for exactly this action and resource. The key the plan creates has a
/// placeholder ARN, so the statement names the account's keys, scoped by custody's alias prefix when
/// the request carries `kms:ResourceAliases` (KMS Developer Guide, "kms:ResourceAliases",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases>;
/// seed 001: "An alias with a Cado prefix is used for scoping purposes").
fn identity_statement(w: &Working, ctx: &Ctx, sid: &str, action: &str, resource: &str) -> Value {
    let Some(key) = w.key.as_ref().filter(|k| k.planned_by.is_some()) else {
        return json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource});
    };
    let any_key = format!("arn:aws:kms:{}:{}:key/*", key.region, key.account);
    let prefix = format!("alias/{}-", ctx.alias_prefix);
    let scoped =
        w.case.request.context.get("kms:ResourceAliases").is_some_and(|v| v.values().any(|a| a.starts_with(&prefix)));
    if scoped {
        json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": any_key,
               "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": format!("{prefix}*")}}})
    } else {
        json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": any_key})
    }
}

fn added_fix(changes: Vec<Change>) -> Fix {
    let kind = match changes.first().map(|c| c.target.as_str()) {
        Some(t) if t.starts_with("the key policy") => FixKind::KeyPolicyStatement,
        Some(t) if t.starts_with("the trust policy") => FixKind::TrustPolicyStatement,
        Some(t) if t.starts_with("the permissions boundary") => FixKind::BoundaryStatement,
        Some(t) if t.starts_with("SCP") || t.starts_with("a new SCP") => FixKind::ScpStatement,
        _ => FixKind::IdentityStatement,
    };
    let places: Vec<&str> = changes.iter().map(|c| c.target.as_str()).collect();
    let (summary, reason) = match places.as_slice() {
        [one] => (
            format!("Add a statement to {one}"),
            "no statement there allows the request, and evaluation needs an allow there".to_string(),
        ),
        many => (
            format!("Add {} statements: to {}", many.len(), many.join("; and to ")),
            "the request needs an allow in each of these policies (across accounts: both sides)".to_string(),
        ),
    };
    Fix::new(kind, summary, reason, changes)
}

/// A statement that nearly applied, corrected where it failed, then completed and re-evaluated.
fn corrected(w: &Working, ctx: &Ctx, miss: &NearMiss, out: &mut Proposal) {
    let Some(slot) = Slot::of(miss.policy) else { return };
    let label = slot.label();
    let target = w.sources.get(&label).cloned().unwrap_or_else(|| label.clone());
    if is_stand_in(&target) {
        return;
    }
    if slot == Slot::Resource && w.key.as_ref().is_some_and(|k| !k.policy_editable()) {
        out.not_offered.push(format!(
            "correcting statement {} of {target}: the key policy of an AWS managed key cannot be changed",
            miss.statement
        ));
        return;
    }
    let Some(mut stmt) = edit::statement_json(w, slot, miss.statement) else { return };
    let role = caller_role_arn(w.caller_arn.as_deref(), &w.case.request.principal);
    let mut work = w.clone();
    let mut conditions = Vec::new();
    let mut reason = miss.reason;
    let mut principal_added = false;
    for _ in 0..4 {
        match reason {
            MissReason::Principal => {
                if let Some(wide) = edit::wildcard_action(&stmt) {
                    out.not_offered.push(format!(
                        "adding {role} to the Principal of statement {} of {target}: it would get `{wide}`, far more than this request needs",
                        miss.statement
                    ));
                    return;
                }
                let Some(s) = edit::add_principal(&stmt, &role) else { return };
                stmt = s;
                principal_added = true;
            }
            MissReason::Condition(i) => {
                let Some(change) = condition_change(&work, miss, i, &stmt, out, &target) else { return };
                stmt = change.0;
                conditions.push(change.1);
            }
        }
        let Some(doc) = edit::with_statement(&work, slot, miss.statement, Some(stmt.clone())) else { return };
        if edit::set_slot(&mut work, slot, doc).is_err() {
            return;
        }
        let d = evaluate(&work.case);
        let again = near_misses(&work.case, &d)
            .into_iter()
            .find(|m| m.policy == miss.policy && m.statement == miss.statement && d.kind == DecisionKind::ImplicitDeny);
        match again {
            Some(m) => reason = m.reason,
            None => break,
        }
    }
    let mut first = Change::new(ChangeAction::ReplaceStatement, target.clone()).at(label).with_json(stmt);
    first.statement = Some(miss.statement);
    first.conditions = conditions.clone();
    let mut changes = vec![first];
    if !complete(&mut work, ctx, &mut changes) {
        return;
    }
    let which = changes[0].sid.as_ref().map(|s| format!(" (Sid `{s}`)")).unwrap_or_default();
    let (kind, summary, reason) = if principal_added {
        (
            FixKind::CorrectedPrincipal,
            format!("Add {role} to the Principal of statement {}{which} of {target}", miss.statement),
            "the statement covers the action but names another principal".to_string(),
        )
    } else {
        let c = &conditions[0];
        let added: Vec<&String> = c.now.iter().filter(|v| !c.was.contains(v)).collect();
        (
            FixKind::CorrectedCondition,
            format!(
                "In statement {}{which} of {target}, let condition `{}` on `{}` also accept {}",
                miss.statement,
                c.operator,
                c.key,
                added.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
            ),
            format!(
                "its condition precludes this request: it wants {}, the request has {}",
                c.was.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
                added.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
            ),
        )
    };
    out.fixes.push(Fix::new(kind, summary, reason, changes));
}

/// The statement with condition `i` extended to the request's values.
fn condition_change(
    w: &Working,
    miss: &NearMiss,
    i: usize,
    stmt: &Value,
    out: &mut Proposal,
    target: &str,
) -> Option<(Value, ConditionChange)> {
    let policy = w.case.policy(miss.policy)?;
    let cond = policy.statements.iter().find(|s| s.index == miss.statement)?.conditions.get(i)?;
    let op = cond.operator;
    let request_values: Vec<String> =
        w.case.request.context.get(cond.key_lower())?.values().map(str::to_string).collect();
    if !edit::extendable(op.family, op.negated) {
        out.not_offered.push(format!(
            "loosening condition `{}` on `{}` of statement {} of {target}: it is a deliberate restriction",
            cond.operator_name, cond.key, miss.statement
        ));
        return None;
    }
    let (new, was, now) = edit::extend_condition(stmt, &cond.operator_name, &cond.key, &request_values)?;
    Some((new, ConditionChange { operator: cond.operator_name.to_string(), key: cond.key.to_string(), was, now }))
}

/// RetireGrant refused: name the caller as the grant's retiring principal (KMS Developer Guide,
/// "Retiring and revoking grants", <https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete>).
fn retiring_principal(w: &Working, req: &AuthzRequest, out: &mut Proposal) {
    let index = match req.grant_id.as_deref() {
        Some(id) => w.slots.grants.iter().position(|g| g.get("grant_id").and_then(Value::as_str) == Some(id)),
        None if w.slots.grants.len() == 1 => Some(0),
        None => None,
    };
    let Some(i) = index else { return };
    let role = caller_role_arn(w.caller_arn.as_deref(), &w.case.request.principal);
    let mut grant = w.slots.grants[i].clone();
    grant["retiring_principal"] = Value::String(role.clone());
    let mut work = w.clone();
    if edit::set_slot(&mut work, Slot::Grant(i), grant.clone()).is_err() {
        return;
    }
    if evaluate(&work.case).kind != DecisionKind::Allowed {
        return;
    }
    let label = Slot::Grant(i).label();
    let target = w.sources.get(&label).cloned().unwrap_or(label);
    out.fixes.push(Fix::new(
        FixKind::GrantRetiringPrincipal,
        format!("Create the grant with {role} as its retiring principal (`--retiring-principal`)"),
        "only the retiring principal, a grantee whose grant lists RetireGrant, or the account that created the grant can retire it".into(),
        vec![Change::new(ChangeAction::ReplaceGrant, target).at(Slot::Grant(i).label()).with_json(grant)],
    ));
}

/// Why no fix was found, from the failed gate.
fn no_fix_reason(w: &Working, gate: Option<Gate>) -> String {
    let kind = gate.map(|g| g.kind);
    match (kind, &w.key) {
        (Some(GateKind::KeyPolicy), Some(k)) if k.manager == crate::inventory::KeyManager::Aws => format!(
            "no fix found: {} is an AWS managed key, whose key policy cannot be changed and which other accounts cannot use; its snapshots must be re-encrypted under a customer managed key first (the plan's temporary-key path)",
            k.arn
        ),
        (Some(GateKind::ResourcePolicy), _) if w.trust_of.is_none() => format!(
            "no fix found: {} belongs to another account and has no resource-based policy custody can change",
            w.case.request.resource
        ),
        (Some(GateKind::Rcp), _) => "no fix found: a resource control policy of the resource's account lacks an allow; RCPs are set by the organization's administrators".into(),
        _ => "no fix found: no single policy change custody can make was re-evaluated to allowed".into(),
    }
}
