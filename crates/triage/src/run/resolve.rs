//! Resolving the instances of a triage: DescribeInstances, then the checks made before anything is
//! written or sent.

use super::TriageRequest;
use crate::error::TriageError;
use crate::scope;
use custody_cloud::triage::{InstanceInfo, TriageAws};

/// The instances asked for, as DescribeInstances sees them, checked before anything is written or
/// sent: unknown and stopped instances are refused, and with a scoping tag, instances without it.
///
/// Read-only (one DescribeInstances): the caller opens (creates) the journal only after this
/// answered, so a refusal leaves no journal behind.
pub async fn resolve(aws_api: &dyn TriageAws, req: &TriageRequest) -> Result<Vec<InstanceInfo>, TriageError> {
    if !req.memory.is_empty() && req.output.is_none() {
        return Err(TriageError::BadInput(
            "--memory needs --output s3://bucket/prefix: a memory dump is far larger than the 24,000 characters of \
             inline output"
                .into(),
        ));
    }
    let tag = req.by_tag.as_ref().map(|t| (t.key.as_str(), t.value.as_str()));
    if req.instances.is_empty() && tag.is_none() {
        return Err(TriageError::BadInput("name the instances, or select them with --tag KEY=VALUE".into()));
    }
    let found = aws_api.describe_instances(&req.instances, tag).await.map_err(|e| match e.code.as_deref() {
        Some("InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed") => TriageError::BadInput(e.message),
        _ => TriageError::Aws { call: "ec2:DescribeInstances", source: e },
    })?;
    let mut out = Vec::new();
    for id in &req.instances {
        match found.iter().find(|i| &i.id == id) {
            Some(i) => out.push(i.clone()),
            None => return Err(TriageError::BadInput(format!("{id}: no such instance in {}", req.region))),
        }
    }
    if req.instances.is_empty() {
        // DescribeInstances filtered by tag: exactly those, each once.
        for i in found {
            if !out.iter().any(|o: &InstanceInfo| o.id == i.id) {
                out.push(i);
            }
        }
        if out.is_empty() {
            let (k, v) = tag.unwrap_or_default();
            return Err(TriageError::BadInput(format!("no instance in {} carries the tag {k}={v}", req.region)));
        }
    }
    let stopped: Vec<String> =
        out.iter().filter(|i| i.state != "running").map(|i| format!("{} is {}", i.id, i.state)).collect();
    if !stopped.is_empty() {
        return Err(TriageError::BadInput(format!(
            "Run Command reaches only running instances: {} (nothing was sent)",
            stopped.join(", ")
        )));
    }
    if let Some(tag) = &req.scope_tag {
        scope::check(&out, tag)?;
    }
    Ok(out)
}
