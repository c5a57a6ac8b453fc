//! The collection scripts, embedded at build time, and the prelude custody writes in front of them.
//!
//! The scripts are the reviewed artifact: what runs as root on a suspect instance. custody adds only
//! a prelude of variable assignments (the nonce, the memory target and limit), each value checked
//! against a strict alphabet first, so no user input reaches the shell unquoted.

use sha2::{Digest, Sha256};

/// The Linux collection script (`scripts/linux.sh`).
pub const LINUX_SCRIPT: &str = include_str!("../scripts/linux.sh");
/// The Windows collection script (`scripts/windows.ps1`).
pub const WINDOWS_SCRIPT: &str = include_str!("../scripts/windows.ps1");
/// The version both scripts carry in their first line and their `TRIAGE` marker; bump it with any
/// change to either (the journal records it next to the SHA-256 of what was sent).
pub const SCRIPT_VERSION: &str = "2";

/// The sections every collection has, on both platforms, in order.
pub const SECTIONS: [&str; 11] = [
    "system",
    "processes",
    "network",
    "listening",
    "users",
    "logins",
    "histories",
    "scheduled",
    "services",
    "modules",
    "logs",
];

pub use custody_cloud::triage::Platform;

/// The script for `platform`.
fn script_of(platform: Platform) -> &'static str {
    match platform {
        Platform::Linux => LINUX_SCRIPT,
        Platform::Windows => WINDOWS_SCRIPT,
    }
}

/// `linux/2`, as journaled.
pub fn script_version(platform: Platform) -> String {
    format!("{}/{SCRIPT_VERSION}", platform.as_str())
}

/// `--memory PID|NAME`: a process id, or a process name (`comm` on Linux, the image name on Windows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryTarget(String);

impl MemoryTarget {
    /// A pid (digits) or a name of 1 to 64 letters, digits, `.`, `_`, `-` (the value is written
    /// into the script's prelude, so nothing else is accepted).
    pub fn parse(text: &str) -> Result<MemoryTarget, String> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !text.starts_with('-');
        if ok {
            Ok(MemoryTarget(text.to_string()))
        } else {
            Err(format!(
                "`{text}`: expected a process id or a process name of letters, digits, `.`, `_` and `-` (at most 64)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The commands to send and what identifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The `commands` parameter: the script's lines, prelude first.
    pub commands: Vec<String>,
    /// The SHA-256 of the commands joined by newlines, as the agent writes them into its script file.
    pub sha256: String,
    pub version: String,
    pub nonce: String,
}

/// The script for `platform` with its prelude: collection, or the memory of `memory` (with a
/// per-process limit in bytes).
pub fn prepare(platform: Platform, nonce: &str, memory: Option<(&MemoryTarget, u64)>) -> Prepared {
    // Both values are checked: the nonce is hex we made, the target passed `MemoryTarget::parse`.
    let prelude = match (platform, memory) {
        (Platform::Linux, None) => vec![format!("CUSTODY_NONCE='{nonce}'"), "CUSTODY_MEMORY=''".to_string()],
        (Platform::Linux, Some((target, limit))) => vec![
            format!("CUSTODY_NONCE='{nonce}'"),
            format!("CUSTODY_MEMORY='{}'", target.as_str()),
            format!("CUSTODY_MEMORY_LIMIT='{limit}'"),
        ],
        (Platform::Windows, None) => vec![format!("$CustodyNonce = '{nonce}'"), "$CustodyMemory = ''".to_string()],
        (Platform::Windows, Some((target, limit))) => vec![
            format!("$CustodyNonce = '{nonce}'"),
            format!("$CustodyMemory = '{}'", target.as_str()),
            format!("$CustodyMemoryLimit = {limit}"),
        ],
    };
    let commands: Vec<String> = prelude.into_iter().chain(script_of(platform).lines().map(str::to_string)).collect();
    let sha256 = hex::encode(Sha256::digest(commands.join("\n").as_bytes()));
    Prepared { commands, sha256, version: script_version(platform), nonce: nonce.to_string() }
}

/// A nonce for one run: 16 hex digits of the SHA-256 of the time, the process id and `salt`. Not a
/// secret from the examiner; unpredictable to whoever planted text on the instance before the run.
pub fn nonce(salt: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let digest = Sha256::digest(format!("{now}:{}:{salt}", std::process::id()).as_bytes());
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_runs_its_own_document() {
        assert_eq!(Platform::Linux.document(), "AWS-RunShellScript");
        assert_eq!(Platform::Windows.document(), "AWS-RunPowerShellScript");
    }

    #[test]
    fn the_scripts_carry_the_version_and_every_section() {
        assert!(LINUX_SCRIPT.contains(&format!("TRIAGE linux {SCRIPT_VERSION} BEGIN")));
        assert!(WINDOWS_SCRIPT.contains(&format!("TRIAGE windows {SCRIPT_VERSION} BEGIN")));
        assert!(LINUX_SCRIPT
            .starts_with(&format!("# custody triage collection script for Linux, version {SCRIPT_VERSION}")));
        assert!(WINDOWS_SCRIPT
            .starts_with(&format!("# custody triage collection script for Windows, version {SCRIPT_VERSION}")));
        for s in SECTIONS {
            assert!(LINUX_SCRIPT.contains(&format!("begin {s}\n")), "linux.sh has no section {s}");
            assert!(LINUX_SCRIPT.contains(&format!("end {s}\n")), "linux.sh does not end section {s}");
            assert!(WINDOWS_SCRIPT.contains(&format!("Begin-Section '{s}'")), "windows.ps1 has no section {s}");
            assert!(WINDOWS_SCRIPT.contains(&format!("End-Section '{s}'")), "windows.ps1 does not end section {s}");
        }
    }

    #[test]
    fn the_prelude_sets_the_nonce_and_memory_target() {
        let target = MemoryTarget::parse("sshd").unwrap();
        let p = prepare(Platform::Linux, "00ff", Some((&target, 4096)));
        assert_eq!(&p.commands[..3], ["CUSTODY_NONCE='00ff'", "CUSTODY_MEMORY='sshd'", "CUSTODY_MEMORY_LIMIT='4096'"]);
        assert_eq!(p.version, "linux/2");
        let w = prepare(Platform::Windows, "00ff", None);
        assert_eq!(&w.commands[..2], ["$CustodyNonce = '00ff'", "$CustodyMemory = ''"]);
        assert_ne!(p.sha256, w.sha256);
    }

    #[test]
    fn memory_targets_that_could_escape_the_prelude_are_refused() {
        for bad in ["", "a'b", "$(id)", "a b", "-rf", "x;y", &"a".repeat(65)] {
            assert!(MemoryTarget::parse(bad).is_err(), "{bad}");
        }
        for good in ["1234", "sshd", "nginx.bin", "lsass", "my_proc-2"] {
            assert!(MemoryTarget::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn nonces_are_hex_and_differ() {
        let (a, b) = (nonce("i-1"), nonce("i-2"));
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
