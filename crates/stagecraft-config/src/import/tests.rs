#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Host, PathInfo};

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Directory
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

const FILE: &str = r#"
[project]
name = "p"

[rest_apis.a]
id = "abc123"

[rest_apis.a.stages.live]
revision = "1"

[rest_apis.a.stages.live.canary]
revision = "2"
percent_traffic = 10

[amplify_apps.w]
id = "d1abc"

[amplify_apps.w.branches.main]

[[import]]
to = "rest_apis.a.stages.live"

[[import]]
to = "rest_apis.a.stages.live.canary"

[[import]]
to = "amplify_apps.w.branches.main"
"#;

#[test]
fn blocks_parse_in_file_order_with_the_span_of_their_address() {
    let config = crate::parse(FILE, &NoHost).unwrap();
    let to: Vec<String> = config.imports.iter().map(|i| i.to.to_string()).collect();
    assert_eq!(
        to,
        [
            "rest_apis.a.stages.live",
            "rest_apis.a.stages.live.canary",
            "amplify_apps.w.branches.main"
        ]
    );
    let first = &config.imports[0];
    let at = first.to_span.offset()..first.to_span.offset() + first.to_span.len();
    assert_eq!(&FILE[at], "\"rest_apis.a.stages.live\"");
}

#[test]
fn the_id_is_terraforms_import_id_from_the_configuration() {
    let config = crate::parse(FILE, &NoHost).unwrap();
    let ids: Vec<Option<String>> = config.imports.iter().map(|i| i.id(&config)).collect();
    assert_eq!(
        ids,
        [
            Some("abc123/live".to_string()),
            Some("abc123/live".to_string()),
            Some("d1abc/main".to_string())
        ]
    );
    let undeclared = Address::parse("rest_apis.zz.stages.s").unwrap();
    assert_eq!(import_id(&config, &undeclared), None);
}

#[test]
fn blocks_from_every_config_file_are_gathered() {
    let (base, rest) = FILE.split_once("[[import]]").unwrap();
    let input = crate::Input {
        configs: vec![
            crate::InputFile {
                name: "base.toml".into(),
                bytes: format!("{base}[[import]]\nto = \"rest_apis.a.stages.live\"\n").into_bytes(),
                folder: String::new(),
            },
            crate::InputFile {
                name: "more.toml".into(),
                bytes: format!("[[import]]{}", rest.split_once("[[import]]").unwrap().1)
                    .into_bytes(),
                folder: String::new(),
            },
        ],
        ..Default::default()
    };
    let (parsed, _) = crate::parse_input(input, &NoHost);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let config = parsed.config.unwrap();
    assert_eq!(config.imports.len(), 3);
}
