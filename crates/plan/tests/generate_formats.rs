//! The CloudFormation YAML and Terraform HCL renderings, parsed back with independent parsers
//! (serde_norway, hcl-rs), hold exactly the JSON documents; awkward strings (quotes, `${…}` that
//! Terraform would interpolate, colons, `*`, line breaks) survive both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::generate::{
    key_policy, render, role_policies, Feature, Format, GeneratedRolePolicies, KeyAccess, KeyOptions, KeyPolicyAdvice,
    KmsMode, RoleOptions,
};
use custody_plan::inventory::Tag;
use serde::Deserialize;
use serde_json::{json, Map, Value};

fn role_cases() -> Vec<GeneratedRolePolicies> {
    let mut out = Vec::new();
    for kms in KmsMode::ALL {
        for features in [
            &Feature::ALL[..],
            &[Feature::Image],
            &[Feature::Triage, Feature::Cleanup],
            &[Feature::DiscardEvidence],
            &[Feature::Image, Feature::DiscardEvidence],
        ] {
            let known = RoleOptions {
                features: features.iter().copied().collect(),
                kms,
                ssm_tag: Some(Tag { key: "team name".into(), value: "ir:forensics/eu=1".into() }),
                regions: vec!["eu-west-1".into(), "eu-west-3".into()],
                forensic_account: Some("111111111111".into()),
                source_accounts: vec!["222222222222".into(), "111111111111".into()],
                source_role_name: "custody/CustodySource".into(),
                ..RoleOptions::default()
            };
            out.push(role_policies(&known));
            out.push(role_policies(&RoleOptions::for_features(features.iter().copied())));
        }
    }
    out.push(awkward());
    out
}

/// A generated output whose documents and notes hold every awkward string.
fn awkward() -> GeneratedRolePolicies {
    let mut g = role_policies(&RoleOptions {
        forensic_account: Some("111111111111".into()),
        ..RoleOptions::for_features([Feature::Acquire])
    });
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Quotes", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": ["arn:aws:s3:::bucket/${aws:username}/*", "arn:aws:s3:::b/say \"hi\"", "*", "arn:aws:s3:::b/$${x}"],
         "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/", "%{ if }", "a: b", "#c", "back\\slash"]},
                       "Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": "10"}}},
        {"Sid": "Deny", "Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:iam::*:role/x*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "line\nbreak\ttab"}}}
    ]});
    g.forensic_role.policy = Some(policy);
    g.forensic_role.statements.clear();
    g.notes.push("a note with \"quotes\", ${interpolation}, a\nline break and: a colon".into());
    g
}

fn key_cases() -> Vec<KeyPolicyAdvice> {
    let slr = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
    let role = "arn:aws:iam::111111111111:role/CustodyForensic";
    let same = "arn:aws:kms:us-west-2:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
    let other = "arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
    let mut out = Vec::new();
    for (key, principal, option) in [
        (same, slr, KeyAccess::DirectUse),
        (other, slr, KeyAccess::DirectUse),
        (other, role, KeyAccess::DirectUse),
        (other, role, KeyAccess::GrantOnly),
        (other, role, KeyAccess::OwnerGrant),
        (same, slr, KeyAccess::OwnerGrant),
    ] {
        out.push(
            key_policy(&KeyOptions {
                key_arn: key.into(),
                principal_arn: principal.into(),
                access: option,
                grantee_arn: None,
            })
            .unwrap(),
        );
    }
    out
}

// ---- JSON -------------------------------------------------------------------------------------------

#[test]
fn json_is_the_serde_form_with_policies_in_aws_order() {
    for g in role_cases() {
        let text = render(&g, Format::Json);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, serde_json::to_value(&g).unwrap());
        if g.forensic_role.policy.is_some() {
            let (version, statement) = (text.find("\"Version\"").unwrap(), text.find("\"Statement\"").unwrap());
            assert!(version < statement);
            let (sid, effect) = (text.find("\"Sid\"").unwrap(), text.find("\"Effect\"").unwrap());
            assert!(sid < effect, "Sid comes first, as AWS writes it");
        }
    }
    for a in key_cases() {
        let back: Value = serde_json::from_str(&render(&a, Format::Json)).unwrap();
        assert_eq!(back, serde_json::to_value(&a).unwrap());
    }
}

// ---- CloudFormation YAML ----------------------------------------------------------------------------

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{e}\n{text}")))
        .collect()
}

fn resource<'a>(docs: &'a [Value], logical: &str) -> &'a Value {
    docs.iter().find_map(|d| d["Resources"].get(logical)).unwrap_or_else(|| panic!("no {logical}"))
}

#[test]
fn cloudformation_holds_the_json_policies() {
    for g in role_cases() {
        let text = render(&g, Format::Cfn);
        let docs = yaml_documents(&text);
        for d in &docs {
            assert_eq!(d["AWSTemplateFormatVersion"], "2010-09-09");
        }
        if let Some(p) = &g.forensic_role.policy {
            let r = resource(&docs, "CustodyForensicPolicy");
            assert_eq!(r["Type"], "AWS::IAM::ManagedPolicy");
            assert_eq!(&r["Properties"]["PolicyDocument"], p, "{text}");
            assert_eq!(r["Properties"]["Roles"], json!(["CustodyForensic"]));
        }
        match (&g.source_role.policy, &g.source_trust_policy) {
            (Some(p), Some(trust)) => {
                let r = resource(&docs, "CustodySourceRole");
                assert_eq!(r["Type"], "AWS::IAM::Role");
                assert_eq!(&r["Properties"]["AssumeRolePolicyDocument"], trust);
                assert_eq!(&r["Properties"]["Policies"][0]["PolicyDocument"], p);
                assert_eq!(r["Properties"]["RoleName"], "CustodySource");
                let path = g.source_role.role_arns[0].contains(":role/custody/").then_some("/custody/");
                assert_eq!(r["Properties"]["Path"].as_str(), path);
            }
            (Some(p), None) => assert_eq!(&resource(&docs, "CustodySourcePolicy")["Properties"]["PolicyDocument"], p),
            (None, _) => assert!(docs.iter().all(|d| d["Resources"].get("CustodySourceRole").is_none())),
        }
        match g.custodian_role.as_ref().and_then(|c| c.policy.as_ref()) {
            Some(p) => {
                let r = resource(&docs, "CustodyEvidenceCustodianPolicy");
                assert_eq!(r["Type"], "AWS::IAM::ManagedPolicy");
                assert_eq!(&r["Properties"]["PolicyDocument"], p, "{text}");
                assert_eq!(r["Properties"]["Roles"], json!(["CustodyEvidenceCustodian"]));
            }
            None => assert!(!text.contains("CustodyEvidenceCustodian"), "{text}"),
        }
    }
}

#[test]
fn cloudformation_key_snippet_holds_the_statements_and_policies() {
    for a in key_cases() {
        let text = render(&a, Format::Cfn);
        let docs: Vec<Value> = yaml_documents(&text).into_iter().filter(|d| !d.is_null()).collect();
        assert!(docs.len() <= 1, "one document, a template or nothing but comments: {text}");
        assert!(docs.iter().all(|d| d.get("AWSTemplateFormatVersion").is_some()), "{text}");
        if !a.key_policy_statements.is_empty() {
            // The statements go into an existing key policy: a commented snippet, read back here.
            let snippet: String = text
                .lines()
                .skip_while(|l| !l.contains(custody_plan::generate::KEY_SNIPPET_HEADING))
                .skip(1)
                .take_while(|l| l.starts_with("#   "))
                .map(|l| format!("{}\n", &l[4..]))
                .collect();
            let statements: Value = serde_norway::from_str(&snippet).unwrap();
            assert_eq!(statements, json!(a.key_policy_statements), "{text}");
        }
        if let Some(p) = &a.grant_creator_policy {
            assert_eq!(&resource(&docs, "CustodyGrantCreatorPolicy")["Properties"]["PolicyDocument"], p);
        }
        if let Some(p) = &a.principal_policy {
            assert_eq!(&resource(&docs, "CustodyPrincipalPolicy")["Properties"]["PolicyDocument"], p);
        }
        if let Some(g) = &a.create_grant {
            for line in g.command.lines() {
                assert!(text.lines().any(|l| l.starts_with('#') && l.ends_with(line)), "{line}\n{text}");
            }
        }
    }
}

// ---- Terraform HCL ----------------------------------------------------------------------------------

/// The string an HCL expression evaluates to (templates included: `$${` reads back as `${`).
fn string(e: &hcl::Expression) -> String {
    match e {
        hcl::Expression::String(s) => s.clone(),
        other => {
            let v: hcl::Value = hcl::eval::Evaluate::evaluate(other, &hcl::eval::Context::new()).unwrap();
            v.as_str().unwrap_or_else(|| panic!("not a string: {other:?}")).to_string()
        }
    }
}

fn strings(e: &hcl::Expression) -> Vec<String> {
    match e {
        hcl::Expression::Array(items) => items.iter().map(string).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn attr<'a>(body: &'a hcl::Body, name: &str) -> Option<&'a hcl::Expression> {
    body.attributes().find(|a| a.key() == name).map(|a| a.expr())
}

fn blocks<'a>(body: &'a hcl::Body, kind: &'a str) -> impl Iterator<Item = &'a hcl::Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == kind)
}

fn labelled<'a>(body: &'a hcl::Body, kind: &'a str, labels: &[&str]) -> Option<&'a hcl::Block> {
    blocks(body, kind).find(|b| b.labels().iter().map(|l| l.as_str()).eq(labels.iter().copied()))
}

fn list_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(list_of).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// A policy in one shape: lists everywhere, condition values as strings, principals by type.
fn normalize(policy: &Value) -> Value {
    let statements: Vec<Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut out = Map::new();
            for k in ["Sid", "Effect"] {
                if let Some(v) = s.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            for k in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(v) = s.get(k) {
                    out.insert(k.into(), json!(list_of(v)));
                }
            }
            for k in ["Principal", "NotPrincipal"] {
                match s.get(k) {
                    Some(Value::Object(m)) => {
                        let m: Map<String, Value> = m.iter().map(|(t, ids)| (t.clone(), json!(list_of(ids)))).collect();
                        out.insert(k.into(), Value::Object(m));
                    }
                    Some(other) => {
                        out.insert(k.into(), json!({"*": list_of(other)}));
                    }
                    None => {}
                }
            }
            if let Some(Value::Object(ops)) = s.get("Condition") {
                let c: Map<String, Value> = ops
                    .iter()
                    .map(|(op, keys)| {
                        let keys: Map<String, Value> =
                            keys.as_object().unwrap().iter().map(|(k, v)| (k.clone(), json!(list_of(v)))).collect();
                        (op.clone(), Value::Object(keys))
                    })
                    .collect();
                out.insert("Condition".into(), Value::Object(c));
            }
            Value::Object(out)
        })
        .collect();
    json!({"Version": policy["Version"], "Statement": statements})
}

/// The policy a `data "aws_iam_policy_document"` block describes, in [`normalize`]'s shape.
fn from_hcl(block: &hcl::Block) -> Value {
    let body = block.body();
    let statements: Vec<Value> = blocks(body, "statement")
        .map(|s| {
            let b = s.body();
            let mut out = Map::new();
            for (hcl_name, json_name) in [("sid", "Sid"), ("effect", "Effect")] {
                if let Some(e) = attr(b, hcl_name) {
                    out.insert(json_name.into(), json!(string(e)));
                }
            }
            for (hcl_name, json_name) in [
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ] {
                if let Some(e) = attr(b, hcl_name) {
                    out.insert(json_name.into(), json!(strings(e)));
                }
            }
            for (hcl_name, json_name) in [("principals", "Principal"), ("not_principals", "NotPrincipal")] {
                let mut m = Map::new();
                for p in blocks(b, hcl_name) {
                    m.insert(
                        string(attr(p.body(), "type").unwrap()),
                        json!(strings(attr(p.body(), "identifiers").unwrap())),
                    );
                }
                if !m.is_empty() {
                    out.insert(json_name.into(), Value::Object(m));
                }
            }
            let mut cond: Map<String, Value> = Map::new();
            for c in blocks(b, "condition") {
                let op = string(attr(c.body(), "test").unwrap());
                let key = string(attr(c.body(), "variable").unwrap());
                let entry = cond.entry(op).or_insert_with(|| json!({}));
                entry[key] = json!(strings(attr(c.body(), "values").unwrap()));
            }
            if !cond.is_empty() {
                out.insert("Condition".into(), Value::Object(cond));
            }
            Value::Object(out)
        })
        .collect();
    json!({"Version": string(attr(body, "version").unwrap()), "Statement": statements})
}

fn parse_hcl(text: &str) -> hcl::Body {
    hcl::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn document<'a>(body: &'a hcl::Body, name: &str) -> &'a hcl::Block {
    labelled(body, "data", &["aws_iam_policy_document", name]).unwrap_or_else(|| panic!("no data block {name}"))
}

/// Every `data.aws_iam_policy_document.<name>.json` the text uses names a block it declares.
fn references_resolve(body: &hcl::Body, text: &str) {
    for part in text.split("data.aws_iam_policy_document.").skip(1) {
        let name = part.split('.').next().unwrap();
        document(body, name);
    }
}

/// The AWS provider's version is pinned, and every data source and resource names an aliased provider
/// the file declares; a provider whose account is known accepts only that account's credentials, so
/// one `apply` cannot create the forensic and the source parts in one account.
fn providers_are_pinned_and_named(body: &hcl::Body, text: &str) {
    let tf = blocks(body, "terraform").next().unwrap_or_else(|| panic!("no terraform block:\n{text}"));
    let required = blocks(tf.body(), "required_providers").next().unwrap();
    let aws = attr(required.body(), "aws").unwrap();
    let rendered = format!("{aws:?}");
    assert!(rendered.contains("hashicorp/aws") && rendered.contains("~> 5.0"), "{rendered}");
    let aliases: Vec<String> = blocks(body, "provider").map(|p| string(attr(p.body(), "alias").unwrap())).collect();
    assert!(!aliases.is_empty(), "{text}");
    for kind in ["data", "resource"] {
        for b in blocks(body, kind) {
            let provider =
                attr(b.body(), "provider").unwrap_or_else(|| panic!("{kind} {:?} has no provider\n{text}", b.labels()));
            let alias = format!("{provider}").trim_start_matches("aws.").to_string();
            assert!(
                aliases.iter().any(|a| format!("{provider}").ends_with(a.as_str())),
                "{alias} not declared: {text}"
            );
        }
    }
    for p in blocks(body, "provider") {
        let alias = string(attr(p.body(), "alias").unwrap());
        if let Some(account) = alias.strip_prefix("source_") {
            assert_eq!(strings(attr(p.body(), "allowed_account_ids").unwrap()), [account]);
        }
    }
}

#[test]
fn terraform_holds_the_json_policies() {
    for g in role_cases() {
        let text = render(&g, Format::Terraform);
        let body = parse_hcl(&text);
        references_resolve(&body, &text);
        if let Some(p) = &g.forensic_role.policy {
            assert_eq!(from_hcl(document(&body, "custody_forensic")), normalize(p), "{text}");
            let attach = labelled(&body, "resource", &["aws_iam_role_policy_attachment", "custody_forensic"]).unwrap();
            assert_eq!(string(attr(attach.body(), "role").unwrap()), "CustodyForensic");
        }
        // One set of source blocks per source account (the accounts the role ARNs name, else one).
        let accounts: Vec<String> = g
            .source_role
            .role_arns
            .iter()
            .filter_map(|a| a.split(':').nth(4).filter(|x| *x != "*").map(|x| format!("_{x}")))
            .collect();
        let suffixes = if accounts.is_empty() { vec![String::new()] } else { accounts };
        for suffix in &suffixes {
            if let Some(p) = &g.source_role.policy {
                assert_eq!(from_hcl(document(&body, &format!("custody_source{suffix}"))), normalize(p));
            }
            if let Some(trust) = &g.source_trust_policy {
                assert_eq!(from_hcl(document(&body, &format!("custody_source_trust{suffix}"))), normalize(trust));
                let role = labelled(&body, "resource", &["aws_iam_role", &format!("custody_source{suffix}")]).unwrap();
                let path = g.source_role.role_arns[0].contains(":role/custody/").then_some("/custody/".to_string());
                assert_eq!(attr(role.body(), "path").map(string), path);
            }
        }
        providers_are_pinned_and_named(&body, &text);
        match g.custodian_role.as_ref().and_then(|c| c.policy.as_ref()) {
            Some(p) => {
                assert_eq!(from_hcl(document(&body, "custody_evidence_custodian")), normalize(p), "{text}");
                let attach =
                    labelled(&body, "resource", &["aws_iam_role_policy_attachment", "custody_evidence_custodian"])
                        .unwrap();
                assert_eq!(string(attr(attach.body(), "role").unwrap()), "CustodyEvidenceCustodian");
            }
            None => assert!(!text.contains("custodian"), "{text}"),
        }
    }
}

#[test]
fn terraform_key_advice_holds_the_statements_grant_and_policies() {
    for a in key_cases() {
        let text = render(&a, Format::Terraform);
        let body = parse_hcl(&text);
        references_resolve(&body, &text);
        providers_are_pinned_and_named(&body, &text);
        if !a.key_policy_statements.is_empty() {
            let expected = normalize(&json!({"Version": "2012-10-17", "Statement": a.key_policy_statements}));
            assert_eq!(from_hcl(document(&body, "custody_key_policy_statements")), expected);
        }
        if let Some(g) = &a.create_grant {
            let grant = labelled(&body, "resource", &["aws_kms_grant", "custody"]).unwrap().body();
            assert_eq!(string(attr(grant, "key_id").unwrap()), g.key_id);
            assert_eq!(string(attr(grant, "grantee_principal").unwrap()), g.grantee_principal);
            assert_eq!(strings(attr(grant, "operations").unwrap()), g.operations);
            assert_eq!(attr(grant, "retiring_principal").map(string), g.retiring_principal);
        }
        if let Some(p) = &a.grant_creator_policy {
            assert_eq!(from_hcl(document(&body, "custody_grant_creator")), normalize(p));
        }
        if let Some(p) = &a.principal_policy {
            assert_eq!(from_hcl(document(&body, "custody_principal")), normalize(p));
        }
    }
}

#[test]
fn terraform_never_interpolates_a_policy_variable() {
    let text = render(&awkward(), Format::Terraform);
    assert!(text.contains("$${aws:username}") && text.contains("%%{ if }"), "{text}");
    assert!(!text.contains("\"arn:aws:s3:::bucket/${"), "an unescaped interpolation: {text}");
}
