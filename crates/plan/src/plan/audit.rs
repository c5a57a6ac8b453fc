//! `custody audit`'s look-ups of CloudTrail's event history ([`super::PlanRequest::audit`]): one
//! step per account and Region the plan's calls act in, each one `cloudtrail:LookupEvents` signed by
//! the role custody uses in that account, so that the preflight checks the audit's permission like
//! every other call (`custody check --audit`).
//!
//! Where the events are: CloudTrail keeps an account's event history per Region ("the past 90 days
//! of recorded management events in an AWS Region",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html>), and a
//! call that crosses accounts is recorded in each of them ("when an account uses an AWS KMS key that
//! belongs to another account, the account that used the KMS key and the account that owns the KMS
//! key receive separate CloudTrail events for the same action", record field `sharedEventID`,
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>).
//! So each call counts for the account it is sent to (`Call::account`, the role's account for
//! `sts:AssumeRole`) and for its signer's account, in the Region it is sent to. That an AssumeRole
//! into another account's role is recorded in both accounts is inferred from that rule: the STS
//! pages read do not say it.
//!
//! The signer in an account: the role that signs the plan's first call sent there from that
//! account, in that Region, else anywhere; else the role custody acts as in that account.

use super::context::{Ctx, Signer};
use super::transfer::{call, step};
use super::{Action, AuthzRequest, Phase, Step};

/// The Service Authorization Reference's page for CloudTrail: LookupEvents has no resource type and
/// no condition keys, so it is authorized on Resource `*`.
const CLOUDTRAIL_SAR: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html";

/// The look-up steps for the calls of `steps`, in the order their accounts and Regions first appear.
pub(crate) fn steps(ctx: &Ctx, steps: &[Step], notes: &mut Vec<String>) -> Vec<Step> {
    let signers: Vec<&Signer> =
        [Some(&ctx.forensic), Some(&ctx.source), ctx.dest.as_ref().ok()].into_iter().flatten().collect();
    let by_role = |arn: &str| signers.iter().copied().find(|s| s.role_arn == arn);
    let calls: Vec<_> = steps.iter().flat_map(|s| &s.calls).collect();
    let mut places: Vec<(String, String)> = Vec::new();
    for c in &calls {
        let signer_account = by_role(&c.signer).map(|s| s.account.clone());
        for account in [Some(c.account.clone()), signer_account].into_iter().flatten() {
            let place = (account, c.region.clone());
            if !places.contains(&place) {
                places.push(place);
            }
        }
    }
    let mut out = Vec::new();
    for (account, region) in places {
        // A role of `account` that signs a call sent there: in this Region first, else in any.
        let signs_there = |same_region: bool| {
            calls
                .iter()
                .filter(|c| c.account == account && (!same_region || c.region == region))
                .filter_map(|c| by_role(&c.signer))
                .find(|s| s.account == account)
        };
        let signer = signs_there(true)
            .or_else(|| signs_there(false))
            .or_else(|| signers.iter().copied().find(|s| s.account == account));
        let Some(signer) = signer else {
            notes.push(format!(
                "custody has no role in account {account}, so `custody audit` cannot look up its CloudTrail events in \
                 {region}"
            ));
            continue;
        };
        out.push(step(
            format!("audit:{account}:{region}"),
            format!(
                "Look up CloudTrail's record of the acquisition in account {account} ({region}) as {} (`custody audit`)",
                signer.session
            ),
            Phase::Audit,
            Action::LookupEvents,
            None,
            vec![call("cloudtrail:LookupEvents", &account, &region, signer, vec![lookup_events(signer, &region)])],
        ));
    }
    out
}

/// `cloudtrail:LookupEvents` in `region`, as `signer`: no resource type and no condition keys of its
/// own (Service Authorization Reference), so Resource `*`, with only the global keys.
pub(crate) fn lookup_events(signer: &Signer, region: &str) -> AuthzRequest {
    AuthzRequest::new(&signer.session, "cloudtrail:LookupEvents", "*").called_in(region, false).because(
        format!(
            "`custody audit` reads CloudTrail's event history of account {} in {region} with LookupEvents, which \
             supports no resource-level permissions, so it is authorized on Resource \"*\"",
            signer.account
        ),
        CLOUDTRAIL_SAR,
    )
}
