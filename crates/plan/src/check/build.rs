//! Building `custody authz` cases from the inventory and the plan.
//!
//! A case is put together from what the inventory says about the caller (identity policies,
//! permissions boundary, the SCPs of its account), the resource (the key policy and grants of a KMS
//! key, the trust policy of a role custody assumes) and the RCPs of the resource's account, plus what
//! the plan itself creates before the request runs (grants from earlier steps, the temporary key).
//! It is parsed once per caller and resource ([`Template`]); each request then only swaps its
//! `request` in, so a plan of hundreds of requests parses each policy a handful of times.

use super::case::{
    build_request, request_json, KeyInfo, RequestSpec, Slots, Unknown, STAND_IN_IDENTITY, STAND_IN_RESOURCE,
};
use super::place::{self, ResourceKind};
use crate::inventory::{Inventory, Key, KeyManager, Principal};
use crate::plan::{Plan, PolicyScope};
use custody_policy::context::ContextValue;
use custody_policy::Case;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// A template under construction.
#[derive(Default)]
struct Parts {
    slots: Slots,
    sources: BTreeMap<String, String>,
    unknowns: Vec<Unknown>,
    defaults: Vec<(String, ContextValue)>,
    /// Case field → the plan step that creates it (a grant, the temporary key's policy).
    creators: BTreeMap<String, usize>,
}

impl Parts {
    /// Names the SCPs or RCPs of an organization path.
    fn levels(&mut self, field: &str, what: &str, account: &str, levels: &[Vec<Value>]) {
        for (l, level) in levels.iter().enumerate() {
            for i in 0..level.len() {
                self.sources.insert(
                    format!("{field}[{l}][{i}]"),
                    format!("{what} {i} at level {l} (0 = root) of account {account}'s organization path"),
                );
            }
        }
    }
}

/// A case parsed once for one caller and resource.
struct Template {
    slots: Slots,
    sources: BTreeMap<String, String>,
    case: Result<Case, String>,
    unknowns: Vec<Unknown>,
    caller_arn: Option<String>,
    key: Option<KeyInfo>,
    trust_of: Option<String>,
    /// Context keys AWS adds that the plan's request may not carry (principal tags, key aliases).
    defaults: Vec<(String, ContextValue)>,
    /// Case field → the plan step that creates it.
    creators: BTreeMap<String, usize>,
    /// Some policy tests `…ResourceTag/…`: instance tags matter.
    mentions_resource_tag: bool,
}

/// One request set into its case: what the preflight reports on and the fixes work on.
#[derive(Debug, Clone)]
pub(crate) struct Working {
    pub case: Case,
    pub slots: Slots,
    /// Case field (`identity_policies[0]`, `resource_policy`, `grants[2]`) → where it came from, in words.
    pub sources: BTreeMap<String, String>,
    /// The caller's IAM ARN as the inventory has it (a role ARN, with its path), when known.
    pub caller_arn: Option<String>,
    pub key: Option<KeyInfo>,
    /// For `sts:AssumeRole`: the role whose trust policy is the resource policy.
    pub trust_of: Option<String>,
    /// Which side of the evaluation the request is about.
    pub scope: PolicyScope,
    /// The case's `request`, context included.
    pub request_json: Value,
}

impl Working {
    /// The full case file, as `custody authz` reads it.
    pub fn case_json(&self) -> Value {
        self.slots.case_json(self.request_json.clone())
    }
}

/// A request evaluated against what is known.
pub(crate) struct Evaluated {
    pub decision: custody_policy::Decision,
    pub explanation: custody_policy::Explanation,
    /// Where each deciding statement comes from (parallel to `allowed_by`, or `denied_by` for an
    /// explicit deny).
    pub origins: Vec<String>,
    /// For an allowed request: the plan steps that create what allows it (a grant, the temporary key).
    pub creators: Vec<usize>,
    pub unknowns: Vec<Unknown>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ResourceKey {
    /// A key, with the version of what the plan did to it (created it, granted, retired).
    Key(String, usize),
    Role(String),
    /// An S3 bucket (by name: its objects share the bucket policy).
    Bucket(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TemplateKey {
    /// The [`PolicyScope`] (which derives no `Hash`): 0 all, 1 identity, 2 resource.
    scope: u8,
    principal: String,
    resource: ResourceKey,
    resource_account: Option<String>,
}

/// Walks the plan step by step, keeping what earlier steps created, and evaluates requests.
pub(crate) struct Checker<'a> {
    pub inventory: &'a Inventory,
    pub plan: &'a Plan,
    step: usize,
    /// Grants created by earlier steps and not yet retired: key ARN → (step, index in `creates_grants`).
    grants: BTreeMap<String, Vec<(usize, usize)>>,
    /// Bumped whenever the plan creates a key or changes the grants on one (part of the template's
    /// cache key).
    versions: BTreeMap<String, usize>,
    /// Keys created by this step or earlier: ARN → (step, index in `creates_keys`).
    keys: BTreeMap<String, (usize, usize)>,
    cache: HashMap<TemplateKey, Template>,
}

impl<'a> Checker<'a> {
    pub fn new(inventory: &'a Inventory, plan: &'a Plan) -> Checker<'a> {
        Checker {
            inventory,
            plan,
            step: 0,
            grants: BTreeMap::new(),
            versions: BTreeMap::new(),
            keys: BTreeMap::new(),
            cache: HashMap::new(),
        }
    }

    /// Enters step `i`. The keys it creates count for its own requests too: a step that creates the
    /// temporary key goes on to give it an alias and a policy.
    pub fn begin_step(&mut self, i: usize) {
        self.step = i;
        if let Some(step) = self.plan.steps.get(i) {
            for (k, key) in step.creates_keys.iter().enumerate() {
                self.keys.insert(key.arn.clone(), (i, k));
                *self.versions.entry(key.arn.clone()).or_default() += 1;
            }
        }
    }

    /// Leaves step `i`: its grants exist for the steps after it, and the grants it retires or revokes
    /// are gone for them.
    pub fn end_step(&mut self, i: usize) {
        let Some(step) = self.plan.steps.get(i) else { return };
        for (g, grant) in step.creates_grants.iter().enumerate() {
            self.grants.entry(grant.key_arn.clone()).or_default().push((i, g));
            *self.versions.entry(grant.key_arn.clone()).or_default() += 1;
        }
        for req in step.calls.iter().flat_map(|c| &c.requests) {
            let action = req.action.to_ascii_lowercase();
            let Some(id) = req.grant_id.as_deref() else { continue };
            if action != "kms:retiregrant" && action != "kms:revokegrant" {
                continue;
            }
            let plan = self.plan;
            if let Some(list) = self.grants.get_mut(&req.resource) {
                list.retain(|&(s, g)| {
                    plan.steps[s].creates_grants[g].grant.get("grant_id").and_then(Value::as_str) != Some(id)
                });
                *self.versions.entry(req.resource.clone()).or_default() += 1;
            }
        }
    }

    /// Evaluates one request against what is known.
    pub fn evaluate(&mut self, spec: &RequestSpec<'_>) -> Result<Evaluated, String> {
        let tkey = self.template_key(spec);
        let inventory = self.inventory;
        if !self.cache.contains_key(&tkey) {
            let t = self.build(spec);
            self.cache.insert(tkey.clone(), t);
        }
        let t = self.cache.get_mut(&tkey).ok_or("template cache")?;
        let request = build_request(spec, &t.defaults)?;
        let case = t.case.as_mut().map_err(|e| e.clone())?;
        case.request = request;
        let decision = custody_policy::evaluate(case);
        let explanation = custody_policy::explain(case, &decision);
        let mut unknowns = t.unknowns.clone();
        if t.mentions_resource_tag {
            if let Some(u) = instance_tags_unknown(inventory, spec.resource) {
                unknowns.push(u);
            }
        }
        let refs = if decision.kind == custody_policy::DecisionKind::ExplicitDeny {
            &explanation.denied_by
        } else {
            &explanation.allowed_by
        };
        let origins =
            refs.iter().map(|r| t.sources.get(&r.policy).cloned().unwrap_or_else(|| r.policy.clone())).collect();
        let mut creators: Vec<usize> = match decision.kind {
            custody_policy::DecisionKind::Allowed => {
                explanation.allowed_by.iter().filter_map(|r| t.creators.get(&r.policy).copied()).collect()
            }
            _ => Vec::new(),
        };
        creators.sort_unstable();
        creators.dedup();
        Ok(Evaluated { decision, explanation, origins, creators, unknowns })
    }

    /// The request set into a copy of its case, for reports and fixes.
    pub fn working(&mut self, spec: &RequestSpec<'_>) -> Result<Working, String> {
        let tkey = self.template_key(spec);
        if !self.cache.contains_key(&tkey) {
            let t = self.build(spec);
            self.cache.insert(tkey.clone(), t);
        }
        let t = self.cache.get(&tkey).ok_or("template cache")?;
        let mut case = t.case.clone()?;
        case.request = build_request(spec, &t.defaults)?;
        Ok(Working {
            case,
            slots: t.slots.clone(),
            sources: t.sources.clone(),
            caller_arn: t.caller_arn.clone(),
            key: t.key.clone(),
            trust_of: t.trust_of.clone(),
            scope: spec.scope,
            request_json: request_json(spec, &t.defaults),
        })
    }

    /// The key at `arn` as the plan stands at the current step: the inventory's, or one the plan
    /// created.
    pub fn key_info(&self, arn: &str) -> Option<KeyInfo> {
        if let Some(k) = self.inventory.keys.iter().find(|k| k.arn == arn) {
            return Some(inventory_key_info(k));
        }
        let &(s, _) = self.keys.get(arn)?;
        let (region, account) = place::arn_region_account(arn);
        Some(KeyInfo {
            arn: arn.to_string(),
            account: account.to_string(),
            region: region.to_string(),
            manager: KeyManager::Customer,
            planned_by: Some(self.plan.steps[s].id.clone()),
            policy_known: true,
        })
    }

    fn template_key(&self, spec: &RequestSpec<'_>) -> TemplateKey {
        let resource = match place::resource_kind(spec.action, spec.resource) {
            ResourceKind::Key => {
                ResourceKey::Key(spec.resource.to_string(), self.versions.get(spec.resource).copied().unwrap_or(0))
            }
            ResourceKind::Role => ResourceKey::Role(spec.resource.to_string()),
            ResourceKind::Bucket => ResourceKey::Bucket(place::bucket_name(spec.resource).to_string()),
            ResourceKind::Other => ResourceKey::Other,
        };
        TemplateKey {
            scope: match spec.scope {
                PolicyScope::All => 0,
                PolicyScope::Identity => 1,
                PolicyScope::Resource => 2,
            },
            principal: spec.principal.to_string(),
            resource,
            resource_account: place::resource_account(spec.resource, spec.resource_account, spec.principal),
        }
    }

    fn build(&self, spec: &RequestSpec<'_>) -> Template {
        let mut parts = Parts::default();
        let principal = self.inventory.principal(spec.principal);
        if let Some(p) = principal {
            // aws:PrincipalArn of a role session is the role's ARN *with its path*, which the session
            // ARN does not carry (IAM User Guide, "AWS global condition context keys",
            // <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>;
            // "IAM identifiers", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>):
            // take it from the inventory's role.
            if spec.principal.contains(":assumed-role/") {
                parts.defaults.push(("aws:PrincipalArn".to_string(), ContextValue::single(p.arn.as_str())));
            }
            // aws:PrincipalTag/<key>: the tags of the principal, for a role session those of the role
            // (IAM User Guide, "AWS global condition context keys",
            // <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag>).
            for (k, v) in &p.tags {
                parts.defaults.push((format!("aws:PrincipalTag/{k}"), ContextValue::single(v.as_str())));
            }
        }
        if spec.scope == PolicyScope::Resource {
            parts.slots.identity.push(json!({"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
            parts.sources.insert("identity_policies[0]".into(), STAND_IN_IDENTITY.into());
        } else {
            self.caller_side(spec, principal, &mut parts);
        }
        let (mut key, mut trust_of) = (None, None);
        if spec.scope == PolicyScope::Identity {
            let account = place::principal_account(spec.principal).unwrap_or_default();
            parts.slots.resource = Some(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "*", "Resource": "*"}]}));
            parts.sources.insert("resource_policy".into(), STAND_IN_RESOURCE.into());
        } else {
            (key, trust_of) = self.resource_side(spec, &mut parts);
        }
        let Parts { slots, sources, mut unknowns, defaults, creators } = parts;
        let text = serde_json::to_string(&slots.case_json(Value::Null)).unwrap_or_default().to_ascii_lowercase();
        // Tag and alias unknowns only matter when some policy tests them.
        unknowns.retain(|u| !matches!(u.tested, Some(key) if !text.contains(key)));
        let placeholder = json!({
            "principal": spec.principal,
            "action": spec.action,
            "resource": spec.resource,
            "resource_account": spec.resource_account,
        });
        let case = custody_policy::Case::from_json(&slots.case_json(placeholder)).map_err(|e| e.to_string());
        Template {
            slots,
            sources,
            case,
            unknowns,
            caller_arn: principal.map(|p| p.arn.clone()),
            key,
            trust_of,
            defaults,
            creators,
            mentions_resource_tag: text.contains("resourcetag/"),
        }
    }

    /// The caller's identity policies, permissions boundary and the SCPs of its account.
    fn caller_side(&self, spec: &RequestSpec<'_>, principal: Option<&Principal>, parts: &mut Parts) {
        let inv = self.inventory;
        match principal {
            None => parts.unknowns.push(Unknown::both(format!(
                "the caller {} is not in the inventory: its identity policies and permissions boundary are unknown",
                spec.principal
            ))),
            Some(p) => {
                let listed = |field: &str| p.unknown.iter().any(|u| u == field);
                if listed("identity_policies") {
                    parts.unknowns.push(Unknown::both(format!("the identity policies of {} are unknown", p.arn)));
                }
                if listed("permissions_boundary") {
                    parts
                        .unknowns
                        .push(Unknown::guardrail(format!("the permissions boundary of {} is unknown", p.arn)));
                }
                if listed("tags") {
                    // Only matters when a policy tests a principal tag; decided once the policies are in.
                    parts.unknowns.push(
                        Unknown::both(format!("the tags of {} are unknown", p.arn)).when_tested("aws:principaltag/"),
                    );
                }
                for (i, doc) in p.identity_policies.iter().enumerate() {
                    parts
                        .sources
                        .insert(format!("identity_policies[{i}]"), format!("identity policy {i} of {}", p.arn));
                    parts.slots.identity.push(doc.clone());
                }
                if let Some(b) = &p.permissions_boundary {
                    parts
                        .sources
                        .insert("permissions_boundary".into(), format!("the permissions boundary of {}", p.arn));
                    parts.slots.boundary = Some(b.clone());
                }
            }
        }
        if let Some(acct) = place::principal_account(spec.principal) {
            if inv.unknown.iter().any(|u| *u == format!("scps:{acct}")) {
                parts.unknowns.push(Unknown::guardrail(format!("the SCPs of account {acct} are unknown")));
            }
            if let Some(levels) = inv.scps.get(acct) {
                parts.levels("scps", "SCP", acct, levels);
                parts.slots.scps = Some(levels.clone());
            }
        }
    }

    /// The RCPs of the resource's account and the resource policy: a key's policy and grants, a
    /// role's trust policy. Returns the key and the role.
    fn resource_side(&self, spec: &RequestSpec<'_>, parts: &mut Parts) -> (Option<KeyInfo>, Option<String>) {
        let inv = self.inventory;
        let resource_account = place::resource_account(spec.resource, spec.resource_account, spec.principal);
        if let Some(acct) = resource_account.as_deref() {
            if inv.unknown.iter().any(|u| *u == format!("rcps:{acct}")) && place::rcps_may_apply(spec.action) {
                parts.unknowns.push(Unknown::guardrail(format!("the RCPs of account {acct} are unknown")));
            }
            if let Some(levels) = inv.rcps.get(acct) {
                parts.levels("rcps", "RCP", acct, levels);
                parts.slots.rcps = Some(levels.clone());
            }
        }
        match place::resource_kind(spec.action, spec.resource) {
            ResourceKind::Key => {
                self.key_slots(spec.resource, parts);
                (self.key_info(spec.resource), None)
            }
            ResourceKind::Role => {
                match inv.principal(spec.resource) {
                    None => parts.unknowns.push(Unknown::both(format!(
                        "the role {} is not in the inventory: its trust policy is unknown",
                        spec.resource
                    ))),
                    Some(role) => match &role.trust_policy {
                        Some(t) if !role.unknown.iter().any(|u| u == "trust_policy") => {
                            parts.sources.insert("resource_policy".into(), format!("the trust policy of {}", role.arn));
                            parts.slots.resource = Some(t.clone());
                        }
                        _ => parts.unknowns.push(Unknown::both(format!("the trust policy of {} is unknown", role.arn))),
                    },
                }
                (None, Some(spec.resource.to_string()))
            }
            ResourceKind::Bucket => {
                // `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`: the bucket policy covers both.
                let name = place::bucket_name(spec.resource);
                match inv.bucket(name) {
                    None => parts.unknowns.push(Unknown::both(format!(
                        "the bucket {name} is not in the inventory: its bucket policy is unknown"
                    ))),
                    Some(b) if b.unknown.iter().any(|u| u == "policy") => {
                        parts.unknowns.push(Unknown::both(format!("the bucket policy of {name} is unknown")))
                    }
                    Some(b) => {
                        if let Some(p) = &b.policy {
                            parts.sources.insert("resource_policy".into(), format!("the bucket policy of {name}"));
                            parts.slots.resource = Some(p.clone());
                        }
                    }
                }
                (None, None)
            }
            ResourceKind::Other => (None, None),
        }
    }

    /// The key policy and grants of a key, from the inventory or the plan.
    fn key_slots(&self, arn: &str, parts: &mut Parts) {
        let plan = self.plan;
        let Parts { slots, sources, unknowns, defaults, creators } = parts;
        if let Some(k) = self.inventory.keys.iter().find(|k| k.arn == arn) {
            let listed = |field: &str| k.unknown.iter().any(|u| u == field);
            match &k.policy {
                Some(p) if !listed("policy") => {
                    sources.insert("resource_policy".into(), format!("the key policy of {arn}"));
                    slots.resource = Some(p.clone());
                }
                _ => unknowns.push(Unknown::both(format!("the key policy of {arn} is unknown"))),
            }
            if listed("grants") {
                unknowns.push(Unknown::grant(format!("the grants on {arn} are unknown")));
            }
            for g in &k.grants {
                let id = g.get("grant_id").and_then(Value::as_str).unwrap_or("(no id)");
                sources.insert(format!("grants[{}]", slots.grants.len()), format!("grant {id} on {arn}"));
                slots.grants.push(g.clone());
            }
            if listed("aliases") {
                unknowns.push(
                    Unknown::both(format!("the aliases of {arn} are unknown")).when_tested("kms:resourcealiases"),
                );
            }
            // kms:ResourceAliases: the aliases associated with the key, for every key resource operation
            // (KMS Developer Guide, <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases>).
            if !k.aliases.is_empty() {
                defaults
                    .push(("kms:ResourceAliases".into(), ContextValue::multi(k.aliases.iter().map(String::as_str))));
            }
        } else if let Some(&(s, i)) = self.keys.get(arn) {
            let step = &plan.steps[s];
            sources.insert(
                "resource_policy".into(),
                format!("the key policy custody puts on the key {arn} it creates (step `{}`)", step.id),
            );
            slots.resource = Some(step.creates_keys[i].policy.clone());
            creators.insert("resource_policy".into(), s);
            // The aliases the step gives the key count as kms:ResourceAliases from then on, as for a key
            // of the inventory (KMS Developer Guide, conditions-kms.html#conditions-kms-resource-aliases).
            // AWS may take up to five minutes to authorize by a new alias (alias-authorization.html):
            // the preflight decides as AWS will once it has, and says the step waits for it
            // (`Plan::propagation`); the executor makes a copy that failed meanwhile again.
            let aliases = &step.creates_keys[i].aliases;
            if !aliases.is_empty() {
                defaults.push(("kms:ResourceAliases".into(), ContextValue::multi(aliases.iter().map(String::as_str))));
            }
        } else {
            unknowns.push(Unknown::both(format!(
                "the key {arn} is not in the inventory: its key policy and grants are unknown"
            )));
        }
        for &(s, g) in self.grants.get(arn).map(Vec::as_slice).unwrap_or_default() {
            let step = &plan.steps[s];
            let grant = &step.creates_grants[g].grant;
            let id = grant.get("grant_id").and_then(Value::as_str).unwrap_or("(no id)");
            sources.insert(
                format!("grants[{}]", slots.grants.len()),
                format!("grant {id} on {arn}, created by step `{}`", step.id),
            );
            creators.insert(format!("grants[{}]", slots.grants.len()), s);
            slots.grants.push(grant.clone());
        }
    }
}

fn inventory_key_info(k: &Key) -> KeyInfo {
    let (region, account) = place::arn_region_account(&k.arn);
    KeyInfo {
        arn: k.arn.clone(),
        account: account.to_string(),
        region: region.to_string(),
        manager: k.manager,
        planned_by: None,
        policy_known: k.policy.is_some() && !k.unknown.iter().any(|u| u == "policy"),
    }
}

/// An instance whose tags are unknown, when the request is on it.
fn instance_tags_unknown(inv: &Inventory, resource: &str) -> Option<Unknown> {
    let id = resource.rsplit_once(":instance/").map(|(_, id)| id)?;
    let inst = inv.instances.iter().find(|i| i.id == id)?;
    inst.unknown
        .iter()
        .any(|u| u == "tags")
        .then(|| Unknown::both(format!("the tags of instance {id} are unknown, and a policy tests resource tags")))
}
