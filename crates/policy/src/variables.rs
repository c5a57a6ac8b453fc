//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`, `${?}`, `${$}`.
//!
//! Variables exist only in policies whose Version is `2012-10-17`; under `2008-10-17` (or no Version)
//! the text is literal (IAM User Guide, "IAM policy elements: Variables and tags",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>). A variable whose
//! key is not in the request context and has no default is *unresolved*: in Resource it matches nothing,
//! in a condition the condition is evaluated as if its key were absent.

/// A reference to a context key, with an optional default value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The context key, lower-cased (context keys are case-insensitive).
    pub key: Box<str>,
    /// The value to use when the key has no value.
    pub default: Option<Box<str>>,
}

/// What a `${…}` token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// `${*}`, `${?}` or `${$}`: the literal character.
    Literal(char),
    /// A variable.
    Var(VarRef),
}

/// Parses the `${…}` token at the start of `text`; returns it and its byte length, or `None` when the
/// text there is not a well-formed token (it is then literal text).
///
/// Grammar: `${*}`, `${?}`, `${$}`, `${key}` or `${key, 'default'}`, with optional whitespace around
/// the key, the comma and the default; the key holds no whitespace, `{`, `}`, `$`, `,` or `'`; the
/// default is one single-quoted string (it may hold `}`).
///
/// Robustness fix: this used to look for the closing `}` across the whole rest of the text before
/// validating anything, so a pattern holding many `${` without a valid token (`${${${…`, `${a,${a,…`)
/// took quadratic time (a 32 KB Resource string: seconds; a 10 MB one: a hang). It now reads the token
/// left to right and gives up at the first character that cannot belong to it, so the cost of one call
/// is bounded by the token's own length (a key never holds `$`, so key scans never overlap).
/// The only inputs read differently are ones no policy uses: a key holding `'`, or a default made of
/// several quoted pieces (`${k, 'a'x'b'}`), which are now literal text.
pub fn parse_token(text: &str) -> Option<(Token, usize)> {
    let rest = text.strip_prefix("${")?;
    for (body, ch) in [("*}", '*'), ("?}", '?'), ("$}", '$')] {
        if rest.starts_with(body) {
            return Some((Token::Literal(ch), 4));
        }
    }
    // Key, with optional whitespace around it.
    let after_ws = rest.trim_start();
    let key_len = after_ws
        .find(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | '$' | ',' | '\''))
        .unwrap_or(after_ws.len());
    if key_len == 0 {
        return None;
    }
    let key = &after_ws[..key_len];
    let after_key = after_ws[key_len..].trim_start();
    let (default, after) = match after_key.chars().next()? {
        '}' => (None, after_key),
        ',' => {
            let quoted = after_key[1..].trim_start().strip_prefix('\'')?;
            let close = quoted.find('\'')?;
            (Some(&quoted[..close]), quoted[close + 1..].trim_start())
        }
        _ => return None,
    };
    let after_close = after.strip_prefix('}')?;
    let len = text.len() - after_close.len();
    Some((Token::Var(VarRef { key: key.to_ascii_lowercase().into(), default: default.map(Into::into) }), len))
}

/// Where variable values come from (the request context).
pub trait Vars {
    /// The value of a single-valued context key (lower-cased name); `None` when absent or multi-valued.
    fn lookup(&self, key_lower: &str) -> Option<&str>;

    /// The value a variable stands for: the key's value, else its default.
    fn resolve<'a>(&'a self, var: &'a VarRef) -> Option<&'a str> {
        self.lookup(&var.key).or(var.default.as_deref())
    }
}

/// No variables at all (patterns compiled without variable syntax).
pub struct NoVars;

impl Vars for NoVars {
    fn lookup(&self, _key_lower: &str) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(parse_token("${*}x"), Some((Token::Literal('*'), 4)));
        assert_eq!(parse_token("${$}"), Some((Token::Literal('$'), 4)));
        let (tok, len) = parse_token("${aws:PrincipalTag/team, 'none'}/rest").unwrap_or((Token::Literal(' '), 0));
        assert_eq!(len, "${aws:PrincipalTag/team, 'none'}".len());
        assert_eq!(tok, Token::Var(VarRef { key: "aws:principaltag/team".into(), default: Some("none".into()) }));
        assert_eq!(parse_token("${aws:username"), None);
        assert_eq!(parse_token("${}"), None);
        assert_eq!(parse_token("${a, nodefaultquotes}"), None);
        let (tok, _) = parse_token("${k, 'a}b'}").unwrap_or((Token::Literal(' '), 0));
        assert_eq!(tok, Token::Var(VarRef { key: "k".into(), default: Some("a}b".into()) }));
    }
}
