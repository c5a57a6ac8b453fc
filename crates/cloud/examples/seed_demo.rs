//! Seeds the README demo into a moto server on 127.0.0.1 (feature `testing`):
//!
//! ```text
//! cargo run -p custody-cloud --features testing --example seed_demo -- \
//!     ENDPOINT REGION FORENSIC_REGION ROLE_POLICY_FILE
//! cargo run -p custody-cloud --features testing --example seed_demo -- \
//!     upload ENDPOINT REGION IMAGE_FILE
//! ```
//!
//! The first form creates the instance to acquire (root volume under `aws/ebs`, data volume under a
//! customer key, tagged `CustodyTriage=allowed`), the forensic customer key in FORENSIC_REGION, and
//! the forensic role `CustodyForensic` whose identity policy is ROLE_POLICY_FILE (the demo passes what
//! `custody policy role` prints). Prints the ids as JSON on standard output.
//!
//! `upload` writes IMAGE_FILE (at most 1 GiB) as a new snapshot of a 1 GiB volume through the EBS
//! direct APIs (StartSnapshot, PutSnapshotBlock, CompleteSnapshot), every 512 KiB block that is not
//! all zeros (as EBS stores only written blocks), and prints its id and block count as JSON. moto
//! serves blocks only of snapshots written this way: a snapshot EC2 made (CreateSnapshots,
//! CopySnapshot) has none it can list or read.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use custody_cloud::ebs::BLOCK_SIZE;
use custody_cloud::testing::{
    check_local, seed_acquisition_incident, seed_forensic_role, upload_snapshot, MOTO_ACCOUNT,
};
use serde_json::json;
use std::process::ExitCode;

const ROLE_NAME: &str = "CustodyForensic";
const GIB: u64 = 1 << 30;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match &args[..] {
        [upload, endpoint, region, image] if upload == "upload" => upload_image(endpoint, region, image).await,
        [endpoint, region, forensic_region, policy_file] => seed(endpoint, region, forensic_region, policy_file).await,
        _ => Err("usage: seed_demo ENDPOINT REGION FORENSIC_REGION ROLE_POLICY_FILE\n       \
                  seed_demo upload ENDPOINT REGION IMAGE_FILE"
            .into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Fake credentials, `region`, nothing read from profiles; only an endpoint on 127.0.0.1.
async fn sdk_config(endpoint: &str, region: &str) -> Result<SdkConfig, String> {
    check_local(endpoint)?;
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "custody-demo"))
        .load()
        .await)
}

async fn seed(endpoint: &str, region: &str, forensic_region: &str, policy_file: &str) -> Result<(), String> {
    let config = sdk_config(endpoint, region).await?;
    let policy = std::fs::read_to_string(policy_file).map_err(|e| format!("{policy_file}: {e}"))?;
    let policy: serde_json::Value = serde_json::from_str(&policy).map_err(|e| format!("{policy_file}: {e}"))?;
    let incident = seed_acquisition_incident(&config, forensic_region).await?;
    let role_arn = seed_forensic_role(&config, ROLE_NAME, &policy).await?;
    let out = json!({
        "account": MOTO_ACCOUNT,
        "region": incident.region,
        "instance_id": incident.instance_id,
        "instance_tags": incident.instance_tags,
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

async fn upload_image(endpoint: &str, region: &str, image: &str) -> Result<(), String> {
    let config = sdk_config(endpoint, region).await?;
    let bytes = std::fs::read(image).map_err(|e| format!("{image}: {e}"))?;
    if bytes.len() as u64 > GIB {
        return Err(format!("{image}: {} bytes, more than the 1 GiB volume it is uploaded as", bytes.len()));
    }
    let mut blocks = Vec::new();
    for (index, chunk) in bytes.chunks(BLOCK_SIZE as usize).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let mut block = chunk.to_vec();
        block.resize(BLOCK_SIZE as usize, 0);
        let index = i32::try_from(index).map_err(|_| format!("{image}: block index {index} out of range"))?;
        blocks.push((index, block));
    }
    let snapshot_id = upload_snapshot(&config, 1, &blocks).await?;
    println!("{}", json!({"snapshot_id": snapshot_id, "volume_size_gib": 1, "blocks": blocks.len()}));
    Ok(())
}
