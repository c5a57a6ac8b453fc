//! The world's state: the inventory copy the calls are authorized against, the instances, volumes,
//! snapshots and keys with what the inventory does not hold (a snapshot's state, a key's lifecycle),
//! the faults, the call log, and the counters that make ids and times deterministic.
//!
//! The inventory copy is the single source of what authorizes: key policies, aliases (they feed
//! `kms:ResourceAliases`) and grants live there, and calls that create or remove them edit it, so the
//! next request is decided against the world as it now is. The records here hold the rest.

use super::trail::CallFacts;
use super::{Faults, SimCall};
use custody_cloud::types::{Grant, KeyManager};
use custody_plan::inventory::arn::{is_volume_id, Identity, KeyArn};
use custody_plan::inventory::{self, Inventory, Key};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// An EC2 instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InstanceRec {
    pub id: String,
    pub account: String,
    pub region: String,
    pub state: Option<String>,
    pub platform: String,
    pub tags: BTreeMap<String, String>,
    /// `(device, volume id)`, in the inventory's order.
    pub devices: Vec<(String, String)>,
}

/// An EBS volume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VolumeRec {
    pub id: String,
    pub account: String,
    pub region: String,
    pub availability_zone: String,
    pub size_gib: u64,
    pub encrypted: bool,
    pub key_arn: Option<String>,
    /// `in-use`, `available`, `error`.
    pub state: String,
    pub snapshot_id: Option<String>,
}

/// An EBS snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapRec {
    pub id: String,
    pub account: String,
    pub region: String,
    pub volume_id: Option<String>,
    /// For a CreateSnapshots product: the volume (`ec2:ParentVolume`).
    pub parent_volume: Option<String>,
    pub state: String,
    pub progress: String,
    pub state_message: Option<String>,
    pub encrypted: bool,
    pub key_arn: Option<String>,
    /// `aws:ebs:id` of its encryption context (map §13).
    pub ebs_id: Option<String>,
    pub size_gib: u64,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub shared_with: BTreeSet<String>,
    pub start_time: String,
    /// DescribeSnapshots that will still see it `pending`.
    pub polls_left: u32,
    /// What it becomes when it settles: `completed`, or `error` with this state message.
    pub outcome: Result<(), String>,
    /// The clock when it was created (look-ups lag behind it: [`State::lookup_lag`]).
    #[serde(default)]
    pub created: u64,
}

/// A KMS key's lifecycle (its policy, aliases and grants are in the inventory copy).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRec {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub key_id: String,
    #[serde(with = "super::serde_forms::key_manager")]
    pub manager: KeyManager,
    /// `Enabled`, `Disabled`, `PendingDeletion`.
    pub state: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Grant id → the name it was created with.
    pub grant_names: BTreeMap<String, String>,
    /// The clock when it was created (0: listed by the inventory).
    #[serde(default)]
    pub created: u64,
}

/// Counters behind the deterministic ids and the clock.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counters {
    snapshot: u64,
    volume: u64,
    key: u64,
    grant: u64,
    request: u64,
    /// Seconds since 2025-01-01T00:00:00Z; one per call.
    clock: u64,
}

/// Serializable, so that a world can outlive its process (`persist`). The inventory copy, the call
/// log and the CloudTrail facts are read with the rest but written apart: `persist` gives each its
/// own lines and appends the logs, where writing them with the rest after every call cost the square
/// of a run's calls.
#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    #[serde(skip_serializing)]
    pub inv: Inventory,
    pub instances: Vec<InstanceRec>,
    pub volumes: BTreeMap<String, VolumeRec>,
    /// CreateVolume client tokens, by (account, Region, token): the request and the volume it made.
    #[serde(with = "super::serde_forms::volume_tokens")]
    pub volume_tokens: BTreeMap<(String, String, String), (custody_cloud::types::NewVolume, String)>,
    /// By id; ids grow with a counter, so this is creation order.
    pub snapshots: BTreeMap<String, SnapRec>,
    pub keys: BTreeMap<String, KeyRec>,
    /// `(key ARN, alias)` the inventory listed at the start: not custody's leftovers.
    pub initial_aliases: BTreeSet<(String, String)>,
    pub faults: Faults,
    #[serde(skip_serializing)]
    pub calls: Vec<SimCall>,
    /// What each call's CloudTrail records need beyond its log entry (`trail`).
    #[serde(default, skip_serializing)]
    pub trail: Vec<CallFacts>,
    /// Seconds added to the wall clock for the records' `eventTime` (`SimWorld::shift_clock`).
    #[serde(default)]
    pub clock_shift: i64,
    counters: Counters,
    /// Eventual consistency: a snapshot, key or alias created fewer than this many ticks of the clock
    /// ago is not yet listed by DescribeSnapshots without ids, ListKeys and ListAliases (0: at once).
    #[serde(default)]
    pub lookup_lag: u64,
    /// When each alias custody created was created: `(key ARN, alias)` → the clock.
    #[serde(default, with = "super::serde_forms::pairs")]
    pub alias_created: BTreeMap<(String, String), u64>,
    /// Eventual consistency of authorization: a grant or alias created fewer than this many ticks of
    /// the clock ago does not authorize yet (0: at once). KMS: a new grant may take "usually less
    /// than five minutes" to be available throughout KMS (KMS API Reference, CreateGrant,
    /// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>), and alias changes
    /// "up to five minutes" to affect authorization (KMS Developer Guide,
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>).
    #[serde(default)]
    pub authz_lag: u64,
    /// How many more ticks a grant or alias takes to authorize what a service asks on the caller's
    /// behalf (a request with `kms:ViaService`: EC2 during a copy) than a direct call (0: the same).
    /// KMS is eventually consistent host by host, so a direct DescribeKey that is allowed proves
    /// nothing of the host EC2 reaches: with it, tests show a copy failing after the probe passed.
    #[serde(default)]
    pub service_authz_lag: u64,
    /// When each grant custody created was created: `(key ARN, grant id)` → the clock.
    #[serde(default, with = "super::serde_forms::pairs")]
    pub grant_created: BTreeMap<(String, String), u64>,
}

/// The key policy of an AWS managed `aws/ebs` key, which cannot be edited: any principal, through
/// EC2 in the key's Region, from the owner account (KMS Developer Guide, "kms:CallerAccount",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account>;
/// map §0).
pub(crate) fn aws_ebs_policy(account: &str, region: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Id": "auto-ebs-2",
        "Statement": [{
            "Sid": "Allow access through EBS for all principals in the account that are authorized to use EBS",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                       "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": account,
                                           "kms:ViaService": format!("ec2.{region}.amazonaws.com")}}
        }]
    })
}

impl State {
    /// Sets a key's state, in the key and in the inventory a live collection would read.
    pub(crate) fn set_key_state(&mut self, arn: &str, state: &str) {
        if let Some(key) = self.keys.get_mut(arn) {
            key.state = state.to_string();
        }
        if let Some(key) = self.inv.keys.iter_mut().find(|k| k.arn == arn) {
            key.state = Some(state.to_string());
        }
    }

    pub fn new(inventory: &Inventory) -> Result<State, String> {
        let mut keys = BTreeMap::new();
        let mut initial_aliases = BTreeSet::new();
        for k in &inventory.keys {
            let rec = key_rec(k)?;
            for a in &k.aliases {
                initial_aliases.insert((k.arn.clone(), a.clone()));
            }
            keys.insert(k.arn.clone(), rec);
        }
        let mut instances = Vec::new();
        let mut volumes = BTreeMap::new();
        for i in &inventory.instances {
            let mut devices = Vec::new();
            for (n, v) in i.volumes.iter().enumerate() {
                if v.encrypted {
                    match v.kms_key_arn.as_deref() {
                        Some(arn) if keys.contains_key(arn) => {}
                        Some(arn) => {
                            return Err(format!(
                                "volume {} of instance {} is encrypted under {arn}, which the inventory does not list",
                                v.id, i.id
                            ))
                        }
                        None => return Err(format!("volume {} of instance {} is encrypted under no key", v.id, i.id)),
                    }
                }
                let device = v.device.clone().unwrap_or_else(|| default_device(n));
                devices.push((device, v.id.clone()));
                volumes.entry(v.id.clone()).or_insert_with(|| VolumeRec {
                    id: v.id.clone(),
                    account: i.account.clone(),
                    region: i.region.clone(),
                    availability_zone: format!("{}a", i.region),
                    size_gib: v.size_gib,
                    encrypted: v.encrypted,
                    key_arn: v.kms_key_arn.clone().filter(|_| v.encrypted),
                    state: "in-use".to_string(),
                    snapshot_id: None,
                });
            }
            instances.push(InstanceRec {
                id: i.id.clone(),
                account: i.account.clone(),
                region: i.region.clone(),
                state: i.state.clone(),
                platform: i.platform.clone(),
                tags: i.tags.clone(),
                devices,
            });
        }
        Ok(State {
            inv: inventory.clone(),
            instances,
            volumes,
            volume_tokens: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            keys,
            initial_aliases,
            faults: Faults::default(),
            calls: Vec::new(),
            trail: Vec::new(),
            clock_shift: 0,
            counters: Counters::default(),
            lookup_lag: 0,
            alias_created: BTreeMap::new(),
            authz_lag: 0,
            service_authz_lag: 0,
            grant_created: BTreeMap::new(),
        })
    }

    /// The inventory's entry for a key.
    pub fn inv_key(&self, arn: &str) -> Option<&Key> {
        self.inv.keys.iter().find(|k| k.arn == arn)
    }

    pub fn inv_key_mut(&mut self, arn: &str) -> Option<&mut Key> {
        self.inv.keys.iter_mut().find(|k| k.arn == arn)
    }

    /// A grant in force on a key, in the case format's grant form.
    pub fn grant(&self, key_arn: &str, grant_id: &str) -> Option<&Value> {
        self.inv_key(key_arn)?.grants.iter().find(|g| g.get("grant_id").and_then(Value::as_str) == Some(grant_id))
    }

    /// The grants in force on a key, as ListGrants returns them.
    pub fn grants_of(&self, key_arn: &str) -> Vec<Grant> {
        let Some(key) = self.inv_key(key_arn) else { return Vec::new() };
        let names = self.keys.get(key_arn).map(|k| &k.grant_names);
        let key_account = self.keys.get(key_arn).map(|k| k.account.clone()).unwrap_or_default();
        key.grants
            .iter()
            .map(|g| {
                let text = |field: &str| g.get(field).and_then(Value::as_str).map(str::to_string);
                let context = |field: &str| {
                    g.get("constraints").and_then(|c| c.get(field)).and_then(Value::as_object).map(|m| {
                        m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
                    })
                };
                let grant_id = text("grant_id").unwrap_or_default();
                let issuing = text("issuing_account").unwrap_or_else(|| key_account.clone());
                Grant {
                    name: names.and_then(|n| n.get(&grant_id)).cloned(),
                    grant_id,
                    grantee_principal: text("grantee_principal"),
                    retiring_principal: text("retiring_principal"),
                    issuing_account: Some(format!("arn:aws:iam::{issuing}:root")),
                    operations: g
                        .get("operations")
                        .and_then(Value::as_array)
                        .map(|ops| ops.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default(),
                    encryption_context_subset: context("encryption_context_subset"),
                    encryption_context_equals: context("encryption_context_equals"),
                }
            })
            .collect()
    }

    /// `(alias, key ARN)` of every alias in an account and Region.
    pub fn aliases_in(&self, account: &str, region: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .keys
            .values()
            .filter(|k| k.account == account && k.region == region)
            .filter_map(|k| self.inv_key(&k.arn).map(|l| (k, l)))
            .flat_map(|(k, l)| l.aliases.iter().map(move |a| (a.clone(), k.arn.clone())))
            .collect();
        out.sort();
        out
    }

    /// The default key of EBS encryption by default in `account` and `region`, when the inventory
    /// says it is on (otherwise it is off, as it is for a new account).
    pub fn encryption_by_default(&self, account: &str, region: &str) -> Option<String> {
        self.inv
            .ebs_encryption_by_default
            .iter()
            .find(|d| d.account == account && d.region == region && d.enabled)
            .and_then(|d| d.kms_key_arn.clone())
    }

    /// The account's AWS managed `aws/ebs` key in `region`, if the world has it.
    pub fn default_ebs_key(&self, account: &str, region: &str) -> Option<String> {
        self.keys
            .values()
            .filter(|k| k.account == account && k.region == region && k.manager == KeyManager::Aws)
            .find(|k| {
                self.inv_key(&k.arn)
                    .is_some_and(|l| l.aliases.is_empty() || l.aliases.iter().any(|a| a == "alias/aws/ebs"))
            })
            .map(|k| k.arn.clone())
    }

    /// The account's `aws/ebs` key in `region`, created if the inventory did not list it: EBS creates
    /// it the first time it is needed ("Amazon EBS automatically creates a unique AWS managed key in
    /// each Region", EBS User Guide, <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html>).
    pub fn ensure_default_ebs_key(&mut self, account: &str, region: &str, partition: &str) -> String {
        if let Some(arn) = self.default_ebs_key(account, region) {
            return arn;
        }
        let key_id = self.next_key_id();
        let arn = format!("arn:{partition}:kms:{region}:{account}:key/{key_id}");
        self.keys.insert(
            arn.clone(),
            KeyRec {
                arn: arn.clone(),
                account: account.to_string(),
                region: region.to_string(),
                key_id,
                manager: KeyManager::Aws,
                state: "Enabled".to_string(),
                description: Some("Default key that protects my EBS volumes when no other key is defined".into()),
                tags: BTreeMap::new(),
                grant_names: BTreeMap::new(),
                created: self.counters.clock,
            },
        );
        self.inv.keys.push(Key {
            arn: arn.clone(),
            manager: inventory::KeyManager::Aws,
            aliases: vec!["alias/aws/ebs".to_string()],
            policy: Some(aws_ebs_policy(account, region)),
            grants: Vec::new(),
            unknown: Vec::new(),
            state: Some("Enabled".to_string()),
        });
        arn
    }

    /// The instance with this id in an account and Region.
    pub fn instance(&self, id: &str, account: &str, region: &str) -> Option<&InstanceRec> {
        self.instances.iter().find(|i| i.id == id && i.account == account && i.region == region)
    }

    /// The Nth snapshot id: `snap-` and 17 hex digits.
    pub fn next_snapshot_id(&mut self) -> String {
        self.counters.snapshot += 1;
        format!("snap-0{:016x}", self.counters.snapshot)
    }

    /// The next volume id not taken by the inventory: `vol-` and 17 hex digits.
    pub fn next_volume_id(&mut self) -> String {
        loop {
            self.counters.volume += 1;
            let id = format!("vol-0{:016x}", self.counters.volume);
            if !self.volumes.contains_key(&id) && is_volume_id(&id) {
                return id;
            }
        }
    }

    /// The next key id not taken: a UUID.
    pub fn next_key_id(&mut self) -> String {
        loop {
            self.counters.key += 1;
            let id = format!("00000000-0000-4000-8000-{:012x}", self.counters.key);
            if !self.keys.values().any(|k| k.key_id == id) {
                return id;
            }
        }
    }

    /// The next grant id: 64 hex digits, as KMS's.
    pub fn next_grant_id(&mut self) -> String {
        self.counters.grant += 1;
        format!("{:064x}", self.counters.grant)
    }

    /// The next request id, in the UUID form AWS uses.
    pub fn next_request_id(&mut self) -> String {
        self.counters.request += 1;
        format!("5e1f0000-0000-4000-8000-{:012x}", self.counters.request)
    }

    /// Moves the clock on by a second and returns it (RFC 3339).
    pub fn tick(&mut self) -> String {
        self.counters.clock += 1;
        rfc3339(self.counters.clock)
    }

    /// The clock: ticks since the world began.
    pub fn now(&self) -> u64 {
        self.counters.clock
    }

    /// Whether a look-up does not see yet what was created at `created` (eventual consistency).
    pub fn not_yet_listed(&self, created: u64) -> bool {
        self.counters.clock < created.saturating_add(self.lookup_lag)
    }

    /// Whether what was created at `created` (a grant, an alias) does not authorize yet, for a
    /// request a service makes on the caller's behalf (`through_service`) or a direct one.
    pub fn not_yet_authorizing(&self, created: u64, through_service: bool) -> bool {
        let lag = self.authz_lag.saturating_add(if through_service { self.service_authz_lag } else { 0 });
        self.counters.clock < created.saturating_add(lag)
    }

    /// The inventory requests are decided against: the world's, without the grants and aliases that
    /// do not authorize yet ([`State::authz_lag`], [`State::service_authz_lag`]).
    pub fn authorizing_inventory(&self, through_service: bool) -> std::borrow::Cow<'_, Inventory> {
        let young = |m: &BTreeMap<(String, String), u64>| -> BTreeSet<(String, String)> {
            m.iter().filter(|(_, t)| self.not_yet_authorizing(**t, through_service)).map(|(k, _)| k.clone()).collect()
        };
        let (grants, aliases) = (young(&self.grant_created), young(&self.alias_created));
        if grants.is_empty() && aliases.is_empty() {
            return std::borrow::Cow::Borrowed(&self.inv);
        }
        let mut inv = self.inv.clone();
        for k in &mut inv.keys {
            k.grants.retain(|g| {
                let id = g.get("grant_id").and_then(Value::as_str).unwrap_or_default();
                !grants.contains(&(k.arn.clone(), id.to_string()))
            });
            let arn = k.arn.clone();
            k.aliases.retain(|a| !aliases.contains(&(arn.clone(), a.clone())));
        }
        std::borrow::Cow::Owned(inv)
    }

    /// The time `days` days from now (RFC 3339).
    pub fn days_from_now(&self, days: u32) -> String {
        rfc3339(self.counters.clock + u64::from(days) * 86_400)
    }
}

/// The key's lifecycle record, from the inventory.
fn key_rec(k: &Key) -> Result<KeyRec, String> {
    let parsed = KeyArn::parse(&k.arn).ok_or_else(|| format!("`{}` is not a KMS key ARN", k.arn))?;
    Ok(KeyRec {
        arn: k.arn.clone(),
        account: parsed.account.to_string(),
        region: parsed.region.to_string(),
        key_id: parsed.id.to_string(),
        manager: match k.manager {
            inventory::KeyManager::Aws => KeyManager::Aws,
            inventory::KeyManager::Customer => KeyManager::Customer,
        },
        state: k.state.clone().unwrap_or_else(|| "Enabled".to_string()),
        description: None,
        tags: BTreeMap::new(),
        grant_names: BTreeMap::new(),
        created: 0,
    })
}

/// `/dev/sdf`, `/dev/sdg`, … for volumes the inventory gives no device.
fn default_device(n: usize) -> String {
    let letter = (b'f' + (n % 20) as u8) as char;
    format!("/dev/sd{letter}")
}

/// `secs` seconds after 2025-01-01T00:00:00Z, as RFC 3339 (proleptic Gregorian calendar, H. Hinnant's
/// civil-from-days).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400 + 20_089; // 2025-01-01 is day 20089 of the Unix epoch
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// The role name and path of a role ARN, as IAM reports them (`/` when the ARN has no path).
pub(crate) fn role_name_and_path(role_arn: &str) -> Option<(String, String)> {
    let id = Identity::parse(role_arn)?;
    Some((id.name.to_string(), id.path.unwrap_or("/").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_as_rfc3339() {
        assert_eq!(rfc3339(0), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(3_661), "2025-01-01T01:01:01Z");
        assert_eq!(rfc3339(59 * 86_400), "2025-03-01T00:00:00Z");
        assert_eq!(rfc3339(365 * 86_400), "2026-01-01T00:00:00Z");
    }
}
