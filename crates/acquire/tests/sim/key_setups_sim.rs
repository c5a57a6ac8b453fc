//! Seed 000 option 1 in one account, on the simulated cloud: a key of the forensic account that lets
//! the forensic role only create grants ("only provide kms:CreateGrant … Grants will be created and
//! retired as required") is used through a grant the role gives itself, which KMS honours for its
//! grantee without a key-policy statement (KMS Developer Guide, "Grants in AWS KMS",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>), and which is retired after.

use crate::support::*;
use custody_plan::plan::{Action, EBS_ENCRYPTION_OPERATIONS};
use serde_json::json;

const APP_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/3c3c3c3c-0000-4000-8000-000000000003";
const FORENSIC_ROLE: &str = "arn:aws:iam::999999999999:role/CustodyForensic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_only_lets_the_forensic_role_create_grants_is_acquired_through_its_own_grant() {
    let mut inv = inventory(PATH_3.file);
    let key = inv.keys.iter_mut().find(|k| k.arn == APP_KEY).unwrap();
    key.policy = Some(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Key administrators", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::999999999999:role/KeyAdmin"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CustodyForensic creates its own grants", "Effect": "Allow",
         "Principal": {"AWS": FORENSIC_ROLE}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"StringEquals": {"kms:GranteePrincipal": FORENSIC_ROLE},
                       "ForAllValues:StringEquals": {"kms:GrantOperations": EBS_ENCRYPTION_OPERATIONS}}}
    ]}));
    let planned = plan_and_check(&inv, PATH_3.instance, PATH_3.mode);
    assert!(planned.1.all_pass());
    assert!(planned.0.steps.iter().any(|s| matches!(s.action, Action::CreateGrant { .. })));
    let h = Harness::with_inventory(inv);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    assert_eq!(report.evidence().len(), 3);
    assert!(unplanned_calls(&planned.0, &h.world.calls()).is_empty());
    let retired = h.world.calls().iter().filter(|c| c.api == "kms:RetireGrant" && c.result.is_ok()).count();
    assert_eq!(retired, 2, "each grant is retired once its copy is done");
}

/// Seed 002's route for a customer key only the source account's role may use (seed 000 option 2
/// naming that role alone): re-encrypted under a temporary key, shared, copied; the temporary key is
/// scheduled for deletion and its alias deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_only_the_source_role_may_use_is_acquired_through_a_temporary_key() {
    let source_key = "arn:aws:kms:eu-west-1:111122223333:key/6f6f6f6f-0000-4000-8000-000000000006";
    let mut inv = inventory(PATH_6.file);
    let key = inv.keys.iter_mut().find(|k| k.arn == source_key).unwrap();
    for statement in key.policy.as_mut().unwrap()["Statement"].as_array_mut().unwrap() {
        if let Some(names) = statement["Principal"]["AWS"].as_array_mut() {
            names.retain(|n| n != FORENSIC_ROLE);
        }
    }
    let planned = plan_and_check(&inv, PATH_6.instance, PATH_6.mode);
    assert!(planned.1.all_pass());
    assert!(planned.0.volumes.iter().all(|v| v.path == custody_plan::plan::Path::CrossAccountTempKey));
    let h = Harness::with_inventory(inv);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    assert_eq!(report.evidence().len(), 2);
    assert!(unplanned_calls(&planned.0, &h.world.calls()).is_empty());
    let scheduled = h.world.calls().iter().filter(|c| c.api == "kms:ScheduleKeyDeletion" && c.result.is_ok()).count();
    assert_eq!(scheduled, 2, "each temporary key is scheduled for deletion");
}
