//! The preflight (`custody check`): every authorization request of a plan, decided offline before
//! anything is touched.
//!
//! For each request the checker builds a `custody authz` case (docs/authz-case-format.md) from the
//! inventory: the caller's identity policies and permissions boundary (a role session is the
//! inventory role of that account and name), the SCPs of the caller's account, the RCPs of the
//! resource's account, and the resource policy: for a KMS key its key policy and grants, plus the
//! grants earlier steps of the plan create and, for the key the plan creates, the policy custody puts
//! on it; for `sts:AssumeRole` the role's trust policy. The engine decides and explains.
//!
//! What the inventory could not read stays unknown. A request is *unknown* when something unknown
//! could change its decision: anything that could allow (an identity policy, the key policy, a grant)
//! for a refusal, anything that could deny or limit (a policy's Deny, an SCP, an RCP, a boundary) for
//! an allow. It is never reported as allowed; an explicit Deny among what is known still decides.
//!
//! What earlier steps create (grants, the temporary key) counts for later steps whether or not the
//! creating step passes: a refusal is reported at the step that makes it, with its fix, and not again
//! at every step downstream. A grant an earlier step retires or revokes no longer counts.
//!
//! Each refusal gets the fixes [`fix`] works out, each re-evaluated before it is offered.

mod build;
mod case;
mod changes;
mod ec2_grant;
pub mod fix;
mod key_state;
mod place;

pub use changes::{change_index, ChangeToMake, RequestRef};

use build::{Checker, Evaluated};
use case::{is_stand_in, RequestSpec};
use fix::Fix;

use crate::inventory::Inventory;
use crate::plan::{AuthzRequest, Phase, Plan, VolumePlan};
use custody_policy::{DecisionKind, Explanation};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allowed,
    Denied,
    Unknown,
}

/// The outcome of a step: pass when every request is allowed, fail when one is denied, blocked when
/// it would pass (or is unknown) but rests on what a failing step creates (a grant, the temporary
/// key), else unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepOutcome {
    Pass,
    Fail,
    Blocked,
    Unknown,
}

/// The preflight of a whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub instance_id: String,
    pub case_id: String,
    pub source_account: String,
    pub source_region: String,
    pub dest_account: String,
    pub dest_region: String,
    /// The path chosen for each volume, and why.
    pub volumes: Vec<VolumePlan>,
    pub steps: Vec<StepCheck>,
    pub summary: Summary,
    /// The fewest distinct changes that fix every refused request that has a fix, each with the
    /// requests it fixes: what a reviewer reads first.
    pub changes: Vec<ChangeToMake>,
    /// Where the report comes from, stamped by the command that writes it (the engine reads no
    /// clock and no file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// What a report was made by and from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub custody_version: String,
    /// UTC, RFC 3339.
    pub generated_at: String,
    /// The inventory's file name as given (`<stdin>` for `-`).
    pub inventory: String,
    /// The SHA-256 of the inventory's bytes, lower-case hex.
    pub inventory_sha256: String,
}

impl CheckReport {
    /// True when every step passes.
    pub fn all_pass(&self) -> bool {
        self.summary.failed == 0 && self.summary.unknown == 0 && self.summary.blocked == 0
    }
}

/// Counts of steps and of requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Steps that would pass but rest on what a failing step creates.
    #[serde(skip_serializing_if = "is_zero")]
    pub blocked: usize,
    pub requests_allowed: usize,
    pub requests_denied: usize,
    pub requests_unknown: usize,
    /// Requests whose form a cited AWS page documents.
    pub requests_documented: usize,
    /// Requests custody infers where AWS is silent (each says what is inferred).
    pub requests_inferred: usize,
}

/// One step, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCheck {
    pub id: String,
    pub title: String,
    pub phase: Phase,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    pub outcome: StepOutcome,
    /// For a blocked step: the failing (or blocked) steps whose grants or key it rests on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// The grants and keys made by earlier steps this step uses, which KMS may take minutes to
    /// propagate: the executor waits for them, and makes a copy that failed for them again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<crate::plan::Propagation>,
    pub requests: Vec<RequestCheck>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A statement (or grant) that decided a request, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deciding {
    /// As the case names it: `identity_policies[0]`, `resource_policy`, `grants[1]`, `scps[0][0]`.
    pub policy: String,
    pub statement: Option<usize>,
    pub sid: Option<String>,
    /// In the inventory's or plan's words: `the key policy of arn:…`, `grant g-1 … created by step …`.
    pub origin: String,
}

/// One authorization request, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestCheck {
    /// The API call it belongs to (`ec2:CopySnapshot`).
    pub call: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// Why AWS evaluates it (from the plan).
    pub why: String,
    /// The AWS page `why` follows.
    pub page: String,
    /// Absent when `page` documents the request; else what AWS leaves out and custody infers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred: Option<String>,
    pub outcome: Outcome,
    /// For allowed: the statements that allow; for an explicit deny: the Deny statements.
    pub deciding: Vec<Deciding>,
    /// The engine's decision on what is known (absent when no case could be built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Why the outcome is unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// For a denied request: the fixes, each re-evaluated to allowed (an explicit Deny is named, not fixed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
    /// For a denied request with no verified fix: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_fix: Option<String>,
    /// Alternatives considered but not offered, and why (e.g. a seed option that does not cover this request).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_offered: Vec<String>,
    /// For a cryptographic request on a key that is not `Enabled`: why its state refuses it, whatever
    /// the policies say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_state: Option<String>,
    /// Case field → where it came from (`resource_policy` → `the key policy of arn:…`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// For a request that is not allowed: the case file, to replay with `custody authz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<Value>,
    /// For an allowed request: the plan steps (indices) that create what allows it.
    #[serde(skip)]
    pub created_by_steps: Vec<usize>,
}

/// Checks every request of every step of `plan` against `inventory`.
pub fn check(inventory: &Inventory, plan: &Plan) -> CheckReport {
    let mut checker = Checker::new(inventory, plan);
    let mut steps: Vec<StepCheck> = Vec::with_capacity(plan.steps.len());
    let mut summary = Summary::default();
    for (si, step) in plan.steps.iter().enumerate() {
        checker.begin_step(si);
        let mut requests = Vec::new();
        for call in &step.calls {
            for req in &call.requests {
                requests.push(check_request(&mut checker, Some(si), &call.api, req));
            }
        }
        checker.end_step(si);
        // What an earlier step creates counts here whether or not that step passes (the refusal is
        // reported where it is made); a step that rests on it is blocked, not shown as passing.
        // Sorted and deduplicated by step index: two requests may rest on the same step.
        let creators: std::collections::BTreeSet<usize> =
            requests.iter().flat_map(|r| r.created_by_steps.iter().copied()).collect();
        let mut blocked_by: Vec<String> = creators
            .into_iter()
            .filter(|&s| s < steps.len() && matches!(steps[s].outcome, StepOutcome::Fail | StepOutcome::Blocked))
            .map(|s| steps[s].id.clone())
            .collect();
        let outcome = if requests.iter().any(|r| r.outcome == Outcome::Denied) {
            blocked_by.clear();
            StepOutcome::Fail
        } else if !blocked_by.is_empty() {
            StepOutcome::Blocked
        } else if requests.iter().all(|r| r.outcome == Outcome::Allowed) {
            StepOutcome::Pass
        } else {
            StepOutcome::Unknown
        };
        match outcome {
            StepOutcome::Pass => summary.passed += 1,
            StepOutcome::Fail => summary.failed += 1,
            StepOutcome::Blocked => summary.blocked += 1,
            StepOutcome::Unknown => summary.unknown += 1,
        }
        for r in &requests {
            match r.outcome {
                Outcome::Allowed => summary.requests_allowed += 1,
                Outcome::Denied => summary.requests_denied += 1,
                Outcome::Unknown => summary.requests_unknown += 1,
            }
            match r.inferred {
                Some(_) => summary.requests_inferred += 1,
                None => summary.requests_documented += 1,
            }
        }
        steps.push(StepCheck {
            id: step.id.clone(),
            title: step.title.clone(),
            phase: step.phase,
            volume_id: step.volume_id.clone(),
            outcome,
            blocked_by,
            waits_for: plan.propagation(step),
            requests,
        });
    }
    CheckReport {
        instance_id: plan.instance_id.clone(),
        case_id: plan.case_id.clone(),
        source_account: plan.source_account.clone(),
        source_region: plan.source_region.clone(),
        dest_account: plan.dest_account.clone(),
        dest_region: plan.dest_region.clone(),
        volumes: plan.volumes.clone(),
        changes: changes::changes_to_make(&steps, &plan.volumes),
        provenance: None,
        steps,
        summary,
    }
}

/// The request in the checker's terms.
pub(crate) fn spec_of(req: &AuthzRequest) -> RequestSpec<'_> {
    RequestSpec {
        principal: &req.principal,
        action: &req.action,
        resource: &req.resource,
        resource_account: req.resource_account.as_deref(),
        context: &req.context,
        grant_id: req.grant_id.as_deref(),
        scope: req.scope,
    }
}

/// Decides one request as AWS would, against `inventory` alone (no plan: the grants and keys that
/// exist are those the inventory lists). The simulated cloud authorizes every call it is sent this
/// way, keeping what the acquisition creates (keys, grants) in its copy of the inventory. No fixes are
/// worked out; `call` names the API call the request belongs to.
pub fn authorize(inventory: &Inventory, call: &str, request: &AuthzRequest) -> RequestCheck {
    let plan = Plan {
        instance_id: String::new(),
        case_id: String::new(),
        run_id: String::new(),
        source_account: String::new(),
        source_region: String::new(),
        dest_account: String::new(),
        dest_region: String::new(),
        volumes: Vec::new(),
        steps: Vec::new(),
        notes: Vec::new(),
    };
    let mut checker = Checker::new(inventory, &plan);
    check_request(&mut checker, None, call, request)
}

/// Why a policy testing `aws:ResourceTag/…` on SendCommand's instance leaves the request unknown.
const SEND_COMMAND_AWS_TAGS_UNKNOWN: &str = "a policy here tests aws:ResourceTag/<key> on ssm:SendCommand, and AWS \
    documents only ssm:resourceTag/<key> for the instance SendCommand targets (Run Command, \
    https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access; \
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html): the decision \
    differs with and without it, so it is unknown; test ssm:resourceTag/<key> instead";

/// For `ssm:SendCommand` on an instance whose tags the plan gives as `ssm:resourceTag/…`: the same
/// request with the tags also as `aws:ResourceTag/…`.
fn send_command_with_aws_resource_tags(req: &AuthzRequest) -> Option<AuthzRequest> {
    if !req.action.eq_ignore_ascii_case("ssm:SendCommand") || !req.resource.contains(":instance/") {
        return None;
    }
    let mut alt = req.clone();
    for (k, v) in &req.context {
        if let Some(tag) = k.strip_prefix("ssm:resourceTag/") {
            alt.context.insert(format!("aws:ResourceTag/{tag}"), v.clone());
        }
    }
    Some(alt)
}

/// Checks one request; `step`: the plan step it belongs to, to work out fixes for a refusal (none
/// without).
fn check_request(checker: &mut Checker<'_>, step: Option<usize>, api: &str, req: &AuthzRequest) -> RequestCheck {
    let spec = spec_of(req);
    let mut out = RequestCheck::unchecked(api, req);
    let evaluated = match checker.evaluate(&spec) {
        Ok(e) => e,
        Err(e) => {
            out.unknown.push(format!("no case could be built for this request: {e}"));
            return out;
        }
    };
    decide(checker, req, &evaluated, &mut out);
    // The case is built once: for EC2's own CreateGrant to review it, and for a request that is not
    // allowed (whether before or after that review) to report it and work out fixes.
    let mut working = None;
    if ec2_grant::is_ec2_create_grant(req) {
        working = Some(checker.working(&spec));
        if let Some(Ok(w)) = &working {
            ec2_grant::review(req, &mut out, &w.case_json());
        }
    }
    if out.outcome != Outcome::Allowed {
        match working.unwrap_or_else(|| checker.working(&spec)) {
            Ok(w) => {
                out.case = Some(w.case_json());
                out.sources = w.sources.clone();
                if let (Outcome::Denied, Some(step)) = (out.outcome, step) {
                    let proposal = fix::propose(checker, step, req, w, &evaluated.decision);
                    out.fixes = proposal.fixes;
                    out.no_fix = proposal.no_fix;
                    out.not_offered = proposal.not_offered;
                }
            }
            Err(e) => out.no_fix = Some(format!("no case could be built to try fixes on: {e}")),
        }
    }
    if let Some((why, remedy)) = key_state::refusal(&checker.inventory.keys, &req.action, &req.resource) {
        out.outcome = Outcome::Denied;
        out.key_state = Some(why);
        if out.fixes.is_empty() {
            out.no_fix = Some(remedy);
        } else {
            out.not_offered.push(format!("the fixes above change policies only; also, {remedy}"));
        }
    }
    out.explanation = Some(evaluated.explanation);
    out
}

impl RequestCheck {
    /// The request as the plan gives it, not yet decided.
    fn unchecked(api: &str, req: &AuthzRequest) -> RequestCheck {
        RequestCheck {
            call: api.to_string(),
            principal: req.principal.clone(),
            action: req.action.clone(),
            resource: req.resource.clone(),
            resource_account: req.resource_account.clone(),
            why: req.why.clone(),
            page: req.source.clone(),
            inferred: req.inferred.clone(),
            outcome: Outcome::Unknown,
            deciding: Vec::new(),
            explanation: None,
            unknown: Vec::new(),
            fixes: Vec::new(),
            no_fix: None,
            not_offered: Vec::new(),
            key_state: None,
            sources: BTreeMap::new(),
            case: None,
            created_by_steps: Vec::new(),
        }
    }
}

/// The outcome from the engine's decision and what is unknown that could change it, and the
/// statements that decided.
fn decide(checker: &mut Checker<'_>, req: &AuthzRequest, evaluated: &Evaluated, out: &mut RequestCheck) {
    let kind = evaluated.decision.kind;
    let relevant: Vec<String> = evaluated
        .unknowns
        .iter()
        .filter(|u| match kind {
            DecisionKind::ExplicitDeny => false,
            DecisionKind::Allowed => u.can_deny,
            DecisionKind::ImplicitDeny => u.can_allow,
        })
        .map(|u| u.what.clone())
        .collect();
    out.created_by_steps = evaluated.creators.clone();
    out.outcome = match (kind, relevant.is_empty()) {
        (DecisionKind::ExplicitDeny, _) => Outcome::Denied,
        (_, false) => Outcome::Unknown,
        (DecisionKind::Allowed, true) => Outcome::Allowed,
        (DecisionKind::ImplicitDeny, true) => Outcome::Denied,
    };
    out.unknown = relevant;
    if let Some(with_aws_tags) = send_command_with_aws_resource_tags(req) {
        // AWS documents ssm:resourceTag/<key> for SendCommand on an instance but not whether
        // aws:ResourceTag/<key> is there too: when a policy decides differently with it, the request
        // is unknown rather than refused or allowed on a guess.
        if checker.evaluate(&spec_of(&with_aws_tags)).is_ok_and(|e| e.decision.kind != kind) {
            out.outcome = Outcome::Unknown;
            out.unknown.push(SEND_COMMAND_AWS_TAGS_UNKNOWN.to_string());
        }
    }
    let x = &evaluated.explanation;
    let refs = if kind == DecisionKind::ExplicitDeny { &x.denied_by } else { &x.allowed_by };
    out.deciding = refs
        .iter()
        .zip(&evaluated.origins)
        .filter(|(_, origin)| !is_stand_in(origin))
        .map(|(r, origin)| Deciding {
            policy: r.policy.clone(),
            statement: r.statement,
            sid: r.sid.clone(),
            origin: origin.clone(),
        })
        .collect();
}
