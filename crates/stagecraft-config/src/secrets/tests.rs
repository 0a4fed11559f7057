//! Reading `{ env = ... }` values never shows them, in errors or in `Debug`.
#![allow(clippy::unwrap_used)]

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::*;
use crate::{ConfigErrors, PathInfo, parse};

/// A host whose only variable breaks the stage-variable rule.
struct FakeHost;

impl Host for FakeHost {
    fn inspect_path(&self, _path: &str) -> PathInfo {
        PathInfo::Missing
    }

    fn env_var(&self, name: &str) -> Option<String> {
        (name == "BAD_VALUE").then(|| "has spaces in it".to_string())
    }
}

fn render(name: &str, source: &str, errors: Vec<ConfigError>) -> String {
    let report = ConfigErrors::new(name, source.to_string(), errors);
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, &report)
        .unwrap();
    out
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let source = "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.stages.s]\nrevision = \"1\"\nvariables = { v = { env = \"BAD_VALUE\" } }\n";
    let config = parse(source, &FakeHost).unwrap();
    let errors = resolve_secrets(&config, &FakeHost).unwrap_err();
    let rendered = render("deploy.toml", source, errors);
    assert!(rendered.contains("BAD_VALUE"), "{rendered}");
    assert!(!rendered.contains("has spaces"), "{rendered}");
    let secrets = Secrets::from_pairs([("X".to_string(), "topsecret".to_string())]);
    assert!(!format!("{secrets:?}").contains("topsecret"));
}
