//! The LookupEvents queries that find a case's record in CloudTrail's event history.

use super::scope::Scope;
use super::{predict, CaseInput};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One LookupEvents query: an attribute and its value (LookupEvents takes one per request).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Lookup {
    /// `Username`, `EventName` or `ResourceName`, as LookupEvents names its attributes.
    pub key: &'static str,
    pub value: String,
}

/// Where to read the record of the case: one account and Region, as one of the roles the case used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub account: String,
    pub region: String,
    /// The role custody signed its calls there with (LookupEvents reads one account's history).
    pub role: String,
    pub lookups: Vec<Lookup>,
}

/// What to ask CloudTrail for the case: the window and the places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupPlan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub places: Vec<Place>,
}

/// The LookupEvents queries that find the case's record: in every account and Region the plans call
/// (as the role that signed there), the case's session names (`Username` is the role session name of
/// an assumed role, as the AWS CLI's lookup-events example shows:
/// <https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html>), every API
/// journaled there (for an identity custody did not name), and the case's resources and keys there.
pub fn lookup_plan(input: &CaseInput<'_>) -> LookupPlan {
    let scope = Scope::new(input);
    let mut places: BTreeMap<(String, String), (String, BTreeSet<Lookup>)> = BTreeMap::new();
    for a in input.acquisitions {
        for call in a.plan.steps.iter().flat_map(|s| &s.calls) {
            let place = places
                .entry((call.account.clone(), call.region.clone()))
                .or_insert_with(|| (call.signer.clone(), BTreeSet::new()));
            // The account's own role reads its history (AssumeRole is sent to the role's account,
            // signed by the forensic role).
            if role_account(&call.signer) == Some(call.account.as_str()) {
                place.0 = call.signer.clone();
            }
        }
    }
    let predictions = predict::predictions(input, &scope);
    for ((account, region), (_, lookups)) in places.iter_mut() {
        for s in scope.session_names() {
            lookups.insert(Lookup { key: "Username", value: s.clone() });
        }
        for e in input.entries.iter().filter(|e| e.intent.account == *account && e.intent.region == *region) {
            if let Some((_, op)) = e.intent.api.split_once(':') {
                lookups.insert(Lookup { key: "EventName", value: op.to_string() });
            }
        }
        for r in input.resources.iter().filter(|r| r.account == *account && r.region == *region) {
            lookups.insert(Lookup { key: "ResourceName", value: r.id.clone() });
        }
        for e in input.evidence.iter().filter(|e| e.account == *account && e.region == *region) {
            lookups.insert(Lookup { key: "ResourceName", value: e.snapshot_id.clone() });
        }
        for p in &predictions {
            let mut parts = p.key_arn.split(':');
            let (key_region, key_account) = (parts.nth(3), parts.next());
            if key_region == Some(region.as_str()) && key_account == Some(account.as_str()) {
                lookups.insert(Lookup { key: "ResourceName", value: p.key_arn.clone() });
            }
        }
    }
    LookupPlan {
        start: scope.start,
        end: scope.end,
        places: places
            .into_iter()
            .map(|((account, region), (role, lookups))| Place {
                account,
                region,
                role,
                lookups: lookups.into_iter().collect(),
            })
            .collect(),
    }
}

/// The account of a role ARN.
fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}
