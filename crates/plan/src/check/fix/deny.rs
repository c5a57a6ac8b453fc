//! An explicit Deny: named with the statement to change, never fixed automatically. "An explicit
//! deny in any policy overrides any allows" (IAM User Guide, "Policy evaluation logic",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>),
//! and a Deny is somebody's decision, which custody reports rather than undoes. The report says
//! whether changing the Deny alone would let the request through.

use super::edit::{self, Slot};
use super::{Change, ChangeAction, Fix, FixKind, Proposal};
use crate::check::build::Working;
use custody_policy::{evaluate, Decision, DecisionKind};

/// Blames each matching Deny; says whether changing them alone would let the request through.
pub(super) fn explicit(w: &Working, decision: &Decision, out: &mut Proposal) {
    let mut without = w.clone();
    let mut hits = decision.denied_by.clone();
    hits.sort_by_key(|h| std::cmp::Reverse(h.statement));
    let mut removed = true;
    for h in &hits {
        let (Some(slot), Some(i)) = (Slot::of(h.policy), h.statement) else {
            removed = false;
            continue;
        };
        match edit::with_statement(&without, slot, i, None) {
            Some(doc) => removed &= edit::set_slot(&mut without, slot, doc).is_ok(),
            None => removed = false,
        }
    }
    let after = evaluate(&without.case);
    let alone = if !removed {
        String::new()
    } else if after.kind == DecisionKind::Allowed {
        "; without it the request would be allowed".to_string()
    } else {
        let x = custody_policy::explain(&without.case, &after);
        format!("; without it the request would still be refused ({})", x.summary)
    };
    for h in &decision.denied_by {
        let label = h.policy.to_string();
        let target = w.sources.get(&label).cloned().unwrap_or(label);
        let stmt = Slot::of(h.policy).zip(h.statement).and_then(|(slot, i)| edit::statement_json(w, slot, i));
        let mut change = Change::new(ChangeAction::ChangeDeny, target.clone()).at(h.policy.to_string());
        change.statement = h.statement;
        if let Some(s) = stmt {
            change = change.with_json(s);
        }
        let which = match (&change.sid, h.statement) {
            (Some(sid), Some(i)) => format!("statement {i} (Sid `{sid}`)"),
            (None, Some(i)) => format!("statement {i}"),
            _ => "a statement".into(),
        };
        out.fixes.push(Fix {
            kind: FixKind::ExplicitDeny,
            summary: format!("Change or remove the Deny {which} of {target}"),
            reason: format!("an explicit Deny overrides every Allow, so custody offers no automatic fix{alone}"),
            changes: vec![change],
            verified: false,
            adds: Vec::new(),
            risk: None,
        });
    }
}
