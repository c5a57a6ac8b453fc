//! Fixes that `custody policy role` already writes: a refused look-up of `custody audit`
//! ([`crate::plan::Phase::Audit`]) is fixed in the role's own identity policy, and the feature
//! `audit` of `custody policy role` gives exactly that permission (`cloudtrail:LookupEvents` on
//! `*`, [`crate::generate::templates::audit`]), so each such fix names the feature and its statement.

use super::Fix;
use crate::generate::templates::audit;
use crate::generate::Feature;

/// Appends to the summary of each fix that adds to an identity-based policy the feature that writes it.
pub(super) fn name_audit(fixes: &mut [Fix]) {
    for f in fixes {
        if f.changes.iter().any(|c| c.case_field.as_deref().is_some_and(|x| x.starts_with("identity_policies"))) {
            f.summary.push_str(&format!(
                ": `custody policy role --features …,{}` writes it (statement `{}`)",
                Feature::Audit,
                audit::SID
            ));
        }
    }
}
