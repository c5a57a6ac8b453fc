//! "Changes to make": the fewest distinct changes that fix every refused request that has a fix, each
//! once, with the requests it fixes, so that a reviewer reads what to change before the details.
//!
//! Requests refused for the same reason get the same fix (the two volumes of an instance copied under
//! one key; the six KMS requests of one copy that one condition precludes): a fix is the same change
//! when its changes are identical. The list is chosen greedily: the fix that covers the most refused
//! requests not yet covered, the one that adds least beyond the plan's needs among equals (a greedy set
//! cover; an exact one is NP-hard and gains nothing a reviewer would notice at these sizes). A fix too
//! broad to offer beside a narrower one ([`super::fix::Fix::risk`]) is never chosen while another
//! covers the request.

use super::fix::{Fix, FixKind};
use super::{Outcome, StepCheck};
use crate::plan::{Path, VolumePlan};
use serde::Serialize;

/// A refused request, by where it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRef {
    pub step: String,
    pub action: String,
    pub resource: String,
}

/// One change to make: a fix, and every refused request it fixes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeToMake {
    pub fix: Fix,
    pub fixes_requests: Vec<RequestRef>,
}

/// A refused request with its fixes, and the path of the volume its step moves (if any).
struct Refused<'a> {
    at: RequestRef,
    fixes: &'a [Fix],
    path: Option<Path>,
}

/// The refused requests that have at least one fix.
fn refused<'a>(steps: &'a [StepCheck], volumes: &[VolumePlan]) -> Vec<Refused<'a>> {
    steps
        .iter()
        .flat_map(|s| s.requests.iter().map(move |r| (s, r)))
        .filter(|(_, r)| r.outcome == Outcome::Denied && !r.fixes.is_empty())
        .map(|(s, r)| Refused {
            at: RequestRef { step: s.id.clone(), action: r.action.clone(), resource: r.resource.clone() },
            fixes: r.fixes.as_slice(),
            path: s.volume_id.as_ref().and_then(|v| volumes.iter().find(|p| &p.volume_id == v)).map(|p| p.path),
        })
        .collect()
}

/// Whether a fix works with the path the plan chose: a way to open a key other than the path's
/// needs another `--mode`, so it comes after fixes that do not.
fn keeps_path(f: &Fix, path: Option<Path>) -> bool {
    match f.kind {
        FixKind::KmsGrantOnly => path == Some(Path::CrossAccountGrantOnly),
        FixKind::KmsDirectUse => path == Some(Path::CrossAccountDirect),
        FixKind::KmsOwnerGrant => path == Some(Path::CrossAccountOwnerGrants),
        _ => true,
    }
}

/// The changes to make, in the order chosen.
pub fn changes_to_make(steps: &[StepCheck], volumes: &[VolumePlan]) -> Vec<ChangeToMake> {
    let requests = refused(steps, volumes);
    let mut covered = vec![false; requests.len()];
    let mut out = Vec::new();
    loop {
        // The best candidate by (risky, needs another mode, requests newly covered, beyond the plan).
        type Rank = (bool, bool, std::cmp::Reverse<usize>, usize);
        let mut best: Option<(Rank, &Fix)> = None;
        for (i, r) in requests.iter().enumerate() {
            if covered[i] {
                continue;
            }
            for f in r.fixes {
                let gain = requests
                    .iter()
                    .zip(&covered)
                    .filter(|(other, done)| !**done && other.fixes.iter().any(|g| same(g, f)))
                    .count();
                let rank = (f.risk.is_some(), !keeps_path(f, r.path), std::cmp::Reverse(gain), f.adds_beyond_plan());
                if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                    best = Some((rank, f));
                }
            }
        }
        let Some((_, chosen)) = best else { break };
        let mut fixes_requests = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            if !covered[i] && r.fixes.iter().any(|g| same(g, chosen)) {
                covered[i] = true;
                fixes_requests.push(r.at.clone());
            }
        }
        out.push(ChangeToMake { fix: chosen.clone(), fixes_requests });
    }
    out
}

/// Two fixes make the same change.
pub fn same(a: &Fix, b: &Fix) -> bool {
    a.changes == b.changes
}

/// Which change to make, if any, `fix` is (its 0-based index).
pub fn change_index(changes: &[ChangeToMake], fix: &Fix) -> Option<usize> {
    changes.iter().position(|c| same(&c.fix, fix))
}
