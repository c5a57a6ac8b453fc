//! `collect` and the SDK adapter against a real moto server of the test's own (127.0.0.1 only),
//! seeded through the SDK: the inventory has what was seeded, parses with the inventory parser, and
//! what AWS refuses (simulated at the trait level: moto enforces no IAM) becomes `unknown` plus a
//! warning.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_acquire::collect::{collect, CollectError, CollectRequest};
use custody_cloud::api::{Cloud, SessionName};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::testing::Denying;
use custody_cloud::testing::{seed_incident, Incident, Moto, MOTO_ACCOUNT};
use custody_plan::inventory::{parse_inventory, EbsEncryptionDefault, KeyManager};
use std::sync::Arc;

const REGION: &str = "us-east-1";

async fn moto_with_incident() -> (Moto, Arc<dyn Cloud>, Incident) {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let incident = seed_incident(&config).await.unwrap();
    (moto, Arc::new(SdkCloud::from_config(config)), incident)
}

fn request(incident: &Incident) -> CollectRequest {
    CollectRequest {
        instance_ids: vec![incident.instance_id.clone()],
        region: REGION.into(),
        forensic_role_arn: Some(incident.role_arn.clone()),
        ..CollectRequest::default()
    }
}

#[tokio::test]
async fn collect_reads_the_seeded_incident_and_the_result_parses() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let collected = collect(cloud, &request(&incident)).await.unwrap();
    let warnings: Vec<String> = collected.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let inv = &collected.inventory;

    assert_eq!(inv.config.forensic_account, MOTO_ACCOUNT);
    assert_eq!(inv.config.forensic_region, REGION);
    assert_eq!(inv.config.forensic_role_arn, incident.role_arn);

    let [instance] = inv.instances.as_slice() else { panic!("{:?}", inv.instances) };
    assert_eq!(instance.id, incident.instance_id);
    assert_eq!(instance.account, MOTO_ACCOUNT);
    assert_eq!(instance.state.as_deref(), Some("running"));
    assert_eq!(instance.tags.get("Name").map(String::as_str), Some("web-1"));
    // collect does not read the instance profile's role, and says so (docs/inventory-format.md).
    assert_eq!(instance.unknown, ["instance_profile_role_arn"]);
    let data = instance.volume(&incident.data_volume_id).unwrap();
    assert!(data.encrypted);
    assert_eq!(data.size_gib, 10);
    assert_eq!(data.kms_key_arn.as_deref(), Some(incident.key_arn.as_str()));
    assert_eq!(data.device.as_deref(), Some("/dev/sdf"));

    let key = inv.keys.iter().find(|k| k.arn == incident.key_arn).unwrap();
    assert_eq!(key.manager, KeyManager::Customer);
    assert_eq!(key.policy.as_ref(), Some(&incident.key_policy));
    assert_eq!(key.aliases, vec![incident.alias.clone()]);
    let [grant] = key.grants.as_slice() else { panic!("{:?}", key.grants) };
    assert_eq!(grant["grant_id"], incident.grant_id.as_str());
    assert_eq!(grant["grantee_principal"], incident.role_arn.as_str());
    assert_eq!(grant["retiring_principal"], incident.role_arn.as_str());
    assert_eq!(grant["operations"], serde_json::json!(["Decrypt", "RetireGrant"]));
    assert_eq!(grant["constraints"]["encryption_context_subset"]["aws:ebs:id"], incident.data_volume_id.as_str());
    assert!(key.unknown.is_empty());

    let [role] = inv.principals.as_slice() else { panic!("{:?}", inv.principals) };
    assert_eq!(role.arn, incident.role_arn);
    assert_eq!(role.identity_policies, vec![incident.inline_policy.clone(), incident.managed_policy.clone()]);
    assert_eq!(role.permissions_boundary.as_ref(), Some(&incident.boundary_policy));
    assert_eq!(role.trust_policy.as_ref(), Some(&incident.trust_policy));
    assert_eq!(role.tags.get("team").map(String::as_str), Some("forensics"));
    assert!(role.unknown.is_empty());

    // Not in an organization: no SCPs, nothing unknown.
    assert!(inv.scps.is_empty() && inv.rcps.is_empty() && inv.unknown.is_empty());
    // EBS encryption by default is off in a new account (GetEbsEncryptionByDefault).
    let off =
        EbsEncryptionDefault { account: MOTO_ACCOUNT.into(), region: REGION.into(), enabled: false, kms_key_arn: None };
    assert_eq!(inv.ebs_encryption_by_default, vec![off]);

    let text = serde_json::to_string_pretty(inv).unwrap();
    assert_eq!(&parse_inventory(&text).unwrap(), inv);
}

#[tokio::test]
async fn access_denied_becomes_unknown_with_a_warning_never_an_empty_fact() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let denying = Arc::new(Denying {
        inner: cloud,
        deny: vec!["GetKeyPolicy", "ListGrants", "ListRolePolicies", "ListRoleTags"],
    });
    let collected = collect(denying, &request(&incident)).await.unwrap();
    let inv = &collected.inventory;

    let key = inv.keys.iter().find(|k| k.arn == incident.key_arn).unwrap();
    assert_eq!(key.policy, None);
    assert!(key.grants.is_empty());
    assert_eq!(key.unknown, vec!["policy", "grants"]);
    assert_eq!(key.aliases, vec![incident.alias.clone()], "what could be read is kept");

    let role = &inv.principals[0];
    assert!(role.identity_policies.is_empty());
    assert_eq!(role.unknown, vec!["identity_policies", "tags"]);
    assert_eq!(role.trust_policy.as_ref(), Some(&incident.trust_policy));

    let warnings: Vec<String> = collected.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    let policy_warning = warnings.iter().find(|w| w.contains("kms:GetKeyPolicy")).unwrap();
    assert!(policy_warning.starts_with(&format!("cannot read the key policy of {}: access denied", incident.key_arn)));
    assert!(policy_warning.contains("AccessDeniedException"));
    assert!(policy_warning.contains("fake-request-id"));
    assert!(policy_warning.ends_with("marked unknown (`policy`)"));
    assert!(warnings.iter().any(|w| w.contains("iam:ListRolePolicies") && w.contains("`identity_policies`")));

    let text = serde_json::to_string(inv).unwrap();
    assert_eq!(&parse_inventory(&text).unwrap(), inv);
}

#[tokio::test]
async fn unreadable_instances_and_organizations_are_unknown() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let deny = vec!["DescribeInstances", "DescribeOrganization", "GetEbsEncryptionByDefault"];
    let denying = Arc::new(Denying { inner: cloud, deny });
    let collected = collect(denying, &request(&incident)).await.unwrap();
    let inv = &collected.inventory;
    let instance = &inv.instances[0];
    assert_eq!(instance.unknown, vec!["tags", "volumes", "instance_profile_role_arn"]);
    assert!(instance.volumes.is_empty());
    assert_eq!(
        inv.unknown,
        vec![
            format!("scps:{MOTO_ACCOUNT}"),
            format!("rcps:{MOTO_ACCOUNT}"),
            format!("ebs_encryption_by_default:{MOTO_ACCOUNT}:{REGION}")
        ]
    );
    assert!(inv.ebs_encryption_by_default.is_empty(), "unreadable is unknown, never off");
    assert_eq!(collected.warnings.len(), 3);
    assert!(parse_inventory(&serde_json::to_string(inv).unwrap()).is_ok());
}

#[tokio::test]
async fn a_missing_instance_stops_collection() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let mut req = request(&incident);
    req.instance_ids = vec!["i-0123456789abcdef0".into()];
    let err = collect(cloud, &req).await.unwrap_err();
    assert!(matches!(err, CollectError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("i-0123456789abcdef0"));
}

#[tokio::test]
async fn a_source_role_is_assumed_with_the_case_in_the_session_name() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let session = SessionName::new("collect", Some("case-42"));
    let assumed = cloud.assume_role(&incident.role_arn, &session).await.unwrap();
    let who = assumed.sts().get_caller_identity().await.unwrap();
    assert_eq!(
        who.arn,
        format!("arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/{}/custody-collect-case-42", incident.role_name)
    );

    let mut req = request(&incident);
    req.source_role_arn = Some(incident.role_arn.clone());
    req.case_id = Some("case-42".into());
    let collected = collect(cloud, &req).await.unwrap();
    assert!(collected.warnings.is_empty());
    let inv = &collected.inventory;
    assert_eq!(inv.config.source_role_arns.get(MOTO_ACCOUNT), Some(&incident.role_arn));
    assert_eq!(inv.principals.len(), 1, "the same role is listed once");
    assert_eq!(inv.instances[0].id, incident.instance_id);
}

#[tokio::test]
async fn unreachable_aws_is_one_clear_error() {
    // A port on 127.0.0.1 where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "t"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let req = CollectRequest {
        instance_ids: vec!["i-0123456789abcdef0".into()],
        region: REGION.into(),
        ..Default::default()
    };
    let err = collect(Arc::new(SdkCloud::from_config(config)), &req).await.unwrap_err();
    assert!(matches!(err, CollectError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn a_refused_assume_role_is_a_warning_and_the_caller_reads_instead() {
    let (_moto, cloud, incident) = moto_with_incident().await;
    let denying = Arc::new(Denying { inner: cloud, deny: vec!["AssumeRole"] });
    let mut req = request(&incident);
    req.source_role_arn = Some(incident.role_arn.clone());
    let collected = collect(denying, &req).await.unwrap();
    let warnings: Vec<String> = collected.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    // (moto names its user `arn:aws:sts::…:user/moto` where AWS would say `arn:aws:iam::…`.)
    let expected = format!("cannot read account {MOTO_ACCOUNT} as {} (AssumeRole; it is read as ", incident.role_arn);
    assert!(warnings[0].starts_with(&expected), "{}", warnings[0]);
    assert!(warnings[0].contains(" instead): access denied: `sts:AssumeRole` (AccessDenied)"), "{}", warnings[0]);
    // Same account here, so the caller could read everything itself.
    assert_eq!(collected.inventory.instances[0].volumes.len(), 2);
}
