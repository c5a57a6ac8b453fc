//! An incident seeded into moto through the SDK: a forensic role with inline and managed policies, a
//! boundary, a trust policy and tags; a customer managed key with a key policy, an alias and a grant;
//! an instance with an encrypted data volume under that key.

use super::MOTO_ACCOUNT;
use aws_config::SdkConfig;
use aws_sdk_ec2::error::DisplayErrorContext;
use serde_json::{json, Value};

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
