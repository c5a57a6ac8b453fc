//! A small HCL writer for Terraform: blocks, aligned attributes, comments, quoted strings, and the
//! conversion of a policy document into a `data "aws_iam_policy_document"` block.
//!
//! Strings escape `\`, `"` and control characters, and the template introducers: `${` is written
//! `$${` and `%{` is written `%%{`, so a policy variable such as `${aws:username}` reaches the policy
//! as written instead of being interpolated by Terraform (HCL native syntax, "Template Literals",
//! <https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md#template-literals>).

use super::StatementInfo;
use serde_json::Value;
use std::fmt::Write as _;

/// A quoted HCL string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A list of quoted strings.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<String> = items.iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", parts.join(", "))
}

/// One item of a block body.
#[derive(Debug, Clone)]
enum Item {
    /// `name = expression` (the expression already written).
    Attr(String, String),
    Block(Block),
    Comment(String),
}

/// A block: `kind "label" … { body }`.
#[derive(Debug, Clone)]
pub struct Block {
    kind: String,
    labels: Vec<String>,
    items: Vec<Item>,
}

impl Block {
    pub fn new(kind: &str, labels: &[&str]) -> Block {
        Block { kind: kind.to_string(), labels: labels.iter().map(|l| l.to_string()).collect(), items: Vec::new() }
    }

    /// `name = <expression>`, the expression written by the caller (a reference such as
    /// `data.aws_iam_policy_document.x.json`, or the output of [`string`] / [`list`]).
    pub fn attr(&mut self, name: &str, expression: impl Into<String>) -> &mut Block {
        self.items.push(Item::Attr(name.to_string(), expression.into()));
        self
    }

    /// `name = "value"`.
    pub fn attr_str(&mut self, name: &str, value: &str) -> &mut Block {
        self.attr(name, string(value))
    }

    pub fn block(&mut self, block: Block) -> &mut Block {
        self.items.push(Item::Block(block));
        self
    }

    /// Sets the `provider` meta-argument first: the block is applied with that aliased provider.
    pub fn provider(&mut self, alias: &str) -> &mut Block {
        self.items.insert(0, Item::Attr("provider".to_string(), format!("aws.{alias}")));
        self
    }

    pub fn comment(&mut self, text: &str) -> &mut Block {
        self.items.push(Item::Comment(text.to_string()));
        self
    }

    /// Writes the block at `indent` spaces, attributes aligned as `terraform fmt` does.
    pub fn write(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        let labels: String = self.labels.iter().map(|l| format!(" {}", string(l))).collect();
        let _ = writeln!(out, "{pad}{}{labels} {{", self.kind);
        let inner = " ".repeat(indent + 2);
        let mut i = 0;
        while let Some(item) = self.items.get(i) {
            match item {
                Item::Attr(..) => {
                    let run: Vec<&Item> =
                        self.items[i..].iter().take_while(|it| matches!(it, Item::Attr(..))).collect();
                    let width = run.iter().map(|it| if let Item::Attr(n, _) = it { n.len() } else { 0 }).max();
                    for it in &run {
                        if let Item::Attr(name, expr) = it {
                            let _ = writeln!(out, "{inner}{name:<w$} = {expr}", w = width.unwrap_or(0));
                        }
                    }
                    i += run.len();
                    continue;
                }
                Item::Block(b) => {
                    if i > 0 && matches!(self.items.get(i - 1), Some(Item::Attr(..))) {
                        out.push('\n');
                    }
                    b.write(out, indent + 2);
                }
                Item::Comment(text) => comment(out, &inner, text),
            }
            i += 1;
        }
        let _ = writeln!(out, "{pad}}}");
    }
}

/// A `# …` line; line breaks in `text` become spaces.
pub fn comment(out: &mut String, pad: &str, text: &str) {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let _ = writeln!(out, "{pad}# {}", one_line.trim_end());
}

/// A JSON string or array of strings (or booleans/numbers, as their text) as a list.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// `principals`/`not_principals` blocks for a Principal element.
fn principal_blocks(kind: &str, v: &Value) -> Vec<Block> {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(t, ids)| {
                let mut b = Block::new(kind, &[]);
                b.attr_str("type", t).attr("identifiers", list(&strings(ids)));
                b
            })
            .collect(),
        other => {
            let mut b = Block::new(kind, &[]);
            b.attr_str("type", "*").attr("identifiers", list(&strings(other)));
            vec![b]
        }
    }
}

/// A policy document as `data "aws_iam_policy_document" "<name>"`, each statement preceded by a
/// comment saying what it is for when `info` is given (same order as the statements).
pub fn policy_document(name: &str, doc: &Value, info: &[StatementInfo]) -> Block {
    let mut data = Block::new("data", &["aws_iam_policy_document", name]);
    if let Some(v) = doc.get("Version").and_then(Value::as_str) {
        data.attr_str("version", v);
    }
    if let Some(id) = doc.get("Id").and_then(Value::as_str) {
        data.attr_str("policy_id", id);
    }
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    for (n, s) in statements.into_iter().enumerate() {
        if let Some(i) = info.get(n) {
            data.comment(&format!("{}: {} ({})", i.sid, i.purpose, i.doc));
        }
        data.block(statement_block(s));
    }
    data
}

fn statement_block(s: &Value) -> Block {
    let mut b = Block::new("statement", &[]);
    let pairs = [
        ("Sid", "sid"),
        ("Effect", "effect"),
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ];
    for (json_name, hcl_name) in pairs {
        match (s.get(json_name), json_name) {
            (Some(Value::String(v)), "Sid" | "Effect") => {
                b.attr_str(hcl_name, v);
            }
            (Some(v), _) => {
                b.attr(hcl_name, list(&strings(v)));
            }
            (None, _) => {}
        }
    }
    for (json_name, kind) in [("Principal", "principals"), ("NotPrincipal", "not_principals")] {
        if let Some(p) = s.get(json_name) {
            for block in principal_blocks(kind, p) {
                b.block(block);
            }
        }
    }
    if let Some(Value::Object(ops)) = s.get("Condition") {
        for (op, keys) in ops {
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    let mut c = Block::new("condition", &[]);
                    c.attr_str("test", op).attr_str("variable", key).attr("values", list(&strings(values)));
                    b.block(c);
                }
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]
    use super::*;

    /// The string `hcl-rs` reads back from `attr = <literal>`.
    fn read_back(literal: &str) -> String {
        let text = format!("a = {literal}\n");
        let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let attr = body.attributes().next().unwrap();
        match attr.expr() {
            hcl::Expression::String(s) => s.clone(),
            hcl::Expression::TemplateExpr(t) => {
                let ctx = hcl::eval::Context::new();
                let v: hcl::Value = hcl::eval::Evaluate::evaluate(&hcl::Expression::TemplateExpr(t.clone()), &ctx)
                    .unwrap_or_else(|e| panic!("{e}\n{text}"));
                v.as_str().unwrap().to_string()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn awkward_strings_survive() {
        for s in [
            "plain",
            "arn:aws:ec2:*::snapshot/*",
            "arn:aws:s3:::bucket/${aws:username}/*",
            "${*}",
            "%{ if x }",
            "say \"hi\"",
            "back\\slash",
            "trailing\\",
            "line\nbreak",
            "tab\t",
            "nul\u{0}",
            "$",
            "%",
            "$x",
            "$${x}",
            "$$${x}",
            "%%{x}",
            "$$",
            "{}",
            "é 漢字 🙂",
            "",
        ] {
            assert_eq!(read_back(&string(s)), s, "{s:?} written {}", string(s));
        }
    }

    #[test]
    fn interpolation_is_escaped() {
        assert_eq!(string("${aws:username}"), "\"$${aws:username}\"");
        assert_eq!(string("%{x}"), "\"%%{x}\"");
    }
}
