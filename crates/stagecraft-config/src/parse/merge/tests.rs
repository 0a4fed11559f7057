//! Environments: `--config base.toml --config prod.toml` merges the files in order, and every
//! diagnostic names the file and line its value came from.
#![allow(clippy::unwrap_used)]

use crate::*;

struct Disk;

impl Host for Disk {
    fn inspect_path(&self, path: &str) -> PathInfo {
        match path {
            "dist" | "envs/prod-dist" => PathInfo::Directory,
            _ => PathInfo::Missing,
        }
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

const BASE: &str = r#"[project]
name = "shop"

[state]
path = "state/base.json"

[variables.release]
default = "r1"

[rest_apis.orders]
id = "abc123"

[rest_apis.orders.defaults]
variables = { level = "info", region = "eu" }

[rest_apis.orders.stages.prod]
revision = "${var.release}"
description = "base"
tracing = true
variables = { a = "1", b = "2" }
depends_on = ["amplify_apps.web.branches.main"]

[amplify_apps.web]
id = "d2k3j4h5g6"

[amplify_apps.web.branches.main]
artifact = "dist"
"#;

const PROD: &str = r#"[state]
backend = "s3"
bucket = "prod-state"
key = "shop.json"

[variables.release]
default = "r7"

[rest_apis.orders.defaults]
variables = { level = "warn" }

[rest_apis.orders.stages.prod]
variables = { b = "20", c = "30" }
depends_on = []

[amplify_apps.web.branches.main]
artifact = "prod-dist"
"#;

fn file(name: &str, text: &str, folder: &str) -> InputFile {
    InputFile {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
        folder: folder.to_string(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Text(template) => template.as_literal().unwrap(),
        _ => panic!("{value:?}"),
    }
}

#[test]
fn later_files_merge_over_earlier_ones() {
    let input = Input {
        configs: vec![
            file("base.toml", BASE, ""),
            file("envs/prod.toml", PROD, "envs"),
        ],
        ..Input::default()
    };
    let (parsed, _) = parse_input(input, &Disk);
    let config = parsed.into_result().unwrap();
    // [state] is replaced whole: the base's `path` does not leak into the s3 backend.
    assert_eq!(
        config.state,
        StateSettings::S3 {
            bucket: "prod-state".into(),
            key: "shop.json".into(),
            region: None,
        }
    );
    let stage = config.stage("orders", "prod").unwrap();
    // A variable's default overridden by a later file, used in a key the later file left.
    assert_eq!(stage.revision, "r7");
    assert_eq!(stage.description.as_deref(), Some("base"));
    assert!(stage.tracing);
    // Tables merge key by key (the stage's, then its API's defaults); arrays are replaced.
    let variables: Vec<(String, String)> = stage
        .variables
        .iter()
        .map(|(key, value)| (key.clone(), text(value)))
        .collect();
    assert_eq!(
        variables,
        [
            ("a", "1"),
            ("b", "20"),
            ("c", "30"),
            ("level", "warn"),
            ("region", "eu")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert!(stage.depends_on.is_empty());
    // A relative path resolves against the folder of the file that wrote it.
    let branch = config.branch("web", "main").unwrap();
    assert_eq!(branch.artifact.as_ref().unwrap().path, "envs/prod-dist");
}

#[test]
fn an_error_in_a_later_file_names_that_file_and_line() {
    let prod = "[rest_apis.orders.stages.prod]\ncache_size = \"7\"\ntracng = true\n";
    let input = Input {
        configs: vec![file("base.toml", BASE, ""), file("prod.toml", prod, "")],
        ..Input::default()
    };
    let (parsed, sources) = parse_input(input, &Disk);
    assert_eq!(parsed.errors.len(), 2, "{:?}", parsed.errors);
    let report = ConfigErrors::in_sources(&sources, parsed.errors);
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut rendered, &report)
        .unwrap();
    assert!(rendered.contains("2 errors in prod.toml"), "{rendered}");
    assert!(rendered.contains("[prod.toml:2:14]"), "{rendered}");
    assert!(rendered.contains("[prod.toml:3:1]"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn a_stage_only_in_a_later_file_joins_the_model() {
    // A stage only prod.toml declares is planned; base.toml keeps its own stage.
    let prod = "[rest_apis.orders.stages.beta]\nrevision = \"b1\"\n";
    let base = BASE.replace(
        "description = \"base\"",
        "description = \"base\"\ncanary = { revision = \"${var.release}\" }",
    );
    let input = Input {
        configs: vec![file("base.toml", &base, ""), file("prod.toml", prod, "")],
        ..Input::default()
    };
    let (parsed, _) = parse_input(input, &Disk);
    let config = parsed.into_result().unwrap();
    assert!(config.stage("orders", "beta").is_some());
    assert_eq!(
        config
            .stage("orders", "prod")
            .unwrap()
            .canary
            .as_ref()
            .unwrap()
            .revision,
        "r1"
    );
}
