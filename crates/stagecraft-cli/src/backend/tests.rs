//! Tests of the backend's shared writing: a document that cannot be serialized is an error that
//! writes nothing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;

/// A value serde_json refuses: a map whose keys are not strings.
fn unserializable() -> BTreeMap<(u8, u8), u8> {
    BTreeMap::from([((1, 2), 3)])
}

/// Guards integrity 8: the journal's lines were built with `unwrap_or_default()`, so an entry
/// that did not serialize became an empty line and the file was replaced all the same.
#[test]
fn a_line_that_cannot_be_serialized_is_an_error_and_the_file_stays_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json.journal");
    fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let entries = [BTreeMap::new(), unserializable()];
    let error = write_json_lines(&path, "the apply journal", &entries).unwrap_err();
    assert!(
        matches!(
            error,
            BackendError::Serialize {
                what: "the apply journal",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"earlier\":true}\n");
    let leftovers = fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "a temporary file was left behind");
}

#[test]
fn lines_that_serialize_are_written_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let entries = [BTreeMap::from([("a", 1)]), BTreeMap::from([("b", 2)])];
    write_json_lines(&path, "the apply journal", &entries).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
}

#[test]
fn the_lock_info_serializes_with_its_id() {
    let info = LockInfo::new("plan");
    let text = info.to_json().unwrap();
    let back: LockInfo = serde_json::from_str(&text).unwrap();
    assert_eq!(back.id, info.id);
    assert_eq!(back.operation, "plan");
}
