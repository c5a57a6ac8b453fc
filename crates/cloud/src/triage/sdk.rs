//! [`TriageAws`] over aws-sdk-rust: EC2, SSM and S3 clients of one configuration.

use super::{
    AwsError, FetchError, InstanceInfo, Invocation, ListedCommand, ObjectMeta, ObjectSink, Platform, S3Object,
    SendRequest, TriageAws, LOOKUP_MAX_COMMANDS,
};
use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata};

/// The SDK adapter.
pub struct SdkTriage {
    ec2: aws_sdk_ec2::Client,
    ssm: aws_sdk_ssm::Client,
    s3: aws_sdk_s3::Client,
    config: SdkConfig,
}

/// An SDK error as an [`AwsError`]: AWS's code and message, else the whole error chain.
fn aws_error<E: ProvideErrorMetadata + std::error::Error + 'static>(e: E) -> AwsError {
    let code = e.code().map(str::to_string);
    let message = match e.message() {
        Some(m) => m.to_string(),
        None => DisplayErrorContext(&e).to_string(),
    };
    AwsError { code, message, request_id: None }
}

/// The most pages read of one listing: a server that keeps answering a next token (with nothing in
/// the pages, or the same token) must not keep custody listing forever.
const MAX_PAGES: usize = 100;

fn endless(call: &str) -> AwsError {
    AwsError::new(None, format!("{call}: still more pages after {MAX_PAGES}; stopped listing"))
}

fn with_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config.to_builder().region(Region::new(region.to_string())).build()
}

impl SdkTriage {
    /// The default credential chain and Region (`region` overrides), `AWS_ENDPOINT_URL` honoured.
    pub async fn from_env(region: Option<&str>) -> SdkTriage {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        SdkTriage::from_config(loader.load().await)
    }

    /// `config` with `region` as its Region (the CLI shares the configuration custody-cloud loaded).
    pub fn in_region(config: &SdkConfig, region: &str) -> SdkTriage {
        SdkTriage::from_config(with_region(config, region))
    }

    /// Cross-account triage in `region`: see [`SdkTriage::reading_output_as`].
    pub fn cross_account_in_region(instances: &SdkConfig, output_reader: &SdkConfig, region: &str) -> SdkTriage {
        SdkTriage::reading_output_as(with_region(instances, region), &with_region(output_reader, region))
    }

    pub fn from_config(config: SdkConfig) -> SdkTriage {
        SdkTriage::reading_output_as(config.clone(), &config)
    }

    /// EC2 and SSM as `instances` (a session of the role in the instances' account), the S3 output
    /// read as `output_reader` (the caller's own identity: the evidence bucket is the investigators',
    /// and with S3 Object Ownership's default for new buckets, bucket owner enforced, the bucket's
    /// owner owns what the SSM agent writes into it from the source account: S3 User Guide,
    /// "Controlling ownership of objects and disabling ACLs for your bucket",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html>).
    pub fn reading_output_as(instances: SdkConfig, output_reader: &SdkConfig) -> SdkTriage {
        // A custom endpoint (an S3-compatible emulator, a VPC endpoint URL) cannot take the bucket in
        // the host name; path-style addressing works with both.
        let s3_config = aws_sdk_s3::config::Builder::from(output_reader)
            .force_path_style(output_reader.endpoint_url().is_some())
            .build();
        SdkTriage {
            ec2: aws_sdk_ec2::Client::new(&instances),
            ssm: aws_sdk_ssm::Client::new(&instances),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            config: instances,
        }
    }

    /// The configured Region.
    pub fn region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }
}

#[async_trait]
impl TriageAws for SdkTriage {
    async fn describe_instances(
        &self,
        ids: &[String],
        tag: Option<(&str, &str)>,
    ) -> Result<Vec<InstanceInfo>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = self.ec2.describe_instances().set_next_token(token.clone());
            if ids.is_empty() {
                if let Some((k, v)) = tag {
                    call =
                        call.filters(aws_sdk_ec2::types::Filter::builder().name(format!("tag:{k}")).values(v).build());
                }
            } else {
                call = call.set_instance_ids(Some(ids.to_vec()));
            }
            let page = call.send().await.map_err(aws_error)?;
            for reservation in page.reservations() {
                for i in reservation.instances() {
                    let Some(id) = i.instance_id() else { continue };
                    let windows = matches!(i.platform(), Some(aws_sdk_ec2::types::PlatformValues::Windows));
                    out.push(InstanceInfo {
                        id: id.to_string(),
                        platform: if windows { Platform::Windows } else { Platform::Linux },
                        tags: i
                            .tags()
                            .iter()
                            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                            .collect(),
                        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
                        account: reservation.owner_id().map(str::to_string),
                    });
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
        Err(endless("ec2:DescribeInstances"))
    }

    async fn send_command(&self, r: &SendRequest) -> Result<String, AwsError> {
        let mut call = self
            .ssm
            .send_command()
            .instance_ids(&r.instance_id)
            .document_name(&r.document)
            .parameters("commands", r.commands.clone())
            .parameters("executionTimeout", vec![r.execution_timeout.to_string()])
            .comment(&r.comment);
        if let Some(out) = &r.output {
            call = call.output_s3_bucket_name(&out.bucket);
            if !out.prefix.is_empty() {
                call = call.output_s3_key_prefix(&out.prefix);
            }
        }
        let sent = call.send().await.map_err(aws_error)?;
        sent.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| AwsError::new(None, "SendCommand answered no command id"))
    }

    async fn get_invocation(&self, command_id: &str, instance_id: &str) -> Result<Option<Invocation>, AwsError> {
        match self.ssm.get_command_invocation().command_id(command_id).instance_id(instance_id).send().await {
            Ok(o) => Ok(Some(Invocation {
                status: o.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                status_details: o.status_details().map(str::to_string),
                response_code: i64::from(o.response_code()),
                stdout: o.standard_output_content().unwrap_or_default().to_string(),
                stderr: o.standard_error_content().unwrap_or_default().to_string(),
            })),
            Err(e) if e.code() == Some("InvocationDoesNotExist") => Ok(None),
            Err(e) => Err(aws_error(e)),
        }
    }

    async fn list_commands(
        &self,
        document: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedCommand>, AwsError> {
        use aws_sdk_ssm::types::{CommandFilter, CommandFilterKey};
        let filter = |key: CommandFilterKey, value: String| {
            CommandFilter::builder().key(key).value(value).build().map_err(|e| AwsError::new(None, e.to_string()))
        };
        // No InstanceId: "A managed node ID can't be specified when a command status is Pending"
        // (SSM API Reference, CommandFilter); the instance is matched here instead.
        let by_document = filter(CommandFilterKey::DocumentName, document.to_string())?;
        let after = filter(CommandFilterKey::InvokedAfter, since.format("%Y-%m-%dT%H:%M:%SZ").to_string())?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .ssm
                .list_commands()
                .filters(by_document.clone())
                .filters(after.clone())
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(aws_error)?;
            for c in page.commands() {
                out.push(ListedCommand {
                    command_id: c.command_id().unwrap_or_default().to_string(),
                    document: c.document_name().unwrap_or_default().to_string(),
                    comment: c.comment().unwrap_or_default().to_string(),
                    instance_ids: c.instance_ids().to_vec(),
                });
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() || out.len() >= LOOKUP_MAX_COMMANDS {
                out.truncate(LOOKUP_MAX_COMMANDS);
                return Ok(out);
            }
        }
        Err(endless("ssm:ListCommands"))
    }

    async fn list_objects(&self, bucket: &str, prefix: &str, max: usize) -> Result<(Vec<S3Object>, bool), AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(aws_error)?;
            out.extend(page.contents().iter().filter_map(|o| {
                Some(S3Object { key: o.key()?.to_string(), size: o.size(), etag: o.e_tag().map(str::to_string) })
            }));
            token = page.next_continuation_token().filter(|t| !t.is_empty()).map(str::to_string);
            if out.len() > max {
                out.truncate(max);
                return Ok((out, true));
            }
            if token.is_none() {
                return Ok((out, false));
            }
        }
        Err(endless("s3:ListBucket"))
    }

    async fn get_object(&self, bucket: &str, key: &str, to: &mut dyn ObjectSink) -> Result<ObjectMeta, FetchError> {
        let mut o = self.s3.get_object().bucket(bucket).key(key).send().await.map_err(aws_error)?;
        to.announce(o.content_length())?;
        while let Some(chunk) = o.body.next().await {
            let chunk = chunk.map_err(|e| AwsError::new(None, format!("reading s3://{bucket}/{key}: {e}")))?;
            to.write(&chunk)?;
        }
        Ok(ObjectMeta { etag: o.e_tag().map(str::to_string), version_id: o.version_id().map(str::to_string) })
    }
}
