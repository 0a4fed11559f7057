//! Defaults: what a REST API's stages and an Amplify app's branches inherit, and what their
//! own keys override.
#![allow(clippy::unwrap_used)]

use crate::*;

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Missing
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::Text(template) => template.as_literal().unwrap(),
        _ => panic!("{value:?}"),
    }
}

#[test]
fn stages_inherit_their_apis_defaults_and_their_own_keys_win() {
    let config = parse(
        r#"
[project]
name = "p"

[rest_apis.a]
id = "abc123"

[rest_apis.a.defaults]
description = "shared"
tracing = true
cache_size = "1.6"
variables = { level = "info", region = "eu" }

[rest_apis.a.stages.inherits]
revision = "1"

[rest_apis.a.stages.overrides]
revision = "1"
description = "own"
tracing = false
cache_size = 118
variables = { level = "debug", extra = "x" }
"#,
        &NoHost,
    )
    .unwrap();
    let inherits = config.stage("a", "inherits").unwrap();
    assert_eq!(inherits.description.as_deref(), Some("shared"));
    assert!(inherits.tracing);
    assert_eq!(inherits.cache_size, Some(CacheSize::Gb1_6));
    assert_eq!(literal(&inherits.variables["level"]), "info");
    let overrides = config.stage("a", "overrides").unwrap();
    assert_eq!(overrides.description.as_deref(), Some("own"));
    assert!(!overrides.tracing);
    assert_eq!(overrides.cache_size, Some(CacheSize::Gb118));
    let variables: Vec<(&str, String)> = overrides
        .variables
        .iter()
        .map(|(key, value)| (key.as_str(), literal(value)))
        .collect();
    assert_eq!(
        variables,
        vec![
            ("extra", "x".to_string()),
            ("level", "debug".to_string()),
            ("region", "eu".to_string())
        ]
    );
}

#[test]
fn branches_inherit_their_apps_defaults_and_their_own_keys_win() {
    let config = parse(
        r#"
[project]
name = "p"

[amplify_apps.web]
id = "d2k3j4h5g6"

[amplify_apps.web.defaults]
stage = "PRODUCTION"
framework = "React"
description = "site"
environment = { A = "1", B = "2" }
basic_auth = { username = "admin", password = "pw" }

[amplify_apps.web.branches.main]

[amplify_apps.web.branches.dev]
stage = "DEVELOPMENT"
framework = "Vue"
environment = { B = "20" }
basic_auth = { username = "dev", password = "devpw" }
"#,
        &NoHost,
    )
    .unwrap();
    let main = config.branch("web", "main").unwrap();
    assert_eq!(main.stage, Some(AmplifyStage::Production));
    assert_eq!(main.framework.as_deref(), Some("React"));
    assert_eq!(main.description.as_deref(), Some("site"));
    assert_eq!(literal(&main.environment["B"]), "2");
    assert_eq!(
        literal(&main.basic_auth.as_ref().unwrap().username),
        "admin"
    );
    let dev = config.branch("web", "dev").unwrap();
    assert_eq!(dev.stage, Some(AmplifyStage::Development));
    assert_eq!(dev.framework.as_deref(), Some("Vue"));
    assert_eq!(dev.description.as_deref(), Some("site"));
    assert_eq!(literal(&dev.environment["A"]), "1");
    assert_eq!(literal(&dev.environment["B"]), "20");
    assert_eq!(literal(&dev.basic_auth.as_ref().unwrap().username), "dev");
}
