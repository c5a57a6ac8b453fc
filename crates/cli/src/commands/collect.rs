//! `custody collect`: an inventory from live AWS, with read-only calls (custody_cloud::collect).
//!
//! Arguments are checked first (exit 2, nothing asked of AWS); then the tokio runtime is built and
//! AWS is read. What cannot be read is marked unknown in the inventory and named in a warning on
//! standard error. Exit 0 with an inventory written, 1 when AWS cannot be reached at all (or an
//! instance or role does not exist), 2 on bad arguments.

use custody_cloud::collect::{collect, CollectError, CollectRequest, Collected};
use custody_cloud::sdk::SdkCloud;
use custody_cloud::Cloud;
use custody_plan::inventory::arn::{is_instance_id, is_region, is_role_arn, KeyArn};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// An instance to collect (`i-…`); repeat for several, all in one Region and account.
    #[arg(long = "instance", value_name = "ID", required = true)]
    pub instances: Vec<String>,
    /// The Region of the instances, where custody works [default: AWS_REGION or the profile's Region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The role custody acquires as, in the forensic account [default: the role of the current session].
    #[arg(long, value_name = "ARN")]
    pub forensic_role_arn: Option<String>,
    /// The role custody assumes in the instances' account (read through a session of it).
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// The customer managed key evidence copies are encrypted under; repeat for one per Region.
    #[arg(long = "forensic-key-arn", value_name = "ARN")]
    pub forensic_key_arns: Vec<String>,
    /// The case id, carried in the AssumeRole session name (`custody-collect-<case>`).
    #[arg(long, value_name = "ID")]
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
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
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
        eprintln!("warning: {w}");
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
    if let Some(region) = args.region.as_deref().filter(|r| !is_region(r)) {
        return Err(format!("--region `{region}`: expected a Region name such as `eu-west-3`"));
    }
    for (flag, arn) in [("--forensic-role-arn", &args.forensic_role_arn), ("--source-role-arn", &args.source_role_arn)]
    {
        if let Some(arn) = arn.as_deref().filter(|a| !is_role_arn(a)) {
            return Err(format!("{flag} `{arn}`: expected a role ARN, `arn:aws:iam::<account>:role/<name>`"));
        }
    }
    for arn in &args.forensic_key_arns {
        if KeyArn::parse(arn).is_none() {
            return Err(format!(
                "--forensic-key-arn `{arn}`: expected a key ARN, `arn:aws:kms:<region>:<account>:key/<key-id>`"
            ));
        }
    }
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
    let cloud = SdkCloud::from_env(args.region.as_deref()).await;
    let Some(region) = cloud.default_region() else {
        return Err(Failure::Usage("no Region: pass --region, or set AWS_REGION or a profile's region".into()));
    };
    let request = CollectRequest {
        instance_ids: args.instances.clone(),
        region,
        forensic_role_arn: args.forensic_role_arn.clone(),
        source_role_arn: args.source_role_arn.clone(),
        forensic_key_arns: args.forensic_key_arns.clone(),
        case_id: args.case.clone(),
    };
    collect(Arc::new(cloud), &request).await.map_err(Failure::Collect)
}

/// `error: …` and each cause on its own line.
fn print_error(e: &CollectError) {
    eprintln!("error: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
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
