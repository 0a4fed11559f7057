//! The configuration language on the real binary: input variables (`--var`, `--var-file`,
//! `STAGECRAFT_VAR_*`, in Terraform's order of precedence), defaults, and environments
//! (`--config base.toml --config prod.toml`); a sensitive variable applied against LocalStack
//! never appears in a plan (text, JSON, Markdown), an output or the state.

use std::path::Path;

use crate::aws::{self, stagecraft_at};
use crate::support::{Run, stagecraft, stagecraft_with_env};

const CONFIG: &str = r#"[project]
name = "layers"
region = "us-east-1"

[variables.release]
description = "the revision to deploy"
default = "from-default"

[rest_apis.orders]
id = "a1b2c3d4e5"

[rest_apis.orders.defaults]
tracing = true
variables = { level = "info", release = "${var.release}" }

[rest_apis.orders.stages.prod]
revision = "${var.release}"
variables = { level = "warn" }
"#;

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.toml"), config).unwrap();
    dir
}

/// The revision the plan shows for the stage.
fn planned_revision(run: &Run) -> String {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("+ revision"))
        .unwrap_or_else(|| panic!("no revision in\n{}", run.stdout));
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn variables_take_their_values_in_terraforms_order_of_precedence() {
    let dir = project(CONFIG);
    std::fs::write(
        dir.path().join("one.tfvars.toml"),
        "release = \"from-file-1\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("two.toml"), "release = \"from-file-2\"\n").unwrap();
    let env = [("STAGECRAFT_VAR_release", "from-env")];
    let plan = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        planned_revision(&stagecraft_with_env(dir.path(), &all, env))
    };
    assert_eq!(plan(&[], &[]), "from-default");
    assert_eq!(plan(&[], &env), "from-env");
    assert_eq!(
        plan(&["--var-file", "one.tfvars.toml"], &env),
        "from-file-1"
    );
    assert_eq!(
        plan(
            &["--var-file", "one.tfvars.toml", "--var-file", "two.toml"],
            &env
        ),
        "from-file-2"
    );
    // --var wins over every var file, wherever it is written; the last --var wins.
    assert_eq!(
        plan(
            &[
                "--var",
                "release=flag-1",
                "--var-file",
                "two.toml",
                "--var",
                "release=flag-2"
            ],
            &env
        ),
        "flag-2"
    );
    // The plan shows effective values: the defaults' tracing and variables merged key by key.
    let run = stagecraft(dir.path(), &["plan", "--var", "release=r5"]);
    assert!(
        run.stdout.contains("+ tracing       = true"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ \"level\"   = \"warn\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ \"release\" = \"r5\""),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unset_or_undeclared_variable_exits_1_with_its_line_and_column() {
    let dir = project(&CONFIG.replace("default = \"from-default\"\n", ""));
    let run = stagecraft(dir.path(), &["plan", "--var", "relase=typo"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("the variable `release` has no value"),
        "{}",
        run.stderr
    );
    // The first use: `${var.release}` in the defaults' variables, line 13, column 42.
    assert!(run.stderr.contains("deploy.toml:13:42"), "{}", run.stderr);
    assert!(
        run.stderr.contains("which is not a declared variable"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[command line:1:7]"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `release`?"),
        "{}",
        run.stderr
    );
}

const PROD: &str = r#"# production overrides
[variables.release]
default = "prod-release"

[rest_apis.orders.stages.prod]
description = "Production"
variables = { level = "error" }
"#;

#[test]
fn environments_merge_files_and_errors_name_the_file_they_are_in() {
    let dir = project(CONFIG);
    std::fs::write(dir.path().join("prod.toml"), PROD).unwrap();
    let run = stagecraft(
        dir.path(),
        &["--config", "deploy.toml", "--config", "prod.toml", "plan"],
    );
    assert_eq!(planned_revision(&run), "prod-release");
    assert!(
        run.stdout.contains("+ description   = \"Production\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ \"level\"   = \"error\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ tracing       = true"),
        "{}",
        run.stdout
    );
    // The state of each environment may live elsewhere: [state] of the later file wins.
    std::fs::write(
        dir.path().join("prod.toml"),
        format!("{PROD}\n[state]\npath = \"prod.state.json\"\n"),
    )
    .unwrap();
    let run = stagecraft(
        dir.path(),
        &[
            "--config",
            "deploy.toml",
            "--config",
            "prod.toml",
            "plan",
            "--out",
            "p.out",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // An error in the override file names that file, its line and column.
    std::fs::write(
        dir.path().join("prod.toml"),
        PROD.replace("description = \"Production\"", "cache_size = \"7\""),
    )
    .unwrap();
    let run = stagecraft(
        dir.path(),
        &[
            "--config",
            "deploy.toml",
            "--config",
            "prod.toml",
            "validate",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("1 error in prod.toml"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("prod.toml:6:14"), "{}", run.stderr);
}

const SECRET: &str = "sEcReT-token-4711";

fn assert_no_secret(run: &Run, dir: &Path) {
    assert!(
        !run.stdout.contains(SECRET),
        "secret in stdout:\n{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains(SECRET),
        "secret in stderr:\n{}",
        run.stderr
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().is_some_and(|name| name != "secret.toml") {
            let text = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&text).contains(SECRET),
                "secret in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_sensitive_variable_is_masked_everywhere_and_reaches_aws() {
    let api = aws::new_api();
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[project]
name = "secrets"
region = "us-east-1"

[aws]
create_deployment_interval = "100ms"

[variables.token]
sensitive = true

[variables.release]
default = "r1"

[rest_apis.orders]
id = "{api}"

[rest_apis.orders.stages.prod]
revision = "${{var.release}}"
variables = {{ token = "${{var.token}}" }}
"#
    );
    std::fs::write(dir.path().join("deploy.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("secret.toml"),
        format!("token = \"{SECRET}\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--var-file", "secret.toml"];
        all.extend_from_slice(args);
        let run = stagecraft_at(dir.path(), &endpoint, &all, &[("RUST_LOG", "trace")]);
        assert_no_secret(&run, dir.path());
        run
    };
    for format in ["text", "json", "markdown"] {
        let plan = run(&["plan", "--format", format]);
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        assert!(plan.stdout.contains("sensitive"), "{}", plan.stdout);
    }
    let plan = run(&["plan", "--out", "plan.out"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("(sensitive value)"), "{}", plan.stdout);
    // A saved plan is stale when a variable's value changed: a plain one by the configuration
    // digest, a sensitive one by the digest the plan holds where it is used.
    let stale = run(&["--var", "release=r2", "apply", "plan.out"]);
    assert_eq!(stale.code, 1, "{}", stale.stdout);
    assert!(stale.stderr.contains("stale"), "{}", stale.stderr);
    let changed = run(&["--var", "token=another-value", "apply", "plan.out"]);
    assert_eq!(changed.code, 1, "{}", changed.stdout);
    assert!(
        changed
            .stderr
            .contains("var.token changed since the plan was made"),
        "{}\n{}",
        changed.stdout,
        changed.stderr
    );
    let apply = run(&["apply", "plan.out"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let stage = aws::stage(&api, "prod").unwrap();
    assert_eq!(
        stage
            .variables()
            .and_then(|v| v.get("token"))
            .map(String::as_str),
        Some(SECRET)
    );
    let state = std::fs::read_to_string(dir.path().join("stagecraft.state.json")).unwrap();
    assert!(state.contains("argon2id"), "{state}");
    let again = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
