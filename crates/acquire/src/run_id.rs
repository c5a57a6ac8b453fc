//! Run ids: every acquisition run tags what it creates with its own id (`CustodyRun`), so that a
//! cleanup only ever touches what runs of its own journal created.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new run id: `r-<seconds since 1970, UTC>-<16 hex digits>`, unique across machines for all
/// practical purposes (the hex digits come from the process's random hash keys, mixed with the time
/// in nanoseconds and the process id).
pub fn new_run_id() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    format!("r-{}-{:016x}", now.as_secs(), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_valid_and_distinct() {
        let a = new_run_id();
        let b = new_run_id();
        assert!(custody_plan::plan::is_run_id(&a), "{a}");
        assert_ne!(a, b);
    }
}
