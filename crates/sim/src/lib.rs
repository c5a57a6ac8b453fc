//! The simulated cloud: an in-memory model of the accounts, Regions, EC2/EBS, KMS and STS behaviour
//! custody relies on, that authorizes every call with the policy engine the way AWS would.
//!
//! `custody acquire --simulate INVENTORY` runs a whole acquisition on it as a dry run, and the test
//! suite runs every acquisition path on it, refusals and crash/resume included. It is also a
//! *differential* check of the planner: the planner predicts, from the inventory alone, which
//! authorization requests each call will make (`custody_plan::plan`); the simulator works them out
//! again, independently, from what the call is actually sent (real snapshot ids, real keys, the
//! encryption context the snapshot really carries) and the state it has built up, and decides each
//! one with [`custody_plan::check::authorize`] against its own copy of the inventory. Where the two
//! disagree, an acquisition the preflight passed is refused here, with the request that failed.
//!
//! # Design
//!
//! A [`SimWorld`] is one shared state behind a mutex: the inventory (kept up to date with what the
//! calls create: keys with their policies, aliases, grants), the instances and volumes it lists,
//! the snapshots, the keys' lifecycle (state, tags, description), the faults to inject, and the call
//! log. [`SimWorld::cloud_as`] hands out a [`Cloud`] for one role session; every service client it
//! gives (`ec2(region)`, `kms(region)`, …) is a view of the same world as that session, in one
//! Region, and [`Cloud::assume_role`] gives another session after authorizing `sts:AssumeRole`.
//!
//! Every call runs the same way (`call::run`): it gets a request id, the faults are applied before
//! anything else (throttling, then permanent failures), then the call's own logic runs: it looks up
//! what it needs, builds the authorization requests AWS evaluates for it (map =
//! `docs/aws-authorization-map.md`, section given in each builder), evaluates every one, records the
//! decisions, and refuses with AWS's error code (`UnauthorizedOperation` for EC2,
//! `AccessDeniedException` for KMS, `AccessDenied` for STS and IAM) when one is not allowed. A
//! request the inventory cannot decide (`Outcome::Unknown`) is refused: AWS knows what the inventory
//! does not, and a dry run must not pass on a guess. Every call is logged ([`SimWorld::calls`]), with
//! its decisions, refused calls included.
//!
//! KMS requests that EC2 makes on the caller's behalf while copying a snapshot or creating a volume
//! do not fail the EC2 call: AWS documents that such a copy "fails silently" and ends in state
//! `error` with `StateMessage` "Given key ID is not accessible" (map §5.2, item 5). The simulator
//! does the same, naming the refused request in the state message; how AWS reports it beyond that
//! message is not documented.
//!
//! Snapshots are created `pending` and settle (`completed`, or `error` for a doomed copy) after
//! [`Faults::pending_polls`] DescribeSnapshots calls that return them, so an executor's wait loop is
//! exercised. Ids are deterministic (counters), so two runs of the same acquisition log the same
//! calls.
//!
//! **Eventual consistency.** With [`SimWorld::set_lookup_lag`], what a call created is not listed
//! by DescribeSnapshots without ids (by owner or tag), ListKeys or ListAliases until that many ticks
//! of the world's clock (one per call) have passed, as AWS's listings lag behind its writes; asked
//! for by id, it is there at once. With [`SimWorld::set_authz_lag`], a new grant or alias does
//! not authorize anything until that many ticks have passed, as KMS documents for grants and aliases
//! (the copy that relies on it then ends in `error`, "Given key ID is not accessible").
//!
//! **A world that outlives its process** (a testing aid): [`SimWorld::persistent`] reads the world
//! from a JSON file (or seeds it from the inventory if there is none) and writes it back, atomically,
//! at the end of every call, before the call answers. `custody acquire --simulate INVENTORY
//! --simulate-state FILE` (and `custody cleanup` likewise) use it, so that the crash tests can kill
//! the real binary at any journal write and run it again, on the same cloud, in a new process.
//!
//! **CloudTrail.** Every call is recorded so that CloudTrail's record of it can be produced, with the
//! request id its receipt or error carries, and so is every KMS request EC2 makes on the caller's
//! behalf, in each account whose event history AWS puts it in (`trail`, which cites what AWS
//! documents and says what is inferred). [`SimWorld::trail_records`] gives them all;
//! `cloudtrail(region).lookup_events(…)` looks them up as LookupEvents does, authorized like any
//! other call (`cloudtrail:LookupEvents`). Records are derived when asked, from the call log and a
//! few facts kept per call, so the state stays small.
//!
//! Submodules: `state` (the world and its records, ids, clock), `call` (running and recording a
//! call, faults, sessions, deciding requests, AWS-style errors), `ec2` and `copy` (EC2/EBS), `kms`
//! and `grants` (KMS), `cloud` (the `Cloud`, STS, IAM, Organizations and CloudTrail), `trail`
//! (CloudTrail's records and LookupEvents), `persist` (the state file).

mod call;
mod cloud;
mod copy;
mod ec2;
mod grants;
mod key_lookup;
mod kms;
#[cfg(test)]
mod lag_tests;
mod persist;
mod serde_forms;
mod state;
mod trail;
mod visibility;

use custody_cloud::api::Cloud;
use custody_cloud::types::{Grant, KeyManager};
use custody_plan::inventory::Inventory;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use call::Session;
use state::State;

/// The tag custody puts on everything it creates for a case (`custody_plan::plan::TAG_CASE`).
const TAG_CASE: &str = custody_plan::plan::TAG_CASE;

/// The simulated multi-account, multi-Region cloud an inventory describes. Cheap to clone: clones
/// share one world.
#[derive(Clone)]
pub struct SimWorld {
    state: Arc<Mutex<State>>,
    /// The file the state is written back to after every call ([`SimWorld::persistent`]).
    file: Option<Arc<PathBuf>>,
}

impl std::fmt::Debug for SimWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("SimWorld")
            .field("snapshots", &st.snapshots.len())
            .field("keys", &st.keys.len())
            .field("calls", &st.calls.len())
            .finish()
    }
}

/// Faults to inject, by API name as IAM spells it (`ec2:CopySnapshot`, `kms:CreateGrant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Fail the next N calls of this API with AWS's throttling error (`RequestLimitExceeded` for
    /// EC2, `ThrottlingException` for KMS, `Throttling` for STS and IAM) before letting calls through.
    pub throttle: BTreeMap<String, u32>,
    /// Fail every call of this API with this error code and message.
    pub fail: BTreeMap<String, (String, String)>,
    /// How many DescribeSnapshots that return a new snapshot see it `pending` before it settles.
    pub pending_polls: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Self { throttle: BTreeMap::new(), fail: BTreeMap::new(), pending_polls: 1 }
    }
}

/// One call made to the simulated cloud, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCall {
    /// The role session that signed it.
    pub principal: String,
    /// `ec2:CopySnapshot`.
    pub api: String,
    /// The account the call acts in: the caller's, or the key's for a KMS call on another account's
    /// key.
    pub account: String,
    /// The Region it was sent to (`us-east-1` for the global IAM).
    pub region: String,
    /// A short human summary of its parameters.
    pub params: String,
    /// Every authorization request evaluated for it, in order.
    pub decisions: Vec<SimDecision>,
    /// A summary of what it returned (a new id), or `Code: message`.
    pub result: Result<String, String>,
}

impl SimCall {
    /// The decisions that refused.
    pub fn refusals(&self) -> Vec<&SimDecision> {
        self.decisions.iter().filter(|d| !d.allowed).collect()
    }
}

/// One authorization request the simulator evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimDecision {
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    /// The engine's explanation: which statement allowed it, or why it was refused (the failed gate,
    /// the explicit Deny, or what the inventory does not know).
    pub why: String,
}

/// A snapshot, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSnapshot {
    pub id: String,
    pub account: String,
    pub region: String,
    /// `pending`, `completed` or `error`.
    pub state: String,
    pub state_message: Option<String>,
    /// The volume it was made from (`vol-ffffffff` for a copy, as EC2 reports it).
    pub volume_id: Option<String>,
    pub encrypted: bool,
    /// The ARN of the key its data is encrypted under.
    pub kms_key_id: Option<String>,
    /// The `aws:ebs:id` of its encryption context: the volume id for a CreateSnapshots product, its
    /// own id for a copy.
    pub ebs_id: Option<String>,
    pub size_gib: u64,
    pub tags: BTreeMap<String, String>,
    /// The accounts it is shared with (createVolumePermission).
    pub shared_with: Vec<String>,
}

/// A KMS key, as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimKey {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub manager: KeyManager,
    /// `Enabled`, `Disabled` or `PendingDeletion`.
    pub state: String,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<Value>,
    /// The grants in force (retired grants are gone).
    pub grants: Vec<Grant>,
}

impl SimWorld {
    /// The world an inventory describes: its accounts, Regions, instances (state, tags) and volumes
    /// (size, key), its keys (manager, key policy, aliases, grants; the AWS managed `aws/ebs` keys it
    /// lists), its principals. Errors if the inventory is unusable (an encrypted volume whose key is
    /// not listed, a key ARN that cannot be read).
    pub fn new(inventory: &Inventory) -> Result<SimWorld, String> {
        let state = State::new(inventory)?;
        Ok(SimWorld { state: Arc::new(Mutex::new(state)), file: None })
    }

    /// The world kept in `file` (a testing aid, see the module docs): read from it if it exists,
    /// else the world `inventory` describes, written to it at once; from then on written back
    /// after every call, before the call answers. Errors name the file.
    pub fn persistent(inventory: &Inventory, file: &Path) -> Result<SimWorld, String> {
        let state = match persist::load(file)? {
            Some(state) => state,
            None => {
                let state = State::new(inventory)?;
                persist::save(&state, file)
                    .map_err(|e| format!("cannot write the simulated cloud's state {}: {e}", file.display()))?;
                state
            }
        };
        Ok(SimWorld { state: Arc::new(Mutex::new(state)), file: Some(Arc::new(file.to_path_buf())) })
    }

    /// The world saved in `file`, to look at (not written back).
    pub fn load(file: &Path) -> Result<SimWorld, String> {
        let state = persist::load(file)?.ok_or_else(|| format!("{}: no such file", file.display()))?;
        Ok(SimWorld { state: Arc::new(Mutex::new(state)), file: None })
    }

    /// Eventual consistency: from now on, what is created is listed only `ticks` ticks of the clock
    /// (calls) later by DescribeSnapshots without ids, ListKeys and ListAliases (0: at once). Kept
    /// with a persistent world's state.
    pub fn set_lookup_lag(&self, ticks: u64) {
        self.lock().lookup_lag = ticks;
    }

    /// Eventual consistency of authorization: from now on, a grant or alias authorizes only `ticks`
    /// ticks of the clock (calls) after it was created (0: at once), as KMS documents for new grants
    /// ("usually less than five minutes") and aliases ("up to five minutes"). Kept with a persistent
    /// world's state.
    pub fn set_authz_lag(&self, ticks: u64) {
        self.lock().authz_lag = ticks;
    }

    /// Makes a new grant or alias authorize what a service asks on the caller's behalf (EC2 during a
    /// copy) `ticks` later than a direct call such as the readiness probe's DescribeKey: KMS is
    /// eventually consistent host by host, so the probe passing proves nothing of the host EC2
    /// reaches. Kept with a persistent world's state.
    pub fn set_service_authz_lag(&self, ticks: u64) {
        self.lock().service_authz_lag = ticks;
    }

    /// Writes the state back to the world's file, if it has one.
    fn save(&self, st: &State) -> std::io::Result<()> {
        match &self.file {
            Some(file) => persist::save(st, file),
            None => Ok(()),
        }
    }

    /// The `Cloud` of a session of `role_arn` named `session_name`. No AssumeRole is checked: this
    /// is where custody starts, as the forensic role.
    pub fn cloud_as(&self, role_arn: &str, session_name: &str) -> Arc<dyn Cloud> {
        let region = self.lock().inv.config.forensic_region.clone();
        Arc::new(cloud::SimCloud::new(self.clone(), Session::new(role_arn, session_name), region))
    }

    /// Replaces the faults to inject (throttling counts start over).
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<SimCall> {
        self.lock().calls.clone()
    }

    /// CloudTrail's record of everything so far, in order: `(the account whose event history holds
    /// it, the record)`. A call appears once per account that records it (a KMS call on another
    /// account's key in both), followed by the KMS requests a service made on the caller's behalf
    /// during it. Each record is one element of a log file's `Records`.
    pub fn trail_records(&self) -> Vec<(String, Value)> {
        let st = self.lock();
        trail::records(&st.calls, &st.trail)
    }

    /// Moves the clock CloudTrail records calls by (`eventTime`) `seconds` ahead of the wall clock
    /// (or behind, negative), from the next call on; added to any shift before. A testing aid for
    /// LookupEvents' time window. Kept with a persistent world's state.
    pub fn shift_clock(&self, seconds: i64) {
        let mut st = self.lock();
        st.clock_shift = st.clock_shift.saturating_add(seconds);
    }

    /// The inventory as the world now stands: the one it was made from, plus the keys, aliases and
    /// grants the calls created (and minus the grants retired and aliases deleted).
    pub fn inventory(&self) -> Inventory {
        self.lock().inv.clone()
    }

    /// Disables a key (`Disabled`): cryptographic use of it is refused from now on.
    pub fn disable_key(&self, key_arn: &str) -> Result<(), String> {
        let mut st = self.lock();
        st.keys.get(key_arn).ok_or_else(|| format!("no key `{key_arn}` in the simulated cloud"))?;
        st.set_key_state(key_arn, "Disabled");
        Ok(())
    }

    /// Creates a customer managed key behind custody's back (another tool, another run), with this
    /// description, tags and key policy, in `account` and `region`: its ARN.
    pub fn create_key_outside(
        &self,
        account: &str,
        region: &str,
        description: &str,
        tags: BTreeMap<String, String>,
        policy: Value,
    ) -> String {
        let mut st = self.lock();
        let key_id = st.next_key_id();
        let arn = format!("arn:aws:kms:{region}:{account}:key/{key_id}");
        st.inv.keys.push(custody_plan::inventory::Key {
            arn: arn.clone(),
            manager: custody_plan::inventory::KeyManager::Customer,
            aliases: Vec::new(),
            policy: Some(policy),
            grants: Vec::new(),
            unknown: Vec::new(),
            state: Some("Enabled".to_string()),
        });
        let created = st.now();
        st.keys.insert(
            arn.clone(),
            state::KeyRec {
                arn: arn.clone(),
                account: account.to_string(),
                region: region.to_string(),
                key_id,
                manager: KeyManager::Customer,
                state: "Enabled".to_string(),
                description: Some(description.to_string()),
                tags,
                grant_names: BTreeMap::new(),
                created,
            },
        );
        arn
    }

    /// Deletes a snapshot behind custody's back (someone else, in the console): it is gone from now on.
    pub fn delete_snapshot_outside(&self, snapshot_id: &str) -> Result<(), String> {
        let mut st = self.lock();
        st.snapshots.remove(snapshot_id).map(|_| ()).ok_or_else(|| format!("no snapshot `{snapshot_id}`"))
    }

    /// The failed copies of case `case_id` that carry the evidence tag: snapshots in state `error`,
    /// which hold no data, and which custody keeps (its policies deny deleting what is marked as
    /// evidence, so only the examiner removes them, with `custody cleanup --discard-evidence`). In
    /// words; not among [`SimWorld::leftovers`].
    pub fn failed_evidence_copies(&self, case_id: &str) -> Vec<String> {
        let st = self.lock();
        st.snapshots
            .values()
            .filter(|s| failed_evidence_copy(s, case_id))
            .map(|s| {
                format!(
                    "snapshot {} (account {}, {}) is a copy that failed (state error) and holds no data; it carries \
                     the evidence tag, so only `custody cleanup --case {case_id} --discard-evidence {}` removes it",
                    s.id, s.account, s.region, s.id
                )
            })
            .collect()
    }

    /// What custody could have left behind for case `case_id`, in words (empty: clean): snapshots
    /// tagged `CustodyCase=<case>` other than `evidence_snapshot_ids` and the failed evidence copies
    /// ([`SimWorld::failed_evidence_copies`]), any snapshot share still in
    /// place, keys tagged with the case and not pending deletion, aliases that start with
    /// `alias/<alias_prefix>` (those the inventory listed at the start are not custody's), and grants
    /// named `custody-…` still in force.
    pub fn leftovers(&self, case_id: &str, evidence_snapshot_ids: &[String], alias_prefix: &str) -> Vec<String> {
        let st = self.lock();
        let mut out = Vec::new();
        for s in st.snapshots.values() {
            let of_case = s.tags.get(TAG_CASE).is_some_and(|c| c == case_id);
            if of_case && !evidence_snapshot_ids.contains(&s.id) && !failed_evidence_copy(s, case_id) {
                out.push(format!(
                    "snapshot {} (account {}, {}, {}) is tagged {TAG_CASE}={case_id} and is not evidence",
                    s.id, s.account, s.region, s.state
                ));
            }
            if !s.shared_with.is_empty() {
                let with: Vec<&str> = s.shared_with.iter().map(String::as_str).collect();
                out.push(format!(
                    "snapshot {} (account {}, {}) is still shared with {}",
                    s.id,
                    s.account,
                    s.region,
                    with.join(", ")
                ));
            }
        }
        for k in st.keys.values() {
            if k.tags.get(TAG_CASE).is_some_and(|c| c == case_id) && k.state != "PendingDeletion" {
                out.push(format!(
                    "key {} is tagged {TAG_CASE}={case_id} and is {}, not pending deletion",
                    k.arn, k.state
                ));
            }
        }
        let prefix = format!("alias/{alias_prefix}");
        for key in &st.inv.keys {
            for alias in key.aliases.iter().filter(|a| a.starts_with(&prefix)) {
                if !st.initial_aliases.contains(&(key.arn.clone(), alias.clone())) {
                    out.push(format!("alias {alias} still points to {}", key.arn));
                }
            }
        }
        for k in st.keys.values() {
            for (id, name) in k.grant_names.iter().filter(|(_, n)| n.starts_with("custody-")) {
                if st.grant(&k.arn, id).is_some() {
                    out.push(format!("grant {name} ({id}) on {} is not retired", k.arn));
                }
            }
        }
        out
    }

    /// Every snapshot, in creation order.
    pub fn snapshots(&self) -> Vec<SimSnapshot> {
        let st = self.lock();
        st.snapshots
            .values()
            .map(|s| SimSnapshot {
                id: s.id.clone(),
                account: s.account.clone(),
                region: s.region.clone(),
                state: s.state.clone(),
                state_message: s.state_message.clone(),
                volume_id: s.volume_id.clone(),
                encrypted: s.encrypted,
                kms_key_id: s.key_arn.clone(),
                ebs_id: s.ebs_id.clone(),
                size_gib: s.size_gib,
                tags: s.tags.clone(),
                shared_with: s.shared_with.iter().cloned().collect(),
            })
            .collect()
    }

    /// Every key, by ARN.
    pub fn keys(&self) -> Vec<SimKey> {
        let st = self.lock();
        st.keys
            .values()
            .map(|k| {
                let listed = st.inv_key(&k.arn);
                SimKey {
                    arn: k.arn.clone(),
                    account: k.account.clone(),
                    region: k.region.clone(),
                    manager: k.manager,
                    state: k.state.clone(),
                    aliases: listed.map(|l| l.aliases.clone()).unwrap_or_default(),
                    tags: k.tags.clone(),
                    policy: listed.and_then(|l| l.policy.clone()),
                    grants: st.grants_of(&k.arn),
                }
            })
            .collect()
    }

    /// The state, even if a thread panicked while holding it (the state is still consistent: every
    /// call changes it only after deciding).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A snapshot of the case that ended in `error` and carries the evidence tag.
fn failed_evidence_copy(s: &state::SnapRec, case_id: &str) -> bool {
    s.state == "error"
        && s.tags.get(TAG_CASE).is_some_and(|c| c == case_id)
        && s.tags.contains_key(custody_plan::plan::TAG_EVIDENCE)
}
