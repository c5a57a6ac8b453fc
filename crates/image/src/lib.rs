//! # custody-image: forensic disk images of EBS snapshots
//!
//! A snapshot is evidence as far as AWS is concerned; an examiner wants a disk image with hashes and
//! a record of how it was made. This crate reads a snapshot's blocks through the EBS direct APIs (no
//! helper instance, no volume attached to anything), checks each one, and writes a verified image.
//!
//! ## Pipeline
//!
//! 1. **List** ([`fetch::list_all`]): ListSnapshotBlocks, every page. The answer must agree with the
//!    API's contract — 512 KiB blocks, one volume size, indexes inside the volume, none twice — or it
//!    is refused: a wrong offset would silently produce a wrong image.
//! 2. **Read** ([`fetch::fetch_block`]): GetSnapshotBlock for each listed block, `workers` at a time,
//!    retried with capped exponential backoff on throttling and transient failures. Each block's
//!    SHA-256 must equal the checksum AWS returns; a mismatch is read again and, if it persists, the
//!    image fails. A block that did not check is never written. The writer computes that SHA-256 in
//!    the same pass as the image's (crate custody-sha256: the two SHA-256 states advance together
//!    over the same data), so a byte downloaded is hashed once, not twice.
//! 3. **Claim the disk space** (`space`): the blocks still to download get their space allocated
//!    (`fallocate`) before the first read, so an image that cannot fit is refused at once with the
//!    figures, and leaves nothing behind; the writes then skip the filesystem's per-page allocation.
//!    Holes stay holes; a listed block that is all zeros gives its space back.
//! 4. **Write and hash** ([`writer`]): one thread walks the volume in order, writing blocks into a
//!    `.partial` file created at full size (unlisted blocks are holes: zeros, never written) and
//!    feeding the whole-image hashes in order, zeros for holes from a static buffer. Blocks are read
//!    out of order but handed over in order, through a window of 2 × `workers` blocks, so the hash
//!    is computed without reading the image back.
//! 5. **Checkpoint** ([`checkpoint`]): after each sync of the image, the indexes and checksums of the
//!    blocks now on disk are appended. A killed run resumes: checkpointed blocks are read back (they
//!    are needed for the hash anyway), checked against their checksum, and not downloaded again.
//! 6. **Manifest** ([`manifest`]): JSON and text beside the image, then the `.partial` file is renamed
//!    into place — an image under its final name is always complete.
//! 7. **Verify** ([`verify`]): re-hash the image against its manifest and block checksum file, and
//!    optionally re-read the block checksums from AWS.
//!
//! Every file is created with mode 0600 and never opened through a symbolic link (`files`), and a
//! snapshot id must have the shape AWS gives it before it names a file ([`ids`]): the output
//! directory holds evidence, and may be shared.
//!
//! AWS is behind [`SnapshotBlocks`]; [`SdkSnapshotBlocks`] is the aws-sdk-ebs adapter. Once its
//! first ListSnapshotBlocks has shown where and how the SDK signs, it sends GetSnapshotBlock itself
//! (`direct`: a GET signed with `aws-sigv4`, no orchestrator per block — a quarter of imaging's CPU —
//! at AWS's time as measured from its answers, `skew`),
//! and hands each block over in the pieces it arrived in ([`BlockData`]), hashed and written without
//! a copy. Tests inject faults through the trait and run the adapter against moto.

pub mod checkpoint;
pub mod error;
pub mod fetch;
mod files;
pub mod hashes;
pub mod ids;
pub mod imaging;
pub mod manifest;
mod space;
pub mod verify;
pub mod writer;

/// How GetSnapshotBlock answers read directly are parsed (the AWS boundary's, `custody_cloud::ebs`).
pub use custody_cloud::ebs::answers;
pub use custody_cloud::ebs::{
    BlockData, BlockPage, FailureKind, FetchedBlock, ListedBlock, SdkSnapshotBlocks, SnapshotBlocks, SourceError,
    BLOCK_SIZE, GIB,
};
pub use error::ImageError;
pub use fetch::RetryPolicy;
pub use hashes::{ExtraHashes, ImageHashes};
pub use imaging::{image_snapshot, ImageOutcome, ImagePaths, ImageRequest, ManifestContext, NoProgress, Progress};
pub use manifest::{AwsCall, Manifest, ManifestError, Source};
