//! What custody writes for people speaks their language: the preflight's reports of every bundled
//! example (text, Markdown, HTML, in every mode), the generated role policies (JSON, CloudFormation,
//! Terraform) and the key advice carry no word only this repository knows: no product-document
//! number ("seed 004", "option 2"), no section of the repository's own notes ("map §5.2"), no internal
//! tag ("SILENT").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::check::check;
use custody_plan::generate::{
    key_policy, render, role_policies, Feature, Format, KeyAccess, KeyOptions, KmsMode, RoleOptions,
};
use custody_plan::inventory::{parse_inventory, Tag};
use custody_plan::plan::{plan, Mode, PlanRequest};
use custody_plan::report;
use std::path::Path;

/// Words for the repository's own documents, never for its users.
fn internal_words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_lowercase();
    for needle in ["map §", "silent", "seed ", "seeds'", "seed's", "correction 1", "option 1", "option 2", "option 3"]
    {
        if let Some(at) = lower.find(needle) {
            let start = text[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
            let end = text[at..].char_indices().nth(60).map_or(text.len(), |(i, _)| at + i);
            found.push(format!("`{needle}` in …{}…", &text[start..end]));
        }
    }
    found
}

#[test]
fn reports_of_every_example_speak_plainly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories");
    let mut reports = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let inventory = parse_inventory(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for instance in &inventory.instances {
            for mode in [Mode::Auto, Mode::GrantOnly, Mode::Direct, Mode::OwnerGrants, Mode::DirectRead] {
                for triage in [false, true] {
                    let request = PlanRequest { mode, triage, case_id: "C1".into(), ..PlanRequest::new(&instance.id) };
                    let Ok(p) = plan(&inventory, &request) else { continue };
                    let r = check(&inventory, &p);
                    for format in [report::Format::Text, report::Format::Markdown, report::Format::Html] {
                        let text = report::render(&r, format);
                        let found = internal_words(&text);
                        assert!(found.is_empty(), "{} {} {mode:?}: {found:#?}", path.display(), instance.id);
                        reports += 1;
                    }
                }
            }
        }
    }
    assert!(reports > 100, "{reports}");
}

#[test]
fn generated_policies_and_key_advice_speak_plainly() {
    for kms in KmsMode::ALL {
        let options = RoleOptions {
            features: Feature::ALL.iter().copied().collect(),
            kms,
            ssm_tag: Some(Tag { key: "CustodySSMEnabled".into(), value: "True".into() }),
            forensic_account: Some("111111111111".into()),
            source_accounts: vec!["222222222222".into()],
            ..RoleOptions::default()
        };
        let generated = role_policies(&options);
        for format in [Format::Json, Format::Cfn, Format::Terraform] {
            let text = render(&generated, format);
            let found = internal_words(&text);
            assert!(found.is_empty(), "policy role --kms {kms:?} --format {format:?}: {found:#?}");
        }
    }
    let key = "arn:aws:kms:eu-west-1:222222222222:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
    for principal in [
        "arn:aws:iam::111111111111:role/CustodyForensic",
        "arn:aws:iam::222222222222:role/CustodySource",
        "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
    ] {
        for access in KeyAccess::ALL {
            let Ok(advice) = key_policy(&KeyOptions {
                key_arn: key.into(),
                principal_arn: principal.into(),
                access,
                grantee_arn: None,
            }) else {
                continue;
            };
            for format in [Format::Json, Format::Cfn, Format::Terraform] {
                let found = internal_words(&render(&advice, format));
                assert!(found.is_empty(), "policy key {access:?} for {principal}: {found:#?}");
            }
        }
    }
}
