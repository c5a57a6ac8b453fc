//! The journal is private: the data directory 0700, the journal's files 0600; a directory open to
//! others is reported and left alone, an older journal open to others is made private and said so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use custody_journal::{Journal, FILE_NAME};

use crate::support::case;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_new_data_directory_is_0700_and_the_journal_files_0600() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data/custody");
    let journal = Journal::open(&dir).unwrap();
    journal.create_case(&case("IR-1")).unwrap(); // a write, so that the -wal and -shm files exist
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&parent.path().join("data")), 0o700, "created parents are private too");
    for name in [FILE_NAME.to_string(), format!("{FILE_NAME}-wal"), format!("{FILE_NAME}-shm")] {
        assert_eq!(mode(&dir.join(&name)), 0o600, "{name}");
    }
    assert!(journal.notices().is_empty(), "{:?}", journal.notices());
}

#[test]
fn an_existing_directory_open_to_others_is_reported_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let journal = Journal::open(dir.path()).unwrap();
    assert_eq!(mode(dir.path()), 0o755, "the user's directory is not changed");
    let notices = journal.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("is open to other users (mode 0755)"), "{}", notices[0]);
    assert!(notices[0].contains(&format!("chmod 700 {}", dir.path().display())), "{}", notices[0]);
}

#[test]
fn an_older_journal_open_to_others_is_made_private_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o700);
    let path = dir.path().join(FILE_NAME);
    {
        let journal = Journal::open(dir.path()).unwrap();
        journal.create_case(&case("IR-1")).unwrap();
    }
    chmod(&path, 0o644);
    let journal = Journal::open(dir.path()).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(journal.notices(), [format!("made `{}` private: it was mode 0644, it is now 0600", path.display())]);
    assert_eq!(journal.case("IR-1").unwrap().unwrap().case_id, "IR-1", "and it is the same journal");
}
