//! The schema against the validation: every example and valid fixture validates, every invalid
//! fixture that is a shape error fails it (the semantic ones are listed), each table's keys are
//! the walker's, the rules' patterns mean what the rules check; and a snapshot of the schema.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{ADDRESS_PATTERN, DURATION_PATTERN, schema};
use crate::{Host, PathInfo, rules};

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).unwrap()
}

/// A TOML file as the JSON instance an editor validates.
fn instance(source: &str) -> Option<Json> {
    let table: toml::Table = source.parse().ok()?;
    Some(serde_json::to_value(table).unwrap())
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(toml_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            out.push(path);
        }
    }
    out
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn errors_of(validator: &jsonschema::Validator, instance: &Json) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn the_schema_is_a_valid_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // The meta-schema accepts it.
    assert!(jsonschema::meta::is_valid(&schema));
}

#[test]
fn every_example_and_valid_fixture_validates() {
    let validator = validator();
    let repo = crate_dir().join("../..");
    let mut files = toml_files(&repo.join("examples"));
    files.extend(toml_files(&crate_dir().join("tests/fixtures/valid")));
    files.push(repo.join("deploy.toml.example"));
    assert!(files.len() >= 6, "{files:?}");
    let environments = repo.join("examples/environments");
    let base = instance(&std::fs::read_to_string(environments.join("base.toml")).unwrap()).unwrap();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let mut instance = instance(&source).unwrap();
        // An environment's file is layered over the base (`--config base.toml --config
        // staging.toml`): the schema describes the merged document.
        if path.parent() == Some(environments.as_path()) && !path.ends_with("base.toml") {
            let mut merged = base.clone();
            merge(&mut merged, instance);
            instance = merged;
        }
        let errors = errors_of(&validator, &instance);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

/// `over` merged into `base` as `--config` merges files: tables key by key, `state` and
/// everything else replaced.
fn merge(base: &mut Json, over: Json) {
    let (Json::Object(base), Json::Object(over)) = (base, over) else {
        unreachable!("documents are tables")
    };
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(existing @ Json::Object(_)), value @ Json::Object(_)) if key != "state" => {
                merge_tables(existing, value)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn merge_tables(base: &mut Json, over: Json) {
    let (Json::Object(base), Json::Object(over)) = (base, over) else {
        unreachable!()
    };
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(existing @ Json::Object(_)), value @ Json::Object(_)) => {
                merge_tables(existing, value)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Invalid fixtures whose problem is not the document's shape: what they refer to, the
/// environment, the file system. The schema cannot see these; `stagecraft validate` does.
const SEMANTIC: &[&str] = &[
    "21_artifact_missing.toml",
    "22_unknown_depends_on.toml",
    "23_unknown_reference.toml",
    "24_unknown_attribute.toml",
    "28_missing_env_var.toml",
    "29_env_value_breaks_rule.toml",
    "38_canary_reference_without_canary.toml",
    "44_undeclared_variable.toml",
    "45_unset_variable.toml",
    "46_sensitive_variable_misused.toml",
    "48_variable_value_breaks_rule.toml",
    "50_moved_blocks.toml",
    "51_moved_chain.toml",
];

/// Invalid fixtures whose problems are rules between values (rising steps, one bake per step,
/// `percent_traffic` equal to the first step, a poll interval within the shortest bake), which a
/// JSON Schema cannot state; `stagecraft validate` does.
const RELATIONAL: &[&str] = &["55_rollout_relations.toml"];

/// Invalid fixtures that are not TOML at all (an editor's TOML parser reports them).
const NOT_TOML: &[&str] = &[
    "01_syntax_error.toml",
    "39_duplicate_key.toml",
    "41_not_utf8.toml",
];

#[test]
fn exactly_the_semantic_invalid_fixtures_pass_the_schema() {
    let validator = validator();
    let mut passing = BTreeSet::new();
    let mut not_toml = BTreeSet::new();
    let files = toml_files(&crate_dir().join("tests/fixtures/invalid"));
    assert!(files.len() >= 40);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = String::from_utf8(std::fs::read(&path).unwrap()).ok();
        match source.as_deref().and_then(instance) {
            None => {
                not_toml.insert(name);
            }
            Some(instance) => {
                if validator.is_valid(&instance) {
                    passing.insert(name);
                }
            }
        }
    }
    let semantic: BTreeSet<String> = SEMANTIC
        .iter()
        .chain(RELATIONAL)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        passing, semantic,
        "the shape errors the schema misses, or semantic ones it catches"
    );
    let expected: BTreeSet<String> = NOT_TOML.iter().map(ToString::to_string).collect();
    assert_eq!(not_toml, expected);
}

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Directory
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

/// A document with every table the walker checks the keys of.
const PROBE: &str = r#"
[project]
name = "p"

[variables.v]
default = "1"

[state]
backend = "s3"
bucket = "b"
key = "k"

[aws]
max_attempts = 3

[rest_apis.a]
id = "abc"

[rest_apis.a.defaults]
tracing = true

[rest_apis.a.stages.s]
revision = "1"

[rest_apis.a.stages.s.canary]
revision = "2"

[rest_apis.a.stages.s.canary.rollout]
steps = [5]
bake = "1m"

[amplify_apps.b]
id = "d1"

[amplify_apps.b.defaults]
framework = "React"

[amplify_apps.b.branches.m]
basic_auth = { username = { env = "USER_NAME" }, password = "p" }
"#;

/// The keys the walker allows in the table at `path` of `document`: a key it cannot know is
/// added there, and its error lists the allowed ones.
fn walker_keys(document: &str, path: &[&str]) -> BTreeSet<String> {
    let mut doc: toml_edit::DocumentMut = document.parse().unwrap();
    let mut item = doc.as_item_mut();
    for key in path {
        item = item.as_table_like_mut().unwrap().get_mut(key).unwrap();
    }
    item.as_table_like_mut()
        .unwrap()
        .insert("zzzz", toml_edit::value(1));
    let parsed = crate::parse_recoverable(&doc.to_string(), &NoHost);
    let error = parsed
        .errors
        .iter()
        .find(|error| error.code == "config::unknown_key")
        .unwrap_or_else(|| panic!("no unknown key at {path:?}: {:?}", parsed.errors));
    let help = error.help.as_deref().unwrap();
    let list = help.split(" are: ").nth(1).unwrap();
    list.split(", ").map(ToString::to_string).collect()
}

/// The keys of the schema's object at `pointer`.
fn schema_keys(pointer: &str) -> BTreeSet<String> {
    let schema = schema();
    let object = schema.pointer(pointer).unwrap();
    assert_eq!(object["additionalProperties"], false, "{pointer}");
    object["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_table_has_the_walkers_keys() {
    let local = PROBE.replace(
        "backend = \"s3\"\nbucket = \"b\"\nkey = \"k\"",
        "backend = \"local\"",
    );
    let cases: &[(&str, &[&str], &str)] = &[
        (PROBE, &[], ""),
        (PROBE, &["project"], "/$defs/project"),
        (PROBE, &["state"], "/$defs/state/then"),
        (&local, &["state"], "/$defs/state/else"),
        (PROBE, &["aws"], "/$defs/aws"),
        (PROBE, &["variables", "v"], "/$defs/variable"),
        (PROBE, &["rest_apis", "a"], "/$defs/rest_api"),
        (
            PROBE,
            &["rest_apis", "a", "defaults"],
            "/$defs/rest_api/properties/defaults",
        ),
        (
            PROBE,
            &["amplify_apps", "b", "defaults"],
            "/$defs/amplify_app/properties/defaults",
        ),
        (PROBE, &["rest_apis", "a", "stages", "s"], "/$defs/stage"),
        (
            PROBE,
            &["rest_apis", "a", "stages", "s", "canary"],
            "/$defs/canary",
        ),
        (
            PROBE,
            &["rest_apis", "a", "stages", "s", "canary", "rollout"],
            "/$defs/rollout",
        ),
        (PROBE, &["amplify_apps", "b"], "/$defs/amplify_app"),
        (
            PROBE,
            &["amplify_apps", "b", "branches", "m"],
            "/$defs/branch",
        ),
        (
            PROBE,
            &["amplify_apps", "b", "branches", "m", "basic_auth"],
            "/$defs/branch/properties/basic_auth",
        ),
        (
            PROBE,
            &[
                "amplify_apps",
                "b",
                "branches",
                "m",
                "basic_auth",
                "username",
            ],
            "/$defs/env_reference",
        ),
    ];
    // The probe itself is valid.
    assert!(crate::parse_recoverable(PROBE, &NoHost).errors.is_empty());
    for (document, path, pointer) in cases {
        let walker = walker_keys(document, path);
        let schema = schema_keys(pointer);
        let missing: Vec<&String> = walker.difference(&schema).collect();
        let extra: Vec<&String> = schema.difference(&walker).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "the table at {path:?} (schema {pointer}): the walker accepts {missing:?} that \
             schema.rs does not describe, and schema.rs describes {extra:?} that the walker \
             refuses; describe each key the walker accepts in schema.rs"
        );
    }
}

/// The regex crate's reading of a schema pattern (JSON Schema's patterns are unanchored).
fn regex(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}

#[test]
fn each_rules_pattern_allows_exactly_its_characters() {
    let all = [
        &rules::STAGE_NAME,
        &rules::VARIABLE_NAME,
        &rules::VARIABLE_VALUE,
        &rules::RESOURCE_KEY,
        &rules::REST_API_ID,
        &rules::AMPLIFY_APP_ID,
        &rules::BRANCH_NAME,
        &rules::AMPLIFY_ENV_NAME,
        &rules::AMPLIFY_ENV_VALUE,
        &rules::BASIC_AUTH_PART,
        &rules::BRANCH_DESCRIPTION,
        &rules::FRAMEWORK,
        &rules::REVISION,
        &rules::PROJECT_NAME,
        &rules::REGION,
        &rules::ENV_NAME,
    ];
    // Every ASCII and Latin-1 character, and a sample above.
    let sample = (0u32..0x800)
        .chain([0x2028, 0x200B, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF])
        .filter_map(char::from_u32);
    let sample: Vec<char> = sample.collect();
    for rule in all {
        let class = regex(&format!("^{}$", rule.chars.pattern_class()));
        for &c in &sample {
            assert_eq!(
                class.is_match(&c.to_string()),
                rule.chars.allows(c),
                "{} and U+{:04X}",
                rule.code,
                c as u32
            );
        }
    }
}

#[test]
fn the_duration_pattern_agrees_with_humantime() {
    let pattern = regex(DURATION_PATTERN);
    let mut accepted = 0;
    for text in [
        "5s",
        "1500ms",
        "1m 30s",
        "2h",
        "1day",
        "10 s",
        "0s",
        "3weeks",
        "100us",
        "1.5s",
        "2h30m",
        "5 minutes",
        "1 M",
        " 7d ",
        "",
        "5",
        "1.5",
        "5 parsecs",
        "s",
        "-1s",
        "five seconds",
        "1.s",
        "1e3s",
        "5s,",
        "5 s s",
    ] {
        let parsed = humantime::parse_duration(text).is_ok();
        accepted += usize::from(parsed);
        assert_eq!(pattern.is_match(text), parsed, "{text:?}");
    }
    assert!(accepted >= 10);
}

#[test]
fn the_address_pattern_agrees_with_the_address_parser() {
    let pattern = regex(ADDRESS_PATTERN);
    for text in [
        "rest_apis.a.stages.prod",
        "rest_apis.a.stages.prod.canary",
        "amplify_apps.web.branches.main",
        "amplify_apps.web.branches.\"release/1.0\"",
    ] {
        assert!(crate::Address::parse(text).is_ok(), "{text}");
        assert!(pattern.is_match(text), "{text}");
    }
    for text in [
        "rest_apis.a",
        "rest_apis.a.stages",
        "rest_apis.a.stages.prod.canary.x",
        "rest_apis..stages.prod",
        "amplify_apps.web.branch.main",
        "stages.prod",
    ] {
        assert!(crate::Address::parse(text).is_err(), "{text}");
        assert!(!pattern.is_match(text), "{text}");
    }
}

#[test]
fn the_schema_snapshot() {
    insta::assert_json_snapshot!(schema());
}

#[test]
fn every_object_of_the_schema_has_its_keys_sorted() {
    // The same text whether or not the build turns on serde_json's `preserve_order`.
    fn check(value: &Json, at: &str) {
        match value {
            Json::Object(map) => {
                let keys: Vec<&String> = map.keys().collect();
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted, "{at}");
                for (key, value) in map {
                    check(value, &format!("{at}/{key}"));
                }
            }
            Json::Array(items) => items.iter().for_each(|item| check(item, at)),
            _ => {}
        }
    }
    check(&schema(), "");
}

/// Every path exists and every variable is set: only the file itself can be wrong.
struct PermissiveHost;

impl Host for PermissiveHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Directory
    }

    fn env_var(&self, _: &str) -> Option<String> {
        Some("value".to_string())
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    /// The schema is never stricter than the validation: a mutated example that `validate`
    /// accepts, the schema accepts too.
    #[test]
    fn what_the_validation_accepts_the_schema_accepts(
        which in 0usize..16,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 0u8..3, proptest::prelude::any::<char>()),
            1..4,
        ),
    ) {
        let repo = crate_dir().join("../..");
        let mut files = toml_files(&repo.join("examples"));
        files.extend(toml_files(&crate_dir().join("tests/fixtures/valid")));
        files.push(repo.join("deploy.toml.example"));
        let source = std::fs::read_to_string(&files[which % files.len()]).unwrap();
        let mut text: Vec<char> = source.chars().collect();
        for (index, op, c) in edits {
            if text.is_empty() {
                break;
            }
            let at = index.index(text.len());
            match op {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, c),
                _ => text[at] = c,
            }
        }
        let text: String = text.into_iter().collect();
        let parsed = crate::parse_recoverable(&text, &PermissiveHost);
        if parsed.errors.is_empty() && parsed.config.is_some() {
            let instance = instance(&text).unwrap();
            let errors = errors_of(&validator(), &instance);
            proptest::prop_assert!(errors.is_empty(), "{text}\n{errors:#?}");
        }
    }
}

#[test]
fn the_defaults_are_the_models() {
    let schema = schema();
    let defaults = crate::AwsSettings::default();
    let interval = schema
        .pointer("/$defs/aws/properties/create_deployment_interval/default")
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(
        humantime::parse_duration(interval).unwrap(),
        defaults.create_deployment_interval
    );
    assert_eq!(
        schema["$defs"]["aws"]["properties"]["max_attempts"]["default"],
        defaults.max_attempts
    );
    assert_eq!(
        schema["$defs"]["state"]["else"]["properties"]["path"]["default"],
        crate::DEFAULT_STATE_PATH
    );
}
