//! Seeds the README demo's incident into a moto server on 127.0.0.1 (feature `testing`):
//!
//! ```text
//! cargo run -p custody-cloud --features testing --example seed_demo -- \
//!     ENDPOINT REGION FORENSIC_REGION ROLE_POLICY_FILE
//! ```
//!
//! Creates the instance to acquire (root volume under `aws/ebs`, data volume under a customer key),
//! the forensic customer key in FORENSIC_REGION, and the forensic role `CustodyForensic` whose
//! identity policy is ROLE_POLICY_FILE (the demo passes what `custody policy role` prints). Prints the
//! ids as JSON on standard output.

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use custody_cloud::testing::{check_local, seed_acquisition_incident, seed_forensic_role, MOTO_ACCOUNT};
use serde_json::json;
use std::process::ExitCode;

const ROLE_NAME: &str = "CustodyForensic";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, region, forensic_region, policy_file] = &args[..] else {
        return Err("usage: seed_demo ENDPOINT REGION FORENSIC_REGION ROLE_POLICY_FILE".into());
    };
    check_local(endpoint)?;
    let policy = std::fs::read_to_string(policy_file).map_err(|e| format!("{policy_file}: {e}"))?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "custody-demo"))
        .load()
        .await;
    let incident = seed_acquisition_incident(&config, forensic_region).await?;
    let policy: serde_json::Value = serde_json::from_str(&policy).map_err(|e| format!("{policy_file}: {e}"))?;
    let role_arn = seed_forensic_role(&config, ROLE_NAME, &policy).await?;
    let out = json!({
        "account": MOTO_ACCOUNT,
        "region": incident.region,
        "instance_id": incident.instance_id,
        "root_volume_id": incident.root_volume_id,
        "data_volume_id": incident.data_volume_id,
        "data_key_arn": incident.data_key_arn,
        "forensic_region": incident.forensic_region,
        "forensic_key_arn": incident.forensic_key_arn,
        "forensic_role_arn": role_arn,
    });
    println!("{out}");
    Ok(())
}
