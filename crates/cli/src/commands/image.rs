//! `custody image` and `custody verify`: forensic disk images of snapshots through the EBS direct
//! APIs, and their verification (the work is in the `custody-image` crate; this is arguments and
//! output).
//!
//! `image` takes a snapshot id, or `--case` for every evidence item of a case. When the snapshot is
//! evidence in the journal, the manifest records its case, source and the AWS calls that produced it.
//! Exit status: 0 imaged, 1 an image failed (its partial file and checkpoint are kept: run the same
//! command again to resume), 2 bad input (nothing was read or written).
//!
//! `verify` exit status: 0 the image matches its manifest, 1 it does not (the first differing offset
//! is printed), 2 bad input (the manifest or a file it names cannot be used; nothing was changed).

mod context;

use crate::aws_options::AwsArgs;
use crate::data_dir::DataDirArgs;
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use context::Target;
use custody_cloud::error::error_chain;
use custody_image::verify::{self, Verdict};
use custody_image::{
    image_snapshot, ExtraHashes, ImageOutcome, ImageRequest, ManifestContext, Progress, RetryPolicy, SdkSnapshotBlocks,
    Source,
};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// How the EBS direct APIs are called (where and as whom: [`AwsArgs`]).
#[derive(Debug, Clone, clap::Args)]
pub struct EbsTargetArgs {
    /// GetSnapshotBlock calls in flight at most.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: u16,
}

/// Arguments of `custody image`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody image snap-0123456789abcdef0 --out /evidence/IR-7 --case IR-7
  custody image --case IR-7 --out /evidence/IR-7

Writes SNAPSHOT.raw (sparse), SNAPSHOT.blocks and SNAPSHOT.manifest.{json,txt} in --out, a local \
directory. \
Exit status 0 imaged, 1 an image failed (run again to resume), 2 bad input.")]
pub struct ImageArgs {
    /// The snapshot to image (`snap-…`); without it, `--case` images every evidence item of the case.
    #[arg(value_name = "SNAPSHOT_ID")]
    pub snapshot: Option<String>,
    /// The directory the image and its manifest are written to (must exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The case the snapshot is evidence of (the manifest records the case's journaled AWS calls).
    #[arg(long, value_name = "ID", value_parser = crate::data_dir::parse_case_id)]
    pub case: Option<String>,
    /// The examiner named in the manifest [default: the case's examiner].
    #[arg(long, value_name = "NAME")]
    pub examiner: Option<String>,
    /// Also compute the image's MD5.
    #[arg(long)]
    pub md5: bool,
    /// Also compute the image's SHA-1.
    #[arg(long)]
    pub sha1: bool,
    /// Print a JSON summary instead of text (no progress bar).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub ebs: EbsTargetArgs,
    #[command(flatten)]
    pub data: DataDirArgs,
    // --region: the snapshot's [default: the evidence item's Region, else as below].
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `custody verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status 0 the image matches, 1 it does not (first differing offset printed), 2 bad input.")]
pub struct VerifyArgs {
    /// The manifest written beside the image (`SNAPSHOT.manifest.json`).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Also re-read every block's checksum from AWS and compare it with the block checksum file.
    #[arg(long)]
    pub against_snapshot: bool,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub ebs: EbsTargetArgs,
    // --region: the snapshot's [default: the manifest's Region, else as below].
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// One thread for the network: the heavy work (hashing, writing) is on the image writer's own
/// thread, so a second async worker only adds cross-thread wake-ups (measured: about 10% less client
/// CPU per GiB than the two-worker runtime, see CONTRIBUTING.md, "Disk images, against coldsnap"). A runtime failing to start is
/// exit 1 (not bad input), as for every command.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    crate::runtime::start(&mut tokio::runtime::Builder::new_current_thread())
}

/// Checks the raw values and resolves the snapshots to image, before anything is asked of AWS.
/// Every error is bad input (exit 2): nothing was read from AWS or written.
fn resolve_targets(args: &ImageArgs) -> Result<Vec<Target>, CliError> {
    if let Some(snapshot) = &args.snapshot {
        custody_image::ids::snapshot_id(snapshot).map_err(|e| CliError::user(e.to_string()))?;
    }
    if args.snapshot.is_none() && args.case.is_none() {
        return Err(CliError::user(
            "nothing to image: give a SNAPSHOT_ID, or --case ID for every evidence item of a case",
        ));
    }
    if !args.out.is_dir() {
        return Err(CliError::user(format!("--out `{}`: not a directory", args.out.display())));
    }
    let journal = args.data.open_existing()?;
    let found = match (&journal, args.case.as_deref()) {
        (None, Some(case)) => {
            return Err(CliError::user(format!("case `{case}` is not in the journal (there is no journal)")))
        }
        (None, None) => Some(Vec::new()),
        (Some(journal), case) => context::from_journal(journal, case, args.snapshot.as_deref())
            .map_err(|e| CliError::user("cannot read the journal").caused_by(&e))?,
    };
    let Some(found) = found else {
        return Err(CliError::user(format!(
            "case `{}` is not in the journal; `custody cases` lists the cases",
            args.case.as_deref().unwrap_or("")
        )));
    };
    let mut targets: Vec<Target> = found.into_iter().map(context::target).collect();
    // A journaled id names files too: one that is not a snapshot id (`../../x`) is refused before
    // anything is written, whatever wrote it into the journal.
    for target in &targets {
        custody_image::ids::snapshot_id(&target.snapshot_id).map_err(|e| {
            let case = target.context.case_id.as_deref().unwrap_or_default();
            CliError::user(format!("the journal lists evidence of case `{case}` under {e}; nothing was imaged"))
        })?;
    }
    match (&args.snapshot, targets.is_empty()) {
        (Some(snapshot), true) if args.case.is_some() => {
            let case = args.case.as_deref().unwrap_or("");
            let discarded = journal.as_ref().and_then(|j| j.discarded_evidence(case).ok()).unwrap_or_default();
            return Err(CliError::user(match discarded.get(snapshot) {
                Some(when) => format!("`{snapshot}` was evidence of case `{case}` but was discarded {when}"),
                None => format!("`{snapshot}` is not evidence of case `{case}`"),
            }));
        }
        (None, true) => {
            return Err(CliError::user(format!("case `{}` has no evidence items", args.case.as_deref().unwrap_or(""))))
        }
        // A snapshot that is not evidence in any case: imaged with what the arguments say.
        (Some(snapshot), true) => targets.push(Target {
            snapshot_id: snapshot.clone(),
            context: ManifestContext {
                custody_version: env!("CARGO_PKG_VERSION").to_string(),
                source: Source { snapshot_id: snapshot.clone(), ..Source::default() },
                ..ManifestContext::default()
            },
        }),
        _ => {}
    }
    for target in &mut targets {
        if args.examiner.is_some() {
            target.context.examiner = args.examiner.clone();
        }
    }
    Ok(targets)
}

/// The progress of one image on standard error ([`crate::progress::Style`]): on a terminal an
/// indicatif bar (bytes read of those to read, the rate, the time left, blocks); otherwise a line
/// after the UTC time at most every 10 seconds, and at each tenth done; none with `--quiet`.
struct ImageProgress {
    snapshot: String,
    bar: Option<ProgressBar>,
    started: std::time::Instant,
    /// Blocks to read, blocks read, bytes read; when a plain line is due.
    counts: std::sync::Mutex<(u64, u64, u64, crate::progress::Throttle)>,
}

impl ImageProgress {
    /// The progress `style` asks for: `None` for none.
    fn new(snapshot_id: &str, style: crate::progress::Style) -> Option<Self> {
        let bar = match style {
            crate::progress::Style::Quiet => return None,
            crate::progress::Style::Bars => Some(progress_bar(snapshot_id)),
            crate::progress::Style::Lines { .. } => None,
        };
        Some(ImageProgress {
            snapshot: custody_plan::text::safe(snapshot_id).into_owned(),
            bar,
            started: std::time::Instant::now(),
            counts: std::sync::Mutex::new((
                0,
                0,
                0,
                crate::progress::Throttle::new(std::time::Duration::from_secs(10)),
            )),
        })
    }

    /// A plain line (no bar): `snap-…: 1.50 GiB of 8.00 GiB (18%), 3072 of 16384 blocks, 120.3 MiB/s`.
    fn line(&self, blocks: u64, read: u64, bytes: u64) -> String {
        let total = blocks.saturating_mul(custody_image::BLOCK_SIZE);
        let percent = bytes.saturating_mul(100).checked_div(total).unwrap_or(100);
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 { (bytes as f64 / seconds) as u64 } else { 0 };
        format!(
            "{}: {} of {} ({percent}%), {read} of {blocks} blocks, {}/s",
            self.snapshot,
            HumanBytes(bytes),
            HumanBytes(total),
            HumanBytes(rate)
        )
    }
}

impl Progress for ImageProgress {
    fn started(&self, blocks_to_read: u64, resumed: u64) {
        let resuming = (resumed > 0)
            .then(|| format!("{}: resuming: {resumed} blocks already in the partial image", self.snapshot));
        if let Some(bar) = &self.bar {
            bar.set_length(blocks_to_read.saturating_mul(custody_image::BLOCK_SIZE));
            bar.set_message(format!("0/{blocks_to_read} blocks"));
            if let Some(line) = resuming {
                bar.println(line);
            }
            return;
        }
        if let Some(line) = resuming {
            crate::progress::say(&line);
        }
        let Ok(mut counts) = self.counts.lock() else { return };
        counts.0 = blocks_to_read;
        let at = self.started.elapsed();
        counts.3.due(at, 0, blocks_to_read);
        crate::progress::say(&format!(
            "{}: {blocks_to_read} blocks ({}) to read",
            self.snapshot,
            HumanBytes(blocks_to_read.saturating_mul(custody_image::BLOCK_SIZE))
        ));
    }

    fn block_read(&self, bytes: u64) {
        let Ok(mut counts) = self.counts.lock() else { return };
        counts.1 += 1;
        counts.2 += bytes;
        let (blocks, read, done) = (counts.0, counts.1, counts.2);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(format!("{read}/{blocks} blocks"));
            return;
        }
        if counts.3.due(self.started.elapsed(), read, blocks) {
            crate::progress::say(&self.line(blocks, read, done));
        }
    }
}

fn progress_bar(snapshot_id: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, ETA \
         {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(custody_plan::text::safe(snapshot_id).into_owned());
    bar
}

/// Runs `custody image`.
pub fn run_image(args: &ImageArgs) -> CliResult {
    let targets = resolve_targets(args)?;
    // One process per case: the case's journal exists (`resolve_targets` read it).
    let _lock = args.case.as_deref().map(|case| args.data.lock_case(case)).transpose()?;
    let runtime = runtime()?;
    let style = crate::progress::Style::of_run();
    let mut summaries = Vec::new();
    let mut failed = false;
    for target in targets {
        let known = Some(target.context.source.region.clone()).filter(|r| !r.is_empty());
        let outcome = runtime.block_on(async {
            let config = custody_cloud::config::load(&args.aws.options_in(known.clone())).await;
            let Some(region) = config.region().map(|r| r.to_string()) else {
                return Err("no Region: pass --region, or set AWS_REGION or a profile's region".to_string());
            };
            let mut context = target.context.clone();
            context.source.region = region;
            let request = ImageRequest {
                snapshot_id: target.snapshot_id.clone(),
                out_dir: args.out.clone(),
                workers: args.ebs.workers as usize,
                extra_hashes: ExtraHashes { md5: args.md5, sha1: args.sha1 },
                retry: RetryPolicy::default(),
                context,
            };
            let shown = if args.json { None } else { ImageProgress::new(&target.snapshot_id, style).map(Arc::new) };
            let bar = shown.as_ref().and_then(|p| p.bar.clone());
            let progress: Arc<dyn Progress> = match shown {
                Some(p) => p,
                None => Arc::new(custody_image::NoProgress),
            };
            let result = image_snapshot(Arc::new(SdkSnapshotBlocks::new(&config)), &request, progress).await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            result.map_err(|e| error_chain(&e))
        });
        match outcome {
            Ok(outcome) => summaries.push(summary(&outcome)),
            Err(message) => {
                failed = true;
                let mut error = CliError::failure(format!("{}: {message}", target.snapshot_id));
                // Only when there is something to resume: a refusal before the first block (the image
                // exists already, or cannot fit) leaves no partial image.
                if custody_image::ImagePaths::new(&args.out, &target.snapshot_id).partial.exists() {
                    error = error.with_help(
                        "the partial image and its checkpoint are kept; run the same command again to resume",
                    );
                }
                // Reported now, and the next snapshot imaged: one failure does not stop the others.
                let _ = error.report(args.json);
            }
        }
    }
    if args.json {
        // JSON values with string keys: serializing them cannot fail.
        write_stdout(&(serde_json::to_string_pretty(&summaries).unwrap_or_default() + "\n"));
    } else {
        write_stdout(&summaries.iter().map(summary_text).collect::<String>());
    }
    Ok(ExitStatus::from_ok(!failed))
}

fn summary(outcome: &ImageOutcome) -> serde_json::Value {
    let m = &outcome.manifest;
    serde_json::json!({
        "snapshot_id": m.source.snapshot_id,
        "case_id": m.case_id,
        "image": outcome.paths.image,
        "manifest": outcome.paths.manifest_json,
        "size_bytes": m.image.size_bytes,
        "blocks_with_data": m.image.blocks_with_data,
        "blocks_downloaded": m.imaging.blocks_downloaded,
        "blocks_resumed": m.imaging.blocks_resumed,
        "hashes": m.image.hashes,
        "block_checksum_digest": m.image.block_checksums.sha256,
    })
}

fn summary_text(s: &serde_json::Value) -> String {
    let field = |k: &str| {
        let text =
            s.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        custody_plan::text::safe(&text).into_owned()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}: imaged to {}", field("snapshot_id"), field("image"));
    let _ = writeln!(
        out,
        "  {} bytes, {} blocks with data ({} read, {} resumed)",
        field("size_bytes"),
        field("blocks_with_data"),
        field("blocks_downloaded"),
        field("blocks_resumed")
    );
    if let Some(hashes) = s.get("hashes").and_then(|h| h.as_object()) {
        for (name, value) in hashes {
            let _ = writeln!(out, "  {name:<7}{}", custody_plan::text::Safe(value.as_str().unwrap_or_default()));
        }
    }
    let _ = writeln!(out, "  manifest {}", field("manifest"));
    out
}

/// Runs `custody verify`.
pub fn run_verify(args: &VerifyArgs) -> CliResult {
    // A manifest's words can be quoted: the rendering escapes them.
    let loaded = verify::load(&args.manifest).map_err(|e| CliError::user(error_chain(&e)))?;
    let mut verdict = verify::verify_image(&loaded).map_err(|e| CliError::user(error_chain(&e)))?;
    let mut checked = vec!["image"];
    if verdict == Verdict::Match && args.against_snapshot {
        let runtime = runtime()?;
        let known = Some(loaded.manifest.source.region.clone()).filter(|r| !r.is_empty());
        let result = runtime.block_on(async {
            let config = custody_cloud::config::load(&args.aws.options_in(known)).await;
            let source = Arc::new(SdkSnapshotBlocks::new(&config));
            verify::verify_against_snapshot(&loaded, source, args.ebs.workers as usize, RetryPolicy::default()).await
        });
        verdict = result.map_err(|e| {
            CliError::failure(format!(
                "re-reading {} from AWS: {}",
                custody_plan::text::Safe(&loaded.manifest.source.snapshot_id),
                error_chain(&e)
            ))
        })?;
        checked.push("snapshot");
    }
    let image = loaded.dir.join(&loaded.manifest.image.file);
    // The manifest names the image and the snapshot: someone else may have written it.
    let (shown, snapshot) = (
        custody_plan::text::safe(&image.display().to_string()).into_owned(),
        custody_plan::text::safe(&loaded.manifest.source.snapshot_id).into_owned(),
    );
    let out = match &verdict {
        Verdict::Match if args.json => {
            serde_json::json!({"match": true, "image": image, "checked": checked, "sha256": loaded.manifest.image.hashes.sha256})
                .to_string()
                + "\n"
        }
        Verdict::Match => {
            let mut out = format!(
                "{shown}: matches its manifest (SHA-256 {})\n",
                custody_plan::text::Safe(&loaded.manifest.image.hashes.sha256)
            );
            if args.against_snapshot {
                out.push_str(&format!("  and every block checksum matches {snapshot} in AWS\n"));
            }
            out
        }
        Verdict::Mismatch { offset, reason } if args.json => {
            serde_json::json!({"match": false, "image": image, "first_differing_offset": offset, "reason": reason})
                .to_string()
                + "\n"
        }
        Verdict::Mismatch { offset, reason } => match offset {
            Some(o) => format!("{shown}: DOES NOT MATCH at offset {o}: {}\n", custody_plan::text::Safe(reason)),
            None => format!("{shown}: DOES NOT MATCH: {}\n", custody_plan::text::Safe(reason)),
        },
    };
    write_stdout(&out);
    Ok(ExitStatus::from_ok(verdict == Verdict::Match))
}
