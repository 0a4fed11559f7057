//! Data-driven tests of the walker: every file under `tests/fixtures/invalid` renders its diagnostics into one
//! insta snapshot; every file under `tests/fixtures/valid` (and the repository's examples) parses.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;

use crate::*;

/// A host with a fixed file system and environment, the same for every fixture.
struct FakeHost;

impl Host for FakeHost {
    fn inspect_path(&self, path: &str) -> PathInfo {
        match path {
            "dist/web" | "dist/admin" | "build" => PathInfo::Directory,
            "site.zip" | "README.md" => PathInfo::File,
            _ => PathInfo::Missing,
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        match name {
            "ORDERS_API_KEY" => Some("s3cr3t-key".to_string()),
            "WEB_PASSWORD" => Some("hunter2".to_string()),
            "BAD_VALUE" | "STAGECRAFT_VAR_api_token" => Some("has spaces in it".to_string()),
            _ => None,
        }
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

/// Parses and resolves secrets, returning every error.
fn check(source: &str) -> Result<Config, Vec<ConfigError>> {
    check_bytes(source.as_bytes())
}

/// [`check`] for a file read as bytes, as the CLI reads it.
fn check_bytes(bytes: &[u8]) -> Result<Config, Vec<ConfigError>> {
    let config = parse_bytes(bytes, &FakeHost).into_result()?;
    resolve_secrets(&config, &FakeHost)?;
    Ok(config)
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_fixtures_report_every_error() {
    let files = fixtures("invalid");
    assert!(files.len() >= 30, "only {} invalid fixtures", files.len());
    let mut mismatches = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // Read as bytes: a fixture may be broken below the level of text. Its report is shown
        // against the text with replacement characters, as the CLI shows it.
        let bytes = std::fs::read(&path).unwrap();
        let source = String::from_utf8_lossy(&bytes).into_owned();
        let errors = match check_bytes(&bytes) {
            Ok(_) => panic!("{name} should be invalid"),
            Err(errors) => errors,
        };
        // The fixture's first line says how many errors it holds: `# errors: N`.
        let expected: usize = source
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# errors: "))
            .unwrap_or_else(|| panic!("{name} must start with `# errors: N`"))
            .trim()
            .parse()
            .unwrap();
        let rendered = render(&name, &source, errors.clone());
        if errors.len() != expected {
            mismatches.push(format!(
                "{name}: expected {expected}, got {}\n{rendered}",
                errors.len()
            ));
        }
        insta::assert_snapshot!(name.trim_end_matches(".toml"), rendered);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn valid_fixtures_and_examples_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = fixtures("valid");
    files.push(root.join("deploy.toml.example"));
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path().join("deploy.toml");
        if path.exists() {
            files.push(path);
        }
    }
    assert!(
        files.len() >= 5,
        "expected fixtures and examples, found {files:?}"
    );
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        // Examples name artifacts relative to their own folder: check those with the real disk.
        let host = DiskHost(path.parent().unwrap().to_path_buf());
        let result = parse(&source, &host);
        if let Err(errors) = result {
            panic!("{}", render(&path.display().to_string(), &source, errors));
        }
    }
}

struct DiskHost(PathBuf);

impl Host for DiskHost {
    fn inspect_path(&self, path: &str) -> PathInfo {
        let full = self.0.join(path);
        if full.is_dir() {
            PathInfo::Directory
        } else if full.is_file() {
            PathInfo::File
        } else {
            FakeHost.inspect_path(path)
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        FakeHost.env_var(name)
    }
}

#[test]
fn full_model_of_a_small_file() {
    let source = r#"
[project]
name = "storefront"
region = "us-east-1"

[aws]
create_deployment_interval = "2s"
requests_per_second = 5
request_burst = 20

[rest_apis.orders]
id = "a1b2c3d4e5"

[rest_apis.orders.stages.prod]
revision = "r1"
cache_size = 6.1
variables = { backend = "orders-prod", key = { env = "ORDERS_API_KEY" } }

[rest_apis.orders.stages.prod.canary]
revision = "r2"
percent_traffic = 10

[amplify_apps.web]
id = "d2k3j4h5g6"

[amplify_apps.web.branches."feature/x"]
stage = "BETA"
environment = { API_URL = "${rest_apis.orders.stages.prod.invoke_url}/v1", LITERAL = "$${not_a_ref}" }
depends_on = ["rest_apis.orders.stages.prod.canary"]
"#;
    let config = check(source).unwrap();
    assert_eq!(config.aws.create_deployment_interval.as_millis(), 2000);
    assert_eq!(
        (config.aws.requests_per_second, config.aws.request_burst),
        (5, 20)
    );
    let stage = config.stage("orders", "prod").unwrap();
    assert_eq!(stage.cache_size, Some(CacheSize::Gb6_1));
    assert!(matches!(&stage.variables["key"], Value::Env { name, .. } if name == "ORDERS_API_KEY"));
    assert_eq!(stage.canary.as_ref().unwrap().percent_traffic, 10.0);
    let branch = config.branch("web", "feature/x").unwrap();
    assert_eq!(branch.stage, Some(AmplifyStage::Beta));
    let Value::Text(url) = &branch.environment["API_URL"] else {
        panic!()
    };
    assert_eq!(
        url.parts,
        vec![
            Part::Ref(Reference {
                address: Address::Stage {
                    api: "orders".into(),
                    stage: "prod".into()
                },
                attribute: Attribute::InvokeUrl,
            }),
            Part::Literal("/v1".into()),
        ]
    );
    let Value::Text(literal) = &branch.environment["LITERAL"] else {
        panic!()
    };
    assert_eq!(literal.as_literal().as_deref(), Some("${not_a_ref}"));
    assert_eq!(
        branch.depends_on[0].0,
        Address::Canary {
            api: "orders".into(),
            stage: "prod".into()
        }
    );
    assert_eq!(
        config
            .addresses()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![
            "rest_apis.orders.stages.prod",
            "rest_apis.orders.stages.prod.canary",
            "amplify_apps.web.branches.\"feature/x\"",
        ]
    );
    assert!(
        matches!(config.state, StateSettings::Local { ref path } if path == DEFAULT_STATE_PATH)
    );
}

fn valid_sources() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sources = vec![std::fs::read_to_string(root.join("deploy.toml.example")).unwrap()];
    for path in fixtures("valid") {
        sources.push(std::fs::read_to_string(path).unwrap());
    }
    sources
}

/// Integrity 5: a file that is not UTF-8 is one error at its first bad byte, whose line and
/// column the report names (the CLI used to refuse it with an I/O error and no position).
#[test]
fn text_that_is_not_utf8_is_an_error_at_the_first_bad_byte() {
    let mut bytes = b"[project]\nname = \"p\"\n# caf".to_vec();
    bytes.push(0xE9);
    bytes.extend_from_slice(b"\n\xFF\n");
    let errors = check_bytes(&bytes).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "config::not_utf8");
    assert_eq!(errors[0].span.offset(), 26);
    assert!(errors[0].message.contains("0xE9"), "{}", errors[0].message);
    let rendered = render("deploy.toml", &String::from_utf8_lossy(&bytes), errors);
    assert!(rendered.contains("deploy.toml:3:6"), "{rendered}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic the parser; bytes that are not UTF-8 are one error at the
    /// first bad byte.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let result = check_bytes(&bytes);
        if let Err(error) = std::str::from_utf8(&bytes) {
            let errors = result.unwrap_err();
            prop_assert_eq!(errors.len(), 1);
            prop_assert_eq!(errors[0].span.offset(), error.valid_up_to());
            let _ = render("bytes.toml", &String::from_utf8_lossy(&bytes), errors);
        }
    }

    /// Arbitrary text never panics the parser and never passes with errors reported.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = check(&text);
    }

    /// Random byte-level mutations of valid files never panic, and every error has a span
    /// inside the file.
    #[test]
    fn mutated_examples_never_panic(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..6),
    ) {
        let sources = valid_sources();
        let mut text: Vec<char> = sources[which % sources.len()].chars().collect();
        for (index, op, c) in edits {
            if text.is_empty() { break; }
            let at = index.index(text.len());
            match op {
                0 => { text.remove(at); }
                1 => text.insert(at, c),
                2 => text[at] = c,
                _ => { let line_end = text[at..].iter().position(|c| *c == '\n').map_or(text.len(), |p| at + p); text.drain(at..line_end); }
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(errors) = check(&text) {
            prop_assert!(!errors.is_empty());
            for error in &errors {
                prop_assert!(error.span.offset() + error.span.len() <= text.len(), "{error:?}");
            }
            let _ = render("mutated.toml", &text, errors);
        }
    }
}
