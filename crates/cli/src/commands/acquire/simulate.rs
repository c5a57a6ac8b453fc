//! `custody acquire --simulate INVENTORY`: the whole acquisition against the simulated cloud the
//! inventory describes, which authorizes every call with the engine as AWS would. Prints every call
//! with its authorization decisions, then what the run left behind (nothing, when cleanup works).

use super::output;
use super::{plan_and_check, progress, read_inventory, settings, watch_ctrl_c, AcquireArgs};
use custody_acquire::Executor;
use custody_cloud::sim::{SimCall, SimWorld};
use custody_journal::{Journal, NewCase};
use custody_plan::plan::session_name;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn run(args: &AcquireArgs, path: &Path) -> ExitCode {
    if args.resume.is_some() {
        eprintln!(
            "error: --resume with --simulate: a simulated cloud lives only as long as its run, so there is nothing to \
             resume; run the simulation again"
        );
        return ExitCode::from(2);
    }
    let inventory = match read_inventory(path) {
        Ok(i) => i,
        Err((message, code)) => {
            eprintln!("error: {message}");
            return code;
        }
    };
    let world = match SimWorld::new(&inventory) {
        Ok(w) => w,
        Err(message) => {
            eprintln!("error: {}: cannot simulate this inventory: {message}", path.display());
            return ExitCode::from(2);
        }
    };
    let case_id = args.case_id.clone().unwrap_or_default();
    // A dry run shows where AWS would refuse: it goes on whatever the preflight says.
    let plans = match plan_and_check(args, &inventory, &case_id, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Only now, with the input known good, is a journal opened (and, with --data-dir, created).
    let journal = match &args.data.data_dir {
        Some(_) => args.data.open(),
        None => Journal::open_in_memory().map_err(|e| e.to_string()),
    };
    let journal = match journal {
        Ok(j) => Arc::new(j),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let forensic = inventory.config.forensic_role_arn.clone();
    let base = world.cloud_as(&forensic, &session_name(&case_id));
    let executor = Executor::new(journal.clone(), base, &forensic, settings(args), progress(args.json));
    watch_ctrl_c(&executor);
    let case = NewCase {
        case_id: case_id.clone(),
        examiner: args.examiner.clone(),
        destination_account: plans.first().map(|(p, _)| p.dest_account.clone()).unwrap_or_default(),
        destination_region: plans.first().map(|(p, _)| p.dest_region.clone()).unwrap_or_default(),
        note: Some(format!("simulated from {}", path.display())),
    };
    let report = match executor.acquire(&case, plans).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", crate::data_dir::error_chain(&e));
            return ExitCode::from(1);
        }
    };
    let evidence: Vec<String> = report.evidence().iter().map(|e| e.snapshot_id.clone()).collect();
    let leftovers = world.leftovers(&case_id, &evidence, &inventory.config.alias_prefix);
    let calls = world.calls();
    if args.json {
        let out = json!({
            "simulated": true,
            "report": report,
            "calls": calls.iter().map(call_json).collect::<Vec<_>>(),
            "leftovers": leftovers,
        });
        match serde_json::to_string_pretty(&out) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot serialize the result: {e}"),
        }
    } else {
        println!("\nsimulated calls ({}), each authorized by the engine against {}:", calls.len(), path.display());
        for c in &calls {
            println!("{}", call_line(c));
            for d in c.refusals() {
                println!("      REFUSED {} on {}: {}", d.action, d.resource, d.why);
            }
        }
        print!("{}", output::render(&report));
        if leftovers.is_empty() {
            println!("left behind: nothing (no temporary snapshot, share, grant, alias or live temporary key)");
        } else {
            println!("left behind:");
            for l in &leftovers {
                println!("  {l}");
            }
        }
    }
    match (report.succeeded && leftovers.is_empty(), report.interrupted) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => ExitCode::from(130),
        (false, false) => ExitCode::from(1),
    }
}

fn call_line(c: &SimCall) -> String {
    let verdict = if c.decisions.iter().all(|d| d.allowed) { "allow" } else { "DENY " };
    let result = match &c.result {
        Ok(r) if r.is_empty() => "ok".to_string(),
        Ok(r) => r.clone(),
        Err(e) => format!("ERROR {e}"),
    };
    let who = c.principal.rsplit(":assumed-role/").next().unwrap_or(&c.principal);
    format!("  {verdict} {:<32} {} {} as {who}: {} -> {result}", c.api, c.account, c.region, c.params)
}

fn call_json(c: &SimCall) -> serde_json::Value {
    json!({
        "principal": c.principal,
        "api": c.api,
        "account": c.account,
        "region": c.region,
        "params": c.params,
        "decisions": c.decisions.iter().map(|d| json!({
            "action": d.action, "resource": d.resource, "allowed": d.allowed, "why": d.why,
        })).collect::<Vec<_>>(),
        "result": match &c.result { Ok(r) => json!({"ok": r}), Err(e) => json!({"error": e}) },
    })
}
