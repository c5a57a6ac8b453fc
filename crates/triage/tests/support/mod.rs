//! An SSM fake that authorizes SendCommand the way AWS does, with the policy engine: on the instance
//! (its tags as `ssm:resourceTag/<key>`) and on the document, through `custody_plan::check::authorize`
//! against an inventory. A command it allows "runs" and answers a whole collection.
#![allow(dead_code, reason = "test support: each test crate uses a part of it")]

use async_trait::async_trait;
use custody_plan::check::{authorize, Outcome};
use custody_plan::inventory::Tag;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::AuthzRequest;
use custody_triage::aws::ObjectSink;
use custody_triage::{
    AwsError, FetchError, InstanceInfo, Invocation, ListedCommand, ObjectMeta, S3Object, SendRequest, TriageAws,
    TriageRequest,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "111122223333";
/// The session custody signs with: CustodySource of the example inventory.
pub const PRINCIPAL: &str = "arn:aws:sts::111122223333:assumed-role/CustodySource/custody-T1";

/// A triage of `instances` in [`REGION`], case T1, signed as [`PRINCIPAL`], polled every millisecond.
pub fn request(instances: &[&str], scope: Option<Tag>) -> TriageRequest {
    TriageRequest {
        case_id: "T1".into(),
        examiner: None,
        instances: instances.iter().map(|s| s.to_string()).collect(),
        by_tag: None,
        scope_tag: scope,
        output: None,
        memory: Vec::new(),
        memory_limit: 1 << 20,
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(1),
        region: REGION.into(),
        signer: PRINCIPAL.into(),
        // Created only when an S3 output is fetched (tests that do pass their own directory).
        download_dir: std::env::temp_dir().join("custody-triage-tests-unused"),
        max_object_bytes: custody_triage::DEFAULT_MAX_OBJECT_BYTES,
        resume: false,
        resend_unconfirmed: false,
        lookup_wait: Duration::from_millis(20),
    }
}

/// The example inventory of seed 004's tag-scoped policy (examples/inventories/triage.json).
pub fn inventory_json() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventories/triage.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub struct FakeSsm {
    pub inventory: Inventory,
    pub instances: Vec<InstanceInfo>,
    pub sent: Mutex<Vec<SendRequest>>,
    /// What an invocation prints on stdout, from the commands sent (default [`full_output`]).
    pub stdout: fn(&[String]) -> String,
    /// The S3 bucket: key → body. With an output location, SendCommand writes the agent's stdout
    /// here (`<prefix>/<command-id>/<instance-id>/awsrunShellScript/0.awsrunShellScript/stdout`).
    pub objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// What the instance adds next to its stdout: (key below the command's prefix, body).
    pub extra_objects: Vec<(String, Vec<u8>)>,
    /// ListObjectsV2 announces every size as this many bytes (a listing that lies).
    pub listed_size: Option<i64>,
    /// ListCommands shows a command only from this many calls on (eventual consistency); `usize::MAX`:
    /// never.
    pub list_lag: usize,
    pub list_calls: AtomicUsize,
    /// The largest chunk GetObject wrote at once.
    pub largest_chunk: AtomicUsize,
}

impl FakeSsm {
    pub fn new(inventory: serde_json::Value, instances: Vec<InstanceInfo>) -> FakeSsm {
        FakeSsm {
            inventory: parse_inventory(&inventory.to_string()).unwrap(),
            instances,
            sent: Mutex::new(Vec::new()),
            stdout: full_output,
            objects: Mutex::new(BTreeMap::new()),
            extra_objects: Vec::new(),
            listed_size: None,
            list_lag: 0,
            list_calls: AtomicUsize::new(0),
            largest_chunk: AtomicUsize::new(0),
        }
    }

    /// The same fake, printing `stdout` instead.
    pub fn with_stdout(self, stdout: fn(&[String]) -> String) -> FakeSsm {
        FakeSsm { stdout, ..self }
    }

    pub fn sent(&self) -> Vec<SendRequest> {
        self.sent.lock().unwrap().clone()
    }
}

/// What the script would print: every section, with the nonce of the commands.
pub fn full_output(commands: &[String]) -> String {
    output_of(commands, 1)
}

/// Every section with `lines` lines of data each.
pub fn output_of(commands: &[String], lines: usize) -> String {
    let nonce = commands[0].split('\'').nth(1).unwrap();
    let mut out = format!("@@CUSTODY {nonce} TRIAGE linux 1 BEGIN\n");
    for s in custody_triage::script::SECTIONS {
        out.push_str(&format!("@@CUSTODY {nonce} SECTION {s} BEGIN\n"));
        for n in 0..lines {
            out.push_str(&format!("{s} data line {n:04} ........................................\n"));
        }
        out.push_str(&format!("@@CUSTODY {nonce} SECTION {s} END ok\n"));
    }
    out + &format!("@@CUSTODY {nonce} TRIAGE END\n")
}

/// What GetCommandInvocation answers of a collection far larger than its inline limit: the first
/// 24,000 characters of stdout, cut mid-section.
pub fn cut_output(commands: &[String]) -> String {
    output_of(commands, 60).chars().take(custody_triage::run::INLINE_STDOUT_LIMIT).collect()
}

#[async_trait]
impl TriageAws for FakeSsm {
    async fn describe_instances(
        &self,
        ids: &[String],
        tag: Option<(&str, &str)>,
    ) -> Result<Vec<InstanceInfo>, AwsError> {
        Ok(self
            .instances
            .iter()
            .filter(|i| {
                if ids.is_empty() {
                    tag.is_some_and(|(k, v)| i.tags.get(k).is_some_and(|x| x == v))
                } else {
                    ids.contains(&i.id)
                }
            })
            .cloned()
            .collect())
    }

    async fn send_command(&self, r: &SendRequest) -> Result<String, AwsError> {
        let instance = self.instances.iter().find(|i| i.id == r.instance_id).unwrap();
        // The two requests SendCommand is authorized with (Service Authorization Reference, Systems
        // Manager: SendCommand on resource types `document*` and `instance`; the instance's tags as
        // ssm:resourceTag/<key>, Run Command guide "Restricting access to root-level commands").
        let mut on_instance = AuthzRequest::new(
            PRINCIPAL,
            "ssm:SendCommand",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{}", instance.id),
        )
        .called_in(REGION, false);
        for (k, v) in &instance.tags {
            on_instance = on_instance.with(format!("ssm:resourceTag/{k}"), v.clone());
        }
        let on_document =
            AuthzRequest::new(PRINCIPAL, "ssm:SendCommand", format!("arn:aws:ssm:{REGION}::document/{}", r.document))
                .called_in(REGION, false);
        for request in [on_instance, on_document] {
            let decided = authorize(&self.inventory, "ssm:SendCommand", &request);
            if decided.outcome != Outcome::Allowed {
                // The error users get today (seed 004).
                return Err(AwsError::new(
                    Some("AccessDeniedException"),
                    format!(
                        "User: {PRINCIPAL} is not authorized to perform: ssm:SendCommand on resource: {} because no identity-based policy allows the ssm:SendCommand action",
                        request.resource
                    ),
                ));
            }
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(r.clone());
        let id = format!("cmd-{}", sent.len());
        if let Some(out) = &r.output {
            // What the SSM agent writes (SendCommand OutputS3KeyPrefix), and what the instance adds.
            let out = custody_triage::S3Location { bucket: out.bucket.clone(), prefix: out.prefix.clone() };
            let prefix = out.command_prefix(&id, &r.instance_id);
            let mut objects = self.objects.lock().unwrap();
            let stdout = (self.stdout)(&r.commands).into_bytes();
            objects.insert(format!("{prefix}awsrunShellScript/0.awsrunShellScript/stdout"), stdout);
            for (key, body) in &self.extra_objects {
                objects.insert(format!("{prefix}{key}"), body.clone());
            }
        }
        Ok(id)
    }

    async fn get_invocation(&self, command_id: &str, _instance_id: &str) -> Result<Option<Invocation>, AwsError> {
        let n: usize = command_id.trim_start_matches("cmd-").parse().unwrap();
        let sent = self.sent.lock().unwrap();
        Ok(Some(Invocation {
            status: "Success".into(),
            status_details: Some("Success".into()),
            response_code: 0,
            stdout: (self.stdout)(&sent[n - 1].commands),
            stderr: String::new(),
        }))
    }

    async fn list_commands(
        &self,
        document: &str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedCommand>, AwsError> {
        let call = self.list_calls.fetch_add(1, Ordering::SeqCst);
        if call < self.list_lag {
            return Ok(Vec::new());
        }
        let sent = self.sent.lock().unwrap();
        Ok(sent
            .iter()
            .enumerate()
            .filter(|(_, r)| r.document == document)
            .map(|(n, r)| ListedCommand {
                command_id: format!("cmd-{}", n + 1),
                document: r.document.clone(),
                comment: r.comment.clone(),
                instance_ids: vec![r.instance_id.clone()],
            })
            .collect())
    }

    async fn list_objects(&self, _bucket: &str, prefix: &str, max: usize) -> Result<(Vec<S3Object>, bool), AwsError> {
        let objects = self.objects.lock().unwrap();
        let mut out: Vec<S3Object> = objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| S3Object {
                key: k.clone(),
                size: Some(self.listed_size.unwrap_or(v.len() as i64)),
                etag: Some(format!("\"{}\"", v.len())),
            })
            .collect();
        let more = out.len() > max;
        out.truncate(max);
        Ok((out, more))
    }

    async fn get_object(&self, bucket: &str, key: &str, to: &mut dyn ObjectSink) -> Result<ObjectMeta, FetchError> {
        let body = self.objects.lock().unwrap().get(key).cloned();
        let Some(body) = body else {
            return Err(AwsError::new(Some("NoSuchKey"), format!("s3://{bucket}/{key}")).into());
        };
        // In chunks, as the SDK's body stream hands them over.
        for chunk in body.chunks(8192) {
            self.largest_chunk.fetch_max(chunk.len(), Ordering::SeqCst);
            to.write(chunk)?;
        }
        Ok(ObjectMeta { etag: Some(format!("\"{}\"", body.len())), version_id: Some("v1".into()) })
    }
}
