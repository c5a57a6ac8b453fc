//! Two accounts of one organization on moto (127.0.0.1 only): custody runs in the management account,
//! the instance lives in a member account reached through its role. The inventory has both roles, the
//! member's instance and key, and the SCPs on the member's path (read by the management account, since
//! a member account cannot read them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use aws_sdk_organizations::types::PolicyType;
use custody_acquire::collect::{collect, CollectRequest};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::testing::{seed_incident, Moto, MOTO_ACCOUNT};
use custody_plan::inventory::parse_inventory;
use serde_json::json;
use std::sync::Arc;

const REGION: &str = "us-east-1";

#[tokio::test]
async fn a_member_account_is_read_through_its_role_and_its_scps_through_the_management_account() {
    let moto = Moto::start().await.unwrap();
    let base = moto.sdk_config(REGION).await.unwrap();

    // The organization: root → OU `forensics-targets` (with a Region-deny SCP) → member account.
    let org = aws_sdk_organizations::Client::new(&base);
    org.create_organization().send().await.unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let ou = org.create_organizational_unit().parent_id(&root).name("forensics-targets").send().await.unwrap();
    let ou = ou.organizational_unit().unwrap().id().unwrap().to_string();
    let created = org.create_account().email("member@example.com").account_name("member").send().await.unwrap();
    let member = created.create_account_status().unwrap().account_id().unwrap().to_string();
    org.move_account().account_id(&member).source_parent_id(&root).destination_parent_id(&ou).send().await.unwrap();
    let region_deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "RegionDeny", "Effect": "Deny",
        "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]});
    let scp = org
        .create_policy()
        .name("region-deny")
        .description("only us-east-1")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(region_deny.to_string())
        .send()
        .await
        .unwrap();
    let scp_id = scp.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    org.attach_policy().policy_id(&scp_id).target_id(&ou).send().await.unwrap();

    // The incident in the member account; custody's own role in the management account.
    let member_config =
        Moto::as_role(&base, &format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole")).await.unwrap();
    let incident = seed_incident(&member_config).await.unwrap();
    assert!(incident.role_arn.contains(&member));
    let forensics = seed_incident(&base).await.unwrap();

    let request = CollectRequest {
        instance_ids: vec![incident.instance_id.clone()],
        region: REGION.into(),
        forensic_role_arn: Some(forensics.role_arn.clone()),
        source_role_arn: Some(incident.role_arn.clone()),
        forensic_key_arns: vec![forensics.key_arn.clone()],
        case_id: Some("case-7".into()),
        ..CollectRequest::default()
    };
    let collected = collect(Arc::new(SdkCloud::from_config(base)), &request).await.unwrap();
    let warnings: Vec<String> = collected.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let inv = &collected.inventory;

    assert_eq!(inv.config.forensic_account, MOTO_ACCOUNT);
    assert_eq!(inv.config.source_role_arns.get(&member), Some(&incident.role_arn));
    assert_eq!(inv.config.forensic_key_arns.get(REGION), Some(&forensics.key_arn));
    let instance = &inv.instances[0];
    assert_eq!(instance.account, member);
    let volume = instance.volume(&incident.data_volume_id).unwrap();
    assert_eq!(volume.kms_key_arn.as_deref(), Some(incident.key_arn.as_str()));
    let member_key = inv.keys.iter().find(|k| k.arn == incident.key_arn).unwrap();
    assert_eq!(member_key.policy.as_ref(), Some(&incident.key_policy));
    assert!(inv.keys.iter().any(|k| k.arn == forensics.key_arn && k.unknown.is_empty()));

    let arns: Vec<&str> = inv.principals.iter().map(|p| p.arn.as_str()).collect();
    assert_eq!(arns, vec![forensics.role_arn.as_str(), incident.role_arn.as_str()]);
    assert!(inv.principals.iter().all(|p| p.unknown.is_empty() && p.identity_policies.len() == 2));

    // The member's path, root first: root, the OU (with the Region deny), the account.
    let levels = inv.scps.get(&member).unwrap();
    assert_eq!(levels.len(), 3, "{levels:#?}");
    assert!(levels[1].contains(&region_deny), "{levels:#?}");
    // The management account: no SCPs apply, and nothing is unknown.
    assert!(!inv.scps.contains_key(MOTO_ACCOUNT));
    assert!(inv.unknown.is_empty(), "{:?}", inv.unknown);

    let text = serde_json::to_string(inv).unwrap();
    assert_eq!(&parse_inventory(&text).unwrap(), inv);
}
