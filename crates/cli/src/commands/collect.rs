//! `custody collect`: an inventory from live AWS, with read-only calls (custody_acquire::collect).
//!
//! Arguments are checked first (exit 2, nothing asked of AWS); then the tokio runtime is built and
//! AWS is read. What cannot be read is marked unknown in the inventory and named in a warning on
//! standard error. Exit 0 with an inventory written, 1 when AWS cannot be reached at all (or an
//! instance or role does not exist), 2 on bad arguments.

use crate::aws_options::AwsArgs;
use crate::aws_target::AwsTargetArgs;
use crate::exit::{write_stdout, CliError, CliResult, ErrorKind, ExitStatus};
use custody_acquire::collect::{collect, CollectError, Collected};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_plan::inventory::arn::is_instance_id;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody collect i-0123456789abcdef0 --out inv.json
  custody collect i-0123456789abcdef0 i-0fedcba9876543210 --case IR-7 \\
      --forensic-role-arn arn:aws:iam::999999999999:role/CustodyForensic \\
      --out inv.json --json

--out is a local file custody writes (without it, the inventory goes to standard output).")]
pub struct CollectArgs {
    /// The instances to collect (`i-…`), all in one Region and account.
    #[arg(value_name = "INSTANCE_ID", required = true)]
    pub instances: Vec<String>,
    #[command(flatten)]
    pub target: AwsTargetArgs,
    /// The case id, carried in the AssumeRole session name (`custody-collect-<case>`).
    #[arg(long, value_name = "ID", value_parser = crate::data_dir::parse_case_id)]
    pub case: Option<String>,
    /// Write the inventory to this local file (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --out: print a summary as JSON (the file written, the instances, the warnings and the
    /// facts that could not be read); errors are JSON too. Without --out the inventory is JSON
    /// already.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs the command.
pub fn run(args: &CollectArgs) -> CliResult {
    check(args).map_err(CliError::user)?;
    let runtime = crate::runtime::start(&mut tokio::runtime::Builder::new_current_thread())?;
    let collected = runtime.block_on(collect_live(args))?;
    for w in collected.warnings.iter().filter(|_| !args.json) {
        eprintln!("warning: {}", custody_plan::text::safe_indented(&w.to_string(), "  "));
    }
    if !collected.warnings.is_empty() && !args.json {
        eprintln!(
            "warning: {} fact(s) could not be read: they are marked unknown, and `custody check` reports what depends on them as unknown",
            collected.warnings.len()
        );
    }
    // An inventory of strings, numbers and maps with string keys: serializing it cannot fail, short of a bug.
    let mut text = serde_json::to_string_pretty(&collected.inventory)
        .map_err(|e| CliError::bug("cannot serialize the inventory").caused_by(&e))?;
    text.push('\n');
    match &args.out {
        Some(path) => {
            write_atomically(path, &text).map_err(|e| {
                CliError::failure(format!("{}: cannot write the inventory", path.display())).caused_by(&e)
            })?;
            let inv = &collected.inventory;
            let volumes: usize = inv.instances.iter().map(|i| i.volumes.len()).sum();
            if args.json {
                write_stdout(&summary(Some(path), &collected));
                return Ok(ExitStatus::Success);
            }
            eprintln!(
                "wrote {}: {} instance(s), {volumes} volume(s), {} key(s), {} principal(s)",
                path.display(),
                inv.instances.len(),
                inv.keys.len(),
                inv.principals.len()
            );
        }
        None => write_stdout(&text),
    }
    Ok(ExitStatus::Success)
}

/// The `--json` summary of a collection written to `path`.
fn summary(path: Option<&Path>, collected: &Collected) -> String {
    let inv = &collected.inventory;
    let value = serde_json::json!({
        "inventory": path.map(|p| p.display().to_string()),
        "instances": inv.instances.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        "volumes": inv.instances.iter().map(|i| i.volumes.len()).sum::<usize>(),
        "keys": inv.keys.len(),
        "principals": inv.principals.len(),
        "warnings": collected.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "unknown": collected
            .warnings
            .iter()
            .map(|w| serde_json::json!({ "subject": w.subject, "what": w.what, "facts": w.unknown }))
            .collect::<Vec<_>>(),
    });
    // Strings, numbers and arrays: serializing cannot fail.
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// Checks the raw arguments, before anything is asked of AWS.
fn check(args: &CollectArgs) -> Result<(), String> {
    for id in &args.instances {
        if !is_instance_id(id) {
            return Err(format!("`{id}`: expected an instance id, `i-` and 8 or 17 hex digits"));
        }
    }
    args.target.validate()?;
    args.aws.validate()?;
    if let Some(out) = &args.out {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(format!("--out `{}`: the directory `{}` does not exist", out.display(), parent.display()));
        }
    }
    Ok(())
}

async fn collect_live(args: &CollectArgs) -> Result<Collected, CliError> {
    let cloud = SdkCloud::load(&args.aws.options()).await;
    let Some(region) = cloud.default_region() else {
        return Err(CliError::user("no Region: pass --region, or set AWS_REGION or a profile's region"));
    };
    let request = args.target.collect_request(&args.instances, region, args.case.clone());
    collect(Arc::new(cloud), &request).await.map_err(|e| collect_error(&e))
}

/// A collection that failed: bad input when the request was unusable, else a failure; each cause on
/// its own line (AWS's answers quoted, shown, not obeyed).
fn collect_error(e: &CollectError) -> CliError {
    let kind = if matches!(e, CollectError::Invalid(_)) { ErrorKind::User } else { ErrorKind::Failure };
    let error = CliError::from_error(kind, e);
    if matches!(e, CollectError::Unreachable(_)) {
        return error.with_help(
            "custody reads AWS with the usual configuration: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
             AWS_REGION, AWS_ENDPOINT_URL",
        );
    }
    error
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
