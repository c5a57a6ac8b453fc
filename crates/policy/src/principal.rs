//! Principals: who makes a request, and what a policy's `Principal` element can name.
//!
//! Rules (IAM User Guide, "AWS JSON policy elements: Principal",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>):
//! - an account id or `arn:aws:iam::<acct>:root` names the account: it matches every principal of that
//!   account, and delegates the decision to that account's identity-based policies;
//! - a role ARN matches the role's sessions (`arn:aws:sts::<acct>:assumed-role/<name>/<session>`; the
//!   session ARN carries no path, so the role is recognised by account and name);
//! - a session ARN, a user ARN or a federated-user ARN matches exactly that principal;
//! - `"*"` (or `{"AWS": "*"}`) matches everyone, anonymous callers included;
//! - service principals match the service's own requests; wildcards inside ARNs are not allowed.

use custody_ids::{Arn, ArnPart};

/// What [`Caller::parse`] expects of an ARN's Region and account.
const NO_REGION: &str = "a principal ARN with no region and a 12-digit account id";

/// What [`Caller::parse`] expects of an ARN's resource.
const NOT_A_PRINCIPAL: &str = "an ARN of an account root, IAM user, IAM role, assumed-role session or federated user";

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// `arn:<p>:iam::<acct>:root`.
    Root { partition: Box<str>, account: Box<str> },
    /// `arn:<p>:iam::<acct>:user/<path/>name`.
    User { partition: Box<str>, account: Box<str>, name: Box<str>, arn: Box<str> },
    /// A role session; `role_arn` carries the path when the request gave the role ARN itself.
    Session { partition: Box<str>, account: Box<str>, role: Box<str>, session: Option<Box<str>>, role_arn: Box<str> },
    /// `arn:<p>:sts::<acct>:federated-user/<name>`.
    FederatedUser { partition: Box<str>, account: Box<str>, name: Box<str>, arn: Box<str> },
    /// An AWS service principal such as `ec2.amazonaws.com`.
    Service(Box<str>),
    /// An unauthenticated caller.
    Anonymous,
}

/// The `aws:PrincipalType` values (IAM User Guide, "AWS global condition context keys").
impl Caller {
    /// Parses the request's `principal` field.
    pub fn parse(text: &str) -> Result<Caller, String> {
        if text == "*" || text.eq_ignore_ascii_case("anonymous") {
            return Ok(Caller::Anonymous);
        }
        if !text.starts_with("arn:") {
            if is_service_principal(text) {
                return Ok(Caller::Service(text.into()));
            }
            return Err(
                "an IAM or STS principal ARN, a service principal such as `ec2.amazonaws.com`, or `anonymous`".into()
            );
        }
        let arn = match Arn::parse(text) {
            Ok(arn) => arn,
            Err(e) if matches!(e.part, ArnPart::Region | ArnPart::Account) => return Err(NO_REGION.into()),
            Err(_) => return Err("an ARN of the form `arn:aws:iam::<account>:<resource>`".into()),
        };
        let (Some(account), None) = (arn.account(), arn.region()) else { return Err(NO_REGION.into()) };
        let (partition, account): (Box<str>, Box<str>) = (arn.partition().into(), account.into());
        // The names are read as given, not checked against IAM's rules: this is an evaluator, and
        // AWS's own answers are what it is given (a name's characters are compared, not judged).
        match (arn.service(), arn.resource().split_once('/')) {
            ("iam", None) if arn.resource() == "root" => Ok(Caller::Root { partition, account }),
            ("iam", Some(("user", path_name))) if !path_name.is_empty() => {
                let name = path_name.rsplit('/').next().unwrap_or(path_name).into();
                Ok(Caller::User { partition, account, name, arn: text.into() })
            }
            ("iam", Some(("role", path_name))) if !path_name.is_empty() => {
                let role = path_name.rsplit('/').next().unwrap_or(path_name).into();
                Ok(Caller::Session { partition, account, role, session: None, role_arn: text.into() })
            }
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, session)) if !role.is_empty() && !session.is_empty() => {
                    let role_arn = format!("arn:{partition}:iam::{account}:role/{role}").into();
                    Ok(Caller::Session {
                        partition,
                        account,
                        role: role.into(),
                        session: Some(session.into()),
                        role_arn,
                    })
                }
                _ => Err("an assumed-role ARN `arn:aws:sts::<account>:assumed-role/<role>/<session>`".into()),
            },
            ("sts", Some(("federated-user", name))) if !name.is_empty() => {
                Ok(Caller::FederatedUser { partition, account, name: name.into(), arn: text.into() })
            }
            _ => Err(NOT_A_PRINCIPAL.into()),
        }
    }

    /// The caller's account, if it has one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Caller::Root { account, .. }
            | Caller::User { account, .. }
            | Caller::Session { account, .. }
            | Caller::FederatedUser { account, .. } => Some(account),
            Caller::Service(_) | Caller::Anonymous => None,
        }
    }

    /// The caller's own ARN (a session's is its session ARN, or the role ARN when no session was named).
    pub fn arn(&self) -> Option<String> {
        Some(match self {
            Caller::Root { partition, account } => format!("arn:{partition}:iam::{account}:root"),
            Caller::User { arn, .. } | Caller::FederatedUser { arn, .. } => arn.to_string(),
            Caller::Session { partition, account, role, session: Some(s), .. } => {
                format!("arn:{partition}:sts::{account}:assumed-role/{role}/{s}")
            }
            Caller::Session { role_arn, session: None, .. } => role_arn.to_string(),
            Caller::Service(_) | Caller::Anonymous => return None,
        })
    }

    /// Whether the caller's own ARN is `arn` (compared without building the ARN).
    pub fn arn_is(&self, arn: &str) -> bool {
        match self {
            Caller::User { arn: a, .. } | Caller::FederatedUser { arn: a, .. } => **a == *arn,
            Caller::Session { partition, account, role, session: Some(s), .. } => {
                let Ok(arn) = Arn::parse(arn) else { return false };
                arn.partition() == &**partition
                    && arn.service() == "sts"
                    && arn.region().is_none()
                    && arn.account() == Some(&**account)
                    && arn.resource().strip_prefix("assumed-role/").and_then(|r| r.split_once('/'))
                        == Some((&**role, &**s))
            }
            _ => self.arn().as_deref() == Some(arn),
        }
    }

    /// `aws:PrincipalArn`: for a role session the role's ARN.
    pub fn principal_arn(&self) -> Option<String> {
        match self {
            Caller::Session { role_arn, .. } => Some(role_arn.to_string()),
            _ => self.arn(),
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> Option<&'static str> {
        Some(match self {
            Caller::Root { .. } => "Account",
            Caller::User { .. } => "User",
            Caller::Session { .. } => "AssumedRole",
            Caller::FederatedUser { .. } => "FederatedUser",
            Caller::Anonymous => "Anonymous",
            Caller::Service(_) => return None,
        })
    }

    /// True for service-linked roles (path `aws-service-role/`), which SCPs and RCPs do not restrict.
    pub fn is_service_linked_role(&self) -> bool {
        matches!(self, Caller::Session { role_arn, .. } if role_arn.contains(":role/aws-service-role/"))
    }
}

/// What one entry of a `Principal` element names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalPattern {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Everyone,
    /// An account (id or root ARN).
    Account(Box<str>),
    /// A role ARN (matches its sessions): account and role name.
    Role { account: Box<str>, name: Box<str>, arn: Box<str> },
    /// Any other principal ARN (user, session, federated user), matched exactly.
    Arn(Box<str>),
    /// A service principal.
    Service(Box<str>),
    /// A `Federated` or `CanonicalUser` entry, matched by text.
    Other(Box<str>),
}

/// How a principal pattern matched the caller; the evaluation rules differ for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// Through the caller's account: the account's identity-based policies decide.
    Account,
    /// `"*"`.
    Everyone,
    /// The role ARN of the caller's session.
    Role,
    /// The caller's own ARN (IAM user, role session, federated user).
    Exact,
    /// The calling service.
    Service,
}

impl PrincipalPattern {
    /// Parses one `AWS` entry; `Err` holds what was expected.
    pub fn parse_aws(text: &str) -> Result<PrincipalPattern, &'static str> {
        if text == "*" {
            return Ok(PrincipalPattern::Everyone);
        }
        if is_account_id(text) {
            return Ok(PrincipalPattern::Account(text.into()));
        }
        if text.contains('*') || text.contains('?') {
            return Err("`*` alone or a principal ARN without wildcards (to match by pattern, use a condition on `aws:PrincipalArn` with ArnLike)");
        }
        match Caller::parse(text) {
            Ok(Caller::Root { account, .. }) => Ok(PrincipalPattern::Account(account)),
            Ok(Caller::Session { account, role, session: None, role_arn, .. }) => {
                Ok(PrincipalPattern::Role { account, name: role, arn: role_arn })
            }
            Ok(Caller::User { .. } | Caller::Session { .. } | Caller::FederatedUser { .. }) => {
                Ok(PrincipalPattern::Arn(text.into()))
            }
            _ => Err("an account id, or the ARN of an account root, IAM user, IAM role, assumed-role session or federated user"),
        }
    }

    /// How this pattern matches `caller`, if it does.
    pub fn matches(&self, caller: &Caller) -> Option<PrincipalMatch> {
        match (self, caller) {
            (PrincipalPattern::Everyone, _) => Some(PrincipalMatch::Everyone),
            (PrincipalPattern::Account(a), c) => (c.account() == Some(a)).then_some(PrincipalMatch::Account),
            (PrincipalPattern::Role { account, name, .. }, Caller::Session { account: ca, role, .. }) => {
                (account == ca && name == role).then_some(PrincipalMatch::Role)
            }
            (PrincipalPattern::Arn(arn), c) => c.arn_is(arn).then_some(PrincipalMatch::Exact),
            (PrincipalPattern::Service(s), Caller::Service(cs)) => {
                s.eq_ignore_ascii_case(cs).then_some(PrincipalMatch::Service)
            }
            _ => None,
        }
    }
}

/// True when a `NotPrincipal` list excludes `caller`, i.e. the statement does not apply to it.
///
/// A request carries a chain of identities: the account, then for a session its role and the session
/// itself, for a user the user. The caller is excluded only when every link is listed, which is why
/// AWS's examples list the account ARN beside a role and its session (IAM User Guide, "AWS JSON policy
/// elements: NotPrincipal",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>).
pub fn not_principal_excludes(listed: &[PrincipalPattern], caller: &Caller) -> bool {
    if listed.contains(&PrincipalPattern::Everyone) {
        return true;
    }
    let account_listed = |acct: &str| listed.iter().any(|p| matches!(p, PrincipalPattern::Account(a) if **a == *acct));
    let arn_listed = |arn: Option<String>| {
        arn.is_some_and(|arn| listed.iter().any(|p| matches!(p, PrincipalPattern::Arn(a) if **a == *arn)))
    };
    match caller {
        Caller::Anonymous => false,
        Caller::Service(s) => {
            listed.iter().any(|p| matches!(p, PrincipalPattern::Service(l) if l.eq_ignore_ascii_case(s)))
        }
        Caller::Root { account, .. } => account_listed(account),
        Caller::User { account, .. } | Caller::FederatedUser { account, .. } => {
            account_listed(account) && arn_listed(caller.arn())
        }
        Caller::Session { account, role, session, .. } => {
            let role_listed = listed
                .iter()
                .any(|p| matches!(p, PrincipalPattern::Role { account: a, name, .. } if a == account && name == role));
            account_listed(account) && role_listed && (session.is_none() || arn_listed(caller.arn()))
        }
    }
}

/// `"ec2.amazonaws.com"`-like text.
pub fn is_service_principal(text: &str) -> bool {
    !text.is_empty() && text.contains('.') && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
}

/// A 12-digit AWS account id ([`custody_ids::AccountId`]).
pub fn is_account_id(text: &str) -> bool {
    custody_ids::AccountId::is_valid(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(s: &str) -> Caller {
        Caller::parse(s).unwrap_or(Caller::Anonymous)
    }

    #[test]
    fn role_arn_covers_sessions_whatever_the_path() {
        let p = PrincipalPattern::parse_aws("arn:aws:iam::111111111111:role/ops/CustodyResponse");
        let session = caller("arn:aws:sts::111111111111:assumed-role/CustodyResponse/incident-42");
        assert_eq!(p.ok().and_then(|p| p.matches(&session)), Some(PrincipalMatch::Role));
    }

    #[test]
    fn account_forms_match_every_principal_of_the_account() {
        for text in ["111111111111", "arn:aws:iam::111111111111:root"] {
            let p = PrincipalPattern::parse_aws(text);
            let user = caller("arn:aws:iam::111111111111:user/alice");
            assert_eq!(p.ok().and_then(|p| p.matches(&user)), Some(PrincipalMatch::Account), "{text}");
        }
    }

    #[test]
    fn wildcards_inside_arns_are_refused() {
        assert!(PrincipalPattern::parse_aws("arn:aws:iam::111111111111:role/*").is_err());
    }

    #[test]
    fn bad_principals_are_refused() {
        for text in
            ["", "arn:aws:iam::1234:root", "arn:aws:s3:::bucket", "alice", "arn:aws:sts::111111111111:assumed-role/x"]
        {
            assert!(Caller::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn service_linked_roles_are_recognised() {
        let slr = caller(
            "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        );
        assert!(slr.is_service_linked_role());
        assert!(!caller("arn:aws:sts::111111111111:assumed-role/R/s").is_service_linked_role());
    }
}
