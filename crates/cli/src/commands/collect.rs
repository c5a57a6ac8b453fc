//! `custody collect`: an inventory from live AWS, with read-only calls (custody_cloud::collect).
//!
//! Arguments are checked first (exit 2, nothing asked of AWS); then the tokio runtime is built and
//! AWS is read. What cannot be read is marked unknown in the inventory and named in a warning on
//! standard error. Exit 0 with an inventory written, 1 when AWS cannot be reached at all (or an
//! instance or role does not exist), 2 on bad arguments.

use crate::aws_target::AwsTargetArgs;
use custody_cloud::collect::{collect, CollectError, Collected};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_plan::inventory::arn::is_instance_id;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// An instance to collect (`i-…`); repeat for several, all in one Region and account.
    #[arg(long = "instance", value_name = "ID", required = true)]
    pub instances: Vec<String>,
    #[command(flatten)]
    pub aws: AwsTargetArgs,
    /// The case id, carried in the AssumeRole session name (`custody-collect-<case>`).
    #[arg(long, value_name = "ID", value_parser = crate::data_dir::parse_case_id)]
    pub case: Option<String>,
    /// Write the inventory here (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &CollectArgs) -> ExitCode {
    if let Err(message) = check(args) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let runtime = match crate::runtime::start(&mut tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let collected = match runtime.block_on(collect_live(args)) {
        Ok(c) => c,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
        Err(Failure::Collect(e)) => {
            print_error(&e);
            return ExitCode::from(match e {
                CollectError::Invalid(_) => 2,
                _ => 1,
            });
        }
    };
    for w in &collected.warnings {
        eprintln!("warning: {}", custody_plan::text::safe_indented(&w.to_string(), "  "));
    }
    if !collected.warnings.is_empty() {
        eprintln!(
            "warning: {} fact(s) could not be read: they are marked unknown, and `custody check` reports what depends on them as unknown",
            collected.warnings.len()
        );
    }
    let mut text = match serde_json::to_string_pretty(&collected.inventory) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot serialize the inventory: {e}");
            return ExitCode::from(1);
        }
    };
    text.push('\n');
    match &args.out {
        Some(path) => match write_atomically(path, &text) {
            Ok(()) => {
                let inv = &collected.inventory;
                let volumes: usize = inv.instances.iter().map(|i| i.volumes.len()).sum();
                eprintln!(
                    "wrote {}: {} instance(s), {volumes} volume(s), {} key(s), {} principal(s)",
                    path.display(),
                    inv.instances.len(),
                    inv.keys.len(),
                    inv.principals.len()
                );
            }
            Err(e) => {
                eprintln!("error: {}: cannot write the inventory: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
        }
    }
    ExitCode::SUCCESS
}

/// Checks the raw arguments, before anything is asked of AWS.
fn check(args: &CollectArgs) -> Result<(), String> {
    for id in &args.instances {
        if !is_instance_id(id) {
            return Err(format!("--instance `{id}`: expected an instance id, `i-` and 8 or 17 hex digits"));
        }
    }
    args.aws.validate()?;
    if let Some(out) = &args.out {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(format!("--out `{}`: the directory `{}` does not exist", out.display(), parent.display()));
        }
    }
    Ok(())
}

enum Failure {
    Usage(String),
    Collect(CollectError),
}

async fn collect_live(args: &CollectArgs) -> Result<Collected, Failure> {
    let cloud = SdkCloud::from_env(args.aws.region.as_deref()).await;
    let Some(region) = cloud.default_region() else {
        return Err(Failure::Usage("no Region: pass --region, or set AWS_REGION or a profile's region".into()));
    };
    let request = args.aws.collect_request(&args.instances, region, args.case.clone());
    collect(Arc::new(cloud), &request).await.map_err(Failure::Collect)
}

/// `error: …` and each cause on its own line.
fn print_error(e: &CollectError) {
    // AWS's answers are quoted: shown, not obeyed.
    eprintln!("error: {}", custody_plan::text::safe_indented(&e.to_string(), "  "));
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        eprintln!("  caused by: {}", custody_plan::text::safe_indented(&cause.to_string(), "    "));
        source = cause.source();
    }
    if matches!(e, CollectError::Unreachable(_)) {
        eprintln!(
            "help: custody reads AWS with the usual configuration: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL"
        );
    }
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`: a reader never
/// sees half an inventory.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "inventory".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs_err::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs_err::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&tmp);
    }
    result
}
