//! Waiting for snapshots: poll DescribeSnapshots with exponential backoff on the async runtime.
//!
//! EC2 has no push notification custody could use without more permissions (EventBridge), and the
//! SDK's waiters would hide the progress; polling is what the EC2 documentation describes
//! (<https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html>: "the snapshot copy is
//! complete when its status is `completed`"). The delay starts short (a small snapshot is done in
//! seconds), grows by half each time up to a ceiling, and the whole wait has a timeout; a throttled
//! poll just waits longer.

use crate::error::AcquireError;
use crate::report::{Event, Progress};
use custody_cloud::types::{SnapshotInfo, SnapshotQuery};
use custody_cloud::{CloudError, Ec2};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How to wait for AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitSettings {
    /// The first delay between polls.
    pub initial: Duration,
    /// The longest delay between polls.
    pub max: Duration,
    /// Give up after this long.
    pub timeout: Duration,
    /// Retry a throttled call this many times.
    pub throttle_retries: u32,
    /// How long a snapshot just created may be missing from DescribeSnapshots (EC2 is eventually
    /// consistent) before it counts as gone.
    pub not_found_grace: Duration,
    /// The fewest looks for what a lost answer made before it counts as not made, however short the
    /// grace: on the simulated cloud, whose clock is its calls, time alone proves nothing (a loaded
    /// machine makes fewer calls in the same time).
    pub min_looks: u32,
    /// How long a grant or key made by an earlier step may take to be usable throughout KMS before a
    /// copy that failed for lack of it counts as failed: "usually less than five minutes" (KMS API
    /// Reference, CreateGrant), "up to five minutes" for aliases (KMS Developer Guide,
    /// alias-authorization.html); twice that, since "usually" is no bound
    /// ([`custody_plan::plan::PROPAGATION_WINDOW_SECS`], which the preflight states).
    pub propagation: Duration,
}

impl Default for WaitSettings {
    fn default() -> Self {
        WaitSettings {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(4 * 3600),
            throttle_retries: 8,
            not_found_grace: Duration::from_secs(120),
            min_looks: 3,
            propagation: Duration::from_secs(custody_plan::plan::PROPAGATION_WINDOW_SECS),
        }
    }
}

impl WaitSettings {
    /// Settings for the simulated cloud and tests: polls a few milliseconds apart.
    pub fn quick() -> Self {
        WaitSettings {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            timeout: Duration::from_secs(30),
            throttle_retries: 8,
            not_found_grace: Duration::from_millis(200),
            min_looks: 40,
            // The simulated cloud's lag is counted in calls, not time: a window as long as the whole
            // wait, so that a loaded machine does not end it before the calls have been made.
            propagation: Duration::from_secs(30),
        }
    }

    /// The delay after `delay`: half as long again, at most `max`.
    pub fn next(&self, delay: Duration) -> Duration {
        (delay + delay / 2).min(self.max)
    }
}

/// Waits until every snapshot of `ids` is `completed` (returned in the order of `ids`). A snapshot in
/// `error` fails the wait with EC2's state message; `stop` ends it early. Each poll of a snapshot not
/// complete yet is told ([`Event::Waiting`]), with its progress and `volume`, the volume the step is
/// for (none: each snapshot's own, as DescribeSnapshots gives it, right for the snapshots of a volume
/// and arbitrary for a copy).
pub async fn snapshots_completed(
    ec2: &dyn Ec2,
    ids: &[String],
    step: &str,
    volume: Option<&str>,
    settings: &WaitSettings,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<Vec<SnapshotInfo>, AcquireError> {
    let query = SnapshotQuery { ids: ids.to_vec(), ..SnapshotQuery::default() };
    let started = tokio::time::Instant::now();
    let mut delay = settings.initial;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(AcquireError::Interrupted { step: step.to_string() });
        }
        match ec2.describe_snapshots(&query).await {
            Ok(found) => {
                let mut done = Vec::new();
                let mut pending = None;
                for id in ids {
                    let Some(s) = found.iter().find(|s| &s.id == id) else {
                        // Just created: EC2 is eventually consistent, so a new id may not be listed yet
                        // (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>).
                        pending = Some((id.clone(), "not yet listed".to_string()));
                        continue;
                    };
                    match s.state.as_str() {
                        "completed" => done.push(s.clone()),
                        "error" => {
                            return Err(AcquireError::Refused {
                                step: step.to_string(),
                                why: format!(
                                    "snapshot {} failed (state `error`){}",
                                    s.id,
                                    s.state_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                                ),
                            })
                        }
                        other => {
                            progress.emit(Event::Waiting {
                                step: step.to_string(),
                                volume: volume.map(str::to_string).or_else(|| s.volume_id.clone()),
                                snapshot: s.id.clone(),
                                state: other.to_string(),
                                progress: s.progress.clone(),
                            });
                            pending = Some((s.id.clone(), other.to_string()));
                        }
                    }
                }
                match pending {
                    None => return Ok(done),
                    Some((snapshot, state))
                        if state == "not yet listed" && started.elapsed() >= settings.not_found_grace =>
                    {
                        return Err(AcquireError::Refused {
                            step: step.to_string(),
                            why: format!(
                                "snapshot {snapshot} is not listed by DescribeSnapshots: it was deleted, or never made"
                            ),
                        })
                    }
                    Some((snapshot, state)) if started.elapsed() >= settings.timeout => {
                        return Err(AcquireError::Timeout {
                            step: step.to_string(),
                            snapshot,
                            state,
                            seconds: settings.timeout.as_secs(),
                        })
                    }
                    Some(_) => {}
                }
            }
            Err(CloudError::Throttled(_)) => delay = settings.next(delay),
            Err(error) if error.is_not_found() && started.elapsed() < settings.not_found_grace => {}
            Err(error) => {
                return Err(AcquireError::Call { step: step.to_string(), error: Box::new(error), explained: None })
            }
        }
        tokio::time::sleep(delay).await;
        delay = settings.next(delay);
    }
}

/// Waits until volume `id` is `available`. A volume in `error` fails the wait; a volume not listed
/// yet is waited for during the grace period (EC2 is eventually consistent); `stop` ends it early.
pub async fn volume_available(
    ec2: &dyn Ec2,
    id: &str,
    step: &str,
    settings: &WaitSettings,
    stop: &AtomicBool,
) -> Result<(), AcquireError> {
    let started = tokio::time::Instant::now();
    let mut delay = settings.initial;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(AcquireError::Interrupted { step: step.to_string() });
        }
        let state = match ec2.describe_volumes(&[id.to_string()]).await {
            Ok(found) => found.into_iter().find(|v| v.id == id).and_then(|v| v.state),
            Err(CloudError::Throttled(_)) => Some("throttled".to_string()),
            Err(error) if error.is_not_found() => None,
            Err(error) => {
                return Err(AcquireError::Call { step: step.to_string(), error: Box::new(error), explained: None })
            }
        };
        match state.as_deref() {
            Some("available") | Some("in-use") => return Ok(()),
            Some("error") => {
                return Err(AcquireError::Refused {
                    step: step.to_string(),
                    why: format!(
                        "volume {id} failed (state `error`): the evidence snapshot is intact, only the volume failed"
                    ),
                })
            }
            None if started.elapsed() >= settings.not_found_grace => {
                return Err(AcquireError::Refused {
                    step: step.to_string(),
                    why: format!("volume {id} is not listed by DescribeVolumes: it was deleted, or never made"),
                })
            }
            other if started.elapsed() >= settings.timeout => {
                return Err(AcquireError::Timeout {
                    step: step.to_string(),
                    snapshot: id.to_string(),
                    state: other.unwrap_or("not yet listed").to_string(),
                    seconds: settings.timeout.as_secs(),
                })
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = settings.next(delay);
    }
}

/// Looks for the snapshots a call whose answer was lost may have made (a run killed while AWS
/// answered): DescribeSnapshots with `query`, keeping those `keep` accepts, again and again until
/// `expected` are listed or the grace period ends. EC2's Describe calls are eventually consistent, so
/// a snapshot made a moment ago may be missing from the first listing
/// (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>): one look that finds
/// nothing is no proof, and making the snapshot again on its word would make it twice.
pub async fn look_for_snapshots(
    ec2: &dyn Ec2,
    query: &SnapshotQuery,
    keep: impl Fn(&SnapshotInfo) -> bool,
    expected: usize,
    settings: &WaitSettings,
    stop: &AtomicBool,
) -> Result<Vec<SnapshotInfo>, CloudError> {
    let started = tokio::time::Instant::now();
    let mut delay = settings.initial;
    let mut found: Vec<SnapshotInfo> = Vec::new();
    let mut looks = 0u32;
    loop {
        match ec2.describe_snapshots(query).await {
            Ok(listed) => {
                for s in listed.into_iter().filter(|s| keep(s)) {
                    if !found.iter().any(|f| f.id == s.id) {
                        found.push(s);
                    }
                }
            }
            Err(CloudError::Throttled(_)) => delay = settings.next(delay),
            Err(e) => return Err(e),
        }
        looks += 1;
        if found.len() >= expected.max(1)
            || (started.elapsed() >= settings.not_found_grace && looks >= settings.min_looks)
            || stop.load(Ordering::SeqCst)
        {
            return Ok(found);
        }
        tokio::time::sleep(delay).await;
        delay = settings.next(delay);
    }
}

/// Looks for what a call whose answer was lost may have made, with `look` (one look: `Ok(None)` when
/// nothing is found), again and again until it finds it or the grace period ends: listings are
/// eventually consistent (KMS: "The KMS API follows an eventual consistency model",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html>;
/// EC2: <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>), so one look
/// that finds nothing is no proof. An error ends the look at once.
pub async fn look_again<T, E, F, Fut>(settings: &WaitSettings, stop: &AtomicBool, mut look: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = settings.initial;
    let mut looks = 0u32;
    loop {
        if let Some(found) = look().await? {
            return Ok(Some(found));
        }
        looks += 1;
        if (started.elapsed() >= settings.not_found_grace && looks >= settings.min_looks) || stop.load(Ordering::SeqCst)
        {
            return Ok(None);
        }
        tokio::time::sleep(delay).await;
        delay = settings.next(delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_by_half_up_to_the_ceiling() {
        let s =
            WaitSettings { initial: Duration::from_secs(2), max: Duration::from_secs(5), ..WaitSettings::default() };
        assert_eq!(s.next(Duration::from_secs(2)), Duration::from_secs(3));
        assert_eq!(s.next(Duration::from_secs(4)), Duration::from_secs(5));
    }
}
