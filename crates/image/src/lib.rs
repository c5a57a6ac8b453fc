//! Forensic disk images of EBS snapshots through the EBS direct APIs (issue 5). Work in progress.
