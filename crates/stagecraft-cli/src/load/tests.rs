//! Tests of loading: the artifact directory digest.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn directory_digest_follows_content_not_mtimes() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("index.html"), "hi").unwrap();
    fs::write(dir.path().join("sub/a.css"), "a").unwrap();
    let first = digest_directory(dir.path()).unwrap();
    // Rewriting the same bytes changes the mtime only.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(dir.path().join("index.html"), "hi").unwrap();
    assert_eq!(digest_directory(dir.path()).unwrap(), first);
    fs::write(dir.path().join("sub/a.css"), "b").unwrap();
    assert_ne!(digest_directory(dir.path()).unwrap(), first);
    // Renaming a file changes the digest even with the same bytes.
    fs::write(dir.path().join("sub/a.css"), "a").unwrap();
    assert_eq!(digest_directory(dir.path()).unwrap(), first);
    fs::rename(dir.path().join("sub/a.css"), dir.path().join("sub/b.css")).unwrap();
    assert_ne!(digest_directory(dir.path()).unwrap(), first);
}
