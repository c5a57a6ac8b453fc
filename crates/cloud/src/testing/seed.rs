//! An incident seeded into moto through the SDK: a forensic role with inline and managed policies, a
//! boundary, a trust policy and tags; a customer managed key with a key policy, an alias and a grant;
//! an instance with an encrypted data volume under that key ([`seed_incident`], for `collect`). And an
//! instance to acquire, with its root volume under `aws/ebs`, a data volume under a customer managed
//! key and a forensic key in another Region ([`seed_acquisition_incident`]).

use super::MOTO_ACCOUNT;
use aws_config::SdkConfig;
use aws_sdk_ec2::error::DisplayErrorContext;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What [`seed_incident`] created.
#[derive(Debug, Clone)]
pub struct Incident {
    pub region: String,
    pub role_name: String,
    pub role_arn: String,
    pub trust_policy: Value,
    pub inline_policy: Value,
    pub managed_policy: Value,
    pub boundary_policy: Value,
    pub key_arn: String,
    pub key_policy: Value,
    pub alias: String,
    pub grant_id: String,
    pub instance_id: String,
    pub data_volume_id: String,
}

fn err(what: &str) -> impl Fn(&dyn std::error::Error) -> String + '_ {
    move |e| format!("seeding moto: {what}: {}", DisplayErrorContext(e))
}

macro_rules! sdk {
    ($what:literal, $call:expr) => {
        $call.await.map_err(|e| err($what)(&e))?
    };
}

/// Seeds the incident into the emulator `config` points at.
pub async fn seed_incident(config: &SdkConfig) -> Result<Incident, String> {
    let region = config.region().map(|r| r.to_string()).ok_or("the SDK configuration has no Region")?;
    let iam = aws_sdk_iam::Client::new(config);
    let kms = aws_sdk_kms::Client::new(config);
    let ec2 = aws_sdk_ec2::Client::new(config);

    // The forensic role.
    let role_name = "CustodyResponse".to_string();
    let trust_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    // A space and a plus, which IAM's URL encoding writes as %20 and %2B.
    let inline_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Snapshots", "Effect": "Allow",
        "Action": ["ec2:CreateSnapshots", "ec2:CreateTags"], "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/custody-case": "case a+b"}}}]});
    let managed_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Keys", "Effect": "Allow",
        "Action": ["kms:DescribeKey", "kms:CreateGrant"], "Resource": "*"}]});
    let boundary_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["ec2:*", "kms:*"], "Resource": "*"}]});
    let boundary = sdk!(
        "CreatePolicy",
        iam.create_policy().policy_name("CustodyBoundary").policy_document(boundary_policy.to_string()).send()
    );
    let boundary_arn = boundary.policy().and_then(|p| p.arn()).ok_or("CreatePolicy: no ARN")?.to_string();
    let role = sdk!(
        "CreateRole",
        iam.create_role()
            .role_name(&role_name)
            .assume_role_policy_document(trust_policy.to_string())
            .permissions_boundary(&boundary_arn)
            .send()
    );
    let role_arn = role.role().map(|r| r.arn().to_string()).ok_or("CreateRole: no role")?;
    sdk!(
        "PutRolePolicy",
        iam.put_role_policy()
            .role_name(&role_name)
            .policy_name("custody-snapshots")
            .policy_document(inline_policy.to_string())
            .send()
    );
    let managed = sdk!(
        "CreatePolicy",
        iam.create_policy().policy_name("CustodyKeys").policy_document(managed_policy.to_string()).send()
    );
    let managed_arn = managed.policy().and_then(|p| p.arn()).ok_or("CreatePolicy: no ARN")?.to_string();
    sdk!("AttachRolePolicy", iam.attach_role_policy().role_name(&role_name).policy_arn(&managed_arn).send());
    let tag = aws_sdk_iam::types::Tag::builder().key("team").value("forensics").build().map_err(|e| err("Tag")(&e))?;
    sdk!("TagRole", iam.tag_role().role_name(&role_name).tags(tag).send());

    // The key, its alias.
    let key_policy = json!({"Version": "2012-10-17", "Id": "custody-test", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": role_arn},
         "Action": "kms:CreateGrant", "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]});
    let key = sdk!("CreateKey", kms.create_key().policy(key_policy.to_string()).description("custody test key").send());
    let key_arn = key.key_metadata().and_then(|m| m.arn()).ok_or("CreateKey: no ARN")?.to_string();
    let alias = "alias/custody-test-evidence".to_string();
    sdk!("CreateAlias", kms.create_alias().alias_name(&alias).target_key_id(&key_arn).send());

    // The instance and its encrypted data volume.
    let images = sdk!("DescribeImages", ec2.describe_images().owners("amazon").send());
    let image_id = images.images().iter().find_map(|i| i.image_id()).ok_or("DescribeImages: no image")?.to_string();
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
        .tags(aws_sdk_ec2::types::Tag::builder().key("Name").value("web-1").build())
        .build();
    let run = sdk!(
        "RunInstances",
        ec2.run_instances()
            .image_id(image_id)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .tag_specifications(tags)
            .send()
    );
    let instance = run.instances().first().ok_or("RunInstances: no instance")?;
    let instance_id = instance.instance_id().ok_or("RunInstances: no id")?.to_string();
    let zone = instance.placement().and_then(|p| p.availability_zone()).ok_or("RunInstances: no zone")?.to_string();
    let volume = sdk!(
        "CreateVolume",
        ec2.create_volume().availability_zone(zone).size(10).encrypted(true).kms_key_id(&key_arn).send()
    );
    let data_volume_id = volume.volume_id().ok_or("CreateVolume: no id")?.to_string();
    sdk!(
        "AttachVolume",
        ec2.attach_volume().device("/dev/sdf").instance_id(&instance_id).volume_id(&data_volume_id).send()
    );

    // A grant for the role, limited to the volume.
    let constraints = aws_sdk_kms::types::GrantConstraints::builder()
        .encryption_context_subset("aws:ebs:id", &data_volume_id)
        .build();
    let grant = sdk!(
        "CreateGrant",
        kms.create_grant()
            .key_id(&key_arn)
            .grantee_principal(&role_arn)
            .retiring_principal(&role_arn)
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .operations(aws_sdk_kms::types::GrantOperation::RetireGrant)
            .constraints(constraints)
            .name("custody-test")
            .send()
    );
    let grant_id = grant.grant_id().ok_or("CreateGrant: no grant id")?.to_string();

    Ok(Incident {
        region,
        role_name,
        role_arn,
        trust_policy,
        inline_policy,
        managed_policy,
        boundary_policy,
        key_arn,
        key_policy,
        alias,
        grant_id,
        instance_id,
        data_volume_id,
    })
}

/// What [`seed_acquisition_incident`] created: an instance to acquire and the keys around it.
#[derive(Debug, Clone)]
pub struct AcquisitionIncident {
    /// The Region of the instance (the SDK configuration's).
    pub region: String,
    pub instance_id: String,
    pub availability_zone: String,
    /// `Name=web-1`, `CustodyTriage=allowed`.
    pub instance_tags: BTreeMap<String, String>,
    /// The root volume, encrypted under the account's default EBS key (`aws/ebs`).
    pub root_device: String,
    pub root_volume_id: String,
    /// The ARN of the `aws/ebs` key, as the root volume reports it.
    pub ebs_key_arn: String,
    /// The data volume, encrypted under [`Self::data_key_arn`].
    pub data_device: String,
    pub data_volume_id: String,
    /// A customer managed key of the workload, with [`Self::data_key_policy`].
    pub data_key_arn: String,
    pub data_key_policy: Value,
    /// The Region copies go to, and the customer managed key they are encrypted under there.
    pub forensic_region: String,
    pub forensic_key_arn: String,
    pub forensic_key_policy: Value,
}

/// A key policy that lets the account's IAM policies decide (the default key policy's first
/// statement), plus `extra` statements.
fn key_policy(id: &str, extra: Vec<Value>) -> Value {
    let mut statements = vec![json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"})];
    statements.extend(extra);
    json!({"Version": "2012-10-17", "Id": id, "Statement": statements})
}

async fn create_key(
    kms: &aws_sdk_kms::Client,
    policy: &Value,
    description: &str,
    tag: (&str, &str),
) -> Result<String, String> {
    let tag = aws_sdk_kms::types::Tag::builder().tag_key(tag.0).tag_value(tag.1).build().map_err(|e| err("Tag")(&e))?;
    let key = sdk!("CreateKey", kms.create_key().policy(policy.to_string()).description(description).tags(tag).send());
    Ok(key.key_metadata().and_then(|m| m.arn()).ok_or("CreateKey: no ARN")?.to_string())
}

/// Seeds an instance to acquire into the emulator `config` points at (in its Region): running, tagged
/// `CustodyTriage=allowed`, its root volume encrypted under the AWS managed key `aws/ebs` and a data
/// volume under a customer managed key with a key policy; and a customer managed forensic key in
/// `forensic_region` for the copies (the same Region works too).
///
/// moto 5.2.1 differs from AWS here, which tests must keep in mind:
/// - `aws/ebs` is made by moto the first time a volume is encrypted without a key (as AWS does), but
///   DescribeKey reports it as `KeyManager` `CUSTOMER`, with moto's default key policy;
/// - key policies are not enforced (only an explicit `Deny` of `kms:DescribeKey` with `Resource "*"`);
/// - CreateSnapshots answers without each snapshot's `State`; it and CreateSnapshot do not record the
///   volume's key, so DescribeSnapshots gives no `KmsKeyId` for those snapshots (read the volume's);
/// - CopySnapshot does not check the key exists, and the copy is `completed` at once;
/// - DescribeSnapshots ignores `OwnerIds` and `RestorableByUserIds`; ModifySnapshotAttribute honours
///   only the `UserIds`/`GroupNames` form (not the `CreateVolumePermission` structure), and there is
///   no second account to share with;
/// - RetireGrant of a grant id the key does not have succeeds, and of a key that does not exist fails
///   with HTTP 500 (AWS's documented errors are `NotFoundException`, `InvalidGrantIdException`);
/// - ScheduleKeyDeletion fails with HTTP 500 when the key is named by ARN: name it by key id.
pub async fn seed_acquisition_incident(
    config: &SdkConfig,
    forensic_region: &str,
) -> Result<AcquisitionIncident, String> {
    let region = config.region().map(|r| r.to_string()).ok_or("the SDK configuration has no Region")?;
    let kms = aws_sdk_kms::Client::new(config);
    let ec2 = aws_sdk_ec2::Client::new(config);
    let forensic_config = config.to_builder().region(aws_config::Region::new(forensic_region.to_string())).build();
    let forensic_kms = aws_sdk_kms::Client::new(&forensic_config);

    let data_key_policy = key_policy(
        "custody-data-key",
        vec![json!({"Sid": "Allow EBS on behalf of the account", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncrypt*"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": format!("ec2.{region}.amazonaws.com"),
                "kms:CallerAccount": MOTO_ACCOUNT}}})],
    );
    let data_key_arn = create_key(&kms, &data_key_policy, "web-1 data volumes", ("team", "web")).await?;
    let forensic_key_policy = key_policy("custody-forensic-key", Vec::new());
    let forensic_key_arn =
        create_key(&forensic_kms, &forensic_key_policy, "custody evidence copies", ("custody", "evidence")).await?;

    // The instance, its root volume encrypted without a key: the account's default, aws/ebs.
    let images = sdk!("DescribeImages", ec2.describe_images().owners("amazon").send());
    let image = images.images().first().ok_or("DescribeImages: no image")?;
    let image_id = image.image_id().ok_or("DescribeImages: no id")?.to_string();
    let root_device = image.root_device_name().unwrap_or("/dev/xvda").to_string();
    let root = aws_sdk_ec2::types::BlockDeviceMapping::builder()
        .device_name(&root_device)
        .ebs(
            aws_sdk_ec2::types::EbsBlockDevice::builder()
                .volume_size(8)
                .encrypted(true)
                .delete_on_termination(true)
                .build(),
        )
        .build();
    let instance_tags: BTreeMap<String, String> =
        [("Name", "web-1"), ("CustodyTriage", "allowed")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let mut spec =
        aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Instance);
    for (k, v) in &instance_tags {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
    }
    let run = sdk!(
        "RunInstances",
        ec2.run_instances()
            .image_id(image_id)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .block_device_mappings(root)
            .tag_specifications(spec.build())
            .send()
    );
    let instance = run.instances().first().ok_or("RunInstances: no instance")?;
    let instance_id = instance.instance_id().ok_or("RunInstances: no id")?.to_string();
    let availability_zone =
        instance.placement().and_then(|p| p.availability_zone()).ok_or("RunInstances: no zone")?.to_string();
    let described = sdk!("DescribeInstances", ec2.describe_instances().instance_ids(&instance_id).send());
    let root_volume_id = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .flat_map(|i| i.block_device_mappings())
        .find(|m| m.device_name() == Some(root_device.as_str()))
        .and_then(|m| m.ebs()?.volume_id())
        .ok_or("DescribeInstances: no root volume")?
        .to_string();
    let volumes = sdk!("DescribeVolumes", ec2.describe_volumes().volume_ids(&root_volume_id).send());
    let ebs_key_arn = volumes
        .volumes()
        .first()
        .and_then(|v| v.kms_key_id())
        .ok_or("DescribeVolumes: root volume has no key")?
        .to_string();

    // The data volume under the customer managed key.
    let data_device = "/dev/sdf".to_string();
    let volume = sdk!(
        "CreateVolume",
        ec2.create_volume()
            .availability_zone(&availability_zone)
            .size(10)
            .encrypted(true)
            .kms_key_id(&data_key_arn)
            .send()
    );
    let data_volume_id = volume.volume_id().ok_or("CreateVolume: no id")?.to_string();
    sdk!(
        "AttachVolume",
        ec2.attach_volume().device(&data_device).instance_id(&instance_id).volume_id(&data_volume_id).send()
    );

    Ok(AcquisitionIncident {
        region,
        instance_id,
        availability_zone,
        instance_tags,
        root_device,
        root_volume_id,
        ebs_key_arn,
        data_device,
        data_volume_id,
        data_key_arn,
        data_key_policy,
        forensic_region: forensic_region.to_string(),
        forensic_key_arn,
        forensic_key_policy,
    })
}

/// Creates the forensic role `role_name` in the emulator: trusted by the account, with `policy` as its
/// inline identity policy (the demo and the CLI tests pass what `custody policy role` writes). Returns
/// its ARN.
pub async fn seed_forensic_role(config: &SdkConfig, role_name: &str, policy: &Value) -> Result<String, String> {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    let role = sdk!(
        "CreateRole",
        iam.create_role().role_name(role_name).assume_role_policy_document(trust.to_string()).send()
    );
    let arn = role.role().map(|r| r.arn().to_string()).ok_or("CreateRole: no role")?;
    sdk!(
        "PutRolePolicy",
        iam.put_role_policy()
            .role_name(role_name)
            .policy_name("custody-generated")
            .policy_document(policy.to_string())
            .send()
    );
    Ok(arn)
}
