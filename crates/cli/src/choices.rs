//! The enumerated values of the command line, as clap `ValueEnum`s (so `--help` lists them and a
//! wrong value is answered with the possible ones), each mapped to the library's own type.
//!
//! Key access has one set of names everywhere: grant-only, direct-use, owner-grant (`--mode` of
//! acquire, plan and check adds auto and direct-read; `policy role --kms`; `policy key --access`).
//! The older spellings `direct` and `owner-grants` are accepted as hidden aliases.

use clap::ValueEnum;
use custody_plan::generate::{Feature, Format as PolicyFormat, KeyAccess, KmsMode};
use custody_plan::plan::Mode;
use custody_plan::report::Format as ReportFormat;

/// `--mode` of acquire, plan and check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Chosen per volume from the key's grants and key policy.
    Auto,
    /// The source role creates a grant for the forensic role, and custody retires it.
    GrantOnly,
    /// The key policy names the forensic role (CreateGrant only for AWS resources).
    #[value(alias = "direct")]
    DirectUse,
    /// The key's owner has granted the forensic role.
    #[value(alias = "owner-grants")]
    OwnerGrant,
    /// Read every volume in place with the EBS direct APIs: nothing shared or copied.
    DirectRead,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Auto => Mode::Auto,
            ModeArg::GrantOnly => Mode::GrantOnly,
            ModeArg::DirectUse => Mode::Direct,
            ModeArg::OwnerGrant => Mode::OwnerGrants,
            ModeArg::DirectRead => Mode::DirectRead,
        }
    }
}

/// `policy role --kms` (and `init --kms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KmsArg {
    /// The source role creates grants for the forensic role and retires them.
    GrantOnly,
    /// The key policies name the forensic role.
    #[value(alias = "direct")]
    DirectUse,
    /// The keys' owners grant the forensic role.
    #[value(alias = "owner-grants")]
    OwnerGrant,
}

impl From<KmsArg> for KmsMode {
    fn from(k: KmsArg) -> KmsMode {
        match k {
            KmsArg::GrantOnly => KmsMode::GrantOnly,
            KmsArg::DirectUse => KmsMode::Direct,
            KmsArg::OwnerGrant => KmsMode::OwnerGrants,
        }
    }
}

/// `policy key --access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessArg {
    /// The principal may create grants, only for --grantee and only with custody's operations.
    GrantOnly,
    /// The key policy names the principal for exactly custody's operations.
    #[value(alias = "direct")]
    DirectUse,
    /// The key's owner grants the principal those operations.
    #[value(alias = "owner-grants")]
    OwnerGrant,
}

impl From<AccessArg> for KeyAccess {
    fn from(a: AccessArg) -> KeyAccess {
        match a {
            AccessArg::GrantOnly => KeyAccess::GrantOnly,
            AccessArg::DirectUse => KeyAccess::DirectUse,
            AccessArg::OwnerGrant => KeyAccess::OwnerGrant,
        }
    }
}

/// `policy role --features` (and `init --features`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeatureArg {
    /// Snapshot the volumes and copy them into the forensic account.
    Acquire,
    /// Read the evidence copies with the EBS direct APIs (a verified disk image).
    Image,
    /// Live triage through SSM Run Command.
    Triage,
    /// Delete what custody created in the source accounts.
    Cleanup,
    /// Read the snapshots' blocks in the source account, without a copy.
    DirectRead,
    /// Create a volume from each evidence snapshot (`custody acquire --volume-az`).
    Volume,
    /// The policy of a separate role that may delete evidence; only when named.
    DiscardEvidence,
    /// Read CloudTrail's record of each acquisition, in every account (`custody audit`).
    Audit,
}

impl From<FeatureArg> for Feature {
    fn from(f: FeatureArg) -> Feature {
        match f {
            FeatureArg::Acquire => Feature::Acquire,
            FeatureArg::Image => Feature::Image,
            FeatureArg::Triage => Feature::Triage,
            FeatureArg::Cleanup => Feature::Cleanup,
            FeatureArg::DirectRead => Feature::DirectRead,
            FeatureArg::Volume => Feature::Volume,
            FeatureArg::DiscardEvidence => Feature::DiscardEvidence,
            FeatureArg::Audit => Feature::Audit,
        }
    }
}

/// `--format` of `policy role` and `policy key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormatArg {
    /// IAM policy documents.
    Json,
    /// CloudFormation YAML.
    #[value(alias = "cloudformation", alias = "yaml")]
    Cfn,
    /// Terraform HCL.
    #[value(alias = "tf", alias = "hcl")]
    Terraform,
}

impl From<PolicyFormatArg> for PolicyFormat {
    fn from(f: PolicyFormatArg) -> PolicyFormat {
        match f {
            PolicyFormatArg::Json => PolicyFormat::Json,
            PolicyFormatArg::Cfn => PolicyFormat::Cfn,
            PolicyFormatArg::Terraform => PolicyFormat::Terraform,
        }
    }
}

/// `check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// A readable report.
    Text,
    /// The whole report as JSON (the same as --json).
    Json,
    /// Markdown.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML page.
    Html,
}

impl From<ReportFormatArg> for ReportFormat {
    fn from(f: ReportFormatArg) -> ReportFormat {
        match f {
            ReportFormatArg::Text => ReportFormat::Text,
            ReportFormatArg::Json => ReportFormat::Json,
            ReportFormatArg::Md => ReportFormat::Markdown,
            ReportFormatArg::Html => ReportFormat::Html,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value the library knows has a command-line name, and the names agree with the
    /// library's own (but for the key-access ones, renamed here).
    #[test]
    fn every_library_value_has_a_name() {
        for f in FeatureArg::value_variants() {
            let name = f.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(Feature::from(*f).as_str()));
        }
        assert_eq!(FeatureArg::value_variants().len(), Feature::ALL.len());
        for (text, mode) in [
            ("auto", Mode::Auto),
            ("grant-only", Mode::GrantOnly),
            ("direct-use", Mode::Direct),
            ("direct", Mode::Direct),
            ("owner-grant", Mode::OwnerGrants),
            ("owner-grants", Mode::OwnerGrants),
            ("direct-read", Mode::DirectRead),
        ] {
            assert_eq!(ModeArg::from_str(text, false).map(Mode::from), Ok(mode), "{text}");
        }
        for (text, kms) in [
            ("grant-only", KmsMode::GrantOnly),
            ("direct-use", KmsMode::Direct),
            ("direct", KmsMode::Direct),
            ("owner-grant", KmsMode::OwnerGrants),
            ("owner-grants", KmsMode::OwnerGrants),
        ] {
            assert_eq!(KmsArg::from_str(text, false).map(KmsMode::from), Ok(kms), "{text}");
        }
        for access in AccessArg::value_variants() {
            let name = access.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(KeyAccess::from(*access).name()));
        }
    }
}
