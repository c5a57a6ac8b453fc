//! Wildcard patterns with policy variables: the matcher behind Action, Resource, StringLike and ArnLike.
//!
//! A pattern is compiled once, when the policy is parsed, into star-separated *segments*; each segment is
//! a run of atoms of known length (literal text, `?`, or a policy variable resolved at match time).
//! Matching is the classic glob algorithm: the first segment is anchored at the start, the last at the
//! end, and each middle segment is found at its leftmost position. That is linear in practice and never
//! backtracks exponentially, whatever the input. Variables resolve to borrowed context values, so
//! matching allocates nothing.
//!
//! `${*}`, `${?}` and `${$}` stand for the literal characters (IAM User Guide, "Special characters",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars>);
//! a value a variable resolves to is always literal text.

use crate::variables::{self, VarRef, Vars};

/// One unit of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    /// Literal text (lower-cased already when the pattern is case-insensitive).
    Lit(Box<str>),
    /// `?`: exactly one character.
    AnyChar,
    /// A policy variable, resolved when matching.
    Var(VarRef),
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Segments between `*`s; `segments.len() - 1` stars.
    segments: Vec<Vec<Atom>>,
    case_insensitive: bool,
    /// The source text, for explanations.
    source: Box<str>,
    /// True when the pattern holds no wildcard and no variable (equality test).
    plain: bool,
    /// True when the pattern holds a variable (found once, at compile time).
    vars: bool,
    /// `literal*` without variables (`kms:ReEncrypt*`, `ec2:Describe*`): a prefix test.
    prefix_only: bool,
}

/// What matching says when a variable has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchResult {
    Match,
    NoMatch,
    /// A variable in the pattern has no value in the request (and no default).
    Unresolved,
}

/// How a pattern string is read.
#[derive(Debug, Clone, Copy)]
pub struct Syntax {
    /// `*` and `?` are wildcards (false: StringEquals-like exact text).
    pub wildcards: bool,
    /// `${…}` is a policy variable (only under policy Version 2012-10-17).
    pub variables: bool,
    /// Compare ASCII case-insensitively (action names).
    pub case_insensitive: bool,
}

impl Pattern {
    /// Compiles `text`. Never fails: text that is not a well-formed variable is literal.
    pub fn new(text: &str, syntax: Syntax) -> Pattern {
        let mut segments: Vec<Vec<Atom>> = vec![Vec::new()];
        let mut lit = String::new();
        let mut plain = true;
        let flush = |lit: &mut String, segs: &mut Vec<Vec<Atom>>| {
            if !lit.is_empty() {
                let text = if syntax.case_insensitive { lit.to_ascii_lowercase() } else { lit.clone() };
                if let Some(seg) = segs.last_mut() {
                    seg.push(Atom::Lit(text.into_boxed_str()));
                }
                lit.clear();
            }
        };
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some((token, len)) = variables::parse_token(rest) {
                    match token {
                        variables::Token::Literal(ch) => lit.push(ch),
                        variables::Token::Var(var) => {
                            flush(&mut lit, &mut segments);
                            plain = false;
                            if let Some(seg) = segments.last_mut() {
                                seg.push(Atom::Var(var));
                            }
                        }
                    }
                    rest = &rest[len..];
                    continue;
                }
            }
            match c {
                '*' if syntax.wildcards => {
                    flush(&mut lit, &mut segments);
                    segments.push(Vec::new());
                    plain = false;
                }
                '?' if syntax.wildcards => {
                    flush(&mut lit, &mut segments);
                    if let Some(seg) = segments.last_mut() {
                        seg.push(Atom::AnyChar);
                    }
                    plain = false;
                }
                _ => lit.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        flush(&mut lit, &mut segments);
        let vars = segments.iter().flatten().any(|a| matches!(a, Atom::Var(_)));
        let prefix_only = matches!(segments.as_slice(), [first, last] if last.is_empty() && matches!(first.as_slice(), [Atom::Lit(_)]));
        Pattern { segments, case_insensitive: syntax.case_insensitive, source: text.into(), plain, vars, prefix_only }
    }

    /// The text the pattern was compiled from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern is a lone `*` (matches everything).
    pub fn is_match_all(&self) -> bool {
        self.segments.len() == 2 && self.segments.iter().all(|s| s.is_empty())
    }

    /// True when the pattern has variables.
    pub fn has_variables(&self) -> bool {
        self.vars
    }

    /// True when a variable of the pattern has no value in `vars` (and no default).
    pub fn is_unresolved(&self, vars: &dyn Vars) -> bool {
        self.vars && self.segments.iter().flatten().any(|a| matches!(a, Atom::Var(v) if vars.resolve(v).is_none()))
    }

    /// Matches `text`, resolving variables from `vars`.
    pub fn matches(&self, text: &str, vars: &dyn Vars) -> MatchResult {
        if self.plain {
            let lit = match self.segments.first().and_then(|s| s.first()) {
                Some(Atom::Lit(l)) => l.as_ref(),
                _ => "",
            };
            let eq = if self.case_insensitive { lit.eq_ignore_ascii_case(text) } else { lit == text };
            return if eq { MatchResult::Match } else { MatchResult::NoMatch };
        }
        if self.prefix_only {
            if let Some([Atom::Lit(l)]) = self.segments.first().map(Vec::as_slice) {
                let eq = prefix_len(l, text, self.case_insensitive).is_some();
                return if eq { MatchResult::Match } else { MatchResult::NoMatch };
            }
        }
        // Resolve variables first: an unresolved one decides the outcome whatever the text.
        if self.is_unresolved(vars) {
            return MatchResult::Unresolved;
        }
        if self.glob(text, vars) {
            MatchResult::Match
        } else {
            MatchResult::NoMatch
        }
    }

    fn glob(&self, text: &str, vars: &dyn Vars) -> bool {
        let n = self.segments.len();
        let ci = self.case_insensitive;
        if n == 1 {
            return match_at(&self.segments[0], text, ci, vars) == Some(text.len());
        }
        let first = &self.segments[0];
        let Some(mut pos) = match_at(first, text, ci, vars) else { return false };
        for seg in &self.segments[1..n - 1] {
            // A literal middle segment is found with the standard library's substring search.
            if let (false, [Atom::Lit(l)]) = (ci, seg.as_slice()) {
                match find_literal(&text[pos..], l) {
                    Some(start) => pos += start + l.len(),
                    None => return false,
                }
                continue;
            }
            match find(seg, &text[pos..], ci, vars) {
                Some((start, len)) => pos += start + len,
                None => return false,
            }
        }
        // The last segment is anchored at the end: try it at every char boundary from the end back
        // to `pos`, since `?` and multi-byte characters make its byte length unknown in advance.
        let last = &self.segments[n - 1];
        if last.is_empty() {
            return true;
        }
        let tail = &text[pos..];
        // A literal last segment (the common `prefix*suffix`): its length is known, so test the end.
        if let [Atom::Lit(l)] = last.as_slice() {
            let Some(start) = tail.len().checked_sub(l.len()) else { return false };
            return tail.is_char_boundary(start) && prefix_len(l, &tail[start..], ci).is_some();
        }
        tail.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(tail.len()))
            .rev()
            .any(|i| match_at(last, &tail[i..], ci, vars) == Some(tail.len() - i))
    }
}

/// Matches `seg` at the start of `text`; returns the byte length consumed.
fn match_at(seg: &[Atom], text: &str, ci: bool, vars: &dyn Vars) -> Option<usize> {
    let mut pos = 0;
    for atom in seg {
        let rest = &text[pos..];
        match atom {
            Atom::Lit(l) => pos += prefix_len(l, rest, ci)?,
            Atom::AnyChar => pos += rest.chars().next()?.len_utf8(),
            Atom::Var(v) => pos += prefix_len(vars.resolve(v)?, rest, false)?,
        }
    }
    Some(pos)
}

fn prefix_len(lit: &str, text: &str, ci: bool) -> Option<usize> {
    let head = text.get(..lit.len())?;
    let eq = if ci { head.eq_ignore_ascii_case(lit) } else { head == lit };
    eq.then_some(lit.len())
}

/// Haystacks up to this many bytes are searched byte by byte: the standard library's two-way
/// searcher costs more to set up than a whole naive scan of a short ARN. Above it, the two-way
/// searcher keeps the search linear whatever the input.
const SHORT_HAYSTACK: usize = 256;

/// The leftmost byte offset of `needle` in `hay`. A match of a UTF-8 needle in UTF-8 text always
/// starts on a character boundary, so the offset can slice `hay`.
fn find_literal(hay: &str, needle: &str) -> Option<usize> {
    if hay.len() > SHORT_HAYSTACK {
        return hay.find(needle);
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else { return Some(0) };
    let last_start = h.len().checked_sub(n.len())?;
    (0..=last_start).find(|&i| h[i] == first && h[i..].starts_with(n))
}

/// Finds the leftmost position where `seg` matches inside `text`: (start, length).
fn find(seg: &[Atom], text: &str, ci: bool, vars: &dyn Vars) -> Option<(usize, usize)> {
    if seg.is_empty() {
        return Some((0, 0));
    }
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .find_map(|i| match_at(seg, &text[i..], ci, vars).map(|len| (i, len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::NoVars;

    const GLOB: Syntax = Syntax { wildcards: true, variables: false, case_insensitive: false };
    const ACTION: Syntax = Syntax { wildcards: true, variables: false, case_insensitive: true };

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p, GLOB).matches(t, &NoVars) == MatchResult::Match
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything:at/all", true),
            ("", "", true),
            ("", "a", false),
            ("a", "a", true),
            ("a", "A", false),
            ("?", "", false),
            ("?", "é", true),
            ("a*", "a", true),
            ("*a", "ba", true),
            ("*a", "ab", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*?*", "", false),
            ("*?*", "x", true),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", true),
            ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:eu-west-3:111111111111:instance/i-1", true),
            ("ab*?", "ab", false),
            ("ab*?", "abc", true),
            ("*é?", "xxéy", true),
            ("**", "x", true),
            // Middle literal segments, searched naively in short text and with the two-way searcher
            // in long text.
            ("a*bc*d", "xxabcbcd", false),
            ("a*bc*d", "abxbcd", true),
            ("*é*", "aéb", true),
            ("*:key/*", "arn:aws:kms:eu-west-3:111122223333:key/k", true),
            ("*:key/*", "arn:aws:kms:eu-west-3:111122223333:alias/k", false),
            // `literal*`, the prefix fast path.
            ("kms:*", "kms:", true),
            ("kms:*", "km", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(m(p, t), *want, "pattern {p:?} text {t:?}");
        }
    }

    #[test]
    fn middle_literal_in_long_text() {
        let long = format!("{}needle{}", "x".repeat(SHORT_HAYSTACK * 2), "y");
        assert!(m("*needle*", &long));
        assert!(!m("*needles*", &long));
        assert_eq!(find_literal(&long, "needle"), Some(SHORT_HAYSTACK * 2));
        assert_eq!(find_literal("abc", ""), Some(0));
        assert_eq!(find_literal("ab", "abc"), None);
    }

    #[test]
    fn action_names_ignore_ascii_case() {
        let p = Pattern::new("kms:ReEncrypt*", ACTION);
        assert_eq!(p.matches("KMS:reencryptfrom", &NoVars), MatchResult::Match);
        assert_eq!(p.matches("kms:Decrypt", &NoVars), MatchResult::NoMatch);
        assert_eq!(Pattern::new("KMS:Decrypt", ACTION).matches("kms:decrypt", &NoVars), MatchResult::Match);
    }

    #[test]
    fn without_wildcards_star_is_literal() {
        let p = Pattern::new("a*", Syntax { wildcards: false, variables: false, case_insensitive: false });
        assert_eq!(p.matches("a*", &NoVars), MatchResult::Match);
        assert_eq!(p.matches("ab", &NoVars), MatchResult::NoMatch);
    }
}
