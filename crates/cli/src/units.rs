//! The units command lines take, parsed in one place: durations (`90`, `90s`, `30m`, `4h`, `1h30m`)
//! and sizes (`65536`, `64K`, `512M`, `2G`). Each parser is a clap `value_parser`; its error says what
//! was wrong and what is accepted.

use std::time::Duration;

/// The longest duration accepted: a week, more than any wait custody makes.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

const DURATION_FORMS: &str = "expected a duration such as 90 (seconds), 90s, 30m, 4h or 1h30m";

/// A duration: a bare number is seconds; otherwise numbers each followed by `h`, `m` or `s`, in that
/// order (`1h30m`, `2m30s`). Zero, overflow and anything else are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let refuse = |why: &str| format!("`{text}`: {why}; {DURATION_FORMS}");
    if text.is_empty() {
        return Err(refuse("empty"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = text.parse::<u64>().map_err(|_| refuse("too long"))?;
        return checked(Duration::from_secs(seconds)).map_err(&refuse);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    // The units seen so far, to refuse `30m1h` and `1h1h`.
    let mut last_rank = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (rank, seconds) = match c {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(refuse(&format!("unknown unit `{c}`"))),
        };
        if digits.is_empty() {
            return Err(refuse(&format!("no number before `{c}`")));
        }
        if rank <= last_rank {
            return Err(refuse("units out of order (hours, then minutes, then seconds)"));
        }
        last_rank = rank;
        let n = digits.parse::<u64>().map_err(|_| refuse("too long"))?;
        total = n.checked_mul(seconds).and_then(|s| total.checked_add(s)).ok_or_else(|| refuse("too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(refuse("a number without a unit after another unit"));
    }
    checked(Duration::from_secs(total)).map_err(refuse)
}

fn checked(d: Duration) -> Result<Duration, &'static str> {
    if d.is_zero() {
        Err("must be more than zero")
    } else if d > MAX_DURATION {
        Err("longer than a week")
    } else {
        Ok(d)
    }
}

/// A duration as [`parse_duration`] takes it, in the largest units that say it exactly (`4h`,
/// `1h30m`, `90s` → `1m30s`), for defaults and messages.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

const SIZE_FORMS: &str = "expected a size such as 65536 (bytes), 64K, 512M or 2G";

/// A size in bytes: a number, optionally followed by K, M or G (powers of 1024, either case).
/// Zero, overflow and anything else are refused.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        _ => return Err(format!("`{text}`: unknown unit `{unit}`; {SIZE_FORMS}")),
    };
    if digits.is_empty() {
        return Err(format!("`{text}`: no number; {SIZE_FORMS}"));
    }
    let n = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{text}`: too large; {SIZE_FORMS}"))?;
    if n == 0 {
        return Err(format!("`{text}`: must be more than zero; {SIZE_FORMS}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        let cases: &[(&str, u64)] = &[
            ("90", 90),
            ("90s", 90),
            ("30m", 1800),
            ("4h", 14_400),
            ("1h30m", 5400),
            ("2m30s", 150),
            ("1h0m5s", 3605),
            ("168h", 604_800),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(*seconds)), "{text}");
        }
    }

    #[test]
    fn bad_durations_are_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "0",
            "0s",
            "0h0m",
            "s",
            "h1",
            "1x",
            "1.5h",
            "-1",
            " 1",
            "1h 30m",
            "30m1h",
            "1h1h",
            "1h30",
            "169h",
            "99999999999999999999",
            "99999999999999999h",
        ] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(e.contains("expected a duration such as"), "{bad}: {e}");
            assert!(e.starts_with(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_format_as_they_parse() {
        for (seconds, text) in [(14_400, "4h"), (600, "10m"), (30, "30s"), (5400, "1h30m"), (3605, "1h5s")] {
            assert_eq!(format_duration(Duration::from_secs(seconds)), text);
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(seconds)));
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
    }

    #[test]
    fn bad_sizes_are_refused_with_the_accepted_forms() {
        for bad in ["", "0", "0M", "12T", "M", "1.5G", "99999999999999999999G", "17179869184G", "-1", "1 M"] {
            let e = parse_size(bad).expect_err(bad);
            assert!(e.contains("expected a size such as"), "{bad}: {e}");
        }
    }
}
