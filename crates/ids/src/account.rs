//! The AWS account id.

use crate::error::checked_string;

checked_string! {
    /// An AWS account id: 12 decimal digits, leading zeros included (AWS Account Management
    /// Reference Guide, "View AWS account identifiers",
    /// <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html>).
    AccountId
}

impl AccountId {
    const WHAT: &'static str = "account id";
    const RULE: &'static str = "12 decimal digits";

    /// What breaks the rule, if anything (`None`: `text` is an account id).
    fn problem(text: &str) -> Option<String> {
        if let Some(c) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Some(format!("`{}` is not a digit", c.escape_default()));
        }
        (text.len() != 12).then(|| format!("it has {} digits", text.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digits_are_an_account_id() {
        for ok in ["111122223333", "000000000000", "012345678901"] {
            assert_eq!(AccountId::parse(ok).map(String::from), Ok(ok.to_string()));
            assert!(AccountId::is_valid(ok));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "11112222333",
            "1111222233334",
            "11112222333a",
            "1111-2222-3333",
            " 111122223333",
            "aws",
            "١١١١٢٢٢٢٣٣٣٣",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
            assert!(!AccountId::is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_value_and_the_rule() {
        let err = AccountId::parse("1234").unwrap_err().to_string();
        assert_eq!(err, "account id `1234`: it has 4 digits; expected 12 decimal digits");
        let err = AccountId::parse("1234-5678-9012").unwrap_err().to_string();
        assert_eq!(err, "account id `1234-5678-9012`: `-` is not a digit; expected 12 decimal digits");
    }

    #[test]
    fn serde_checks_the_rule() {
        assert_eq!(serde_json::from_str::<AccountId>("\"111122223333\"").unwrap().as_str(), "111122223333");
        assert!(serde_json::from_str::<AccountId>("\"1111\"").is_err());
        assert_eq!("111122223333".parse::<AccountId>().unwrap(), "111122223333");
    }
}
