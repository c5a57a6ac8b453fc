//! The lookups the planner and the preflight use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{
    parse_inventory, Fact, InstanceField, Inventory, KeyField, KeyManager, OrgPolicies, PrincipalField,
};
use std::path::Path;

fn load(name: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_inventory(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const FORENSIC_ROLE: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
const SOURCE_ROLE: &str = "arn:aws:iam::111122223333:role/CustodySource";
const KEY5: &str = "arn:aws:kms:eu-west-1:111122223333:key/5e5e5e5e-0000-4000-8000-000000000005";

#[test]
fn instances_and_volumes_by_id() {
    let inv = load("5-cross-account-grant-only.json");
    let instance = inv.instance("i-05e5e5e5e5e5e5e5e");
    assert_eq!(instance.map(|i| i.account.as_str()), Some("111122223333"));
    assert_eq!(instance.and_then(|i| i.volume("vol-05e5e5e5e5e5e5e51")).map(|v| v.size_gib), Some(250));
    assert_eq!(
        inv.volume("vol-05e5e5e5e5e5e5e52").map(|(i, v)| (i.id.as_str(), v.encrypted)),
        Some(("i-05e5e5e5e5e5e5e5e", false))
    );
    assert!(inv.instance("i-0000000000000000a").is_none() && inv.volume("vol-0000000000000000a").is_none());
}

#[test]
fn keys_by_arn_alias_arn_alias_name_and_id() {
    let inv = load("5-cross-account-grant-only.json");
    let key = inv.key(KEY5);
    assert_eq!(
        key.map(|k| (k.region(), k.account(), k.manager)),
        Some((Some("eu-west-1"), Some("111122223333"), KeyManager::Customer))
    );
    assert_eq!(key.and_then(|k| k.key_id()), Some("5e5e5e5e-0000-4000-8000-000000000005"));
    assert_eq!(
        key.and_then(|k| k.alias_arn("alias/prod-ebs")).as_deref(),
        Some("arn:aws:kms:eu-west-1:111122223333:alias/prod-ebs")
    );
    for name in
        ["arn:aws:kms:eu-west-1:111122223333:alias/prod-ebs", "alias/prod-ebs", "5e5e5e5e-0000-4000-8000-000000000005"]
    {
        assert_eq!(inv.key(name).map(|k| k.arn.as_str()), Some(KEY5), "{name}");
    }
    // The alias ARN must name the key's own account and Region.
    assert!(inv.key("arn:aws:kms:eu-west-3:111122223333:alias/prod-ebs").is_none());
    assert!(inv.key("arn:aws:kms:eu-west-1:444455556666:alias/prod-ebs").is_none());
    assert!(inv.key("alias/nothing").is_none());
}

#[test]
fn an_alias_name_several_keys_carry_finds_none() {
    // aws/ebs exists once per account and Region: by name alone it is ambiguous.
    let mut inv = load("2-aws-managed-same-account.json");
    let mut other = inv.keys[0].clone();
    other.arn = "arn:aws:kms:eu-west-3:999999999999:key/2b2b2b2b-0000-4000-8000-0000000000ff".into();
    inv.keys.push(other);
    assert!(inv.key("alias/aws/ebs").is_none());
    let by_arn = inv.key("arn:aws:kms:eu-west-3:999999999999:alias/aws/ebs");
    assert_eq!(by_arn.and_then(|k| k.region()), Some("eu-west-3"));
    assert!(by_arn.is_some_and(|k| k.is_aws_managed()));
}

#[test]
fn principals_by_role_arn_whatever_the_path_and_by_session() {
    let inv = load("service-linked-role.json");
    for arn in [
        SOURCE_ROLE,
        "arn:aws:iam::111122223333:role/incident/CustodySource",
        "arn:aws:sts::111122223333:assumed-role/CustodySource/case-2026-001",
    ] {
        assert_eq!(inv.principal(arn).map(|p| p.arn.as_str()), Some(SOURCE_ROLE), "{arn}");
    }
    // A session ARN drops the role's path: the service-linked role is found by account and name.
    let slr = inv.principal("arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling");
    assert!(slr.is_some_and(|p| p.is_service_linked_role() && p.is_role()));
    assert_eq!(slr.and_then(|p| p.name()), Some("AWSServiceRoleForAutoScaling"));
    assert!(inv.principal("arn:aws:sts::444455556666:assumed-role/CustodySource/s").is_none());
    assert!(inv.principal("arn:aws:iam::111122223333:user/CustodySource").is_none());
    assert!(inv.principal("not an arn").is_none());
}

#[test]
fn custody_roles_and_keys_per_account_and_region() {
    let inv = load("5-cross-account-grant-only.json");
    assert_eq!(inv.source_role_arn("111122223333"), Some(SOURCE_ROLE));
    assert_eq!(inv.source_role_arn("999999999999"), Some(FORENSIC_ROLE), "same account: the forensic role");
    assert_eq!(inv.source_role_arn("444455556666"), None);
    let fkey = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
    assert_eq!(inv.forensic_key_arn("eu-west-1"), Some(fkey));
    assert_eq!(inv.forensic_key("eu-west-1").map(|k| k.aliases.clone()), Some(vec!["alias/custody-evidence".into()]));
    assert_eq!(inv.forensic_key_arn("eu-west-3"), None);
}

#[test]
fn organization_policies_known_absent_or_unknown() {
    let mut inv = load("5-cross-account-grant-only.json");
    assert!(matches!(inv.scps("111122223333"), OrgPolicies::Levels(levels) if levels.len() == 3));
    assert_eq!(inv.scps("999999999999"), OrgPolicies::NotInOrganization);
    assert_eq!(inv.rcps("111122223333"), OrgPolicies::NotInOrganization);
    inv.unknown.push("rcps:111122223333".into());
    assert_eq!(inv.rcps("111122223333"), OrgPolicies::Unknown);
    assert!(inv.is_unknown(Fact::Rcps { account: "111122223333" }));
    assert!(!inv.is_unknown(Fact::Scps { account: "111122223333" }));
}

#[test]
fn unknown_facts_and_unlisted_things_are_unknown() {
    let inv = load("service-linked-role.json");
    let slr = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
    assert!(inv.is_unknown(Fact::Principal { arn: slr, field: PrincipalField::IdentityPolicies }));
    assert!(!inv.is_unknown(Fact::Principal { arn: slr, field: PrincipalField::TrustPolicy }));
    assert!(!inv.is_unknown(Fact::Principal { arn: SOURCE_ROLE, field: PrincipalField::IdentityPolicies }));
    let stranger = "arn:aws:iam::444455556666:role/Stranger";
    assert!(inv.is_unknown(Fact::Principal { arn: stranger, field: PrincipalField::Tags }), "not listed: unknown");
    let key = "arn:aws:kms:eu-west-1:111122223333:key/5d5d5d5d-0000-4000-8000-00000000005d";
    assert!(!inv.is_unknown(Fact::Key { arn: key, field: KeyField::Grants }));
    let unlisted = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000000";
    assert!(inv.is_unknown(Fact::Key { arn: unlisted, field: KeyField::Policy }));
    assert!(!inv.is_unknown(Fact::Instance { id: "i-05d5d5d5d5d5d5d5d", field: InstanceField::Volumes }));
    assert!(inv.is_unknown(Fact::Instance { id: "i-0000000000000000a", field: InstanceField::Volumes }));
}

#[test]
fn unknown_field_names_are_the_documents() {
    assert_eq!(PrincipalField::NAMES, ["identity_policies", "permissions_boundary", "trust_policy", "tags"]);
    assert_eq!(KeyField::NAMES, ["policy", "grants", "aliases"]);
    assert_eq!(InstanceField::NAMES, ["tags", "volumes", "instance_profile_role_arn"]);
    assert!(PrincipalField::ALL.iter().zip(PrincipalField::NAMES).all(|(f, n)| f.as_str() == *n));
    assert!(KeyField::ALL.iter().zip(KeyField::NAMES).all(|(f, n)| f.as_str() == *n));
    assert!(InstanceField::ALL.iter().zip(InstanceField::NAMES).all(|(f, n)| f.as_str() == *n));
}
