//! The diff: `plan(&PlanInput) -> Plan` chooses each resource's actions from the configuration
//! and the state (`docs/behaviour.md`, "Actions and their calls"), plans promotions, refuses
//! `prevent_destroy` deletions and links each change to the changes it waits for.

use std::collections::{BTreeMap, BTreeSet};

use stagecraft_config::{Address, Config, ResourceKind, Secrets};

use super::model::{
    Action, Change, Desired, DesiredBranch, DesiredCanary, DesiredStage, PLAN_FORMAT_VERSION, Plan,
    PlanMode, PlannedArtifact, PlannedValue,
};
use super::refactor::{Refactors, apply_refactors};
use super::resolve::Resolver;
use super::rollout::{is_rejected, is_running, notes, promoted_as_written};
use crate::graph::Graph;
use crate::state::{
    BasicAuthState, BranchState, CanaryState, ResourceState, SaltSeed, Site, StageState, State,
    StoredValue, Timestamp,
};

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    /// The validated configuration.
    pub config: &'a Config,
    /// The values of its `{ env = ... }` variables.
    pub secrets: &'a Secrets,
    /// The dependency graph of the configuration.
    pub graph: &'a Graph,
    /// The recorded state, if any.
    pub state: Option<&'a State>,
    /// The lineage to use when there is no state yet.
    pub new_lineage: String,
    /// Random bytes from which the salts of new sensitive-value digests are derived (the
    /// engine reads no randomness itself; the caller supplies fresh ones for every plan).
    pub salt_seed: SaltSeed,
    /// The region, when known (for `invoke_url`).
    pub region: Option<String>,
    /// Content digests of artifacts, by configured path.
    pub artifact_digests: &'a BTreeMap<String, String>,
    /// A digest of the configuration text.
    pub config_digest: String,
    /// Normal or destroy.
    pub mode: PlanMode,
    /// `--target` addresses (empty: everything).
    pub targets: &'a [Address],
    /// `--replace` addresses: a fresh deployment each, though nothing changed.
    pub replace: &'a [Address],
    /// `--exclude` addresses: left out, with everything that depends on them.
    pub exclude: &'a [Address],
    /// The time of day the plan is made at, for the time left in a rollout's bake (the engine
    /// reads no clock; `None` leaves it out).
    pub now: Option<Timestamp>,
    /// The live records of the `[[import]]` blocks' resources the state does not record, read
    /// from AWS by the caller (the engine reads no network): what the plan imports.
    pub imports: &'a BTreeMap<Address, ResourceState>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// The plan would delete a resource marked `prevent_destroy`.
    #[error("the plan would destroy {address}, which has prevent_destroy set")]
    #[diagnostic(
        code(plan::prevent_destroy),
        help("set `prevent_destroy = false` and apply first if the resource really must go")
    )]
    PreventDestroy {
        /// The protected resource.
        address: String,
    },
    /// `--target` names no declared or recorded resource.
    #[error("--target {address} names no resource in the configuration or the state")]
    #[diagnostic(code(plan::unknown_target))]
    UnknownTarget {
        /// The unknown address.
        address: String,
    },
    /// A `[[moved]]` block moves a recorded resource onto an address the state also records.
    #[error("cannot move {from} to {to}: the state already records {to}")]
    #[diagnostic(
        code(plan::move_target_exists),
        help("`stagecraft state rm` one of the two records, or remove the [[moved]] block")
    )]
    MoveTargetExists {
        /// The recorded resource moved.
        from: String,
        /// Where it would go.
        to: String,
    },
    /// A `[[moved]]` block moves a record onto an address that names another AWS object.
    #[error(
        "cannot move {from} to {to}: the state records AWS's {recorded} there and the \
         configuration declares {declared}; AWS cannot rename a stage or branch"
    )]
    #[diagnostic(
        code(plan::move_renames),
        help(
            "a move re-keys the record of one AWS object (a REST API or app key renamed, the \
             id kept); to replace it, remove the [[moved]] block: the plan then creates {to} \
             and destroys {from}"
        )
    )]
    MoveRenames {
        /// The recorded resource moved.
        from: String,
        /// Where it would go.
        to: String,
        /// The AWS object recorded, `id/name`.
        recorded: String,
        /// The AWS object declared at `to`, `id/name`.
        declared: String,
    },
    /// `--replace` or `--exclude` names no declared or recorded resource.
    #[error("--{flag} {address} names no resource in the configuration or the state")]
    #[diagnostic(code(plan::unknown_address))]
    UnknownAddress {
        /// `replace` or `exclude`.
        flag: &'static str,
        /// The unknown address.
        address: String,
    },
    /// `--replace` names a resource the plan cannot redeploy.
    #[error("--replace {address}: {reason}")]
    #[diagnostic(code(plan::replace))]
    CannotReplace {
        /// The address.
        address: String,
        /// Why not.
        reason: &'static str,
    },
    /// An `[[import]]` block's resource, not recorded, was not read from AWS by the caller.
    #[error("{address} is to be imported but was not read from AWS")]
    #[diagnostic(code(plan::import_not_read))]
    ImportNotRead {
        /// The address.
        address: String,
    },
    /// An artifact's digest was not supplied.
    #[error("no content digest for artifact `{path}`")]
    #[diagnostic(code(plan::artifact))]
    MissingArtifact {
        /// The artifact path.
        path: String,
    },
}

pub(crate) fn values_match(
    desired: &BTreeMap<String, PlannedValue>,
    stored: &BTreeMap<String, StoredValue>,
) -> bool {
    desired.len() == stored.len()
        && desired
            .iter()
            .all(|(key, value)| stored.get(key).is_some_and(|old| value.matches(old)))
}

/// Computes the plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let config = input.config;
    // Moves and removals first: the diff plans against the state as they leave it.
    let refactors = Refactors::plan(config, input.state)?;
    let imports = super::import::to_import(input, &refactors)?;
    let refactored = (!refactors.is_empty() || !imports.is_empty()).then(|| {
        let mut state = input
            .state
            .cloned()
            .unwrap_or_else(|| State::new(&config.project.name, input.new_lineage.clone()));
        apply_refactors(&mut state, &refactors.moves, &refactors.forgets);
        super::import::record_imports(&mut state, &imports);
        state
    });
    let prior_serial = input.state.map(|state| state.serial);
    let planned_state: Option<&State> = refactored.as_ref().or(input.state);
    let lineage =
        planned_state.map_or_else(|| input.new_lineage.clone(), |state| state.lineage.clone());
    let resolver = Resolver {
        config,
        state: planned_state,
        region: input.region.as_deref(),
        salt_seed: &input.salt_seed,
        replace: input.replace,
    };
    let empty = BTreeMap::new();
    let recorded = planned_state.map_or(&empty, |state| &state.resources);

    // Which addresses the plan may touch.
    let selected: Option<BTreeSet<Address>> = if input.targets.is_empty() {
        None
    } else {
        for target in input.targets {
            if !config.contains(target) && !recorded.contains_key(target) {
                return Err(PlanError::UnknownTarget {
                    address: target.to_string(),
                });
            }
        }
        Some(input.graph.with_dependencies(input.targets))
    };
    for (flag, addresses) in [("replace", input.replace), ("exclude", input.exclude)] {
        if let Some(unknown) = addresses
            .iter()
            .find(|address| !config.contains(address) && !recorded.contains_key(address))
        {
            return Err(PlanError::UnknownAddress {
                flag,
                address: unknown.to_string(),
            });
        }
    }
    // `--exclude`: the excluded resources and what depends on them, transitively.
    let excluded = input.graph.with_dependents(input.exclude);
    let is_selected = |address: &Address| {
        !excluded.contains(address) && selected.as_ref().is_none_or(|set| set.contains(address))
    };

    let mut changes: Vec<Change> = Vec::new();
    let mut unchanged = 0;
    let destroying = input.mode == PlanMode::Destroy;

    // Promotions: a canary in the state, gone from the configuration, whose revision the stage
    // now takes. The stage's own change is then planned against the promoted stage.
    let mut promoted: BTreeMap<Address, StageState> = BTreeMap::new();
    if !destroying {
        for (address, resource) in recorded {
            let ResourceState::Canary(canary) = resource else {
                continue;
            };
            // A rolled-back or aborted canary is not live: nothing to promote.
            if config.contains(address) || !is_selected(address) || is_rejected(canary) {
                continue;
            }
            let Some(stage_address) = address.canary_parent() else {
                continue;
            };
            if excluded.contains(&stage_address) {
                continue;
            }
            let (Address::Stage { api, stage }, Some(ResourceState::Stage(stage_state))) =
                (&stage_address, recorded.get(&stage_address))
            else {
                continue;
            };
            if let Some(desired) = config.stage(api, stage)
                && desired.revision == canary.revision
                && desired.revision != stage_state.revision
            {
                promoted.insert(stage_address.clone(), promoted_stage(stage_state, canary));
                changes.push(removal(address.clone(), Action::Promote, resource));
            }
        }
    }

    // Declared resources, dependencies first.
    let order = if destroying {
        Vec::new()
    } else {
        input.graph.topological_order()
    };
    for address in &order {
        // A promotion is half of its stage's change: a targeted canary brings its stage, so
        // that the plan shows (and makes) what the stage ends with.
        if !is_selected(address) && !promoted.contains_key(address) {
            continue;
        }
        let before = recorded.get(address);
        let (actions, desired) = match address {
            Address::Stage { api, stage } => {
                let Some(settings) = config.stage(api, stage) else {
                    continue;
                };
                let effective = promoted.get(address).cloned().or_else(|| match before {
                    Some(ResourceState::Stage(stage)) => Some(stage.clone()),
                    _ => None,
                });
                // A rollout's promotion satisfies the file as it was (the stage on the revision
                // before): the stage's revision reads as the canary's, and its variables as AWS
                // merged the canary's overrides into them, while that canary is in the file.
                let by_rollout = match before {
                    Some(ResourceState::Stage(old)) if !promoted.contains_key(address) => {
                        promoted_as_written(old, settings)
                    }
                    _ => None,
                };
                let mut variables = std::borrow::Cow::Borrowed(&settings.variables);
                if let (Some(promotion), Some(canary)) = (by_rollout, &settings.canary)
                    && canary.revision == promotion.canary_revision
                {
                    let merged = variables.to_mut();
                    for (key, value) in &canary.variable_overrides {
                        merged.insert(key.clone(), value.clone());
                    }
                }
                let desired = DesiredStage {
                    rest_api_id: config.rest_apis[api].id.clone(),
                    stage_name: stage.clone(),
                    revision: by_rollout.map_or_else(
                        || settings.revision.clone(),
                        |promotion| promotion.canary_revision.clone(),
                    ),
                    description: settings.description.clone(),
                    tracing: settings.tracing,
                    variables: resolver.values(
                        &variables,
                        input.secrets,
                        (address, "variables"),
                        effective.as_ref().map(|stage| &stage.variables),
                    ),
                    cache_size: settings.cache_size,
                    recorded_deployment: None,
                };
                let mut actions = match &effective {
                    None => vec![Action::Create],
                    Some(old) => stage_actions(old, &desired, planned_state),
                };
                // A promotion that changes the stage's variables shows them on the stage, even
                // when the configuration agrees with the merge and the stage makes no call of
                // its own: the plan shows what AWS ends with (docs/behaviour.md, "Actions and
                // their calls", promote).
                if actions.is_empty()
                    && promoted.contains_key(address)
                    && let Some(ResourceState::Stage(recorded)) = before
                    && !values_match(&desired.variables, &recorded.variables)
                {
                    actions.push(Action::Update);
                }
                let mut desired = desired;
                // A rollback goes back to its revision's deployment; a new stage at a revision
                // the state maps is created on that deployment (one snapshot per revision).
                if actions.contains(&Action::Rollback) || actions.contains(&Action::Create) {
                    desired.recorded_deployment = planned_state
                        .and_then(|state| {
                            state.deployment_of(&desired.rest_api_id, &desired.revision)
                        })
                        .map(str::to_string);
                }
                (actions, Desired::Stage(desired))
            }
            Address::Canary { api, stage } => {
                let Some(canary) = config.stage(api, stage).and_then(|s| s.canary.as_ref()) else {
                    continue;
                };
                let rest_api_id = config.rest_apis[api].id.clone();
                let recorded_overrides = match before {
                    Some(ResourceState::Canary(old)) => Some(&old.variable_overrides),
                    _ => None,
                };
                // An override is digested as the stage variable it overrides, so that a
                // promotion carries its digest to the stage unchanged.
                let stage_address = address.canary_parent().unwrap_or_else(|| address.clone());
                let desired = DesiredCanary {
                    rest_api_id: rest_api_id.clone(),
                    stage_name: stage.clone(),
                    revision: canary.revision.clone(),
                    percent_traffic: canary.percent_traffic,
                    variable_overrides: resolver.values(
                        &canary.variable_overrides,
                        input.secrets,
                        (&stage_address, "variables"),
                        recorded_overrides,
                    ),
                    use_stage_cache: canary.use_stage_cache,
                    recorded_deployment: None,
                    rollout: canary.rollout.as_ref().map(Into::into),
                };
                let known = planned_state
                    .and_then(|state| state.deployment_of(&rest_api_id, &canary.revision));
                let deploy = if known.is_some() {
                    Action::CanaryRepoint
                } else {
                    Action::CanaryDeploy
                };
                // The canary a rollout promoted, still in the file as it was: satisfied.
                if before.is_none()
                    && let Some(ResourceState::Stage(stage_record)) = recorded.get(&stage_address)
                    && let Some(settings) = config.stage(api, stage)
                    && promoted_as_written(stage_record, settings)
                        .is_some_and(|promotion| promotion.canary_revision == canary.revision)
                {
                    unchanged += 1;
                    continue;
                }
                let mut desired = desired;
                let before_live = match before {
                    // Rolled back or aborted: no canary is live. On the same revision the plan
                    // leaves it so (the rejected revision is not deployed again, unless
                    // `--replace`d); a new revision is a new canary.
                    Some(ResourceState::Canary(old)) if is_rejected(old) => {
                        if old.revision == desired.revision && !input.replace.contains(address) {
                            unchanged += 1;
                            continue;
                        }
                        None
                    }
                    Some(ResourceState::Canary(old)) => {
                        // A running rollout owns the percent: the recorded one is not a diff.
                        if is_running(old) && old.revision == desired.revision {
                            desired.percent_traffic = old.percent_traffic;
                        }
                        Some(old)
                    }
                    _ => None,
                };
                let actions = match before_live {
                    Some(old) => {
                        let mut actions = Vec::new();
                        if old.revision != desired.revision {
                            actions.push(deploy);
                        } else if old.percent_traffic != desired.percent_traffic
                            || old.use_stage_cache != desired.use_stage_cache
                            || !values_match(&desired.variable_overrides, &old.variable_overrides)
                        {
                            actions.push(Action::Update);
                        }
                        actions
                    }
                    None => vec![Action::Create, deploy],
                };
                if actions.contains(&Action::CanaryRepoint) {
                    desired.recorded_deployment = known.map(str::to_string);
                }
                (actions, Desired::Canary(desired))
            }
            Address::Branch { app, branch } => {
                let Some(settings) = config.branch(app, branch) else {
                    continue;
                };
                let artifact = match &settings.artifact {
                    Some(artifact) => Some(PlannedArtifact {
                        path: artifact.path.clone(),
                        digest: input
                            .artifact_digests
                            .get(&artifact.path)
                            .cloned()
                            .ok_or_else(|| PlanError::MissingArtifact {
                                path: artifact.path.clone(),
                            })?,
                    }),
                    None => None,
                };
                let recorded = match before {
                    Some(ResourceState::Branch(old)) => Some(old),
                    _ => None,
                };
                let recorded_auth = recorded.and_then(|old| old.basic_auth.as_ref());
                let desired = DesiredBranch {
                    app_id: config.amplify_apps[app].id.clone(),
                    branch_name: branch.clone(),
                    stage: settings.stage,
                    description: settings.description.clone(),
                    framework: settings.framework.clone(),
                    environment: resolver.values(
                        &settings.environment,
                        input.secrets,
                        (address, "environment"),
                        recorded.map(|old| &old.environment),
                    ),
                    basic_auth: settings.basic_auth.as_ref().map(|auth| {
                        let user_site = Site::new(address, "basic_auth.username");
                        let password_site = Site::new(address, "basic_auth.password");
                        let recorded_user = recorded_auth.map(|auth| &auth.username);
                        let recorded_password = recorded_auth.map(|auth| &auth.password);
                        let password = resolver.value(
                            &auth.password,
                            input.secrets,
                            password_site,
                            recorded_password,
                        );
                        (
                            resolver.value(&auth.username, input.secrets, user_site, recorded_user),
                            resolver.password(&password, password_site, recorded_password),
                        )
                    }),
                    artifact,
                };
                let actions = match before {
                    Some(ResourceState::Branch(old)) => branch_actions(old, &desired),
                    _ => {
                        let mut actions = vec![Action::Create];
                        if desired.artifact.is_some() {
                            actions.push(Action::ArtifactDeploy);
                        }
                        actions
                    }
                };
                (actions, Desired::Branch(desired))
            }
        };
        let replace = input.replace.contains(address);
        let mut actions = actions;
        if imports.contains_key(address) {
            actions.insert(0, Action::Import);
        }
        if replace {
            // A rolled-back or aborted canary is not live: replacing it creates it.
            let live = before.filter(
                |before| !matches!(before, ResourceState::Canary(canary) if is_rejected(canary)),
            );
            replace_actions(address, &mut actions, &desired, live)?;
        }
        if actions.is_empty() {
            unchanged += 1;
            continue;
        }
        changes.push(Change {
            address: address.clone(),
            actions,
            before: before.cloned(),
            after: Some(desired),
            depends_on: Vec::new(),
            replace,
        });
    }

    // Recorded resources no longer declared (or everything, under --destroy): delete them,
    // canaries before their stages.
    let mut deletes: Vec<Change> = Vec::new();
    let mut forgets = refactors.forgets;
    for (address, resource) in recorded {
        if (!destroying && config.contains(address))
            || !is_selected(address)
            || changes.iter().any(|change| change.address == *address)
        {
            continue;
        }
        // A rolled-back or aborted canary has nothing live to remove: its record goes.
        if let ResourceState::Canary(canary) = resource
            && is_rejected(canary)
        {
            forgets.push(address.clone());
            continue;
        }
        let protected = prevent_destroy(config, address);
        if protected {
            return Err(PlanError::PreventDestroy {
                address: address.to_string(),
            });
        }
        deletes.push(removal(address.clone(), Action::Delete, resource));
    }
    // Within a kind, in the order of the addresses' text, as plans always listed them.
    deletes.sort_by_cached_key(|change| {
        let rank = match change.address.kind() {
            ResourceKind::Canary => 0,
            ResourceKind::Branch => 1,
            ResourceKind::Stage => 2,
        };
        (rank, change.address.to_string())
    });
    changes.extend(deletes);
    forgets.sort();
    forgets.dedup();

    link_dependencies(&mut changes, input.graph);
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: config.project.name.clone(),
        lineage,
        prior_serial,
        config_digest: input.config_digest.clone(),
        mode: input.mode,
        region: input.region.clone(),
        changes,
        unchanged,
        moves: refactors.moves,
        forgets,
        outputs: super::outputs::plan_outputs(config, &resolver, planned_state, input.mode),
        rollouts: if destroying {
            Vec::new()
        } else {
            notes(config, recorded, input.now, &is_selected)
        },
    })
}

/// A change that takes a recorded resource out of the state (a deletion or a promotion).
fn removal(address: Address, action: Action, before: &ResourceState) -> Change {
    Change {
        address,
        actions: vec![action],
        before: Some(before.clone()),
        after: None,
        depends_on: Vec::new(),
        replace: false,
    }
}

/// Makes a `--replace`d resource's actions a fresh deployment of what it has (docs/behaviour.md,
/// "Replacing and excluding"): a stage a new snapshot of its revision, a canary a new canary
/// deployment, a branch a new deployment of its artifact. A resource created by this plan gets
/// its first deployment anyway; a recorded one needs its deployment action added, replacing a
/// rollback or re-point to a recorded deployment.
fn replace_actions(
    address: &Address,
    actions: &mut Vec<Action>,
    desired: &Desired,
    before: Option<&ResourceState>,
) -> Result<(), PlanError> {
    if before.is_none() {
        return Ok(());
    }
    let fresh = match desired {
        Desired::Stage(_) => Action::Redeploy,
        Desired::Canary(_) => Action::CanaryDeploy,
        Desired::Branch(branch) if branch.artifact.is_some() => Action::ArtifactDeploy,
        Desired::Branch(_) => {
            return Err(PlanError::CannotReplace {
                address: address.to_string(),
                reason: "the branch has no artifact to deploy again",
            });
        }
    };
    actions.retain(|action| !matches!(action, Action::Rollback | Action::CanaryRepoint));
    // In the order the diff plans them: a stage's deployment before its settings, a branch's
    // settings before its artifact.
    if !actions.contains(&fresh) {
        if fresh == Action::ArtifactDeploy {
            actions.push(fresh);
        } else {
            actions.insert(0, fresh);
        }
    }
    Ok(())
}

fn prevent_destroy(config: &Config, address: &Address) -> bool {
    match address {
        Address::Stage { api, stage } => {
            config.stage(api, stage).is_some_and(|s| s.prevent_destroy)
        }
        Address::Canary { api, stage } => config
            .stage(api, stage)
            .and_then(|s| s.canary.as_ref())
            .is_some_and(|c| c.prevent_destroy),
        Address::Branch { app, branch } => config
            .branch(app, branch)
            .is_some_and(|b| b.prevent_destroy),
    }
}

fn stage_actions(old: &StageState, desired: &DesiredStage, state: Option<&State>) -> Vec<Action> {
    let mut actions = Vec::new();
    if old.revision != desired.revision {
        let known = state
            .and_then(|state| state.deployment_of(&desired.rest_api_id, &desired.revision))
            .is_some();
        actions.push(if known {
            Action::Rollback
        } else {
            Action::Redeploy
        });
    }
    if !settings_match(old, desired) {
        actions.push(Action::Update);
    }
    actions
}

/// Whether a stage's recorded settings (description, tracing, cache, variables) are the
/// desired ones, so that no `UpdateStage` of them is needed.
pub(crate) fn settings_match(old: &StageState, desired: &DesiredStage) -> bool {
    old.description == desired.description
        && old.tracing == desired.tracing
        && old.cache_size.as_deref() == desired.cache_size.map(|size| size.as_str())
        && values_match(&desired.variables, &old.variables)
}

/// The stage a promotion's `UpdateStage` leaves: the canary's revision and deployment, and its
/// overrides merged into the variables key by key (as AWS copies them).
pub fn promoted_stage(stage: &StageState, canary: &CanaryState) -> StageState {
    let mut promoted = stage.clone();
    promoted.revision = canary.revision.clone();
    promoted.deployment_id = canary.deployment_id.clone();
    for (key, value) in &canary.variable_overrides {
        promoted.variables.insert(key.clone(), value.clone());
    }
    promoted
}

/// Whether recorded basic-auth settings match the desired ones (passwords by digest).
pub(crate) fn basic_auth_matches(
    old: Option<&BasicAuthState>,
    desired: Option<&(PlannedValue, PlannedValue)>,
) -> bool {
    match (old, desired) {
        (None, None) => true,
        (Some(BasicAuthState { username, password }), Some((user, pass))) => {
            user.matches(username) && pass.matches(password)
        }
        _ => false,
    }
}

fn branch_actions(old: &BranchState, desired: &DesiredBranch) -> Vec<Action> {
    let mut actions = Vec::new();
    let auth_matches = basic_auth_matches(old.basic_auth.as_ref(), desired.basic_auth.as_ref());
    if old.stage.as_deref() != desired.stage.map(|stage| stage.as_str())
        || old.description != desired.description
        || old.framework != desired.framework
        || !values_match(&desired.environment, &old.environment)
        || !auth_matches
    {
        actions.push(Action::Update);
    }
    if let Some(artifact) = &desired.artifact
        && old.artifact_digest.as_deref() != Some(artifact.digest.as_str())
    {
        actions.push(Action::ArtifactDeploy);
    }
    actions
}

/// Fills each change's `depends_on` with the changes it must wait for: configured edges, a
/// stage waits for its canary's promotion, and a stage's deletion waits for its canary's.
fn link_dependencies(changes: &mut [Change], graph: &Graph) {
    let in_plan: BTreeSet<Address> = changes
        .iter()
        .map(|change| change.address.clone())
        .collect();
    let promoted: BTreeSet<Address> = changes
        .iter()
        .filter(|change| change.actions.contains(&Action::Promote))
        .map(|change| change.address.clone())
        .collect();
    for change in changes.iter_mut() {
        let address = &change.address;
        let mut depends: BTreeSet<Address> = BTreeSet::new();
        if change.after.is_some() {
            depends.extend(graph.dependencies(address));
            if let Address::Stage { api, stage } = address {
                let canary = Address::Canary {
                    api: api.clone(),
                    stage: stage.clone(),
                };
                if promoted.contains(&canary) {
                    depends.insert(canary);
                }
            }
        } else if let Address::Stage { api, stage } = address {
            depends.insert(Address::Canary {
                api: api.clone(),
                stage: stage.clone(),
            });
        }
        let mut depends: Vec<Address> = depends
            .into_iter()
            .filter(|d| in_plan.contains(d))
            .collect();
        // Listed in the order of the addresses' text, as plans always showed them.
        depends.sort_by_cached_key(Address::to_string);
        change.depends_on = depends;
    }
}
