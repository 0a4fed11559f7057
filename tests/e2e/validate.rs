//! `stagecraft validate`: the reference configuration and every example pass; a broken file
//! reports every error with its position and exits 1 without touching anything.

use crate::support::{scratch, stagecraft, stagecraft_with_env};

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
