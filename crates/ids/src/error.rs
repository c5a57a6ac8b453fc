//! The error of the parsers of this crate (the case id has its own, older one).

/// Why a text is not the value it was read as: what was expected, the text, what is wrong with it and
/// the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{text}`: {problem}; expected {rule}")]
pub struct IdError {
    /// What the text was read as (`account id`, `Region`, `instance id`, …).
    pub what: &'static str,
    /// The refused text, with anything that is not a printable ASCII character escaped.
    pub text: String,
    /// What is wrong with it.
    pub problem: String,
    /// The rule, in words.
    pub rule: &'static str,
}

impl IdError {
    pub(crate) fn new(what: &'static str, text: &str, problem: impl Into<String>, rule: &'static str) -> IdError {
        IdError { what, text: text.escape_default().to_string(), problem: problem.into(), rule }
    }
}

/// A string newtype whose only constructor is `parse`: `FromStr`, serde through `try_from`, and read
/// access as `&str`.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `text` against the rule.
            pub fn parse(text: &str) -> Result<$name, $crate::IdError> {
                match Self::problem(text) {
                    None => Ok($name(text.to_string())),
                    Some(problem) => Err($crate::IdError::new(Self::WHAT, text, problem, Self::RULE)),
                }
            }

            /// Whether `text` follows the rule (what [`Self::parse`] accepts, without allocating).
            pub fn is_valid(text: &str) -> bool {
                Self::problem(text).is_none()
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::IdError;
            fn from_str(text: &str) -> Result<$name, $crate::IdError> {
                $name::parse(text)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::IdError;
            fn try_from(text: String) -> Result<$name, $crate::IdError> {
                match Self::problem(&text) {
                    None => Ok($name(text)),
                    Some(problem) => Err($crate::IdError::new(Self::WHAT, &text, problem, Self::RULE)),
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

pub(crate) use checked_string;
