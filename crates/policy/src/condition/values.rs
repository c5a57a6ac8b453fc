//! Typed condition values: numbers, dates, booleans, base64 binaries, IP ranges, ARNs and text.

use super::{Compiled, Family};
use crate::context::Value;
use crate::pattern::{MatchResult, Pattern, Syntax};
use crate::variables::Vars;
use std::net::IpAddr;

/// A policy value as written: JSON strings, numbers and booleans are all accepted and kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedValue(pub String);

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// An IP address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in the range (an IPv4 address never lies in an IPv6 range, nor the reverse).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Compiles one policy value for an operator family; `Err` says what was expected.
pub(super) fn compile(family: Family, value: &ParsedValue, variables: bool) -> Result<Compiled, String> {
    let text = value.0.as_str();
    let syntax = |wildcards, case_insensitive| Syntax { wildcards, variables, case_insensitive };
    Ok(match family {
        Family::String => Compiled::Text(Pattern::new(text, syntax(false, false))),
        Family::StringIgnoreCase => Compiled::Text(Pattern::new(text, syntax(false, true))),
        Family::StringLike => Compiled::Text(Pattern::new(text, syntax(true, false))),
        Family::Arn => {
            Compiled::Arn(arn_components(text, variables).map(|part| Pattern::new(part, syntax(true, false))).collect())
        }
        Family::Numeric(_) => Compiled::Number(parse_number(text).ok_or("a number, such as `10` or `2.5`")?),
        Family::Date(_) => Compiled::Date(
            parse_date(text).ok_or("a date: ISO 8601 (`2026-01-31T12:00:00Z`) or seconds since the epoch")?,
        ),
        Family::Bool => Compiled::Bool(parse_bool(text).ok_or("`true` or `false`")?),
        Family::Binary => Compiled::Binary(decode_base64(text).ok_or("base64-encoded bytes")?),
        Family::IpAddress => {
            Compiled::Cidr(Cidr::parse(text).ok_or("an IPv4 or IPv6 address or CIDR range, such as `203.0.113.0/24`")?)
        }
        Family::Null => {
            Compiled::Null(parse_bool(text).ok_or("`true` (the key is absent) or `false` (it is present)")?)
        }
    })
}

/// A policy ARN's (up to six) colon-separated components.
///
/// Fix: this used to be `text.splitn(6, ':')`, which also split inside policy variables, whose keys
/// hold a colon: `arn:aws:iam::${aws:PrincipalAccount}:role/x` became the components `${aws` and
/// `PrincipalAccount}:role/x`, so the variable was never resolved and the condition never matched.
/// A colon inside a well-formed `${…}` token (when variables apply) no longer separates components.
fn arn_components(text: &str, variables: bool) -> impl Iterator<Item = &str> {
    let mut parts = Vec::with_capacity(6);
    let (mut start, mut i) = (0, 0);
    while i < text.len() && parts.len() < 5 {
        let rest = &text[i..];
        if variables && rest.starts_with("${") {
            if let Some((_, len)) = crate::variables::parse_token(rest) {
                i += len;
                continue;
            }
        }
        if rest.starts_with(':') {
            parts.push(&text[start..i]);
            start = i + 1;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    parts.push(&text[start..]);
    parts.into_iter()
}

/// A context value read as the operator's type.
pub(super) enum ContextScalar<'a> {
    Text,
    Number(Option<f64>),
    Date(Option<i64>),
    Bool(Option<bool>),
    Binary(Option<Vec<u8>>),
    Ip(Option<IpAddr>),
    /// The ARN's colon-separated components (the sixth keeps its colons) and their count.
    Arn([&'a str; 6], usize),
}

impl<'a> ContextScalar<'a> {
    pub(super) fn parse(family: Family, value: Value<'a>) -> ContextScalar<'a> {
        let text = value.text();
        match family {
            Family::Numeric(_) => ContextScalar::Number(parse_number(text)),
            Family::Date(_) => ContextScalar::Date(parse_date(text)),
            Family::Bool => ContextScalar::Bool(parse_bool(text)),
            Family::Binary => ContextScalar::Binary(decode_base64(text)),
            Family::IpAddress => ContextScalar::Ip(text.parse().ok()),
            Family::Arn => {
                let (parts, n) = value.arn_components();
                ContextScalar::Arn(parts, n)
            }
            _ => ContextScalar::Text,
        }
    }
}

/// Whether one policy value matches one context value; numbers and dates compare as the operator says.
pub(super) fn matches(family: Family, policy: &Compiled, ctx: &ContextScalar, raw: &str, vars: &dyn Vars) -> bool {
    let cmp = match family {
        Family::Numeric(c) | Family::Date(c) => c,
        _ => Cmp::Eq,
    };
    match (policy, ctx) {
        (Compiled::Text(p), _) => p.matches(raw, vars) == MatchResult::Match,
        (Compiled::Arn(parts), ContextScalar::Arn(pieces, n)) => arn_matches(parts, &pieces[..*n], vars),
        (Compiled::Number(p), ContextScalar::Number(Some(r))) => cmp.holds(*r, *p),
        (Compiled::Date(p), ContextScalar::Date(Some(r))) => cmp.holds(*r, *p),
        (Compiled::Bool(p), ContextScalar::Bool(Some(r))) => p == r,
        (Compiled::Binary(p), ContextScalar::Binary(Some(r))) => p == r,
        (Compiled::Cidr(c), ContextScalar::Ip(Some(ip))) => c.contains(*ip),
        _ => false,
    }
}

/// ArnEquals / ArnLike: each of the six colon-separated components is matched on its own, so a `*`
/// never spans a `:` between components (the resource part, the sixth, may itself contain colons).
/// A lone `*` matches any value; otherwise the pattern needs as many components as the ARN.
fn arn_matches(parts: &[Pattern], pieces: &[&str], vars: &dyn Vars) -> bool {
    if let [only] = parts {
        if only.is_match_all() {
            return true;
        }
    }
    parts.len() == pieces.len()
        && parts.iter().zip(pieces).all(|(p, piece)| p.matches(piece, vars) == MatchResult::Match)
}

/// For explanations.
pub(super) fn describe(v: &Compiled) -> String {
    match v {
        Compiled::Text(p) => p.as_str().to_string(),
        Compiled::Arn(parts) => parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(":"),
        Compiled::Number(n) => n.to_string(),
        Compiled::Date(ms) => chrono::DateTime::from_timestamp_millis(*ms).map(|d| d.to_rfc3339()).unwrap_or_default(),
        Compiled::Bool(b) | Compiled::Null(b) => b.to_string(),
        Compiled::Binary(b) => format!("{} bytes", b.len()),
        Compiled::Cidr(c) => format!("{}/{}", c.addr, c.prefix),
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// ISO 8601 dates and date-times, or epoch seconds; milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    let date = t.strip_suffix('Z').unwrap_or(t);
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp_millis())
}

/// Standard base64 (with or without padding); `None` on anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= sextet(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
