//! Every accepted case id goes into the names AWS checks unchanged (the rule of
//! `custody_ids::CaseId` is the intersection of theirs).

use custody_plan::case_id::MAX_LEN;
use custody_plan::plan::{grant_name, session_name, sts_session_name};
use custody_plan::CaseId;

#[test]
fn every_accepted_id_survives_the_names_unchanged() {
    // The session and grant names are made from the case by replacing what AWS refuses and
    // cutting to length: for an accepted id neither may happen, or two cases would share names.
    let longest = "Z".repeat(MAX_LEN);
    for id in ["IR-7", "a_b-c", longest.as_str()] {
        let case = CaseId::parse(id).unwrap();
        assert_eq!(session_name(&case), format!("custody-{id}"));
        assert_eq!(sts_session_name(&session_name(&case)), session_name(&case));
        assert_eq!(grant_name(&case, "vol-1"), format!("custody-{id}-vol-1"));
    }
    assert_eq!(session_name(&longest).len(), 64);
}
