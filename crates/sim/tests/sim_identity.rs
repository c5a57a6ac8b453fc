//! The simulated cloud's identities: role sessions, AssumeRole decided by the caller's policies and
//! the role's trust policy, GetCallerIdentity, and IAM answered from the inventory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::{CloudError, SessionName};
use custody_plan::inventory::parse_inventory;
use custody_sim::SimWorld;
use serde_json::{json, Value};

const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";

fn example(name: &str) -> SimWorld {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    SimWorld::new(&parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
}

fn world(inventory: Value) -> SimWorld {
    SimWorld::new(&parse_inventory(&inventory.to_string()).unwrap()).unwrap()
}

/// Two accounts: `Custody` in 999999999999 may assume any role of 111122223333; `Target` there
/// trusts only `Other`, a role of 999999999999. `Custody` may read IAM.
fn two_accounts() -> Value {
    json!({
        "version": "custody-inventory/1",
        "config": {"forensic_account": "999999999999", "forensic_region": "eu-west-1",
                   "forensic_role_arn": "arn:aws:iam::999999999999:role/Custody"},
        "principals": [
            {"arn": "arn:aws:iam::999999999999:role/ir/Custody",
             "identity_policies": [{"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::111122223333:role/*"},
                 {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]}],
             "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]},
             "tags": {"team": "ir"}},
            {"arn": "arn:aws:iam::111122223333:role/Target",
             "identity_policies": [],
             "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::999999999999:role/Other"}, "Action": "sts:AssumeRole"}]}}
        ]
    })
}

#[tokio::test]
async fn assume_role_is_allowed_by_the_callers_policy_and_the_trust_policy() {
    // Both the caller's identity policy and the role's trust policy must allow a cross-account
    // AssumeRole (STS API Reference, https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
    let w = example("5-cross-account-grant-only.json");
    let forensic = w.cloud_as(FORENSIC, "custody-C1");
    let source = forensic.assume_role(SOURCE, &SessionName::new("acquire", Some("C1"))).await.unwrap();
    let me = source.sts().get_caller_identity().await.unwrap();
    assert_eq!(me.arn, "arn:aws:sts::111122223333:assumed-role/CustodySource/custody-acquire-C1");
    assert_eq!(me.account, "111122223333");
    let calls = w.calls();
    let assume = &calls[0];
    assert_eq!(assume.api, "sts:AssumeRole");
    assert_eq!(assume.principal, "arn:aws:sts::999999999999:assumed-role/CustodyForensic/custody-C1");
    assert_eq!(assume.account, "111122223333");
    assert_eq!(assume.decisions.len(), 2, "identity side and trust policy");
    assert!(assume.decisions.iter().all(|d| d.allowed));
    assert!(assume.decisions[0].why.contains("AssumeSourceRole"), "{}", assume.decisions[0].why);
    assert!(assume.decisions[1].why.contains("TrustCustodyForensicRoleOnly"), "{}", assume.decisions[1].why);
    // GetCallerIdentity needs no permission (STS API Reference, API_GetCallerIdentity.html).
    assert!(calls[1].decisions.is_empty());
}

#[tokio::test]
async fn assume_role_is_refused_by_a_trust_policy_that_does_not_name_the_caller() {
    let w = world(two_accounts());
    let custody = w.cloud_as("arn:aws:iam::999999999999:role/ir/Custody", "s");
    let err = match custody.assume_role("arn:aws:iam::111122223333:role/Target", &SessionName::new("x", None)).await {
        Err(e) => e,
        Ok(_) => panic!("the trust policy names another role"),
    };
    assert!(matches!(err, CloudError::AccessDenied(_)), "{err}");
    assert!(err.is_code("AccessDenied"));
    assert!(err.request_id().is_some());
    let call = &w.calls()[0];
    assert!(call.decisions[0].allowed, "the caller's own policy allows it");
    assert!(!call.decisions[1].allowed, "the trust policy does not");
    assert!(call
        .result
        .as_ref()
        .unwrap_err()
        .starts_with("AccessDenied: User: arn:aws:sts::999999999999:assumed-role/Custody/s"));
}

#[tokio::test]
async fn assume_role_is_refused_when_the_callers_policy_does_not_allow_it() {
    // CustodySource's policies allow no sts:AssumeRole, and CustodyForensic's trust policy asks for MFA.
    let w = example("5-cross-account-grant-only.json");
    let source = w.cloud_as(SOURCE, "s");
    let err = source.assume_role(FORENSIC, &SessionName::new("x", None)).await.err().unwrap();
    assert!(err.is_access_denied());
    let call = &w.calls()[0];
    assert!(call.decisions.iter().all(|d| !d.allowed), "{:#?}", call.decisions);
}

#[tokio::test]
async fn a_role_the_inventory_does_not_list_cannot_be_assumed() {
    let w = example("5-cross-account-grant-only.json");
    let forensic = w.cloud_as(FORENSIC, "s");
    let err = forensic.assume_role("arn:aws:iam::111122223333:role/Unlisted", &SessionName::new("x", None)).await;
    assert!(err.err().unwrap().is_access_denied());
    let refused = &w.calls()[0].decisions[1];
    assert!(refused.why.starts_with("unknown in the inventory"), "{}", refused.why);
}

#[tokio::test]
async fn iam_answers_from_the_inventory() {
    let w = world(two_accounts());
    let iam = w.cloud_as("arn:aws:iam::999999999999:role/ir/Custody", "s").iam();
    let role = iam.get_role("Custody").await.unwrap();
    assert_eq!(role.arn, "arn:aws:iam::999999999999:role/ir/Custody");
    assert_eq!(role.path, "/ir/");
    assert!(role.role_id.starts_with("AROA"));
    assert_eq!(role.trust_policy.unwrap()["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::999999999999:root");
    assert_eq!(iam.list_role_policies("Custody").await.unwrap(), vec!["inline-0"]);
    let doc = iam.get_role_policy("Custody", "inline-0").await.unwrap();
    assert_eq!(doc["Statement"][0]["Action"], "sts:AssumeRole");
    assert_eq!(iam.list_role_tags("Custody").await.unwrap()["team"], "ir");
    assert!(iam.list_attached_role_policies("Custody").await.unwrap().is_empty());
    // IAM answers about the caller's own account only (GetRole, NoSuchEntity:
    // https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html).
    assert!(iam.get_role("Target").await.err().unwrap().is_not_found());
    assert!(iam.get_role_policy("Custody", "inline-7").await.err().unwrap().is_code("NoSuchEntity"));
}

#[tokio::test]
async fn iam_reads_are_authorized_like_any_call() {
    let w = example("5-cross-account-grant-only.json");
    let iam = w.cloud_as(FORENSIC, "s").iam();
    let err = iam.get_role("CustodyForensic").await.err().unwrap();
    assert!(err.is_code("AccessDenied"), "{err}");
    assert_eq!(w.calls()[0].region, "us-east-1");
}

#[tokio::test]
async fn organizations_is_not_simulated_but_logged() {
    let w = example("5-cross-account-grant-only.json");
    let err = w.cloud_as(FORENSIC, "s").organizations().describe_organization().await.err().unwrap();
    assert!(err.is_code("NotSimulated"));
    assert_eq!(w.calls()[0].api, "organizations:DescribeOrganization");
}
