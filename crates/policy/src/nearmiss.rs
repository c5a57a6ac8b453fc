//! Near misses: for an implicit deny, the Allow statements of the failed gate's policies that cover the
//! action and resource but do not apply to this caller or this context, each with the first reason.
//! This is what turns "denied" into "change this": the condition that precludes the region, the
//! principal the key policy names instead of yours.

use crate::case::Case;
use crate::decision::{Decision, Gate, GateKind, MissReason, NearMiss, PolicyRef};
use crate::document::{Effect, Policy};
use crate::evaluate::{covers, principal_via};

/// For an implicit deny, the near misses of the failed gate, in policy and statement order; none for
/// other decisions.
pub fn near_misses(case: &Case, decision: &Decision) -> Vec<NearMiss> {
    let Some(gate) = decision.gate else { return Vec::new() };
    let mut out = Vec::new();
    for (at, policy) in gate_policies(case, gate) {
        for stmt in &policy.statements {
            if stmt.effect != Effect::Allow || !covers(stmt, &case.request) {
                continue;
            }
            let reason = if principal_via(stmt, &case.request, case.permissions_boundary.is_some()).is_none() {
                MissReason::Principal
            } else {
                match stmt.conditions.iter().position(|c| !c.holds(&case.request.context)) {
                    Some(i) => MissReason::Condition(i),
                    // It applies: the gate failed for another reason (e.g. the identity side).
                    None => continue,
                }
            };
            out.push(NearMiss { policy: at, statement: stmt.index, reason });
        }
    }
    out
}

/// The policies whose Allow the gate was waiting for.
fn gate_policies(case: &Case, gate: Gate) -> Vec<(PolicyRef, &Policy)> {
    match gate.kind {
        GateKind::Scp => level(&case.scps, gate.level.unwrap_or(0), PolicyRef::Scp),
        GateKind::Rcp => level(&case.rcps, gate.level.unwrap_or(0), PolicyRef::Rcp),
        GateKind::VpcEndpointPolicy => one(&case.vpc_endpoint_policy, PolicyRef::VpcEndpoint),
        GateKind::KeyPolicy | GateKind::ResourcePolicy => one(&case.resource_policy, PolicyRef::Resource),
        GateKind::IdentityPolicy => case
            .identity_policies
            .iter()
            .enumerate()
            .map(|(i, p)| (PolicyRef::Identity(i), p))
            .chain(case.resource_policy.iter().map(|p| (PolicyRef::Resource, p)))
            .collect(),
        GateKind::PermissionsBoundary => one(&case.permissions_boundary, PolicyRef::Boundary),
        GateKind::SessionPolicy => one(&case.session_policy, PolicyRef::Session),
        GateKind::RetireGrant => Vec::new(),
    }
}

fn level(levels: &Option<Vec<Vec<Policy>>>, l: usize, at: fn(usize, usize) -> PolicyRef) -> Vec<(PolicyRef, &Policy)> {
    let policies = levels.as_ref().and_then(|ls| ls.get(l)).map(Vec::as_slice).unwrap_or_default();
    policies.iter().enumerate().map(|(i, p)| (at(l, i), p)).collect()
}

fn one(p: &Option<Policy>, at: PolicyRef) -> Vec<(PolicyRef, &Policy)> {
    p.iter().map(|p| (at, p)).collect()
}
