//! The third pass over an inventory: what no single object shows. Nothing is listed twice (a
//! principal, a key, an alias in its account and Region, an instance, a volume but a Multi-Attach
//! one), every key named is listed, and what the inventory gives is not also said to be unknown.

use super::{buckets, refused, Result};
use crate::inventory::arn::{Identity, KeyArn};
use crate::inventory::Inventory;
use custody_policy::error::JsonPath;
use std::collections::BTreeMap;

/// Index by key ARN of the inventory's keys.
type Keys<'a> = BTreeMap<&'a str, usize>;

/// Index by (account, Region) of the inventory's `ebs_encryption_by_default`.
type Defaults<'a> = BTreeMap<(&'a str, &'a str), usize>;

pub(super) fn check(inv: &Inventory) -> Result<()> {
    buckets::check_bucket_references(inv)?;
    let top = JsonPath::default();
    principals(inv, &top)?;
    let keys = keys(inv, &top)?;
    instances(inv, &top, &keys)?;
    forensic_keys(inv, &top)?;
    let defaults = encryption_defaults(inv, &top, &keys)?;
    unknown_facts(inv, &top, &defaults)
}

/// No role or user is listed twice.
fn principals(inv: &Inventory, top: &JsonPath) -> Result<()> {
    let mut principals = BTreeMap::new();
    for (j, p) in inv.principals.iter().enumerate() {
        let Some(id) = Identity::parse(&p.arn) else { continue };
        if let Some(i) = principals.insert((id.partition, id.account, id.kind, id.name), j) {
            let expected = format!("a principal not listed before (`principals[{i}]` names the same role or user)");
            return Err(refused(top.key("principals").index(j).key("arn"), expected, &p.arn));
        }
    }
    Ok(())
}

/// No key is listed twice, nor an alias in its account and Region.
fn keys<'a>(inv: &'a Inventory, top: &JsonPath) -> Result<Keys<'a>> {
    let mut keys = BTreeMap::new();
    let mut aliases = BTreeMap::new();
    for (j, k) in inv.keys.iter().enumerate() {
        let kpath = top.key("keys").index(j);
        if let Some(i) = keys.insert(k.arn.as_str(), j) {
            let expected = format!("a key not listed before (`keys[{i}]` has this ARN)");
            return Err(refused(kpath.key("arn"), expected, &k.arn));
        }
        let Some(ka) = KeyArn::parse(&k.arn) else { continue };
        for (a, alias) in k.aliases.iter().enumerate() {
            if let Some(i) = aliases.insert((ka.partition, ka.region, ka.account, alias.as_str()), j) {
                let expected = if i == j {
                    "an alias not listed twice".to_string()
                } else {
                    format!("an alias no other key of the account and Region has (`keys[{i}]` has it)")
                };
                return Err(refused(kpath.key("aliases").index(a), expected, alias));
            }
        }
    }
    Ok(keys)
}

/// No instance is listed twice, nor a volume (but a Multi-Attach one, identically), and every volume's
/// key is listed.
fn instances(inv: &Inventory, top: &JsonPath, keys: &Keys<'_>) -> Result<()> {
    let mut instances = BTreeMap::new();
    let mut volumes = BTreeMap::new();
    for (i, inst) in inv.instances.iter().enumerate() {
        let ipath = top.key("instances").index(i);
        if let Some(first) = instances.insert(inst.id.as_str(), i) {
            let expected = format!("an instance not listed before (`instances[{first}]` has this id)");
            return Err(refused(ipath.key("id"), expected, &inst.id));
        }
        for (j, vol) in inst.volumes.iter().enumerate() {
            let vpath = ipath.key("volumes").index(j);
            if let Some((fi, fj, first)) = volumes.insert(&vol.id, (i, j, vol)) {
                // A Multi-Attach volume is attached to several instances: the same volume, listed under each
                // (EBS User Guide, "Attach a volume to multiple instances with Amazon EBS Multi-Attach",
                // <https://docs.aws.amazon.com/ebs/latest/userguide/ebs-volumes-multi.html>).
                if fi == i || first != vol {
                    let multi =
                        if fi == i { "" } else { "; a Multi-Attach volume is listed identically under each instance" };
                    let expected =
                        format!("a volume not listed before (`instances[{fi}].volumes[{fj}]` has this id{multi})");
                    return Err(refused(vpath.key("id"), expected, &vol.id));
                }
            }
            if let Some(key) = vol.kms_key_arn.as_deref().filter(|k| !keys.contains_key(k)) {
                let expected = "the ARN of a key listed in `keys` (list it, with `unknown` for what could not be read)";
                return Err(refused(vpath.key("kms_key_arn"), expected.into(), key));
            }
        }
    }
    Ok(())
}

/// Every forensic key is a customer managed key the inventory lists.
fn forensic_keys(inv: &Inventory, top: &JsonPath) -> Result<()> {
    for (region, arn) in &inv.config.forensic_key_arns {
        if !inv.keys.iter().any(|k| k.arn == *arn && !k.is_aws_managed()) {
            let expected =
                "the ARN of a customer managed key listed in `keys` (evidence copies are encrypted under it)";
            return Err(refused(top.key("config").key("forensic_key_arns").key(region), expected.into(), arn));
        }
    }
    Ok(())
}

/// No account and Region has two encryption-by-default entries, and every key named is listed.
fn encryption_defaults<'a>(inv: &'a Inventory, top: &JsonPath, keys: &Keys<'_>) -> Result<Defaults<'a>> {
    let mut defaults = BTreeMap::new();
    for (i, d) in inv.ebs_encryption_by_default.iter().enumerate() {
        let dpath = top.key("ebs_encryption_by_default").index(i);
        if let Some(first) = defaults.insert((d.account.as_str(), d.region.as_str()), i) {
            let expected = format!(
                "an account and Region not listed before (`ebs_encryption_by_default[{first}]` is {} in {})",
                d.account, d.region
            );
            return Err(refused(dpath.key("region"), expected, &d.region));
        }
        if let Some(key) = d.kms_key_arn.as_deref().filter(|k| !keys.contains_key(k)) {
            let expected = "the ARN of a key listed in `keys` (list it, with `unknown` for what could not be read)";
            return Err(refused(dpath.key("kms_key_arn"), expected.into(), key));
        }
    }
    Ok(defaults)
}

/// Nothing the inventory gives is also listed as unknown.
fn unknown_facts(inv: &Inventory, top: &JsonPath, defaults: &Defaults<'_>) -> Result<()> {
    for (i, fact) in inv.unknown.iter().enumerate() {
        let listed = match fact.split_once(':') {
            Some(("scps", a)) => inv.scps.contains_key(a),
            Some(("rcps", a)) => inv.rcps.contains_key(a),
            Some(("ebs_encryption_by_default", rest)) => {
                rest.split_once(':').is_some_and(|(a, r)| defaults.contains_key(&(a, r)))
            }
            _ => false,
        };
        if listed {
            let expected = "only facts that could not be read, but the inventory gives this one".to_string();
            return Err(refused(top.key("unknown").index(i), expected, fact));
        }
    }
    Ok(())
}
