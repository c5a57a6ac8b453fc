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
    /// For each value, where its first five `:` are (ArnLike compares ARN components).
    colons: Vec<ArnColons>,
    multi: bool,
}

/// Where the first five `:` of a value are. Found once when the context is built: splitting the
/// value at each ArnLike test cost more than the comparison itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ArnColons {
    at: [usize; 5],
    count: usize,
}

impl ArnColons {
    fn of(text: &str) -> ArnColons {
        let mut colons = ArnColons::default();
        for (i, b) in text.bytes().enumerate() {
            if b == b':' {
                colons.at[colons.count] = i;
                colons.count += 1;
                if colons.count == colons.at.len() {
                    break;
                }
            }
        }
        colons
    }
}

/// One value of a context key.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    text: &'a str,
    colons: &'a ArnColons,
}

impl<'a> Value<'a> {
    /// The value's text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The value's colon-separated ARN components (the sixth keeps its colons) and their count.
    pub fn arn_components(&self) -> ([&'a str; 6], usize) {
        let mut parts = [""; 6];
        let mut start = 0;
        for (part, &colon) in parts.iter_mut().zip(&self.colons.at[..self.colons.count]) {
            *part = self.text.get(start..colon).unwrap_or_default();
            start = colon + 1;
        }
        parts[self.colons.count] = self.text.get(start..).unwrap_or_default();
        (parts, self.colons.count + 1)
    }
}

impl ContextValue {
    /// A single-valued key.
    pub fn single(value: impl Into<Box<str>>) -> ContextValue {
        let value = value.into();
        ContextValue { colons: vec![ArnColons::of(&value)], values: vec![value], multi: false }
    }

    /// A multi-valued key (possibly empty).
    pub fn multi<I, S>(values: I) -> ContextValue
    where
        I: IntoIterator<Item = S>,
        S: Into<Box<str>>,
    {
        let values: Vec<Box<str>> = values.into_iter().map(Into::into).collect();
        ContextValue { colons: values.iter().map(|v| ArnColons::of(v)).collect(), values, multi: true }
    }

    /// The values.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> {
        self.values.iter().map(|v| v.as_ref())
    }

    /// The values, with what is known about their shape.
    pub fn items(&self) -> impl ExactSizeIterator<Item = Value<'_>> {
        self.values.iter().zip(&self.colons).map(|(text, colons)| Value { text, colons })
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
    /// [`key_hash`] of the lower-cased key → the first entry with that hash. Conditions hash their
    /// key when compiled, so a lookup compares integers and then the key once, instead of comparing
    /// strings down the tree; a collision falls back to `index`, so lookups stay exact and O(log n).
    by_hash: BTreeMap<u64, usize>,
}

/// The hash of a lower-cased context key name (FNV-1a: deterministic, no I/O, cheap on short keys).
pub fn key_hash(key_lower: &str) -> u64 {
    key_lower.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
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
        self.get_hashed(key_lower, key_hash(key_lower))
    }

    /// The values of `key_lower`, whose [`key_hash`] is `hash`.
    pub fn get_hashed(&self, key_lower: &str, hash: u64) -> Option<&ContextValue> {
        let &first = self.by_hash.get(&hash)?;
        match self.entries.get(first) {
            Some((lower, _, v)) if &**lower == key_lower => Some(v),
            _ => self.index.get(key_lower).and_then(|&i| self.entries.get(i)).map(|(_, _, v)| v),
        }
    }

    /// Sets `key`, replacing any value it had.
    pub fn set(&mut self, key: &str, value: ContextValue) {
        let lower: Box<str> = key.to_ascii_lowercase().into();
        match self.index.get(&lower).and_then(|&i| self.entries.get_mut(i)) {
            Some(entry) => entry.2 = value,
            None => {
                self.by_hash.entry(key_hash(&lower)).or_insert(self.entries.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_key_case_and_survive_hash_collisions() {
        let mut ctx = Context::new();
        ctx.set("aws:PrincipalArn", ContextValue::single("arn:aws:iam::111122223333:role/R"));
        ctx.set("kms:ViaService", ContextValue::single("ec2.eu-west-3.amazonaws.com"));
        assert!(ctx.get("AWS:principalarn").is_some());
        assert!(ctx.get_lower("kms:viaservice").is_some());
        // A hash shared with another key (as a collision would be) falls back to the exact index.
        let other = key_hash("aws:principalarn");
        assert_eq!(
            ctx.get_hashed("kms:viaservice", other).and_then(ContextValue::as_single),
            Some("ec2.eu-west-3.amazonaws.com")
        );
        assert!(ctx.get_hashed("kms:absent", other).is_none());
    }

    #[test]
    fn arn_components_split_at_the_first_five_colons() {
        let v = ContextValue::single("arn:aws:kms:eu-west-3:111122223333:key/a:b");
        let item = v.items().next().map(|i| i.arn_components());
        assert_eq!(item, Some((["arn", "aws", "kms", "eu-west-3", "111122223333", "key/a:b"], 6)));
        let short = ContextValue::single("no-colon");
        assert_eq!(short.items().next().map(|i| i.arn_components().1), Some(1));
    }
}
