//! This machine's clock against AWS's, for the GetSnapshotBlock requests `direct` signs itself.
//!
//! AWS refuses a SigV4 request whose time differs from its own by more than five minutes (IAM User
//! Guide, "Elements of an AWS API request signature": the signature expires five minutes after the
//! request's time stamp). Responders image from whatever machine they have in the worst hour, and
//! a laptop resumed from sleep or a VM restored from a snapshot can be that far off. The SDK corrects
//! for it (aws-runtime's `ServiceClockSkewInterceptor`); the direct path does the same, the same way:
//! - every response's `Date` is compared with the middle of its round trip (NTP's offset estimate,
//!   RFC 5905 §8), and later requests are signed at this machine's time plus that offset;
//! - an answer refusing the signature (the SDK's list of codes) while the offset is over four
//!   minutes is retried, since the next attempt is signed at AWS's time.
//!
//! The offset is also taken from the SDK's ListSnapshotBlocks answers (`direct::RecordTarget`), so the
//! block reads that follow a listing start out corrected instead of each failing once.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

/// Offsets above this are treated as skew when a signature is refused (as aws-runtime does).
const SKEW_THRESHOLD: Duration = Duration::from_secs(4 * 60);
/// A round trip longer than this says too little about when AWS wrote its `Date`.
const MAX_TRUSTED_ROUND_TRIP: Duration = Duration::from_secs(15 * 60);

/// Error codes with which AWS refuses a request signed at the wrong time (aws-runtime's
/// `CLOCK_SKEW_ERROR_CODES`).
const SKEW_ERROR_CODES: &[&str] = &[
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "RequestTimeTooSkewed",
    "AccessDeniedException",
];

/// AWS's time minus this machine's, in milliseconds, as last measured (0 until then).
#[derive(Debug, Default)]
pub(crate) struct ClockSkew(AtomicI64);

impl ClockSkew {
    /// Measures the offset from a response sent at `sent` and received at `received`, whose headers
    /// `header` looks up; kept for later requests and returned. `None` (and nothing kept) without a
    /// usable `Date`, for a round trip too long to tell, or from a cache (an `Age` header).
    pub(crate) fn observe<'h>(
        &self,
        sent: SystemTime,
        received: SystemTime,
        header: impl Fn(&str) -> Option<&'h str>,
    ) -> Option<i64> {
        if header("age").is_some() {
            return None;
        }
        let server = http_date(header("date")?)?;
        let round_trip = received.duration_since(sent).unwrap_or_default();
        if round_trip > MAX_TRUSTED_ROUND_TRIP {
            return None;
        }
        let midpoint = sent + round_trip / 2;
        let offset = match server.duration_since(midpoint) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).ok()?,
            Err(behind) => -i64::try_from(behind.duration().as_millis()).ok()?,
        };
        self.0.store(offset, Ordering::Relaxed);
        Some(offset)
    }

    /// The time to sign at: this machine's, corrected by the last offset measured.
    pub(crate) fn now(&self) -> SystemTime {
        shifted(SystemTime::now(), self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn millis(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn shifted(time: SystemTime, offset_ms: i64) -> SystemTime {
    let by = Duration::from_millis(offset_ms.unsigned_abs());
    match offset_ms >= 0 {
        true => time.checked_add(by),
        false => time.checked_sub(by),
    }
    .unwrap_or(time)
}

/// An HTTP-date (`Sun, 22 Nov 2026 10:00:00 GMT`, RFC 9110 §5.6.7).
fn http_date(value: &str) -> Option<SystemTime> {
    let parsed = aws_smithy_types::DateTime::from_str(value, aws_smithy_types::date_time::Format::HttpDate).ok()?;
    SystemTime::try_from(parsed).ok()
}

/// Whether a refusal with `code` is the clock's doing, given the offset measured from that answer:
/// then the request is worth retrying, signed at AWS's time.
pub(crate) fn refused_for_skew(code: &str, offset_ms: Option<i64>) -> bool {
    let over = offset_ms.is_some_and(|ms| Duration::from_millis(ms.unsigned_abs()) > SKEW_THRESHOLD);
    over && SKEW_ERROR_CODES.contains(&code)
}

/// What to add to a refusal's message when the clock is the reason.
pub(crate) fn explain(offset_ms: i64) -> String {
    // To the nearest minute: `Date` has whole seconds, so 20 min can measure as 19 min 59.5 s.
    let minutes = (offset_ms.unsigned_abs() + 30_000) / 60_000;
    let direction = if offset_ms > 0 { "behind" } else { "ahead of" };
    format!(
        "this machine's clock is {minutes} min {direction} AWS's, and AWS refuses signatures more than 5 min off: retried signed at AWS's time; set the clock right (`timedatectl set-ntp true`, `chronyc makestep`, `w32tm /resync`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(value: &'static str) -> impl Fn(&str) -> Option<&'static str> {
        move |name| (name == "date").then_some(value)
    }

    fn at(rfc3339: &str) -> SystemTime {
        SystemTime::try_from(
            aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_offset_is_measured_from_the_middle_of_the_round_trip() {
        let skew = ClockSkew::default();
        // Sent at 10:00:00, received at 10:00:02; AWS wrote 10:20:01 (HTTP dates have whole seconds).
        let offset =
            skew.observe(at("2026-11-22T10:00:00Z"), at("2026-11-22T10:00:02Z"), date("Sun, 22 Nov 2026 10:20:01 GMT"));
        assert_eq!(offset, Some(20 * 60 * 1000));
        assert_eq!(skew.millis(), 20 * 60 * 1000);
        let signing = skew.now().duration_since(SystemTime::now()).unwrap();
        assert!(signing > Duration::from_secs(19 * 60) && signing <= Duration::from_secs(20 * 60), "{signing:?}");
        // A clock ahead of AWS's.
        let offset =
            skew.observe(at("2026-11-22T10:00:00Z"), at("2026-11-22T10:00:00Z"), date("Sun, 22 Nov 2026 09:50:00 GMT"));
        assert_eq!(offset, Some(-10 * 60 * 1000));
        assert!(SystemTime::now().duration_since(skew.now()).unwrap() >= Duration::from_secs(9 * 60 + 59));
    }

    #[test]
    fn no_usable_date_keeps_the_last_offset() {
        let skew = ClockSkew::default();
        let (sent, received) = (at("2026-11-22T10:00:00Z"), at("2026-11-22T10:00:01Z"));
        skew.observe(sent, received, date("Sun, 22 Nov 2026 10:10:00 GMT")).unwrap();
        assert_eq!(skew.observe(sent, received, |_| None), None);
        assert_eq!(skew.observe(sent, received, date("yesterday")), None);
        let cached = |name: &str| match name {
            "date" => Some("Sun, 22 Nov 2026 10:00:00 GMT"),
            "age" => Some("30"),
            _ => None,
        };
        assert_eq!(skew.observe(sent, received, cached), None, "a cached answer's Date is old");
        let slow = at("2026-11-22T10:16:00Z");
        assert_eq!(skew.observe(sent, slow, date("Sun, 22 Nov 2026 10:00:00 GMT")), None, "16 min round trip");
        assert!(skew.millis() > 9 * 60 * 1000);
    }

    #[test]
    fn only_a_signature_refusal_with_a_large_offset_is_the_clock() {
        let minutes = |m: i64| Some(m * 60 * 1000);
        assert!(refused_for_skew("InvalidSignatureException", minutes(20)));
        assert!(refused_for_skew("RequestTimeTooSkewed", minutes(-6)));
        assert!(!refused_for_skew("InvalidSignatureException", minutes(3)), "within the threshold");
        assert!(!refused_for_skew("InvalidSignatureException", None), "no Date to tell");
        assert!(!refused_for_skew("ValidationException", minutes(20)));
        assert!(explain(20 * 60 * 1000).starts_with("this machine's clock is 20 min behind AWS's"));
        assert!(explain(-6 * 60 * 1000).starts_with("this machine's clock is 6 min ahead of AWS's"));
        assert!(explain(20 * 60 * 1000 - 500).starts_with("this machine's clock is 20 min behind"), "rounded");
    }
}
