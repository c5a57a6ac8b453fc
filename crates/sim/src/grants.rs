//! KMS grants custody creates and retires (path 5), and the deletion of the temporary key (path 8).
//!
//! A grant created here joins the key's grants in the world's inventory copy, in the case format's
//! grant form (docs/authz-case-format.md, `grants`), with the caller's account as issuing account: from
//! then on the engine lets its grantee use the key for its operations, within its constraint, exactly
//! as it does for the grants the inventory listed. Retiring removes it, so the next request is refused
//! again. Grant ids are 64 hex digits from a counter.

use super::call::{Call, Session};
use super::key_lookup::{key_for, kms_request, own_key_for, CREATE_GRANT, RETIRE_GRANT, SCHEDULE_KEY_DELETION};
use super::state::State;
use custody_cloud::error::CloudError;
use custody_cloud::types::{NewGrant, Receipt};
use custody_policy::case::parse_grant_value;
use custody_policy::error::JsonPath;
use custody_policy::kms::GRANT_OPERATIONS;
use serde_json::{json, Map, Value};

/// CreateGrant (map §9.5): the caller's own call, so `kms:GrantIsForAWSResource` is false ("true only
/// when an AWS service integrated with AWS KMS calls the operation on the user's behalf", KMS
/// Developer Guide, <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource>),
/// with the grantee, retiring principal, operations and constraint type of the request. How a
/// constraint maps onto `kms:EncryptionContext:<k>` / `kms:EncryptionContextKeys` is SILENT (map
/// §9.5); each constraint pair is given as both, as the planner's recommendation has it.
///
/// Idempotent by name: "When this value is present, you can retry a CreateGrant request with identical
/// parameters; if the grant already exists, the original GrantId is returned without creating a new
/// grant" (KMS API Reference, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>).
pub(crate) fn create_grant(
    st: &mut State,
    c: &mut Call,
    s: &Session,
    region: &str,
    g: &NewGrant,
) -> Result<(Receipt<String>, String), CloudError> {
    if g.operations.is_empty() {
        return Err(CREATE_GRANT.error("ValidationException", "Operations must list at least one grant operation"));
    }
    if let Some(bad) = g.operations.iter().find(|op| !GRANT_OPERATIONS.contains(&op.as_str())) {
        return Err(CREATE_GRANT.error("ValidationException", format!("`{bad}` is not a grant operation")));
    }
    let (arn, _) = key_for(st, c, CREATE_GRANT, &g.key_id, s, region)?;
    let mut r = kms_request(s, "kms:CreateGrant", &arn, region)
        .with("kms:GranteePrincipal", &g.grantee_principal)
        .with_set("kms:GrantOperations", g.operations.iter().cloned())
        .with("kms:GrantIsForAWSResource", "false");
    if let Some(retiring) = &g.retiring_principal {
        r = r.with("kms:RetiringPrincipal", retiring);
    }
    if let Some(context) = &g.encryption_context_subset {
        r = r.with("kms:GrantConstraintType", "EncryptionContextSubset");
        for (k, v) in context {
            r = r.with(format!("kms:EncryptionContext:{k}"), v);
        }
        r = r.with_set("kms:EncryptionContextKeys", context.keys().cloned());
    }
    c.authorize(st, &[r])?;
    match st.keys.get(&arn).map(|k| k.state.as_str()) {
        Some("Disabled") => return Err(CREATE_GRANT.error("DisabledException", format!("{arn} is disabled."))),
        Some("PendingDeletion") => {
            return Err(CREATE_GRANT.error("KMSInvalidStateException", format!("{arn} is pending deletion.")))
        }
        _ => {}
    }
    let wanted = grant_json(g, &s.account);
    if let Some(name) = &g.name {
        let names = st.keys.get(&arn).map(|k| k.grant_names.clone()).unwrap_or_default();
        let same = names.iter().filter(|(_, n)| *n == name).find_map(|(id, _)| {
            let existing = st.grant(&arn, id)?;
            (without_id(existing) == wanted).then(|| id.clone())
        });
        if let Some(id) = same {
            return Ok((c.receipt(id.clone()), format!("{id} (existing grant {name})")));
        }
    }
    let id = st.next_grant_id();
    let mut grant = wanted;
    grant.insert("grant_id".into(), Value::String(id.clone()));
    let grant = Value::Object(grant);
    let key_account = super::call::arn_account(&arn).to_string();
    parse_grant_value(&grant, &JsonPath::root("grant"), Some(&key_account))
        .map_err(|e| CREATE_GRANT.error("ValidationException", e.to_string()))?;
    if let Some(k) = st.inv_key_mut(&arn) {
        k.grants.push(grant);
    }
    let now = st.now();
    st.grant_created.insert((arn.clone(), id.clone()), now);
    if let (Some(k), Some(name)) = (st.keys.get_mut(&arn), &g.name) {
        k.grant_names.insert(id.clone(), name.clone());
    }
    Ok((c.receipt(id.clone()), id))
}

/// The grant in the case format's grant form, without its id.
fn grant_json(g: &NewGrant, issuing_account: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("grantee_principal".into(), json!(g.grantee_principal));
    m.insert("operations".into(), json!(g.operations));
    if let Some(context) = &g.encryption_context_subset {
        m.insert("constraints".into(), json!({"encryption_context_subset": context}));
    }
    if let Some(retiring) = &g.retiring_principal {
        m.insert("retiring_principal".into(), json!(retiring));
    }
    m.insert("issuing_account".into(), json!(issuing_account));
    m
}

fn without_id(grant: &Value) -> Map<String, Value> {
    let mut m = grant.as_object().cloned().unwrap_or_default();
    m.remove("grant_id");
    m
}

/// RetireGrant (map §9.6): decided by the grant itself (its retiring principal, its grantee when it
/// lists RetireGrant, the issuing account), which the engine reads from the request's grant id
/// ("Retiring and revoking grants", KMS Developer Guide,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/grant-manage.html#grant-delete>).
pub(crate) fn retire_grant(
    st: &mut State,
    c: &mut Call,
    s: &Session,
    region: &str,
    key_id: &str,
    grant_id: &str,
) -> Result<(Receipt<()>, String), CloudError> {
    let (arn, _) = key_for(st, c, RETIRE_GRANT, key_id, s, region)?;
    if st.grant(&arn, grant_id).is_none() {
        return Err(RETIRE_GRANT.error("NotFoundException", format!("Grant ID {grant_id} not found on {arn}")));
    }
    c.authorize(st, &[kms_request(s, "kms:RetireGrant", &arn, region).retiring(grant_id)])?;
    if let Some(k) = st.inv_key_mut(&arn) {
        k.grants.retain(|g| g.get("grant_id").and_then(Value::as_str) != Some(grant_id));
    }
    st.grant_created.remove(&(arn.clone(), grant_id.to_string()));
    let name = st.keys.get_mut(&arn).and_then(|k| k.grant_names.remove(grant_id));
    Ok((c.receipt(()), format!("retired {grant_id}{}", name.map(|n| format!(" ({n})")).unwrap_or_default())))
}

/// ScheduleKeyDeletion (map §9.4): "PendingWindowInDays … must be between 7 and 30, inclusive", and a
/// key already pending deletion is in the wrong state (KMS API Reference,
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html>). The input is
/// validated before anything else, as AWS validates requests before authorizing them.
pub(crate) fn schedule_key_deletion(
    st: &mut State,
    c: &mut Call,
    s: &Session,
    region: &str,
    key_id: &str,
    days: u32,
) -> Result<(Receipt<Option<String>>, String), CloudError> {
    if !(7..=30).contains(&days) {
        return Err(SCHEDULE_KEY_DELETION.error(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: \
                 Member must have value between 7 and 30"
            ),
        ));
    }
    let (arn, _) = own_key_for(st, c, SCHEDULE_KEY_DELETION, key_id, s, region)?;
    let request = kms_request(s, "kms:ScheduleKeyDeletion", &arn, region)
        .with("kms:ScheduleKeyDeletionPendingWindowInDays", days.to_string());
    c.authorize(st, &[request])?;
    let date = st.days_from_now(days);
    let key = st
        .keys
        .get_mut(&arn)
        .ok_or_else(|| SCHEDULE_KEY_DELETION.error("NotFoundException", format!("Key '{arn}' does not exist")))?;
    if key.state == "PendingDeletion" {
        return Err(SCHEDULE_KEY_DELETION.error("KMSInvalidStateException", format!("{arn} is pending deletion.")));
    }
    st.set_key_state(&arn, "PendingDeletion");
    Ok((c.receipt(Some(date.clone())), format!("{arn} pending deletion until {date}")))
}
