//! The role session name rule of STS.

/// `raw` as a role session name: characters outside STS's `[\w+=,.@-]` become `-`, and it is cut
/// to STS's 64 characters (AssumeRole API reference, `RoleSessionName`,
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>).
pub fn sts_session_name(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) { c } else { '-' }).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_sts_refuses_become_dashes_and_the_name_is_cut_to_64() {
        assert_eq!(sts_session_name("custody-IR 7/ü"), "custody-IR-7--");
        assert_eq!(sts_session_name("a+b=c,d.e@f_g-h"), "a+b=c,d.e@f_g-h");
        assert_eq!(sts_session_name(&"x".repeat(100)).len(), 64);
    }
}
