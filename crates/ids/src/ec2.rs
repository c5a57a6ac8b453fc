//! EC2 resource ids: instances, volumes, snapshots.
//!
//! An id is its prefix and 8 hexadecimal digits (resources created before 2016–2018) or 17 (since),
//! in lowercase (Amazon EC2 User Guide, "Resource IDs",
//! <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).

use crate::error::checked_string;

/// What breaks the rule of `prefix` and 8 or 17 lowercase hex digits, if anything.
fn problem(text: &str, prefix: &str) -> Option<String> {
    let Some(hex) = text.strip_prefix(prefix) else { return Some(format!("it does not start with `{prefix}`")) };
    if let Some(c) = hex.chars().find(|c| !(c.is_ascii_digit() || ('a'..='f').contains(c))) {
        return Some(format!("`{}` is not a lowercase hexadecimal digit", c.escape_default()));
    }
    (hex.len() != 8 && hex.len() != 17).then(|| format!("it has {} hexadecimal digits after `{prefix}`", hex.len()))
}

checked_string! {
    /// An EC2 instance id: `i-` and 8 or 17 lowercase hex digits (Amazon EC2 User Guide, "Resource
    /// IDs", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).
    InstanceId
}

impl InstanceId {
    const WHAT: &'static str = "instance id";
    const RULE: &'static str = "`i-` and 8 or 17 lowercase hexadecimal digits";
    fn problem(text: &str) -> Option<String> {
        problem(text, "i-")
    }
}

checked_string! {
    /// An EBS volume id: `vol-` and 8 or 17 lowercase hex digits (Amazon EC2 User Guide, "Resource
    /// IDs", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).
    VolumeId
}

impl VolumeId {
    const WHAT: &'static str = "volume id";
    const RULE: &'static str = "`vol-` and 8 or 17 lowercase hexadecimal digits";
    fn problem(text: &str) -> Option<String> {
        problem(text, "vol-")
    }
}

checked_string! {
    /// An EBS snapshot id: `snap-` and 8 or 17 lowercase hex digits (Amazon EC2 User Guide, "Resource
    /// IDs", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).
    SnapshotId
}

impl SnapshotId {
    const WHAT: &'static str = "snapshot id";
    const RULE: &'static str = "`snap-` and 8 or 17 lowercase hexadecimal digits";
    fn problem(text: &str) -> Option<String> {
        problem(text, "snap-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_both_lengths_are_accepted() {
        assert!(InstanceId::parse("i-0123456789abcdef0").is_ok() && InstanceId::parse("i-01234567").is_ok());
        assert!(VolumeId::parse("vol-0123456789abcdef0").is_ok() && VolumeId::parse("vol-0a1b2c3d").is_ok());
        assert!(SnapshotId::parse("snap-0123456789abcdef0").is_ok() && SnapshotId::parse("snap-0a1b2c3d").is_ok());
        assert_eq!(VolumeId::parse("vol-0a1b2c3d").map(String::from), Ok("vol-0a1b2c3d".to_string()));
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "i-",
            "i-0123456",
            "i-0123456789abcdef",
            "i-0123456789ABCDEF0",
            "i-0123456g",
            "vol-01234567",
            "I-01234567",
        ] {
            assert!(InstanceId::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["vol-", "vol-0123456789abcdef00", "snap-01234567", "vol-0a1b2c3d "] {
            assert!(VolumeId::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["snap-", "snap-source-0abc", "vol-01234567", "snap-0123456789abcdeF0"] {
            assert!(SnapshotId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_value_and_the_rule() {
        let err = VolumeId::parse("vol-0123").unwrap_err().to_string();
        assert_eq!(
            err,
            "volume id `vol-0123`: it has 4 hexadecimal digits after `vol-`; expected `vol-` and 8 or 17 lowercase \
             hexadecimal digits"
        );
        let err = SnapshotId::parse("vol-01234567").unwrap_err().to_string();
        assert!(err.starts_with("snapshot id `vol-01234567`: it does not start with `snap-`;"), "{err}");
        let err = InstanceId::parse("i-0123456G").unwrap_err().to_string();
        assert!(err.starts_with("instance id `i-0123456G`: `G` is not a lowercase hexadecimal digit;"), "{err}");
        assert!(serde_json::from_str::<SnapshotId>("\"snap-0123\"").is_err());
    }
}
