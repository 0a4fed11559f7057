//! Several files in one offset space: each span finds its file, and a snippet is read from
//! that file alone, with its own line numbers.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn a_span_is_read_from_its_own_file_with_its_line_numbers() {
    let mut sources = Sources::new();
    let a = sources.push(
        "a.toml",
        SourceRole::Config,
        String::new(),
        "one\ntwo\n".into(),
    );
    let b = sources.push(
        "b.toml",
        SourceRole::Config,
        String::new(),
        "three\nfour".into(),
    );
    assert_eq!((a, b), (0, 9));
    assert_eq!(sources.file_at(8).unwrap().name, "a.toml");
    assert_eq!(sources.file_at(9).unwrap().name, "b.toml");
    assert_eq!(&sources.text()[b + 6..b + 10], "four");
    let shown = sources.shown();
    let found = shown
        .read_span(&SourceSpan::new((b + 6).into(), 4), 1, 1)
        .unwrap();
    assert_eq!(found.name(), Some("b.toml"));
    // Line 1 of b.toml (from 0), with the line before it from b.toml, not a.toml.
    assert_eq!(found.line(), 0);
    assert_eq!(std::str::from_utf8(found.data()).unwrap(), "three\nfour");
    assert_eq!(found.span().offset(), b);
}

#[test]
fn masked_ranges_show_three_stars_whatever_their_length() {
    let mut sources = Sources::new();
    sources.push(
        "v.toml",
        SourceRole::VarFile,
        String::new(),
        "k = \"secret\"\n".into(),
    );
    sources.mask(4..12);
    let shown = sources.shown();
    let found = shown
        .read_span(&SourceSpan::new(0.into(), 12), 0, 0)
        .unwrap();
    assert_eq!(std::str::from_utf8(found.data()).unwrap(), "k = ***     ");
}
