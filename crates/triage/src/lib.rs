//! # custody-triage: live triage through SSM Run Command, scoped by instance tag
//!
//! A disk acquisition takes time and misses what only lives in memory. Responders also need the
//! volatile state of a running instance now: its processes, connections, logged-in users. SSM Run
//! Command reaches it without a login: `ssm:SendCommand` of the AWS-owned shell documents
//! (`AWS-RunShellScript` on Linux, `AWS-RunPowerShellScript` on Windows) with a collection script,
//! then `ssm:GetCommandInvocation` until the invocation is done.
//!
//! ## What is sent
//!
//! The scripts live in this crate (`scripts/linux.sh`, `scripts/windows.ps1`), versioned, reviewed,
//! embedded at build time ([`script`]). They are read-only on the instance: nothing installed,
//! nothing written (the one exception, a Windows minidump, which `comsvcs.dll` can only write to a
//! file, is a temporary file deleted at once). Each run gets a nonce that every marker line carries,
//! so output that merely contains marker text (a command line, a shell history) cannot fake or end a
//! section ([`parse`]). The journal records the SHA-256 of the commands exactly as sent.
//!
//! ## Tag scoping (seed 004)
//!
//! Run Command executes anything as root, so its permission is tightened to instances that carry a
//! tag (`ssm:resourceTag/<key>`). With a scoping tag configured, custody refuses an instance without
//! it *before anything is sent*, naming the tag and the `aws ec2 create-tags` command that adds it;
//! when AWS answers `AccessDeniedException` anyway, custody explains it the same way ([`scope`]).
//!
//! ## Output
//!
//! The inline output of an invocation is cut at 24,000 characters of stdout (GetCommandInvocation,
//! `StandardOutputContent`), which a real collection exceeds; with `--output s3://bucket/prefix` the
//! agent writes the whole output to S3 and custody fetches and hashes every object there. Without it
//! the inline output is kept in the journal with a warning when it was cut. Memory (`--memory`)
//! needs S3: it is streamed as base64 on stdout, hashed per region on the instance and re-hashed on
//! arrival ([`parse::parse_memory`]).
//!
//! ## AWS behind a trait
//!
//! Every call goes through [`aws::TriageAws`]; [`sdk::SdkTriage`] is the aws-sdk-rust adapter. The
//! orchestration ([`run::triage`]) is tested against fakes and against moto.

pub mod aws;
pub mod error;
pub mod parse;
pub mod run;
pub mod scope;
pub mod script;
pub mod sdk;

pub use aws::{AwsError, InstanceInfo, Invocation, S3Location, SendRequest, TriageAws};
pub use error::TriageError;
pub use run::{resolve, triage, triage_resolved, InstanceReport, SendFailure, TriageReport, TriageRequest};
pub use script::{MemoryTarget, Platform};
