//! The AWS Region name.

use crate::error::checked_string;

checked_string! {
    /// A Region name, in the shape every partition's Region names share: a two-letter area, one or
    /// more words, a number (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`,
    /// `ap-southeast-5`). The list of Regions changes, so the shape is checked, not membership
    /// (AWS General Reference, "AWS service endpoints", Regional endpoints,
    /// <https://docs.aws.amazon.com/general/latest/gr/rande.html>; the Region codes,
    /// <https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html>).
    Region
}

impl Region {
    const WHAT: &'static str = "Region";
    const RULE: &'static str = "a Region name such as `us-east-1` or `us-gov-west-1`: two lowercase letters, \
                                one or more lowercase words and a number of 1 or 2 digits, joined by `-`";

    /// What breaks the rule, if anything (`None`: `text` is a Region name).
    fn problem(text: &str) -> Option<String> {
        let parts: Vec<&str> = text.split('-').collect();
        let (Some(first), Some(last)) = (parts.first(), parts.last()) else { return Some("it is empty".into()) };
        if parts.len() < 3 {
            return Some(format!("it has {} `-`-separated parts", parts.len()));
        }
        if first.len() != 2 || !first.bytes().all(|b| b.is_ascii_lowercase()) {
            return Some(format!("`{}` is not two lowercase letters", first.escape_default()));
        }
        let words = parts.get(1..parts.len() - 1).unwrap_or_default();
        if let Some(w) = words.iter().find(|w| w.is_empty() || !w.bytes().all(|b| b.is_ascii_lowercase())) {
            return Some(format!("`{}` is not a lowercase word", w.escape_default()));
        }
        if !(1..=2).contains(&last.len()) || !last.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("`{}` is not a number of 1 or 2 digits", last.escape_default()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_of_every_partition_are_accepted() {
        for ok in ["us-east-1", "us-gov-west-1", "eu-central-2", "cn-north-1", "ap-southeast-5", "il-central-1"] {
            assert_eq!(Region::parse(ok).map(String::from), Ok(ok.to_string()));
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in ["", "eu-west", "euwest1", "EU-west-1", "eu--1", "eu-west-123", "eu-west-1a", "eur-west-1", "local"]
        {
            assert!(Region::parse(bad).is_err(), "{bad:?}");
            assert!(!Region::is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_value_and_the_rule() {
        let err = Region::parse("eu-west-1a").unwrap_err().to_string();
        assert!(
            err.starts_with("Region `eu-west-1a`: `1a` is not a number of 1 or 2 digits; expected a Region name"),
            "{err}"
        );
        let err = Region::parse("EU-west-1").unwrap_err().to_string();
        assert!(err.starts_with("Region `EU-west-1`: `EU` is not two lowercase letters;"), "{err}");
        assert!(serde_json::from_str::<Region>("\"eu-west\"").is_err());
    }
}
