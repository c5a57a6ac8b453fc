//! Every integration test of custody-plan in one test program: the inventory, the plans, the
//! preflight and its fixes, the generated policies (checked by cfn-lint and parliament).
//!
//! One program, not one per file: each program links the whole crate and its dependencies and
//! compiles their generic code again, which made the test build minutes longer; here the files are
//! modules. Run one file's tests with a filter:
//! `cargo test --workspace --test plan -- case_id_names::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod check_support;

mod case_id_names;
mod check;
mod check_documented_kms;
mod check_fix_breadth;
mod check_fixes;
mod check_key_state;
mod check_propagation;
mod check_report;
mod check_role_paths;
mod check_scale;
mod check_send_command_tags;
mod encryption_by_default;
mod generate_audit;
mod generate_evidence;
mod generate_examples;
mod generate_formats;
mod generate_key;
mod generate_role;
mod generate_selfcheck;
mod inventory_examples;
mod inventory_limits;
mod inventory_lookup;
mod inventory_parse;
mod inventory_props;
mod key_access_agreement;
mod key_setups;
mod plain_words;
mod plan_audit;
mod plan_engine;
mod plan_paths;
mod triage_output;
mod validators;
