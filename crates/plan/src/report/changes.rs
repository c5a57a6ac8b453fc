//! The report's "changes to make" section, and references that keep a fix from being printed twice:
//! a fix that is one of the changes to make, or that was printed in full for an earlier request (the
//! second volume's copy refused like the first's), is one line pointing at where it is shown.

use crate::check::fix::{Change, Fix};
use crate::check::{change_index, ChangeToMake, CheckReport, Outcome};

/// The section's heading: how many changes fix how many refused requests, and how many have none.
pub fn heading(report: &CheckReport) -> String {
    let fixed: usize = report.changes.iter().map(|c| c.fixes_requests.len()).sum();
    let refused = report.steps.iter().flat_map(|s| &s.requests).filter(|r| r.outcome == Outcome::Denied).count();
    let changes = match report.changes.len() {
        1 => "1 change fixes".to_string(),
        n => format!("{n} changes fix"),
    };
    let mut line = format!("changes to make: {changes} {fixed} of the {refused} refused request(s)");
    if fixed < refused {
        line.push_str(&format!("; {} have no fix custody can offer (see below)", refused - fixed));
    }
    line
}

/// The requests a change fixes, grouped by resource: `kms:Decrypt, kms:DescribeKey on arn:… (steps
/// `copy:vol-1`, `copy:vol-2`)`.
pub fn fixed_requests_line(c: &ChangeToMake) -> String {
    let mut by_resource: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for r in &c.fixes_requests {
        let at = match by_resource.iter().position(|(res, _, _)| *res == r.resource) {
            Some(i) => i,
            None => {
                by_resource.push((&r.resource, Vec::new(), Vec::new()));
                by_resource.len() - 1
            }
        };
        let (_, actions, steps) = &mut by_resource[at];
        if !actions.contains(&r.action.as_str()) {
            actions.push(&r.action);
        }
        if !steps.contains(&r.step.as_str()) {
            steps.push(&r.step);
        }
    }
    by_resource
        .iter()
        .map(|(res, actions, steps)| {
            let steps: Vec<String> = steps.iter().map(|s| format!("`{s}`")).collect();
            let word = if steps.len() == 1 { "step" } else { "steps" };
            format!("{} on {res} ({word} {})", actions.join(", "), steps.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where each fix is shown in full.
pub struct FixRefs<'a> {
    changes: &'a [ChangeToMake],
    shown: Vec<(&'a [Change], String)>,
}

impl<'a> FixRefs<'a> {
    pub fn new(report: &'a CheckReport) -> FixRefs<'a> {
        FixRefs { changes: &report.changes, shown: Vec::new() }
    }

    /// Where `fix` is already shown in full (`None`: nowhere yet, so show it here, and `here()` is
    /// remembered as where it is).
    pub fn refer(&mut self, fix: &'a Fix, here: impl FnOnce() -> String) -> Option<String> {
        if !fix.verified {
            return None;
        }
        if let Some(i) = change_index(self.changes, fix) {
            return Some(format!("change {} of the changes to make, above", i + 1));
        }
        if let Some((_, label)) = self.shown.iter().find(|(changes, _)| *changes == fix.changes.as_slice()) {
            return Some(format!("{label}, above"));
        }
        self.shown.push((&fix.changes, here()));
        None
    }
}
