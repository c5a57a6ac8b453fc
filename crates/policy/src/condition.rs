//! Condition operators: parsing an operator name, compiling its values, and testing them against the
//! request context.
//!
//! The rules come from the IAM User Guide: "IAM JSON policy elements: Condition operators"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>)
//! and "Single-valued vs. multivalued context keys"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>):
//! - several values for one key match if *any* matches (OR); several keys, or several operators, must
//!   *all* hold (AND);
//! - when the key is absent, a positive operator is false and a negated one (`…Not…`) is true;
//!   `…IfExists` is true; `ForAllValues:` is true (also for an empty set); `ForAnyValue:` is false;
//! - a negated operator holds when the key's value matches *none* of the policy's values;
//! - `ForAllValues:` holds when every value of the key matches, `ForAnyValue:` when at least one does.
//!
//! Context values that cannot be read as the operator's type (a number, a date, an IP address) match
//! no policy value.

mod values;

use crate::context::{key_hash, Context, Value};
use crate::pattern::Pattern;
use crate::variables::Vars;
pub use values::ParsedValue;
use values::{Cidr, Cmp};

/// The family of an operator, with negation factored out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    IpAddress,
    Arn,
    Null,
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    None,
    ForAnyValue,
    ForAllValues,
}

/// A parsed operator name such as `ForAllValues:StringNotEqualsIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub family: Family,
    pub negated: bool,
    pub if_exists: bool,
    pub set: SetOp,
}

impl Operator {
    /// Parses an operator name (case-sensitive, as AWS validates them); `None` if unknown.
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetOp::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetOp::ForAllValues, r)
        } else {
            (SetOp::None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        use Family::*;
        let (family, negated) = match base {
            "StringEquals" => (String, false),
            "StringNotEquals" => (String, true),
            "StringEqualsIgnoreCase" => (StringIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (StringIgnoreCase, true),
            "StringLike" => (StringLike, false),
            "StringNotLike" => (StringLike, true),
            "NumericEquals" => (Numeric(Cmp::Eq), false),
            "NumericNotEquals" => (Numeric(Cmp::Eq), true),
            "NumericLessThan" => (Numeric(Cmp::Lt), false),
            "NumericLessThanEquals" => (Numeric(Cmp::Le), false),
            "NumericGreaterThan" => (Numeric(Cmp::Gt), false),
            "NumericGreaterThanEquals" => (Numeric(Cmp::Ge), false),
            "DateEquals" => (Date(Cmp::Eq), false),
            "DateNotEquals" => (Date(Cmp::Eq), true),
            "DateLessThan" => (Date(Cmp::Lt), false),
            "DateLessThanEquals" => (Date(Cmp::Le), false),
            "DateGreaterThan" => (Date(Cmp::Gt), false),
            "DateGreaterThanEquals" => (Date(Cmp::Ge), false),
            "Bool" => (Bool, false),
            "BinaryEquals" => (Binary, false),
            "IpAddress" => (IpAddress, false),
            "NotIpAddress" => (IpAddress, true),
            "ArnEquals" | "ArnLike" => (Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Arn, true),
            "Null" => (Null, false),
            _ => return None,
        };
        if family == Null && (if_exists || set != SetOp::None) {
            return None;
        }
        Some(Operator { family, negated, if_exists, set })
    }
}

/// One compiled policy value.
#[derive(Debug, Clone, PartialEq)]
enum Compiled {
    Text(Pattern),
    /// ARN components (up to six), each a pattern.
    Arn(Vec<Pattern>),
    Number(f64),
    Date(i64),
    Bool(bool),
    Binary(Vec<u8>),
    Cidr(Cidr),
    Null(bool),
}

/// One `"Operator": {"key": values}` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written.
    pub operator_name: Box<str>,
    pub operator: Operator,
    /// The context key as written.
    pub key: Box<str>,
    key_lower: Box<str>,
    /// [`key_hash`] of `key_lower`, for the context lookup.
    key_hash: u64,
    values: Vec<Compiled>,
}

impl Condition {
    /// Compiles a condition. `values` are the policy's values as text; `Err` says what was expected of
    /// the value at that index.
    pub fn new(
        operator_name: &str,
        operator: Operator,
        key: &str,
        values: &[ParsedValue],
        variables: bool,
    ) -> Result<Condition, (usize, String)> {
        let compiled = values
            .iter()
            .enumerate()
            .map(|(i, v)| values::compile(operator.family, v, variables).map_err(|e| (i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Condition {
            operator_name: operator_name.into(),
            operator,
            key: key.into(),
            key_hash: key_hash(&key.to_ascii_lowercase()),
            key_lower: key.to_ascii_lowercase().into(),
            values: compiled,
        })
    }

    /// Whether the condition holds for `ctx`.
    pub fn holds(&self, ctx: &Context) -> bool {
        let op = self.operator;
        let present = ctx.get_hashed(&self.key_lower, self.key_hash);
        if op.family == Family::Null {
            return self
                .values
                .iter()
                .any(|v| matches!(v, Compiled::Null(want_absent) if *want_absent == present.is_none()));
        }
        // An unresolved policy variable makes the condition behave as if its key were absent.
        let unresolved = self.values.iter().any(|v| value_unresolved(v, ctx));
        let value = if unresolved { None } else { present };
        let Some(value) = value else {
            return absent_result(op);
        };
        match op.set {
            SetOp::None | SetOp::ForAnyValue if value.values().len() == 0 => {
                // An empty set: nothing can match. ForAnyValue is false; a plain negated operator
                // holds (no value equals any policy value).
                op.set == SetOp::None && op.negated
            }
            SetOp::ForAllValues => value.items().all(|v| self.one_value_holds(v, ctx)),
            SetOp::ForAnyValue => value.items().any(|v| self.one_value_holds(v, ctx)),
            SetOp::None => {
                if op.negated {
                    // A negated operator holds when no value of the key matches any policy value.
                    value.items().all(|v| !self.any_policy_value_matches(v, ctx))
                } else {
                    value.items().any(|v| self.any_policy_value_matches(v, ctx))
                }
            }
        }
    }

    /// For set operators, a single context value "holds" when it matches some policy value (positive)
    /// or matches none (negated).
    fn one_value_holds(&self, v: Value<'_>, ctx: &Context) -> bool {
        self.any_policy_value_matches(v, ctx) != self.operator.negated
    }

    fn any_policy_value_matches(&self, v: Value<'_>, ctx: &Context) -> bool {
        let family = self.operator.family;
        let parsed = values::ContextScalar::parse(family, v);
        self.values.iter().any(|pv| values::matches(family, pv, &parsed, v.text(), ctx))
    }

    /// The context values this condition would need, for explanations.
    pub fn values_text(&self) -> Vec<String> {
        self.values.iter().map(values::describe).collect()
    }

    /// The lower-cased key.
    pub fn key_lower(&self) -> &str {
        &self.key_lower
    }
}

fn value_unresolved(v: &Compiled, vars: &dyn Vars) -> bool {
    match v {
        Compiled::Text(p) => p.is_unresolved(vars),
        Compiled::Arn(parts) => parts.iter().any(|p| p.is_unresolved(vars)),
        _ => false,
    }
}

/// The documented result when the key is absent from the request context.
fn absent_result(op: Operator) -> bool {
    if op.if_exists {
        return true;
    }
    match op.set {
        SetOp::ForAllValues => true,
        SetOp::ForAnyValue => false,
        SetOp::None => op.negated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextValue;

    /// (operator, policy values, context value: None = absent, Some(vec) with multi flag) → holds.
    fn holds(op: &str, values: &[&str], ctx: Option<(&[&str], bool)>) -> bool {
        let operator = Operator::parse(op).unwrap_or_else(|| panic!("operator {op}"));
        let values: Vec<ParsedValue> = values.iter().map(|v| ParsedValue(v.to_string())).collect();
        let cond = Condition::new(op, operator, "k", &values, true).unwrap_or_else(|e| panic!("{op}: {e:?}"));
        let mut context = Context::new();
        if let Some((vals, multi)) = ctx {
            let v = if multi { ContextValue::multi(vals.iter().copied()) } else { ContextValue::single(vals[0]) };
            context.set("K", v);
        }
        cond.holds(&context)
    }

    fn one(v: &str) -> Option<(&[&str], bool)> {
        Some((std::slice::from_ref(Box::leak(Box::new(v))), false))
    }

    #[test]
    fn each_operator_on_a_present_single_value() {
        let table: &[(&str, &[&str], &str, bool)] = &[
            ("StringEquals", &["abc"], "abc", true),
            ("StringEquals", &["abc"], "ABC", false),
            ("StringEquals", &["a*"], "abc", false),
            ("StringNotEquals", &["abc", "def"], "xyz", true),
            ("StringNotEquals", &["abc", "def"], "def", false),
            ("StringEqualsIgnoreCase", &["abc"], "AbC", true),
            ("StringNotEqualsIgnoreCase", &["abc"], "ABC", false),
            ("StringLike", &["a*c?"], "abbcd", true),
            ("StringLike", &["a*c?"], "abbc", false),
            ("StringNotLike", &["a*"], "ba", true),
            ("NumericEquals", &["10"], "10.0", true),
            ("NumericNotEquals", &["10"], "11", true),
            ("NumericLessThan", &["10"], "9.5", true),
            ("NumericLessThanEquals", &["10"], "10", true),
            ("NumericGreaterThan", &["10"], "10", false),
            ("NumericGreaterThanEquals", &["10"], "10", true),
            ("NumericEquals", &["10"], "ten", false),
            ("DateEquals", &["2026-01-01T00:00:00Z"], "1767225600", true),
            ("DateLessThan", &["2026-01-01"], "2025-12-31T23:59:59Z", true),
            ("DateGreaterThan", &["2026-01-01T00:00:00+01:00"], "2025-12-31T23:30:00Z", true),
            ("DateNotEquals", &["2026-01-01T00:00:00Z"], "2026-01-01T00:00:01Z", true),
            ("DateLessThanEquals", &["2026-01-01T00:00:00Z"], "2026-01-01T00:00:00.000Z", true),
            ("DateGreaterThanEquals", &["2026-01-01T00:00:00Z"], "not a date", false),
            ("Bool", &["true"], "TRUE", true),
            ("Bool", &["false"], "true", false),
            ("BinaryEquals", &["QmluYXJ5"], "QmluYXJ5", true),
            ("BinaryEquals", &["QmluYXJ5"], "QmluYXJ6", false),
            ("IpAddress", &["203.0.113.0/24"], "203.0.113.77", true),
            ("IpAddress", &["203.0.113.0/24"], "203.0.114.1", false),
            ("IpAddress", &["2001:db8::/32"], "2001:db8:1::5", true),
            ("IpAddress", &["2001:db8::/32"], "203.0.113.1", false),
            ("NotIpAddress", &["10.0.0.0/8"], "192.0.2.1", true),
            ("IpAddress", &["192.0.2.1"], "192.0.2.1", true),
            ("ArnLike", &["arn:aws:iam::*:role/Custody*"], "arn:aws:iam::111111111111:role/CustodyResponse", true),
            ("ArnLike", &["arn:aws:iam::*"], "arn:aws:iam::111111111111:role/x", false),
            ("ArnEquals", &["arn:aws:s3:::b/*"], "arn:aws:s3:::b/k:with:colons", true),
            ("ArnNotLike", &["arn:aws:ec2:*:*:instance/*"], "arn:aws:ec2:eu-west-3:111111111111:volume/v", true),
            ("ArnLike", &["arn:aws:s3:::b"], "not-an-arn", false),
        ];
        for (op, values, ctx, want) in table {
            assert_eq!(holds(op, values, one(ctx)), *want, "{op} {values:?} vs {ctx}");
        }
    }

    #[test]
    fn absent_keys_follow_the_documented_results() {
        // Condition operators page: a missing key makes positive operators false and negated ones true;
        // IfExists is true; ForAllValues is true; ForAnyValue is false.
        let table: &[(&str, bool)] = &[
            ("StringEquals", false),
            ("StringNotEquals", true),
            ("StringEqualsIfExists", true),
            ("StringNotLike", true),
            ("NumericLessThan", false),
            ("NotIpAddress", true),
            ("ArnNotEquals", true),
            ("ForAllValues:StringEquals", true),
            ("ForAnyValue:StringEquals", false),
            ("ForAnyValue:StringNotEquals", false),
            ("ForAnyValue:StringEqualsIfExists", true),
        ];
        for (op, want) in table {
            let value = match op {
                o if o.starts_with("Numeric") => "1",
                o if o.contains("IpAddress") => "10.0.0.0/8",
                o if o.starts_with("Arn") => "arn:aws:s3:::b",
                _ => "x",
            };
            assert_eq!(holds(op, &[value], None), *want, "{op}");
        }
    }

    #[test]
    fn set_operators_on_multi_valued_keys() {
        let tags: &[&str] = &["team", "env"];
        assert!(holds("ForAllValues:StringEquals", &["team", "env", "owner"], Some((tags, true))));
        assert!(!holds("ForAllValues:StringEquals", &["team"], Some((tags, true))));
        assert!(holds("ForAnyValue:StringEquals", &["env"], Some((tags, true))));
        assert!(!holds("ForAnyValue:StringEquals", &["owner"], Some((tags, true))));
        assert!(holds("ForAllValues:StringNotEquals", &["owner"], Some((tags, true))));
        assert!(holds("ForAnyValue:StringNotEquals", &["team"], Some((tags, true))));
        let empty: &[&str] = &[];
        assert!(holds("ForAllValues:StringEquals", &["team"], Some((empty, true))));
        assert!(!holds("ForAnyValue:StringEquals", &["team"], Some((empty, true))));
    }

    #[test]
    fn null_tests_presence() {
        assert!(holds("Null", &["true"], None));
        assert!(!holds("Null", &["false"], None));
        assert!(holds("Null", &["false"], one("v")));
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAnyValue:Null").is_none());
    }

    #[test]
    fn bad_policy_values_are_refused_with_what_was_expected() {
        for (op, value) in [
            ("NumericEquals", "ten"),
            ("DateEquals", "tomorrow"),
            ("Bool", "yes"),
            ("IpAddress", "10.0.0.0/33"),
            ("BinaryEquals", "***"),
        ] {
            let operator = Operator::parse(op).unwrap_or_else(|| panic!("{op}"));
            let err = Condition::new(op, operator, "k", &[ParsedValue(value.into())], true).err();
            assert!(matches!(err, Some((0, _))), "{op} {value}");
        }
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("stringequals").is_none());
    }

    #[test]
    fn an_unresolved_variable_makes_the_condition_see_an_absent_key() {
        let values = [ParsedValue("${aws:username}".into())];
        for (op, want) in [("StringEquals", false), ("StringNotEquals", true), ("StringEqualsIfExists", true)] {
            let operator = Operator::parse(op).unwrap_or_else(|| panic!("{op}"));
            let cond = Condition::new(op, operator, "k", &values, true).unwrap_or_else(|e| panic!("{e:?}"));
            let mut ctx = Context::new();
            ctx.set("k", ContextValue::single("alice"));
            assert_eq!(cond.holds(&ctx), want, "{op}");
        }
    }
}
