//! `custody collect`: an inventory built from live AWS with read-only calls.
//!
//! The instances and their volumes, every key of those volumes (and the forensic key), the forensic
//! and source roles, and the organization policies (SCPs, RCPs) on each account's path. A fact that
//! cannot be read (access denied, throttled past the retries, an answer that does not parse) is
//! listed in its object's `unknown` array and reported as a [`Warning`]; it is never left out
//! silently, since the preflight would then take it as absent (no grant, no SCP) and allow too much.
//!
//! What stops collection instead: AWS cannot be asked at all (no network, no credentials, credentials
//! refused — [`CloudError::is_fatal`]), an instance or role that does not exist.
//!
//! Identities: custody reads the forensic account as itself. With a source role it assumes that role
//! (session `custody-collect-<case>`) and reads the source account through it; IAM answers only about
//! the caller's own account, so each role is read through a session of its own account.

mod keys;
mod orgs;
mod principals;

use custody_cloud::api::{Cloud, SessionName};
use custody_cloud::error::CloudError;
use custody_cloud::types::CallerIdentity;
use custody_plan::inventory::arn::Arn;
use custody_plan::inventory::{
    Config, EbsEncryptionDefault, Instance, InstanceField, Inventory, Key, Tag, Volume, DEFAULT_ALIAS_PREFIX,
    INVENTORY_VERSION,
};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct CollectRequest {
    /// `i-…`, in the order they are to appear.
    pub instance_ids: Vec<String>,
    /// The Region the instances are in, and the forensic Region.
    pub region: String,
    /// The role custody runs as; by default the caller's own role.
    pub forensic_role_arn: Option<String>,
    /// The role custody assumes in the source account.
    pub source_role_arn: Option<String>,
    /// Keys evidence copies are encrypted under (customer managed, forensic account).
    pub forensic_key_arns: Vec<String>,
    /// The case id, carried in the AssumeRole session name.
    pub case_id: Option<String>,
    /// The prefix of the temporary key aliases (`config.alias_prefix`); default
    /// [`DEFAULT_ALIAS_PREFIX`].
    pub alias_prefix: Option<String>,
    /// The tag triage is scoped to (`config.ssm_tag`).
    pub ssm_tag: Option<Tag>,
}

/// A fact that could not be read, and why.
#[derive(Debug)]
pub struct Warning {
    /// What the fact belongs to: a role or key ARN, an instance id, `account 111111111111`.
    pub subject: String,
    /// What could not be read, in words, naming the subject: `the key policy of arn:aws:kms:…`.
    pub what: String,
    /// The entries added to an `unknown` list (`policy`, `scps:111111111111`).
    pub unknown: Vec<String>,
    pub cause: Cause,
}

/// Why a fact could not be read.
#[derive(Debug)]
pub enum Cause {
    /// AWS refused or failed the call.
    Aws(CloudError),
    /// custody did not ask: it had no identity that AWS would answer.
    Note(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aws(e) => e.fmt(f),
            Self::Note(n) => f.write_str(n),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.what, self.cause)?;
        if !self.unknown.is_empty() {
            let names: Vec<String> = self.unknown.iter().map(|u| format!("`{u}`")).collect();
            write!(f, "; marked unknown ({})", names.join(", "))?;
        }
        Ok(())
    }
}

/// An inventory, and what could not be read for it.
#[derive(Debug)]
pub struct Collected {
    pub inventory: Inventory,
    pub warnings: Vec<Warning>,
}

/// Why no inventory could be built.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// AWS could not be asked (network, endpoint, credentials).
    #[error("cannot reach AWS")]
    Unreachable(#[source] Box<CloudError>),
    /// An instance, role or key named on the command line does not exist.
    #[error("{what} does not exist")]
    NotFound {
        what: String,
        #[source]
        error: Box<CloudError>,
    },
    /// The request itself is unusable (a malformed ARN reached the library).
    #[error("{0}")]
    Invalid(String),
}

/// The state of one collection: the identities to read with, and the warnings so far.
pub(crate) struct Collector {
    /// The caller's identity (the forensic account).
    pub(crate) base: Arc<dyn Cloud>,
    pub(crate) base_account: String,
    /// The caller's ARN.
    pub(crate) caller_arn: String,
    /// Sessions in other accounts, by account id.
    pub(crate) sessions: BTreeMap<String, Arc<dyn Cloud>>,
    pub(crate) warnings: Vec<Warning>,
}

impl Collector {
    /// The identity to read `account` with: a session of that account if custody has one, else the
    /// caller's own identity.
    pub(crate) fn cloud_for(&self, account: &str) -> Arc<dyn Cloud> {
        self.sessions.get(account).cloned().unwrap_or_else(|| self.base.clone())
    }

    /// Whether custody can read `account` as a principal of that account (IAM answers only then).
    pub(crate) fn reads_as(&self, account: &str) -> bool {
        account == self.base_account || self.sessions.contains_key(account)
    }

    /// The value of a read, or `None` with a warning; a fatal error stops everything.
    pub(crate) fn soft<T>(
        &mut self,
        result: Result<T, CloudError>,
        subject: &str,
        what: &str,
        unknown: &[&str],
    ) -> Result<Option<T>, CollectError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_fatal() => Err(CollectError::Unreachable(Box::new(e))),
            Err(error) => {
                self.warn(subject, what, unknown, error);
                Ok(None)
            }
        }
    }

    pub(crate) fn warn(&mut self, subject: &str, what: &str, unknown: &[&str], error: CloudError) {
        self.warn_because(subject, what, unknown, Cause::Aws(error));
    }

    pub(crate) fn warn_because(&mut self, subject: &str, what: &str, unknown: &[&str], cause: Cause) {
        self.warnings.push(Warning {
            subject: subject.to_string(),
            what: format!("{what} of {subject}"),
            unknown: unknown.iter().map(|u| u.to_string()).collect(),
            cause,
        });
    }
}

/// The parts of an ARN: `(partition, service, region, account, resource)`, the Region and the account
/// empty when the ARN has none. `None` for a text that is not an ARN ([`Arn::parse`]).
pub(crate) fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let arn = Arn::parse(arn).ok()?;
    Some((arn.partition(), arn.service(), arn.region().unwrap_or(""), arn.account().unwrap_or(""), arn.resource()))
}

/// Builds the inventory. `base` is the caller's identity (the forensic account).
pub async fn collect(base: Arc<dyn Cloud>, request: &CollectRequest) -> Result<Collected, CollectError> {
    let identity = base.sts().get_caller_identity().await.map_err(|e| CollectError::Unreachable(Box::new(e)))?;
    let mut c = Collector {
        base,
        base_account: identity.account.clone(),
        caller_arn: identity.arn.clone(),
        sessions: BTreeMap::new(),
        warnings: vec![],
    };

    let Roles { forensic_role_arn, forensic_account, source_role_arns, source_account } =
        roles(&mut c, request, &identity).await?;
    let mut instances = instances(&mut c, request, &source_account).await?;
    let mut key_refs = key_refs(&instances, &request.forensic_key_arns, &forensic_account);
    let mut by_default = encryption_by_default(&mut c, &forensic_account, &request.region).await?;
    if let Some(k) = by_default.as_ref().and_then(|d| d.kms_key_arn.clone()) {
        if !key_refs.iter().any(|(r, _)| *r == k) {
            key_refs.push((k, forensic_account.clone()));
        }
    }
    let (keys, resolved) = keys::collect_keys(&mut c, &key_refs, &request.region).await?;
    if let Some(d) = &mut by_default {
        d.kms_key_arn = d.kms_key_arn.as_ref().map(|k| resolved.get(k).cloned().unwrap_or_else(|| k.clone()));
    }
    let mut unknown_facts = Vec::new();
    let by_default = match by_default {
        Some(d) if key_is_listed(&d, &keys) => vec![d],
        _ => {
            unknown_facts.push(format!("ebs_encryption_by_default:{forensic_account}:{}", request.region));
            vec![]
        }
    };
    for inst in &mut instances {
        for v in &mut inst.volumes {
            if let Some(arn) = v.kms_key_arn.as_ref().and_then(|k| resolved.get(k)) {
                v.kms_key_arn = Some(arn.clone());
            }
        }
    }

    let mut principals = vec![principals::collect_role(&mut c, &forensic_role_arn).await?];
    for role_arn in source_role_arns.values().filter(|arn| **arn != forensic_role_arn) {
        principals.push(principals::collect_role(&mut c, role_arn).await?);
    }

    let mut accounts = vec![forensic_account.clone()];
    for inst in &instances {
        if !accounts.contains(&inst.account) {
            accounts.push(inst.account.clone());
        }
    }
    let orgs = orgs::collect_org_policies(&mut c, &accounts).await?;

    let forensic_key_arns = request
        .forensic_key_arns
        .iter()
        .map(|k| {
            let arn = resolved.get(k).cloned().unwrap_or_else(|| k.clone());
            let region = arn_parts(&arn).map(|(_, _, r, _, _)| r.to_string()).unwrap_or_else(|| request.region.clone());
            (region, arn)
        })
        .collect();
    let inventory = Inventory {
        version: INVENTORY_VERSION.to_string(),
        description: Some(format!(
            "custody collect: {} in {}, read as {}",
            request.instance_ids.join(", "),
            request.region,
            c.caller_arn
        )),
        config: Config {
            forensic_account,
            forensic_region: request.region.clone(),
            forensic_role_arn,
            source_role_arns,
            forensic_key_arns,
            alias_prefix: request.alias_prefix.clone().unwrap_or_else(|| DEFAULT_ALIAS_PREFIX.to_string()),
            ssm_tag: request.ssm_tag.clone(),
        },
        principals,
        keys,
        instances,
        scps: orgs.scps,
        rcps: orgs.rcps,
        ebs_encryption_by_default: by_default,
        // Not read (GetBucketPolicy): a triage output bucket not listed is unknown to the preflight.
        buckets: Vec::new(),
        unknown: orgs.unknown.into_iter().chain(unknown_facts).collect(),
    };
    Ok(Collected { inventory, warnings: c.warnings })
}

/// The roles custody reads with, as `collect` was asked for them.
struct Roles {
    /// The role custody acquires as: given, or the caller's own.
    forensic_role_arn: String,
    forensic_account: String,
    /// The role of the source account, by account (none: the source account is the caller's).
    source_role_arns: BTreeMap<String, String>,
    source_account: String,
}

/// The forensic role and account and the source role, checked; a session of the source role is
/// added to `c` when custody is not already running as it (a refusal is a warning: the source account
/// is read as the caller then).
async fn roles(c: &mut Collector, request: &CollectRequest, identity: &CallerIdentity) -> Result<Roles, CollectError> {
    // The forensic role: given, or the caller's own.
    let forensic_role_arn = match &request.forensic_role_arn {
        Some(arn) => arn.clone(),
        None => principals::role_of_caller(&identity.arn).ok_or_else(|| {
            CollectError::Invalid(format!(
                "custody runs as `{}`, not as a role: pass --forensic-role-arn (the role custody acquires as)",
                identity.arn
            ))
        })?,
    };
    let forensic_account = arn_parts(&forensic_role_arn)
        .map(|(_, _, _, account, _)| account.to_string())
        .ok_or_else(|| CollectError::Invalid(format!("`{forensic_role_arn}` is not an ARN")))?;

    for key in &request.forensic_key_arns {
        match arn_parts(key) {
            Some((_, "kms", _, account, _)) if account == forensic_account => {}
            _ => {
                return Err(CollectError::Invalid(format!(
                    "`{key}` is not the ARN of a KMS key of the forensic account {forensic_account}"
                )))
            }
        }
    }

    // The source account, through its role.
    let mut source_role_arns = BTreeMap::new();
    let mut source_account = identity.account.clone();
    if let Some(role_arn) = &request.source_role_arn {
        let account = arn_parts(role_arn)
            .map(|(_, _, _, account, _)| account.to_string())
            .ok_or_else(|| CollectError::Invalid(format!("`{role_arn}` is not an ARN")))?;
        source_role_arns.insert(account.clone(), role_arn.clone());
        source_account = account.clone();
        if !principals::is_session_of(&identity.arn, role_arn) {
            let session = SessionName::new("collect", request.case_id.as_deref());
            match c.base.assume_role(role_arn, &session).await {
                Ok(cloud) => {
                    c.sessions.insert(account, cloud);
                }
                Err(e) if e.is_fatal() => return Err(CollectError::Unreachable(Box::new(e))),
                Err(e) => c.warnings.push(Warning {
                    subject: role_arn.clone(),
                    what: format!(
                        "account {account} as {role_arn} (AssumeRole; it is read as {} instead)",
                        identity.arn
                    ),
                    unknown: vec![],
                    cause: Cause::Aws(e),
                }),
            }
        }
    }
    Ok(Roles { forensic_role_arn, forensic_account, source_role_arns, source_account })
}

/// The keys to read, each as the volume (or the request) names it, with the account it is read in:
/// the instances' volumes' keys, then the forensic keys asked for.
fn key_refs(instances: &[Instance], forensic_key_arns: &[String], forensic_account: &str) -> Vec<(String, String)> {
    let mut key_refs: Vec<(String, String)> = Vec::new();
    for inst in instances {
        for v in inst.volumes.iter().filter_map(|v| v.kms_key_arn.as_ref()) {
            if !key_refs.iter().any(|(k, _)| k == v) {
                key_refs.push((v.clone(), inst.account.clone()));
            }
        }
    }
    for k in forensic_key_arns {
        if !key_refs.iter().any(|(r, _)| r == k) {
            key_refs.push((k.clone(), forensic_account.to_string()));
        }
    }
    key_refs
}

/// Whether encryption by default's key (if any) was resolved to a key the inventory lists: a key that
/// could not be leaves the setting unknown, never off.
fn key_is_listed(d: &EbsEncryptionDefault, keys: &[Key]) -> bool {
    d.kms_key_arn.as_ref().is_none_or(|k| {
        custody_plan::inventory::arn::KeyArn::parse(k).is_some() && keys.iter().any(|listed| listed.arn == *k)
    })
}

/// EBS encryption by default where evidence copies are made (GetEbsEncryptionByDefault, and the
/// default key with GetEbsDefaultKmsKeyId when it is on): `None`, with a warning, when it cannot be
/// read. The key is as EC2 names it (an ARN or `alias/aws/ebs`), resolved with the other keys.
async fn encryption_by_default(
    c: &mut Collector,
    account: &str,
    region: &str,
) -> Result<Option<EbsEncryptionDefault>, CollectError> {
    let ec2 = c.cloud_for(account).ec2(region);
    let subject = format!("account {account} in {region}");
    let unknown = format!("ebs_encryption_by_default:{account}:{region}");
    let result = ec2.ebs_encryption_by_default().await;
    let Some(enabled) = c.soft(result, &subject, "EBS encryption by default", &[unknown.as_str()])? else {
        return Ok(None);
    };
    let mut setting =
        EbsEncryptionDefault { account: account.to_string(), region: region.to_string(), enabled, kms_key_arn: None };
    if enabled {
        let result = ec2.ebs_default_kms_key_id().await;
        match c.soft(result, &subject, "the default key of EBS encryption by default", &[unknown.as_str()])? {
            Some(key) => setting.kms_key_arn = Some(key),
            None => return Ok(None),
        }
    }
    Ok(Some(setting))
}

/// collect does not read the instance profile's role (iam:GetInstanceProfile), so it says so: the
/// preflight of triage output to S3 then shows the agent's write as unknown, never as allowed.
fn not_collected_profile() -> String {
    InstanceField::InstanceProfileRole.as_str().to_string()
}

/// DescribeInstances and DescribeVolumes, in the source account.
async fn instances(
    c: &mut Collector,
    request: &CollectRequest,
    source_account: &str,
) -> Result<Vec<Instance>, CollectError> {
    let ec2 = c.cloud_for(source_account).ec2(&request.region);
    let stub = |id: &str| Instance {
        id: id.to_string(),
        account: source_account.to_string(),
        region: request.region.clone(),
        platform: "linux".to_string(),
        state: None,
        tags: BTreeMap::new(),
        volumes: vec![],
        unknown: vec!["tags".to_string(), "volumes".to_string(), not_collected_profile()],
        instance_profile_role_arn: None,
    };
    let described = match ec2.describe_instances(&request.instance_ids).await {
        Ok(found) => found,
        Err(error) if error.is_not_found() => {
            let what = format!("instance {} in {}", request.instance_ids.join(", "), request.region);
            return Err(CollectError::NotFound { what, error: Box::new(error) });
        }
        Err(error) => {
            let subject = format!("{} in {}", request.instance_ids.join(", "), request.region);
            c.soft::<()>(Err(error), &subject, "the tags and volumes", &["tags", "volumes"])?;
            return Ok(request.instance_ids.iter().map(|id| stub(id)).collect());
        }
    };
    let mut out = Vec::new();
    for id in &request.instance_ids {
        let Some(info) = described.iter().find(|i| i.id == *id) else {
            let what = format!("instance {id} in {} (account {source_account})", request.region);
            let error = CloudError::NotFound(custody_cloud::error::ApiError::new(
                "ec2",
                "DescribeInstances",
                "InvalidInstanceID.NotFound",
                "not in the answer",
            ));
            return Err(CollectError::NotFound { what, error: Box::new(error) });
        };
        let volume_ids: Vec<String> = info.block_devices.iter().map(|b| b.volume_id.clone()).collect();
        let mut inst = Instance {
            id: id.clone(),
            account: info.owner_account.clone().unwrap_or_else(|| source_account.to_string()),
            region: request.region.clone(),
            platform: match info.platform.as_deref() {
                Some(p) if p.eq_ignore_ascii_case("windows") => "windows".to_string(),
                _ => "linux".to_string(),
            },
            state: info.state.clone(),
            tags: info.tags.clone(),
            volumes: vec![],
            unknown: vec![not_collected_profile()],
            instance_profile_role_arn: None,
        };
        if !volume_ids.is_empty() {
            let result = ec2.describe_volumes(&volume_ids).await;
            match c.soft(result, id, "the volumes", &["volumes"])? {
                Some(vols) => {
                    for b in &info.block_devices {
                        let Some(v) = vols.iter().find(|v| v.id == b.volume_id) else { continue };
                        if v.encrypted && v.kms_key_id.is_none() {
                            let error = CloudError::Malformed {
                                service: "ec2",
                                operation: "DescribeVolumes",
                                what: format!("encrypted volume {} has no `KmsKeyId`", v.id),
                            };
                            c.warn(id, "the volumes", &["volumes"], error);
                            if !inst.unknown.iter().any(|u| u == "volumes") {
                                inst.unknown.push("volumes".to_string());
                            }
                            continue;
                        }
                        inst.volumes.push(Volume {
                            id: v.id.clone(),
                            size_gib: v.size_gib,
                            encrypted: v.encrypted,
                            kms_key_arn: if v.encrypted { v.kms_key_id.clone() } else { None },
                            device: Some(b.device_name.clone()),
                        });
                    }
                }
                None => inst.unknown.push("volumes".to_string()),
            }
        }
        out.push(inst);
    }
    Ok(out)
}
