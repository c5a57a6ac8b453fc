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
pub fn parse_token(text: &str) -> Option<(Token, usize)> {
    let body_start = 2;
    let rest = text.get(body_start..)?;
    // A default may contain `}` inside its quotes, so find the end with the quotes in mind.
    let mut in_quote = false;
    let mut end = None;
    for (i, c) in rest.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let body = &rest[..end];
    let len = body_start + end + 1;
    match body {
        "*" => return Some((Token::Literal('*'), len)),
        "?" => return Some((Token::Literal('?'), len)),
        "$" => return Some((Token::Literal('$'), len)),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let inner = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(inner))
        }
        None => (body.trim(), None),
    };
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c == '{' || c == '$') {
        return None;
    }
    Some((
        Token::Var(VarRef { key: key.to_ascii_lowercase().into(), default: default.map(Into::into) }),
        len,
    ))
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
        assert_eq!(
            tok,
            Token::Var(VarRef { key: "aws:principaltag/team".into(), default: Some("none".into()) })
        );
        assert_eq!(parse_token("${aws:username"), None);
        assert_eq!(parse_token("${}"), None);
        assert_eq!(parse_token("${a, nodefaultquotes}"), None);
        let (tok, _) = parse_token("${k, 'a}b'}").unwrap_or((Token::Literal(' '), 0));
        assert_eq!(tok, Token::Var(VarRef { key: "k".into(), default: Some("a}b".into()) }));
    }
}
