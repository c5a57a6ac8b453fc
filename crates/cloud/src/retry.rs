//! The one retry policy of every AWS call custody retries itself: exponential backoff, capped, with
//! jitter, so that many workers throttled together do not come back in lockstep ("Exponential
//! Backoff And Jitter", AWS Architecture Blog,
//! <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>). Imaging reads blocks
//! with the SDK's own retries off and this policy on; the executor backs off throttled calls with
//! [`jitter`] over its own growing delay.

use std::time::Duration;

/// How often and how patiently calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call for throttling and transient failures (the first included).
    pub max_attempts: u32,
    /// Reads of one block whose checksum does not match before the image fails.
    pub checksum_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            checksum_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: exponential, capped, [`jitter`]ed so that 64
    /// throttled workers do not come back in lockstep.
    pub fn delay(&self, attempt: u32, salt: u64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        jitter(exp, salt)
    }
}

/// `delay` with "equal jitter": a random point of its second half, `[delay/2, delay]`. `salt` (an
/// attempt number, a block index) spreads callers that start in the same nanosecond.
pub fn jitter(delay: Duration, salt: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 of time and salt: cheap, good enough to spread retries.
    let mut z = nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let max = delay.as_nanos().clamp(1, u64::MAX as u128) as u64;
    Duration::from_nanos(max / 2 + z % (max / 2 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_delay_stays_within_the_second_half() {
        for salt in 0..1000 {
            let d = jitter(Duration::from_millis(800), salt);
            assert!(d >= Duration::from_millis(400) && d <= Duration::from_millis(800), "{d:?}");
        }
        assert!(jitter(Duration::ZERO, 1) <= Duration::from_nanos(1));
    }

    #[test]
    fn the_policy_grows_exponentially_up_to_its_cap() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(0, 1) <= policy.base_delay);
        assert!(policy.delay(30, 1) <= policy.max_delay);
        assert!(policy.delay(30, 1) >= policy.max_delay / 2);
    }
}
