//! Helpers shared by the core's unit tests: configurations from TOML snippets and plans made
//! from them, with environment values and artifact digests invented predictably.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use stagecraft_config::{Address, Config, Host, PathInfo};

use crate::graph::Graph;
use crate::plan::{Plan, PlanError, PlanInput, PlanMode, plan};
use crate::state::State;

/// Every path exists; `$NAME` is `value-of-NAME`.
pub(crate) struct TestHost;

impl Host for TestHost {
    fn inspect_path(&self, _path: &str) -> PathInfo {
        PathInfo::Directory
    }
    fn env_var(&self, name: &str) -> Option<String> {
        Some(format!("value-of-{name}"))
    }
}

/// A configuration of project `t` in us-east-1 with `text` after its `[project]` table.
pub(crate) fn config(text: &str) -> Config {
    let full = format!("[project]\nname = \"t\"\nregion = \"us-east-1\"\n{text}");
    stagecraft_config::parse(&full, &TestHost).unwrap()
}

/// The plan of `config` against `state`.
pub(crate) fn make_plan(config: &Config, state: Option<&State>) -> Result<Plan, PlanError> {
    make_plan_with(config, state, PlanMode::Normal, &[])
}

/// The artifact digest the tests use for `path`.
pub(crate) fn artifact_digest(path: &str) -> String {
    format!("digest-of-{path}")
}

/// The plan with a mode and targets.
pub(crate) fn make_plan_with(
    config: &Config,
    state: Option<&State>,
    mode: PlanMode,
    targets: &[Address],
) -> Result<Plan, PlanError> {
    let secrets = stagecraft_config::resolve_secrets(config, &TestHost).unwrap();
    let graph = Graph::build(config).unwrap();
    let digests: BTreeMap<String, String> = config
        .amplify_apps
        .values()
        .flat_map(|app| app.branches.values())
        .filter_map(|branch| branch.artifact.as_ref())
        .map(|artifact| (artifact.path.clone(), artifact_digest(&artifact.path)))
        .collect();
    plan(&PlanInput {
        config,
        secrets: &secrets,
        graph: &graph,
        state,
        new_lineage: "lineage".to_string(),
        region: config.project.region.clone(),
        artifact_digests: &digests,
        config_digest: "cfg".to_string(),
        mode,
        targets,
    })
}
