//! `key_policy`: the three ways to open a key (grant-only, direct use, key-owner grant) for custody's
//! roles, with exactly the operations custody's copies need; service-linked roles and keys in another
//! account reproduce AWS's documented example (same statements, actions, conditions, principals,
//! command, IAM policy); the engine shows each statement allows what it is for and refuses the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{key_policy, GenerateError, KeyAccess, KeyOptions, KeyPolicyAdvice};
use custody_policy::error::JsonPath;
use custody_policy::{evaluate, parse_case, parse_policy, DecisionKind, PolicyKind};
use serde_json::{json, Value};
use DecisionKind::{Allowed, ImplicitDeny};

const SLR_SAME: &str =
    "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
const KEY_SAME: &str = "arn:aws:kms:us-west-2:123456789012:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
const SLR_EXTERNAL: &str =
    "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
const KEY_EXTERNAL: &str = "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
const ROLE: &str = "arn:aws:iam::111111111111:role/CustodyResponse";
const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/CustodyResponse/custody-case-1";
const KEY_F: &str = "arn:aws:kms:eu-west-1:111111111111:key/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const KEY_S: &str = "arn:aws:kms:eu-west-3:222222222222:key/1111aaaa-2222-3333-4444-555566667777";

/// Seed 003, example 1, the two statements as printed (Amazon EC2 Auto Scaling User Guide, "Required
/// AWS KMS key policy for use with encrypted volumes").
const SEED_003_EXAMPLE_1: &str = r#"[
{
   "Sid": "Allow service-linked role use of the customer managed key",
   "Effect": "Allow",
   "Principal": {
       "AWS": [
           "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
       ]
   },
   "Action": [
       "kms:Encrypt",
       "kms:Decrypt",
       "kms:ReEncrypt*",
       "kms:GenerateDataKey*",
       "kms:DescribeKey"
   ],
   "Resource": "*"
},
{
   "Sid": "Allow attachment of persistent resources",
   "Effect": "Allow",
   "Principal": {
       "AWS": [
           "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
       ]
   },
   "Action": [
       "kms:CreateGrant"
   ],
   "Resource": "*",
   "Condition": {
       "Bool": {
           "kms:GrantIsForAWSResource": true
       }
    }
}]"#;

/// Seed 003, example 2: the key-policy statements, the create-grant command and the IAM policy.
const SEED_003_EXAMPLE_2: &str = r#"[
{
   "Sid": "Allow external account 111122223333 use of the customer managed key",
   "Effect": "Allow",
   "Principal": {
       "AWS": [
           "arn:aws:iam::111122223333:root"
       ]
   },
   "Action": [
       "kms:Encrypt",
       "kms:Decrypt",
       "kms:ReEncrypt*",
       "kms:GenerateDataKey*",
       "kms:DescribeKey"
   ],
   "Resource": "*"
},
{
   "Sid": "Allow attachment of persistent resources in external account 111122223333",
   "Effect": "Allow",
   "Principal": {
       "AWS": [
           "arn:aws:iam::111122223333:root"
       ]
   },
   "Action": [
       "kms:CreateGrant"
   ],
   "Resource": "*"
}]"#;

const SEED_003_COMMAND: &str = r#"aws kms create-grant \
  --region us-west-2 \
  --key-id arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d \
  --grantee-principal arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling \
  --operations "Encrypt" "Decrypt" "ReEncryptFrom" "ReEncryptTo" "GenerateDataKey" "GenerateDataKeyWithoutPlaintext" "DescribeKey" "CreateGrant""#;

const SEED_003_GRANT_CREATOR: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AllowCreationOfGrantForTheKMSKeyinExternalAccount444455556666",
      "Effect": "Allow",
      "Action": "kms:CreateGrant",
      "Resource": "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
    }
  ]
}"#;

fn advice(key: &str, principal: &str, option: KeyAccess) -> KeyPolicyAdvice {
    key_policy(&KeyOptions { key_arn: key.into(), principal_arn: principal.into(), access: option, grantee_arn: None })
        .unwrap()
}

fn key_policy_doc(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Every document of the advice parses with the engine: statements as a key policy, the rest as IAM.
fn assert_parses(a: &KeyPolicyAdvice) {
    if !a.key_policy_statements.is_empty() {
        parse_policy(&key_policy_doc(&a.key_policy_statements), PolicyKind::Resource, &JsonPath::root("key")).unwrap();
    }
    for doc in a.grant_creator_policy.iter().chain(&a.principal_policy) {
        parse_policy(doc, PolicyKind::Identity, &JsonPath::root("iam")).unwrap();
    }
}

fn decide(request: Value, case: Value) -> DecisionKind {
    let mut case = case;
    case["request"] = request;
    evaluate(&parse_case(&case.to_string()).unwrap()).kind
}

fn req(principal: &str, action: &str, resource: &str, context: Value) -> Value {
    json!({"principal": principal, "action": action, "resource": resource, "context": context})
}

#[test]
fn a_service_linked_role_with_direct_use_gets_awss_example_1() {
    let a = advice(KEY_SAME, SLR_SAME, KeyAccess::DirectUse);
    let seed: Vec<Value> = serde_json::from_str(SEED_003_EXAMPLE_1).unwrap();
    assert_eq!(a.key_policy_statements, seed);
    assert!(a.service_linked_role && !a.cross_account);
    assert!(a.create_grant.is_none() && a.grant_creator_policy.is_none() && a.principal_policy.is_none());
    assert_parses(&a);
}

#[test]
fn a_key_in_another_account_gets_seed_003_example_2() {
    let a = advice(KEY_EXTERNAL, SLR_EXTERNAL, KeyAccess::DirectUse);
    let seed: Vec<Value> = serde_json::from_str(SEED_003_EXAMPLE_2).unwrap();
    assert_eq!(a.key_policy_statements, seed);
    let grant = a.create_grant.as_ref().unwrap();
    assert_eq!(grant.command, SEED_003_COMMAND);
    assert_eq!(grant.run_in_account, "111122223333");
    assert_eq!(
        grant.operations,
        [
            "Encrypt",
            "Decrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "DescribeKey",
            "CreateGrant"
        ]
    );
    let creator: Value = serde_json::from_str(SEED_003_GRANT_CREATOR).unwrap();
    assert_eq!(a.grant_creator_policy.as_ref().unwrap(), &creator);
    assert!(a.principal_policy.is_none(), "a service-linked role's policies cannot be edited: the grant is the way");
    assert_parses(&a);
}

#[test]
fn seed_003_example_2_works_end_to_end_in_the_engine() {
    let a = advice(KEY_EXTERNAL, SLR_EXTERNAL, KeyAccess::DirectUse);
    let key_policy = key_policy_doc(&a.key_policy_statements);
    // A role of the external account creates the grant: key policy (its account) + its IAM policy.
    let admin = "arn:aws:sts::111122223333:assumed-role/Admin/s";
    let create = req(
        admin,
        "kms:CreateGrant",
        KEY_EXTERNAL,
        json!({"kms:GrantOperations": a.create_grant.as_ref().unwrap().operations}),
    );
    let with_iam =
        json!({"resource_policy": key_policy, "identity_policies": [a.grant_creator_policy.clone().unwrap()]});
    assert_eq!(decide(create.clone(), with_iam), Allowed);
    assert_eq!(
        decide(create, json!({"resource_policy": key_policy})),
        ImplicitDeny,
        "the account's access alone gives no role access"
    );
    // The service-linked role then uses the key through the grant alone.
    let grant = json!({"grant_id": "g", "grantee_principal": SLR_EXTERNAL, "operations": a.create_grant.unwrap().operations,
        "issuing_account": "111122223333"});
    let slr_session = "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling";
    let decrypt =
        req(slr_session, "kms:Decrypt", KEY_EXTERNAL, json!({"kms:ViaService": "ec2.us-west-2.amazonaws.com"}));
    assert_eq!(decide(decrypt.clone(), json!({"resource_policy": key_policy, "grants": [grant]})), Allowed);
    assert_eq!(decide(decrypt, json!({"resource_policy": key_policy})), ImplicitDeny);
}

#[test]
fn direct_use_allows_the_copy_operations_and_create_grant_only_for_aws_resources() {
    let a = advice(KEY_F, ROLE, KeyAccess::DirectUse);
    assert_eq!(a.key_policy_statements[0]["Sid"], "Allow use of the key by custody");
    assert_eq!(a.key_policy_statements[1]["Sid"], "Allow attachment of persistent resources by custody");
    assert_parses(&a);
    let case = json!({"resource_policy": key_policy_doc(&a.key_policy_statements)});
    let grant =
        |b: bool| decide(req(SESSION, "kms:CreateGrant", KEY_F, json!({"kms:GrantIsForAWSResource": b})), case.clone());
    assert_eq!(grant(true), Allowed);
    assert_eq!(grant(false), ImplicitDeny);
    for action in [
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:DescribeKey",
    ] {
        assert_eq!(decide(req(SESSION, action, KEY_F, json!({})), case.clone()), Allowed, "{action}");
    }
    // A copy never encrypts data with the key itself: Encrypt is not given.
    assert_eq!(decide(req(SESSION, "kms:Encrypt", KEY_F, json!({})), case.clone()), ImplicitDeny);
    assert_eq!(decide(req(SESSION, "kms:ScheduleKeyDeletion", KEY_F, json!({})), case.clone()), ImplicitDeny);
    let other = "arn:aws:sts::111111111111:assumed-role/Other/s";
    assert_eq!(decide(req(other, "kms:Decrypt", KEY_F, json!({})), case), ImplicitDeny);
}

#[test]
fn direct_use_across_accounts_names_the_role_and_gives_its_iam_policy() {
    let a = advice(KEY_S, ROLE, KeyAccess::DirectUse);
    assert!(a.cross_account && a.create_grant.is_none());
    for s in &a.key_policy_statements {
        assert_eq!(s["Principal"]["AWS"], ROLE, "the role, not its account's root: {s}");
    }
    let principal_policy = a.principal_policy.clone().unwrap();
    assert_parses(&a);
    let key_policy = key_policy_doc(&a.key_policy_statements);
    let via = json!({"kms:ViaService": "ec2.eu-west-3.amazonaws.com"});
    let decrypt = req(SESSION, "kms:Decrypt", KEY_S, via.clone());
    let both = json!({"resource_policy": key_policy, "identity_policies": [principal_policy]});
    assert_eq!(decide(decrypt.clone(), both.clone()), Allowed);
    assert_eq!(decide(decrypt, json!({"resource_policy": key_policy})), ImplicitDeny, "cross-account use needs both");
    let mut grant_ctx = via;
    grant_ctx["kms:GrantIsForAWSResource"] = json!(true);
    assert_eq!(decide(req(SESSION, "kms:CreateGrant", KEY_S, grant_ctx.clone()), both.clone()), Allowed);
    grant_ctx["kms:GrantIsForAWSResource"] = json!(false);
    assert_eq!(decide(req(SESSION, "kms:CreateGrant", KEY_S, grant_ctx), both), ImplicitDeny);
}

#[test]
fn grant_only_lets_the_principal_create_only_custodys_grants_for_the_grantee() {
    let source_role = "arn:aws:iam::222222222222:role/CustodySource";
    let a = key_policy(&KeyOptions {
        key_arn: KEY_S.into(),
        principal_arn: source_role.into(),
        access: KeyAccess::GrantOnly,
        grantee_arn: Some(ROLE.into()),
    })
    .unwrap();
    assert_eq!(
        a.key_policy_statements.len(),
        1,
        "CreateGrant alone: no DescribeKey beside a grant-operations condition"
    );
    assert!(a.notes.iter().any(|n| n.contains("retires it")), "{:?}", a.notes);
    assert_parses(&a);
    let case = json!({"resource_policy": key_policy_doc(&a.key_policy_statements)});
    let source = "arn:aws:sts::222222222222:assumed-role/CustodySource/custody-case-1";
    let create = |grantee: &str, ops: &[&str]| {
        let context = json!({"kms:GrantOperations": ops, "kms:GranteePrincipal": grantee});
        decide(req(source, "kms:CreateGrant", KEY_S, context), case.clone())
    };
    assert_eq!(create(ROLE, &["DescribeKey", "CreateGrant", "Decrypt", "ReEncryptFrom"]), Allowed);
    assert_eq!(create(ROLE, &["Decrypt", "Encrypt"]), ImplicitDeny, "an operation custody's grants do not carry");
    assert_eq!(
        create("arn:aws:iam::222222222222:role/Someone", &["Decrypt"]),
        ImplicitDeny,
        "kms:GranteePrincipal: grants for no one but the grantee"
    );
    assert_eq!(decide(req(source, "kms:DescribeKey", KEY_S, json!({})), case.clone()), ImplicitDeny);
    assert_eq!(decide(req(source, "kms:Decrypt", KEY_S, json!({})), case), ImplicitDeny, "no direct use of the key");
}

#[test]
fn grant_only_across_accounts_needs_the_principals_iam_policy_too() {
    let a = advice(KEY_S, ROLE, KeyAccess::GrantOnly);
    let iam = a.principal_policy.clone().unwrap();
    assert_parses(&a);
    let key_policy = key_policy_doc(&a.key_policy_statements);
    let create = req(
        SESSION,
        "kms:CreateGrant",
        KEY_S,
        json!({"kms:GrantOperations": ["Decrypt"], "kms:GranteePrincipal": ROLE}),
    );
    assert_eq!(decide(create.clone(), json!({"resource_policy": key_policy, "identity_policies": [iam]})), Allowed);
    assert_eq!(decide(create, json!({"resource_policy": key_policy})), ImplicitDeny);
}

#[test]
fn grant_only_is_refused_for_a_service_linked_role() {
    let e = key_policy(&KeyOptions {
        key_arn: KEY_SAME.into(),
        principal_arn: SLR_SAME.into(),
        access: KeyAccess::GrantOnly,
        grantee_arn: None,
    })
    .unwrap_err();
    assert!(matches!(e, GenerateError::ServiceLinkedRoleCannotCreateGrants(_)));
    assert!(e.help().contains("direct-use"));
}

#[test]
fn owner_grant_is_a_grant_by_the_key_owner_with_custodys_operations() {
    let a = advice(KEY_S, ROLE, KeyAccess::OwnerGrant);
    assert!(a.key_policy_statements.is_empty());
    let g = a.create_grant.as_ref().unwrap();
    assert_eq!(g.run_in_account, "222222222222");
    assert_eq!(
        g.command,
        format!(
            "aws kms create-grant \\\n  --region eu-west-3 \\\n  --key-id {KEY_S} \\\n  --grantee-principal {ROLE} \\\n  --operations \"CreateGrant\" \"Decrypt\" \"DescribeKey\" \"GenerateDataKey\" \"GenerateDataKeyWithoutPlaintext\" \"ReEncryptFrom\" \"ReEncryptTo\" \\\n  --retiring-principal {ROLE}"
        )
    );
    assert_parses(&a);
    // The grant alone lets the forensic role (another account) decrypt through it, without IAM.
    let grant = json!({"grant_id": "g", "grantee_principal": ROLE, "operations": g.operations, "issuing_account": "222222222222"});
    let case = json!({"resource_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"}]}, "grants": [grant]});
    assert_eq!(decide(req(SESSION, "kms:Decrypt", KEY_S, json!({})), case.clone()), Allowed);
    assert_eq!(decide(req(SESSION, "kms:Encrypt", KEY_S, json!({})), case), ImplicitDeny);
    // For a service-linked role, the operations of seed 003.
    assert_eq!(advice(KEY_SAME, SLR_SAME, KeyAccess::OwnerGrant).create_grant.unwrap().operations.len(), 8);
}

#[test]
fn bad_input_is_refused_with_help() {
    let cases = [
        ("arn:aws:kms:us-west-2:444455556666:alias/custody", ROLE, "alias ARN"),
        ("1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d", ROLE, "expected"),
        (KEY_S, "arn:aws:sts::111111111111:assumed-role/CustodyResponse/s", "session ARN"),
        (KEY_S, "CustodyResponse", "expected"),
        (KEY_S, "arn:aws-cn:iam::111111111111:role/CustodyResponse", "partitions"),
    ];
    for (key, principal, needle) in cases {
        let e = key_policy(&KeyOptions {
            key_arn: key.into(),
            principal_arn: principal.into(),
            access: KeyAccess::DirectUse,
            grantee_arn: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
        assert!(!e.help().is_empty());
    }
    assert!("4".parse::<KeyAccess>().is_err());
    assert!("2".parse::<KeyAccess>().is_err(), "named by what it does, not by a number");
    assert_eq!("direct-use".parse::<KeyAccess>().unwrap(), KeyAccess::DirectUse);
    let grantee_for_direct_use = key_policy(&KeyOptions {
        key_arn: KEY_S.into(),
        principal_arn: ROLE.into(),
        access: KeyAccess::DirectUse,
        grantee_arn: Some(ROLE.into()),
    });
    assert_eq!(grantee_for_direct_use.unwrap_err(), GenerateError::GranteeWithoutGrantOnly);
}

#[test]
fn an_account_root_can_be_named() {
    let a = advice(KEY_S, "arn:aws:iam::111111111111:root", KeyAccess::DirectUse);
    assert_eq!(a.key_policy_statements[0]["Principal"], json!({"AWS": "arn:aws:iam::111111111111:root"}));
    assert_parses(&a);
}
