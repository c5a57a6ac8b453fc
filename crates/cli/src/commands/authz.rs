//! `custody authz`: one request (or a batch), decided offline and explained.

use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use crate::input::{origin_name, read_text, InputError};
use custody_plan::text::{safe_lines, Safe};
use custody_policy::{describe_ref, evaluate, explain, parse_case, Explanation};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AuthzArgs {
    /// The case file (JSON), or `-` for standard input; with --batch, a JSON Lines file (one case per line).
    #[arg(value_name = "CASE_FILE")]
    pub case_file: PathBuf,
    /// Print one JSON object per case (the documented contract) instead of a readable report.
    #[arg(long)]
    pub json: bool,
    /// Read one case per line and answer one line per case, in order. A bad line stops the run
    /// before anything is printed.
    #[arg(long)]
    pub batch: bool,
}

/// Runs the command.
pub fn run(args: &AuthzArgs) -> CliResult {
    let out = answer(args)
        .map_err(|e| CliError::from(e).with_help("the case format is documented in docs/authz-case-format.md"))?;
    write_stdout(&out);
    Ok(ExitStatus::Success)
}

/// The most cases one `--batch` run answers: a bad line must stop the run before anything is printed,
/// so every answer is held in memory until the end.
const MAX_BATCH_CASES: usize = 10_000;

/// Parses everything first, then evaluates: bad input never produces partial output.
fn answer(args: &AuthzArgs) -> Result<String, InputError> {
    let text = read_text(&args.case_file)?;
    let origin = origin_name(&args.case_file);
    let cases = if args.batch {
        let count = text.lines().filter(|line| !line.trim().is_empty()).count();
        if count > MAX_BATCH_CASES {
            return Err(InputError {
                origin,
                message: format!(
                    "{count} cases in one batch, more than the {MAX_BATCH_CASES} custody answers in one run (the \
                     answers are all kept until the last is ready): split the file, e.g. `split -l {MAX_BATCH_CASES}`"
                ),
            });
        }
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                parse_case(line)
                    .map_err(|e| InputError { origin: format!("{origin}:{}", n + 1), message: e.to_string() })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![parse_case(&text).map_err(|e| InputError { origin: origin.clone(), message: e.to_string() })?]
    };
    let mut out = String::new();
    for (i, case) in cases.iter().enumerate() {
        let explanation = explain(case, &evaluate(case));
        if args.json {
            // Serializing plain strings, numbers and vectors cannot fail.
            out.push_str(&serde_json::to_string(&explanation).unwrap_or_default());
            out.push('\n');
        } else {
            if i > 0 {
                out.push('\n');
            }
            report(&mut out, case, &explanation);
        }
    }
    if !args.json {
        // Every value was escaped in `report`; this catches one a later edit forgets.
        out = safe_lines(&out).into_owned();
    }
    Ok(out)
}

/// The readable report. The principal, the Sids and every other value come from the case file:
/// each is shown through `Safe` (terminal escapes and bidi overrides printed as escapes, one line).
fn report(out: &mut String, case: &custody_policy::Case, x: &Explanation) {
    let req = &case.request;
    let verdict = match x.decision {
        "allowed" => "ALLOWED",
        "explicitDeny" => "DENIED (explicit deny)",
        _ => "DENIED (implicit deny)",
    };
    let _ = writeln!(out, "{verdict}");
    let _ = writeln!(out, "  principal  {}", Safe(&req.principal));
    let _ = writeln!(out, "  action     {}", Safe(&req.action));
    let _ = writeln!(out, "  resource   {}", Safe(&req.resource));
    if x.decision == "allowed" {
        let _ = writeln!(out, "allowed by:");
        for r in &x.allowed_by {
            let _ = writeln!(out, "  - {}", Safe(&describe_ref(r)));
        }
    }
    if !x.denied_by.is_empty() {
        let _ = writeln!(out, "denied by:");
        for r in &x.denied_by {
            let _ = writeln!(out, "  - {}", Safe(&describe_ref(r)));
        }
    }
    if let Some(g) = &x.gate {
        let level = g.level.map(|l| format!(" (level {l})")).unwrap_or_default();
        let _ = writeln!(out, "why: {}{level}", g.kind);
        let _ = writeln!(out, "  {}", Safe(&g.message));
    }
    if !x.near_misses.is_empty() {
        let _ = writeln!(out, "closest statements:");
        for m in &x.near_misses {
            let _ = writeln!(out, "  - {}", Safe(&m.message));
        }
    }
    if !x.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for n in &x.notes {
            let _ = writeln!(out, "  - {}", Safe(n));
        }
    }
}
