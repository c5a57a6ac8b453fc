//! The temporary key of path 8, looked for by its description and tags: a resumed run looks for the
//! key whose CreateKey answer was lost before it creates another, and cleanup looks the same way for
//! a key a killed run may have left.

use crate::wait::{self, WaitSettings};
use custody_cloud::{CloudError, Kms};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// [`lookup_temp_key`] again and again for a bounded time: ListKeys is eventually consistent, so a key
/// made a moment ago may not be listed yet, and creating it again on one look's word would make two.
pub(crate) async fn look_for_temp_key(
    kms: &dyn Kms,
    tags: &BTreeMap<String, String>,
    description: &str,
    settings: &WaitSettings,
    stop: &AtomicBool,
) -> Result<Option<String>, CloudError> {
    let unreadable = Mutex::new(None);
    let found = wait::look_again(settings, stop, || async {
        let looked = lookup_temp_key(kms, tags, description).await?;
        if let (Some(e), Ok(mut first)) = (looked.unreadable, unreadable.lock()) {
            first.get_or_insert(e);
        }
        Ok(looked.adopted)
    })
    .await?;
    // Nothing adopted, and a key with the description whose tags could not be read: it may be the one.
    match (found, unreadable.into_inner().ok().flatten()) {
        (None, Some(e)) => Err(e),
        (found, _) => Ok(found),
    }
}

/// One look for the temporary key: the key adopted, or the first error reading a candidate's tags.
struct Looked {
    adopted: Option<String>,
    unreadable: Option<CloudError>,
}

/// The enabled key whose description is `description` (it names the case and the volume), confirmed
/// by its tags when they can be read (the temporary key's policy lets the source role describe the
/// key, not list its tags). KMS CreateKey takes no idempotency token (KMS API Reference, CreateKey),
/// so a key whose CreateKey answer was lost can only be found this way. Keys the caller may not
/// describe are not custody's and are passed over. An error only when the keys cannot be listed.
async fn lookup_temp_key(
    kms: &dyn Kms,
    tags: &BTreeMap<String, String>,
    description: &str,
) -> Result<Looked, CloudError> {
    // The first key whose tags could not be read, and why: reported only when no key is adopted.
    let mut unreadable = None;
    for arn in kms.list_keys().await? {
        let Ok(meta) = kms.describe_key(&arn).await else { continue };
        if meta.state.as_deref() != Some("Enabled") || meta.description.as_deref() != Some(description) {
            continue;
        }
        // Adopted only when it carries every tag the run put on it, the run id among them: a key that only
        // looks alike (same description, another run or another tool) is never taken, and a key whose tags
        // cannot be read is not taken either (the key policy custody writes lets the role read them); the
        // look goes on past it, since a look-alike must not hide the key that is custody's.
        match kms.list_resource_tags(&arn).await {
            Ok(found) if tags.iter().all(|(k, v)| found.get(k) == Some(v)) => {
                return Ok(Looked { adopted: Some(meta.arn), unreadable: None })
            }
            Ok(_) => {}
            Err(e) => {
                unreadable.get_or_insert(e);
            }
        }
    }
    Ok(Looked { adopted: None, unreadable })
}
