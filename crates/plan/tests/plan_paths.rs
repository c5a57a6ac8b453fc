//! The planner, path by path, on `tests/fixtures/plan/estate.json`: one source account
//! (222222222222, eu-west-3) whose instance has a volume for each cross-account path, the forensic
//! account (111111111111, eu-west-1) with an instance of its own, a Windows instance, and an account
//! custody has no role in. Each test names the AWS page behind the rule it checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{
    plan, AuthzRequest, ContextEntry, Mode, Path, Phase, Plan, PlanError, PlanRequest, PolicyScope, Step,
    COPY_GRANT_OPERATIONS,
};

const SOURCE_INSTANCE: &str = "i-0123456789abcdef0";
const FORENSIC_INSTANCE: &str = "i-0123456789abcdef1";
const WINDOWS_INSTANCE: &str = "i-0123456789abcdef2";
const FORENSIC_ROLE: &str = "arn:aws:iam::111111111111:role/CustodyResponse";
const FORENSIC_SESSION: &str = "arn:aws:sts::111111111111:assumed-role/CustodyResponse/custody-C1";
const SOURCE_SESSION: &str = "arn:aws:sts::222222222222:assumed-role/CustodySource/custody-C1";
const FORENSIC_KEY_EU1: &str = "arn:aws:kms:eu-west-1:111111111111:key/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const SOURCE_EBS_KEY: &str = "arn:aws:kms:eu-west-3:222222222222:key/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const GRANT_ONLY_KEY: &str = "arn:aws:kms:eu-west-3:222222222222:key/cccccccc-cccc-4ccc-8ccc-cccccccccccc";

pub fn estate() -> Inventory {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan/estate.json")).unwrap();
    parse_inventory(&text).unwrap()
}

fn request(instance: &str) -> PlanRequest {
    PlanRequest { case_id: "C1".into(), ..PlanRequest::new(instance) }
}

fn plan_for(req: &PlanRequest) -> Plan {
    plan(&estate(), req).unwrap()
}

fn step<'a>(p: &'a Plan, id: &str) -> &'a Step {
    p.steps.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no step {id} in {:?}", ids(p)))
}

fn ids(p: &Plan) -> Vec<&str> {
    p.steps.iter().map(|s| s.id.as_str()).collect()
}

fn position(p: &Plan, id: &str) -> usize {
    p.steps.iter().position(|s| s.id == id).unwrap_or_else(|| panic!("no step {id}"))
}

/// The requests of a step with this action (and resource, if given).
fn requests<'a>(s: &'a Step, action: &str, resource: Option<&str>) -> Vec<&'a AuthzRequest> {
    s.calls
        .iter()
        .flat_map(|c| &c.requests)
        .filter(|r| r.action == action && resource.is_none_or(|res| r.resource == res))
        .collect()
}

fn one<'a>(s: &'a Step, action: &str, resource: &str) -> &'a AuthzRequest {
    let found = requests(s, action, Some(resource));
    assert_eq!(found.len(), 1, "{action} on {resource} in {}: {found:#?}", s.id);
    found[0]
}

fn ctx<'a>(r: &'a AuthzRequest, key: &str) -> &'a str {
    match r.context.get(key) {
        Some(ContextEntry::Single(s)) => s,
        other => panic!("{key} of {} {}: {other:?}", r.action, r.resource),
    }
}

fn ctx_set<'a>(r: &'a AuthzRequest, key: &str) -> Vec<&'a str> {
    match r.context.get(key) {
        Some(ContextEntry::Multi(v)) => v.iter().map(String::as_str).collect(),
        other => panic!("{key} of {} {}: {other:?}", r.action, r.resource),
    }
}

fn path_of(p: &Plan, volume: &str) -> Path {
    p.volumes.iter().find(|v| v.volume_id == volume).unwrap().path
}

#[test]
fn paths_are_chosen_per_volume() {
    let p = plan_for(&request(SOURCE_INSTANCE));
    let expected = [
        ("vol-0000000000000000a", Path::Unencrypted),
        ("vol-0000000000000000b", Path::CrossAccountAwsManagedKey),
        ("vol-0000000000000000c", Path::CrossAccountGrantOnly),
        ("vol-0000000000000000d", Path::CrossAccountDirect),
        ("vol-0000000000000000e", Path::CrossAccountOwnerGrants),
    ];
    for (vol, path) in expected {
        assert_eq!(path_of(&p, vol), path, "{vol}");
    }
    // Why, in words: the statement that admits the forensic role, the grant relied on.
    let reason = |v: &str| p.volumes.iter().find(|x| x.volume_id == v).unwrap().reason.clone();
    assert!(
        reason("vol-0000000000000000d").contains("Sid `Allow required KMS permissions`"),
        "{}",
        reason("vol-0000000000000000d")
    );
    assert!(reason("vol-0000000000000000e").contains("g-owner-1"));
    assert!(reason("vol-0000000000000000c").contains("does not let"));

    let same = plan_for(&request(FORENSIC_INSTANCE));
    assert_eq!(path_of(&same, "vol-1000000000000000a"), Path::Unencrypted);
    assert_eq!(path_of(&same, "vol-1000000000000000b"), Path::AwsManagedSameAccount);
    assert_eq!(path_of(&same, "vol-1000000000000000c"), Path::CustomerKeySameAccount);
    assert_eq!(path_of(&same, "vol-1000000000000000d"), Path::CustomerKeySameAccount);

    let other_region = plan_for(&PlanRequest { to_region: Some("eu-west-3".into()), ..request(FORENSIC_INSTANCE) });
    assert_eq!(path_of(&other_region, "vol-1000000000000000a"), Path::Unencrypted);
    for v in ["vol-1000000000000000b", "vol-1000000000000000c", "vol-1000000000000000d"] {
        assert_eq!(path_of(&other_region, v), Path::CrossRegion, "{v}");
    }
}

#[test]
fn modes_force_the_cross_account_customer_key_paths() {
    for (mode, path) in [
        (Mode::GrantOnly, Path::CrossAccountGrantOnly),
        (Mode::Direct, Path::CrossAccountDirect),
        (Mode::OwnerGrants, Path::CrossAccountOwnerGrants),
    ] {
        // The aws/ebs volume makes these modes impossible (see below): plan without it.
        let mut inv = estate();
        inv.instances[0].volumes.retain(|v| v.id != "vol-0000000000000000b");
        let p = plan(&inv, &PlanRequest { mode, ..request(SOURCE_INSTANCE) }).unwrap();
        for v in ["vol-0000000000000000c", "vol-0000000000000000d", "vol-0000000000000000e"] {
            assert_eq!(path_of(&p, v), path, "{mode} {v}");
            let reason = &p.volumes.iter().find(|x| x.volume_id == v).unwrap().reason;
            assert!(reason.starts_with(&format!("forced by --mode {mode}")), "{reason}");
        }
        // A volume without a key keeps path 1, and says the mode does not apply.
        assert_eq!(path_of(&p, "vol-0000000000000000a"), Path::Unencrypted);
    }
    let p = plan_for(&PlanRequest { mode: Mode::DirectRead, ..request(SOURCE_INSTANCE) });
    assert!(p.volumes.iter().all(|v| v.path == Path::DirectRead));
}

#[test]
fn grant_only_on_the_aws_managed_key_is_refused_with_the_reason_and_the_way_out() {
    // "You can't share snapshots that are encrypted with the default AWS managed key"
    // (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html), and the
    // aws/ebs key policy cannot be changed (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html).
    let err = plan(&estate(), &PlanRequest { mode: Mode::GrantOnly, ..request(SOURCE_INSTANCE) }).unwrap_err();
    assert!(matches!(&err, PlanError::ModeImpossible { volume_id, .. } if volume_id == "vol-0000000000000000b"));
    let msg = err.to_string();
    assert!(msg.contains("`--mode grant-only` is impossible for volume `vol-0000000000000000b`"), "{msg}");
    assert!(msg.contains("aws/ebs") && msg.contains("--mode auto"), "{msg}");

    let err = plan(&estate(), &PlanRequest { mode: Mode::Direct, ..request(FORENSIC_INSTANCE) }).unwrap_err();
    assert!(err.to_string().contains("stays in account 111111111111"), "{err}");
}

#[test]
fn discovery_assumes_the_source_role_with_two_evaluations() {
    // AssumeRole across accounts needs the caller's identity policy and the role's trust policy
    // (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
    let p = plan_for(&request(SOURCE_INSTANCE));
    assert_eq!(&ids(&p)[..3], ["assume-source-role", "discover", "create-snapshots"]);
    let assume = step(&p, "assume-source-role");
    let reqs = requests(assume, "sts:AssumeRole", Some("arn:aws:iam::222222222222:role/custody/CustodySource"));
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.principal == FORENSIC_SESSION));
    assert_eq!(reqs.iter().map(|r| r.scope).collect::<Vec<_>>(), [PolicyScope::Identity, PolicyScope::Resource]);
    // Describe* take no resource-level permissions
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html).
    let discover = step(&p, "discover");
    for action in ["ec2:DescribeInstances", "ec2:DescribeVolumes"] {
        let r = one(discover, action, "*");
        assert_eq!(r.principal, SOURCE_SESSION);
        assert_eq!(ctx(r, "ec2:Region"), "eu-west-3");
    }
    // Same account: no role to assume.
    let same = plan_for(&request(FORENSIC_INSTANCE));
    assert_eq!(ids(&same)[0], "discover");
    assert_eq!(one(step(&same, "discover"), "ec2:DescribeInstances", "*").principal, FORENSIC_SESSION);
}

#[test]
fn create_snapshots_is_authorized_on_instance_volumes_and_new_snapshots_with_tags() {
    // CreateSnapshots: instance*, snapshot*, volume*; tag-on-create adds ec2:CreateTags with
    // ec2:CreateAction (https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html).
    let p = plan_for(&request(SOURCE_INSTANCE));
    let s = step(&p, "create-snapshots");
    assert_eq!(s.phase, Phase::Snapshot);
    let inst = one(s, "ec2:CreateSnapshots", "arn:aws:ec2:eu-west-3:222222222222:instance/i-0123456789abcdef0");
    assert_eq!(ctx(inst, "aws:ResourceTag/CustodySSMEnabled"), "True");
    for v in ["a", "b", "c", "d", "e"] {
        let vol = one(
            s,
            "ec2:CreateSnapshots",
            &format!("arn:aws:ec2:eu-west-3:222222222222:volume/vol-0000000000000000{v}"),
        );
        assert_eq!(ctx(vol, "ec2:Encrypted"), if v == "a" { "false" } else { "true" });
    }
    let snap = one(s, "ec2:CreateSnapshots", "arn:aws:ec2:eu-west-3::snapshot/*");
    assert_eq!(snap.resource_account.as_deref(), Some("222222222222"));
    assert_eq!(ctx(snap, "aws:RequestTag/CustodyCase"), "C1");
    let tags = one(s, "ec2:CreateTags", "arn:aws:ec2:eu-west-3::snapshot/*");
    assert_eq!(ctx(tags, "ec2:CreateAction"), "CreateSnapshots");
    assert_eq!(ctx_set(tags, "aws:TagKeys"), ["CustodyCase", "CustodyInstance", "CustodyRun"]);
    // No KMS request is documented for CreateSnapshots of an encrypted volume (map §3.1).
    assert!(s.calls.iter().flat_map(|c| &c.requests).all(|r| !r.action.starts_with("kms:")));
}

#[test]
fn grant_only_grants_minimal_operations_then_retires_the_grant() {
    // kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal come from the CreateGrant request
    // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-operations);
    // the retiring principal may retire it (https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete).
    let p = plan_for(&request(SOURCE_INSTANCE));
    let v = "vol-0000000000000000c";
    let order: Vec<usize> =
        ["create-grant", "share", "copy-to-forensic", "retire-grant", "unshare", "delete-source-snapshot"]
            .iter()
            .map(|id| position(&p, &format!("{id}:{v}")))
            .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let grant_step = step(&p, &format!("create-grant:{v}"));
    let r = one(grant_step, "kms:CreateGrant", GRANT_ONLY_KEY);
    assert_eq!(r.principal, SOURCE_SESSION);
    assert_eq!(ctx(r, "kms:GranteePrincipal"), FORENSIC_ROLE);
    assert_eq!(ctx(r, "kms:RetiringPrincipal"), FORENSIC_ROLE);
    assert_eq!(ctx(r, "kms:CallerAccount"), "222222222222");
    assert_eq!(ctx_set(r, "kms:GrantOperations"), COPY_GRANT_OPERATIONS);
    assert_eq!(ctx(r, "kms:GrantIsForAWSResource"), "false");
    // The set AWS documents for the users of an account a key is shared with, and nothing else: not
    // Encrypt, and no RetireGrant (the forensic role retires it as retiring principal). EBS User
    // Guide, "Share the KMS key used to encrypt a shared Amazon EBS snapshot",
    // https://docs.aws.amazon.com/ebs/latest/userguide/share-kms-key.html ("kms:DescribeKey,
    // kms:CreateGrant, GenerateDataKey, GenerateDataKeyWithoutPlaintext, kms:ReEncrypt, kms:Decrypt").
    let mut documented = [
        "DescribeKey",
        "CreateGrant",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "Decrypt",
    ];
    let mut ours = COPY_GRANT_OPERATIONS;
    documented.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ours, documented);
    let g = &grant_step.creates_grants[0];
    assert_eq!(g.key_arn, GRANT_ONLY_KEY);
    assert_eq!(g.grant["grantee_principal"], FORENSIC_ROLE);
    assert_eq!(g.grant["retiring_principal"], FORENSIC_ROLE);
    assert_eq!(g.grant["constraints"]["encryption_context_subset"]["aws:ebs:id"], v);
    let grant_id = g.grant["grant_id"].as_str().unwrap();

    let retire = step(&p, &format!("retire-grant:{v}"));
    assert_eq!(retire.phase, Phase::Cleanup);
    let r = one(retire, "kms:RetireGrant", GRANT_ONLY_KEY);
    assert_eq!(r.principal, FORENSIC_SESSION);
    assert_eq!(r.grant_id.as_deref(), Some(grant_id));
    // Paths 6 and 7 create and retire nothing.
    for other in ["vol-0000000000000000d", "vol-0000000000000000e"] {
        assert!(!ids(&p).iter().any(|id| id.ends_with(other) && id.contains("grant")), "{other}");
    }
}

#[test]
fn share_and_unshare_name_the_destination_account() {
    // ec2:Add/userId / ec2:Remove/userId (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html).
    let p = plan_for(&request(SOURCE_INSTANCE));
    let arn = "arn:aws:ec2:eu-west-3::snapshot/snap-source-0000000000000000d";
    let share = one(step(&p, "share:vol-0000000000000000d"), "ec2:ModifySnapshotAttribute", arn);
    assert_eq!(share.principal, SOURCE_SESSION);
    assert_eq!(share.resource_account.as_deref(), Some("222222222222"));
    assert_eq!(ctx(share, "ec2:Add/userId"), "111111111111");
    assert_eq!(ctx(share, "ec2:Attribute"), "createVolumePermission");
    let unshare = one(step(&p, "unshare:vol-0000000000000000d"), "ec2:ModifySnapshotAttribute", arn);
    assert_eq!(ctx(unshare, "ec2:Remove/userId"), "111111111111");
    let delete = one(step(&p, "delete-source-snapshot:vol-0000000000000000d"), "ec2:DeleteSnapshot", arn);
    assert_eq!(ctx(delete, "ec2:Owner"), "222222222222");
    assert_eq!(ctx(delete, "ec2:ParentVolume"), "vol-0000000000000000d");
}

#[test]
fn cross_account_cross_region_copy_uses_each_keys_region_and_context() {
    // The copy is sent to the destination Region
    // (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html); the source
    // snapshot, made by CreateSnapshots, carries aws:ebs:id = the volume ID, the copy its own ID
    // (https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context).
    let p = plan_for(&request(SOURCE_INSTANCE));
    let v = "vol-0000000000000000d";
    let copy = step(&p, &format!("copy-to-forensic:{v}"));
    let call = &copy.calls[0];
    assert_eq!(
        (call.api.as_str(), call.account.as_str(), call.region.as_str()),
        ("ec2:CopySnapshot", "111111111111", "eu-west-1")
    );
    assert_eq!(call.signer, FORENSIC_ROLE);
    let new = one(copy, "ec2:CopySnapshot", "arn:aws:ec2:eu-west-1::snapshot/*");
    assert_eq!(new.resource_account.as_deref(), Some("111111111111"));
    let src = one(copy, "ec2:CopySnapshot", "arn:aws:ec2:eu-west-3::snapshot/snap-source-0000000000000000d");
    assert_eq!(src.scope, PolicyScope::Identity, "the share stands in for a resource policy");
    assert_eq!(ctx(src, "ec2:Region"), "eu-west-1");
    assert_eq!(
        ctx(one(copy, "ec2:CreateTags", "arn:aws:ec2:eu-west-1::snapshot/*"), "ec2:CreateAction"),
        "CopySnapshot"
    );

    let source_key = "arn:aws:kms:eu-west-3:222222222222:key/dddddddd-dddd-4ddd-8ddd-dddddddddddd";
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt", "kms:ReEncryptFrom"] {
        let r = one(copy, action, source_key);
        assert_eq!(r.principal, FORENSIC_SESSION);
        assert_eq!(ctx(r, "kms:ViaService"), "ec2.eu-west-3.amazonaws.com", "{action}");
        assert_eq!(ctx(r, "kms:CallerAccount"), "111111111111", "{action}");
        if action != "kms:DescribeKey" {
            assert_eq!(ctx(r, "kms:EncryptionContext:aws:ebs:id"), v, "{action}");
        }
    }
    assert_eq!(ctx(one(copy, "kms:CreateGrant", source_key), "kms:GrantIsForAWSResource"), "true");
    for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo"] {
        let r = one(copy, action, FORENSIC_KEY_EU1);
        assert_eq!(ctx(r, "kms:ViaService"), "ec2.eu-west-1.amazonaws.com", "{action}");
        if action != "kms:DescribeKey" {
            let id = ctx(r, "kms:EncryptionContext:aws:ebs:id");
            assert!(id.starts_with("snap-"), "{action}: {id}");
            assert_eq!(id, "snap-evidence-0000000000000000d");
        }
    }
    // DescribeKey on the caller's default EBS key, required for any encrypted copy
    // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-copy-snapshot.html).
    one(copy, "kms:DescribeKey", "arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-4111-8111-111111111111");
    // Nothing is decrypted through the wrong Region.
    for r in copy.calls.iter().flat_map(|c| &c.requests).filter(|r| r.action.starts_with("kms:")) {
        let region = r.resource.split(':').nth(3).unwrap();
        assert_eq!(ctx(r, "kms:ViaService"), format!("ec2.{region}.amazonaws.com"));
    }
    let vp = p.volumes.iter().find(|x| x.volume_id == v).unwrap();
    assert_eq!(
        vp.snapshots.iter().map(|s| (s.id.as_str(), s.evidence)).collect::<Vec<_>>(),
        [("snap-source-0000000000000000d", false), ("snap-evidence-0000000000000000d", true)]
    );
}

#[test]
fn aws_managed_key_goes_through_a_temporary_key() {
    // Seeds 001/002: re-encrypt to a temporary key scoped by a prefixed alias, delete alias and key after.
    let p = plan_for(&request(SOURCE_INSTANCE));
    let v = "vol-0000000000000000b";
    let order: Vec<usize> = [
        "create-temp-key",
        "copy-to-temp-key",
        "share",
        "copy-to-forensic",
        "unshare",
        "delete-temp-snapshot",
        "delete-source-snapshot",
        "delete-temp-key",
    ]
    .iter()
    .map(|id| position(&p, &format!("{id}:{v}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

    let create = step(&p, &format!("create-temp-key:{v}"));
    let key = &create.creates_keys[0];
    assert_eq!(key.arn, format!("arn:aws:kms:eu-west-3:222222222222:key/custody-temp-{v}"));
    assert_eq!(key.aliases, [format!("alias/custody-C1-{v}")]);
    // CreateKey has no resource (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html).
    one(create, "kms:CreateKey", "*");
    // CreateAlias is authorized on both the alias and the key, and only the alias ARN scopes it
    // (https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html).
    let alias_arn = format!("arn:aws:kms:eu-west-3:222222222222:alias/custody-C1-{v}");
    for resource in [alias_arn.as_str(), key.arn.as_str()] {
        let r = one(create, "kms:CreateAlias", resource);
        assert!(!r.context.contains_key("kms:RequestAlias"), "kms:RequestAlias cannot scope CreateAlias");
    }
    // The temporary key's policy admits the forensic role only through EC2, but for DescribeKey: the
    // readiness probe before the copy, which "might take up to five minutes" to be allowed by the
    // new alias (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html).
    let statements = key.policy["Statement"].as_array().unwrap();
    let forensic: Vec<_> = statements.iter().filter(|s| s["Principal"]["AWS"] == FORENSIC_ROLE).collect();
    let (probe, forensic): (Vec<_>, Vec<_>) = forensic.into_iter().partition(|s| s["Action"] == "kms:DescribeKey");
    assert!(!forensic.is_empty());
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0]["Condition"], serde_json::json!({"StringEquals": {"kms:CallerAccount": "111111111111"}}));
    for s in &forensic {
        assert_eq!(s["Condition"]["StringEquals"]["kms:ViaService"][0], "ec2.eu-west-3.amazonaws.com");
        assert_eq!(s["Condition"]["StringEquals"]["kms:CallerAccount"], "111111111111");
    }
    assert!(statements.iter().all(|s| !s["Principal"]["AWS"].as_str().unwrap().ends_with(":root")));

    // The re-encryption copy in the source account: aws/ebs is usable by its own account through EC2.
    let to_temp = step(&p, &format!("copy-to-temp-key:{v}"));
    assert_eq!(to_temp.calls[0].region, "eu-west-3");
    for action in ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:DescribeKey"] {
        let r = one(to_temp, action, SOURCE_EBS_KEY);
        assert_eq!(r.principal, SOURCE_SESSION);
        assert_eq!(ctx(r, "kms:CallerAccount"), "222222222222");
        assert_eq!(ctx(r, "kms:ViaService"), "ec2.eu-west-3.amazonaws.com");
    }
    assert_eq!(ctx(one(to_temp, "kms:Decrypt", SOURCE_EBS_KEY), "kms:EncryptionContext:aws:ebs:id"), v);
    assert_eq!(
        ctx(one(to_temp, "kms:GenerateDataKeyWithoutPlaintext", &key.arn), "kms:EncryptionContext:aws:ebs:id"),
        "snap-temp-0000000000000000b"
    );
    // The forensic copy reads the temporary copy, a CopySnapshot product: aws:ebs:id is its own ID.
    let to_forensic = step(&p, &format!("copy-to-forensic:{v}"));
    let r = one(to_forensic, "kms:Decrypt", &key.arn);
    assert_eq!(r.principal, FORENSIC_SESSION);
    assert_eq!(ctx(r, "kms:EncryptionContext:aws:ebs:id"), "snap-temp-0000000000000000b");
    assert!(requests(to_forensic, "kms:Decrypt", Some(SOURCE_EBS_KEY)).is_empty(), "never aws/ebs cross-account");
    one(
        step(&p, &format!("share:{v}")),
        "ec2:ModifySnapshotAttribute",
        "arn:aws:ec2:eu-west-3::snapshot/snap-temp-0000000000000000b",
    );

    // Cleanup: DeleteAlias on both, ScheduleKeyDeletion with 7 days
    // (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).
    let cleanup = step(&p, &format!("delete-temp-key:{v}"));
    one(cleanup, "kms:DeleteAlias", &alias_arn);
    one(cleanup, "kms:DeleteAlias", &key.arn);
    assert_eq!(
        ctx(one(cleanup, "kms:ScheduleKeyDeletion", &key.arn), "kms:ScheduleKeyDeletionPendingWindowInDays"),
        "7"
    );
    let snaps: Vec<_> =
        p.volumes.iter().find(|x| x.volume_id == v).unwrap().snapshots.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        snaps,
        ["snap-source-0000000000000000b", "snap-temp-0000000000000000b", "snap-evidence-0000000000000000b"]
    );
}

#[test]
fn same_account_paths_copy_under_the_forensic_key_or_keep_the_snapshot() {
    let p = plan_for(&request(FORENSIC_INSTANCE));
    // Unencrypted, already in place: kept, no transfer but the mark as evidence.
    let kept_only = |v: &str| ids(&p).iter().filter(|id| id.ends_with(v)).all(|id| id.starts_with("tag-evidence:"));
    assert!(kept_only("vol-1000000000000000a"));
    // Already under the forensic key: kept.
    assert!(kept_only("vol-1000000000000000d"));
    // aws/ebs and another customer key: copied in place under the forensic key, no share.
    for v in ["vol-1000000000000000b", "vol-1000000000000000c"] {
        let copy = step(&p, &format!("copy-to-forensic:{v}"));
        assert_eq!(copy.calls[0].region, "eu-west-1");
        assert_eq!(requests(copy, "kms:GenerateDataKeyWithoutPlaintext", Some(FORENSIC_KEY_EU1)).len(), 1);
        assert!(!ids(&p).contains(&format!("share:{v}").as_str()));
    }
    let ebs = "arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-4111-8111-111111111111";
    let r = one(step(&p, "copy-to-forensic:vol-1000000000000000b"), "kms:Decrypt", ebs);
    assert_eq!(ctx(r, "kms:CallerAccount"), "111111111111");
}

#[test]
fn cross_region_copies_with_kms_in_each_region() {
    let p = plan_for(&PlanRequest { to_region: Some("eu-west-3".into()), ..request(FORENSIC_INSTANCE) });
    let copy = step(&p, "copy-to-forensic:vol-1000000000000000c");
    assert_eq!(copy.calls[0].region, "eu-west-3");
    let src_key = "arn:aws:kms:eu-west-1:111111111111:key/22222222-2222-4222-8222-222222222222";
    let dst_key = "arn:aws:kms:eu-west-3:111111111111:key/ffffffff-ffff-4fff-8fff-ffffffffffff";
    assert_eq!(ctx(one(copy, "kms:Decrypt", src_key), "kms:ViaService"), "ec2.eu-west-1.amazonaws.com");
    assert_eq!(ctx(one(copy, "kms:ReEncryptTo", dst_key), "kms:ViaService"), "ec2.eu-west-3.amazonaws.com");
    one(copy, "ec2:CopySnapshot", "arn:aws:ec2:eu-west-1::snapshot/snap-source-1000000000000000c");
    // The unencrypted volume is copied across Regions with no KMS request at all.
    let plain = step(&p, "copy-to-forensic:vol-1000000000000000a");
    assert!(plain.calls.iter().flat_map(|c| &c.requests).all(|r| !r.action.starts_with("kms:")));
}

#[test]
fn direct_read_reads_blocks_and_decrypts_as_the_source_role() {
    // EBS direct APIs authorize on the ec2 snapshot ARN; Decrypt through ec2 with aws:ebs:id (map §8).
    let p = plan_for(&PlanRequest { mode: Mode::DirectRead, ..request(SOURCE_INSTANCE) });
    let s = step(&p, "read-blocks:vol-0000000000000000c");
    assert_eq!(s.phase, Phase::Read);
    let arn = "arn:aws:ec2:eu-west-3::snapshot/snap-source-0000000000000000c";
    for action in ["ebs:ListSnapshotBlocks", "ebs:GetSnapshotBlock"] {
        assert_eq!(one(s, action, arn).principal, SOURCE_SESSION);
    }
    let d = one(s, "kms:Decrypt", GRANT_ONLY_KEY);
    assert_eq!(d.principal, SOURCE_SESSION);
    assert_eq!(ctx(d, "kms:ViaService"), "ec2.eu-west-3.amazonaws.com");
    assert_eq!(ctx(d, "kms:EncryptionContext:aws:ebs:id"), "vol-0000000000000000c");
    assert!(requests(step(&p, "read-blocks:vol-0000000000000000a"), "kms:Decrypt", None).is_empty());
    // No share, copy or cleanup: the snapshot stays as the evidence, marked as such (CreateTags).
    let transfer = |s: &&custody_plan::plan::Step| matches!(s.phase, Phase::Transfer | Phase::Cleanup);
    assert!(p.steps.iter().filter(transfer).all(|s| s.id.starts_with("tag-evidence:")));
}

#[test]
fn triage_sends_the_command_on_instance_and_document() {
    // SendCommand is authorized on the instance (ssm:resourceTag) and the AWS-owned document
    // (https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access).
    let p = plan_for(&PlanRequest { triage: true, ..request(SOURCE_INSTANCE) });
    let t = step(&p, "triage");
    assert!(position(&p, "create-snapshots") < position(&p, "triage"));
    let on_instance = one(t, "ssm:SendCommand", "arn:aws:ec2:eu-west-3:222222222222:instance/i-0123456789abcdef0");
    assert_eq!(ctx(on_instance, "ssm:resourceTag/CustodySSMEnabled"), "True");
    one(t, "ssm:SendCommand", "arn:aws:ssm:eu-west-3::document/AWS-RunShellScript");
    one(t, "ssm:GetCommandInvocation", "*");
    assert!(requests(t, "s3:PutObject", None).is_empty(), "no output bucket is configured");
    assert!(p.notes.iter().any(|n| n.contains("24,000")));

    let w = plan_for(&PlanRequest { triage: true, ..request(WINDOWS_INSTANCE) });
    let t = step(&w, "triage");
    one(t, "ssm:SendCommand", "arn:aws:ssm:eu-west-3::document/AWS-RunPowerShellScript");
    assert!(w.notes.iter().any(|n| n.contains("CustodySSMEnabled=True")), "{:?}", w.notes);
    assert!(!plan_for(&request(SOURCE_INSTANCE)).steps.iter().any(|s| s.phase == Phase::Triage));
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    let inv = estate();
    let err = plan(&inv, &request("i-00000000")).unwrap_err();
    assert!(matches!(err, PlanError::UnknownInstance { .. }));
    assert!(err.to_string().contains("`i-00000000` is not in the inventory"), "{err}");

    let err = plan(&inv, &request("i-0123456789abcdef3")).unwrap_err();
    assert!(matches!(&err, PlanError::NoSourceRole { account, .. } if account == "333333333333"), "{err}");
    assert!(err.to_string().contains("config.source_role_arns"));

    let mut no_key = estate();
    no_key.config.forensic_key_arns.clear();
    let err = plan(&no_key, &request(SOURCE_INSTANCE)).unwrap_err();
    assert!(matches!(&err, PlanError::NoForensicKey { region, .. } if region == "eu-west-1"), "{err}");
    // ... but an unencrypted-only cross-account acquisition needs no key.
    plan(&no_key, &request(WINDOWS_INSTANCE)).unwrap();
    // ... and the same-account volumes are kept as they are.
    let kept = plan(&no_key, &request(FORENSIC_INSTANCE)).unwrap();
    assert!(kept.steps.iter().filter(|s| s.phase == Phase::Transfer).all(|s| s.id.starts_with("tag-evidence:")));

    let err =
        plan(&inv, &PlanRequest { case_id: "a case/with spaces".into(), ..request(SOURCE_INSTANCE) }).unwrap_err();
    assert!(matches!(err, PlanError::BadCaseId { .. }));

    let err =
        plan(&inv, &PlanRequest { to_account: Some("444444444444".into()), ..request(SOURCE_INSTANCE) }).unwrap_err();
    assert!(matches!(err, PlanError::NoDestinationRole { .. }), "{err}");

    // A terminated (or terminating) instance has nothing left to snapshot: its volumes marked
    // DeleteOnTermination go with it ("Terminate Amazon EC2 instances",
    // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html). The planner says so
    // instead of planning snapshots of volumes that are gone.
    for state in ["terminated", "shutting-down"] {
        let mut gone = estate();
        gone.instances.iter_mut().filter(|i| i.id == SOURCE_INSTANCE).for_each(|i| i.state = Some(state.into()));
        let err = plan(&gone, &request(SOURCE_INSTANCE)).unwrap_err();
        assert!(matches!(&err, PlanError::InstanceGone { state: s, .. } if s == state), "{err}");
        assert!(err.to_string().contains(&format!("is {state}")) && err.to_string().contains("snapshots or detached"));
    }
    let mut stopped = estate();
    stopped.instances.iter_mut().filter(|i| i.id == SOURCE_INSTANCE).for_each(|i| i.state = Some("stopped".into()));
    plan(&stopped, &request(SOURCE_INSTANCE)).unwrap();
}

#[test]
fn every_request_is_explained_and_placeholders_match_snap_patterns() {
    let inv = estate();
    let mut plans = Vec::new();
    for instance in [SOURCE_INSTANCE, FORENSIC_INSTANCE, WINDOWS_INSTANCE] {
        for mode in [Mode::Auto, Mode::DirectRead] {
            plans.push(plan(&inv, &PlanRequest { mode, triage: true, ..request(instance) }).unwrap());
        }
    }
    plans.push(plan(&inv, &PlanRequest { to_region: Some("eu-west-3".into()), ..request(FORENSIC_INSTANCE) }).unwrap());
    for p in &plans {
        let mut seen = std::collections::BTreeSet::new();
        for s in &p.steps {
            assert!(seen.insert(s.id.clone()), "duplicate step {}", s.id);
            for c in &s.calls {
                for r in &c.requests {
                    assert!(!r.why.is_empty() && !r.why.ends_with('.'), "{} {}", r.action, r.why);
                    assert!(r.source.starts_with("https://docs.aws.amazon.com/"), "{}", r.source);
                    if let Some(id) = r.resource.split("::snapshot/").nth(1) {
                        assert!(id == "*" || id.starts_with("snap-"), "{}", r.resource);
                        assert!(r.resource_account.is_some(), "snapshot ARNs name no account: {}", r.resource);
                    }
                }
            }
        }
        for v in &p.volumes {
            assert!(v.snapshots.iter().all(|s| s.id.starts_with("snap-")));
            assert_eq!(v.snapshots.iter().filter(|s| s.evidence).count(), 1);
        }
    }
}
