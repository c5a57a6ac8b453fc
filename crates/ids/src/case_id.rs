//! The case id: one rule for the whole tool.
//!
//! A case id is typed on the command line, and then goes into names AWS checks, each with its own
//! rule:
//! - the role session name `custody-<case>`: 2 to 64 characters of `[\w+=,.@-]` (AssumeRole API
//!   reference, `RoleSessionName`, <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>),
//!   so at most 64 − 8 = 56 characters of case;
//! - the temporary key's alias `alias/<prefix>-<case>-<volume>`: letters, digits, `/`, `_` and `-`
//!   (CreateAlias API reference, `AliasName`,
//!   <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>), so no `.`, `@`, …;
//! - the KMS grant name `custody-<case>-<volume>`: `[a-zA-Z0-9:/_-]` (CreateGrant API reference,
//!   `Name`, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>);
//! - the `CustodyCase` tag value, the lock file `<data dir>/locks/<case>.lock` and S3 key prefixes,
//!   which accept all of the above.
//!
//! The rule is their intersection: 1 to 56 ASCII letters, digits, `-` and `_`, and it starts with a
//! letter or a digit so that it is never read as a command-line option. Checked once, where the id
//! enters (clap's value parser, the planner, a journal read back), by [`CaseId::parse`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The longest case id: `custody-` (8 characters) and the case make a role session name of at most
/// 64 characters.
pub const MAX_LEN: usize = 56;

/// A case id that every name custody makes from it accepts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

/// Why a text is not a case id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "case id `{id}`: {problem}; expected 1 to {MAX_LEN} letters, digits, `-` or `_`, starting with a letter or \
     a digit (it names the role sessions `custody-<case>`, the tags and the temporary key's alias)"
)]
pub struct CaseIdError {
    /// The refused text, with anything that is not a printable ASCII character escaped.
    pub id: String,
    pub problem: String,
}

impl CaseId {
    /// Checks `text` against the rule.
    pub fn parse(text: &str) -> Result<CaseId, CaseIdError> {
        let refuse = |problem: String| CaseIdError { id: text.escape_default().to_string(), problem };
        let Some(first) = text.chars().next() else { return Err(refuse("it is empty".into())) };
        let length = text.chars().count();
        if length > MAX_LEN {
            return Err(refuse(format!("it has {length} characters")));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(refuse(format!("it starts with `{}`", first.escape_default())));
        }
        if let Some(c) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(refuse(format!("`{}` is not allowed", c.escape_default())));
        }
        Ok(CaseId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CaseId {
    type Err = CaseIdError;
    fn from_str(text: &str) -> Result<CaseId, CaseIdError> {
        CaseId::parse(text)
    }
}

impl TryFrom<String> for CaseId {
    type Error = CaseIdError;
    fn try_from(text: String) -> Result<CaseId, CaseIdError> {
        CaseId::parse(&text)
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

impl std::ops::Deref for CaseId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CaseId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_case_ids_are_accepted() {
        for ok in ["IR-7", "C1", "2026_04_incident-12", "x", &"a".repeat(MAX_LEN)] {
            assert_eq!(CaseId::parse(ok).map(|c| c.to_string()), Ok(ok.to_string()), "{ok}");
        }
    }

    #[test]
    fn what_a_name_would_change_or_refuse_is_refused() {
        // `.` and `@` are fine in a session name but not in a KMS alias; `/` is fine in an alias but
        // not in a session name; a space or a non-ASCII letter in neither.
        for bad in ["IR.7", "IR@7", "IR/7", "IR 7", "IRé", "", "-x", "_x", &"a".repeat(MAX_LEN + 1), "a\u{1b}[31m"] {
            assert!(CaseId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_id_and_the_rule() {
        let err = CaseId::parse("IR.7").unwrap_err().to_string();
        assert!(err.starts_with("case id `IR.7`: `.` is not allowed; expected 1 to 56 letters"), "{err}");
        let err = CaseId::parse("a\u{1b}b").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "the refused text is escaped: {err:?}");
    }

    #[test]
    fn serde_checks_the_rule() {
        assert_eq!(serde_json::from_str::<CaseId>("\"IR-7\"").unwrap().as_str(), "IR-7");
        assert!(serde_json::from_str::<CaseId>("\"IR.7\"").is_err());
        assert_eq!(serde_json::to_string(&CaseId::parse("IR-7").unwrap()).unwrap(), "\"IR-7\"");
    }
}
