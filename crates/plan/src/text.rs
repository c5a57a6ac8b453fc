//! Text from outside custody, made safe to show a person.
//!
//! Much of what custody prints was written by someone else: instance tags, policy Sids, principal
//! ARNs, S3 keys, AWS error messages, a suspect process's command line in triage output. Any of them
//! can hold a terminal escape sequence (`ESC [ 2 J` clears the screen, `ESC ] 8` forges a link, a C1
//! `0x9b` is a one-byte CSI), a carriage return that overwrites what was printed before it on the
//! line, or a Unicode bidi override (U+202E before `gpj.exe` shows `exe.jpg`). Printed raw, they
//! drive the examiner's terminal or hide what the evidence says.
//!
//! Every human-facing text goes through this module: [`Safe`] (one value on a line) or
//! [`SafeLines`] (a block whose line breaks and tabs are meant) when formatting, [`safe`] and
//! [`safe_lines`] when a string is needed. Each character that can act instead of show is replaced
//! by a visible escape (`\u{1b}`, `\r`), so the examiner sees that the input held it and what it was;
//! everything else, `é`, `日本` or an emoji, is left alone. JSON output does not come here: serde
//! escapes what JSON needs, and a JSON consumer wants the value exact.
//!
//! What is escaped ([`is_hazard`]): the C0 controls (with [`SafeLines`], `\n` and `\t` excepted),
//! DEL, the C1 controls, the line and paragraph separators U+2028/U+2029, every format character of
//! Unicode (general category Cf: the bidi embeddings, overrides and isolates, LRM/RLM/ALM, the
//! zero-width space, joiners and no-break space, the soft hyphen, the tag characters), and the Hangul
//! fillers, which are letters that draw nothing. The zero-width joiner is escaped too, although emoji
//! sequences use it (a family emoji shows as its members with `\u{200d}` between them): custody
//! prints identifiers, and two that look the same must not print the same. The variation selectors
//! are left alone: they only choose how a visible character is drawn.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` can act on a terminal or a reader instead of showing as itself (see the module
/// documentation for the list and why).
pub fn is_hazard(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Whether `c` is replaced: a hazard, unless it is a line break or tab that `lines` allows.
fn replaced(c: char, lines: bool) -> bool {
    is_hazard(c) && !(lines && (c == '\n' || c == '\t'))
}

/// Writes the visible form of a replaced character: `\n`, `\r`, `\t`, else `\u{hex}`.
pub fn write_escape(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c => write!(out, "\\u{{{:x}}}", u32::from(c)),
    }
}

fn clean(s: &str, lines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| replaced(c, lines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if replaced(c, lines) {
            // Writing to a String cannot fail.
            let _ = write_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as one line: every hazard escaped, line breaks and tabs included (a value cannot start a
/// line of its own that passes for custody's).
pub fn safe(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// `s` as a block: every hazard escaped except `\n` and `\t`.
pub fn safe_lines(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

/// A message of several lines (an AWS error with the preflight's explanation under it): each line
/// escaped as [`safe`] does, the lines after the first starting with `indent`, so that the message
/// reads as one block under its label and none of its lines passes for the tool's own.
pub fn safe_indented(s: &str, indent: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.trim_end_matches('\n').split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(&safe(line));
    }
    out
}

/// Formats a value as [`safe`] does; width and alignment (`{:<32}`) apply to the escaped text.
#[derive(Debug, Clone, Copy)]
pub struct Safe<'a>(pub &'a str);

impl fmt::Display for Safe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&safe(self.0))
    }
}

/// Formats a block as [`safe_lines`] does.
#[derive(Debug, Clone, Copy)]
pub struct SafeLines<'a>(pub &'a str);

impl fmt::Display for SafeLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&safe_lines(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what it is, input, one line, as a block).
    const CASES: &[(&str, &str, &str, &str)] = &[
        ("clear screen (CSI 2 J)", "a\u{1b}[2Jb", "a\\u{1b}[2Jb", "a\\u{1b}[2Jb"),
        (
            "OSC 8 hyperlink",
            "\u{1b}]8;;http://x\u{7}click\u{1b}]8;;\u{7}",
            "\\u{1b}]8;;http://x\\u{7}click\\u{1b}]8;;\\u{7}",
            "\\u{1b}]8;;http://x\\u{7}click\\u{1b}]8;;\\u{7}",
        ),
        ("bidi override", "vol-1\u{202e}gpj.exe", "vol-1\\u{202e}gpj.exe", "vol-1\\u{202e}gpj.exe"),
        (
            "bidi isolate and marks",
            "\u{2066}a\u{2069}\u{200e}\u{200f}\u{61c}",
            "\\u{2066}a\\u{2069}\\u{200e}\\u{200f}\\u{61c}",
            "\\u{2066}a\\u{2069}\\u{200e}\\u{200f}\\u{61c}",
        ),
        ("C1 CSI", "x\u{9b}31my", "x\\u{9b}31my", "x\\u{9b}31my"),
        ("C1 NEL", "a\u{85}b", "a\\u{85}b", "a\\u{85}b"),
        ("carriage return overwrite", "evil\rgood", "evil\\rgood", "evil\\rgood"),
        ("NUL", "a\0b", "a\\u{0}b", "a\\u{0}b"),
        ("DEL", "a\u{7f}b", "a\\u{7f}b", "a\\u{7f}b"),
        ("backspace and bell", "ab\u{8}\u{7}", "ab\\u{8}\\u{7}", "ab\\u{8}\\u{7}"),
        ("line break and tab", "a\nb\tc", "a\\nb\\tc", "a\nb\tc"),
        ("line separator", "a\u{2028}b", "a\\u{2028}b", "a\\u{2028}b"),
        ("zero-width space and joiner", "i-1\u{200b}2\u{200d}", "i-1\\u{200b}2\\u{200d}", "i-1\\u{200b}2\\u{200d}"),
        ("byte order mark", "\u{feff}x", "\\u{feff}x", "\\u{feff}x"),
        ("tag characters", "a\u{e0041}", "a\\u{e0041}", "a\\u{e0041}"),
        ("Hangul filler", "a\u{3164}b", "a\\u{3164}b", "a\\u{3164}b"),
        ("accents, CJK and emoji", "é 日本 🔒 ❤\u{fe0f}", "é 日本 🔒 ❤\u{fe0f}", "é 日本 🔒 ❤\u{fe0f}"),
        ("plain ASCII with backslash", "C:\\x `y` |z|", "C:\\x `y` |z|", "C:\\x `y` |z|"),
    ];

    #[test]
    fn every_hazard_is_shown_as_a_visible_escape_and_plain_text_is_untouched() {
        for (what, input, line, block) in CASES {
            assert_eq!(safe(input), *line, "{what}");
            assert_eq!(safe_lines(input), *block, "{what}");
            assert_eq!(Safe(input).to_string(), *line, "{what}");
            assert_eq!(SafeLines(input).to_string(), *block, "{what}");
        }
    }

    #[test]
    fn nothing_that_can_act_survives_any_input() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            let out = safe(&s);
            assert!(!out.chars().any(is_hazard), "U+{:04X} came through as {out:?}", u32::from(c));
            assert!(!safe_lines(&s).chars().any(|x| is_hazard(x) && x != '\n' && x != '\t'));
        }
    }

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        assert!(matches!(safe("i-0123 é"), Cow::Borrowed(_)));
        assert!(matches!(safe_lines("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_message_of_several_lines_is_indented_under_its_label() {
        assert_eq!(
            safe_indented("failed\nThe preflight\u{1b}[2J\r\n  - x\n", "    "),
            "failed\n    The preflight\\u{1b}[2J\\r\n      - x"
        );
        assert_eq!(safe_indented("one line", "  "), "one line");
    }

    #[test]
    fn width_applies_to_the_escaped_text() {
        assert_eq!(format!("[{:<6}]", Safe("a\u{1b}")), "[a\\u{1b}]");
        assert_eq!(format!("[{:<4}]", Safe("ab")), "[ab  ]");
    }
}
