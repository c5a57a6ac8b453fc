//! Snapshots of `custody image` and `custody verify` without AWS: `verify` of a manifest and its image
//! (a match, and a changed byte), and the refusals of both (bad arguments, bad manifests with their
//! JSON path, unknown cases).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};
use std::path::Path;

/// A manifest of a 1 GiB image with no data (a sparse file of zeros and an empty block checksum
/// file), edited by `edit`, written as `snap.manifest.json` in `dir`.
fn write_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    // A 1 GiB image with no data: a sparse file of zeros and an empty block checksum file.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sparse-1gib.manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    edit(&mut manifest);
    let path = dir.join("snap.manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// The image and block checksum files the manifest of [`write_manifest`] describes.
fn write_image(dir: &Path) {
    std::fs::File::create(dir.join("snap.raw")).unwrap().set_len(1 << 30).unwrap();
    std::fs::write(dir.join("snap.blocks"), b"").unwrap();
}

#[test]
fn verify_a_matching_image() {
    // (`verify --json` is left out: each verify hashes the whole 1 GiB image.)
    let sb = Sandbox::new();
    write_image(sb.path());
    let manifest = write_manifest(sb.path(), |_| {});
    snap!("verify-match", sb.run(&["verify", &manifest]));
}

#[test]
fn verify_a_changed_image() {
    let sb = Sandbox::new();
    write_image(sb.path());
    let manifest = write_manifest(sb.path(), |_| {});
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(sb.path().join("snap.raw")).unwrap();
        f.seek(std::io::SeekFrom::Start(700_000)).unwrap();
        f.write_all(b"x").unwrap();
    }
    snap!("verify-changed-byte", sb.run(&["verify", &manifest]));
}

#[test]
fn verify_refuses_manifests_it_cannot_use() {
    let sb = Sandbox::new();
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("err-verify-format", Box::new(|m| m["format"] = "other".into())),
        ("err-verify-hash-not-hex", Box::new(|m| m["image"]["hashes"]["sha256"] = "ABC".into())),
        ("err-verify-block-size", Box::new(|m| m["image"]["block_size"] = 512.into())),
        ("err-verify-file-is-a-path", Box::new(|m| m["image"]["file"] = "../etc/passwd".into())),
        (
            "err-verify-missing-region",
            Box::new(|m| {
                m["source"].as_object_mut().unwrap().remove("region");
            }),
        ),
        ("err-verify-unknown-hash", Box::new(|m| m["image"]["hashes"]["sha512"] = "ab".into())),
        ("err-verify-bad-snapshot-id", Box::new(|m| m["source"]["snapshot_id"] = "snap-../../x".into())),
        ("err-verify-missing-block-file", Box::new(|_| {})),
    ];
    for (name, edit) in cases {
        let manifest = write_manifest(sb.path(), edit);
        snap!(name, sb.run(&["verify", &manifest]));
    }
    let garbage = sb.write("garbage.json", "{not json");
    snap!("err-verify-not-json", sb.run(&["verify", &garbage]));
    snap!("err-verify-missing-file", sb.run(&["verify", "/nonexistent/snap.manifest.json"]));
    snap!("err-verify-device", sb.run(&["verify", "/dev/zero"]));
    snap!("err-verify-no-manifest", sb.run(&["verify"]));
}

#[test]
fn image_refuses_bad_arguments() {
    let sb = Sandbox::new();
    let missing = sb.file("missing");
    snap!("err-image-not-a-snapshot-id", sb.run(&["image", "vol-123", "--out", "."]));
    snap!("err-image-path-as-snapshot-id", sb.run(&["image", "../../x", "--out", "."]));
    snap!("err-image-nothing-to-image", sb.run(&["image", "--out", "."]));
    snap!("err-image-out-missing", sb.run(&["image", "snap-0123abcd", "--out", &missing]));
    snap!("err-image-no-out", sb.run(&["image", "snap-0123abcd"]));
    snap!("err-image-case-not-in-journal", sb.run(&["image", "snap-0123abcd", "--out", ".", "--case", "CASE-1"]));
    snap!("err-image-bad-case-id", sb.run(&["image", "--case", "IR.7", "--out", "."]));
    snap!("err-image-bad-workers", sb.run(&["image", "snap-0123abcd", "--out", ".", "--workers", "0"]));
    assert!(!Path::new(&missing).exists());
}

#[test]
fn image_of_simulated_case_evidence() {
    let sb = Sandbox::new();
    sb.simulated_journal();
    let out = sb.file("images");
    std::fs::create_dir(&out).unwrap();
    // A snapshot that is not evidence of the case.
    snap!("err-image-snapshot-not-evidence", sb.run(&["image", "snap-0123abcd", "--case", "IR-8", "--out", &out]));
}
