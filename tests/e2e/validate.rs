//! `stagecraft validate`: the reference configuration and every example pass; a broken file
//! reports every error with its position and exits 1 without touching anything.

use crate::support::{Run, scratch, stagecraft, stagecraft_with_env};

#[test]
fn reference_and_examples_are_valid() {
    let dir = scratch();
    let mut configs = vec!["deploy.toml.example".to_string()];
    for name in ["api-stages", "canary-rollout", "amplify-site"] {
        configs.push(format!("examples/{name}/deploy.toml"));
    }
    for config in configs {
        // validate needs no secrets.
        let run = stagecraft_with_env(dir.path(), &["--config", &config, "validate"], &[]);
        assert_eq!(run.code, 0, "{config}: {}", run.stderr);
        assert!(run.stdout.contains("is valid"), "{}", run.stdout);
    }
    // The environments example: a base with each environment's file layered on it.
    for environment in ["staging", "production"] {
        let run = stagecraft_with_env(
            dir.path(),
            &[
                "--config",
                "examples/environments/base.toml",
                "--config",
                &format!("examples/environments/{environment}.toml"),
                "validate",
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{environment}: {}", run.stderr);
        assert!(
            run.stdout.contains(&format!(
                "examples/environments/base.toml + examples/environments/{environment}.toml is valid"
            )),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn every_error_at_once_with_positions_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.toml"),
        "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.stages.s]\nrevison = \"1\"\ncache_size = 3\n[rest_apis.a.stages.t]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.u\"]\n",
    )
    .unwrap();
    let run = stagecraft(dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("4 errors in deploy.toml"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("deploy.toml:6:1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `revision`?"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
    // Nothing was written beside the file.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn cycles_name_every_member() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.toml"),
        "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.stages.x]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.y\"]\n[rest_apis.a.stages.y]\nrevision = \"1\"\nvariables = { up = \"${rest_apis.a.stages.z.invoke_url}\" }\n[rest_apis.a.stages.z]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.x\"]\n",
    )
    .unwrap();
    let run = stagecraft(dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    // miette wraps long messages; undo that before looking for the whole cycle.
    let unwrapped = run.stderr.replace("\n  | ", " ");
    assert!(
        unwrapped.contains(
            "rest_apis.a.stages.x -> rest_apis.a.stages.y -> rest_apis.a.stages.z -> rest_apis.a.stages.x"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_secret_is_named_by_plan_but_not_needed_by_validate() {
    let dir = scratch();
    let run = stagecraft_with_env(
        dir.path(),
        &["--config", "deploy.toml.example", "plan"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("ORDERS_API_KEY"), "{}", run.stderr);
    assert!(run.stderr.contains("WEB_PASSWORD"), "{}", run.stderr);
}

/// A stage with an unknown key, two stages that depend on each other and a variable read from
/// an environment variable that is not set.
const THREE_PROBLEMS: &str = "[project]\nname = \"p\"\n\
[rest_apis.a]\nid = \"abc\"\n\
[rest_apis.a.stages.x]\nrevision = \"1\"\ncolour = \"blue\"\n\
variables = { key = { env = \"STAGECRAFT_TEST_UNSET_KEY\" } }\n\
depends_on = [\"rest_apis.a.stages.y\"]\n\
[rest_apis.a.stages.y]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.x\"]\n";

/// `stagecraft COMMAND` on [`THREE_PROBLEMS`]: it fails with one report of `errors` errors that
/// holds the file's own error and the cycle.
fn three_problems(command: &str, errors: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.toml"), THREE_PROBLEMS).unwrap();
    let run = stagecraft_with_env(dir.path(), &[command], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{errors} errors in deploy.toml")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown key `colour`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("dependency cycle"), "{}", run.stderr);
    run
}

/// Integrity 6: the file's own errors, the cycle and the missing variable come in one report
/// (they took three runs: the cycle was looked for only once the file had no error, the
/// environment only once there was no cycle), and the cycle underlines both members.
#[test]
fn plan_reports_file_errors_cycles_and_missing_variables_at_once() {
    let run = three_problems("plan", 3);
    assert!(
        run.stderr.contains("depends on `rest_apis.a.stages.y`")
            && run.stderr.contains("depends on `rest_apis.a.stages.x`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the environment variable `STAGECRAFT_TEST_UNSET_KEY` is not set"),
        "{}",
        run.stderr
    );
}

/// Integrity 6 for `validate`, which reads no environment: the file's errors and the cycle in
/// one report.
#[test]
fn validate_reports_file_errors_and_cycles_at_once() {
    let run = three_problems("validate", 2);
    assert!(!run.stderr.contains("STAGECRAFT_TEST_UNSET_KEY` is not set"));
}

/// Integrity 5: a file that is not UTF-8 is refused at the line and column of its first bad
/// byte (it was an I/O error naming no position).
#[test]
fn a_file_that_is_not_utf8_is_an_error_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.toml"),
        b"[project]\nname = \"p\"\n# caf\xe9\n",
    )
    .unwrap();
    let run = stagecraft(dir.path(), &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("not UTF-8"), "{}", run.stderr);
    assert!(run.stderr.contains("deploy.toml:3:6"), "{}", run.stderr);
}

/// Integrity 7: a file with many errors shows the first 50 in full and counts the rest.
#[test]
fn errors_beyond_the_first_fifty_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("[project]\nname = \"p\"\n");
    for n in 1..=60 {
        text.push_str(&format!("extra_{n:03} = 1\n"));
    }
    std::fs::write(dir.path().join("deploy.toml"), text).unwrap();
    let run = stagecraft(dir.path(), &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("60 errors in deploy.toml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown key `extra_050`"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("unknown key `extra_051`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("... and 10 more errors"),
        "{}",
        run.stderr
    );
}
