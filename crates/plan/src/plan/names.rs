//! The names of what the plan will create before AWS gives them ids (placeholders), and the fields of
//! the ARNs it is given.

/// `snap-<stage>-<volume id without vol->` (starts with `snap-`, so `snapshot/snap-*` matches it).
pub(crate) fn placeholder(stage: &str, volume_id: &str) -> String {
    format!("snap-{stage}-{}", volume_id.strip_prefix("vol-").unwrap_or(volume_id))
}

/// The `n`th `:`-separated field of an ARN, 0 to 5 (empty when absent, and for every field when
/// `arn` is not an ARN).
pub(crate) fn arn_field(arn: &str, n: usize) -> &str {
    let Ok(arn) = custody_ids::Arn::parse(arn) else { return "" };
    match n {
        0 => "arn",
        1 => arn.partition(),
        2 => arn.service(),
        3 => arn.region().unwrap_or_default(),
        4 => arn.account().unwrap_or_default(),
        5 => arn.resource(),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_start_with_snap() {
        assert_eq!(placeholder("source", "vol-0abc"), "snap-source-0abc");
        assert_eq!(placeholder("evidence", "odd"), "snap-evidence-odd");
    }
}
