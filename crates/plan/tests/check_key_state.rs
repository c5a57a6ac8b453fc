//! A key that is not Enabled refuses every cryptographic operation whatever its policies allow (KMS
//! Developer Guide, "Key states of AWS KMS keys",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>): the preflight refuses the
//! steps that would use it and says what the key's owner can do, instead of a copy failing later.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::{check, Outcome, RequestCheck};
use serde_json::json;

const CRYPTO: &[&str] = &["kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKeyWithoutPlaintext"];

/// The requests on `key` of the scenario where the forensic role copies through a grant on the
/// source key (the source role may create it), with the key in `state`.
fn on_key(key: &str, state: Option<&str>) -> Vec<RequestCheck> {
    let mut inv = inventory_json();
    principal_mut(&mut inv, SR)["identity_policies"][0]["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "CreateGrantForTheForensicRole", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": K_SRC,
        "Condition": {"StringEquals": {"kms:GranteePrincipal": FR}}
    }));
    if let Some(s) = state {
        key_mut(&mut inv, key)["state"] = json!(s);
    }
    let report = check(&load(&inv), &scenario("grant-from-earlier-step"));
    report.steps.iter().flat_map(|s| s.requests.clone()).filter(|r| r.resource == key).collect()
}

fn is_crypto(r: &RequestCheck) -> bool {
    CRYPTO.contains(&r.action.as_str())
}

#[test]
fn a_disabled_key_is_refused_up_front_with_how_to_enable_it() {
    let enabled = on_key(K_SRC, Some("Enabled"));
    assert!(enabled.iter().any(is_crypto), "the scenario uses the key for cryptography");
    assert!(enabled.iter().filter(|r| is_crypto(r)).all(|r| r.outcome == Outcome::Allowed), "allowed while Enabled");

    let disabled = on_key(K_SRC, Some("Disabled"));
    assert_eq!(disabled.len(), enabled.len());
    for (r, was) in disabled.iter().zip(&enabled) {
        if is_crypto(r) {
            assert_eq!(r.outcome, Outcome::Denied, "{} on a disabled key", r.action);
            assert!(r.key_state.as_deref().unwrap().contains("is Disabled"), "{:?}", r.key_state);
            let remedy = r.no_fix.as_deref().unwrap();
            assert!(remedy.contains(&format!("aws kms enable-key --key-id {K_SRC}")), "{remedy}");
        } else {
            // DescribeKey, CreateGrant, RetireGrant are not cryptographic operations: the policies decide.
            assert_eq!(r.outcome, was.outcome, "{} is left to the policies", r.action);
            assert!(r.key_state.is_none());
        }
    }
}

#[test]
fn a_key_pending_deletion_says_to_cancel_the_deletion_and_an_unknown_state_changes_nothing() {
    let pending = on_key(K_SRC, Some("PendingDeletion"));
    let r = pending.iter().find(|r| is_crypto(r)).unwrap();
    assert_eq!(r.outcome, Outcome::Denied);
    assert!(r.no_fix.as_deref().unwrap().contains("cancel-key-deletion"), "{:?}", r.no_fix);

    let enabled = on_key(K_SRC, Some("Enabled"));
    let unknown = on_key(K_SRC, None);
    let outcomes = |v: &[RequestCheck]| v.iter().map(|r| r.outcome).collect::<Vec<_>>();
    assert_eq!(outcomes(&unknown), outcomes(&enabled));
    assert!(unknown.iter().all(|r| r.key_state.is_none()));
}
