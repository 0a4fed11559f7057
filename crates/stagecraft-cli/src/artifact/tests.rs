//! Unit tests of artifact packaging: determinism, layout, pass-through and the digest.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;
use crate::load::digest_directory;

/// Writes `files` (relative path, contents) under `root`, in the given order.
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (relative, contents) in files {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
    }
}

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

const SITE: &[(&str, &str)] = &[
    ("index.html", "<h1>hello</h1>"),
    ("assets/app.js", "console.log('hi')"),
    ("assets/style.css", "body { color: red }"),
    ("404.html", "not found"),
];

#[test]
fn same_contents_with_different_mtimes_and_creation_order_give_identical_zips() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    write_tree(&one.path().join("dist"), SITE);
    let mut reversed = SITE.to_vec();
    reversed.reverse();
    write_tree(&two.path().join("dist"), &reversed);
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for (relative, _) in SITE {
        set_mtime(&one.path().join("dist").join(relative), old);
    }

    let a = package(one.path(), "dist").unwrap();
    let b = package(two.path(), "dist").unwrap();
    let bytes_a = fs::read(a.path()).unwrap();
    assert_eq!(bytes_a, fs::read(b.path()).unwrap());
    assert_eq!(a.size(), bytes_a.len() as u64);
    assert_eq!(a.digest(), b.digest());

    // A changed byte changes both the zip and the digest.
    fs::write(two.path().join("dist/assets/app.js"), "console.log('ho')").unwrap();
    let c = package(two.path(), "dist").unwrap();
    assert_ne!(bytes_a, fs::read(c.path()).unwrap());
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn contents_go_at_the_zip_root_sorted_with_fixed_metadata() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("build/web"), SITE);
    let packaged = package(dir.path(), "build/web").unwrap();
    let mut archive = zip::ZipArchive::new(fs::File::open(packaged.path()).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    // file_names() follows the central directory's order.
    let mut in_order = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        in_order.push(entry.name().to_owned());
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o644));
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let expected = SITE.iter().find(|(n, _)| *n == entry.name()).unwrap().1;
        assert_eq!(text, expected);
    }
    assert_eq!(
        in_order,
        [
            "404.html",
            "assets/app.js",
            "assets/style.css",
            "index.html"
        ]
    );
    assert_eq!(names.len(), 4);
    assert!(archive.by_name("index.html").is_ok());
}

#[test]
fn digest_agrees_with_the_plans_digest() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("dist"), SITE);
    let packaged = package(dir.path(), "dist").unwrap();
    assert_eq!(
        packaged.digest(),
        digest_directory(&dir.path().join("dist")).unwrap()
    );
}

#[test]
fn a_zip_file_is_used_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"PK\x03\x04 whatever the user built";
    fs::write(dir.path().join("site.zip"), bytes).unwrap();
    let packaged = package(dir.path(), "site.zip").unwrap();
    assert_eq!(packaged.path(), dir.path().join("site.zip"));
    assert_eq!(packaged.size(), bytes.len() as u64);
    assert_eq!(
        packaged.digest(),
        digest_file(&dir.path().join("site.zip")).unwrap()
    );
    // Dropping a given zip leaves the user's file alone.
    drop(packaged);
    assert_eq!(fs::read(dir.path().join("site.zip")).unwrap(), bytes);
}

#[test]
fn the_temporary_zip_is_removed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("dist"), SITE);
    let packaged = package(dir.path(), "dist").unwrap();
    let path = packaged.path().to_path_buf();
    assert!(path.exists());
    drop(packaged);
    assert!(!path.exists());
}

#[test]
fn an_empty_folder_is_an_empty_zip() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    let packaged = package(dir.path(), "empty").unwrap();
    let archive = zip::ZipArchive::new(fs::File::open(packaged.path()).unwrap()).unwrap();
    assert_eq!(archive.len(), 0);
}

#[test]
fn anything_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "x").unwrap();
    for path in ["notes.txt", "missing"] {
        let err = package(dir.path(), path).unwrap_err();
        assert!(
            matches!(err, ArtifactError::NotAnArtifact { .. }),
            "{path}: {err}"
        );
    }
}
