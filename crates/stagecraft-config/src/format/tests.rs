//! The canonical form: a messy file's formatted text (snapshot), comments and values kept,
//! layouts kept, idempotence on every example and fixture, syntax errors at their span.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::format;

const MESSY: &str = "  # The orders service.   \n\n\n[project]   \n   name=\"orders\"   # the project's name\nregion   =  'eu-west-1'\n\n\n\n   [ rest_apis . orders ]\n\nid = \"a1b2c3d4e5\"\n[rest_apis.orders.stages.prod]\n    revision=\"2026-11-20.1\"\n\n\n    # Where traffic goes.\n    variables={backend=\"orders-prod\",region   =   \"eu\"}\n    depends_on = [  \"amplify_apps.site.branches.main\"  ,\"rest_apis.orders.stages.dev\" ]\n    empty  =  {   }\n    cache_size = 0.5\n[rest_apis.orders.stages.dev]\nrevision = \"\"\"\nkept   \nas is   \"\"\"\nlayout = [\n    \"one\",   \n      \"two\", # second\n]\nmeta . owner  =  \"team\"\nmeta.\"on call\" = \"x\"\n\n\n# The end.   \n\n\n";

#[test]
fn a_messy_file_becomes_canonical() {
    insta::assert_snapshot!(format(MESSY).unwrap());
}

#[test]
fn formatting_keeps_values_comments_and_key_order() {
    let out = format(MESSY).unwrap();
    assert_eq!(
        MESSY.parse::<toml::Table>().unwrap(),
        out.parse::<toml::Table>().unwrap()
    );
    for comment in [
        "# The orders service.",
        "# the project's name",
        "# Where traffic goes.",
        "# second",
        "# The end.",
    ] {
        assert!(out.contains(comment), "{comment} lost:\n{out}");
    }
    // Trailing whitespace inside a multi-line string is the string's own.
    assert!(out.contains("kept   \nas is   \"\"\""), "{out}");
    let revision = out.find("revision = \"2026").unwrap();
    let variables = out.find("variables = {").unwrap();
    let depends_on = out.find("depends_on = [").unwrap();
    assert!(revision < variables && variables < depends_on, "{out}");
}

#[test]
fn the_canonical_form_has_no_trailing_whitespace_and_one_final_newline() {
    let out = format(MESSY).unwrap();
    assert!(out.ends_with("# The end.\n"), "{out:?}");
    for line in out.lines() {
        // The multi-line string's lines are its value.
        if line == "kept   " || line == "as is   \"\"\"" {
            continue;
        }
        assert_eq!(line, line.trim_end(), "trailing whitespace in {line:?}");
    }
    assert!(!out.contains("\n\n\n"), "{out}");
}

#[test]
fn multi_line_arrays_keep_their_layout() {
    let source = "[project]\nname = \"x\"\nlist = [\n  \"a\",  \n  # why\n  \"b\",\n]\n";
    let out = format(source).unwrap();
    assert_eq!(
        out,
        "[project]\nname = \"x\"\nlist = [\n  \"a\",\n  # why\n  \"b\",\n]\n"
    );
}

#[test]
fn one_line_values_inside_a_multi_line_array_are_tidied() {
    let source = "[a]\nz = [\n  { a = 1 },\n  {b=2},   \n  [ 3,4 ],\n]\n";
    assert_eq!(
        format(source).unwrap(),
        "[a]\nz = [\n  { a = 1 },\n  { b = 2 },\n  [3, 4],\n]\n"
    );
}

#[test]
fn a_canonical_file_is_unchanged() {
    let source = "# Top.\n[project]\nname = \"x\" # name\n\n# APIs.\n[rest_apis.a]\nid = \"abc\"\nvariables = { a = \"1\", b = \"2\" }\nlist = [\"x\", \"y\"]\n";
    assert_eq!(format(source).unwrap(), source);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(format("").unwrap(), "");
    assert_eq!(format("\n\n  \n").unwrap(), "");
    assert_eq!(format("  # only   \n\n").unwrap(), "# only\n");
    assert_eq!(format("# no newline").unwrap(), "# no newline\n");
}

#[test]
fn a_file_that_is_not_toml_is_a_syntax_error_at_its_span() {
    let source = "[project]\nname = \"x\"\nbroken = \n";
    let error = format(source).unwrap_err();
    assert_eq!(error.code, "config::syntax");
    let at = error.span.offset();
    assert!(
        (source.find("broken").unwrap()..=source.len()).contains(&at),
        "{at}: {error:?}"
    );
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            out.push(path);
        }
    }
}

/// Every example, fixture and the annotated reference file.
fn every_config_file() -> Vec<PathBuf> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = crate_dir.join("../..");
    let mut files = Vec::new();
    toml_files(&crate_dir.join("tests/fixtures"), &mut files);
    toml_files(&repo.join("examples"), &mut files);
    files.push(repo.join("deploy.toml.example"));
    files
}

#[test]
fn formatting_is_idempotent_on_every_example_and_fixture() {
    let files = every_config_file();
    assert!(files.len() >= 40, "only {} files", files.len());
    let mut formatted = 0;
    for path in files {
        let Ok(source) = String::from_utf8(std::fs::read(&path).unwrap()) else {
            continue;
        };
        let Ok(once) = format(&source) else {
            // Only the fixtures of broken TOML fail to format.
            assert!(
                source.parse::<toml::Table>().is_err(),
                "{} parses but does not format",
                path.display()
            );
            continue;
        };
        formatted += 1;
        let twice = format(&once).unwrap();
        assert_eq!(once, twice, "{} is not stable", path.display());
        assert_eq!(
            source.parse::<toml::Table>().unwrap(),
            once.parse::<toml::Table>().unwrap(),
            "{} changed values",
            path.display()
        );
    }
    assert!(formatted >= 40, "only {formatted} files formatted");
}

#[test]
fn the_examples_are_already_canonical() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    toml_files(&repo.join("examples"), &mut files);
    files.push(repo.join("deploy.toml.example"));
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            format(&source).unwrap(),
            source,
            "{} is not formatted",
            path.display()
        );
    }
}

#[test]
fn aligned_trailing_comments_and_their_continuations_stay_aligned() {
    let source = "[project]\nname = \"x\"      # the name,\n                 # continued\nregion = \"us-east-1\" # where\n";
    assert_eq!(format(source).unwrap(), source);
    // A comment line that continues nothing loses its indentation.
    let source = "[project]\nname = \"x\"\n    # about the region\nregion = \"us-east-1\"\n";
    assert_eq!(
        format(source).unwrap(),
        "[project]\nname = \"x\"\n# about the region\nregion = \"us-east-1\"\n"
    );
    // A comment glued to its value gets one space.
    assert_eq!(
        format("[project]\nname = \"x\"# why\n").unwrap(),
        "[project]\nname = \"x\" # why\n"
    );
}

#[test]
fn a_header_is_set_off_by_one_blank_line_before_or_after_its_comments() {
    // Comments about the next table: the blank line goes before them.
    assert_eq!(
        format("[a]\nx = 1\n# about b\n[b]\ny = 2\n").unwrap(),
        "[a]\nx = 1\n\n# about b\n[b]\ny = 2\n"
    );
    // Comments that end the previous table, then a blank line: left as they are.
    let source = "[a]\nx = 1\n# y = 2 (disabled)\n\n[b]\ny = 2\n";
    assert_eq!(format(source).unwrap(), source);
    // Blank lines after a header go.
    assert_eq!(format("[a]\n\n\nx = 1\n").unwrap(), "[a]\nx = 1\n");
}

/// The examples and valid fixtures, as text.
fn sources() -> Vec<String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = crate_dir.join("../..");
    let mut files = Vec::new();
    toml_files(&crate_dir.join("tests/fixtures/valid"), &mut files);
    toml_files(&repo.join("examples"), &mut files);
    files.push(repo.join("deploy.toml.example"));
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect()
}

/// `source` with its whitespace scrambled, line by line: indentation, the spaces around a key's
/// `=`, trailing whitespace and extra blank lines (none of them inside a string: these files
/// have no multi-line strings).
fn scramble(source: &str, noise: &[(u8, u8, u8, u8)]) -> String {
    let mut out = String::new();
    for (index, line) in source.lines().enumerate() {
        let (indent, equals, trailing, blanks) = noise[index % noise.len()];
        out.push_str(&" \t  "[..usize::from(indent % 4)]);
        let is_key = !line.starts_with('#') && !line.starts_with('[') && line.contains(" = ");
        if is_key && equals % 3 != 0 {
            let spaced = if equals % 3 == 1 { "=" } else { "   =\t" };
            out.push_str(&line.replacen(" = ", spaced, 1));
        } else {
            out.push_str(line);
        }
        out.push_str(&"  \t"[..usize::from(trailing % 3)]);
        out.push('\n');
        for _ in 0..blanks % 3 {
            out.push('\n');
        }
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    #[test]
    fn scrambled_examples_format_stably_with_their_values(
        which in 0usize..16,
        noise in proptest::collection::vec((0u8..8, 0u8..8, 0u8..8, 0u8..8), 1..12),
    ) {
        let sources = sources();
        let source = &sources[which % sources.len()];
        let scrambled = scramble(source, &noise);
        let once = format(&scrambled).unwrap();
        proptest::prop_assert_eq!(&format(&once).unwrap(), &once);
        proptest::prop_assert_eq!(
            scrambled.parse::<toml::Table>().unwrap(),
            once.parse::<toml::Table>().unwrap()
        );
        for line in once.lines() {
            proptest::prop_assert_eq!(line, line.trim_end());
            if !line.starts_with([' ', '\t']) {
                continue;
            }
            // Only a comment continuing the one above may be indented.
            proptest::prop_assert!(line.trim_start().starts_with('#'), "{}", line);
        }
        proptest::prop_assert!(!once.contains("\n\n\n"));
    }

    #[test]
    fn mutated_text_never_panics_and_formats_stably(
        which in 0usize..16,
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<char>()), 1..6),
    ) {
        let sources = sources();
        let mut text: Vec<char> = sources[which % sources.len()].chars().collect();
        for (index, c) in edits {
            let at = index.index(text.len() + 1);
            text.insert(at, c);
        }
        let text: String = text.into_iter().collect();
        if let Ok(once) = format(&text) {
            proptest::prop_assert_eq!(&format(&once).unwrap(), &once);
        }
    }
}
