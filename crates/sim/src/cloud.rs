//! The `Cloud` of one role session, and the global services: STS (AssumeRole, GetCallerIdentity),
//! IAM (answered from the inventory's principals) and Organizations (not modelled); and CloudTrail's
//! LookupEvents (the records are `trail`'s).
//!
//! IAM is global; its calls are logged and authorized in `us-east-1`, the Region its requests are
//! signed for. IAM policies are all presented as inline policies `inline-0`, `inline-1`, … (the
//! inventory does not say which were managed), and a permissions boundary as a managed policy
//! `arn:aws:iam::<account>:policy/custody-sim/<role>-boundary`, version `v1`.

use super::call::{self, Api, Session};
use super::ec2::SimEc2;
use super::kms::SimKms;
use super::state::{role_name_and_path, State};
use super::trail::{self, role_id_suffix};
use super::SimWorld;
use async_trait::async_trait;
use custody_cloud::api::{Cloud, CloudTrail, Ec2, Iam, Kms, Organizations, SessionName, Sts};
use custody_cloud::error::{CloudError, CloudResult};
use custody_cloud::types::*;
use custody_plan::inventory::arn::Arn;
use custody_plan::inventory::Principal;
use custody_plan::plan::{AuthzRequest, PolicyScope};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Region the global services are signed for.
const GLOBAL_REGION: &str = "us-east-1";

const ASSUME_ROLE: Api = Api::new("sts", "AssumeRole");
const GET_CALLER_IDENTITY: Api = Api::new("sts", "GetCallerIdentity");
const LOOKUP_EVENTS: Api = Api::new("cloudtrail", "LookupEvents");

/// The services of one role session.
pub(crate) struct SimCloud {
    world: SimWorld,
    session: Session,
    region: String,
}

impl SimCloud {
    pub fn new(world: SimWorld, session: Session, region: String) -> SimCloud {
        SimCloud { world, session, region }
    }
}

#[async_trait]
impl Cloud for SimCloud {
    fn default_region(&self) -> Option<String> {
        Some(self.region.clone())
    }

    fn ec2(&self, region: &str) -> Arc<dyn Ec2> {
        Arc::new(SimEc2 { world: self.world.clone(), session: self.session.clone(), region: region.to_string() })
    }

    fn kms(&self, region: &str) -> Arc<dyn Kms> {
        Arc::new(SimKms { world: self.world.clone(), session: self.session.clone(), region: region.to_string() })
    }

    fn iam(&self) -> Arc<dyn Iam> {
        Arc::new(SimIam { world: self.world.clone(), session: self.session.clone() })
    }

    fn sts(&self) -> Arc<dyn Sts> {
        Arc::new(SimSts { world: self.world.clone(), session: self.session.clone(), region: self.region.clone() })
    }

    fn organizations(&self) -> Arc<dyn Organizations> {
        Arc::new(SimOrganizations { world: self.world.clone(), session: self.session.clone() })
    }

    fn cloudtrail(&self, region: &str) -> Arc<dyn CloudTrail> {
        Arc::new(SimCloudTrail { world: self.world.clone(), session: self.session.clone(), region: region.to_string() })
    }

    /// AssumeRole (map §1): the caller's identity policies must allow `sts:AssumeRole` on the role,
    /// and the role's trust policy must allow the caller; each is evaluated on its own side, as AWS
    /// requires both across accounts (AssumeRole API Reference,
    /// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>). The call is logged
    /// in the role's account. Regional STS endpoints being the SDKs' default, `aws:RequestedRegion` is
    /// the caller's Region.
    async fn assume_role(&self, role_arn: &str, session: &SessionName) -> CloudResult<Arc<dyn Cloud>> {
        let caller = &self.session;
        let new = Session::new(role_arn, session.as_str());
        let params = format!("{role_arn} as {session}");
        call::run(&self.world, caller, ASSUME_ROLE, &self.region, params, |st, c| {
            c.account = new.account.clone();
            c.sent(json!({"roleArn": role_arn, "roleSessionName": session.as_str()}));
            let base = AuthzRequest::new(&caller.arn, "sts:AssumeRole", role_arn)
                .called_in(&self.region, false)
                .with("sts:RoleSessionName", session.as_str());
            c.authorize(st, &[base.clone().scoped(PolicyScope::Identity), base.scoped(PolicyScope::Resource)])?;
            // The credentials are left out of the record, as they never leave the simulator.
            let role = role_name_and_path(role_arn).map(|(n, _)| n).unwrap_or_default();
            c.answered(
                json!({"assumedRoleUser": {"assumedRoleId": format!("AROA{}:{}", role_id_suffix(&role), new.name),
                                                  "arn": new.arn}}),
            );
            Ok((new.clone(), new.arn.clone()))
        })
        .map(|s| Arc::new(SimCloud::new(self.world.clone(), s, self.region.clone())) as Arc<dyn Cloud>)
    }
}

/// STS of one session.
struct SimSts {
    world: SimWorld,
    session: Session,
    region: String,
}

#[async_trait]
impl Sts for SimSts {
    /// GetCallerIdentity: "No permissions are required to perform this operation" (STS API Reference,
    /// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>).
    async fn get_caller_identity(&self) -> CloudResult<CallerIdentity> {
        let s = &self.session;
        call::run(&self.world, s, GET_CALLER_IDENTITY, &self.region, String::new(), |_, _| {
            let role = role_name_and_path(&s.role_arn).map(|(n, _)| n).unwrap_or_default();
            let id = CallerIdentity {
                account: s.account.clone(),
                arn: s.arn.clone(),
                user_id: format!("AROA{}:{}", role_id_suffix(&role), s.name),
            };
            Ok((id, s.arn.clone()))
        })
    }
}

/// IAM of one session: its own account's roles, from the inventory.
struct SimIam {
    world: SimWorld,
    session: Session,
}

impl SimIam {
    /// Runs an IAM call about role `name` of the caller's account: authorizes `action` on the role.
    fn on_role<T>(
        &self,
        operation: &'static str,
        name: &str,
        params: String,
        request: Value,
        body: impl FnOnce(&State, &Principal) -> Result<(T, String), CloudError>,
    ) -> CloudResult<T> {
        let api = Api::new("iam", operation);
        let s = &self.session;
        call::run(&self.world, s, api, GLOBAL_REGION, params, |st, c| {
            c.sent(request);
            let role = role_of(st, api, s, name)?;
            let request = AuthzRequest::new(&s.arn, &api.name(), &role.arn).called_in(GLOBAL_REGION, false);
            c.authorize(st, &[request])?;
            body(st, &role)
        })
    }
}

/// The role `name` of the session's account; `NoSuchEntity` as IAM answers (IAM API Reference,
/// GetRole, <https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html>).
fn role_of(st: &State, api: Api, s: &Session, name: &str) -> Result<Principal, CloudError> {
    st.inv
        .principals
        .iter()
        .find(|p| p.is_role() && p.account() == Some(s.account.as_str()) && p.name() == Some(name))
        .cloned()
        .ok_or_else(|| api.error("NoSuchEntity", format!("The role with name {name} cannot be found.")))
}

/// A policy as IAM returns it (decoded), from the inventory's object or JSON text.
fn document(v: &Value) -> Value {
    match v {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn boundary_arn(p: &Principal) -> Option<String> {
    let name = p.name()?;
    let account = p.account()?;
    let partition = Arn::parse(&p.arn).map_or("aws", |a| a.partition());
    p.permissions_boundary
        .as_ref()
        .map(|_| format!("arn:{partition}:iam::{account}:policy/custody-sim/{name}-boundary"))
}

/// What the inventory could not read about a principal cannot be answered.
fn known(p: &Principal, field: &str, api: Api) -> Result<(), CloudError> {
    if p.unknown.iter().any(|u| u == field) {
        return Err(api.not_simulated(&format!("the inventory does not know the {field} of {}", p.arn)));
    }
    Ok(())
}

#[async_trait]
impl Iam for SimIam {
    async fn get_role(&self, role_name: &str) -> CloudResult<Role> {
        self.on_role("GetRole", role_name, role_name.to_string(), json!({"roleName": role_name}), |_, p| {
            let (name, path) = role_name_and_path(&p.arn).unwrap_or_default();
            let role = Role {
                arn: p.arn.clone(),
                role_id: format!("AROA{}", role_id_suffix(&name)),
                name,
                path,
                trust_policy: p.trust_policy.as_ref().map(document),
                permissions_boundary_arn: boundary_arn(p),
            };
            Ok((role, p.arn.clone()))
        })
    }

    async fn list_role_policies(&self, role_name: &str) -> CloudResult<Vec<String>> {
        self.on_role("ListRolePolicies", role_name, role_name.to_string(), json!({"roleName": role_name}), |_, p| {
            known(p, "identity_policies", Api::new("iam", "ListRolePolicies"))?;
            let names: Vec<String> = (0..p.identity_policies.len()).map(|i| format!("inline-{i}")).collect();
            let summary = names.join(", ");
            Ok((names, summary))
        })
    }

    async fn get_role_policy(&self, role_name: &str, policy_name: &str) -> CloudResult<Value> {
        let api = Api::new("iam", "GetRolePolicy");
        let request = json!({"roleName": role_name, "policyName": policy_name});
        self.on_role("GetRolePolicy", role_name, format!("{role_name} {policy_name}"), request, |_, p| {
            let doc = policy_name
                .strip_prefix("inline-")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| p.identity_policies.get(i))
                .ok_or_else(|| {
                    api.error("NoSuchEntity", format!("The role policy with name {policy_name} cannot be found."))
                })?;
            Ok((document(doc), policy_name.to_string()))
        })
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> CloudResult<Vec<AttachedPolicy>> {
        let request = json!({"roleName": role_name});
        self.on_role("ListAttachedRolePolicies", role_name, role_name.to_string(), request, |_, _| {
            Ok((Vec::new(), "none (the simulator presents every policy as inline)".to_string()))
        })
    }

    async fn get_policy(&self, policy_arn: &str) -> CloudResult<ManagedPolicy> {
        let api = Api::new("iam", "GetPolicy");
        let s = &self.session;
        call::run(&self.world, s, api, GLOBAL_REGION, policy_arn.to_string(), |st, c| {
            c.sent(json!({"policyArn": policy_arn}));
            boundary_owner(st, policy_arn).ok_or_else(|| no_policy(api, policy_arn))?;
            c.authorize(st, &[AuthzRequest::new(&s.arn, "iam:GetPolicy", policy_arn).called_in(GLOBAL_REGION, false)])?;
            let name = policy_arn.rsplit('/').next().unwrap_or_default().to_string();
            let policy = ManagedPolicy { arn: policy_arn.to_string(), name, default_version_id: "v1".to_string() };
            Ok((policy, "v1".to_string()))
        })
    }

    async fn get_policy_version(&self, policy_arn: &str, version_id: &str) -> CloudResult<Value> {
        let api = Api::new("iam", "GetPolicyVersion");
        let s = &self.session;
        call::run(&self.world, s, api, GLOBAL_REGION, format!("{policy_arn} {version_id}"), |st, c| {
            c.sent(json!({"policyArn": policy_arn, "versionId": version_id}));
            let p = boundary_owner(st, policy_arn).ok_or_else(|| no_policy(api, policy_arn))?;
            let request = AuthzRequest::new(&s.arn, "iam:GetPolicyVersion", policy_arn).called_in(GLOBAL_REGION, false);
            c.authorize(st, &[request])?;
            match (version_id, &p.permissions_boundary) {
                ("v1", Some(doc)) => Ok((document(doc), "v1".to_string())),
                _ => {
                    Err(api.error("NoSuchEntity", format!("Policy {policy_arn} version {version_id} does not exist.")))
                }
            }
        })
    }

    async fn list_role_tags(&self, role_name: &str) -> CloudResult<BTreeMap<String, String>> {
        self.on_role("ListRoleTags", role_name, role_name.to_string(), json!({"roleName": role_name}), |_, p| {
            known(p, "tags", Api::new("iam", "ListRoleTags"))?;
            Ok((p.tags.clone(), format!("{} tag(s)", p.tags.len())))
        })
    }
}

/// The principal whose permissions boundary the simulator presents as `policy_arn`.
fn boundary_owner(st: &State, policy_arn: &str) -> Option<Principal> {
    st.inv.principals.iter().find(|p| boundary_arn(p).as_deref() == Some(policy_arn)).cloned()
}

fn no_policy(api: Api, arn: &str) -> CloudError {
    api.error("NoSuchEntity", format!("Policy {arn} does not exist or is not attachable."))
}

/// Organizations: not modelled (the inventory's SCPs and RCPs are applied by the engine on every
/// request, but the organization tree is not simulated). Every call is logged and answered
/// `NotSimulated`.
struct SimOrganizations {
    world: SimWorld,
    session: Session,
}

impl SimOrganizations {
    fn not_modelled<T>(&self, operation: &'static str, params: String) -> CloudResult<T> {
        let api = Api::new("organizations", operation);
        call::run(&self.world, &self.session, api, GLOBAL_REGION, params, |_, _| {
            Err(api.not_simulated("the organization tree is not part of the simulated cloud"))
        })
    }
}

#[async_trait]
impl Organizations for SimOrganizations {
    async fn describe_organization(&self) -> CloudResult<Option<Organization>> {
        self.not_modelled("DescribeOrganization", String::new())
    }

    async fn list_parents(&self, child_id: &str) -> CloudResult<Vec<Parent>> {
        self.not_modelled("ListParents", child_id.to_string())
    }

    async fn list_policies_for_target(
        &self,
        target_id: &str,
        kind: OrgPolicyKind,
    ) -> CloudResult<Option<Vec<OrgPolicy>>> {
        self.not_modelled("ListPoliciesForTarget", format!("{target_id} {}", kind.short()))
    }

    async fn describe_policy(&self, policy_id: &str) -> CloudResult<OrgPolicy> {
        self.not_modelled("DescribePolicy", policy_id.to_string())
    }
}

/// CloudTrail of one session in one Region.
struct SimCloudTrail {
    world: SimWorld,
    session: Session,
    region: String,
}

#[async_trait]
impl CloudTrail for SimCloudTrail {
    /// LookupEvents: authorized on `*`, the Service Authorization Reference listing no resource type
    /// for it (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html>);
    /// refused with CloudTrail's `AccessDeniedException`. Returns the records of the session's account
    /// in this Region made before it (`trail`), all pages at once.
    async fn lookup_events(&self, query: &EventLookup) -> CloudResult<Vec<LookedUpEvent>> {
        let s = &self.session;
        let attribute = query.attribute.as_ref();
        let params = format!(
            "{} to {}{}",
            query.start.to_rfc3339(),
            query.end.to_rfc3339(),
            attribute.map(|a| format!(" {}={}", a.key.as_str(), a.value)).unwrap_or_default()
        );
        call::run(&self.world, s, LOOKUP_EVENTS, &self.region, params, |st, c| {
            let mut request = json!({"startTime": query.start.to_rfc3339(), "endTime": query.end.to_rfc3339()});
            if let (Some(a), Some(m)) = (attribute, request.as_object_mut()) {
                m.insert(
                    "lookupAttributes".into(),
                    json!([{"attributeKey": a.key.as_str(), "attributeValue": a.value}]),
                );
            }
            c.sent(request);
            let request = AuthzRequest::new(&s.arn, "cloudtrail:LookupEvents", "*").called_in(&self.region, false);
            c.authorize(st, &[request])?;
            let events = trail::lookup(&st.calls, &st.trail, &s.account, &self.region, query);
            let summary = format!("{} event(s)", events.len());
            Ok((events, summary))
        })
    }
}
