//! The image's files are private and never written through a symbolic link. No AWS: a snapshot held
//! in memory (`memory`) answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::memory;

use custody_image::{image_snapshot, ImageError, ImagePaths, NoProgress};
use memory::{request, Memory, SNAPSHOT};
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A disk image holds everything the disk held: the image, its block checksums and manifests, and
/// the partial image and checkpoint of an interrupted run, are readable by their owner only (0600),
/// whatever the umask lets through.
#[tokio::test]
async fn images_partial_files_checkpoints_and_manifests_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ImagePaths::new(dir.path(), SNAPSHOT);
    // A run stopped after the first block: the partial image and its checkpoint stay.
    let stopped = Memory { stop_after: Some(1), ..Memory::small() };
    let one_at_a_time = custody_image::ImageRequest { workers: 1, ..request(SNAPSHOT, dir.path()) };
    let result = image_snapshot(Arc::new(stopped), &one_at_a_time, Arc::new(NoProgress)).await;
    assert!(result.is_err());
    assert_eq!((mode(&paths.partial), mode(&paths.checkpoint)), (0o600, 0o600));
    // A partial image left readable by others (an older custody) is made private when resumed.
    std::fs::set_permissions(&paths.partial, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outcome =
        image_snapshot(Arc::new(Memory::small()), &request(SNAPSHOT, dir.path()), Arc::new(NoProgress)).await.unwrap();
    assert_eq!(outcome.manifest.imaging.blocks_resumed, 1, "the second run resumed the first");
    for path in [&paths.image, &paths.blocks, &paths.manifest_json, &paths.manifest_text] {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
}

/// A link planted where an image file goes (pointing at an existing file, or at nothing yet) is
/// refused by name; nothing is written through it and the file it points to is unchanged.
#[tokio::test]
async fn a_link_planted_at_an_output_path_is_not_written_through() {
    let names: [fn(&ImagePaths) -> &PathBuf; 6] =
        [|p| &p.partial, |p| &p.checkpoint, |p| &p.blocks, |p| &p.manifest_json, |p| &p.manifest_text, |p| &p.image];
    for (n, name) in names.into_iter().enumerate() {
        for dangling in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            std::fs::create_dir(&out).unwrap();
            let paths = ImagePaths::new(&out, SNAPSHOT);
            let victim = dir.path().join("victim");
            if !dangling {
                std::fs::write(&victim, b"not yours").unwrap();
            }
            let link = name(&paths);
            symlink(&victim, link).unwrap();
            let result =
                image_snapshot(Arc::new(Memory::small()), &request(SNAPSHOT, &out), Arc::new(NoProgress)).await;
            let what = format!("link at {} (dangling: {dangling})", link.display());
            match result {
                Err(ImageError::Symlink { path }) => assert_eq!(&path, link, "{what}"),
                // The final names are refused as already there, a link included.
                Err(ImageError::Exists { path }) if n >= 3 => assert_eq!(&path, link, "{what}"),
                other => panic!("{what}: expected a refusal, got {other:?}"),
            }
            match dangling {
                true => assert!(!victim.exists(), "{what}: a file was created through the link"),
                false => assert_eq!(std::fs::read(&victim).unwrap(), b"not yours", "{what}"),
            }
            assert!(std::fs::symlink_metadata(link).unwrap().file_type().is_symlink(), "{what}: the link stays");
        }
    }
}
