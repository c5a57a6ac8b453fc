//! The request context: the key/value facts a condition can test.
//!
//! Key names are case-insensitive (IAM User Guide, "Condition element": "Condition key names are not
//! case-sensitive"), so keys are stored lower-cased; values keep their case. Every value is kept as
//! text, as AWS compares them: a JSON `true` is `"true"`, a number its decimal text. A key given as a
//! JSON array is multi-valued (IAM User Guide, "Single-valued vs. multivalued context keys").

use crate::variables::Vars;
use std::collections::BTreeMap;

/// The lower-cased prefix of the context keys that carry a KMS request's encryption context.
const ENCRYPTION_CONTEXT_PREFIX: &str = "kms:encryptioncontext:";

/// The values of one context key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextValue {
    values: Vec<Box<str>>,
    multi: bool,
}

impl ContextValue {
    /// A single-valued key.
    pub fn single(value: impl Into<Box<str>>) -> ContextValue {
        ContextValue { values: vec![value.into()], multi: false }
    }

    /// A multi-valued key (possibly empty).
    pub fn multi<I, S>(values: I) -> ContextValue
    where
        I: IntoIterator<Item = S>,
        S: Into<Box<str>>,
    {
        ContextValue { values: values.into_iter().map(Into::into).collect(), multi: true }
    }

    /// The values.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> {
        self.values.iter().map(|v| v.as_ref())
    }

    /// True when the key was given as a set of values.
    pub fn is_multi(&self) -> bool {
        self.multi
    }

    /// The value of a single-valued key.
    pub fn as_single(&self) -> Option<&str> {
        match (self.multi, self.values.as_slice()) {
            (false, [v]) => Some(v),
            _ => None,
        }
    }
}

/// The context of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// (lower-cased key, key as given, values)
    entries: Vec<(Box<str>, Box<str>, ContextValue)>,
    /// Lower-cased key → its position in `entries`.
    ///
    /// Robustness fix: `get` and `set` used to scan `entries`, so a case whose context held n keys
    /// took O(n²) to parse (40,000 keys, a 1 MB case file: 8 s) and every condition cost O(n).
    index: BTreeMap<Box<str>, usize>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// The values of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.get_lower(&key.to_ascii_lowercase())
        } else {
            self.get_lower(key)
        }
    }

    /// The values of `key_lower`, a key already lower-cased (as compiled conditions hold them).
    pub fn get_lower(&self, key_lower: &str) -> Option<&ContextValue> {
        self.index.get(key_lower).and_then(|&i| self.entries.get(i)).map(|(_, _, v)| v)
    }

    /// Sets `key`, replacing any value it had.
    pub fn set(&mut self, key: &str, value: ContextValue) {
        let lower: Box<str> = key.to_ascii_lowercase().into();
        match self.index.get(&lower).and_then(|&i| self.entries.get_mut(i)) {
            Some(entry) => entry.2 = value,
            None => {
                self.index.insert(lower.clone(), self.entries.len());
                self.entries.push((lower, key.into(), value));
            }
        }
    }

    /// Sets `key` only when it has no value yet (derived keys never override what the caller gave).
    pub fn set_default(&mut self, key: &str, value: ContextValue) {
        if self.get(key).is_none() {
            self.set(key, value);
        }
    }

    /// All entries, keys as given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|(_, k, v)| (k.as_ref(), v))
    }

    /// The KMS encryption context: every `kms:EncryptionContext:<key>` entry, `<key>` in the case it
    /// was given (encryption context keys are case-sensitive in KMS, unlike context key names).
    pub fn encryption_context(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries
            .iter()
            .filter(|(lower, _, _)| {
                lower.starts_with(ENCRYPTION_CONTEXT_PREFIX) && lower.len() > ENCRYPTION_CONTEXT_PREFIX.len()
            })
            .map(|(_, given, v)| (&given[ENCRYPTION_CONTEXT_PREFIX.len()..], v))
    }

    /// The value of the encryption context key `key` (compared case-sensitively, as KMS does), in
    /// O(log n): a grant constraint used to scan the whole context for each of its pairs, O(n·m)
    /// (8,000 pairs against 8,000 keys: 1.6 s; 100,000 of each would hang).
    pub fn encryption_context_value(&self, key: &str) -> Option<&ContextValue> {
        if key.is_empty() {
            return None;
        }
        let lower = format!("{ENCRYPTION_CONTEXT_PREFIX}{}", key.to_ascii_lowercase());
        let (_, given, v) = self.entries.get(*self.index.get(lower.as_str())?)?;
        (given.get(ENCRYPTION_CONTEXT_PREFIX.len()..) == Some(key)).then_some(v)
    }
}

impl Vars for Context {
    fn lookup(&self, key_lower: &str) -> Option<&str> {
        self.get_lower(key_lower).and_then(ContextValue::as_single)
    }
}
