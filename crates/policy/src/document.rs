//! Policy documents: the model, and the parser that turns JSON into it.
//!
//! Grammar: IAM User Guide, "Grammar of the IAM JSON policy language"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>) and the element
//! reference pages. A policy is a JSON object, or a JSON string holding one (the form the IAM API
//! returns, URL-decoded). `Statement` is one object or an array; `Action`, `Resource` and the principal
//! lists are a string or an array of strings. Everything is compiled once here so that evaluation
//! only compares.

mod parse;

use crate::condition::Condition;
use crate::pattern::Pattern;
use crate::principal::PrincipalPattern;
pub use parse::parse_policy;

/// Which kind of policy a document is: it decides which elements are required or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity-based: no Principal; Resource required.
    Identity,
    /// Permissions boundary: as identity-based.
    Boundary,
    /// Session policy: as identity-based.
    Session,
    /// Service control policy: no Principal.
    Scp,
    /// Resource control policy: Principal optional (`*`).
    Rcp,
    /// Resource-based (a KMS key policy among them): Principal required.
    Resource,
    /// VPC endpoint policy: Principal optional.
    VpcEndpoint,
}

/// `Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`, also when Version is absent: policy variables are literal text.
    V2008,
    /// `2012-10-17`: policy variables are resolved.
    V2012,
}

/// `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction`, `Resource`/`NotResource`.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// The element is absent (only where the policy kind allows that): everything.
    Any,
    /// `Action` / `Resource`.
    Only(Vec<Pattern>),
    /// `NotAction` / `NotResource`.
    Not(Vec<Pattern>),
}

/// `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub enum PrincipalSpec {
    /// Absent (identity-based policies, or where the kind defaults to everyone).
    Absent,
    Principal(Vec<PrincipalPattern>),
    NotPrincipal(Vec<PrincipalPattern>),
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`, if any.
    pub sid: Option<Box<str>>,
    /// Position in the `Statement` array (0 when `Statement` is one object).
    pub index: usize,
    pub effect: Effect,
    pub principal: PrincipalSpec,
    pub action: Spec,
    pub resource: Spec,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
    /// The services `action` can name, found at parse time so that evaluation skips a statement
    /// about another service with one AND instead of matching each of its action patterns.
    pub services: ServiceMask,
}

/// A 64-bit Bloom filter over lower-cased service prefixes (`kms`, `ec2`, …).
///
/// A statement's mask has the bit of every service its `Action` patterns start with; a pattern whose
/// service part holds a wildcard or a variable, `NotAction`, or an absent `Action` sets every bit.
/// Two different services can share a bit, so a shared bit means "match the patterns", never
/// "matches"; a clear bit proves no pattern can match, since every action is `service:name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceMask(u64);

impl ServiceMask {
    /// Every service.
    pub const ALL: ServiceMask = ServiceMask(u64::MAX);

    /// The bit of one service, given lower-cased.
    pub fn of_service(service_lower: &str) -> ServiceMask {
        // The context's key hash (FNV-1a) spreads short ASCII names well enough over 64 bits.
        let hash = crate::context::key_hash(service_lower);
        ServiceMask(1 << (hash % 64))
    }

    /// The services an `Action`/`NotAction` element can name.
    pub fn of_action(spec: &Spec) -> ServiceMask {
        match spec {
            Spec::Any | Spec::Not(_) => ServiceMask::ALL,
            Spec::Only(patterns) => {
                patterns.iter().fold(ServiceMask(0), |mask, p| ServiceMask(mask.0 | Self::of_pattern(p.as_str()).0))
            }
        }
    }

    fn of_pattern(source: &str) -> ServiceMask {
        match source.split_once(':') {
            Some((service, _)) if !service.contains(['*', '?', '$']) => {
                ServiceMask::of_service(&service.to_ascii_lowercase())
            }
            _ => ServiceMask::ALL,
        }
    }

    /// True when a request for a service with mask `service` may match.
    pub fn admits(self, service: ServiceMask) -> bool {
        self.0 & service.0 != 0
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<Box<str>>,
    pub statements: Vec<Statement>,
    pub kind: PolicyKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Syntax;

    fn action(patterns: &[&str]) -> Spec {
        let syntax = Syntax { wildcards: true, variables: true, case_insensitive: true };
        Spec::Only(patterns.iter().map(|p| Pattern::new(p, syntax)).collect())
    }

    #[test]
    fn service_mask_admits_exactly_what_the_patterns_can_name() {
        let kms = ServiceMask::of_service("kms");
        let ec2 = ServiceMask::of_service("ec2");
        assert_ne!(kms, ec2, "the bench's two services must not share a bit");
        // Action names are case-insensitive, the service prefix included.
        assert!(ServiceMask::of_action(&action(&["KMS:Decrypt"])).admits(kms));
        assert!(!ServiceMask::of_action(&action(&["kms:Decrypt", "kms:ReEncrypt*"])).admits(ec2));
        // A wildcard or a variable in the service part, `*`, NotAction and no Action admit everything.
        for wide in [action(&["*"]), action(&["k*:Decrypt"]), action(&["km?:Decrypt"]), action(&["${aws:x}:Get"])] {
            assert_eq!(ServiceMask::of_action(&wide), ServiceMask::ALL);
        }
        assert_eq!(ServiceMask::of_action(&Spec::Not(Vec::new())), ServiceMask::ALL);
        assert_eq!(ServiceMask::of_action(&Spec::Any), ServiceMask::ALL);
    }
}
