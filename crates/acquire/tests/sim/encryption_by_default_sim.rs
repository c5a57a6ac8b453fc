//! EBS encryption by default on the simulated cloud: with it on where the evidence copies are made,
//! a copy of an unencrypted snapshot is encrypted under the default key (CopySnapshot's `Encrypted`
//! is needed "to encrypt a copy of an unencrypted snapshot if encryption by default is not enabled",
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html>). The evidence record
//! gives the key EC2 reports for the snapshot (DescribeSnapshots `KmsKeyId`), whatever the plan
//! expected, and the run says when the two differ.

use crate::support::*;
use custody_acquire::Event;
use custody_plan::inventory::{EbsEncryptionDefault, Inventory};

const FORENSIC_KEY: &str = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";

/// Path 6's estate with unencrypted volumes: they are shared and copied into the forensic account
/// with no key of their own.
fn unencrypted_path_6() -> Inventory {
    let mut inv = inventory(PATH_6.file);
    inv.ebs_encryption_by_default.clear(); // not read
    for v in &mut inv.instances[0].volumes {
        v.encrypted = false;
        v.kms_key_arn = None;
    }
    inv
}

fn encrypted_by_default(mut inv: Inventory) -> Inventory {
    inv.ebs_encryption_by_default = vec![EbsEncryptionDefault {
        account: "999999999999".into(),
        region: "eu-west-1".into(),
        enabled: true,
        kms_key_arn: Some(FORENSIC_KEY.into()),
    }];
    inv
}

fn warnings(h: &Harness) -> Vec<String> {
    h.events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_copied_where_encryption_by_default_is_on_is_recorded_under_the_key_ec2_reports() {
    // The inventory says nothing of encryption by default; AWS has it on.
    let inv = unencrypted_path_6();
    let planned = plan_and_check(&inv, PATH_6.instance, PATH_6.mode);
    assert!(planned.1.all_pass());
    let h = Harness::with_world(inv.clone(), &encrypted_by_default(inv));
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    let recorded = h.journal.evidence(CASE).unwrap();
    assert_eq!(recorded.len(), 2);
    for e in &recorded {
        assert_eq!(e.key_arn.as_deref(), Some(FORENSIC_KEY), "{}: the key EC2 reports", e.snapshot_id);
    }
    for item in report.evidence() {
        assert_eq!(item.key_arn.as_deref(), Some(FORENSIC_KEY));
    }
    let said = warnings(&h);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains(&format!("encrypted under {FORENSIC_KEY} according to EC2, not unencrypted as planned")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_inventory_says_so_the_plan_names_the_default_key_and_nothing_differs() {
    let inv = encrypted_by_default(unencrypted_path_6());
    let planned = plan_and_check(&inv, PATH_6.instance, PATH_6.mode);
    assert!(planned.1.all_pass());
    let h = Harness::with_inventory(inv);
    let report = h.acquire_planned(&planned).await.unwrap();
    assert!(report.succeeded, "{}", failures(&report));
    assert!(h.journal.evidence(CASE).unwrap().iter().all(|e| e.key_arn.as_deref() == Some(FORENSIC_KEY)));
    assert!(warnings(&h).is_empty(), "{:?}", warnings(&h));
    assert!(unplanned_calls(&planned.0, &h.world.calls()).is_empty());
}
