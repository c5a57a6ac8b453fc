//! The shape of the ids that become file names.
//!
//! A snapshot id names the image's files (`<snapshot>.raw`, `.blocks`, `.manifest.json`, …), so an
//! id taken unchecked from an argument, the journal or a manifest could name a file anywhere
//! (`../../x`). Every snapshot id is checked here where it enters, whatever its source.
//!
//! The rule (EC2 User Guide, "Resource IDs",
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>): a resource id is its
//! prefix, a hyphen, and 8 (before 2016) or 17 characters; for snapshots the prefix is `snap-`
//! (EC2 API Reference, Snapshot, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html>).
//! The characters are lowercase hexadecimal digits.

/// Why a string is not a snapshot id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}`: not a snapshot id (expected `snap-` and 8 or 17 lowercase hexadecimal digits)", shown(.0))]
pub struct NotASnapshotId(pub String);

/// The id as a message shows it: escaped (an id from a hostile answer may hold control characters)
/// and cut to 80 characters.
fn shown(id: &str) -> String {
    let escaped: String = id.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &escaped[..at]),
        None => escaped,
    }
}

/// Checks that `id` is a snapshot id, `snap-` and 8 or 17 lowercase hexadecimal digits, and gives
/// it back.
pub fn snapshot_id(id: &str) -> Result<&str, NotASnapshotId> {
    let well_formed = id.strip_prefix("snap-").is_some_and(|digits| {
        matches!(digits.len(), 8 | 17) && digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if well_formed {
        Ok(id)
    } else {
        Err(NotASnapshotId(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_snap_and_8_or_17_lowercase_hex_digits() {
        for good in ["snap-0123abcd", "snap-0123456789abcdef0"] {
            assert_eq!(snapshot_id(good), Ok(good));
        }
        for bad in [
            "",
            "snap-",
            "snap-0123abc",
            "snap-0123abcde",
            "snap-0123456789abcdef",
            "snap-0123456789abcdef01",
            "snap-0123ABCD",
            "snap-0123abcg",
            "vol-0123abcd",
            "../../x",
            "snap-0123abcd/../../x",
            "snap-../../x",
            "snap-0123abcd\n",
            " snap-0123abcd",
            "SNAP-0123abcd",
            "snap-0123abc\u{0660}",
        ] {
            assert!(snapshot_id(bad).is_err(), "`{bad}` must be refused");
        }
    }

    #[test]
    fn a_refused_id_is_shown_escaped_and_short() {
        let message = NotASnapshotId("snap-\u{1b}[31m".into()).to_string();
        assert!(message.starts_with("`snap-\\u{1b}[31m`: not a snapshot id"), "{message}");
        let long = NotASnapshotId("x".repeat(1000)).to_string();
        assert!(long.len() < 200 && long.contains('…'), "{long}");
    }
}
