//! An SSM fake that authorizes SendCommand the way AWS does, with the policy engine: on the instance
//! (its tags as `ssm:resourceTag/<key>`) and on the document, through `custody_plan::check::authorize`
//! against an inventory. A command it allows "runs" and answers a whole collection.
#![allow(dead_code)]

use async_trait::async_trait;
use custody_plan::check::{authorize, Outcome};
use custody_plan::inventory::Tag;
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::AuthzRequest;
use custody_triage::{AwsError, InstanceInfo, Invocation, SendRequest, TriageAws, TriageRequest};
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
}

impl FakeSsm {
    pub fn new(inventory: serde_json::Value, instances: Vec<InstanceInfo>) -> FakeSsm {
        FakeSsm {
            inventory: parse_inventory(&inventory.to_string()).unwrap(),
            instances,
            sent: Mutex::new(Vec::new()),
            stdout: full_output,
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
        Ok(format!("cmd-{}", sent.len()))
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

    async fn list_objects(&self, _bucket: &str, _prefix: &str) -> Result<Vec<String>, AwsError> {
        Ok(Vec::new())
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        Err(AwsError::new(Some("NoSuchKey"), format!("s3://{bucket}/{key}")))
    }
}
