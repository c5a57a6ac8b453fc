//! Finding the key a KMS call names, as KMS does (key ARN, alias ARN, alias name or key id), and the
//! authorization request of the caller's own KMS call: shared by the KMS calls (`kms`, `grants`)
//! and the EC2 calls that name a key (`copy`).

use super::call::{arn_account, Api, Call, Session};
use super::state::State;
use custody_cloud::error::CloudError;
use custody_plan::inventory::arn::{AliasArn, KeyArn};
use custody_plan::plan::AuthzRequest;

pub(crate) const SCHEDULE_KEY_DELETION: Api = Api::new("kms", "ScheduleKeyDeletion");
pub(crate) const CREATE_GRANT: Api = Api::new("kms", "CreateGrant");
pub(crate) const RETIRE_GRANT: Api = Api::new("kms", "RetireGrant");

/// Resolves a `KeyId` as KMS does, in `region`: the key ARN, and the alias it was named by (for
/// `kms:RequestAlias`). Errors with KMS's NotFoundException message.
pub(crate) fn resolve_key(
    st: &State,
    key_id: &str,
    s: &Session,
    region: &str,
) -> Result<(String, Option<String>), String> {
    let missing_key = |arn: &str| format!("Key '{arn}' does not exist");
    if let Some(k) = KeyArn::parse(key_id) {
        // KMS keys are regional: a key ARN of another Region is not found in this one.
        return if k.region == region && st.keys.contains_key(key_id) {
            Ok((key_id.to_string(), None))
        } else {
            Err(missing_key(key_id))
        };
    }
    let (account, alias) = match AliasArn::parse(key_id) {
        Some(a) if a.region == region => (a.account.to_string(), a.alias.to_string()),
        Some(_) => return Err(format!("Alias {key_id} is not found.")),
        None if key_id.starts_with("alias/") => (s.account.clone(), key_id.to_string()),
        None => {
            let arn = format!("arn:{}:kms:{region}:{}:key/{key_id}", s.partition, s.account);
            return if st.keys.contains_key(&arn) { Ok((arn, None)) } else { Err(missing_key(&arn)) };
        }
    };
    match st.aliases_in(&account, region).into_iter().find(|(a, _)| *a == alias) {
        Some((_, arn)) => Ok((arn, Some(alias))),
        None => Err(format!("Alias arn:{}:kms:{region}:{account}:{alias} is not found.", s.partition)),
    }
}

/// Resolves a key for `api`, and logs the call in the key's account.
pub(crate) fn key_for(
    st: &State,
    c: &mut Call,
    api: Api,
    key_id: &str,
    s: &Session,
    region: &str,
) -> Result<(String, Option<String>), CloudError> {
    let (arn, alias) = resolve_key(st, key_id, s, region).map_err(|m| api.error("NotFoundException", m))?;
    c.account = arn_account(&arn).to_string();
    Ok((arn, alias))
}

/// [`key_for`], for operations KMS does not allow across accounts.
pub(crate) fn own_key_for(
    st: &State,
    c: &mut Call,
    api: Api,
    key_id: &str,
    s: &Session,
    region: &str,
) -> Result<(String, Option<String>), CloudError> {
    let (arn, alias) = key_for(st, c, api, key_id, s, region)?;
    if arn_account(&arn) != s.account {
        c.account = s.account.clone();
        return Err(api.error("NotFoundException", format!("Key '{arn}' does not exist")));
    }
    Ok((arn, alias))
}

/// A request of the caller's own KMS call on `resource` (`kms:CallerAccount` given as the map states
/// it; the engine derives the principal and resource accounts).
pub(crate) fn kms_request(s: &Session, action: &str, resource: &str, region: &str) -> AuthzRequest {
    AuthzRequest::new(&s.arn, action, resource).called_in(region, false).with("kms:CallerAccount", &s.account)
}
