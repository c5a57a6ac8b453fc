//! `image_snapshot`: list, read with bounded concurrency, write in order, hash, manifest, rename.

use crate::checkpoint;
use crate::error::ImageError;
use crate::fetch::{fetch_block, list_all, read_again_after_mismatch, ArrivedBlock, Listing, RetryPolicy};
use crate::hashes::ExtraHashes;
use crate::manifest::{
    AwsCall, BlockChecksums, ByteRange, ImageFacts, Imaging, Manifest, Source, BLOCK_DIGEST_METHOD, FORMAT,
};
use crate::writer::{self, WriterInput, WriterStop};
use crate::{files, space};
use custody_cloud::ebs::{ListedBlock, SnapshotBlocks, BLOCK_SIZE};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to image and how.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    pub snapshot_id: String,
    pub out_dir: PathBuf,
    /// GetSnapshotBlock calls in flight at most.
    pub workers: usize,
    pub extra_hashes: ExtraHashes,
    pub retry: RetryPolicy,
    /// What the manifest says about the evidence (from the journal when the snapshot is in a case).
    pub context: ManifestContext,
}

/// The manifest's account of where the snapshot came from.
#[derive(Debug, Clone, Default)]
pub struct ManifestContext {
    pub custody_version: String,
    pub case_id: Option<String>,
    pub examiner: Option<String>,
    /// `snapshot_id` is overwritten with the request's.
    pub source: Source,
    pub aws_calls: Vec<AwsCall>,
}

/// Progress, for a bar. Called from the reading task; keep it cheap.
pub trait Progress: Send + Sync {
    /// The listing is known: blocks to read, and bytes they hold; blocks resumed from a checkpoint.
    fn started(&self, _blocks_to_read: u64, _resumed: u64) {}
    fn block_read(&self, _bytes: u64) {}
}

/// No progress reporting.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The files of one image, all in the output directory.
#[derive(Debug, Clone)]
pub struct ImagePaths {
    pub image: PathBuf,
    pub partial: PathBuf,
    pub checkpoint: PathBuf,
    pub blocks: PathBuf,
    pub manifest_json: PathBuf,
    pub manifest_text: PathBuf,
}

impl ImagePaths {
    pub fn new(out_dir: &Path, snapshot_id: &str) -> Self {
        ImagePaths {
            image: out_dir.join(format!("{snapshot_id}.raw")),
            partial: out_dir.join(format!("{snapshot_id}.raw.partial")),
            checkpoint: out_dir.join(format!("{snapshot_id}.raw.partial.checkpoint")),
            blocks: out_dir.join(format!("{snapshot_id}.blocks")),
            manifest_json: out_dir.join(format!("{snapshot_id}.manifest.json")),
            manifest_text: out_dir.join(format!("{snapshot_id}.manifest.txt")),
        }
    }
}

/// A finished image.
#[derive(Debug, Clone)]
pub struct ImageOutcome {
    pub paths: ImagePaths,
    pub manifest: Manifest,
}

pub(crate) fn utc_now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The unlisted runs of blocks, as byte ranges (`listed` ascending, inside the volume, as
/// [`list_all`] checks; the arithmetic saturates rather than wrap for anything else).
fn sparse_ranges(listed: &[u64], volume_blocks: u64) -> Vec<ByteRange> {
    let mut ranges = Vec::new();
    let mut position = 0u64;
    for &index in listed.iter().chain(std::iter::once(&volume_blocks)) {
        if index > position {
            ranges.push(ByteRange {
                offset: position.saturating_mul(BLOCK_SIZE),
                length: (index - position).saturating_mul(BLOCK_SIZE),
            });
        }
        position = index.saturating_add(1);
    }
    ranges
}

/// Images one snapshot into `request.out_dir`: `<snapshot>.raw` (sparse), `<snapshot>.blocks` and the
/// manifest (`.manifest.json`, `.manifest.txt`). A partial image and its checkpoint from a killed run
/// are resumed. On failure the partial image and checkpoint are kept for the next run.
pub async fn image_snapshot(
    source: Arc<dyn SnapshotBlocks>,
    request: &ImageRequest,
    progress: Arc<dyn Progress>,
) -> Result<ImageOutcome, ImageError> {
    let started_at = utc_now();
    // The id names the files: one that is not a snapshot id could name a file outside `out_dir`.
    let snapshot_id = crate::ids::snapshot_id(&request.snapshot_id)?.to_string();
    let paths = ImagePaths::new(&request.out_dir, &snapshot_id);
    for existing in [&paths.image, &paths.manifest_json] {
        // A link counts as there, even one pointing nowhere: custody neither follows nor replaces it.
        if files::is_present(existing) {
            return Err(ImageError::Exists { path: existing.clone() });
        }
    }
    let listing = list_all(source.as_ref(), &snapshot_id, &request.retry).await?;
    let output = open_output(&paths, &snapshot_id, &listing)?;
    progress.started(output.to_read.len() as u64, output.resumed.len() as u64);
    let resumed_count = output.resumed.len() as u64;
    let listed = output.listed.clone();
    let workers = request.workers.max(1);
    let to_read = output.to_read.clone();
    let (sender, writer_task) = start_writer(output, source.clone(), &snapshot_id, request, workers);
    let read_error = read_blocks(source, &snapshot_id, &to_read, request.retry, workers, sender, progress).await;
    let written = match writer_task.await {
        Ok(Ok(output)) => output,
        Ok(Err(WriterStop::Failed(e))) => return Err(e),
        Ok(Err(WriterStop::Incomplete { written })) => {
            return Err(read_error.unwrap_or(ImageError::Stopped { written }));
        }
        Err(e) => return Err(ImageError::Inconsistent(format!("internal: the image writer stopped: {e}"))),
    };
    if let Some(e) = read_error {
        return Err(e);
    }
    let imaging = Imaging {
        started_at,
        finished_at: utc_now(),
        workers,
        list_request_ids: listing.request_ids.clone(),
        blocks_downloaded: written.written,
        blocks_resumed: resumed_count,
    };
    let manifest = manifest_of(request, &snapshot_id, &paths, &listing, &listed, imaging, &written);
    files::write_output(&paths.blocks, written.block_lines.as_bytes())?;
    files::write_output(&paths.manifest_json, manifest.to_json().as_bytes())?;
    files::write_output(&paths.manifest_text, manifest.to_text().as_bytes())?;
    // The image gets its final name last: an image under that name is always complete. (A link
    // planted there since the check above is replaced, not followed: rename(2) acts on the name.)
    std::fs::rename(&paths.partial, &paths.image).map_err(ImageError::io(&paths.image))?;
    std::fs::remove_file(&paths.checkpoint).map_err(ImageError::io(&paths.checkpoint))?;
    Ok(ImageOutcome { paths, manifest })
}

/// The partial image and its checkpoint, open for writing, with what is left to read.
struct OpenOutput {
    partial_path: PathBuf,
    file: std::fs::File,
    checkpoint: checkpoint::CheckpointWriter,
    volume_blocks: u64,
    /// The indexes of the listed blocks, ascending.
    listed: Vec<u64>,
    /// The blocks a killed run already wrote, with their SHA-256.
    resumed: BTreeMap<u64, [u8; 32]>,
    /// The blocks still to read, in index order (so a block is found again by binary search).
    to_read: Arc<[ListedBlock]>,
    claim: space::Claim,
}

/// Opens (or, with its checkpoint, resumes) the partial image, sized to the volume, and claims the
/// disk space of the blocks still to read.
fn open_output(paths: &ImagePaths, snapshot_id: &str, listing: &Listing) -> Result<OpenOutput, ImageError> {
    let header = checkpoint::header(snapshot_id, listing.volume_size_gib);
    // Resume only when both the partial image and its checkpoint are there.
    let loaded = match files::is_present(&paths.partial) {
        true => checkpoint::load(&paths.checkpoint, &header)?,
        false => None,
    };
    let file = files::open_output(&paths.partial, true, loaded.is_none())?;
    file.set_len(listing.volume_bytes()).map_err(ImageError::io(&paths.partial))?;
    let (resumed, resume_at) = match loaded {
        Some(l) => (l.done, Some(l.valid_len)),
        None => (BTreeMap::new(), None),
    };
    let checkpoint = checkpoint::CheckpointWriter::open(&paths.checkpoint, &header, resume_at)?;
    let listed: Vec<u64> = listing.blocks.iter().map(|b| b.index as u64).collect();
    let resumed: BTreeMap<u64, [u8; 32]> =
        resumed.into_iter().filter(|(index, _)| listed.binary_search(index).is_ok()).collect();
    let to_read: Arc<[ListedBlock]> =
        listing.blocks.iter().filter(|b| !resumed.contains_key(&(b.index as u64))).cloned().collect();
    let claim = match space::claim(&file, &paths.partial, &space::byte_runs(to_read.iter().map(|b| b.index as u64))) {
        Ok(claim) => claim,
        Err(e) => {
            // A first run that cannot fit leaves nothing behind; a resumed one keeps what it has.
            if resume_at.is_none() {
                drop((file, checkpoint));
                let _ = std::fs::remove_file(&paths.partial);
                let _ = std::fs::remove_file(&paths.checkpoint);
            }
            return Err(e);
        }
    };
    let volume_blocks = listing.volume_blocks();
    Ok(OpenOutput {
        partial_path: paths.partial.clone(),
        file,
        checkpoint,
        volume_blocks,
        listed,
        resumed,
        to_read,
        claim,
    })
}

type WriterTask = tokio::task::JoinHandle<Result<writer::WriterOutput, WriterStop>>;

/// Starts the writer on a blocking thread: it takes the blocks in index order from the channel
/// returned, and reads a block again through `source` when its checksum does not match.
fn start_writer(
    output: OpenOutput,
    source: Arc<dyn SnapshotBlocks>,
    snapshot_id: &str,
    request: &ImageRequest,
    workers: usize,
) -> (tokio::sync::mpsc::Sender<ArrivedBlock>, WriterTask) {
    let (sender, receiver) = tokio::sync::mpsc::channel::<ArrivedBlock>(workers.min(32));
    let read_again: writer::ReadAgain = {
        // The writer runs on a blocking thread, where waiting on the runtime is allowed.
        let (runtime, snapshot_id, policy, to_read) =
            (tokio::runtime::Handle::current(), snapshot_id.to_string(), request.retry, output.to_read.clone());
        Box::new(move |index, expected, actual| {
            let found = to_read.binary_search_by_key(&index, |b| b.index as u64).ok();
            let block = found.map(|at| &to_read[at]).ok_or_else(|| {
                ImageError::Inconsistent(format!("internal: block {index} is read again but was not to be read"))
            })?;
            runtime.block_on(read_again_after_mismatch(source.as_ref(), &snapshot_id, block, &policy, expected, actual))
        })
    };
    let input = WriterInput {
        partial_path: output.partial_path,
        file: output.file,
        checkpoint: output.checkpoint,
        volume_blocks: output.volume_blocks,
        listed: output.listed,
        resumed: output.resumed,
        extra: request.extra_hashes,
        claim: output.claim,
        blocks: receiver,
        read_again,
    };
    (sender, tokio::task::spawn_blocking(move || writer::run(input)))
}

/// Reads `to_read` and hands the blocks to the writer in index order: reads are started in index
/// order, at most `workers` calls in flight and at most 2 × `workers` blocks held in memory. A slow
/// block holds the window back rather than letting memory grow without bound. Returns the error
/// that stopped the reading, if one did; the writer's own error is the caller's to read.
async fn read_blocks(
    source: Arc<dyn SnapshotBlocks>,
    snapshot_id: &str,
    to_read: &[ListedBlock],
    policy: RetryPolicy,
    workers: usize,
    sender: tokio::sync::mpsc::Sender<ArrivedBlock>,
    progress: Arc<dyn Progress>,
) -> Option<ImageError> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(workers));
    let mut window = VecDeque::new();
    let mut pending = to_read.iter().cloned();
    let mut read_error = None;
    loop {
        while window.len() < workers * 2 {
            let Some(block) = pending.next() else { break };
            let (source, semaphore, snapshot_id) = (source.clone(), semaphore.clone(), snapshot_id.to_string());
            window.push_back(tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.ok();
                fetch_block(source.as_ref(), &snapshot_id, &block, &policy).await
            }));
        }
        let Some(task) = window.pop_front() else { break };
        let result = match task.await {
            Ok(result) => result,
            Err(e) => Err(ImageError::Inconsistent(format!("internal: a block reader stopped: {e}"))),
        };
        match result {
            Ok(block) => {
                let bytes = block.data.len() as u64;
                if sender.send(block).await.is_err() {
                    break; // the writer stopped; its error is reported by the caller
                }
                progress.block_read(bytes);
            }
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    for task in &window {
        task.abort();
    }
    read_error
}

/// The manifest of a finished image.
fn manifest_of(
    request: &ImageRequest,
    snapshot_id: &str,
    paths: &ImagePaths,
    listing: &Listing,
    listed: &[u64],
    imaging: Imaging,
    written: &writer::WriterOutput,
) -> Manifest {
    let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let context = &request.context;
    let volume_blocks = listing.volume_blocks();
    Manifest {
        format: FORMAT.to_string(),
        custody_version: context.custody_version.clone(),
        created_at: utc_now(),
        case_id: context.case_id.clone(),
        examiner: context.examiner.clone(),
        source: Source { snapshot_id: snapshot_id.to_string(), ..context.source.clone() },
        aws_calls: context.aws_calls.clone(),
        imaging,
        image: ImageFacts {
            file: file_name(&paths.image),
            size_bytes: listing.volume_bytes(),
            block_size: BLOCK_SIZE,
            volume_size_gib: listing.volume_size_gib,
            blocks_total: volume_blocks,
            blocks_with_data: listed.len() as u64,
            sparse_ranges: sparse_ranges(listed, volume_blocks),
            block_checksums: BlockChecksums {
                file: file_name(&paths.blocks),
                method: BLOCK_DIGEST_METHOD.to_string(),
                sha256: hex::encode(Sha256::digest(written.block_lines.as_bytes())),
            },
            hashes: written.hashes.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_ranges_are_the_unlisted_runs() {
        let b = BLOCK_SIZE;
        assert_eq!(sparse_ranges(&[], 4), vec![ByteRange { offset: 0, length: 4 * b }]);
        assert_eq!(sparse_ranges(&[0, 1, 2, 3], 4), vec![]);
        assert_eq!(
            sparse_ranges(&[1, 2], 5),
            vec![ByteRange { offset: 0, length: b }, ByteRange { offset: 3 * b, length: 2 * b }]
        );
    }
}
