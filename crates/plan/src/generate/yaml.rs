//! A small YAML emitter for JSON values, in block style, for CloudFormation templates.
//!
//! Scalars are written plain only when no YAML reader could take them for anything but that string
//! (no leading indicator, no `: ` or ` #`, not a number, boolean or null in YAML 1.1 or 1.2); all
//! others are double-quoted with escapes, so `*`, `${aws:username}`, quotes, colons and control
//! characters survive the round trip (YAML 1.2, §7.3.1 "Double-Quoted Style",
//! <https://yaml.org/spec/1.2.2/#731-double-quoted-style>).

use serde_json::Value;
use std::fmt::Write as _;

/// Words YAML 1.1 readers take for booleans or null.
const RESERVED: [&str; 12] = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "nan", "inf"];

/// True when `s` can be written as a plain scalar and read back as the same string.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || " _./:*@+=-".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// A string scalar: plain when safe, double-quoted otherwise.
pub fn scalar_string(s: &str) -> String {
    if plain_ok(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Not printable in YAML (§5.1): C0/C1 controls, DEL, BOM, line/paragraph separators.
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}') =>
            {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(scalar_string(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

/// Writes `value` (a mapping or a sequence) in block style at `indent` spaces.
pub fn write(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in crate::json_order::entries(map) {
                let _ = write!(out, "{pad}{}:", scalar_string(k));
                match scalar(v) {
                    Some(s) => {
                        let _ = writeln!(out, " {s}");
                    }
                    None => {
                        out.push('\n');
                        write(out, v, indent + 2);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match scalar(item) {
                    Some(s) => {
                        let _ = writeln!(out, "{pad}- {s}");
                    }
                    None => {
                        // The item's first line goes after the dash, the rest under it.
                        let mut inner = String::new();
                        write(&mut inner, item, indent + 2);
                        let _ = write!(out, "{pad}- {}", inner.get(indent + 2..).unwrap_or(""));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other).unwrap_or_default());
        }
    }
}

/// `value` as a YAML document body.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

/// A comment line (`# …`); line breaks in `text` become spaces.
pub fn comment(out: &mut String, text: &str) {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let _ = writeln!(out, "# {}", one_line.trim_end());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]
    use super::*;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml(v);
        serde_norway::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn awkward_strings_survive() {
        let strings = [
            "*",
            "*.example",
            "arn:aws:ec2:*::snapshot/*",
            "arn:aws:s3:::bucket/${aws:username}/*",
            "$${literal}",
            "say \"hi\"",
            "back\\slash",
            "key: value",
            "trailing:",
            "a #comment",
            "#start",
            "- dash",
            "? q",
            "&anchor",
            "!tag",
            "%directive",
            "@at",
            "`tick",
            "|",
            ">",
            "'single'",
            "[x]",
            "{x}",
            "a, b",
            "",
            " lead",
            "trail ",
            "true",
            "False",
            "yes",
            "No",
            "on",
            "y",
            "null",
            "~",
            "2012-10-17",
            "111122223333",
            "0x1F",
            "1e3",
            ".inf",
            "line\nbreak",
            "tab\there",
            "nul\u{0}",
            "bell\u{7}",
            "del\u{7f}",
            "c1\u{85}",
            "bom\u{feff}",
            "sep\u{2028}",
            "é ü 漢字 🙂",
            "Allow use of the key",
            "kms:GrantIsForAWSResource",
            "ec2.*.amazonaws.com",
            "ssm:resourceTag/team name",
        ];
        for s in strings {
            let v = json!({ s: [s, {s: s}], "plain": s });
            assert_eq!(round_trip(&v), v, "{s:?} → {}", to_yaml(&v));
        }
    }

    #[test]
    fn structure_survives() {
        let v = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": ["kms:CreateGrant"], "Resource": "*",
                 "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}},
                {"Sid": "B", "Effect": "Allow", "Action": [], "Resource": {}, "Condition": {"N": {"k": 12}}},
                [["nested", ["deeper"]], {"x": null}],
                []
            ],
            "empty": {}
        });
        assert_eq!(round_trip(&v), v, "{}", to_yaml(&v));
    }

    #[test]
    fn plain_where_safe() {
        assert_eq!(scalar_string("Allow"), "Allow");
        assert_eq!(scalar_string("arn:aws:kms:*:*:key/*"), "arn:aws:kms:*:*:key/*");
        assert_eq!(scalar_string("*"), "\"*\"");
        assert_eq!(scalar_string("2012-10-17"), "\"2012-10-17\"");
        assert_eq!(scalar_string("${x}"), "\"${x}\"");
    }
}
