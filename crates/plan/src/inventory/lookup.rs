//! Lookups the planner and the preflight use: by instance id, by key ARN (or alias), by principal ARN
//! (or role session ARN), custody's roles and keys per account and Region, the organization policies
//! of an account, and whether a fact could not be read.

use super::arn::{AliasArn, Identity, KeyArn};
use super::{Instance, InstanceField, Inventory, Key, KeyField, Principal, PrincipalField, Volume};
use serde_json::Value;

/// The SCPs (or RCPs) that bear on an account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrgPolicies<'a> {
    /// The account is not in an organization: nothing to evaluate (the case format's absent `scps`).
    NotInOrganization,
    /// One array of policies per level of the account's organization path, root first.
    Levels(&'a [Vec<Value>]),
    /// Could not be read: every request that depends on them is unknown.
    Unknown,
}

/// What the inventory says of EBS encryption by default in one account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionByDefault<'a> {
    /// Off: copies of unencrypted snapshots, and volumes made from them, stay unencrypted.
    Off,
    /// On, with this default key.
    On { key_arn: &'a str },
    /// Not known: `unreadable` when `custody collect` tried and could not read it, else not listed.
    Unknown { unreadable: bool },
}

/// A fact the inventory may not know, for [`Inventory::is_unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact<'a> {
    /// The SCPs of an account.
    Scps { account: &'a str },
    /// The RCPs of an account.
    Rcps { account: &'a str },
    /// A field of a principal (given by role or user ARN, or a role session ARN).
    Principal { arn: &'a str, field: PrincipalField },
    /// A field of a key (given as for [`Inventory::key`]).
    Key { arn: &'a str, field: KeyField },
    /// A field of an instance.
    Instance { id: &'a str, field: InstanceField },
}

impl Inventory {
    /// The instance with this id.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// A volume, with the instance it is attached to (the first one listed, for a Multi-Attach volume).
    pub fn volume(&self, id: &str) -> Option<(&Instance, &Volume)> {
        self.instances.iter().find_map(|i| i.volume(id).map(|v| (i, v)))
    }

    /// The key named by its key ARN; also by one of its alias ARNs
    /// (`arn:aws:kms:<region>:<account>:alias/<name>`), and, when only one listed key answers to
    /// it, by its key id or an alias name (`alias/<name>`).
    pub fn key(&self, key: &str) -> Option<&Key> {
        if let Some(k) = self.keys.iter().find(|k| k.arn == key) {
            return Some(k);
        }
        if let Some(a) = AliasArn::parse(key) {
            return self.keys.iter().find(|k| {
                KeyArn::parse(&k.arn)
                    .is_some_and(|ka| ka.partition == a.partition && ka.region == a.region && ka.account == a.account)
                    && k.aliases.iter().any(|n| n == a.alias)
            });
        }
        let mut matching = self
            .keys
            .iter()
            .filter(|k| k.aliases.iter().any(|n| n == key) || KeyArn::parse(&k.arn).is_some_and(|ka| ka.id == key));
        match (matching.next(), matching.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }

    /// The bucket named `name`.
    pub fn bucket(&self, name: &str) -> Option<&super::Bucket> {
        self.buckets.iter().find(|b| b.name == name)
    }

    /// The principal named by a role or user ARN, whatever path the ARN gives (role and user names
    /// are unique in an account), or by an assumed-role session ARN
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`, which maps to its role (IAM User Guide,
    /// "IAM identifiers": session ARNs carry no path,
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>).
    pub fn principal(&self, arn: &str) -> Option<&Principal> {
        if let Some(p) = self.principals.iter().find(|p| p.arn == arn) {
            return Some(p);
        }
        let wanted = Identity::parse(arn)?;
        self.principals.iter().find(|p| Identity::parse(&p.arn).is_some_and(|i| i.same_identity(&wanted)))
    }

    /// The role custody acts as in `account`: its source role, or in the forensic account (same-account
    /// acquisitions) the forensic role unless a source role is configured for it.
    pub fn source_role_arn(&self, account: &str) -> Option<&str> {
        match self.config.source_role_arns.get(account) {
            Some(arn) => Some(arn),
            None if account == self.config.forensic_account => Some(&self.config.forensic_role_arn),
            None => None,
        }
    }

    /// The ARN of the key evidence copies are encrypted under in `region` of the forensic account.
    pub fn forensic_key_arn(&self, region: &str) -> Option<&str> {
        self.config.forensic_key_arns.get(region).map(String::as_str)
    }

    /// The forensic key of `region` itself (loading checks that every configured one is listed).
    pub fn forensic_key(&self, region: &str) -> Option<&Key> {
        self.forensic_key_arn(region).and_then(|arn| self.key(arn))
    }

    /// The SCPs on `account`'s organization path.
    pub fn scps(&self, account: &str) -> OrgPolicies<'_> {
        org_policies(&self.scps, &self.unknown, "scps", account)
    }

    /// The RCPs on `account`'s organization path.
    pub fn rcps(&self, account: &str) -> OrgPolicies<'_> {
        org_policies(&self.rcps, &self.unknown, "rcps", account)
    }

    /// EBS encryption by default in `account` and `region`, as far as the inventory knows it.
    pub fn ebs_encryption_default(&self, account: &str, region: &str) -> EncryptionByDefault<'_> {
        let fact = format!("ebs_encryption_by_default:{account}:{region}");
        if self.unknown.contains(&fact) {
            return EncryptionByDefault::Unknown { unreadable: true };
        }
        match self.ebs_encryption_by_default.iter().find(|d| d.account == account && d.region == region) {
            Some(d) if d.enabled => match &d.kms_key_arn {
                Some(key) => EncryptionByDefault::On { key_arn: key },
                None => EncryptionByDefault::Unknown { unreadable: true },
            },
            Some(_) => EncryptionByDefault::Off,
            None => EncryptionByDefault::Unknown { unreadable: false },
        }
    }

    /// Whether `fact` could not be read. A principal, key or instance the inventory does not list is
    /// unknown in every respect; what is listed is known unless its `unknown` array names the field.
    pub fn is_unknown(&self, fact: Fact<'_>) -> bool {
        match fact {
            Fact::Scps { account } => self.scps(account) == OrgPolicies::Unknown,
            Fact::Rcps { account } => self.rcps(account) == OrgPolicies::Unknown,
            Fact::Principal { arn, field } => self.principal(arn).is_none_or(|p| p.is_unknown(field)),
            Fact::Key { arn, field } => self.key(arn).is_none_or(|k| k.is_unknown(field)),
            Fact::Instance { id, field } => self.instance(id).is_none_or(|i| i.is_unknown(field)),
        }
    }
}

fn org_policies<'a>(
    by_account: &'a std::collections::BTreeMap<String, Vec<Vec<Value>>>,
    unknown: &[String],
    kind: &str,
    account: &str,
) -> OrgPolicies<'a> {
    let listed_unknown = unknown.iter().any(|u| u.split_once(':').is_some_and(|(k, a)| k == kind && a == account));
    match by_account.get(account) {
        _ if listed_unknown => OrgPolicies::Unknown,
        Some(levels) => OrgPolicies::Levels(levels),
        None => OrgPolicies::NotInOrganization,
    }
}
