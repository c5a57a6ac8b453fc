//! `custody authz`: one request (or a batch), decided offline and explained.

use crate::input::{origin_name, read_text, InputError};
use custody_policy::{describe_ref, evaluate, explain, parse_case, Explanation};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

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
pub fn run(args: &AuthzArgs) -> ExitCode {
    match answer(args) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a panic or a message.
            let _ = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("help: the case format is documented in docs/authz-case-format.md");
            ExitCode::from(2)
        }
    }
}

/// Parses everything first, then evaluates: bad input never produces partial output.
fn answer(args: &AuthzArgs) -> Result<String, InputError> {
    let text = read_text(&args.case_file)?;
    let origin = origin_name(&args.case_file);
    let cases = if args.batch {
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
    Ok(out)
}

/// The readable report.
fn report(out: &mut String, case: &custody_policy::Case, x: &Explanation) {
    let req = &case.request;
    let verdict = match x.decision {
        "allowed" => "ALLOWED",
        "explicitDeny" => "DENIED (explicit deny)",
        _ => "DENIED (implicit deny)",
    };
    let _ = writeln!(out, "{verdict}");
    let _ = writeln!(out, "  principal  {}", req.principal);
    let _ = writeln!(out, "  action     {}", req.action);
    let _ = writeln!(out, "  resource   {}", req.resource);
    if x.decision == "allowed" {
        let _ = writeln!(out, "allowed by:");
        for r in &x.allowed_by {
            let _ = writeln!(out, "  - {}", describe_ref(r));
        }
    }
    if !x.denied_by.is_empty() {
        let _ = writeln!(out, "denied by:");
        for r in &x.denied_by {
            let _ = writeln!(out, "  - {}", describe_ref(r));
        }
    }
    if let Some(g) = &x.gate {
        let level = g.level.map(|l| format!(" (level {l})")).unwrap_or_default();
        let _ = writeln!(out, "why: {}{level}", g.kind);
        let _ = writeln!(out, "  {}", g.message);
    }
    if !x.near_misses.is_empty() {
        let _ = writeln!(out, "closest statements:");
        for m in &x.near_misses {
            let _ = writeln!(out, "  - {}", m.message);
        }
    }
    if !x.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for n in &x.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
}
