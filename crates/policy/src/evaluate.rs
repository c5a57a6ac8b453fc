//! The decision: AWS's policy evaluation logic, KMS's key-policy and grant rules.
//!
//! Order (IAM User Guide, "Policy evaluation logic",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! 1. an explicit Deny in any applicable policy decides (`explicitDeny`); grants cannot override it;
//! 2. RCPs of the resource account, then SCPs of the caller's account: every level of the organization
//!    path must allow (Organizations User Guide, SCP and RCP evaluation);
//! 3. the VPC endpoint policy, when the request goes through one, must allow;
//! 4. resource-based policy and identity-based policies, bounded by the permissions boundary and the
//!    session policy, with the same-account and cross-account rules
//!    (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>);
//! 5. for a KMS key the key policy is the resource policy and is required: IAM policies count only
//!    when the key policy allows the account, and a grant authorises its grantee on its own (KMS
//!    Developer Guide, "Key policies", "Grants").
//!
//! Evaluation allocates only the lists of matching statements.

use crate::case::{Case, Request};
use crate::decision::{Decision, DecisionKind, GateKind, Hit, Note, PolicyRef};
use crate::document::{Effect, Policy, PrincipalSpec, Spec, Statement};
use crate::kms::GrantMiss;
use crate::pattern::MatchResult;
use crate::principal::{not_principal_excludes, Caller, PrincipalMatch, PrincipalPattern};

/// Services whose resources RCPs apply to (AWS Organizations User Guide, "Resource control policies",
/// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#rcp-supported-services>).
/// EC2 is not among them.
const RCP_SERVICES: &[&str] = &[
    "aoss",
    "appconfig",
    "appstream",
    "autoscaling",
    "autoscaling-plans",
    "budgets",
    "clouddirectory",
    "cloudfront",
    "cloudsearch",
    "cloudtrail-data",
    "codeartifact",
    "codebuild",
    "codecommit",
    "codepipeline",
    "cognito-identity",
    "cognito-idp",
    "comprehend",
    "comprehendmedical",
    "compute-optimizer",
    "cost-optimization-hub",
    "dax",
    "dsql",
    "dynamodb",
    "ecr",
    "ecr-public",
    "events",
    "firehose",
    "fis",
    "fms",
    "gamelift",
    "health",
    "inspector-scan",
    "kendra",
    "kinesisvideo",
    "kms",
    "logs",
    "memorydb",
    "networkmonitor",
    "notifications",
    "opensearch",
    "pca-connector-ad",
    "personalize",
    "polly",
    "pricing",
    "resource-groups",
    "rolesanywhere",
    "s3",
    "secretsmanager",
    "servicediscovery",
    "signin",
    "sqs",
    "sts",
    "support",
    "swf",
    "textract",
    "timestream-influxdb",
    "transcribe",
    "transfer",
    "translate",
    "wafv2",
    "workspaces",
    "xray",
];

/// Evaluates a case. ([`crate::near_misses`] says, for an implicit deny, which statements came close;
/// it is computed on demand so that evaluation stays cheap.)
pub fn evaluate(case: &Case) -> Decision {
    let req = &case.request;
    let caller = &req.caller;
    let mut allows: Vec<Hit> = Vec::new();
    let mut denies: Vec<Hit> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    // "No permissions are required to perform this operation. If an administrator attaches a policy
    // to your identity that explicitly denies access to the sts:GetCallerIdentity action, you can
    // still perform this operation" (STS API Reference, GetCallerIdentity,
    // <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>).
    if &*req.service == "sts" && req.action_name().eq_ignore_ascii_case("GetCallerIdentity") {
        return Decision::allowed(Vec::new(), vec![Note::NeedsNoPermission]);
    }
    let scanning = Scanning { req, has_boundary: case.permissions_boundary.is_some() };

    // Identity-side policies exist only for IAM principals.
    let iam_principal = caller.account().is_some();
    if iam_principal {
        for (i, p) in case.identity_policies.iter().enumerate() {
            scan(p, PolicyRef::Identity(i), &scanning, &mut allows, &mut denies);
        }
        if let Some(p) = &case.permissions_boundary {
            scan(p, PolicyRef::Boundary, &scanning, &mut allows, &mut denies);
        }
        if let Some(p) = &case.session_policy {
            scan(p, PolicyRef::Session, &scanning, &mut allows, &mut denies);
        }
    }
    // SCPs restrict IAM principals of member accounts, but not service-linked roles.
    let scps_apply = case.scps.is_some() && iam_principal && !caller.is_service_linked_role();
    if case.scps.is_some() && !scps_apply {
        notes.push(Note::ScpsNotApplicable);
    }
    if let (true, Some(levels)) = (scps_apply, &case.scps) {
        scan_levels(levels, PolicyRef::Scp, &scanning, &mut allows, &mut denies);
    }
    let is_retire_grant = &*req.service == "kms" && req.action_name().eq_ignore_ascii_case("RetireGrant");
    // RCPs restrict the listed services' resources for every caller but service-linked roles; they do
    // not restrict kms:RetireGrant.
    let rcps_apply = case.rcps.is_some()
        && RCP_SERVICES.contains(&&*req.service)
        && !is_retire_grant
        && !caller.is_service_linked_role()
        && !matches!(caller, Caller::Service(_));
    if case.rcps.is_some() && !rcps_apply {
        notes.push(Note::RcpsNotApplicable);
    }
    if let (true, Some(levels)) = (rcps_apply, &case.rcps) {
        scan_levels(levels, PolicyRef::Rcp, &scanning, &mut allows, &mut denies);
    }
    if let Some(p) = &case.resource_policy {
        scan(p, PolicyRef::Resource, &scanning, &mut allows, &mut denies);
    }
    if let Some(p) = &case.vpc_endpoint_policy {
        scan(p, PolicyRef::VpcEndpoint, &scanning, &mut allows, &mut denies);
    }

    if !denies.is_empty() {
        return Decision {
            kind: DecisionKind::ExplicitDeny,
            allowed_by: Vec::new(),
            denied_by: denies,
            gate: None,
            notes,
        };
    }
    if let (true, Some(levels)) = (rcps_apply, &case.rcps) {
        if let Some(level) = first_level_without_allow(levels.len(), &allows, |r| matches!(r, PolicyRef::Rcp(..))) {
            return Decision::implicit(GateKind::Rcp, Some(level), notes);
        }
    }
    if let (true, Some(levels)) = (scps_apply, &case.scps) {
        if let Some(level) = first_level_without_allow(levels.len(), &allows, |r| matches!(r, PolicyRef::Scp(..))) {
            return Decision::implicit(GateKind::Scp, Some(level), notes);
        }
    }
    if case.vpc_endpoint_policy.is_some() && !allows.iter().any(|h| h.policy == PolicyRef::VpcEndpoint) {
        return Decision::implicit(GateKind::VpcEndpointPolicy, None, notes);
    }
    if is_retire_grant {
        return retire_grant(case, &allows, notes);
    }
    principal_decision(case, allows, notes)
}

/// What the identity side (identity-based policies within the boundary and session policy) says.
struct IdentitySide {
    /// Some identity-based policy allows (or the caller is the root user, who needs none).
    allows: bool,
    boundary_ok: bool,
    session_ok: bool,
}

impl IdentitySide {
    fn of(case: &Case, allows: &[Hit]) -> IdentitySide {
        let caller = &case.request.caller;
        let has = |r: PolicyRef| allows.iter().any(|h| h.policy == r);
        let root = matches!(caller, Caller::Root { .. });
        IdentitySide {
            // "All requests are implicitly denied with the exception of the AWS account root user,
            // which has full access" (IAM User Guide, policy-eval-denyallow).
            allows: root || allows.iter().any(|h| matches!(h.policy, PolicyRef::Identity(_))),
            boundary_ok: case.permissions_boundary.is_none() || has(PolicyRef::Boundary),
            // Without a session policy a role session is allowed, a federated user is not
            // (GetFederationToken grants nothing without one).
            session_ok: match &case.session_policy {
                Some(_) => has(PolicyRef::Session),
                None => !matches!(caller, Caller::FederatedUser { .. }),
            },
        }
    }

    fn ok(&self) -> bool {
        self.allows && self.boundary_ok && self.session_ok
    }

    fn gate(&self) -> GateKind {
        if !self.allows {
            GateKind::IdentityPolicy
        } else if !self.boundary_ok {
            GateKind::PermissionsBoundary
        } else {
            GateKind::SessionPolicy
        }
    }
}

/// Steps 4 and 5: resource-based and identity-based policies, boundaries, session policies, grants.
fn principal_decision(case: &Case, allows: Vec<Hit>, mut notes: Vec<Note>) -> Decision {
    let req = &case.request;
    let caller = &req.caller;
    let id = IdentitySide::of(case, &allows);
    let is_root = matches!(caller, Caller::Root { .. });
    let resource_hits = || allows.iter().filter(|h| h.policy == PolicyRef::Resource);
    // How the resource policy names the caller decides what else is needed (docs/semantics.md §3).
    // A user ARN, a session ARN, `*` or the service itself: nothing else in the same account. A role
    // ARN: limited by the boundary and the session policy. The account: delegates to IAM, except
    // for the root user, whom the account names directly.
    let names_caller = |h: &&Hit| match h.via {
        Some(PrincipalMatch::Account) => is_root,
        Some(_) => true,
        None => false,
    };
    let unlimited = |h: &&Hit| names_caller(h) && h.via != Some(PrincipalMatch::Role);
    let named = resource_hits().any(|h| names_caller(&h));
    let resource_allows = resource_hits().next().is_some();
    let is_key = req.is_kms_key();
    // Key policies and role trust policies must allow the caller even in the same account: "IAM role
    // trust policies and KMS key policies are exceptions to this logic, because they must explicitly
    // allow access for principals" (IAM User Guide, "Policy evaluation for requests within a single
    // account", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>).
    let resource_policy_required = is_key || req.is_role_trust();
    let missing_resource_gate = if is_key { GateKind::KeyPolicy } else { GateKind::ResourcePolicy };
    let same_account = match (caller.account(), req.resource_account.as_deref()) {
        (Some(c), Some(r)) => c == r,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !same_account && caller.account().is_some() {
        notes.push(Note::CrossAccount);
    }
    // A grant authorises its grantee on its own, in any account (KMS Developer Guide, "Grants").
    if is_key {
        if let Some(g) = applicable_grant(case, &mut notes) {
            return Decision::allowed(vec![g], notes);
        }
    }
    let only = |keep: &dyn Fn(&Hit) -> bool| allows.iter().copied().filter(|h| keep(h)).collect::<Vec<Hit>>();
    let identity_hits = |h: &Hit| matches!(h.policy, PolicyRef::Identity(_));

    // Service principals and anonymous callers have no identity policies: only a resource policy
    // naming them (or everyone) can allow.
    if caller.account().is_none() {
        if resource_hits().any(|h| names_caller(&h)) {
            return Decision::allowed(only(&|h| h.policy == PolicyRef::Resource), notes);
        }
        let gate = if is_key { GateKind::KeyPolicy } else { GateKind::ResourcePolicy };
        return Decision::implicit(gate, None, notes);
    }

    if same_account {
        let limited_ok = id.boundary_ok && id.session_ok;
        if resource_hits().any(|h| unlimited(&h)) || (named && limited_ok) {
            return Decision::allowed(only(&|h| h.policy == PolicyRef::Resource && names_caller(&h)), notes);
        }
        // Identity policies decide in the same account; for a key or a role's trust, only when the
        // key policy (trust policy) has a statement for the account ("Enable IAM User Permissions").
        let iam_counts = !resource_policy_required || resource_allows;
        if id.ok() && iam_counts {
            return Decision::allowed(only(&|h| identity_hits(h) || h.policy == PolicyRef::Resource), notes);
        }
        if resource_policy_required && !resource_allows {
            if id.allows && !is_root {
                notes.push(if is_key { Note::IdentityAllowIgnoredByKeyPolicy } else { Note::IdentityAllowNeedsTrust });
            }
            return Decision::implicit(missing_resource_gate, None, notes);
        }
        if named {
            // The resource policy names the caller's role: only the boundary or the session policy
            // can have stopped it.
            let gate = if id.boundary_ok { GateKind::SessionPolicy } else { GateKind::PermissionsBoundary };
            return Decision::implicit(gate, None, notes);
        }
        return Decision::implicit(id.gate(), None, notes);
    }

    // Cross-account: the resource's account must allow (resource policy), and so must the caller's
    // (identity-based policies, within the boundary and session policy).
    if resource_allows && id.ok() {
        return Decision::allowed(only(&|h| identity_hits(h) || h.policy == PolicyRef::Resource), notes);
    }
    if !resource_allows {
        return Decision::implicit(missing_resource_gate, None, notes);
    }
    if !named {
        notes.push(Note::ResourceAllowsAccountOnly);
    }
    Decision::implicit(id.gate(), None, notes)
}

/// The first grant that authorises the request, noting near misses.
fn applicable_grant(case: &Case, notes: &mut Vec<Note>) -> Option<Hit> {
    let req = &case.request;
    let op = req.action_name();
    let mut found = None;
    for (i, g) in case.grants.iter().enumerate() {
        match g.authorises(&req.caller, op, &req.context) {
            Ok(()) => {
                found = Some(Hit { policy: PolicyRef::Grant(i), statement: None, via: None });
                break;
            }
            Err(GrantMiss::Constraint) => notes.push(Note::GrantConstraintUnmet(i)),
            Err(GrantMiss::Operation) => notes.push(Note::GrantOperationMissing(i)),
            Err(GrantMiss::Grantee) => {}
        }
    }
    if found.is_some() {
        notes.retain(|n| !matches!(n, Note::GrantConstraintUnmet(_) | Note::GrantOperationMissing(_)));
    }
    found
}

/// RetireGrant is authorised by the grant, not by the key policy (KMS Developer Guide, "Retiring and
/// revoking grants", <https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete>):
/// the retiring principal, the grantee when the grant lists RetireGrant, the root user of the account
/// that created the grant, and IAM principals of that account whose identity policies allow
/// `kms:RetireGrant` ("the kms:RetireGrant permission alone does not allow principals to retire a grant").
fn retire_grant(case: &Case, allows: &[Hit], notes: Vec<Note>) -> Decision {
    let req = &case.request;
    let caller = &req.caller;
    let target = match req.grant_id.as_deref() {
        Some(id) => case.grants.iter().position(|g| g.grant_id.as_deref() == Some(id)),
        None if case.grants.len() == 1 => Some(0),
        None => None,
    };
    let Some(i) = target else { return Decision::implicit(GateKind::RetireGrant, None, notes) };
    let grant = &case.grants[i];
    let by_grant = Hit { policy: PolicyRef::Grant(i), statement: None, via: None };
    if grant.retirable_by_name(caller) {
        return Decision::allowed(vec![by_grant], notes);
    }
    let id = IdentitySide::of(case, allows);
    let in_issuing_account = grant.issuing_account.as_deref().is_some_and(|a| caller.account() == Some(a));
    let retiring_account =
        matches!(&grant.retiring, Some(PrincipalPattern::Account(a)) if caller.account() == Some(&**a));
    if (in_issuing_account || retiring_account) && id.ok() {
        let mut by = vec![by_grant];
        by.extend(allows.iter().copied().filter(|h| matches!(h.policy, PolicyRef::Identity(_))));
        return Decision::allowed(by, notes);
    }
    Decision::implicit(GateKind::RetireGrant, None, notes)
}

fn first_level_without_allow(levels: usize, allows: &[Hit], is_kind: impl Fn(&PolicyRef) -> bool) -> Option<usize> {
    (0..levels).find(|&level| {
        !allows.iter().any(|h| {
            is_kind(&h.policy)
                && match h.policy {
                    PolicyRef::Scp(l, _) | PolicyRef::Rcp(l, _) => l == level,
                    _ => false,
                }
        })
    })
}

/// What deciding whether a statement applies needs besides the statement.
struct Scanning<'a> {
    req: &'a Request,
    /// The caller has a permissions boundary (a Deny with NotPrincipal then applies whatever it lists).
    has_boundary: bool,
}

fn scan_levels(
    levels: &[Vec<Policy>],
    at: fn(usize, usize) -> PolicyRef,
    scanning: &Scanning<'_>,
    allows: &mut Vec<Hit>,
    denies: &mut Vec<Hit>,
) {
    for (l, level) in levels.iter().enumerate() {
        for (i, p) in level.iter().enumerate() {
            scan(p, at(l, i), scanning, allows, denies);
        }
    }
}

/// Adds every statement of `policy` that applies to the request to `allows` or `denies`.
fn scan(policy: &Policy, at: PolicyRef, scanning: &Scanning<'_>, allows: &mut Vec<Hit>, denies: &mut Vec<Hit>) {
    for stmt in &policy.statements {
        let Some(via) = statement_applies(stmt, scanning) else { continue };
        let hit = Hit { policy: at, statement: Some(stmt.index), via };
        match stmt.effect {
            Effect::Allow => allows.push(hit),
            Effect::Deny => denies.push(hit),
        }
    }
}

/// `Some(how the principal matched)` when the statement applies to the request.
fn statement_applies(stmt: &Statement, scanning: &Scanning<'_>) -> Option<Option<PrincipalMatch>> {
    let req = scanning.req;
    if !covers(stmt, req) {
        return None;
    }
    let via = principal_via(stmt, req, scanning.has_boundary)?;
    if !stmt.conditions.iter().all(|c| c.holds(&req.context)) {
        return None;
    }
    Some(via)
}

/// Whether the statement's Action and Resource cover the request.
pub(crate) fn covers(stmt: &Statement, req: &Request) -> bool {
    if !stmt.services.admits(req.service_mask()) {
        return false;
    }
    let ctx = &req.context;
    let action_ok = match &stmt.action {
        Spec::Any => true,
        Spec::Only(ps) => ps.iter().any(|p| p.matches(&req.action, ctx) == MatchResult::Match),
        Spec::Not(ps) => ps.iter().all(|p| p.matches(&req.action, ctx) == MatchResult::NoMatch),
    };
    action_ok
        && match &stmt.resource {
            Spec::Any => true,
            Spec::Only(ps) => ps.iter().any(|p| p.matches(&req.resource, ctx) == MatchResult::Match),
            // An unresolved variable matches nothing, so it cannot prove the resource is *not* listed.
            Spec::Not(ps) => ps.iter().all(|p| p.matches(&req.resource, ctx) == MatchResult::NoMatch),
        }
}

/// How the statement's Principal/NotPrincipal names the caller: `None` when it does not,
/// `Some(None)` when the statement has no principal element. `has_boundary`: the caller has a
/// permissions boundary.
///
/// NotPrincipal (IAM User Guide, <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>):
/// "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not supported",
/// so such a statement grants nobody here; and "The NotPrincipal element with a Deny effect will
/// always deny any IAM principal that has a permissions boundary policy attached, regardless of the
/// values specified in the NotPrincipal element".
pub(crate) fn principal_via(stmt: &Statement, req: &Request, has_boundary: bool) -> Option<Option<PrincipalMatch>> {
    match &stmt.principal {
        PrincipalSpec::Absent => Some(None),
        PrincipalSpec::Principal(list) => Some(Some(best_match(list.iter().filter_map(|p| p.matches(&req.caller)))?)),
        PrincipalSpec::NotPrincipal(_) if stmt.effect == Effect::Allow => None,
        PrincipalSpec::NotPrincipal(_) if has_boundary && req.caller.account().is_some() => {
            Some(Some(PrincipalMatch::Everyone))
        }
        PrincipalSpec::NotPrincipal(list) => {
            (!not_principal_excludes(list, &req.caller)).then_some(Some(PrincipalMatch::Everyone))
        }
    }
}

/// The most specific way a principal list names the caller.
fn best_match(matches: impl Iterator<Item = PrincipalMatch>) -> Option<PrincipalMatch> {
    let rank = |m: &PrincipalMatch| match m {
        PrincipalMatch::Exact => 4,
        PrincipalMatch::Service => 3,
        PrincipalMatch::Role => 2,
        PrincipalMatch::Everyone => 1,
        PrincipalMatch::Account => 0,
    };
    matches.max_by_key(rank)
}
