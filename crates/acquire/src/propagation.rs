//! Waiting for KMS to propagate what an earlier step made: a grant (path 5) or the temporary key and
//! its alias (path 8). KMS documents that a new grant may take "usually less than five minutes" to be
//! available throughout KMS (KMS API Reference, CreateGrant,
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>) and that alias changes
//! may take "up to five minutes" to affect authorization
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>); EC2 takes no
//! grant token when it copies a snapshot, so a copy made too early ends in `error` with "Given key ID
//! is not accessible" (EBS User Guide, <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>).
//!
//! Two defences, both bounded by [`crate::wait::WaitSettings::propagation`]:
//! - before the copy, a readiness probe: DescribeKey as the grantee, without a grant token, until it
//!   is allowed. The grant lists DescribeKey, and its encryption-context constraint does not apply
//!   to DescribeKey ("Grants with grant constraints can include the DescribeKey and RetireGrant
//!   operations, but the constraint doesn't apply to these operations", CreateGrant `Constraints`),
//!   so the grant alone decides it. For the temporary key, DescribeKey as the forensic role, which
//!   its key policy allows and the role's own policy allows only by the key's alias
//!   (`kms:ResourceAliases`), so the alias decides it. The probe proves that *a* grant of the
//!   grantee on the key is in effect, not this one (another volume's grant also allows DescribeKey),
//!   and that KMS's host that answered sees the alias, not that the one EC2 reaches does: hence
//! - a copy that ends in `error` because its key was not accessible, while the window lasts, is made
//!   again (journaled like the first), at most [`MAX_COPY_ATTEMPTS`] times in all, spaced out so the
//!   attempts span the window; the failed copy holds no data and is reported (an evidence copy that
//!   failed carries the evidence tag, so only the examiner removes it).

use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::Event;
use custody_plan::plan::{Api, Awaited, Call, Propagation, Step, KMS_EVENTUAL_CONSISTENCY, UNTIL_THE_ALIAS_AUTHORIZES};
use std::time::Duration;

/// EC2's state message for a copy whose key could not be used (ebs-copy-snapshot).
const KEY_NOT_ACCESSIBLE: &str = "Given key ID is not accessible";

/// The most copies made for one step while KMS propagates what it rests on: every failed one is a
/// snapshot left to remove, so they are few and spread over the window ([`retry_delay`]).
pub(crate) const MAX_COPY_ATTEMPTS: u32 = 5;

/// The wait before the first copy made again: an eighth of the window, growing by half each time,
/// so the attempts span it (600 s: about 75, 110, 170 and 250 s apart); at most four times the longest
/// poll delay, so that quick settings (tests, the simulated cloud) retry quickly.
pub(crate) fn retry_delay(run: &Run) -> Duration {
    (run.wait.propagation / 8).min(run.wait.max * 4).max(run.wait.initial)
}

/// Probes, as the copy's signer, what `step` rests on, until KMS allows DescribeKey or the window
/// ends: each grant that names that signer and lists DescribeKey, and each key an earlier step made
/// whose alias the signer reaches it by, when the plan lists that probe (`kms:DescribeKey`, made
/// [`UNTIL_THE_ALIAS_AUTHORIZES`]; a plan journaled before it had none). Never fails the step: what
/// is still not usable when the window ends is reported, and the copy goes on (and is retried).
pub(crate) async fn probe(run: &Run, step: &Step, copy: &Call, waits: &[Propagation]) -> Result<(), AcquireError> {
    for p in waits {
        match &p.awaited {
            Awaited::Grant { key_arn, grantee, operations, .. } => {
                if grantee == &copy.signer && operations.iter().any(|o| o == "DescribeKey") {
                    describe_until_allowed(run, step, copy, key_arn, p).await?;
                }
            }
            Awaited::Key { key_arn, aliases } => {
                let planned_probe = step.calls.iter().find(|c| {
                    c.api == Api::KmsDescribeKey.as_str()
                        && c.signer == copy.signer
                        && c.when.as_deref() == Some(UNTIL_THE_ALIAS_AUTHORIZES)
                });
                if let (Some(probe_call), false) = (planned_probe, aliases.is_empty()) {
                    let key = run.real(step, key_arn)?;
                    describe_until_allowed(run, step, probe_call, &key, p).await?;
                }
            }
        }
    }
    Ok(())
}

/// DescribeKey on `key_arn` as `call`'s signer, without a grant token, until it is allowed or the
/// window ends (then a warning); `p` is what it waits for, in the messages.
async fn describe_until_allowed(
    run: &Run,
    step: &Step,
    call: &Call,
    key_arn: &str,
    p: &Propagation,
) -> Result<(), AcquireError> {
    let cloud = run.signer(step, call)?;
    let region = key_arn.split(':').nth(3).unwrap_or(&call.region).to_string();
    let kms = cloud.kms(&region);
    // The real ids of what is awaited, made by earlier steps: a plan placeholder is no id to look up.
    let what = run.resolved.substitute(&p.awaited.describe(), &run.placeholders);
    let started = tokio::time::Instant::now();
    let mut delay = run.wait.initial;
    let mut attempt = 0u32;
    loop {
        if run.stopping() {
            return Err(AcquireError::Interrupted { step: step.id.clone() });
        }
        let answer = kms.describe_key(key_arn).await;
        attempt += 1;
        match answer {
            Ok(_) => {
                if attempt > 1 {
                    run.progress.emit(Event::Warning {
                        message: format!(
                            "{}: {what} made by step {} took effect after {} s",
                            step.id,
                            p.made_by,
                            started.elapsed().as_secs()
                        ),
                    });
                }
                return Ok(());
            }
            Err(e) if e.is_access_denied() || matches!(e, custody_cloud::CloudError::Throttled(_)) => {
                if started.elapsed() >= run.wait.propagation && attempt >= run.wait.min_looks {
                    run.progress.emit(Event::Warning {
                        message: format!(
                            "{}: {what} made by step {} is still not usable after {} s (DescribeKey as {} is \
                             refused); copying all the same, and a copy that fails because of it is made again while \
                             the propagation window lasts",
                            step.id,
                            p.made_by,
                            started.elapsed().as_secs(),
                            call.signer
                        ),
                    });
                    return Ok(());
                }
                run.progress.emit(Event::Retrying {
                    step: step.id.clone(),
                    api: Api::KmsDescribeKey.to_string(),
                    attempt,
                    why: format!(
                        "waiting for {what} made by step {} to take effect in KMS (usually under five minutes: \
                         {KMS_EVENTUAL_CONSISTENCY})",
                        p.made_by
                    ),
                });
            }
            // Anything else is not propagation: the copy itself will say what is wrong.
            Err(_) => return Ok(()),
        }
        tokio::time::sleep(delay).await;
        delay = run.wait.next(delay);
    }
}

/// Whether `e` is a copy (or volume) that ended in `error` because its key was not accessible.
pub(crate) fn key_not_accessible(e: &AcquireError) -> bool {
    matches!(e, AcquireError::Refused { why, .. } if why.contains(KEY_NOT_ACCESSIBLE))
}

/// Whether a copy that failed with [`key_not_accessible`] after `elapsed` of trying and `attempts`
/// copies is made again: the step rests on something KMS may still be propagating, the window has not
/// ended, fewer than [`MAX_COPY_ATTEMPTS`] were made and the run is not stopping.
pub(crate) fn retry_copy(run: &Run, waits: &[Propagation], elapsed: Duration, attempts: u32) -> bool {
    !waits.is_empty() && elapsed < run.wait.propagation && attempts < MAX_COPY_ATTEMPTS && !run.stopping()
}

/// The reason given for making a copy again, in words.
pub(crate) fn retry_reason(waits: &[Propagation], failed: &str, elapsed: Duration) -> String {
    let what: Vec<String> = waits.iter().map(|p| format!("{} (step {})", p.awaited.describe(), p.made_by)).collect();
    format!(
        "the copy {failed} ended in error ({KEY_NOT_ACCESSIBLE}) {} s after {} was made, within the time KMS takes to \
         propagate it (usually under five minutes: {KMS_EVENTUAL_CONSISTENCY}); the failed copy holds no data",
        elapsed.as_secs(),
        what.join(" and ")
    )
}
