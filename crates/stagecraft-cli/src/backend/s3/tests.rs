//! Tests of the S3 state backend's local parts: the journal path and the blocking bridge.

use super::*;

#[test]
fn the_journal_lives_under_the_configuration_folder_and_cannot_escape_it() {
    let base = Path::new("/project");
    let cases = [
        (
            "b",
            "state.json",
            "/project/.stagecraft/b/state.json.journal",
        ),
        (
            "b",
            "team/prod/state.json",
            "/project/.stagecraft/b/team/prod/state.json.journal",
        ),
        (
            "b",
            "../../etc/x",
            "/project/.stagecraft/b/_/_/etc/x.journal",
        ),
        ("b", "/a//b/", "/project/.stagecraft/b/_/a/_/b/_.journal"),
        ("b", ".", "/project/.stagecraft/b/_.journal"),
    ];
    for (bucket, key, expected) in cases {
        assert_eq!(
            journal_path(base, bucket, key),
            Path::new(expected),
            "{key}"
        );
    }
}

#[test]
fn block_on_works_inside_and_outside_a_runtime() {
    assert_eq!(block_on(async { 1 }).ok(), Some(1));
    let outer = tokio::runtime::Builder::new_current_thread().build().ok();
    let inside = outer.map(|outer| outer.block_on(async { block_on(async { 2 }).ok() }));
    assert_eq!(inside, Some(Some(2)));
}
