//! What a manifest must hold before `custody verify` uses it, checked field by field so that a
//! refusal names the JSON path and what was expected there (serde's own errors name neither).
//!
//! Besides the shape: the format, the hashes (only those custody computes, in lowercase hex), file
//! names beside the manifest, a snapshot id (`crate::ids`), and sizes that agree with each other and
//! with the EBS limits (at most 64 TiB, EBS User Guide, "Amazon EBS volume constraints",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html>). A manifest that fails
//! here cannot be compared with anything: `verify` exits 2, never "does not match".

use super::FORMAT;
use crate::fetch::MAX_VOLUME_SIZE_GIB;
use custody_cloud::ebs::{BLOCK_SIZE, GIB};
use serde_json::Value;

/// Where (a JSON pointer) and what was expected.
pub(super) type Refusal = (String, String);

#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// A string, `null`, or absent.
    OptionalText,
    Count,
    List,
    Object,
}

impl Kind {
    fn fits(self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Kind::OptionalText, None | Some(Value::Null)) => true,
            (Kind::Text | Kind::OptionalText, Some(v)) => v.is_string(),
            (Kind::Count, Some(v)) => v.is_u64(),
            (Kind::List, Some(v)) => v.is_array(),
            (Kind::Object, Some(v)) => v.is_object(),
            (_, None) => false,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "expected a string",
            Kind::OptionalText => "expected a string or null",
            Kind::Count => "expected a whole number, 0 or more",
            Kind::List => "expected a list",
            Kind::Object => "expected an object",
        }
    }
}

fn refuse(at: &str, expected: impl Into<String>) -> Refusal {
    (at.to_string(), expected.into())
}

/// The fields of the object at `at` (in `root`) against their kinds.
fn fields(root: &Value, at: &str, wanted: &[(&str, Kind)]) -> Result<(), Refusal> {
    if !root.pointer(at).is_some_and(Value::is_object) && !at.is_empty() {
        return Err(refuse(at, Kind::Object.expected()));
    }
    for (name, kind) in wanted {
        let ptr = format!("{at}/{name}");
        if !kind.fits(root.pointer(&ptr)) {
            return Err(refuse(&ptr, kind.expected()));
        }
    }
    Ok(())
}

fn count(root: &Value, ptr: &str) -> u64 {
    root.pointer(ptr).and_then(Value::as_u64).unwrap_or_default()
}

/// Checks `root` as a manifest; the first problem found, in document order.
pub(super) fn manifest(root: &Value) -> Result<(), Refusal> {
    use Kind::*;
    if !root.is_object() {
        return Err(refuse("", "expected a JSON object (a custody image manifest)"));
    }
    if root.pointer("/format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(refuse("/format", format!("expected `{FORMAT}`")));
    }
    fields(
        root,
        "",
        &[
            ("custody_version", Text),
            ("created_at", Text),
            ("case_id", OptionalText),
            ("examiner", OptionalText),
            ("source", Object),
            ("aws_calls", List),
            ("imaging", Object),
            ("image", Object),
        ],
    )?;
    let optional = [("account", OptionalText), ("instance_id", OptionalText), ("volume_id", OptionalText)];
    fields(root, "/source", &[("snapshot_id", Text), ("region", Text)])?;
    fields(root, "/source", &optional)?;
    fields(root, "/source", &[("kms_key_arn", OptionalText), ("acquisition_path", OptionalText)])?;
    if let Some(id) = root.pointer("/source/snapshot_id").and_then(Value::as_str) {
        crate::ids::snapshot_id(id).map_err(|e| refuse("/source/snapshot_id", e.to_string()))?;
    }
    let calls = root.pointer("/aws_calls").and_then(Value::as_array).map_or(0, Vec::len);
    for n in 0..calls {
        let at = format!("/aws_calls/{n}");
        let text = ["api", "step_id", "account", "region", "signer", "intended_at", "outcome"].map(|f| (f, Text));
        fields(root, &at, &text)?;
        fields(root, &at, &[("finished_at", OptionalText), ("request_id", OptionalText)])?;
    }
    fields(
        root,
        "/imaging",
        &[
            ("started_at", Text),
            ("finished_at", Text),
            ("workers", Count),
            ("list_request_ids", List),
            ("blocks_downloaded", Count),
            ("blocks_resumed", Count),
        ],
    )?;
    if usize::try_from(count(root, "/imaging/workers")).is_err() {
        return Err(refuse("/imaging/workers", "expected a number of workers"));
    }
    let ids = root.pointer("/imaging/list_request_ids").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if let Some(n) = ids.iter().position(|v| !v.is_string()) {
        return Err(refuse(&format!("/imaging/list_request_ids/{n}"), Text.expected()));
    }
    image(root)
}

fn image(root: &Value) -> Result<(), Refusal> {
    use Kind::*;
    fields(
        root,
        "/image",
        &[
            ("file", Text),
            ("size_bytes", Count),
            ("block_size", Count),
            ("volume_size_gib", Count),
            ("blocks_total", Count),
            ("blocks_with_data", Count),
            ("sparse_ranges", List),
            ("block_checksums", Object),
            ("hashes", Object),
        ],
    )?;
    fields(root, "/image/block_checksums", &[("file", Text), ("method", Text), ("sha256", Text)])?;
    for ptr in ["/image/file", "/image/block_checksums/file"] {
        match root.pointer(ptr).and_then(Value::as_str) {
            Some(name) if !name.is_empty() && !name.contains(['/', '\\', '\0']) && name != "." && name != ".." => {}
            _ => return Err(refuse(ptr, "expected a file name beside the manifest (no directory)")),
        }
    }
    // Only the hashes custody computes: one it does not know would be left unchecked.
    let hashes = root.pointer("/image/hashes").and_then(Value::as_object);
    if let Some(unknown) = hashes.and_then(|h| h.keys().find(|k| !["sha256", "md5", "sha1"].contains(&k.as_str()))) {
        let at = format!("/image/hashes/{}", unknown.replace('~', "~0").replace('/', "~1"));
        return Err(refuse(&at, "a hash custody does not compute; expected only sha256, md5 and sha1"));
    }
    for (ptr, len, required) in [
        ("/image/hashes/sha256", 64, true),
        ("/image/hashes/md5", 32, false),
        ("/image/hashes/sha1", 40, false),
        ("/image/block_checksums/sha256", 64, true),
    ] {
        match root.pointer(ptr) {
            None | Some(Value::Null) if !required => {}
            Some(Value::String(s)) if s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {}
            _ => return Err(refuse(ptr, format!("expected {len} lowercase hex digits"))),
        }
    }
    if count(root, "/image/block_size") != BLOCK_SIZE {
        return Err(refuse("/image/block_size", format!("expected {BLOCK_SIZE}")));
    }
    let gib = count(root, "/image/volume_size_gib");
    if !(1..=MAX_VOLUME_SIZE_GIB).contains(&gib) {
        return Err(refuse(
            "/image/volume_size_gib",
            format!("expected a size in GiB from 1 to {MAX_VOLUME_SIZE_GIB} (64 TiB, the largest EBS volume)"),
        ));
    }
    let size = count(root, "/image/size_bytes");
    if gib.checked_mul(GIB) != Some(size) {
        return Err(refuse("/image/size_bytes", format!("expected {gib} GiB in bytes (`/image/volume_size_gib`)")));
    }
    let blocks = size / BLOCK_SIZE;
    if count(root, "/image/blocks_total") != blocks {
        return Err(refuse("/image/blocks_total", format!("expected {blocks}, the blocks of {size} bytes")));
    }
    if count(root, "/image/blocks_with_data") > blocks {
        return Err(refuse("/image/blocks_with_data", format!("expected at most {blocks} (`/image/blocks_total`)")));
    }
    let ranges = root.pointer("/image/sparse_ranges").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for n in 0..ranges.len() {
        let at = format!("/image/sparse_ranges/{n}");
        fields(root, &at, &[("offset", Count), ("length", Count)])?;
        let end = count(root, &format!("{at}/offset")).checked_add(count(root, &format!("{at}/length")));
        if end.is_none_or(|end| end > size) {
            return Err(refuse(&at, format!("expected a range inside the image's {size} bytes")));
        }
    }
    Ok(())
}
