//! EC2 and EBS in one account and Region, as one role session sees them: instances and volumes from
//! the inventory, snapshots custody creates, shares and deletes (CopySnapshot and CreateVolume, with
//! the KMS requests EC2 makes on the caller's behalf, are in `copy`).
//!
//! What the caller sees: its own account's instances, volumes and snapshots in the Region, plus
//! snapshots another account shared with it (createVolumePermission). A snapshot it can neither own
//! nor see is `InvalidSnapshot.NotFound`, as AWS answers for any id it does not show the caller.

use super::call::{self, snapshot_arn, tag_pairs, Api, Call, Session};
use super::copy;
use super::state::{InstanceRec, SnapRec, State};
use super::visibility::{can_see, snapshot_not_found, visible};
use super::SimWorld;
use async_trait::async_trait;
use custody_cloud::api::Ec2;
use custody_cloud::error::{CloudError, CloudResult};
use custody_cloud::types::*;
use custody_plan::plan::AuthzRequest;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DESCRIBE_INSTANCES: Api = Api::new("ec2", "DescribeInstances");
const DESCRIBE_VOLUMES: Api = Api::new("ec2", "DescribeVolumes");
const CREATE_SNAPSHOTS: Api = Api::new("ec2", "CreateSnapshots");
const DESCRIBE_SNAPSHOTS: Api = Api::new("ec2", "DescribeSnapshots");
const COPY_SNAPSHOT: Api = Api::new("ec2", "CopySnapshot");
const MODIFY_SNAPSHOT_ATTRIBUTE: Api = Api::new("ec2", "ModifySnapshotAttribute");
const DESCRIBE_SNAPSHOT_ATTRIBUTE: Api = Api::new("ec2", "DescribeSnapshotAttribute");
const DELETE_SNAPSHOT: Api = Api::new("ec2", "DeleteSnapshot");
const CREATE_VOLUME: Api = Api::new("ec2", "CreateVolume");
const CREATE_TAGS: Api = Api::new("ec2", "CreateTags");
const GET_EBS_ENCRYPTION_BY_DEFAULT: Api = Api::new("ec2", "GetEbsEncryptionByDefault");
const GET_EBS_DEFAULT_KMS_KEY_ID: Api = Api::new("ec2", "GetEbsDefaultKmsKeyId");

/// The EC2 client of one session in one Region.
pub(crate) struct SimEc2 {
    pub world: SimWorld,
    pub session: Session,
    pub region: String,
}

impl SimEc2 {
    fn run<T>(
        &self,
        api: Api,
        params: String,
        body: impl FnOnce(&mut State, &mut Call, &Session, &str) -> Result<(T, String), CloudError>,
    ) -> CloudResult<T> {
        call::run(&self.world, &self.session, api, &self.region, params, |st, c| {
            body(st, c, &self.session, &self.region)
        })
    }
}

/// `ec2:Describe*`: no resource-level permissions, so Resource `*` (map §2; Service Authorization
/// Reference, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>).
fn describe(s: &Session, action: &str, region: &str) -> AuthzRequest {
    AuthzRequest::new(&s.arn, action, "*").ec2_in(region)
}

/// A request on an existing snapshot, with the resource keys the SAR lists for DeleteSnapshot and
/// ModifySnapshotAttribute (map §4, §6). The account is not in a snapshot ARN, so it is given.
pub(crate) fn on_snapshot(s: &Session, action: &str, snap: &SnapRec, region: &str) -> AuthzRequest {
    let mut r = AuthzRequest::new(&s.arn, action, snapshot_arn(&s.partition, &snap.region, &snap.id))
        .owned_by(&snap.account)
        .ec2_in(region)
        .with("ec2:SnapshotID", &snap.id)
        .with("ec2:Owner", &snap.account)
        .with("ec2:VolumeSize", snap.size_gib.to_string())
        .with("ec2:SnapshotTime", &snap.start_time)
        .resource_tags(&tag_pairs(&snap.tags), true);
    if let Some(v) = &snap.parent_volume {
        r = r.with("ec2:ParentVolume", v);
    }
    r
}

/// The snapshot `id` in `region` if the caller's account owns it or it is shared with it.
fn instance_info(i: &InstanceRec) -> InstanceInfo {
    // A terminated instance is still described for a while, without its EBS volumes: they are
    // detached (or deleted on termination) (EC2 User Guide, "Terminate Amazon EC2 instances",
    // <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html>).
    let terminated = i.state.as_deref() == Some("terminated");
    InstanceInfo {
        id: i.id.clone(),
        owner_account: Some(i.account.clone()),
        state: i.state.clone().or_else(|| Some("running".to_string())),
        platform: i.platform.eq_ignore_ascii_case("windows").then(|| "windows".to_string()),
        availability_zone: Some(format!("{}a", i.region)),
        tags: i.tags.clone(),
        block_devices: if terminated {
            Vec::new()
        } else {
            i.devices
                .iter()
                .map(|(device, volume)| BlockDevice { device_name: device.clone(), volume_id: volume.clone() })
                .collect()
        },
    }
}

/// The snapshot as DescribeSnapshots returns it to `account` (tags belong to the owner account: a
/// recipient of a share sees none, inferred from EC2 tags being per account).
fn snapshot_info(s: &SnapRec, account: &str) -> SnapshotInfo {
    SnapshotInfo {
        id: s.id.clone(),
        volume_id: s.volume_id.clone(),
        owner_account: Some(s.account.clone()),
        state: s.state.clone(),
        progress: Some(s.progress.clone()),
        state_message: s.state_message.clone(),
        encrypted: s.encrypted,
        kms_key_id: s.key_arn.clone(),
        volume_size_gib: Some(s.size_gib),
        description: Some(s.description.clone()),
        tags: if s.account == account { s.tags.clone() } else { BTreeMap::new() },
        start_time: Some(s.start_time.clone()),
    }
}

/// One DescribeSnapshots that returns `s`: a pending snapshot uses up one of its pending polls, or
/// settles (`completed`, or `error` with its state message) when none are left.
fn poll(s: &mut SnapRec) {
    if s.state != "pending" {
        return;
    }
    if s.polls_left > 0 {
        s.polls_left -= 1;
        s.progress = if s.polls_left == 0 { "99%".into() } else { "50%".into() };
        return;
    }
    match &s.outcome {
        Ok(()) => {
            s.state = "completed".into();
            s.progress = "100%".into();
        }
        Err(message) => {
            s.state = "error".into();
            s.state_message = Some(message.clone());
        }
    }
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// A list as EC2's records write one: `{"items": [{<field>: id}, …]}` (`trail`).
pub(crate) fn items(field: &str, ids: &[String]) -> Value {
    json!({"items": ids.iter().map(|id| json!({field: id})).collect::<Vec<_>>()})
}

/// Tags as EC2's records write them: `{"items": [{"key", "value"}, …]}`.
pub(crate) fn tag_set(tags: &BTreeMap<String, String>) -> Value {
    json!({"items": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()})
}

#[async_trait]
impl Ec2 for SimEc2 {
    async fn describe_instances(&self, instance_ids: &[String]) -> CloudResult<Vec<InstanceInfo>> {
        self.run(DESCRIBE_INSTANCES, instance_ids.join(", "), |st, c, s, region| {
            c.sent(json!({"instancesSet": items("instanceId", instance_ids)}));
            c.authorize(st, &[describe(s, "ec2:DescribeInstances", region)])?;
            let mut out = Vec::new();
            if instance_ids.is_empty() {
                let mine = st.instances.iter().filter(|i| i.account == s.account && i.region == region);
                out.extend(mine.map(instance_info));
            }
            for id in instance_ids {
                let i = st.instance(id, &s.account, region).ok_or_else(|| {
                    DESCRIBE_INSTANCES
                        .error("InvalidInstanceID.NotFound", format!("The instance ID '{id}' does not exist"))
                })?;
                out.push(instance_info(i));
            }
            let summary = format!("{} instance(s)", out.len());
            Ok((out, summary))
        })
    }

    async fn describe_volumes(&self, volume_ids: &[String]) -> CloudResult<Vec<VolumeInfo>> {
        self.run(DESCRIBE_VOLUMES, volume_ids.join(", "), |st, c, s, region| {
            c.sent(json!({"volumeSet": items("volumeId", volume_ids)}));
            c.authorize(st, &[describe(s, "ec2:DescribeVolumes", region)])?;
            let mine = |v: &&super::state::VolumeRec| v.account == s.account && v.region == region;
            let mut found = Vec::new();
            if volume_ids.is_empty() {
                found.extend(st.volumes.values().filter(mine));
            }
            for id in volume_ids {
                let v = st.volumes.get(id).filter(mine).ok_or_else(|| {
                    DESCRIBE_VOLUMES.error("InvalidVolume.NotFound", format!("The volume '{id}' does not exist."))
                })?;
                found.push(v);
            }
            let out: Vec<VolumeInfo> = found
                .into_iter()
                .map(|v| VolumeInfo {
                    id: v.id.clone(),
                    size_gib: v.size_gib,
                    encrypted: v.encrypted,
                    kms_key_id: v.key_arn.clone(),
                    state: Some(v.state.clone()),
                    availability_zone: Some(v.availability_zone.clone()),
                    snapshot_id: v.snapshot_id.clone(),
                })
                .collect();
            let summary = format!("{} volume(s)", out.len());
            Ok((out, summary))
        })
    }

    async fn create_snapshots(
        &self,
        instance_id: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> CloudResult<Receipt<Vec<SnapshotInfo>>> {
        let params = format!("{instance_id} tags {}", tags_text(tags));
        self.run(CREATE_SNAPSHOTS, params, |st, c, s, region| {
            c.sent(json!({"instanceSpecification": {"instanceId": instance_id}, "description": description,
                          "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": tag_set(tags)}]}}));
            let inst = st.instance(instance_id, &s.account, region).cloned().ok_or_else(|| {
                CREATE_SNAPSHOTS
                    .error("InvalidInstanceID.NotFound", format!("The instance ID '{instance_id}' does not exist"))
            })?;
            c.authorize(st, &create_snapshots_requests(st, s, region, &inst, tags))?;
            if inst.state.as_deref() == Some("terminated") {
                // What CreateSnapshots answers for a terminated instance is not documented; EC2's
                // code for a resource in the wrong state is IncorrectState.
                return Err(CREATE_SNAPSHOTS.error(
                    "IncorrectState",
                    format!("The instance '{instance_id}' is terminated: it has no volumes to snapshot"),
                ));
            }
            let mut out = Vec::new();
            for (_, volume_id) in &inst.devices {
                let Some(v) = st.volumes.get(volume_id).cloned() else { continue };
                let id = st.next_snapshot_id();
                let rec = SnapRec {
                    id: id.clone(),
                    account: s.account.clone(),
                    region: region.to_string(),
                    volume_id: Some(v.id.clone()),
                    parent_volume: Some(v.id.clone()),
                    state: "pending".into(),
                    progress: "0%".into(),
                    state_message: None,
                    encrypted: v.encrypted,
                    key_arn: v.key_arn.clone(),
                    // A snapshot made from a volume keeps the volume id as its aws:ebs:id (KMS
                    // Developer Guide, "Amazon EBS encryption context",
                    // https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context; map §13).
                    ebs_id: v.encrypted.then(|| v.id.clone()),
                    size_gib: v.size_gib,
                    description: description.to_string(),
                    tags: tags.clone(),
                    shared_with: Default::default(),
                    start_time: st.tick(),
                    polls_left: st.faults.pending_polls,
                    outcome: Ok(()),
                    created: st.now(),
                };
                out.push(snapshot_info(&rec, &s.account));
                st.snapshots.insert(id, rec);
            }
            let summary = out.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ");
            let made: Vec<Value> = out.iter().map(|i| json!({"snapshotId": i.id, "volumeId": i.volume_id})).collect();
            c.answered(json!({"snapshotSet": {"items": made}}));
            Ok((c.receipt(out), summary))
        })
    }

    async fn describe_snapshots(&self, query: &SnapshotQuery) -> CloudResult<Vec<SnapshotInfo>> {
        let params = format!(
            "ids [{}]{}{}",
            query.ids.join(", "),
            if query.owned_by_caller { " owner self" } else { "" },
            if query.tags.is_empty() { String::new() } else { format!(" tags {}", tags_text(&query.tags)) }
        );
        self.run(DESCRIBE_SNAPSHOTS, params, |st, c, s, region| {
            let mut sent = json!({"snapshotSet": items("snapshotId", &query.ids)});
            if let Some(m) = sent.as_object_mut() {
                if query.owned_by_caller {
                    m.insert("ownersSet".into(), json!({"items": [{"owner": "self"}]}));
                }
                let filters: Vec<Value> = query
                    .tags
                    .iter()
                    .map(|(k, v)| json!({"name": format!("tag:{k}"), "valueSet": {"items": [{"value": v}]}}))
                    .collect();
                if !filters.is_empty() {
                    m.insert("filterSet".into(), json!({"items": filters}));
                }
            }
            c.sent(sent);
            c.authorize(st, &[describe(s, "ec2:DescribeSnapshots", region)])?;
            let mut ids: Vec<String> = Vec::new();
            if query.ids.is_empty() {
                // A listing (by owner, by tag) is eventually consistent: the result of a command "might
                // not be immediately visible to all subsequent commands you run" (EC2 Developer Guide,
                // "Eventual consistency in the Amazon EC2 API",
                // <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>); the lag
                // is the world's `lookup_lag`.
                ids.extend(
                    st.snapshots
                        .values()
                        .filter(|x| x.region == region && can_see(x, &s.account) && !st.not_yet_listed(x.created))
                        .map(|x| x.id.clone()),
                );
            }
            for id in &query.ids {
                visible(st, id, &s.account, region).ok_or_else(|| snapshot_not_found(DESCRIBE_SNAPSHOTS, id))?;
                ids.push(id.clone());
            }
            let mut out = Vec::new();
            for id in ids {
                let Some(snap) = st.snapshots.get_mut(&id) else { continue };
                if query.owned_by_caller && snap.account != s.account {
                    continue;
                }
                let info = snapshot_info(snap, &s.account);
                if !query.tags.iter().all(|(k, v)| info.tags.get(k) == Some(v)) {
                    continue;
                }
                poll(snap);
                out.push(snapshot_info(snap, &s.account));
            }
            let summary = out.iter().map(|i| format!("{} {}", i.id, i.state)).collect::<Vec<_>>().join(", ");
            Ok((out, summary))
        })
    }

    async fn copy_snapshot(&self, request: &CopySnapshotRequest) -> CloudResult<Receipt<String>> {
        let params = format!(
            "{} from {}{} tags {}",
            request.source_snapshot_id,
            request.source_region,
            request.kms_key_id.as_deref().map(|k| format!(" under {k}")).unwrap_or_default(),
            tags_text(&request.tags)
        );
        self.run(COPY_SNAPSHOT, params, |st, c, s, region| {
            let mut sent = json!({"sourceSnapshotId": request.source_snapshot_id, "sourceRegion": request.source_region,
                                  "description": request.description, "encrypted": request.encrypted,
                                  "tagSpecificationSet": {"items": [{"resourceType": "snapshot",
                                                                     "tags": tag_set(&request.tags)}]}});
            if let (Some(k), Some(m)) = (&request.kms_key_id, sent.as_object_mut()) {
                m.insert("kmsKeyId".into(), json!(k));
            }
            c.sent(sent);
            let (id, summary) = copy::copy_snapshot(st, c, s, region, request)?;
            c.answered(json!({"snapshotId": id}));
            Ok((c.receipt(id), summary))
        })
    }

    async fn modify_snapshot_share(&self, snapshot_id: &str, account: &str, add: bool) -> CloudResult<Receipt<()>> {
        let params = format!("{snapshot_id} {} {account}", if add { "add" } else { "remove" });
        self.run(MODIFY_SNAPSHOT_ATTRIBUTE, params, |st, c, s, region| {
            let who = if account == "all" { json!({"group": "all"}) } else { json!({"userId": account}) };
            let change = if add { "add" } else { "remove" };
            c.sent(json!({"snapshotId": snapshot_id, "attributeType": "CREATE_VOLUME_PERMISSION",
                          "createVolumePermission": {change: {"items": [who]}}}));
            let snap = visible(st, snapshot_id, &s.account, region)
                .cloned()
                .ok_or_else(|| snapshot_not_found(MODIFY_SNAPSHOT_ATTRIBUTE, snapshot_id))?;
            let (key, value) = match (add, account) {
                (true, "all") => ("ec2:Add/group", "all"),
                (false, "all") => ("ec2:Remove/group", "all"),
                (true, _) => ("ec2:Add/userId", account),
                (false, _) => ("ec2:Remove/userId", account),
            };
            // map §6: ModifySnapshotAttribute on the snapshot, by its owner; ec2:Attribute is inferred.
            let request = on_snapshot(s, "ec2:ModifySnapshotAttribute", &snap, region)
                .with("ec2:Attribute", "createVolumePermission")
                .with(key, value);
            c.authorize(st, &[request])?;
            let managed =
                snap.key_arn.as_ref().and_then(|k| st.keys.get(k)).is_some_and(|k| k.manager == KeyManager::Aws);
            if add && managed {
                // "You can't share snapshots that are encrypted with the default AWS managed key"
                // (EBS User Guide, https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html);
                // the code and message are AWS's as reported in hashicorp/packer#7410 and
                // DataDog/stratus-red-team#109 (the API reference lists no error for it).
                return Err(MODIFY_SNAPSHOT_ATTRIBUTE.error(
                    "InvalidParameter",
                    "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
                ));
            }
            if add && account == "all" && snap.encrypted {
                // "Encrypted snapshots … cannot be made public" (EC2 API Reference, ModifySnapshotAttribute).
                return Err(
                    MODIFY_SNAPSHOT_ATTRIBUTE.error("InvalidParameter", "Encrypted snapshots cannot be made public.")
                );
            }
            if let Some(rec) = st.snapshots.get_mut(snapshot_id) {
                if add {
                    rec.shared_with.insert(account.to_string());
                } else {
                    // Removing a permission that is not there is not an error.
                    rec.shared_with.remove(account);
                }
            }
            Ok((c.receipt(()), if add { "shared".into() } else { "unshared".into() }))
        })
    }

    async fn ebs_encryption_by_default(&self) -> CloudResult<bool> {
        self.run(GET_EBS_ENCRYPTION_BY_DEFAULT, String::new(), |st, c, s, region| {
            c.sent(json!({}));
            // Account-level settings: no resource types, Resource "*" (Service Authorization Reference).
            c.authorize(st, &[describe(s, "ec2:GetEbsEncryptionByDefault", region)])?;
            let on = st.encryption_by_default(&s.account, region).is_some();
            Ok((on, on.to_string()))
        })
    }

    async fn ebs_default_kms_key_id(&self) -> CloudResult<String> {
        self.run(GET_EBS_DEFAULT_KMS_KEY_ID, String::new(), |st, c, s, region| {
            c.sent(json!({}));
            c.authorize(st, &[describe(s, "ec2:GetEbsDefaultKmsKeyId", region)])?;
            // EC2 names the AWS managed key by its alias until another key is chosen.
            let key = st.encryption_by_default(&s.account, region).unwrap_or_else(|| "alias/aws/ebs".to_string());
            Ok((key.clone(), key))
        })
    }

    async fn snapshot_shares(&self, snapshot_id: &str) -> CloudResult<Vec<String>> {
        self.run(DESCRIBE_SNAPSHOT_ATTRIBUTE, snapshot_id.to_string(), |st, c, s, region| {
            c.sent(json!({"snapshotId": snapshot_id, "attribute": "createVolumePermission"}));
            let snap = visible(st, snapshot_id, &s.account, region)
                .cloned()
                .ok_or_else(|| snapshot_not_found(DESCRIBE_SNAPSHOT_ATTRIBUTE, snapshot_id))?;
            // DescribeSnapshotAttribute is resource-level (snapshot*), unlike DescribeSnapshots (map §2).
            let request = on_snapshot(s, "ec2:DescribeSnapshotAttribute", &snap, region)
                .with("ec2:Attribute", "createVolumePermission");
            c.authorize(st, &[request])?;
            let shares: Vec<String> = snap.shared_with.iter().cloned().collect();
            let summary = shares.join(", ");
            Ok((shares, summary))
        })
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> CloudResult<Receipt<()>> {
        self.run(DELETE_SNAPSHOT, snapshot_id.to_string(), |st, c, s, region| {
            c.sent(json!({"snapshotId": snapshot_id}));
            let snap = visible(st, snapshot_id, &s.account, region)
                .cloned()
                .ok_or_else(|| snapshot_not_found(DELETE_SNAPSHOT, snapshot_id))?;
            // map §4: DeleteSnapshot on the snapshot; a snapshot of another account shared with the
            // caller has no resource policy, so the engine refuses it as AWS does.
            c.authorize(st, &[on_snapshot(s, "ec2:DeleteSnapshot", &snap, region)])?;
            st.snapshots.remove(snapshot_id);
            Ok((c.receipt(()), "deleted".to_string()))
        })
    }

    async fn tag_snapshot(&self, snapshot_id: &str, tags: &BTreeMap<String, String>) -> CloudResult<Receipt<()>> {
        self.run(CREATE_TAGS, format!("{snapshot_id} tags {}", tags_text(tags)), |st, c, s, region| {
            c.sent(json!({"resourcesSet": items("resourceId", &[snapshot_id.to_string()]), "tagSet": tag_set(tags)}));
            let snap = visible(st, snapshot_id, &s.account, region)
                .cloned()
                .ok_or_else(|| snapshot_not_found(CREATE_TAGS, snapshot_id))?;
            // CreateTags on a snapshot: authorized on the snapshot with its tags, the tags asked for and
            // their keys (EC2 service authorization reference,
            // <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>).
            let request = on_snapshot(s, "ec2:CreateTags", &snap, region).request_tags(&tag_pairs(tags));
            c.authorize(st, &[request])?;
            if let Some(rec) = st.snapshots.get_mut(snapshot_id) {
                rec.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Ok((c.receipt(()), "tagged".to_string()))
        })
    }

    async fn create_volume(&self, volume: &NewVolume) -> CloudResult<Receipt<String>> {
        let params = format!(
            "from {} in {} tags {} token {}",
            volume.snapshot_id,
            volume.availability_zone,
            tags_text(&volume.tags),
            volume.client_token
        );
        self.run(CREATE_VOLUME, params, |st, c, s, region| {
            c.sent(json!({"snapshotId": volume.snapshot_id, "zone": volume.availability_zone,
                          "clientToken": volume.client_token,
                          "tagSpecificationSet": {"items": [{"resourceType": "volume", "tags": tag_set(&volume.tags)}]}}));
            let (id, summary) = copy::create_volume(st, c, s, region, volume)?;
            c.answered(json!({"volumeId": id, "snapshotId": volume.snapshot_id}));
            Ok((c.receipt(id), summary))
        })
    }
}

/// CreateSnapshots: on the instance, on each volume, on the new snapshots (`snapshot/*`, their ids
/// unknown yet), and CreateTags for tag-on-create (map §3.2, §3.3; EBS User Guide, "Identity-based
/// policies for Amazon EBS",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/security_iam_id-based-policy-examples.html#iam-creating-snapshots>).
fn create_snapshots_requests(
    st: &State,
    s: &Session,
    region: &str,
    inst: &InstanceRec,
    tags: &BTreeMap<String, String>,
) -> Vec<AuthzRequest> {
    let p = &s.partition;
    let mut out = vec![AuthzRequest::new(
        &s.arn,
        "ec2:CreateSnapshots",
        format!("arn:{p}:ec2:{region}:{}:instance/{}", inst.account, inst.id),
    )
    .ec2_in(region)
    .with("ec2:InstanceID", &inst.id)
    .with("ec2:AvailabilityZone", format!("{region}a"))
    .resource_tags(&tag_pairs(&inst.tags), true)];
    // One evaluation per volume snapshotted is inferred (map §3.2: the count is SILENT).
    for (_, volume_id) in &inst.devices {
        let Some(v) = st.volumes.get(volume_id) else { continue };
        out.push(
            AuthzRequest::new(
                &s.arn,
                "ec2:CreateSnapshots",
                format!("arn:{p}:ec2:{region}:{}:volume/{}", v.account, v.id),
            )
            .ec2_in(region)
            .with("ec2:VolumeID", &v.id)
            .with("ec2:VolumeSize", v.size_gib.to_string())
            .with("ec2:Encrypted", v.encrypted.to_string()),
        );
    }
    let new = snapshot_arn(p, region, "*");
    let pairs = tag_pairs(tags);
    let mut on_new = AuthzRequest::new(&s.arn, "ec2:CreateSnapshots", &new).owned_by(&s.account).ec2_in(region);
    if !pairs.is_empty() {
        on_new = on_new.request_tags(&pairs);
    }
    out.push(on_new);
    // "The CreateTags action is evaluated only if tags are specified" (map §3.3).
    if !pairs.is_empty() {
        out.push(
            AuthzRequest::new(&s.arn, "ec2:CreateTags", &new)
                .owned_by(&s.account)
                .ec2_in(region)
                .with("ec2:CreateAction", "CreateSnapshots")
                .request_tags(&pairs),
        );
    }
    out
}
