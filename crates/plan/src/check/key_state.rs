//! A key that is not `Enabled` cannot be used for cryptography, whatever its policies say (KMS
//! Developer Guide, "Key states of AWS KMS keys",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>: "You can view and manage
//! unavailable KMS keys, but you cannot use them in cryptographic operations"; "Enabling and
//! disabling keys", <https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html>: a
//! disabled key "cannot be used in any cryptographic operation"; "Schedule key deletion",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html>:
//! a key pending deletion cannot be used in cryptographic operations). The preflight refuses such a
//! request up front, with what the key's owner can do, instead of letting the copy fail.

use crate::inventory::Key;

/// The cryptographic operations EBS makes on a key, by their action names (`kms:` dropped).
const CRYPTOGRAPHIC: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
];

/// Why the key state refuses `action` on `resource`, and what the key's owner can do about it; `None`
/// when the key is `Enabled`, its state is not known, or the action is not cryptographic.
pub(crate) fn refusal(keys: &[Key], action: &str, resource: &str) -> Option<(String, String)> {
    let name = action.strip_prefix("kms:").or_else(|| action.strip_prefix("KMS:"))?;
    if !CRYPTOGRAPHIC.iter().any(|c| c.eq_ignore_ascii_case(name)) {
        return None;
    }
    let key = keys.iter().find(|k| k.arn == resource)?;
    let state = key.state.as_deref()?;
    let arn = &key.arn;
    let remedy = match state {
        "Enabled" => return None,
        "Disabled" => format!(
            "the key's owner enables it: `aws kms enable-key --key-id {arn}` \
             (https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html)"
        ),
        "PendingDeletion" | "PendingReplicaDeletion" => format!(
            "the key's owner cancels its deletion and enables it again (a key whose deletion is cancelled is \
             Disabled): `aws kms cancel-key-deletion --key-id {arn}`, then `aws kms enable-key --key-id {arn}` \
             (https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html)"
        ),
        "PendingImport" => format!(
            "the key's owner imports its key material again \
             (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html); then {arn} is Enabled"
        ),
        "Unavailable" => "the key's owner reconnects its custom key store \
             (https://docs.aws.amazon.com/kms/latest/developerguide/key-store-overview.html)"
            .to_string(),
        _ => format!("wait until {arn} is Enabled, then run the preflight again"),
    };
    let why = format!(
        "the key {arn} is {state}: KMS refuses every cryptographic operation on a key that is not Enabled, \
         whatever its policies and grants allow (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html)"
    );
    Some((why, remedy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(state: Option<&str>) -> Vec<Key> {
        let mut v = serde_json::json!({"arn": KEY, "manager": "CUSTOMER",
                                       "policy": {"Version": "2012-10-17", "Statement": []}});
        if let Some(s) = state {
            v["state"] = serde_json::json!(s);
        }
        vec![serde_json::from_value(v).expect("key")]
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";

    #[test]
    fn a_disabled_key_refuses_cryptography_but_not_describe_key() {
        let inv = inventory(Some("Disabled"));
        let (why, remedy) = refusal(&inv, "kms:Decrypt", KEY).expect("refused");
        assert!(why.contains("is Disabled"), "{why}");
        assert!(remedy.contains("aws kms enable-key --key-id"), "{remedy}");
        assert!(refusal(&inv, "kms:ReEncryptTo", KEY).is_some());
        assert!(refusal(&inv, "kms:DescribeKey", KEY).is_none());
    }

    #[test]
    fn a_key_pending_deletion_says_how_to_cancel_it() {
        let (_, remedy) =
            refusal(&inventory(Some("PendingDeletion")), "kms:GenerateDataKeyWithoutPlaintext", KEY).expect("refused");
        assert!(remedy.contains("cancel-key-deletion") && remedy.contains("enable-key"), "{remedy}");
    }

    #[test]
    fn an_enabled_key_or_one_whose_state_is_unknown_is_left_to_the_policies() {
        assert!(refusal(&inventory(Some("Enabled")), "kms:Decrypt", KEY).is_none());
        assert!(refusal(&inventory(None), "kms:Decrypt", KEY).is_none());
    }
}
