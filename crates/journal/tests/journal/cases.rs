//! Cases and acquisitions: creation, listing, status, and the errors for duplicates and unknowns.

use custody_journal::{JournalError, Status};
use serde_json::json;

use crate::support::{case, journal, journal_with_case};

#[test]
fn a_new_case_is_running_with_its_details() {
    let (_dir, journal) = journal();
    journal.create_case(&case("IR-1")).unwrap();
    let record = journal.case("IR-1").unwrap().unwrap();
    assert_eq!(record.case_id, "IR-1");
    assert_eq!(record.examiner.as_deref(), Some("alice"));
    assert_eq!(record.destination_account, "111122223333");
    assert_eq!(record.destination_region, "eu-west-1");
    assert_eq!(record.note, None);
    assert_eq!(record.status, Status::Running);
    assert_eq!(record.created_at, record.updated_at);
    assert!(journal.case("IR-2").unwrap().is_none());
}

#[test]
fn creating_a_case_twice_is_case_exists_and_keeps_the_first() {
    let (_dir, journal) = journal();
    journal.create_case(&case("IR-1")).unwrap();
    let mut second = case("IR-1");
    second.examiner = Some("mallory".to_string());
    let err = journal.create_case(&second).unwrap_err();
    assert!(matches!(&err, JournalError::CaseExists(id) if id == "IR-1"), "{err:?}");
    assert_eq!(err.to_string(), "case `IR-1` already exists in the journal");
    assert_eq!(journal.case("IR-1").unwrap().unwrap().examiner.as_deref(), Some("alice"));
}

#[test]
fn cases_are_listed_newest_first() {
    let (_dir, journal) = journal();
    for id in ["IR-1", "IR-2", "IR-3"] {
        journal.create_case(&case(id)).unwrap();
    }
    let ids: Vec<String> = journal.cases().unwrap().into_iter().map(|c| c.case_id).collect();
    assert_eq!(ids, ["IR-3", "IR-2", "IR-1"]);
}

#[test]
fn case_status_changes_and_unknown_case_is_refused() {
    let (_dir, journal) = journal_with_case();
    journal.set_case_status("IR-1", Status::CleanedUp).unwrap();
    let record = journal.case("IR-1").unwrap().unwrap();
    assert_eq!(record.status, Status::CleanedUp);
    assert!(record.updated_at >= record.created_at);
    let err = journal.set_case_status("IR-9", Status::Failed).unwrap_err();
    assert!(matches!(&err, JournalError::UnknownCase(id) if id == "IR-9"), "{err:?}");
    assert_eq!(err.to_string(), "no case `IR-9` in the journal");
}

#[test]
fn an_acquisition_keeps_its_plan_and_starts_running() {
    let (_dir, journal) = journal_with_case();
    let acquisitions = journal.acquisitions("IR-1").unwrap();
    assert_eq!(acquisitions.len(), 1);
    assert_eq!(acquisitions[0].instance_id, "i-1");
    assert_eq!(acquisitions[0].plan, json!({"steps": ["snapshot", "copy"]}));
    assert_eq!(acquisitions[0].status, Status::Running);
    assert_eq!(acquisitions[0].error, None);
    assert_eq!(journal.acquisition("IR-1", "i-1").unwrap().as_ref(), Some(&acquisitions[0]));
    assert_eq!(journal.acquisition("IR-1", "i-2").unwrap(), None);
}

#[test]
fn adding_an_acquisition_twice_is_acquisition_exists() {
    let (_dir, journal) = journal_with_case();
    let err = journal.add_acquisition("IR-1", "i-1", &json!({})).unwrap_err();
    assert!(matches!(&err, JournalError::AcquisitionExists { case, instance } if case == "IR-1" && instance == "i-1"));
    assert_eq!(err.to_string(), "case `IR-1` already has an acquisition of instance `i-1`");
    assert_eq!(journal.acquisitions("IR-1").unwrap()[0].plan, json!({"steps": ["snapshot", "copy"]}));
}

#[test]
fn an_acquisition_needs_a_known_case() {
    let (_dir, journal) = journal();
    let err = journal.add_acquisition("IR-9", "i-1", &json!({})).unwrap_err();
    assert!(matches!(&err, JournalError::UnknownCase(id) if id == "IR-9"), "{err:?}");
}

#[test]
fn acquisition_status_records_and_clears_the_error() {
    let (_dir, journal) = journal_with_case();
    journal.set_acquisition_status("IR-1", "i-1", Status::Failed, Some("copy refused")).unwrap();
    let record = journal.acquisition("IR-1", "i-1").unwrap().unwrap();
    assert_eq!((record.status, record.error.as_deref()), (Status::Failed, Some("copy refused")));
    journal.set_acquisition_status("IR-1", "i-1", Status::Succeeded, None).unwrap();
    let record = journal.acquisition("IR-1", "i-1").unwrap().unwrap();
    assert_eq!((record.status, record.error), (Status::Succeeded, None));
}

#[test]
fn acquisition_status_of_an_unknown_instance_or_case_is_refused() {
    let (_dir, journal) = journal_with_case();
    let err = journal.set_acquisition_status("IR-1", "i-2", Status::Failed, None).unwrap_err();
    assert!(matches!(err, JournalError::UnknownAcquisition { .. }), "{err:?}");
    assert_eq!(err.to_string(), "case `IR-1` has no acquisition of instance `i-2`");
    let err = journal.set_acquisition_status("IR-9", "i-1", Status::Failed, None).unwrap_err();
    assert!(matches!(err, JournalError::UnknownCase(_)), "{err:?}");
}

#[test]
fn reads_of_an_unknown_case_are_empty() {
    let (_dir, journal) = journal();
    assert!(journal.acquisitions("IR-9").unwrap().is_empty());
    assert!(journal.entries("IR-9").unwrap().is_empty());
    assert!(journal.resources("IR-9").unwrap().is_empty());
    assert!(journal.evidence("IR-9").unwrap().is_empty());
}
