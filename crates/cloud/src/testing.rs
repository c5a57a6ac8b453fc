//! Test support (feature `testing`): a moto server of the test's own on 127.0.0.1, and an incident
//! seeded into it through the SDK.
//!
//! [`Moto::start`] asks `scripts/moto python` for an interpreter with moto (installing it if needed),
//! starts `python -m moto.server -H 127.0.0.1 -p <free port>`, waits until it answers, and kills it
//! when dropped. It is the one harness of every moto-backed test: [`Moto::start_with_ebs_corrections`]
//! serves moto with two EBS direct API answers corrected to what AWS documents
//! (`crates/cloud/testing/moto_ebs.py`), and [`Moto::start_python`] any helper program with moto's
//! interpreter (a proxy in front of moto). Fake credentials are given only to the SDK configuration ([`Moto::sdk_config`]) and
//! to child processes ([`Moto::command`]), never set in the test process's environment; both refuse
//! an endpoint that is not on 127.0.0.1.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// The emulator's account (moto's default).
pub const MOTO_ACCOUNT: &str = "123456789012";

/// A running moto server (or a program of [`Moto::start_python`]), killed on drop.
pub struct Moto {
    child: tokio::process::Child,
    endpoint: String,
}

/// The repository's `scripts/moto`.
fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/moto")
}

/// `crates/cloud/testing/moto_ebs.py`: moto with the EBS direct API answers AWS documents.
pub fn ebs_corrections() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testing/moto_ebs.py")
}

/// The Python interpreter that has moto (`scripts/moto python`, which installs it if needed).
pub async fn python() -> Result<String, String> {
    let out = tokio::process::Command::new(script())
        .arg("python")
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run scripts/moto: {e}"))?;
    if !out.status.success() {
        return Err(format!("`scripts/moto python` failed ({}): moto is needed for this test", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Refuses any endpoint but `http://127.0.0.1:<port>`: tests never talk to anything else.
pub fn check_local(endpoint: &str) -> Result<(), String> {
    let rest = endpoint.strip_prefix("http://127.0.0.1:").ok_or_else(|| format!("refusing endpoint `{endpoint}`"))?;
    match rest.trim_end_matches('/').parse::<u16>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("refusing endpoint `{endpoint}`: not 127.0.0.1:<port>")),
    }
}

impl Moto {
    /// Starts a server on a free port of 127.0.0.1 and waits (up to 30 s) until it answers.
    pub async fn start() -> Result<Moto, String> {
        Moto::start_python(|port| {
            ["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()].map(String::from).to_vec()
        })
        .await
    }

    /// moto with its two EBS direct API quirks corrected (`crates/cloud/testing/moto_ebs.py`: the
    /// block size and the type of a block index ListSnapshotBlocks answers), for imaging tests.
    pub async fn start_with_ebs_corrections() -> Result<Moto, String> {
        let script = ebs_corrections().to_string_lossy().into_owned();
        Moto::start_python(|port| vec![script, "-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]).await
    }

    /// Runs moto's Python with the arguments `args(port)` gives for a free port of 127.0.0.1, and
    /// waits (up to 30 s) until the program answers there.
    pub async fn start_python(args: impl FnOnce(u16) -> Vec<String>) -> Result<Moto, String> {
        let python = python().await?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        check_local(&endpoint)?;
        let log = match std::env::var_os("CUSTODY_MOTO_LOG") {
            Some(path) => std::fs::File::create(path).map(Stdio::from).unwrap_or_else(|_| Stdio::null()),
            None => Stdio::null(),
        };
        let mut child = tokio::process::Command::new(&python)
            .args(args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start moto with {python}: {e}"))?;
        for _ in 0..300 {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("moto exited at start ({status}); set CUSTODY_MOTO_LOG=FILE to see why"));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(Moto { child, endpoint });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.start_kill();
        Err(format!("moto did not answer on {endpoint} within 30 s"))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK configuration for the server: fake credentials, `region`, nothing read from profiles.
    pub async fn sdk_config(&self, region: &str) -> Result<SdkConfig, String> {
        check_local(&self.endpoint)?;
        Ok(aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto-test"))
            .load()
            .await)
    }

    /// `base` acting as a session of `role_arn` (session `custody-seed`, through the adapter's own
    /// [`crate::sdk::SdkCloud::assume`]), for seeding another account: moto puts what a session
    /// creates in the account of the role it assumed.
    pub async fn as_role(base: &SdkConfig, role_arn: &str) -> Result<SdkConfig, String> {
        let session = crate::sdk::SdkCloud::from_config(base.clone())
            .assume(role_arn, &crate::SessionName::new("seed", None))
            .await
            .map_err(|e| format!("AssumeRole {role_arn}: {e}"))?;
        Ok(session.config().clone())
    }

    /// A command for `program` that talks to this server: every `AWS_*` variable of the test's
    /// environment removed, then the endpoint, fake credentials and `region` set, and shared config
    /// files and instance metadata turned off.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, region: &str) -> Result<std::process::Command, String> {
        check_local(&self.endpoint)?;
        let mut cmd = std::process::Command::new(program);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", region)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        Ok(cmd)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // SIGKILL now; tokio reaps the process (kill_on_drop as a second guard).
        let _ = self.child.start_kill();
    }
}

mod denying;
mod ebs;
mod seed;
pub use denying::Denying;
pub use ebs::upload_snapshot;
pub use seed::{seed_acquisition_incident, seed_forensic_role, seed_incident, AcquisitionIncident, Incident};

#[cfg(test)]
mod tests {
    use super::check_local;

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        assert!(check_local("http://127.0.0.1:5000").is_ok());
        assert!(check_local("http://127.0.0.1:5000/").is_ok());
        assert!(check_local("https://kms.us-east-1.amazonaws.com").is_err());
        assert!(check_local("http://127.0.0.1.example.com:80").is_err());
        assert!(check_local("http://10.0.0.1:5000").is_err());
    }
}
