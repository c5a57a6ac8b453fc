//! CloudTrail's record of the simulated cloud: whole acquisitions run by the executor, then their
//! records held against the journal (every call recorded with the request id its receipt carried),
//! the KMS requests EC2 made on the caller's behalf, refusals, and LookupEvents.
//!
//! What AWS documents and what the simulator infers is in `crates/sim/src/trail.rs`; the pages these
//! tests rely on are cited where they do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use chrono::{Duration, Utc};
use custody_acquire::wait::WaitSettings;
use custody_acquire::{Executor, Progress, Settings};
use custody_cloud::types::{EventLookup, LookupAttribute, LookupKey};
use custody_cloud::Cloud;
use custody_journal::{Journal, NewCase, Outcome};
use custody_plan::check::check;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, session_name, Mode, PlanRequest};
use custody_sim::SimWorld;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

const CASE: &str = "IR-7";
const FORENSIC_ACCOUNT: &str = "999999999999";
const SOURCE_ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

fn inventory(name: &str) -> Inventory {
    let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `inv` with `cloudtrail:LookupEvents` on `*` in every identity policy of `role` (`allow`), or with
/// every mention of it removed (`!allow`): the examples grant it (`custody policy role --features
/// audit`), these tests must not depend on it.
fn with_lookup_events(mut inv: Inventory, role: &str, allow: bool) -> Inventory {
    let p = inv.principals.iter_mut().find(|p| p.arn == role).unwrap();
    for doc in &mut p.identity_policies {
        let Some(statements) = doc.get_mut("Statement").and_then(Value::as_array_mut) else { continue };
        for s in statements.iter_mut() {
            match s.get_mut("Action") {
                Some(Value::Array(actions)) => actions.retain(|a| a != "cloudtrail:LookupEvents"),
                Some(Value::String(a)) if a == "cloudtrail:LookupEvents" => *a = "cloudtrail:GetTrail".into(),
                _ => {}
            }
        }
        statements.retain(|s| s.get("Action").and_then(Value::as_array).is_none_or(|a| !a.is_empty()));
    }
    if allow {
        p.identity_policies.push(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]
        }));
    }
    inv
}

/// A whole acquisition of `instance` on a world of `inv`, by the executor, journaled.
async fn acquire(inv: &Inventory, instance: &str, mode: Mode) -> (SimWorld, Journal) {
    let world = SimWorld::new(inv).unwrap();
    let journal = Arc::new(Journal::open_in_memory().unwrap());
    let request = PlanRequest { mode, case_id: CASE.to_string(), ..PlanRequest::new(instance) };
    let planned = plan(inv, &request).unwrap();
    let report = check(inv, &planned);
    let forensic = inv.config.forensic_role_arn.clone();
    let base = world.cloud_as(&forensic, &session_name(CASE));
    let settings = Settings { parallelism: 4, wait: WaitSettings::quick() };
    let executor = Executor::new(journal.clone(), base, &forensic, settings, Progress::new(|_| {}));
    let case = NewCase {
        case_id: CASE.to_string(),
        examiner: None,
        destination_account: planned.dest_account.clone(),
        destination_region: planned.dest_region.clone(),
        note: None,
        simulated: true,
    };
    let done = executor.acquire(&case, vec![(planned, Some(report))]).await;
    drop(executor);
    let journal = Arc::try_unwrap(journal).ok().unwrap();
    assert!(done.is_ok(), "{done:?}");
    (world, journal)
}

fn text<'v>(r: &'v Value, pointer: &str) -> &'v str {
    r.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The records of the KMS requests a service made on the caller's behalf.
fn on_behalf(records: &[(String, Value)]) -> Vec<&(String, Value)> {
    records.iter().filter(|(_, r)| r.pointer("/userIdentity/invokedBy").is_some()).collect()
}

/// Every call the journal holds an answer for has its record: the request id its receipt (or
/// error) carried, in the account and Region it was made in, for its API.
fn assert_journal_recorded(journal: &Journal, records: &[(String, Value)]) -> usize {
    let mut checked = 0;
    for e in journal.entries(CASE).unwrap() {
        let request_id = match &e.outcome {
            Some(Outcome::Ok { request_id, .. } | Outcome::Failed { request_id, .. }) => request_id.clone(),
            None => None,
        };
        let Some(id) = request_id else { continue };
        let (service, operation) = e.intent.api.split_once(':').unwrap();
        let found = records.iter().any(|(account, r)| {
            text(r, "/requestID") == id
                && text(r, "/eventName") == operation
                && text(r, "/eventSource") == format!("{service}.amazonaws.com")
                && text(r, "/awsRegion") == e.intent.region
                && *account == e.intent.account
                && r.pointer("/userIdentity/invokedBy").is_none()
        });
        assert!(found, "no record of {} {id} in {} {}", e.intent.api, e.intent.account, e.intent.region);
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn a_same_account_acquisition_is_recorded_call_by_call_with_its_request_ids() {
    let inv = inventory("3-customer-key-same-account.json");
    let (world, journal) = acquire(&inv, "i-03c3c3c3c3c3c3c3c", Mode::Auto).await;
    let records = world.trail_records();
    assert!(assert_journal_recorded(&journal, &records) >= 3, "the journal holds the acquisition's calls");

    // Every call the world answered has one record of its own (a distinct request id), and every
    // record is in AWS's shape.
    let direct: BTreeSet<&str> = records
        .iter()
        .filter(|(_, r)| r.pointer("/userIdentity/invokedBy").is_none())
        .map(|(_, r)| text(r, "/requestID"))
        .collect();
    assert_eq!(direct.len(), world.calls().len());
    let mut event_ids = BTreeSet::new();
    for (account, r) in &records {
        assert_eq!(text(r, "/recipientAccountId"), account);
        assert_eq!(text(r, "/eventVersion"), "1.11");
        assert_eq!(text(r, "/eventType"), "AwsApiCall");
        assert_eq!(text(r, "/userIdentity/type"), "AssumedRole");
        assert!(text(r, "/userIdentity/sessionContext/sessionIssuer/arn").starts_with("arn:aws:iam::"));
        // "%Y-%m-%dT%H:%M:%SZ", as CloudTrail writes eventTime.
        chrono::NaiveDateTime::parse_from_str(text(r, "/eventTime"), "%Y-%m-%dT%H:%M:%SZ").unwrap();
        assert!(event_ids.insert(text(r, "/eventID").to_string()), "event ids are unique");
        assert!(r.get("readOnly").and_then(Value::as_bool).is_some());
    }
    // The same world gives the same records (ids included) every time.
    assert_eq!(world.trail_records(), records);

    // EC2's KMS requests for the copies, as the forensic session through EC2, on the forensic key,
    // each with the aws:ebs:id of the data it reads or writes (KMS Developer Guide, "Amazon EC2
    // example two", https://docs.aws.amazon.com/kms/latest/developerguide/ct-ec2two.html).
    let forensic_session =
        format!("arn:aws:sts::{FORENSIC_ACCOUNT}:assumed-role/CustodyForensic/{}", session_name(CASE));
    let kms = on_behalf(&records);
    assert!(!kms.is_empty(), "EC2's KMS requests are recorded");
    let copies: Vec<&str> = records
        .iter()
        .filter(|(_, r)| text(r, "/eventName") == "CopySnapshot" && r.get("errorCode").is_none())
        .map(|(_, r)| text(r, "/requestID"))
        .collect();
    for (account, r) in &kms {
        assert_eq!(account, FORENSIC_ACCOUNT);
        assert_eq!(text(r, "/eventSource"), "kms.amazonaws.com");
        assert_eq!(text(r, "/userIdentity/arn"), forensic_session);
        assert_eq!(text(r, "/userIdentity/invokedBy"), "ec2.amazonaws.com");
        assert_eq!(text(r, "/sourceIPAddress"), "ec2.amazonaws.com");
        assert_eq!(text(r, "/resources/0/type"), "AWS::KMS::Key");
        assert!(r.get("errorCode").is_none(), "{r}");
        // The request id of the EC2 call they were made for (ct-ec2two's CreateGrant record).
        assert!(copies.contains(&text(r, "/requestID")), "{r}");
    }
    let names: BTreeSet<&str> = kms.iter().map(|(_, r)| text(r, "/eventName")).collect();
    assert_eq!(names, ["CreateGrant", "Decrypt", "DescribeKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt"].into());
    let decrypt = kms.iter().find(|(_, r)| text(r, "/eventName") == "Decrypt").unwrap();
    let key = text(&decrypt.1, "/resources/0/ARN");
    assert_eq!(text(&decrypt.1, "/requestParameters/keyId"), key);
    assert!(text(&decrypt.1, "/requestParameters/encryptionContext/aws:ebs:id").starts_with("vol-"));
    let grant = kms.iter().find(|(_, r)| text(r, "/eventName") == "CreateGrant").unwrap();
    assert!(grant.1.pointer("/requestParameters/constraints/encryptionContextSubset/aws:ebs:id").is_some());
    let re = kms.iter().find(|(_, r)| text(r, "/eventName") == "ReEncrypt").unwrap();
    assert_eq!(text(&re.1, "/requestParameters/sourceKeyId"), text(&re.1, "/requestParameters/destinationKeyId"));
}

#[tokio::test]
async fn a_cross_account_acquisition_is_recorded_in_the_key_owners_account_too() {
    let inv = inventory("6-cross-account-direct.json");
    let (world, journal) = acquire(&inv, "i-06f6f6f6f6f6f6f6f", Mode::Auto).await;
    let records = world.trail_records();
    assert!(assert_journal_recorded(&journal, &records) >= 3);

    // The source key (account 111122223333) used by the forensic session through EC2: recorded in
    // both accounts with one sharedEventID ("Cross-account operations on KMS keys are logged in both
    // the caller account and the KMS key owner account", KMS Developer Guide,
    // https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html).
    let in_owner: Vec<&(String, Value)> = on_behalf(&records)
        .into_iter()
        .filter(|(account, r)| account == SOURCE_ACCOUNT && text(r, "/userIdentity/accountId") == FORENSIC_ACCOUNT)
        .collect();
    assert!(!in_owner.is_empty(), "the key owner's account records EC2's requests on its key");
    for (_, r) in &in_owner {
        let key = text(r, "/resources/0/ARN");
        assert!(key.starts_with(&format!("arn:aws:kms:{REGION}:{SOURCE_ACCOUNT}:key/")), "{r}");
        assert_eq!(text(r, "/resources/0/accountId"), SOURCE_ACCOUNT);
        assert_eq!(text(r, "/userIdentity/invokedBy"), "ec2.amazonaws.com");
        let shared = text(r, "/sharedEventID");
        assert!(!shared.is_empty());
        let twins: Vec<&str> = records
            .iter()
            .filter(|(_, o)| text(o, "/sharedEventID") == shared)
            .map(|(account, _)| account.as_str())
            .collect();
        assert_eq!(twins, [FORENSIC_ACCOUNT, SOURCE_ACCOUNT]);
    }
    let contexts: BTreeSet<&str> = in_owner
        .iter()
        .filter_map(|(_, r)| r.pointer("/requestParameters/encryptionContext/aws:ebs:id").and_then(Value::as_str))
        .collect();
    assert!(contexts.iter().any(|id| id.starts_with("vol-")), "{contexts:?}");

    // AssumeRole of the source role: in the caller's account as the session, in the role's as the
    // calling account (IAM User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html).
    let assume: Vec<&(String, Value)> = records
        .iter()
        .filter(|(_, r)| {
            text(r, "/eventName") == "AssumeRole"
                && text(r, "/requestParameters/roleArn").contains(":role/CustodySource")
        })
        .collect();
    assert_eq!(assume.len(), 2, "{assume:?}");
    assert_eq!((assume[0].0.as_str(), text(&assume[0].1, "/userIdentity/type")), (FORENSIC_ACCOUNT, "AssumedRole"));
    assert_eq!((assume[1].0.as_str(), text(&assume[1].1, "/userIdentity/type")), (SOURCE_ACCOUNT, "AWSAccount"));
    assert_eq!(text(&assume[1].1, "/resources/0/type"), "AWS::IAM::Role");
    assert_eq!(text(&assume[0].1, "/sharedEventID"), text(&assume[1].1, "/sharedEventID"));
}

#[tokio::test]
async fn refusals_carry_each_services_error_code() {
    // EC2 refuses with UnauthorizedOperation, recorded `Client.UnauthorizedOperation` (EC2 Developer
    // Guide, https://docs.aws.amazon.com/ec2/latest/devguide/query-api-troubleshooting.html); KMS and
    // STS refusals are recorded `AccessDenied`.
    let world = SimWorld::new(&inventory("3-customer-key-same-account.json")).unwrap();
    let nobody = world.cloud_as(&format!("arn:aws:iam::{FORENSIC_ACCOUNT}:role/Nobody"), "s");
    let e = nobody.ec2(REGION).describe_instances(&[]).await.unwrap_err();
    let k = nobody.kms(REGION).list_keys().await.unwrap_err();
    let role = format!("arn:aws:iam::{SOURCE_ACCOUNT}:role/CustodySource");
    let s = nobody.assume_role(&role, &custody_cloud::SessionName::new("x", None)).await.err().unwrap();
    let records = world.trail_records();
    for (err, code) in [(&e, "Client.UnauthorizedOperation"), (&k, "AccessDenied"), (&s, "AccessDenied")] {
        let id = err.request_id().unwrap();
        let mine: Vec<&(String, Value)> = records.iter().filter(|(_, r)| text(r, "/requestID") == id).collect();
        // A refused cross-account call is recorded in the caller's account only.
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0].0, FORENSIC_ACCOUNT);
        assert_eq!(text(&mine[0].1, "/errorCode"), code);
        assert!(text(&mine[0].1, "/errorMessage").contains("is not authorized to perform"), "{}", mine[0].1);
        assert!(mine[0].1.get("responseElements").is_none());
    }

    // EC2's KMS requests on a key the forensic role may not use: refused, recorded as refused, and
    // only in the caller's account ("cross-account AWS KMS requests that are rejected because access
    // is denied are logged only in the caller's account", logging-using-cloudtrail.html).
    let inv = inventory("5-cross-account-no-key-access.json");
    let world = SimWorld::new(&inv).unwrap();
    let request =
        PlanRequest { mode: Mode::Direct, case_id: CASE.to_string(), ..PlanRequest::new("i-05e5e5e5e5e5e5e5e") };
    let planned = plan(&inv, &request).unwrap();
    let forensic = inv.config.forensic_role_arn.clone();
    let journal = Arc::new(Journal::open_in_memory().unwrap());
    let settings = Settings { parallelism: 4, wait: WaitSettings::quick() };
    let base = world.cloud_as(&forensic, &session_name(CASE));
    let executor = Executor::new(journal, base, &forensic, settings, Progress::new(|_| {}));
    let case = NewCase {
        case_id: CASE.to_string(),
        examiner: None,
        destination_account: planned.dest_account.clone(),
        destination_region: planned.dest_region.clone(),
        note: None,
        simulated: true,
    };
    // Without its preflight: the point is what AWS records of the refusal.
    let _ = executor.acquire(&case, vec![(planned, None)]).await;
    let records = world.trail_records();
    let refused: Vec<&(String, Value)> =
        on_behalf(&records).into_iter().filter(|(_, r)| text(r, "/errorCode") == "AccessDenied").collect();
    assert!(!refused.is_empty(), "the refused KMS requests are recorded");
    for (account, r) in &refused {
        assert_eq!(account, FORENSIC_ACCOUNT);
        assert!(text(r, "/resources/0/ARN").contains(&format!(":{SOURCE_ACCOUNT}:key/")), "{r}");
        assert!(r.get("sharedEventID").is_none());
        assert!(text(r, "/errorMessage").contains("is not authorized to perform: kms:"), "{r}");
    }
}

fn query(attribute: Option<(LookupKey, &str)>) -> EventLookup {
    let now = Utc::now();
    EventLookup {
        start: now - Duration::hours(1),
        end: now + Duration::hours(1),
        attribute: attribute.map(|(key, value)| LookupAttribute { key, value: value.to_string() }),
    }
}

fn names(events: &[custody_cloud::types::LookedUpEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let r: Value = serde_json::from_str(&e.record).unwrap();
            assert_eq!(text(&r, "/eventID"), e.event_id);
            text(&r, "/eventName").to_string()
        })
        .collect()
}

/// The event ids of the records `world` holds now in the forensic account and Region that pass
/// `pred`, newest first: what a look-up made next must return.
fn expected(world: &SimWorld, pred: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = world
        .trail_records()
        .iter()
        .filter(|(a, r)| a == FORENSIC_ACCOUNT && text(r, "/awsRegion") == REGION && pred(r))
        .map(|(_, r)| text(r, "/eventID").to_string())
        .collect();
    ids.reverse();
    ids
}

fn ids(events: &[custody_cloud::types::LookedUpEvent]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

#[tokio::test]
async fn lookup_events_filters_as_documented() {
    let base = inventory("3-customer-key-same-account.json");
    let role = base.config.forensic_role_arn.clone();
    let inv = with_lookup_events(base, &role, true);
    let (world, _journal) = acquire(&inv, "i-03c3c3c3c3c3c3c3c", Mode::Auto).await;
    let forensic = world.cloud_as(&role, &session_name(CASE));
    let ct = forensic.cloudtrail(REGION);
    let look = |key: LookupKey, value: &str| query(Some((key, value)));

    // Everything of the account and Region, newest first; the look-up itself is not among what it
    // returns, the next one sees it (CloudTrail logs LookupEvents, read-only).
    let want = expected(&world, |_| true);
    let all = ct.lookup_events(&query(None)).await.unwrap();
    assert_eq!(ids(&all), want);
    let again = ct.lookup_events(&query(None)).await.unwrap();
    assert_eq!(again.len(), all.len() + 1);
    assert_eq!(names(&again)[0], "LookupEvents");
    let lookup_record: Value = serde_json::from_str(&again[0].record).unwrap();
    assert_eq!(lookup_record["readOnly"], true);
    assert_eq!(text(&lookup_record, "/eventSource"), "cloudtrail.amazonaws.com");
    assert_eq!(text(&lookup_record, "/requestParameters/startTime").len(), "2026-01-01T00:00:00+00:00".len() + 10);

    // EventName, EventSource, ReadOnly, EventId.
    let want = expected(&world, |r| text(r, "/eventName") == "CopySnapshot");
    let copies = ct.lookup_events(&look(LookupKey::EventName, "CopySnapshot")).await.unwrap();
    assert!(!copies.is_empty());
    assert_eq!(ids(&copies), want);
    let want = expected(&world, |r| text(r, "/eventSource") == "kms.amazonaws.com");
    let kms = ct.lookup_events(&look(LookupKey::EventSource, "kms.amazonaws.com")).await.unwrap();
    assert_eq!(ids(&kms), want);
    let want = expected(&world, |r| r["readOnly"] == false);
    let writes = ct.lookup_events(&look(LookupKey::ReadOnly, "false")).await.unwrap();
    assert_eq!(ids(&writes), want);
    assert!(names(&writes).iter().all(|n| !n.starts_with("Describe") && n != "LookupEvents"));
    let one = ct.lookup_events(&look(LookupKey::EventId, &all[3].event_id)).await.unwrap();
    assert_eq!(ids(&one), [all[3].event_id.clone()]);

    // Username: the session name of an assumed role (AWS CLI, `aws cloudtrail lookup-events`,
    // https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html).
    let session = session_name(CASE);
    let want = expected(&world, |r| text(r, "/userIdentity/arn").ends_with(&format!("/{session}")));
    let by_user = ct.lookup_events(&look(LookupKey::Username, &session)).await.unwrap();
    assert_eq!(ids(&by_user), want);
    assert!(ct.lookup_events(&look(LookupKey::Username, "someone-else")).await.unwrap().is_empty());

    // ResourceName: a snapshot id in the parameters or the response; a key ARN in `resources`.
    let evidence = world.snapshots().into_iter().find(|s| s.tags.contains_key("CustodyEvidence")).unwrap();
    let of_evidence = names(&ct.lookup_events(&look(LookupKey::ResourceName, &evidence.id)).await.unwrap());
    for api in ["CopySnapshot", "DescribeSnapshots"] {
        assert!(of_evidence.contains(&api.to_string()), "{of_evidence:?}");
    }
    assert!(!of_evidence.contains(&"CreateSnapshots".to_string()), "{of_evidence:?}");
    let key = evidence.kms_key_id.clone().unwrap();
    let of_key = ct.lookup_events(&look(LookupKey::ResourceName, &key)).await.unwrap();
    assert!(names(&of_key).contains(&"Decrypt".to_string()));
    let typed = ct.lookup_events(&look(LookupKey::ResourceType, "AWS::KMS::Key")).await.unwrap();
    assert!(typed.len() >= of_key.len());

    // The time window (both bounds included): a call recorded two hours later is outside the next
    // hour and inside the window around it.
    world.shift_clock(2 * 3600);
    forensic.ec2(REGION).describe_instances(&[]).await.unwrap();
    let now = Utc::now();
    let later = EventLookup { start: now + Duration::minutes(90), end: now + Duration::hours(3), attribute: None };
    let found = ct.lookup_events(&later).await.unwrap();
    assert_eq!(names(&found), ["DescribeInstances"]);
    let within = EventLookup { start: now - Duration::hours(1), end: now + Duration::hours(1), attribute: None };
    let earlier = ct.lookup_events(&within).await.unwrap();
    assert!(!ids(&earlier).contains(&found[0].event_id));
    assert!(ids(&earlier).contains(&all[0].event_id));
    let to_the_second = chrono::DateTime::parse_from_rfc3339(text(
        &serde_json::from_str::<Value>(&found[0].record).unwrap(),
        "/eventTime",
    ))
    .unwrap()
    .with_timezone(&Utc);
    let exact = EventLookup { start: to_the_second, end: to_the_second, attribute: None };
    assert!(ids(&ct.lookup_events(&exact).await.unwrap()).contains(&found[0].event_id));

    // Another Region's history holds none of it.
    assert!(forensic.cloudtrail("eu-west-3").lookup_events(&query(None)).await.unwrap().is_empty());
}

#[tokio::test]
async fn lookup_events_is_refused_without_the_permission() {
    let base = inventory("3-customer-key-same-account.json");
    let role = base.config.forensic_role_arn.clone();
    let inv = with_lookup_events(base, &role, false);
    let world = SimWorld::new(&inv).unwrap();
    let forensic = world.cloud_as(&role, &session_name(CASE));
    forensic.ec2(REGION).describe_instances(&[]).await.unwrap();
    let err = forensic.cloudtrail(REGION).lookup_events(&query(None)).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err.to_string().contains("cloudtrail:LookupEvents"), "{err}");
    let records = world.trail_records();
    let (_, refused) = records.iter().find(|(_, r)| text(r, "/requestID") == err.request_id().unwrap()).unwrap();
    assert_eq!(text(refused, "/eventName"), "LookupEvents");
    assert_eq!(text(refused, "/errorCode"), "AccessDenied");

    // Granted, the same session looks its history up.
    let inv = with_lookup_events(inv, &role, true);
    let world = SimWorld::new(&inv).unwrap();
    let forensic = world.cloud_as(&role, &session_name(CASE));
    forensic.ec2(REGION).describe_instances(&[]).await.unwrap();
    assert_eq!(names(&forensic.cloudtrail(REGION).lookup_events(&query(None)).await.unwrap()), ["DescribeInstances"]);
}

#[tokio::test]
async fn records_survive_the_state_file() {
    let dir = std::env::temp_dir().join(format!("custody-sim-trail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("world.json");
    let inv = inventory("3-customer-key-same-account.json");
    let world = SimWorld::persistent(&inv, &file).unwrap();
    let cloud: Arc<dyn Cloud> = world.cloud_as(&inv.config.forensic_role_arn, "s");
    cloud.ec2(REGION).describe_instances(&[]).await.unwrap();
    // Refused (the role may not list keys): recorded all the same.
    let _ = cloud.kms(REGION).list_keys().await;
    let records = world.trail_records();
    assert_eq!(records.len(), 2);
    assert_eq!(SimWorld::load(&file).unwrap().trail_records(), records);
    std::fs::remove_dir_all(&dir).unwrap();
}
