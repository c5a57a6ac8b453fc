//! Every bundled inventory (`examples/inventories/*.json`) loads, and says what it demonstrates.
//!
//! The table below is the path the planner should choose for each volume of each example (the rules
//! of issue 3: unencrypted → 1; same account and Region: aws/ebs → 2, customer key → 3; same account,
//! other Region → 4; cross-account customer key: a key-owner grant for the forensic role → 7, else a
//! key policy naming the forensic role → 6, else grant only → 5; cross-account aws/ebs → 8; direct
//! read → 9 only by `--mode direct-read`). Here it checks that each example holds exactly those
//! volumes, with the facts each rule reads; the planner's own tests can take the table over.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_plan::inventory::{parse_inventory, Inventory, KeyManager};
use custody_plan::plan::Path as P;
use std::path::{Path, PathBuf};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventories")
}

fn load(name: &str) -> Inventory {
    let path = examples_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_inventory(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (file, [(volume, path the planner should choose in auto mode)]). Path 9 is listed for
/// 9-direct-read.json as what `--mode direct-read` gives.
const EXPECTED: &[(&str, &[(&str, P)])] = &[
    ("1-unencrypted.json", &[("vol-01a1a1a1a1a1a1a10", P::Unencrypted), ("vol-01a1a1a1a1a1a1a11", P::Unencrypted)]),
    (
        "2-aws-managed-same-account.json",
        &[
            ("vol-02b2b2b2b2b2b2b20", P::AwsManagedSameAccount),
            ("vol-02b2b2b2b2b2b2b21", P::AwsManagedSameAccount),
            ("vol-02b2b2b2b2b2b2b22", P::Unencrypted),
        ],
    ),
    (
        "3-customer-key-same-account.json",
        &[
            ("vol-03c3c3c3c3c3c3c30", P::AwsManagedSameAccount),
            ("vol-03c3c3c3c3c3c3c31", P::CustomerKeySameAccount),
            ("vol-03c3c3c3c3c3c3c32", P::CustomerKeySameAccount),
        ],
    ),
    (
        "4-cross-region.json",
        &[
            ("vol-04d4d4d4d4d4d4d40", P::CrossRegion),
            ("vol-04d4d4d4d4d4d4d41", P::CrossRegion),
            ("vol-04d4d4d4d4d4d4d42", P::Unencrypted),
        ],
    ),
    (
        "4-cross-region-fixed.json",
        &[
            ("vol-04d4d4d4d4d4d4d40", P::CrossRegion),
            ("vol-04d4d4d4d4d4d4d41", P::CrossRegion),
            ("vol-04d4d4d4d4d4d4d42", P::Unencrypted),
        ],
    ),
    (
        "5-cross-account-grant-only.json",
        &[
            ("vol-05e5e5e5e5e5e5e50", P::CrossAccountGrantOnly),
            ("vol-05e5e5e5e5e5e5e51", P::CrossAccountGrantOnly),
            ("vol-05e5e5e5e5e5e5e52", P::Unencrypted),
        ],
    ),
    (
        "5-cross-account-no-key-access.json",
        &[
            ("vol-05e5e5e5e5e5e5e50", P::CrossAccountGrantOnly),
            ("vol-05e5e5e5e5e5e5e51", P::CrossAccountGrantOnly),
            ("vol-05e5e5e5e5e5e5e52", P::Unencrypted),
        ],
    ),
    (
        "6-cross-account-direct.json",
        &[("vol-06f6f6f6f6f6f6f60", P::CrossAccountDirect), ("vol-06f6f6f6f6f6f6f61", P::CrossAccountDirect)],
    ),
    (
        "7-cross-account-owner-grants.json",
        &[("vol-07a7a7a7a7a7a7a70", P::CrossAccountOwnerGrants), ("vol-07a7a7a7a7a7a7a71", P::CrossAccountOwnerGrants)],
    ),
    (
        "8-cross-account-aws-managed.json",
        &[
            ("vol-08b8b8b8b8b8b8b80", P::CrossAccountAwsManagedKey),
            ("vol-08b8b8b8b8b8b8b81", P::CrossAccountAwsManagedKey),
            ("vol-08b8b8b8b8b8b8b82", P::Unencrypted),
        ],
    ),
    ("9-direct-read.json", &[("vol-09c9c9c9c9c9c9c90", P::DirectRead), ("vol-09c9c9c9c9c9c9c91", P::DirectRead)]),
    ("triage.json", &[("vol-0e7e7e7e7e7e7e7e0", P::Unencrypted), ("vol-0e7e7e7e7e7e7e7e1", P::CrossAccountGrantOnly)]),
    (
        "service-linked-role.json",
        &[("vol-05d5d5d5d5d5d5d50", P::CrossAccountGrantOnly), ("vol-05d5d5d5d5d5d5d51", P::CrossAccountGrantOnly)],
    ),
];

#[test]
fn every_example_inventory_loads() {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap_or_else(|e| panic!("{}: {e}", examples_dir().display()))
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    names.retain(|n| n.ends_with(".json"));
    names.sort();
    assert!(names.len() >= 11, "expected at least 11 example inventories, found {}: {names:?}", names.len());
    for name in &names {
        let inv = load(name);
        let description = inv.description.as_deref().unwrap_or_default();
        assert!(description.len() > 80, "{name}: the description must say which path or seed it demonstrates");
        assert_eq!(inv.config.forensic_account, "999999999999", "{name}");
        assert_eq!(inv.config.forensic_region, "eu-west-1", "{name}");
        assert!(inv.principal(&inv.config.forensic_role_arn).is_some(), "{name}: the forensic role is listed");
        assert!(inv.forensic_key("eu-west-1").is_some(), "{name}: the forensic key is listed");
        for instance in &inv.instances {
            assert!((2..=3).contains(&instance.volumes.len()), "{name}: {} has 2-3 volumes", instance.id);
            let role = inv.source_role_arn(&instance.account);
            assert!(role.is_some_and(|r| inv.principal(r).is_some()), "{name}: the source role is listed");
        }
        assert!(EXPECTED.iter().any(|(file, _)| file == name), "{name}: add it to EXPECTED");
    }
}

#[test]
fn each_example_holds_the_facts_its_paths_depend_on() {
    for (name, volumes) in EXPECTED {
        let inv = load(name);
        let all: Vec<&str> = inv.instances.iter().flat_map(|i| i.volumes.iter().map(|v| v.id.as_str())).collect();
        assert_eq!(all, volumes.iter().map(|(v, _)| *v).collect::<Vec<_>>(), "{name}: volumes");
        for (vol_id, path) in *volumes {
            let (instance, volume) = inv.volume(vol_id).unwrap_or_else(|| panic!("{name}: {vol_id}"));
            let key = volume.kms_key_arn.as_deref().and_then(|k| inv.key(k));
            let same_account = instance.account == inv.config.forensic_account;
            let same_region = instance.region == inv.config.forensic_region;
            let managed = key.map(|k| k.manager);
            let facts = (volume.encrypted, same_account, same_region, managed);
            let ok = match path {
                P::Unencrypted => !volume.encrypted,
                P::AwsManagedSameAccount => facts == (true, true, true, Some(KeyManager::Aws)),
                P::CustomerKeySameAccount => facts == (true, true, true, Some(KeyManager::Customer)),
                P::CrossRegion => volume.encrypted && same_account && !same_region,
                P::CrossAccountAwsManagedKey => facts.0 && !same_account && managed == Some(KeyManager::Aws),
                P::CrossAccountGrantOnly
                | P::CrossAccountDirect
                | P::CrossAccountOwnerGrants
                | P::CrossAccountTempKey => facts.0 && !same_account && managed == Some(KeyManager::Customer),
                P::DirectRead => !same_account,
            };
            assert!(
                ok,
                "{name}: {vol_id} cannot take {path:?} with (encrypted, same account, same region, key) = {facts:?}"
            );
            // Path 7 needs a grant on the key for the forensic role, and no other cross-account path has one.
            let owner_grant = key.is_some_and(|k| {
                k.grants.iter().any(|g| g["grantee_principal"] == inv.config.forensic_role_arn.as_str())
            });
            assert_eq!(owner_grant, *path == P::CrossAccountOwnerGrants, "{name}: {vol_id} owner grant");
        }
    }
}

#[test]
fn the_cross_region_pair_differs_only_in_the_key_policy_region() {
    // The forensic key (eu-west-1): its policy, copied from the source Region, names only
    // ec2.eu-west-3 in kms:ViaService; the fixed one names the tool's Region too.
    let broken = load("4-cross-region.json");
    let fixed = load("4-cross-region-fixed.json");
    let key = "arn:aws:kms:eu-west-1:999999999999:key/f0e1d2c3-b4a5-4697-8899-aabbccddeeff";
    let policy = |inv: &Inventory| inv.key(key).and_then(|k| k.policy.clone()).map(|p| p.to_string());
    let (Some(b), Some(f)) = (policy(&broken), policy(&fixed)) else { panic!("both list the key with its policy") };
    assert!(!b.contains("ec2.eu-west-1.amazonaws.com") && f.contains("ec2.eu-west-1.amazonaws.com"));
    let strip = |inv: &Inventory| {
        let mut inv = inv.clone();
        inv.description = None;
        inv.keys.retain(|k| k.arn != key);
        inv
    };
    assert_eq!(strip(&broken), strip(&fixed));
}
