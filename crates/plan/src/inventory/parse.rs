//! Loading an inventory, in three passes: the JSON text; the document as a JSON value, object by
//! object (only known fields, the right types and formats, every policy through the engine's parser
//! and every grant through its grant parser); then the cross-references (duplicates, the key of each
//! encrypted volume, the forensic keys). Every error names the JSON path of what is wrong.

use super::arn::{self, Identity, KeyArn};
use super::{InstanceField, Inventory, KeyField, PrincipalField, INVENTORY_VERSION};
use custody_policy::case::parse_grant_value;
use custody_policy::error::JsonPath;
use custody_policy::{parse_policy, ParseError, PolicyKind};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

mod buckets;
mod references;

pub use buckets::is_bucket_name;

type Result<T> = std::result::Result<T, ParseError>;

const TOP_FIELDS: &[&str] = &[
    "version",
    "description",
    "config",
    "principals",
    "keys",
    "instances",
    "scps",
    "rcps",
    "ebs_encryption_by_default",
    "buckets",
    "unknown",
];
const EBS_DEFAULT_FIELDS: &[&str] = &["account", "region", "enabled", "kms_key_arn"];
const CONFIG_FIELDS: &[&str] = &[
    "forensic_account",
    "forensic_region",
    "forensic_role_arn",
    "source_role_arns",
    "forensic_key_arns",
    "alias_prefix",
    "ssm_tag",
];
const PRINCIPAL_FIELDS: &[&str] =
    &["arn", "identity_policies", "permissions_boundary", "trust_policy", "tags", "unknown"];
const KEY_FIELDS: &[&str] = &["arn", "manager", "aliases", "policy", "grants", "unknown", "state"];
const GRANT_FIELDS: &[&str] =
    &["grant_id", "grantee_principal", "operations", "constraints", "retiring_principal", "issuing_account"];
const CONSTRAINT_FIELDS: &[&str] = &["encryption_context_subset", "encryption_context_equals"];
const INSTANCE_FIELDS: &[&str] =
    &["id", "account", "region", "platform", "state", "tags", "volumes", "instance_profile_role_arn", "unknown"];
const VOLUME_FIELDS: &[&str] = &["id", "size_gib", "encrypted", "kms_key_arn", "device"];

/// KMS key states (KMS API Reference, "KeyMetadata",
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html>).
const KEY_STATES: &[&str] = &[
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
];

/// EC2 instance states (EC2 API Reference, "InstanceState",
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceState.html>).
const INSTANCE_STATES: &[&str] = &["pending", "running", "shutting-down", "terminated", "stopping", "stopped"];

/// The largest EBS volume, 64 TiB (EBS User Guide, "Amazon EBS volume types",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-volume-types.html>).
const MAX_VOLUME_GIB: u64 = 65_536;

/// The most instances one inventory lists. An inventory describes the instances of one acquisition
/// (or triage) and what bears on their permissions; each listed instance is looked up and may be
/// planned and preflighted, so the limit keeps a wrong file (a whole estate, a generated one) from
/// taking minutes or gigabytes before it is refused.
pub const MAX_INSTANCES: usize = 1_000;

/// The most EBS volumes one instance lists: the largest number of EBS volumes any instance type can
/// have attached is 128 (EC2 User Guide, "Amazon EBS volume limits for Amazon EC2 instances",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/volume_limits.html>).
pub const MAX_VOLUMES_PER_INSTANCE: usize = 128;

/// The most statements one policy document has. No policy AWS stores can have more: the largest
/// document is a key policy of 32 KB (KMS Developer Guide, "Quotas",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html>; IAM policies are
/// smaller still, "IAM and AWS STS quotas",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>), and the shortest
/// statement, `{"Effect":"Allow","Action":"*","Resource":"*"}`, takes 45 characters.
pub const MAX_STATEMENTS: usize = 1_000;

const ACCOUNT: &str = "a 12-digit account id";
const REGION: &str = "a Region name such as `eu-west-1`";
const KEY_ARN: &str = "a KMS key ARN `arn:aws:kms:<region>:<account>:key/<key-id>`";

pub(super) fn parse(text: &str) -> Result<Inventory> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError {
        path: format!("line {} column {}", e.line(), e.column()),
        expected: "valid JSON: an inventory document (docs/inventory-format.md)".into(),
        found: Some(e.to_string()),
    })?;
    check_document(&value)?;
    // Everything serde could refuse has been checked above, with paths; this is a safety net.
    let inventory: Inventory = serde_json::from_value(value).map_err(|e| ParseError {
        path: JsonPath::default().to_string(),
        expected: "an inventory document (docs/inventory-format.md)".into(),
        found: Some(e.to_string()),
    })?;
    references::check(&inventory)?;
    Ok(inventory)
}

/// One JSON object of the document, its fields checked against those the format defines.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: JsonPath,
}

fn names(fields: &[&str]) -> String {
    fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
}

/// `value` as a string satisfying `ok`, or an error saying `expected`.
fn string_that<'a>(value: &'a Value, path: &JsonPath, expected: &str, ok: impl Fn(&str) -> bool) -> Result<&'a str> {
    match value.as_str() {
        Some(s) if ok(s) => Ok(s),
        _ => Err(ParseError::new(path, expected, Some(value))),
    }
}

fn any(_: &str) -> bool {
    true
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, path: &JsonPath, what: &str, fields: &[&str]) -> Result<Obj<'a>> {
        let map =
            value.as_object().ok_or_else(|| ParseError::new(path, format!("{what} (a JSON object)"), Some(value)))?;
        if let Some(name) = map.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(ParseError {
                path: path.key(name).to_string(),
                expected: format!("a field of {what}: {}", names(fields)),
                found: Some("an unknown field".into()),
            });
        }
        Ok(Obj { map, path: path.clone() })
    }

    fn at(&self, name: &str) -> JsonPath {
        self.path.key(name)
    }

    /// A required field (`null` is then refused by the type check that follows).
    fn required(&self, name: &str, expected: &str) -> Result<&'a Value> {
        self.map.get(name).ok_or_else(|| ParseError::missing(&self.at(name), expected))
    }

    /// An optional field whose absence may also be written `null`.
    fn nullable(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn required_str(&self, name: &str, expected: &str, ok: impl Fn(&str) -> bool) -> Result<&'a str> {
        string_that(self.required(name, expected)?, &self.at(name), expected, ok)
    }

    /// An optional string that may be `null`.
    fn nullable_str(&self, name: &str, expected: &str, ok: impl Fn(&str) -> bool) -> Result<Option<&'a str>> {
        self.nullable(name).map(|v| string_that(v, &self.at(name), expected, ok)).transpose()
    }

    /// An optional string with a default: absent is fine, `null` is not.
    fn defaulted_str(&self, name: &str, expected: &str, ok: impl Fn(&str) -> bool) -> Result<Option<&'a str>> {
        self.map.get(name).map(|v| string_that(v, &self.at(name), expected, ok)).transpose()
    }

    /// An array field; absent means empty.
    fn list(&self, name: &str, expected: &str) -> Result<&'a [Value]> {
        match self.map.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(v) => Err(ParseError::new(&self.at(name), expected, Some(v))),
        }
    }

    /// An object field; absent means empty.
    fn object(&self, name: &str, expected: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(v) => Err(ParseError::new(&self.at(name), expected, Some(v))),
        }
    }

    /// An object of strings (tags).
    fn string_map(&self, name: &str) -> Result<()> {
        for (k, v) in self.object(name, "an object of tag keys and their string values")?.into_iter().flatten() {
            string_that(v, &self.at(name).key(k), "the tag's value, a string", any)?;
        }
        Ok(())
    }

    /// The `unknown` array: each entry one of `allowed`, and none of `given` (fields that hold a value).
    fn unknown(&self, allowed: &[&str], given: &[&str]) -> Result<Vec<&'a str>> {
        let path = self.at("unknown");
        let items = self.list("unknown", "an array of the names of fields that could not be read")?;
        let expected = format!("the name of a field that could not be read: one of {}", names(allowed));
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let name = string_that(item, &path.index(i), &expected, |s| allowed.contains(&s))?;
            if given.contains(&name) {
                let expected = format!("only fields that could not be read, but `{name}` is given here");
                return Err(ParseError::new(&path.index(i), expected, Some(item)));
            }
            out.push(name);
        }
        Ok(out)
    }
}

fn policies(obj: &Obj<'_>, name: &str, kind: PolicyKind) -> Result<()> {
    let items = obj.list(name, "an array of policy documents")?;
    items.iter().enumerate().try_for_each(|(i, p)| policy(p, kind, &obj.at(name).index(i)))
}

/// One policy document: the engine's parser, then the statement count ([`MAX_STATEMENTS`]).
fn policy(value: &Value, kind: PolicyKind, path: &JsonPath) -> Result<()> {
    let parsed = parse_policy(value, kind, path)?;
    if parsed.statements.len() > MAX_STATEMENTS {
        return Err(ParseError {
            path: path.key("Statement").to_string(),
            expected: format!(
                "at most {MAX_STATEMENTS} statements (no policy AWS accepts has more: a key policy, the largest, \
                 is at most 32 KB)"
            ),
            found: Some(format!("{} statements", parsed.statements.len())),
        });
    }
    Ok(())
}

/// The array `name` of `obj`, refused when it has more than `max` items (`what` names them).
fn bounded_list<'a>(obj: &Obj<'a>, name: &str, expected: &str, max: usize, why: &str) -> Result<&'a [Value]> {
    let items = obj.list(name, expected)?;
    if items.len() > max {
        return Err(ParseError {
            path: obj.at(name).to_string(),
            expected: format!("at most {max} items ({why})"),
            found: Some(format!("{} items", items.len())),
        });
    }
    Ok(items)
}

fn check_document(value: &Value) -> Result<()> {
    let top = JsonPath::default();
    let obj = Obj::new(value, &top, "an inventory document", TOP_FIELDS)?;
    let version = format!("`{INVENTORY_VERSION}`, the version of the inventory format (docs/inventory-format.md)");
    obj.required_str("version", &version, |v| v == INVENTORY_VERSION)?;
    obj.nullable_str("description", "a string", any)?;
    let config = obj.required("config", "custody's configuration: an object with `forensic_account`, …")?;
    check_config(config, &obj.at("config"))?;
    for (i, p) in obj.list("principals", "an array of principals")?.iter().enumerate() {
        check_principal(p, &obj.at("principals").index(i))?;
    }
    for (i, k) in obj.list("keys", "an array of KMS keys")?.iter().enumerate() {
        check_key(k, &obj.at("keys").index(i))?;
    }
    let why = "an inventory lists the instances of one acquisition; split a larger one";
    for (i, inst) in
        bounded_list(&obj, "instances", "an array of EC2 instances", MAX_INSTANCES, why)?.iter().enumerate()
    {
        check_instance(inst, &obj.at("instances").index(i))?;
    }
    check_org_policies(&obj, "scps", PolicyKind::Scp)?;
    check_org_policies(&obj, "rcps", PolicyKind::Rcp)?;
    let expected = "an array of EBS encryption-by-default settings, one per account and Region";
    for (i, item) in obj.list("ebs_encryption_by_default", expected)?.iter().enumerate() {
        check_ebs_default(item, &obj.at("ebs_encryption_by_default").index(i))?;
    }
    buckets::check_buckets(&obj)?;
    let expected = "`scps:<account id>` or `rcps:<account id>`, the organization policies that could not be read, or \
                    `ebs_encryption_by_default:<account id>:<region>`";
    for (i, item) in obj.list("unknown", "an array of the facts that could not be read")?.iter().enumerate() {
        string_that(item, &obj.at("unknown").index(i), expected, |s| match s.split_once(':') {
            Some(("scps" | "rcps", a)) => arn::is_account_id(a),
            Some(("ebs_encryption_by_default", rest)) => {
                rest.split_once(':').is_some_and(|(a, r)| arn::is_account_id(a) && arn::is_region(r))
            }
            _ => false,
        })?;
    }
    Ok(())
}

fn check_ebs_default(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "an EBS encryption-by-default setting", EBS_DEFAULT_FIELDS)?;
    let account = obj.required_str("account", ACCOUNT, arn::is_account_id)?;
    let region = obj.required_str("region", REGION, arn::is_region)?;
    let expected = "true or false: whether EBS encryption by default is on (GetEbsEncryptionByDefault)";
    let enabled = obj.required("enabled", expected)?;
    let enabled = enabled.as_bool().ok_or_else(|| ParseError::new(&obj.at("enabled"), expected, Some(enabled)))?;
    let expected = format!(
        "the ARN of the default key for EBS encryption of account {account} in {region} \
         (`arn:aws:kms:{region}:{account}:key/<key-id>`, GetEbsDefaultKmsKeyId)"
    );
    let key = obj.nullable_str("kms_key_arn", &expected, |s| {
        KeyArn::parse(s).is_some_and(|k| k.region == region && k.account == account)
    })?;
    if enabled && key.is_none() {
        return Err(ParseError::new(&obj.at("kms_key_arn"), expected, None));
    }
    Ok(())
}

fn check_org_policies(obj: &Obj<'_>, name: &str, kind: PolicyKind) -> Result<()> {
    let what = if name == "scps" { "SCPs" } else { "RCPs" };
    let expected = format!("an object of {what} by account id");
    for (account, levels) in obj.object(name, &expected)?.into_iter().flatten() {
        let path = obj.at(name).key(account);
        if !arn::is_account_id(account) {
            let found = Value::String(account.clone());
            return Err(ParseError::new(&path, format!("{ACCOUNT} as the key"), Some(&found)));
        }
        let expected = "an array with one array of policies per level of the account's organization path, root first";
        let levels = levels.as_array().ok_or_else(|| ParseError::new(&path, expected, Some(levels)))?;
        for (l, level) in levels.iter().enumerate() {
            let lpath = path.index(l);
            let expected = "an array of the policies attached at this level";
            let items = level.as_array().ok_or_else(|| ParseError::new(&lpath, expected, Some(level)))?;
            for (i, p) in items.iter().enumerate() {
                policy(p, kind, &lpath.index(i))?;
            }
        }
    }
    Ok(())
}

fn check_config(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "custody's configuration", CONFIG_FIELDS)?;
    let account = obj.required_str("forensic_account", ACCOUNT, arn::is_account_id)?;
    obj.required_str("forensic_region", REGION, arn::is_region)?;
    let role_in = |acct: &str| format!("the ARN of an IAM role in account {acct} (`arn:aws:iam::{acct}:role/<name>`)");
    obj.required_str("forensic_role_arn", &role_in(account), |s| role_in_account(s, account))?;
    let expected = "an object of role ARNs by source account id";
    for (acct, role) in obj.object("source_role_arns", expected)?.into_iter().flatten() {
        let p = obj.at("source_role_arns").key(acct);
        if !arn::is_account_id(acct) {
            return Err(ParseError::new(&p, format!("{ACCOUNT} as the key"), Some(&Value::String(acct.clone()))));
        }
        string_that(role, &p, &role_in(acct), |s| role_in_account(s, acct))?;
    }
    let expected = "an object of key ARNs by Region";
    for (region, key) in obj.object("forensic_key_arns", expected)?.into_iter().flatten() {
        let p = obj.at("forensic_key_arns").key(region);
        if !arn::is_region(region) {
            return Err(ParseError::new(&p, format!("{REGION} as the key"), Some(&Value::String(region.clone()))));
        }
        let expected = format!(
            "the ARN of a key of the forensic account in {region} (`arn:aws:kms:{region}:{account}:key/<key-id>`)"
        );
        string_that(key, &p, &expected, |s| {
            KeyArn::parse(s).is_some_and(|k| k.region == region && k.account == account)
        })?;
    }
    // Alias names: KMS Developer Guide, "CreateAlias" (`alias/aws/` is reserved for AWS managed keys),
    // <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>.
    let expected = "an alias prefix of letters, digits, `/`, `_` and `-`, not starting with `aws/` (reserved by AWS)";
    obj.defaulted_str("alias_prefix", expected, |s| {
        !s.starts_with("aws/") && s.len() <= 200 && arn::is_alias_name(&format!("alias/{s}"))
    })?;
    if let Some(tag) = obj.nullable("ssm_tag") {
        let tobj = Obj::new(tag, &obj.at("ssm_tag"), "a tag", &["key", "value"])?;
        // Tag limits: "Tagging your Amazon EC2 resources", tag restrictions,
        // <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions>.
        let key_ok = |s: &str| !s.is_empty() && s.chars().count() <= 128 && !s.starts_with("aws:");
        tobj.required_str("key", "a tag key of 1 to 128 characters, not starting with `aws:`", key_ok)?;
        tobj.required_str("value", "a tag value of at most 256 characters", |s| s.chars().count() <= 256)?;
    }
    Ok(())
}

fn role_in_account(arn: &str, account: &str) -> bool {
    arn::is_role_arn(arn) && Identity::parse(arn).is_some_and(|i| i.account == account)
}

fn check_principal(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "a principal", PRINCIPAL_FIELDS)?;
    let expected = "the ARN of an IAM role or user (`arn:aws:iam::<account>:role/<name>`)";
    let arn = obj.required_str("arn", expected, |s| Identity::parse(s).is_some_and(|i| i.session.is_none()))?;
    policies(&obj, "identity_policies", PolicyKind::Identity)?;
    let mut given = Vec::new();
    if let Some(b) = obj.nullable("permissions_boundary") {
        policy(b, PolicyKind::Boundary, &obj.at("permissions_boundary"))?;
        given.push("permissions_boundary");
    }
    if let Some(t) = obj.nullable("trust_policy") {
        if !arn::is_role_arn(arn) {
            return Err(ParseError::new(&obj.at("trust_policy"), "nothing: only roles have a trust policy", Some(t)));
        }
        policy(t, PolicyKind::Resource, &obj.at("trust_policy"))?;
        given.push("trust_policy");
    }
    obj.string_map("tags")?;
    obj.unknown(PrincipalField::NAMES, &given)?;
    Ok(())
}

fn check_key(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "a KMS key", KEY_FIELDS)?;
    let key_arn = obj.required_str("arn", KEY_ARN, |s| KeyArn::parse(s).is_some())?;
    let account = KeyArn::parse(key_arn).map(|k| k.account);
    let expected = "`AWS` (an AWS managed key such as aws/ebs) or `CUSTOMER` (a customer managed key)";
    let aws = obj.required_str("manager", expected, |s| s == "AWS" || s == "CUSTOMER")? == "AWS";
    let expected = if aws {
        "an alias name `alias/aws/<service>` (AWS managed keys have only those)"
    } else {
        "an alias name `alias/<name>` not under `alias/aws/` (reserved for AWS managed keys)"
    };
    for (i, a) in obj.list("aliases", "an array of alias names")?.iter().enumerate() {
        string_that(a, &obj.at("aliases").index(i), expected, |s| {
            arn::is_alias_name(s) && arn::is_aws_alias(s) == aws
        })?;
    }
    let expected = format!("a key state, one of {}", names(KEY_STATES));
    obj.nullable_str("state", &expected, |s| KEY_STATES.contains(&s))?;
    let given: &[&str] = if obj.nullable("policy").is_some() { &["policy"] } else { &[] };
    let unknown = obj.unknown(KeyField::NAMES, given)?;
    match obj.nullable("policy") {
        Some(p) => {
            policy(p, PolicyKind::Resource, &obj.at("policy"))?;
        }
        None if unknown.contains(&"policy") => {}
        None => {
            let expected = "the key policy (every KMS key has one); list `policy` in `unknown` if it could not be read";
            return Err(ParseError::missing(&obj.at("policy"), expected));
        }
    }
    let mut ids = BTreeMap::new();
    for (i, g) in obj.list("grants", "an array of grants")?.iter().enumerate() {
        let gpath = obj.at("grants").index(i);
        let gobj = Obj::new(g, &gpath, "a grant", GRANT_FIELDS)?;
        if let Some(c) = gobj.nullable("constraints") {
            Obj::new(c, &gobj.at("constraints"), "grant constraints", CONSTRAINT_FIELDS)?;
        }
        let grant = parse_grant_value(g, &gpath, account)?;
        if let Some(id) = grant.grant_id {
            if let Some(first) = ids.insert(id, i) {
                let expected = format!("a grant id not used before (`grants[{first}]` has it)");
                return Err(ParseError::new(&gobj.at("grant_id"), expected, gobj.nullable("grant_id")));
            }
        }
    }
    Ok(())
}

fn check_instance(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "an EC2 instance", INSTANCE_FIELDS)?;
    obj.required_str("id", "an instance id: `i-` and 8 or 17 hex digits", arn::is_instance_id)?;
    let account = obj.required_str("account", ACCOUNT, arn::is_account_id)?;
    let region = obj.required_str("region", REGION, arn::is_region)?;
    buckets::check_instance_profile_role(&obj, account)?;
    obj.defaulted_str("platform", "`linux` or `windows`", |s| s == "linux" || s == "windows")?;
    let expected = format!("an instance state, one of {}", names(INSTANCE_STATES));
    obj.nullable_str("state", &expected, |s| INSTANCE_STATES.contains(&s))?;
    obj.string_map("tags")?;
    let expected = "an array of the instance's EBS volumes";
    let why = "no instance type can have more EBS volumes attached";
    for (i, v) in bounded_list(&obj, "volumes", expected, MAX_VOLUMES_PER_INSTANCE, why)?.iter().enumerate() {
        check_volume(v, &obj.at("volumes").index(i), region)?;
    }
    let given: &[&str] =
        if obj.nullable("instance_profile_role_arn").is_some() { &["instance_profile_role_arn"] } else { &[] };
    obj.unknown(InstanceField::NAMES, given)?;
    Ok(())
}

fn check_volume(value: &Value, path: &JsonPath, region: &str) -> Result<()> {
    let obj = Obj::new(value, path, "an EBS volume", VOLUME_FIELDS)?;
    obj.required_str("id", "a volume id: `vol-` and 8 or 17 hex digits", arn::is_volume_id)?;
    let expected = format!("the size in GiB, a whole number from 1 to {MAX_VOLUME_GIB}");
    let size = obj.required("size_gib", &expected)?;
    if !size.as_u64().is_some_and(|n| (1..=MAX_VOLUME_GIB).contains(&n)) {
        return Err(ParseError::new(&obj.at("size_gib"), expected, Some(size)));
    }
    let enc = obj.required("encrypted", "`true` or `false`")?;
    let encrypted =
        enc.as_bool().ok_or_else(|| ParseError::new(&obj.at("encrypted"), "`true` or `false`", Some(enc)))?;
    // An EBS volume is encrypted under a KMS key of its own Region (EBS User Guide, "Amazon EBS
    // encryption", <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html>; KMS keys
    // are regional: <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#kms_keys>).
    let expected = format!(
        "the ARN of the KMS key the volume is encrypted under, a key of its Region (`arn:aws:kms:{region}:<account>:key/<key-id>`)"
    );
    match (encrypted, obj.nullable("kms_key_arn")) {
        (true, None) => return Err(ParseError::missing(&obj.at("kms_key_arn"), expected)),
        (true, Some(k)) => {
            string_that(k, &obj.at("kms_key_arn"), &expected, |s| {
                KeyArn::parse(s).is_some_and(|ka| ka.region == region)
            })?;
        }
        (false, Some(k)) => {
            let expected = "no key: the volume is not encrypted (`encrypted` is false)";
            return Err(ParseError::new(&obj.at("kms_key_arn"), expected, Some(k)));
        }
        (false, None) => {}
    }
    obj.nullable_str("device", "a device name such as `/dev/xvda`", |s| !s.is_empty())?;
    Ok(())
}

/// An error about a string field already known to be well-formed.
fn refused(path: JsonPath, expected: String, found: &str) -> ParseError {
    ParseError::new(&path, expected, Some(&Value::String(found.to_string())))
}
