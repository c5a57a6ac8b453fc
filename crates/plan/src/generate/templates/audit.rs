//! Feature `audit`: reading CloudTrail's event history, so that `custody audit` can hold an
//! acquisition against AWS's own record of it, in every account custody acted in.
//!
//! Every role custody uses gets `cloudtrail:LookupEvents` on Resource `"*"`: the forensic role (its
//! own account) and the source role (each source account), each looking up its own account's event
//! history: CloudTrail keeps the event history of an account per Region ("the past 90 days of
//! recorded management events in an AWS Region",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html>), and
//! LookupEvents reads it ("events that occurred in a Region within the last 90 days",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>). The
//! Service Authorization Reference lists no resource type and no condition keys for
//! LookupEvents, and an action without a resource type is allowed only on `"*"`
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html>).
//! AWS's own read-only CloudTrail policy grants it the same way
//! (<https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCloudTrail_ReadOnlyAccess.html>).
//!
//! The rows come last in [`super::rows`], so the statements of the other features keep their place
//! (and their number in a preflight's report) when `audit` is added.

use super::{Res, Role, Scope, Template, ANY_MODE};
use crate::generate::Feature::Audit;

/// The action the rows allow: the one call `custody audit` makes.
pub const LOOKUP_EVENTS: &str = "cloudtrail:LookupEvents";

/// The Sid of the statement, in both roles' policies.
pub const SID: &str = "AuditReadCloudTrailEventHistory";

/// The Service Authorization Reference's page for CloudTrail.
pub const CLOUDTRAIL_SAR: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html";

const PURPOSE: &str = "read CloudTrail's event history to audit an acquisition (`custody audit`): LookupEvents has \
     no resource type and no condition keys, so Resource \"*\"";

/// One row per role custody runs as: the forensic role, for its account; the source role, for each
/// source account (the forensic role's row covers the forensic account when it is a source too).
pub const ROWS: &[Template] = &[
    Template {
        sid: SID,
        role: Role::Forensic,
        features: &[Audit],
        kms: ANY_MODE,
        scope: Scope::Always,
        forensic_too: false,
        actions: &[LOOKUP_EVENTS],
        resources: &[Res::Any],
        conditions: &[],
        purpose: PURPOSE,
        doc: CLOUDTRAIL_SAR,
    },
    Template {
        sid: SID,
        role: Role::Source,
        features: &[Audit],
        kms: ANY_MODE,
        scope: Scope::Always,
        forensic_too: false,
        actions: &[LOOKUP_EVENTS],
        resources: &[Res::Any],
        conditions: &[],
        purpose: PURPOSE,
        doc: CLOUDTRAIL_SAR,
    },
];
