//! The command-line tools run as the binary: `fmt` (writes, `--check` exit codes, `--diff`, a
//! broken file untouched), `schema`, `completions`, `man` and `graph`. None calls AWS.

use std::path::Path;

use std::io::Write;
use std::process::Stdio;

use crate::support::{Run, command, scratch, stagecraft};

const MESSY: &str = "# Orders.\n[project]\nname=\"orders\"   \n\n\n\n[rest_apis.orders]   # the API\n  id = \"a1b2c3d4e5\"\n[rest_apis.orders.stages.prod]\nrevision =\"1\"\nvariables = {backend=\"orders\"}\n";

const FORMATTED: &str = "# Orders.\n[project]\nname = \"orders\"\n\n[rest_apis.orders]   # the API\nid = \"a1b2c3d4e5\"\n\n[rest_apis.orders.stages.prod]\nrevision = \"1\"\nvariables = { backend = \"orders\" }\n";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn fmt_rewrites_the_config_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.toml", MESSY);
    let run = stagecraft(dir.path(), &["fmt"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "deploy.toml\n");
    assert_eq!(read(dir.path(), "deploy.toml"), FORMATTED);
    // Formatted once, nothing more to do.
    let again = stagecraft(dir.path(), &["fmt"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
    // The formatted file is still the same configuration.
    let valid = stagecraft(dir.path(), &["validate"]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
}

#[test]
fn fmt_check_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", MESSY);
    write(dir.path(), "b.toml", FORMATTED);
    let run = stagecraft(dir.path(), &["fmt", "--check", "a.toml", "b.toml"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stdout, "a.toml\n");
    assert_eq!(read(dir.path(), "a.toml"), MESSY);
    let clean = stagecraft(dir.path(), &["fmt", "--check", "b.toml"]);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""));
}

#[test]
fn fmt_diff_prints_a_unified_diff() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.toml", MESSY);
    let run = stagecraft(dir.path(), &["fmt", "--check", "--diff"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    assert_eq!(read(dir.path(), "deploy.toml"), MESSY);
}

#[test]
fn fmt_of_a_folder_formats_its_toml_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("envs")).unwrap();
    write(&dir.path().join("envs"), "b.toml", MESSY);
    write(&dir.path().join("envs"), "a.toml", MESSY);
    write(&dir.path().join("envs"), "notes.txt", "not = toml = at all");
    let run = stagecraft(dir.path(), &["fmt", "envs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "envs/a.toml\nenvs/b.toml\n");
    assert_eq!(read(&dir.path().join("envs"), "b.toml"), FORMATTED);
}

#[test]
fn fmt_leaves_a_broken_file_untouched_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "[project]\nname = \"p\"\nregion = \n";
    write(dir.path(), "broken.toml", broken);
    write(dir.path(), "good.toml", MESSY);
    let run = stagecraft(dir.path(), &["fmt", "broken.toml", "good.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("broken.toml:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("TOML syntax error"), "{}", run.stderr);
    assert_eq!(read(dir.path(), "broken.toml"), broken);
    // The other file is still formatted.
    assert_eq!(read(dir.path(), "good.toml"), FORMATTED);
}

/// `stagecraft fmt ARGS` with `input` on its standard input.
fn fmt_stdin(dir: &Path, args: &[&str], input: &str) -> (i32, String) {
    let mut child = command(dir, args, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn fmt_of_standard_input_prints_the_formatted_text() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        fmt_stdin(dir.path(), &["fmt", "-"], MESSY),
        (0, FORMATTED.to_string())
    );
    assert_eq!(
        fmt_stdin(dir.path(), &["fmt", "--check", "-"], MESSY),
        (3, String::new())
    );
    assert_eq!(
        fmt_stdin(dir.path(), &["fmt", "--check", "-"], FORMATTED),
        (0, String::new())
    );
    let (code, _) = fmt_stdin(dir.path(), &["fmt", "-"], "[project\n");
    assert_eq!(code, 1);
}

#[test]
fn fmt_check_passes_on_every_example() {
    let dir = scratch();
    let run = stagecraft(
        dir.path(),
        &[
            "fmt",
            "--check",
            "deploy.toml.example",
            "examples/api-stages",
            "examples/canary-rollout",
            "examples/amplify-site",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn schema_prints_the_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagecraft(dir.path(), &["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["project"]));
}

fn subcommands() -> Vec<&'static str> {
    vec![
        "validate",
        "plan",
        "apply",
        "import",
        "show",
        "state",
        "force-unlock",
        "fmt",
        "schema",
        "graph",
        "completions",
        "man",
    ]
}

#[test]
fn completions_for_each_shell_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let Run {
            code,
            stdout,
            stderr,
        } = stagecraft(dir.path(), &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.len() > 500, "{shell}: {stdout}");
        for command in subcommands() {
            assert!(stdout.contains(command), "{shell} lacks {command}");
        }
        // fish spells a long option `-l config`.
        assert!(stdout.contains("config"), "{shell} lacks --config");
    }
    let unknown = stagecraft(dir.path(), &["completions", "tcsh"]);
    assert_eq!(unknown.code, 2);
}

#[test]
fn the_man_page_names_every_command_and_global_flag() {
    let dir = tempfile::tempdir().unwrap();
    let run = stagecraft(dir.path(), &["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH stagecraft"),
        "{}",
        run.stdout
    );
    // roff escapes `-` as `\-`.
    let text = run.stdout.replace("\\-", "-");
    for command in subcommands() {
        assert!(text.contains(command), "man page lacks {command}");
    }
    for flag in [
        "--config",
        "--region",
        "--profile",
        "--endpoint-url",
        "--no-color",
        "--parallelism",
        "--lock-timeout",
        "--job-timeout",
        "--verbose",
    ] {
        assert!(text.contains(flag), "man page lacks {flag}");
    }
}

#[test]
fn graph_prints_the_examples_dependencies_as_dot() {
    let dir = scratch();
    let run = stagecraft(dir.path(), &["--config", "deploy.toml.example", "graph"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    assert!(run.stdout.starts_with("digraph stagecraft {\n"));
}

#[test]
fn graph_with_a_target_keeps_what_it_depends_on() {
    let dir = scratch();
    let canary = "rest_apis.orders.stages.prod.canary";
    let run = stagecraft(
        dir.path(),
        &[
            "--config",
            "examples/canary-rollout/deploy.toml",
            "graph",
            "--target",
            canary,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "\"rest_apis.orders.stages.prod.canary\" -> \"rest_apis.orders.stages.prod\";"
        ),
        "{}",
        run.stdout
    );
    let unknown = stagecraft(
        dir.path(),
        &[
            "--config",
            "examples/canary-rollout/deploy.toml",
            "graph",
            "--target",
            "rest_apis.orders.stages.nope",
        ],
    );
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("not declared"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn graph_of_an_invalid_file_is_its_validation_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.toml", "[project]\nnam = \"p\"\n");
    let run = stagecraft(dir.path(), &["graph"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("deploy.toml:2:1"), "{}", run.stderr);
}
