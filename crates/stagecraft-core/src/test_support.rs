//! Helpers shared by the core's unit tests: configurations from TOML snippets and plans made
//! from them, with environment values and artifact digests invented predictably.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use stagecraft_config::{Address, Attribute, Config, Host, PathInfo};

use crate::apply::record::applied_state;
use crate::graph::Graph;
use crate::plan::{
    Action, Desired, Plan, PlanError, PlanInput, PlanMode, plan, promoted_stage, resolve_attribute,
};
use crate::state::{ResourceState, SaltSeed, State};

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
    make_plan_flags(config, state, mode, targets, &[], &[])
}

/// The plan made at `now` (for the time left in a rollout's bake), with `--replace` addresses.
pub(crate) fn make_plan_at(
    config: &Config,
    state: Option<&State>,
    now: crate::state::Timestamp,
    replace: &[Address],
) -> Result<Plan, PlanError> {
    make_plan_full(
        config,
        state,
        PlanMode::Normal,
        &[],
        replace,
        &[],
        Some(now),
    )
}

/// The plan with a mode, targets, `--replace` and `--exclude` addresses.
pub(crate) fn make_plan_flags(
    config: &Config,
    state: Option<&State>,
    mode: PlanMode,
    targets: &[Address],
    replace: &[Address],
    exclude: &[Address],
) -> Result<Plan, PlanError> {
    make_plan_full(config, state, mode, targets, replace, exclude, None)
}

/// The plan of `config` against `state`, with the live records of its `[[import]]` blocks'
/// resources as the CLI would have read them from AWS.
pub(crate) fn make_plan_importing(
    config: &Config,
    state: Option<&State>,
    imports: &BTreeMap<Address, ResourceState>,
    targets: &[Address],
) -> Result<Plan, PlanError> {
    make_plan_inner(
        config,
        state,
        (PlanMode::Normal, targets, &[], &[]),
        None,
        imports,
    )
}

fn make_plan_full(
    config: &Config,
    state: Option<&State>,
    mode: PlanMode,
    targets: &[Address],
    replace: &[Address],
    exclude: &[Address],
    now: Option<crate::state::Timestamp>,
) -> Result<Plan, PlanError> {
    make_plan_inner(
        config,
        state,
        (mode, targets, replace, exclude),
        now,
        &BTreeMap::new(),
    )
}

type Flags<'a> = (PlanMode, &'a [Address], &'a [Address], &'a [Address]);

fn make_plan_inner(
    config: &Config,
    state: Option<&State>,
    (mode, targets, replace, exclude): Flags<'_>,
    now: Option<crate::state::Timestamp>,
    imports: &BTreeMap<Address, ResourceState>,
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
        salt_seed: SaltSeed([7; 16]),
        region: config.project.region.clone(),
        artifact_digests: &digests,
        config_digest: "cfg".to_string(),
        mode,
        targets,
        replace,
        exclude,
        now,
        imports,
    })
}

/// The state that applying `plan` on top of `state` records, with deployment ids invented
/// the way AWS would: a new one per new revision, the recorded one for a known revision.
pub(crate) fn apply_to(state: Option<&State>, plan: &Plan) -> State {
    let mut next = state
        .cloned()
        .unwrap_or_else(|| State::new("t", plan.lineage.clone()));
    plan.refactor(&mut next);
    for change in &plan.changes {
        match &change.after {
            None => {
                if change.actions.contains(&Action::Promote)
                    && let Some(ResourceState::Canary(canary)) = &change.before
                {
                    let stage_key = change.address.canary_parent().unwrap();
                    if let Some(ResourceState::Stage(stage)) = next.resources.get_mut(&stage_key) {
                        *stage = promoted_stage(stage, canary);
                    }
                }
                next.resources.remove(&change.address);
            }
            Some(desired) => {
                let mut desired = desired.clone();
                let ids: BTreeMap<Address, String> = plan
                    .changes
                    .iter()
                    .filter_map(|c| match &c.after {
                        Some(Desired::Stage(s)) => Some((c.address.clone(), s.rest_api_id.clone())),
                        _ => None,
                    })
                    .collect();
                let current = next.clone();
                let lookup = |address: &str, attribute: &str| -> Option<String> {
                    let parsed = Address::parse(address).ok()?;
                    let attribute = Attribute::offered_by(parsed.kind())
                        .iter()
                        .find(|(name, _)| *name == attribute)?
                        .1;
                    resolve_attribute(
                        &parsed,
                        attribute,
                        &|a| ids.get(a).cloned(),
                        plan.region.as_deref(),
                        &|a| match current.resources.get(a) {
                            Some(ResourceState::Stage(s)) => Some(s.deployment_id.clone()),
                            Some(ResourceState::Canary(c)) => Some(c.deployment_id.clone()),
                            Some(ResourceState::Branch(b)) => Some(b.served_url()),
                            None => None,
                        },
                    )
                };
                desired.resolve_deferred(&lookup).unwrap();
                let desired = &desired;
                let (api_id, revision) = match desired {
                    Desired::Stage(stage) => (stage.rest_api_id.clone(), stage.revision.clone()),
                    Desired::Canary(canary) => {
                        (canary.rest_api_id.clone(), canary.revision.clone())
                    }
                    Desired::Branch(_) => (String::new(), String::new()),
                };
                let deployment = next
                    .deployment_of(&api_id, &revision)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("dep-{api_id}-{revision}"));
                next.deployments
                    .entry(api_id)
                    .or_default()
                    .insert(revision, deployment.clone());
                next.resources.insert(
                    change.address.clone(),
                    applied_state(desired, &deployment).unwrap(),
                );
            }
        }
    }
    // Outputs as apply records them: resolved against what was applied.
    let applied: Vec<_> = plan
        .outputs
        .iter()
        .map(|output| {
            let lookup = |address: &str, attribute: &str| -> Option<String> {
                let parsed = Address::parse(address).ok()?;
                let attribute = Attribute::offered_by(parsed.kind())
                    .iter()
                    .find(|(name, _)| *name == attribute)?
                    .1;
                match (next.resources.get(&parsed)?, attribute) {
                    (ResourceState::Stage(s), Attribute::DeploymentId) => {
                        Some(s.deployment_id.clone())
                    }
                    (ResourceState::Canary(c), Attribute::DeploymentId) => {
                        Some(c.deployment_id.clone())
                    }
                    (ResourceState::Branch(b), Attribute::Url) => Some(b.served_url()),
                    _ => None,
                }
            };
            (output.name.clone(), output.applied(&lookup))
        })
        .collect();
    for (name, recorded) in applied {
        match recorded {
            Some(recorded) => next.outputs.insert(name, recorded),
            None => next.outputs.remove(&name),
        };
    }
    next.serial += 1;
    next
}
