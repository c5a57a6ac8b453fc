//! How an error answer of the EBS direct APIs is treated, whichever way it was read (the SDK or
//! `direct`).

use crate::ebs::skew;
use crate::ebs::FailureKind;
use crate::error::{is_server_fault_code, is_throttling_code};

/// Which failures are worth retrying, by AWS error code (the boundary's one list, `crate::error`)
/// and HTTP status. The EBS direct API reference says to always retry 5xx answers,
/// ThrottlingException and RequestThrottledException (API Reference, GetSnapshotBlock, Note).
pub(crate) fn failure_kind(code: &str, status: Option<u16>) -> FailureKind {
    if is_throttling_code(code) || status == Some(429) {
        FailureKind::Throttled
    } else if is_server_fault_code(code) || status.is_some_and(|s| s >= 500) {
        FailureKind::Transient
    } else {
        FailureKind::Fatal
    }
}

/// How an error answer with `code` and `status` is treated, and its message: by [`failure_kind`],
/// except that a signature refused while the clock offset measured from the answer is over four
/// minutes (`super::skew`) is retried — the next attempt is signed at AWS's time — with the reason
/// added to the message. Both ways of reading blocks, the SDK and `direct`, classify through here.
pub(crate) fn classify_answer(
    code: &str,
    status: Option<u16>,
    message: String,
    clock_offset_ms: Option<i64>,
) -> (FailureKind, String) {
    match clock_offset_ms.filter(|&ms| skew::refused_for_skew(code, Some(ms))) {
        Some(ms) => (FailureKind::Transient, format!("{message} ({})", skew::explain(ms))),
        None => (failure_kind(code, status), message),
    }
}
