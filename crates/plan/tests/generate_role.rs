//! `role_policies`: every generated document parses with the engine, nothing appears that the
//! features and KMS mode do not need, and each statement allows the request it is for (and refuses
//! its near neighbours), decided by the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{role_policies, Feature, GeneratedRolePolicies, KmsMode, RoleOptions};
use custody_plan::inventory::Tag;
use custody_policy::error::JsonPath;
use custody_policy::{evaluate, parse_case, parse_policy, DecisionKind, PolicyKind};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const F: &str = "111111111111";
const S: &str = "222222222222";
const FORENSIC: &str = "arn:aws:sts::111111111111:assumed-role/CustodyForensic/custody-case-1";
const FORENSIC_ROLE: &str = "arn:aws:iam::111111111111:role/CustodyForensic";
const SOURCE: &str = "arn:aws:sts::222222222222:assumed-role/CustodySource/custody-case-1";
const SOURCE_KEY: &str = "arn:aws:kms:eu-west-3:222222222222:key/1111aaaa-2222-3333-4444-555566667777";
const FORENSIC_KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

fn options(features: &[Feature], kms: KmsMode) -> RoleOptions {
    RoleOptions {
        features: features.iter().copied().collect(),
        kms,
        ssm_tag: Some(Tag { key: "CustodySSMEnabled".into(), value: "True".into() }),
        forensic_account: Some(F.into()),
        source_accounts: vec![S.into()],
        ..RoleOptions::default()
    }
}

fn generate(o: &RoleOptions) -> GeneratedRolePolicies {
    o.validate().unwrap();
    role_policies(o)
}

/// Every option combination worth trying: each non-empty feature set, each KMS mode, accounts and
/// regions given or not, the tag given or not, the forensic account a source account or not.
fn matrix() -> Vec<RoleOptions> {
    let mut out = Vec::new();
    for bits in 1..(1u32 << Feature::ALL.len()) {
        let features: Vec<Feature> =
            Feature::ALL.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, f)| *f).collect();
        for kms in KmsMode::ALL {
            let base = options(&features, kms);
            out.push(base.clone());
            out.push(RoleOptions { forensic_account: None, source_accounts: vec![], ssm_tag: None, ..base.clone() });
            out.push(RoleOptions {
                regions: vec!["eu-west-1".into(), "us-east-1".into()],
                forensic_region: Some("eu-west-3".into()),
                source_accounts: vec![S.into(), F.into(), "333333333333".into()],
                ..base.clone()
            });
            out.push(RoleOptions { source_accounts: vec![F.into()], regions: vec!["eu-west-1".into()], ..base });
        }
    }
    out
}

fn statements(policy: &Option<Value>) -> Vec<Value> {
    policy.as_ref().map(|p| p["Statement"].as_array().unwrap().clone()).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The actions the acquiring roles are allowed (the Deny that protects evidence names actions too).
fn actions(g: &GeneratedRolePolicies) -> BTreeSet<String> {
    statements(&g.forensic_role.policy)
        .iter()
        .chain(&statements(&g.source_role.policy))
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

#[test]
fn every_generated_document_parses_with_the_engine() {
    for o in matrix() {
        let g = generate(&o);
        let custodian = g.custodian_role.as_ref().and_then(|c| c.policy.clone());
        for (name, doc, kind) in [
            ("forensic", &g.forensic_role.policy, PolicyKind::Identity),
            ("source", &g.source_role.policy, PolicyKind::Identity),
            ("trust", &g.source_trust_policy, PolicyKind::Resource),
            ("custodian", &custodian, PolicyKind::Identity),
        ] {
            if let Some(doc) = doc {
                parse_policy(doc, kind, &JsonPath::root(name)).unwrap_or_else(|e| panic!("{o:?} {name}: {e}\n{doc:#}"));
            }
        }
    }
}

#[test]
fn sids_are_unique_alphanumeric_and_explained() {
    for o in matrix() {
        let g = generate(&o);
        for role in [&g.forensic_role, &g.source_role].into_iter().chain(&g.custodian_role) {
            let sids: Vec<String> =
                statements(&role.policy).iter().map(|s| s["Sid"].as_str().unwrap().to_string()).collect();
            let explained: Vec<String> = role.statements.iter().map(|i| i.sid.clone()).collect();
            assert_eq!(sids, explained, "{o:?}");
            assert_eq!(sids.iter().collect::<BTreeSet<_>>().len(), sids.len(), "duplicate Sid: {sids:?}");
            for i in &role.statements {
                // IAM Sids: ASCII letters and digits only (IAM User Guide, "IAM JSON policy elements: Sid").
                assert!(i.sid.chars().all(|c| c.is_ascii_alphanumeric()), "{}", i.sid);
                assert!(i.doc.starts_with("https://docs.aws.amazon.com/"), "{}: {}", i.sid, i.doc);
                assert!(!i.purpose.is_empty());
            }
        }
    }
}

#[test]
fn without_a_feature_none_of_its_actions_appear() {
    for o in matrix() {
        let g = generate(&o);
        let a = actions(&g);
        let has = |f| o.features.contains(&f);
        let any = |p: &str| a.iter().any(|x| x.starts_with(p));
        assert_eq!(any("ssm:"), has(Feature::Triage), "{o:?}: {a:?}");
        assert_eq!(a.contains("ec2:DeleteSnapshot"), has(Feature::Cleanup), "{o:?}: {a:?}");
        assert_eq!(any("ebs:"), has(Feature::Image) || has(Feature::DirectRead), "{o:?}: {a:?}");
        assert_eq!(a.contains("ec2:CreateSnapshots"), has(Feature::Acquire), "{o:?}: {a:?}");
        assert_eq!(a.contains("ec2:CopySnapshot"), has(Feature::Acquire), "{o:?}: {a:?}");
        assert_eq!(a.contains("ec2:CreateVolume"), has(Feature::Volume), "{o:?}: {a:?}");
        assert_eq!(any("cloudtrail:"), has(Feature::Audit), "{o:?}: {a:?}");
        // Direct read marks the snapshot it reads in place as evidence.
        if !has(Feature::Acquire) && !has(Feature::Volume) && !has(Feature::DirectRead) {
            assert!(!a.contains("ec2:CreateTags"), "{o:?}");
        }
        if !has(Feature::Acquire) {
            for x in ["kms:CreateKey", "kms:CreateGrant", "kms:CreateAlias", "kms:Encrypt"] {
                assert!(!a.contains(x), "{o:?}: {x}");
            }
        }
        if !has(Feature::Cleanup) {
            assert!(!a.contains("kms:DeleteAlias"), "{o:?}");
        }
        // Actions custody never needs in any mode.
        for x in ["kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"] {
            assert!(!a.contains(x), "{o:?}: {x}");
        }
        assert!(!a.iter().any(|x| x.ends_with(":*") || x == "*"), "{o:?}: {a:?}");
        // The source role is assumed only when it has something to do, and then trusts the forensic role only.
        let assumes = a.contains("sts:AssumeRole");
        assert_eq!(assumes, g.source_role.policy.is_some(), "{o:?}");
        if let Some(trust) = &g.source_trust_policy {
            assert_eq!(
                trust["Statement"][0]["Principal"],
                json!({"AWS": format!("arn:aws:iam::{F}:role/CustodyForensic")})
            );
        }
    }
}

#[test]
fn the_kms_mode_decides_who_gets_which_key_permission() {
    let features = [Feature::Acquire, Feature::Cleanup];
    let source_creates_grants = |g: &GeneratedRolePolicies| {
        statements(&g.source_role.policy).iter().any(|s| s["Sid"] == "AcquireGrantForensicRoleUseOfSourceKeys")
    };
    let forensic_uses_source_keys = |g: &GeneratedRolePolicies| {
        statements(&g.forensic_role.policy).iter().any(|s| s["Sid"] == "AcquireUseSourceKeysViaEc2")
    };
    let grant_only = generate(&options(&features, KmsMode::GrantOnly));
    assert!(source_creates_grants(&grant_only) && !forensic_uses_source_keys(&grant_only));
    let direct = generate(&options(&features, KmsMode::Direct));
    assert!(!source_creates_grants(&direct) && forensic_uses_source_keys(&direct));
    let owner = generate(&options(&features, KmsMode::OwnerGrants));
    assert!(!source_creates_grants(&owner) && !forensic_uses_source_keys(&owner));
}

#[test]
fn no_statement_repeats_what_another_allows() {
    for o in matrix() {
        let g = generate(&o);
        let custodian = g.custodian_role.as_ref().map(|c| &c.policy);
        for policy in [&g.forensic_role.policy, &g.source_role.policy].into_iter().chain(custodian) {
            let st = statements(policy);
            for (i, a) in st.iter().enumerate() {
                for (j, b) in st.iter().enumerate() {
                    let within = |k: &str| strings(&a[k]).iter().all(|x| strings(&b[k]).contains(x));
                    let covered = a["Effect"] == b["Effect"]
                        && within("Action")
                        && within("Resource")
                        && (b.get("Condition").is_none() || b.get("Condition") == a.get("Condition"));
                    assert!(i == j || !covered, "{o:?}: {} is covered by {}", a["Sid"], b["Sid"]);
                }
            }
        }
    }
}

#[test]
fn a_missing_forensic_region_is_added_to_the_regions_and_said() {
    let o = RoleOptions {
        regions: vec!["eu-west-3".into()],
        forensic_region: Some("eu-west-1".into()),
        ..options(&[Feature::Acquire], KmsMode::GrantOnly)
    };
    let g = generate(&o);
    assert_eq!(g.regions, ["eu-west-3", "eu-west-1"]);
    assert!(g.notes.iter().any(|n| n.contains("added the forensic region `eu-west-1`")), "{:?}", g.notes);
    let text = g.forensic_role.policy.unwrap().to_string();
    assert!(text.contains("ec2.eu-west-1.amazonaws.com") && text.contains("arn:aws:ec2:eu-west-1::snapshot/*"));
}

#[test]
fn bad_options_are_refused() {
    let good = options(&[Feature::Acquire], KmsMode::GrantOnly);
    let bad = [
        RoleOptions { features: BTreeSet::new(), ..good.clone() },
        RoleOptions { forensic_account: Some("12345".into()), ..good.clone() },
        RoleOptions { source_accounts: vec!["abc".into()], ..good.clone() },
        RoleOptions { regions: vec!["Europe".into()], ..good.clone() },
        RoleOptions { forensic_region: Some("*".into()), ..good.clone() },
        RoleOptions { alias_prefix: "aws/ebs".into(), ..good.clone() },
        RoleOptions { alias_prefix: "a*".into(), ..good.clone() },
        RoleOptions { source_role_name: "a:b".into(), ..good.clone() },
        RoleOptions { ssm_tag: Some(Tag { key: "aws:x".into(), value: "1".into() }), ..good.clone() },
        RoleOptions { case_tag_key: String::new(), ..good.clone() },
    ];
    for o in bad {
        assert!(o.validate().is_err(), "{o:?}");
    }
    assert_eq!("acquire,image".split(',').map(str::parse::<Feature>).collect::<Result<Vec<_>, _>>().unwrap().len(), 2);
    assert!("bogus".parse::<Feature>().unwrap_err().help().contains("acquire"));
    assert!("option-2".parse::<KmsMode>().is_err());
}

// ---- the engine decides each statement's request --------------------------------------------------

/// The engine's decision for `request` with `identity` as the caller's only identity policy; `rest`
/// adds the key policy, grants or trust policy.
fn decide(identity: &Option<Value>, request: Value, rest: Value) -> DecisionKind {
    let mut case = json!({"request": request, "identity_policies": identity.iter().collect::<Vec<_>>()});
    for (k, v) in rest.as_object().unwrap() {
        case[k] = v.clone();
    }
    evaluate(&parse_case(&case.to_string()).unwrap()).kind
}

fn req(principal: &str, action: &str, resource: &str, context: Value) -> Value {
    json!({"principal": principal, "action": action, "resource": resource, "context": context})
}

/// A key policy that delegates to the key account's IAM policies (the default key policy).
fn delegating(account: &str) -> Value {
    json!({"resource_policy": {"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions",
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"}]}})
}

use DecisionKind::{Allowed, ImplicitDeny};

#[test]
fn the_forensic_role_copies_and_tags_only_on_create() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let p = &g.forensic_role.policy;
    let none = json!({});
    for snap in ["arn:aws:ec2:eu-west-1::snapshot/snap-1", "arn:aws:ec2:eu-west-1::snapshot/*"] {
        assert_eq!(decide(p, req(FORENSIC, "ec2:CopySnapshot", snap, json!({})), none.clone()), Allowed);
    }
    let tag = |action: Option<&str>| {
        let ctx = action.map(|a| json!({"ec2:CreateAction": a})).unwrap_or(json!({}));
        decide(p, req(FORENSIC, "ec2:CreateTags", "arn:aws:ec2:eu-west-1::snapshot/*", ctx), json!({}))
    };
    assert_eq!(tag(Some("CopySnapshot")), Allowed);
    assert_eq!(tag(Some("CreateVolume")), ImplicitDeny);
    assert_eq!(tag(None), ImplicitDeny, "tagging an existing snapshot is not allowed");
    assert_eq!(
        decide(p, req(FORENSIC, "ec2:DeleteSnapshot", "arn:aws:ec2:eu-west-1::snapshot/snap-1", json!({})), none),
        ImplicitDeny
    );
}

#[test]
fn the_source_role_snapshots_and_shares_only_in_its_accounts() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let p = &g.source_role.policy;
    let none = || json!({});
    let snap = |resource: &str| decide(p, req(SOURCE, "ec2:CreateSnapshots", resource, json!({})), none());
    assert_eq!(snap("arn:aws:ec2:eu-west-3:222222222222:instance/i-1"), Allowed);
    assert_eq!(snap("arn:aws:ec2:eu-west-3:222222222222:volume/vol-1"), Allowed);
    assert_eq!(snap("arn:aws:ec2:eu-west-3::snapshot/*"), Allowed);
    assert_eq!(snap("arn:aws:ec2:eu-west-3:333333333333:instance/i-1"), ImplicitDeny);
    let share = |account: &str| {
        let ctx = json!({"ec2:Add/userId": account, "ec2:Attribute": "createVolumePermission"});
        decide(p, req(SOURCE, "ec2:ModifySnapshotAttribute", "arn:aws:ec2:eu-west-3::snapshot/snap-1", ctx), none())
    };
    assert_eq!(share(F), Allowed);
    assert_eq!(share("999999999999"), ImplicitDeny, "sharing evidence with any other account is refused");
}

#[test]
fn grant_only_the_source_role_grants_the_forensic_role_exactly_the_copy_operations() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let p = &g.source_role.policy;
    let create = |ops: &[&str], grantee: &str, retiring: Option<&str>| {
        let mut ctx =
            json!({"kms:GrantOperations": ops, "kms:GranteePrincipal": grantee, "kms:GrantIsForAWSResource": false});
        if let Some(r) = retiring {
            ctx["kms:RetiringPrincipal"] = json!(r);
        }
        decide(p, req(SOURCE, "kms:CreateGrant", SOURCE_KEY, ctx), delegating(S))
    };
    let ops = ["DescribeKey", "CreateGrant", "Decrypt", "ReEncryptFrom"];
    assert_eq!(create(&ops, FORENSIC_ROLE, Some(FORENSIC_ROLE)), Allowed);
    assert_eq!(create(&["Decrypt"], FORENSIC_ROLE, Some(FORENSIC_ROLE)), Allowed);
    assert_eq!(create(&["Decrypt", "Encrypt"], FORENSIC_ROLE, Some(FORENSIC_ROLE)), ImplicitDeny);
    assert_eq!(create(&["Decrypt", "RetireGrant"], FORENSIC_ROLE, Some(FORENSIC_ROLE)), ImplicitDeny);
    assert_eq!(create(&ops, "arn:aws:iam::999999999999:role/Other", Some(FORENSIC_ROLE)), ImplicitDeny);
    assert_eq!(create(&ops, FORENSIC_ROLE, None), ImplicitDeny, "a grant custody cannot retire is refused");
}

#[test]
fn grant_only_the_forensic_role_uses_and_retires_the_grant_without_any_kms_policy_of_its_own() {
    let g = generate(&options(&[Feature::Acquire, Feature::Cleanup], KmsMode::GrantOnly));
    let p = &g.forensic_role.policy;
    let grant = json!({"grant_id": "g-1", "grantee_principal": FORENSIC_ROLE, "retiring_principal": FORENSIC_ROLE,
        "operations": ["DescribeKey", "CreateGrant", "Decrypt", "ReEncryptFrom"], "issuing_account": S,
        "constraints": {"encryption_context_subset": {"aws:ebs:id": "vol-1"}}});
    let mut with_grant = delegating(S);
    with_grant["grants"] = json!([grant]);
    let ctx = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com", "kms:EncryptionContext:aws:ebs:id": "vol-1"});
    assert_eq!(decide(p, req(FORENSIC, "kms:Decrypt", SOURCE_KEY, ctx.clone()), with_grant.clone()), Allowed);
    assert_eq!(decide(p, req(FORENSIC, "kms:Decrypt", SOURCE_KEY, ctx), delegating(S)), ImplicitDeny);
    let mut retire = req(FORENSIC, "kms:RetireGrant", SOURCE_KEY, json!({}));
    retire["grant_id"] = json!("g-1");
    assert_eq!(decide(p, retire, with_grant), Allowed);
}

#[test]
fn kms_through_ec2_is_allowed_only_through_ec2_in_the_regions_given() {
    let any_region = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let two = generate(&RoleOptions {
        regions: vec!["eu-west-3".into()],
        forensic_region: Some("eu-west-1".into()),
        ..options(&[Feature::Acquire], KmsMode::GrantOnly)
    });
    let call = |g: &GeneratedRolePolicies, via: Option<&str>| {
        let ctx = via.map(|v| json!({"kms:ViaService": v})).unwrap_or(json!({}));
        decide(
            &g.forensic_role.policy,
            req(FORENSIC, "kms:GenerateDataKeyWithoutPlaintext", FORENSIC_KEY, ctx),
            delegating(F),
        )
    };
    assert_eq!(call(&any_region, Some("ec2.ap-south-2.amazonaws.com")), Allowed);
    assert_eq!(call(&any_region, Some("rds.eu-west-1.amazonaws.com")), ImplicitDeny);
    assert_eq!(call(&any_region, None), ImplicitDeny, "custody never calls the key directly");
    assert_eq!(call(&two, Some("ec2.eu-west-1.amazonaws.com")), Allowed, "the forensic region was added");
    assert_eq!(call(&two, Some("ec2.eu-west-3.amazonaws.com")), Allowed);
    assert_eq!(call(&two, Some("ec2.us-east-1.amazonaws.com")), ImplicitDeny);
}

#[test]
fn create_grant_on_the_forensic_key_only_for_aws_resources() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let grant = |for_resource: bool| {
        let ctx = json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com", "kms:GrantIsForAWSResource": for_resource});
        decide(&g.forensic_role.policy, req(FORENSIC, "kms:CreateGrant", FORENSIC_KEY, ctx), delegating(F))
    };
    assert_eq!(grant(true), Allowed);
    assert_eq!(grant(false), ImplicitDeny);
}

#[test]
fn direct_mode_uses_source_keys_through_ec2_with_the_key_policy() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::Direct));
    let p = &g.forensic_role.policy;
    let key_policy = json!({"resource_policy": {"Version": "2012-10-17", "Statement": [{"Sid": "Allow use of the key",
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{F}:root")},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
        "Resource": "*"}]}});
    let via = |extra: Value| {
        let mut ctx = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com"});
        for (k, v) in extra.as_object().unwrap() {
            ctx[k] = v.clone();
        }
        ctx
    };
    for action in ["kms:Decrypt", "kms:ReEncryptFrom", "kms:DescribeKey"] {
        assert_eq!(
            decide(p, req(FORENSIC, action, SOURCE_KEY, via(json!({}))), key_policy.clone()),
            Allowed,
            "{action}"
        );
    }
    let grant = |b: bool| {
        decide(
            p,
            req(FORENSIC, "kms:CreateGrant", SOURCE_KEY, via(json!({"kms:GrantIsForAWSResource": b}))),
            key_policy.clone(),
        )
    };
    assert_eq!(grant(true), Allowed);
    assert_eq!(grant(false), ImplicitDeny);
    // The same key policy without this IAM policy: cross-account use needs both.
    assert_eq!(decide(&None, req(FORENSIC, "kms:Decrypt", SOURCE_KEY, via(json!({}))), key_policy), ImplicitDeny);
}

#[test]
fn the_temporary_key_is_scoped_by_its_alias_prefix() {
    let g = generate(&options(&[Feature::Acquire, Feature::Cleanup], KmsMode::GrantOnly));
    let s = &g.source_role.policy;
    let key = "arn:aws:kms:eu-west-3:222222222222:key/custody-temp";
    let alias = |name: &str, action: &str| {
        decide(
            s,
            req(SOURCE, action, &format!("arn:aws:kms:eu-west-3:222222222222:alias/{name}"), json!({})),
            json!({}),
        )
    };
    assert_eq!(alias("custody-case-1-vol-1", "kms:CreateAlias"), Allowed);
    assert_eq!(alias("custody-case-1-vol-1", "kms:DeleteAlias"), Allowed);
    assert_eq!(alias("app", "kms:CreateAlias"), ImplicitDeny);
    assert_eq!(alias("app", "kms:DeleteAlias"), ImplicitDeny);
    let create_key = |tags: Value| decide(s, req(SOURCE, "kms:CreateKey", "*", tags), json!({}));
    assert_eq!(create_key(json!({"aws:RequestTag/CustodyCase": "case-1"})), Allowed);
    assert_eq!(create_key(json!({})), ImplicitDeny, "an untagged key is refused");
    // The forensic role copies from the temporary key (its key policy names the role; cross-account
    // use needs the IAM side too), recognised by its alias.
    let f = &g.forensic_role.policy;
    let key_policy = json!({"resource_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": FORENSIC_ROLE}, "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom"], "Resource": "*"}]}});
    let decrypt = |aliases: Value| {
        let ctx = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com", "kms:ResourceAliases": aliases});
        decide(f, req(FORENSIC, "kms:Decrypt", key, ctx), key_policy.clone())
    };
    assert_eq!(decrypt(json!(["alias/custody-case-1-vol-1"])), Allowed);
    assert_eq!(decrypt(json!(["alias/app"])), ImplicitDeny);
    assert_eq!(decrypt(json!([])), ImplicitDeny);
    // The readiness probe before the copy: DescribeKey made directly, allowed only by the alias, which
    // "might take up to five minutes" to authorize (KMS Developer Guide, alias-authorization.html).
    let direct = |action: &str, aliases: Value| {
        decide(f, req(FORENSIC, action, key, json!({"kms:ResourceAliases": aliases})), key_policy.clone())
    };
    assert_eq!(direct("kms:DescribeKey", json!(["alias/custody-case-1-vol-1"])), Allowed);
    assert_eq!(direct("kms:DescribeKey", json!(["alias/app"])), ImplicitDeny);
    assert_eq!(direct("kms:DescribeKey", json!([])), ImplicitDeny);
    // Nothing else without EC2.
    assert_eq!(direct("kms:Decrypt", json!(["alias/custody-case-1-vol-1"])), ImplicitDeny);
}

#[test]
fn triage_only_on_tagged_instances_with_the_shell_documents() {
    let g = generate(&options(&[Feature::Triage], KmsMode::GrantOnly));
    let p = &g.source_role.policy;
    let instance = "arn:aws:ec2:eu-west-3:222222222222:instance/i-0abc";
    let send = |resource: &str, ctx: Value| decide(p, req(SOURCE, "ssm:SendCommand", resource, ctx), json!({}));
    assert_eq!(send(instance, json!({"ssm:resourceTag/CustodySSMEnabled": "True"})), Allowed);
    assert_eq!(send(instance, json!({})), ImplicitDeny, "an instance without the tag");
    assert_eq!(send(instance, json!({"ssm:resourceTag/CustodySSMEnabled": "False"})), ImplicitDeny);
    assert_eq!(send("arn:aws:ssm:eu-west-3::document/AWS-RunShellScript", json!({})), Allowed);
    assert_eq!(send("arn:aws:ssm:eu-west-3::document/AWS-RunPowerShellScript", json!({})), Allowed);
    assert_eq!(send("arn:aws:ssm:eu-west-3::document/AWS-ApplyPatchBaseline", json!({})), ImplicitDeny);
    assert_eq!(decide(p, req(SOURCE, "ssm:GetCommandInvocation", "*", json!({})), json!({})), Allowed);
}

#[test]
fn cleanup_deletes_only_what_custody_runs_created() {
    let g = generate(&options(&[Feature::Cleanup], KmsMode::GrantOnly));
    let p = &g.source_role.policy;
    let snap = "arn:aws:ec2:eu-west-3::snapshot/snap-1";
    let delete = |ctx: Value| decide(p, req(SOURCE, "ec2:DeleteSnapshot", snap, ctx), json!({}));
    let run = "r-20261203T101500Z-3f9a2c1b";
    assert_eq!(delete(json!({"aws:ResourceTag/CustodyCase": "case-1", "aws:ResourceTag/CustodyRun": run})), Allowed);
    assert_eq!(delete(json!({"aws:ResourceTag/CustodyCase": "case-1"})), ImplicitDeny, "the case tag alone");
    assert_eq!(delete(json!({"aws:ResourceTag/Name": "prod-db"})), ImplicitDeny);
    let unshare = |ctx: Value| decide(p, req(SOURCE, "ec2:ModifySnapshotAttribute", snap, ctx), json!({}));
    assert_eq!(unshare(json!({"aws:ResourceTag/CustodyCase": "case-1", "ec2:Remove/userId": F})), Allowed);
    assert_eq!(
        unshare(json!({"aws:ResourceTag/CustodyCase": "case-1", "ec2:Add/userId": F})),
        ImplicitDeny,
        "cleanup cannot share"
    );
}

#[test]
fn image_reads_blocks_and_decrypts_through_ec2() {
    let g = generate(&options(&[Feature::Image], KmsMode::GrantOnly));
    let p = &g.forensic_role.policy;
    assert!(g.source_role.policy.is_none() && g.source_trust_policy.is_none(), "image needs no source role");
    let snap = "arn:aws:ec2:eu-west-1::snapshot/snap-1";
    assert_eq!(decide(p, req(FORENSIC, "ebs:GetSnapshotBlock", snap, json!({})), json!({})), Allowed);
    assert_eq!(decide(p, req(FORENSIC, "ebs:ListSnapshotBlocks", snap, json!({})), json!({})), Allowed);
    assert_eq!(decide(p, req(FORENSIC, "ebs:PutSnapshotBlock", snap, json!({})), json!({})), ImplicitDeny);
    let ctx = json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com"});
    assert_eq!(decide(p, req(FORENSIC, "kms:Decrypt", FORENSIC_KEY, ctx), delegating(F)), Allowed);
}

#[test]
fn the_source_role_trusts_the_forensic_role_only() {
    let g = generate(&options(&[Feature::Acquire], KmsMode::GrantOnly));
    let role = "arn:aws:iam::222222222222:role/CustodySource";
    let trust = json!({"resource_policy": g.source_trust_policy.clone().unwrap()});
    assert_eq!(
        decide(&g.forensic_role.policy, req(FORENSIC, "sts:AssumeRole", role, json!({})), trust.clone()),
        Allowed
    );
    let anything = Some(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}),
    );
    let other = "arn:aws:sts::111111111111:assumed-role/SomeoneElse/s";
    assert_eq!(decide(&anything, req(other, "sts:AssumeRole", role, json!({})), trust), ImplicitDeny);
}

#[test]
fn the_forensic_account_as_a_source_gives_the_forensic_role_the_source_steps_for_its_own_account() {
    let g = generate(&RoleOptions {
        source_accounts: vec![F.into()],
        ..options(&[Feature::Acquire, Feature::Triage], KmsMode::GrantOnly)
    });
    assert!(g.source_role.policy.is_none() && g.source_trust_policy.is_none(), "no other account: no source role");
    let p = &g.forensic_role.policy;
    let own = "arn:aws:ec2:eu-west-1:111111111111:instance/i-1";
    assert_eq!(decide(p, req(FORENSIC, "ec2:CreateSnapshots", own, json!({})), json!({})), Allowed);
    assert_eq!(
        decide(
            p,
            req(FORENSIC, "ec2:CreateSnapshots", "arn:aws:ec2:eu-west-1:222222222222:instance/i-1", json!({})),
            json!({})
        ),
        ImplicitDeny
    );
    let ctx = json!({"kms:ViaService": "ec2.eu-west-1.amazonaws.com"});
    assert_eq!(decide(p, req(FORENSIC, "kms:Decrypt", FORENSIC_KEY, ctx), delegating(F)), Allowed, "copy in place");
    let a = actions(&g);
    assert!(
        !a.contains("sts:AssumeRole") && !a.contains("ec2:ModifySnapshotAttribute") && !a.contains("kms:CreateKey"),
        "{a:?}"
    );
}
