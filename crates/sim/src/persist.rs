//! A world that outlives its process: the state in a JSON file, read at the start and written back
//! after every call, so that crash tests can kill the real `custody` binary at any point and run it
//! again on the same cloud (`custody acquire --simulate INVENTORY --simulate-state FILE`; moto, the
//! other emulator, cannot share snapshots across accounts).
//!
//! The file is written whole after every call, before the call returns its answer, to a temporary
//! file beside it then renamed over it (a rename within a directory is atomic): a process killed at
//! any point leaves either the world before the call or the world after it, never half of one. As
//! with AWS, a call that returned has taken effect, whatever the caller managed to record of it.
//! Nothing is synced to the disk: the tests kill processes, not machines.

use super::state::State;
use std::path::Path;

/// Reads a world's state from `path`; `Ok(None)` if there is no such file.
pub(crate) fn load(path: &Path) -> Result<Option<State>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the simulated cloud's state {}: {e}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: not a simulated cloud's state file: {e}", path.display()))
}

/// Writes the state to `path`, atomically (a temporary file beside it, renamed over it).
pub(crate) fn save(state: &State, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

    use super::super::SimWorld;
    use super::*;
    use custody_plan::inventory::parse_inventory;
    use std::collections::BTreeMap;

    const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
    const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";

    fn inventory(name: &str) -> custody_plan::inventory::Inventory {
        let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A fresh path in the temporary directory (no file there yet).
    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("custody-sim-persist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("world.json")
    }

    fn examples() -> Vec<String> {
        let dir = format!("{}/../../examples/inventories", env!("CARGO_MANIFEST_DIR"));
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_example_world_reads_back_as_it_was_written() {
        for name in examples() {
            let state = State::new(&inventory(&name)).unwrap();
            let text = serde_json::to_value(&state).unwrap();
            let back: State = serde_json::from_value(text.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(serde_json::to_value(&back).unwrap(), text, "{name}");
        }
    }

    #[tokio::test]
    async fn a_call_has_reached_the_file_when_it_answers_and_a_new_process_finds_it() {
        let file = temp_file("answers");
        let inv = inventory("5-cross-account-grant-only.json");
        let world = SimWorld::persistent(&inv, &file).unwrap();
        assert!(file.exists(), "the seeded world is written at once");
        let tags: BTreeMap<String, String> = [("CustodyCase".to_string(), "C1".to_string())].into();
        let ec2 = world.cloud_as(SOURCE, "s").ec2("eu-west-1");
        let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &tags).await.unwrap().value;
        // What another process would read now, the call having answered.
        let seen = SimWorld::load(&file).unwrap();
        let ids: Vec<String> = seen.snapshots().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, made.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
        assert_eq!(seen.calls(), world.calls());
        // Opened again with the inventory, the file wins: the world goes on, ids and clock included.
        let again = SimWorld::persistent(&inv, &file).unwrap();
        assert_eq!(again.snapshots().len(), 3);
        let ec2 = again.cloud_as(SOURCE, "s").ec2("eu-west-1");
        let more = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &tags).await.unwrap().value;
        assert!(more.iter().all(|s| !ids.contains(&s.id)), "new ids, not the first run's again");
        assert_eq!(SimWorld::load(&file).unwrap().snapshots().len(), 6);
    }

    #[tokio::test]
    async fn a_world_in_memory_writes_no_file() {
        let world = SimWorld::new(&inventory("1-unencrypted.json")).unwrap();
        assert!(world.file.is_none());
        let _ = world.cloud_as(FORENSIC, "s").sts().get_caller_identity().await.unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_world_is_refused_naming_it() {
        let file = temp_file("bad");
        std::fs::write(&file, "{\"not\": \"a world\"}").unwrap();
        let err = SimWorld::persistent(&inventory("1-unencrypted.json"), &file).unwrap_err();
        assert!(
            err.contains(&file.display().to_string()) && err.contains("not a simulated cloud's state file"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"not\": \"a world\"}", "left as it was");
    }
}
