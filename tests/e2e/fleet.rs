//! Support for the apply tests that drive many stages at once (faults, schedule, crash): a fleet of
//! new REST APIs and its configuration, spawning the binary as a child process, reading the
//! state file, and checking it against LocalStack read directly (never through a proxy).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::aws;

/// One stage in a generated configuration.
#[derive(Debug, Clone)]
pub struct StageSpec {
    pub name: String,
    pub revision: String,
    pub description: Option<String>,
    pub tracing: bool,
    pub variables: Vec<(String, String)>,
}

impl StageSpec {
    /// A stage with only a revision.
    pub fn new(name: impl Into<String>, revision: impl Into<String>) -> StageSpec {
        StageSpec {
            name: name.into(),
            revision: revision.into(),
            description: None,
            tracing: false,
            variables: Vec::new(),
        }
    }
}

/// A REST API (by LocalStack id) and its stages; its configuration key is `api{index}`.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    pub id: String,
    pub stages: Vec<StageSpec>,
}

/// `apis` new REST APIs with `stages` stages each, the `i`th made by `stage(i)`.
pub fn fleet(apis: usize, stages: usize, stage: impl Fn(usize) -> StageSpec) -> Vec<ApiSpec> {
    (0..apis)
        .map(|_| ApiSpec {
            id: aws::new_api(),
            stages: (0..stages).map(&stage).collect(),
        })
        .collect()
}

/// The configuration key of the `index`th API.
pub fn api_key(index: usize) -> String {
    format!("api{index}")
}

/// A `deploy.toml` for `apis` with the given `create_deployment_interval`.
pub fn config(interval: &str, apis: &[ApiSpec]) -> String {
    let mut text = format!(
        "[project]\nname = \"e2e-fleet\"\nregion = \"us-east-1\"\n\n[aws]\n\
         create_deployment_interval = \"{interval}\"\n"
    );
    for (index, api) in apis.iter().enumerate() {
        let key = api_key(index);
        let _ = write!(text, "\n[rest_apis.{key}]\nid = \"{}\"\n", api.id);
        for stage in &api.stages {
            let _ = write!(
                text,
                "\n[rest_apis.{key}.stages.{}]\nrevision = \"{}\"\n",
                stage.name, stage.revision
            );
            if let Some(description) = &stage.description {
                let _ = writeln!(text, "description = \"{description}\"");
            }
            if stage.tracing {
                text.push_str("tracing = true\n");
            }
            if !stage.variables.is_empty() {
                let pairs: Vec<String> = stage
                    .variables
                    .iter()
                    .map(|(k, v)| format!("{k} = \"{v}\""))
                    .collect();
                let _ = writeln!(text, "variables = {{ {} }}", pairs.join(", "));
            }
        }
    }
    text
}

/// Writes `deploy.toml` into `dir`.
pub fn write_config(dir: &Path, interval: &str, apis: &[ApiSpec]) {
    std::fs::write(dir.join("deploy.toml"), config(interval, apis)).unwrap();
}

/// `stagecraft ARGS` in `dir` against `endpoint`, as a command to spawn (same environment as
/// `aws::stagecraft_at`).
pub fn command(dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    crate::support::command(dir, args, &aws::env_for(endpoint, &[]))
}

/// The state file in `dir`, parsed (the test fails when it does not parse).
pub fn state(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("stagecraft.state.json")).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the state does not parse: {e}\n{text}"))
}

/// Checks that every stage of `apis` is in the state with the configured revision and settings,
/// and that LocalStack (read directly) has each one pointing at the deployment the state
/// records, with the same description, tracing and variables.
pub fn assert_state_matches_aws(dir: &Path, apis: &[ApiSpec]) {
    let state = state(dir);
    let resources = state["resources"].as_object().unwrap();
    let expected: usize = apis.iter().map(|api| api.stages.len()).sum();
    assert_eq!(resources.len(), expected, "state resources: {resources:?}");
    for (index, api) in apis.iter().enumerate() {
        let live: BTreeMap<String, _> = aws::stages(&api.id)
            .into_iter()
            .map(|stage| (stage.stage_name().unwrap_or_default().to_string(), stage))
            .collect();
        assert_eq!(live.len(), api.stages.len(), "stages of {}", api.id);
        for spec in &api.stages {
            let address = format!("rest_apis.{}.stages.{}", api_key(index), spec.name);
            let record = &resources
                .get(&address)
                .unwrap_or_else(|| panic!("{address} is not in the state"));
            let stage = live
                .get(&spec.name)
                .unwrap_or_else(|| panic!("{address}: no such stage on LocalStack"));
            assert_eq!(record["revision"], spec.revision.as_str(), "{address}");
            assert_eq!(
                record["deployment_id"].as_str(),
                stage.deployment_id(),
                "{address}: state and LocalStack disagree on the deployment"
            );
            assert!(
                state["deployments"][&api.id][&spec.revision].is_string(),
                "{address}: revision {} is not in the revision map",
                spec.revision
            );
            assert_eq!(
                record["description"].as_str(),
                spec.description.as_deref(),
                "{address}"
            );
            assert_eq!(
                stage.description(),
                spec.description.as_deref(),
                "{address}"
            );
            assert_eq!(record["tracing"].as_bool(), Some(spec.tracing), "{address}");
            assert_eq!(stage.tracing_enabled(), spec.tracing, "{address}");
            let wanted: BTreeMap<String, String> = spec.variables.iter().cloned().collect();
            let recorded: BTreeMap<String, String> = record["variables"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            assert_eq!(recorded, wanted, "{address}: recorded variables");
            let on_aws: BTreeMap<String, String> = stage
                .variables()
                .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            assert_eq!(on_aws, wanted, "{address}: variables on LocalStack");
        }
    }
}

/// A small seeded generator (xorshift64*), so runs are reproducible without another dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}
