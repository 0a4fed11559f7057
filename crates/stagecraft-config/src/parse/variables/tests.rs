//! Input variables: the order of precedence, substitution anywhere a string goes, and the
//! masking of sensitive values.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::*;

/// A host whose environment is a fixed map and whose disk is empty.
struct Env(BTreeMap<String, String>);

impl Host for Env {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Missing
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env(pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

const CONFIG: &str = r#"
[project]
name = "p"

[variables.release]
default = "from-default"

[variables.token]
sensitive = true
default = "default-token"

[rest_apis.a]
id = "abc123"

[rest_apis.a.stages.s]
revision = "${var.release}"
description = "release ${var.release}, not $${var.release}"
variables = { token = "${var.token}", both = "x-${var.release}" }
"#;

fn file(name: &str, text: &str) -> InputFile {
    InputFile {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
        folder: String::new(),
    }
}

fn input(var_files: &[(&str, &str)], vars: &[(&str, &str)]) -> Input {
    Input {
        configs: vec![file("deploy.toml", CONFIG)],
        var_files: var_files
            .iter()
            .map(|(name, text)| file(name, text))
            .collect(),
        vars: vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
    }
}

fn release(input: Input, host: &Env) -> (String, VariableOrigin) {
    let (parsed, _) = parse_input(input, host);
    let config = parsed.into_result().unwrap();
    let variable = &config.variables["release"];
    assert_eq!(
        config.stage("a", "s").unwrap().revision,
        variable.value.expose()
    );
    (variable.value.expose().to_string(), variable.origin.clone())
}

#[test]
fn precedence_is_default_env_var_files_in_order_then_flags_in_order() {
    let none = env(&[]);
    let from_env = env(&[("STAGECRAFT_VAR_release", "from-env")]);
    assert_eq!(
        release(input(&[], &[]), &none),
        ("from-default".into(), VariableOrigin::Default)
    );
    assert_eq!(
        release(input(&[], &[]), &from_env),
        ("from-env".into(), VariableOrigin::Environment)
    );
    let files = [
        ("one.toml", "release = \"from-one\""),
        ("two.toml", "release = \"from-two\""),
    ];
    assert_eq!(
        release(input(&files[..1], &[]), &from_env),
        (
            "from-one".into(),
            VariableOrigin::VarFile("one.toml".into())
        )
    );
    assert_eq!(
        release(input(&files, &[]), &from_env),
        (
            "from-two".into(),
            VariableOrigin::VarFile("two.toml".into())
        )
    );
    assert_eq!(
        release(
            input(&files, &[("release", "flag-1"), ("release", "flag-2")]),
            &from_env
        ),
        ("flag-2".into(), VariableOrigin::Flag)
    );
}

#[test]
fn variables_are_substituted_wherever_a_string_goes() {
    let (parsed, _) = parse_input(input(&[], &[("release", "r9")]), &env(&[]));
    let config = parsed.into_result().unwrap();
    let stage = config.stage("a", "s").unwrap();
    assert_eq!(stage.revision, "r9");
    assert_eq!(
        stage.description.as_deref(),
        Some("release r9, not ${var.release}")
    );
    let Value::Text(both) = &stage.variables["both"] else {
        panic!()
    };
    assert_eq!(both.as_literal().as_deref(), Some("x-r9"));
    assert!(matches!(&stage.variables["token"], Value::Var { name, .. } if name == "token"));
}

#[test]
fn a_sensitive_variable_is_read_into_secrets_and_never_shown() {
    let (parsed, _) = parse_input(input(&[], &[("token", "flag-token")]), &env(&[]));
    let config = parsed.into_result().unwrap();
    let variable = &config.variables["token"];
    assert!(variable.sensitive);
    assert!(!format!("{config:?}").contains("flag-token"));
    let secrets = resolve_secrets(&config, &env(&[])).unwrap();
    assert_eq!(secrets.get("var.token").unwrap().expose(), "flag-token");
    let value = &config.stage("a", "s").unwrap().variables["token"];
    assert_eq!(value.secret_key().as_deref(), Some("var.token"));
}

#[test]
fn var_file_values_are_masked_in_reports_and_errors_point_at_their_file() {
    let files = [(
        "secrets.toml",
        "token = \"hunter2-in-clear\"\ncount = 3\ntokne = \"typo-secret\"\n",
    )];
    let (parsed, sources) = parse_input(input(&files, &[("nope", "flag-secret")]), &env(&[]));
    let errors = parsed.errors;
    let codes: Vec<&str> = errors.iter().map(|error| error.code).collect();
    assert_eq!(
        codes,
        vec![
            "config::wrong_type",
            "config::undeclared_variable",
            "config::undeclared_variable"
        ],
        "{errors:?}"
    );
    let report = ConfigErrors::in_sources(&sources, errors);
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut rendered, &report)
        .unwrap();
    for secret in ["hunter2", "typo-secret", "flag-secret"] {
        assert!(!rendered.contains(secret), "{rendered}");
    }
    // Nor their lengths: every value shows the same three stars.
    assert!(!rendered.contains("****"), "{rendered}");
    assert!(rendered.contains("[secrets.toml:2:1]"), "{rendered}");
    assert!(rendered.contains("[secrets.toml:3:1]"), "{rendered}");
    assert!(rendered.contains("[command line:1:7]"), "{rendered}");
    assert!(rendered.contains("did you mean `token`?"), "{rendered}");
    insta::assert_snapshot!(rendered);
}
