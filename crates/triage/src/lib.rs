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
//! agent writes the whole output to S3 and custody downloads it to files in the data directory,
//! streamed, each object under a size cap (`--max-object-size`, [`download`]), hashed as it arrives
//! and journaled. The objects are the instance's to write: exactly one `stdout` is parsed, never one
//! of several, and the journal names the object parsed (key, size, ETag, version, SHA-256)
//! ([`run::fetch`]). Without S3 the inline output is kept in the journal with a warning when it was
//! cut. Memory (`--memory`) needs S3: it is streamed as base64 on stdout, hashed per region on the
//! instance and re-hashed on arrival ([`parse::parse_memory`]).
//!
//! What the instance printed is untrusted: the parsers read it a line at a time, within fixed
//! limits, and never fail or panic ([`parse`]); the text they return is raw, and making it safe for
//! a terminal is left to the printer.
//!
//! ## Killed midway
//!
//! Every SendCommand is journaled before it is made, with a reference custody also writes into the
//! command's Comment. `custody triage … --resume` finishes an interrupted triage without sending
//! again a command that was sent: a command whose answer was journaled is followed and fetched; one
//! whose answer was not is looked up in ListCommands by that reference for a bounded time, and if
//! it cannot be found it is reported and not sent again unless `--resend-unconfirmed` says so
//! ([`run::resume`]). Without `--resume`, a triage of an instance with an interrupted command is
//! refused before anything is sent.

//! ## AWS behind a trait
//!
//! Every call goes through [`aws::TriageAws`]; [`SdkTriage`] is the aws-sdk-rust adapter. The
//! orchestration ([`run::triage`]) is tested against fakes and against moto.

pub mod download;
pub mod error;
pub mod parse;
pub mod run;
pub mod scope;
pub mod script;

/// The AWS calls of a triage (the AWS boundary's, `custody_cloud::triage`).
pub use custody_cloud::triage::{
    self as aws, AwsError, FetchError, InstanceInfo, Invocation, ListedCommand, ObjectMeta, OutputLocation, S3Object,
    SdkTriage, SendRequest, TriageAws,
};
/// `s3://bucket/prefix`: the planner's own type, so that what `custody check --triage --output`
/// checks and what `custody triage --output` writes to are parsed and laid out alike.
pub use custody_plan::plan::TriageOutput as S3Location;
pub use download::{Download, DEFAULT_MAX_OBJECT_BYTES};
pub use error::TriageError;
pub use run::{resolve, triage, triage_resolved, InstanceReport, SendFailure, TriageReport, TriageRequest};
pub use script::{MemoryTarget, Platform};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_parse() {
        let l = S3Location::parse("s3://evidence-bucket/ir-7/triage/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("evidence-bucket", "ir-7/triage"));
        assert_eq!(l.command_prefix("c1", "i-1"), "ir-7/triage/c1/i-1/");
        let bare = S3Location::parse("s3://evidence-bucket").unwrap();
        assert_eq!(bare.command_prefix("c1", "i-1"), "c1/i-1/");
        for bad in ["evidence", "s3://", "s3://Upper/x", "s3://a/x", "https://b/x"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
