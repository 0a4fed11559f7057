//! The machine-readable UI (`--json` on `validate`, `plan` and `apply`): the events of
//! Terraform's streaming JSON UI, one JSON object per line (`docs/json-ui.md`). The events are
//! plain values made here from plans, apply's events and diagnostics; the CLI stamps each with
//! the time (`@timestamp`) and writes it. A new kind of event is a new [`UiEvent`] variant.
//!
//! Secrets never appear: events carry addresses, actions, counts, error messages (which never
//! hold a sensitive value) and the values of non-sensitive outputs only.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value as Json, json};
use stagecraft_config::{Address, SpanRange};

use crate::apply::{ApplyReport, Event, Outcome};
use crate::plan::{Action, Change, ChangeKind, Counts, OutputAction, Plan, PlanMode};
use crate::state::OutputState;

/// The version of the event schema (the `version` event's `ui`): the minor number grows when
/// events or fields are added, the major one when one changes meaning or goes away.
pub const UI_VERSION: &str = "1.0";

/// Every event's `@module`.
pub const MODULE: &str = "stagecraft.ui";

/// An event's `@level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `info`
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// What a `planned_change` or an apply hook does to its resource, in Terraform's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAction {
    /// `create`
    Create,
    /// `update` (a promotion too: stagecraft's own actions are in `actions`)
    Update,
    /// `replace`: a `--replace`d resource, redeployed in place
    Replace,
    /// `delete`
    Delete,
    /// `move`: `[[moved]]`, no AWS call
    Move,
    /// `forget`: `[[removed]] destroy = false`, no AWS call
    Forget,
    /// `import`: an `[[import]]` with nothing else to change, no AWS call (an import that also
    /// changes its resource is that change's action, with `importing`)
    Import,
}

impl UiAction {
    fn as_str(self) -> &'static str {
        match self {
            UiAction::Create => "create",
            UiAction::Update => "update",
            UiAction::Replace => "replace",
            UiAction::Delete => "delete",
            UiAction::Move => "move",
            UiAction::Forget => "forget",
            UiAction::Import => "import",
        }
    }

    /// The action of a change.
    pub fn of(change: &Change) -> UiAction {
        if change.replace {
            return UiAction::Replace;
        }
        match change.kind() {
            ChangeKind::Create => UiAction::Create,
            ChangeKind::Update | ChangeKind::Promote => UiAction::Update,
            ChangeKind::Delete => UiAction::Delete,
            ChangeKind::Import => UiAction::Import,
        }
    }
}

/// Which operation a `change_summary` sums up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A plan (`plan`, or the plan `apply` shows first).
    Plan,
    /// An apply that completed.
    Apply,
    /// An apply of a `--destroy` plan that completed.
    Destroy,
    /// An apply that did not complete: some change failed, was skipped or not started.
    ApplyIncomplete,
}

/// A diagnostic's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `error`
    Error,
    /// `warning`
    Warning,
}

/// A diagnostic, in the shape of Terraform's (`severity`, `summary`, `detail`, `address`,
/// `range`), with stagecraft's error `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiDiagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in a sentence.
    pub summary: String,
    /// More: the label and help of a configuration error, AWS's message.
    pub detail: String,
    /// The stable code (`config::unknown_key`), when there is one.
    pub code: Option<String>,
    /// The resource it is about, when there is one.
    pub address: Option<Address>,
    /// Where in which file, for a configuration error.
    pub range: Option<SpanRange>,
}

/// One output in an `outputs` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiOutput {
    /// Planned: what the plan does to it (`noop` when nothing).
    Planned {
        /// `None`: unchanged (`noop`).
        action: Option<OutputAction>,
        /// Whether it is sensitive.
        sensitive: bool,
    },
    /// Applied: as the state records it.
    Applied(OutputState),
}

/// One event of the machine-readable UI.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// Always first: the stagecraft version and [`UI_VERSION`].
    Version {
        /// stagecraft's version.
        stagecraft: String,
    },
    /// A configuration error, an AWS failure, a warning.
    Diagnostic(UiDiagnostic),
    /// A resource the plan changes (or moves, or forgets).
    PlannedChange {
        /// The resource.
        address: Address,
        /// Terraform's action.
        action: UiAction,
        /// stagecraft's own actions (`redeploy`, `promote`, ...); empty for a move or forget.
        actions: Vec<Action>,
        /// A move's previous address.
        previous: Option<Address>,
        /// An import's AWS id (Terraform's `importing.id`).
        importing: Option<String>,
    },
    /// The counts of a plan or an apply.
    ChangeSummary {
        /// The counts.
        counts: Counts,
        /// What they count.
        operation: Operation,
    },
    /// A resource's change started.
    ApplyStart {
        /// The resource.
        address: Address,
        /// Terraform's action.
        action: UiAction,
        /// stagecraft's actions.
        actions: Vec<Action>,
    },
    /// Something happening while a change runs (waiting for a cache or a job, a retry).
    ApplyProgress {
        /// The resource.
        address: Address,
        /// Terraform's action.
        action: UiAction,
        /// Whole seconds since the change started.
        elapsed_seconds: u64,
        /// What is happening.
        message: String,
    },
    /// A resource's change was applied.
    ApplyComplete {
        /// The resource.
        address: Address,
        /// Terraform's action.
        action: UiAction,
        /// stagecraft's actions.
        actions: Vec<Action>,
        /// Whole seconds it took.
        elapsed_seconds: u64,
    },
    /// A resource's change failed (the error follows as a `diagnostic`).
    ApplyErrored {
        /// The resource.
        address: Address,
        /// Terraform's action.
        action: UiAction,
        /// stagecraft's actions.
        actions: Vec<Action>,
        /// Whole seconds until it failed.
        elapsed_seconds: u64,
    },
    /// Every output: planned (with its action) or applied (with its value unless sensitive).
    Outputs(BTreeMap<String, UiOutput>),
}

impl UiEvent {
    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            UiEvent::Version { .. } => "version",
            UiEvent::Diagnostic(_) => "diagnostic",
            UiEvent::PlannedChange { .. } => "planned_change",
            UiEvent::ChangeSummary { .. } => "change_summary",
            UiEvent::ApplyStart { .. } => "apply_start",
            UiEvent::ApplyProgress { .. } => "apply_progress",
            UiEvent::ApplyComplete { .. } => "apply_complete",
            UiEvent::ApplyErrored { .. } => "apply_errored",
            UiEvent::Outputs(_) => "outputs",
        }
    }

    /// Its `@level`.
    pub fn level(&self) -> Level {
        match self {
            UiEvent::Diagnostic(diagnostic) => match diagnostic.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warn,
            },
            UiEvent::ApplyErrored { .. } => Level::Error,
            _ => Level::Info,
        }
    }

    /// Its `@message`: what a person reads (Terraform's wording where it has one).
    pub fn message(&self) -> String {
        match self {
            UiEvent::Version { stagecraft } => format!("stagecraft {stagecraft}"),
            UiEvent::Diagnostic(diagnostic) => match diagnostic.severity {
                Severity::Error => format!("Error: {}", diagnostic.summary),
                Severity::Warning => format!("Warning: {}", diagnostic.summary),
            },
            UiEvent::PlannedChange {
                address,
                action,
                previous,
                ..
            } => match (action, previous) {
                (UiAction::Move, Some(previous)) => {
                    format!("{previous}: Plan to move to {address}")
                }
                _ => format!("{address}: Plan to {}", action.as_str()),
            },
            UiEvent::ChangeSummary { counts, operation } => match operation {
                Operation::Plan => format!("Plan: {}.", super::counts_words(counts)),
                Operation::Apply | Operation::Destroy => {
                    format!("Apply complete! Resources: {}.", applied_words(counts))
                }
                Operation::ApplyIncomplete => {
                    format!("Apply incomplete. Resources: {}.", applied_words(counts))
                }
            },
            UiEvent::ApplyStart {
                address, actions, ..
            } => format!("{address}: {}...", apply_verbs(actions).0),
            UiEvent::ApplyProgress {
                address, message, ..
            } => format!("{address}: {message}"),
            UiEvent::ApplyComplete {
                address,
                actions,
                elapsed_seconds,
                ..
            } => format!(
                "{address}: {} complete after {elapsed_seconds}s",
                apply_verbs(actions).1
            ),
            UiEvent::ApplyErrored {
                address,
                actions,
                elapsed_seconds,
                ..
            } => format!(
                "{address}: {} errored after {elapsed_seconds}s",
                apply_verbs(actions).1
            ),
            UiEvent::Outputs(outputs) => format!("Outputs: {}", outputs.len()),
        }
    }
}

/// An apply's counts in Terraform's words, `1 imported, 0 added, 1 changed, 0 destroyed` (the
/// imports only when there are some).
pub fn applied_words(counts: &Counts) -> String {
    let import = if counts.import > 0 {
        format!("{} imported, ", counts.import)
    } else {
        String::new()
    };
    format!(
        "{import}{} added, {} changed, {} destroyed",
        counts.add, counts.change, counts.destroy
    )
}

/// "Creating" / "Creation" for a change's actions: the words of apply's progress lines, in text
/// and in `--json` alike.
pub fn apply_verbs(actions: &[Action]) -> (&'static str, &'static str) {
    if actions == [Action::Import] {
        ("Importing", "Import")
    } else if actions.contains(&Action::Delete) {
        ("Destroying", "Destruction")
    } else if actions.contains(&Action::Promote) {
        ("Promoting canary", "Promotion")
    } else if actions.contains(&Action::Create) {
        ("Creating", "Creation")
    } else if actions == [Action::ArtifactDeploy] {
        ("Deploying artifact", "Deployment")
    } else {
        ("Modifying", "Modifications")
    }
}

/// The `resource` object of Terraform's events, for a stagecraft address: `addr` and
/// `resource` the address, `module` empty, `implied_provider` `aws`, `resource_type` the
/// state's kind name, `resource_name` the stage's or branch's name, `resource_key` null.
fn resource(address: &Address) -> Json {
    let (kind, name) = match address {
        Address::Stage { stage, .. } => ("apigateway_stage", stage),
        Address::Canary { stage, .. } => ("apigateway_canary", stage),
        Address::Branch { branch, .. } => ("amplify_branch", branch),
    };
    json!({
        "addr": address.to_string(),
        "module": "",
        "resource": address.to_string(),
        "implied_provider": "aws",
        "resource_type": kind,
        "resource_name": name,
        "resource_key": null,
    })
}

fn actions_json(actions: &[Action]) -> Json {
    json!(actions)
}

fn position(position: &stagecraft_config::Position) -> Json {
    json!({ "line": position.line, "column": position.column, "byte": position.byte })
}

fn output_action(action: Option<OutputAction>) -> &'static str {
    match action {
        None => "noop",
        Some(OutputAction::Create) => "create",
        Some(OutputAction::Update) => "update",
        Some(OutputAction::Delete) => "delete",
    }
}

impl UiEvent {
    /// The event's fields besides `@level`, `@message`, `@module`, `@timestamp` and `type`.
    fn body(&self) -> Map<String, Json> {
        let mut body = Map::new();
        match self {
            UiEvent::Version { stagecraft } => {
                body.insert("stagecraft".into(), json!(stagecraft));
                body.insert("ui".into(), json!(UI_VERSION));
            }
            UiEvent::Diagnostic(diagnostic) => {
                let mut object = Map::new();
                object.insert(
                    "severity".into(),
                    json!(match diagnostic.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    }),
                );
                object.insert("summary".into(), json!(diagnostic.summary));
                object.insert("detail".into(), json!(diagnostic.detail));
                if let Some(code) = &diagnostic.code {
                    object.insert("code".into(), json!(code));
                }
                if let Some(address) = &diagnostic.address {
                    object.insert("address".into(), json!(address.to_string()));
                }
                if let Some(range) = &diagnostic.range {
                    object.insert(
                        "range".into(),
                        json!({
                            "filename": range.filename,
                            "start": position(&range.start),
                            "end": position(&range.end),
                        }),
                    );
                }
                body.insert("diagnostic".into(), Json::Object(object));
            }
            UiEvent::PlannedChange {
                address,
                action,
                actions,
                previous,
                importing,
            } => {
                let mut change = Map::new();
                change.insert("resource".into(), resource(address));
                if let Some(previous) = previous {
                    change.insert("previous_resource".into(), resource(previous));
                }
                change.insert("action".into(), json!(action.as_str()));
                if *action == UiAction::Replace {
                    change.insert("reason".into(), json!("requested"));
                }
                change.insert("actions".into(), actions_json(actions));
                if let Some(id) = importing {
                    change.insert("importing".into(), json!({ "id": id }));
                }
                body.insert("change".into(), Json::Object(change));
            }
            UiEvent::ChangeSummary { counts, operation } => {
                body.insert(
                    "changes".into(),
                    json!({
                        "add": counts.add,
                        "change": counts.change,
                        "remove": counts.destroy,
                        "operation": match operation {
                            Operation::Plan => "plan",
                            Operation::Apply | Operation::ApplyIncomplete => "apply",
                            Operation::Destroy => "destroy",
                        },
                    }),
                );
                // Terraform's `import` count, here only when something is imported.
                if counts.import > 0
                    && let Some(Json::Object(changes)) = body.get_mut("changes")
                {
                    changes.insert("import".into(), json!(counts.import));
                }
                if *operation != Operation::Plan
                    && let Some(Json::Object(changes)) = body.get_mut("changes")
                {
                    changes.insert(
                        "complete".into(),
                        json!(*operation != Operation::ApplyIncomplete),
                    );
                }
            }
            UiEvent::ApplyStart {
                address,
                action,
                actions,
            } => {
                body.insert(
                    "hook".into(),
                    json!({
                        "resource": resource(address),
                        "action": action.as_str(),
                        "actions": actions_json(actions),
                    }),
                );
            }
            UiEvent::ApplyProgress {
                address,
                action,
                elapsed_seconds,
                message,
            } => {
                body.insert(
                    "hook".into(),
                    json!({
                        "resource": resource(address),
                        "action": action.as_str(),
                        "elapsed_seconds": elapsed_seconds,
                        "message": message,
                    }),
                );
            }
            UiEvent::ApplyComplete {
                address,
                action,
                actions,
                elapsed_seconds,
            }
            | UiEvent::ApplyErrored {
                address,
                action,
                actions,
                elapsed_seconds,
            } => {
                body.insert(
                    "hook".into(),
                    json!({
                        "resource": resource(address),
                        "action": action.as_str(),
                        "actions": actions_json(actions),
                        "elapsed_seconds": elapsed_seconds,
                    }),
                );
            }
            UiEvent::Outputs(outputs) => {
                let outputs: Map<String, Json> = outputs
                    .iter()
                    .map(|(name, output)| {
                        let value = match output {
                            UiOutput::Planned { action, sensitive } => json!({
                                "action": output_action(*action),
                                "sensitive": sensitive,
                            }),
                            UiOutput::Applied(recorded) => super::output_json(recorded),
                        };
                        (name.clone(), value)
                    })
                    .collect();
                body.insert("outputs".into(), Json::Object(outputs));
            }
        }
        body
    }

    /// The event as one line of JSON (no line break), stamped with `timestamp` (RFC 3339).
    /// Keys are sorted at every level, as in Terraform's own lines.
    pub fn line(&self, timestamp: &str) -> String {
        let mut object = self.body();
        object.insert("@level".into(), json!(self.level().as_str()));
        object.insert("@message".into(), json!(self.message()));
        object.insert("@module".into(), json!(MODULE));
        object.insert("@timestamp".into(), json!(timestamp));
        object.insert("type".into(), json!(self.kind()));
        sorted(Json::Object(object)).to_string()
    }
}

/// `value` with every object's keys in sorted order, whatever serde_json's map keeps.
fn sorted(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A plan's events, as `plan --json` and `apply --json` emit them after `version`: a
/// `planned_change` per move, forget and change (in plan order), the `change_summary`, and an
/// `outputs` event (each output's action) when the configuration or state has outputs.
pub fn plan_events(plan: &Plan) -> Vec<UiEvent> {
    let mut events = Vec::new();
    for moved in &plan.moves {
        events.push(UiEvent::PlannedChange {
            address: moved.to.clone(),
            action: UiAction::Move,
            actions: Vec::new(),
            previous: Some(moved.from.clone()),
            importing: None,
        });
    }
    for forgotten in &plan.forgets {
        events.push(UiEvent::PlannedChange {
            address: forgotten.clone(),
            action: UiAction::Forget,
            actions: Vec::new(),
            previous: None,
            importing: None,
        });
    }
    for change in &plan.changes {
        events.push(UiEvent::PlannedChange {
            address: change.address.clone(),
            action: UiAction::of(change),
            actions: change.actions.clone(),
            previous: None,
            importing: change.import_id(),
        });
    }
    events.push(UiEvent::ChangeSummary {
        counts: plan.summary(),
        operation: Operation::Plan,
    });
    if !plan.outputs.is_empty() {
        events.push(UiEvent::Outputs(
            plan.outputs
                .iter()
                .map(|output| {
                    let sensitive = output
                        .after
                        .as_ref()
                        .map(|after| after.sensitive)
                        .or(output.before.as_ref().map(|before| before.sensitive))
                        .unwrap_or(false);
                    (
                        output.name.clone(),
                        UiOutput::Planned {
                            action: output.action(),
                            sensitive,
                        },
                    )
                })
                .collect(),
        ));
    }
    events
}

/// The `outputs` event after an apply: every recorded output (a sensitive one without its
/// value).
pub fn applied_outputs(outputs: &BTreeMap<String, OutputState>) -> UiEvent {
    UiEvent::Outputs(
        outputs
            .iter()
            .map(|(name, output)| (name.clone(), UiOutput::Applied(output.clone())))
            .collect(),
    )
}

/// The events closing an apply of `plan` (failures were reported as they happened): a warning
/// per change skipped because what it depends on failed, the journal's failure, the
/// `change_summary`, and the `outputs` when the apply completed.
pub fn apply_end_events(plan: &Plan, report: &ApplyReport) -> Vec<UiEvent> {
    let mut events = Vec::new();
    for result in &report.results {
        if let Outcome::Skipped { cause } = &result.outcome {
            events.push(skipped(&result.address, cause));
        }
    }
    events.extend(report.rollouts.iter().filter_map(rollout_failure));
    if let Some(error) = &report.journal_error {
        events.push(UiEvent::Diagnostic(UiDiagnostic {
            severity: Severity::Error,
            summary: error.to_string(),
            detail: String::new(),
            code: None,
            address: None,
            range: None,
        }));
    }
    let complete = report.succeeded();
    events.push(apply_summary(plan, report.counts(), complete));
    if complete {
        events.push(applied_outputs(&report.state.outputs));
    }
    events
}

/// The `change_summary` closing an apply of `plan`.
pub fn apply_summary(plan: &Plan, counts: Counts, complete: bool) -> UiEvent {
    UiEvent::ChangeSummary {
        counts,
        operation: match (complete, plan.mode) {
            (false, _) => Operation::ApplyIncomplete,
            (true, PlanMode::Destroy) => Operation::Destroy,
            (true, PlanMode::Normal) => Operation::Apply,
        },
    }
}

/// The events of one of apply's [`Event`]s; `elapsed` is the time since its change started
/// (the CLI's clock: `Progress` and `Retrying` carry none). A failure is `apply_errored` and
/// a `diagnostic` with AWS's message; a change not started after an interrupt is a warning.
pub fn apply_events(plan: &Plan, event: &Event, elapsed: Duration) -> Vec<UiEvent> {
    let action = |address: &Address| {
        plan.changes
            .iter()
            .find(|change| &change.address == address)
            .map_or(UiAction::Update, UiAction::of)
    };
    match event {
        Event::Started { address, actions } => vec![UiEvent::ApplyStart {
            address: address.clone(),
            action: action(address),
            actions: actions.clone(),
        }],
        Event::Progress { address, message } => vec![UiEvent::ApplyProgress {
            address: address.clone(),
            action: action(address),
            elapsed_seconds: elapsed.as_secs(),
            message: message.clone(),
        }],
        Event::Retrying {
            address,
            call,
            attempt,
            max_attempts,
            error,
            delay,
        } => vec![UiEvent::ApplyProgress {
            address: address.clone(),
            action: action(address),
            elapsed_seconds: elapsed.as_secs(),
            message: format!(
                "{call} attempt {attempt}/{max_attempts} failed ({error}); retrying in {:.1}s",
                delay.as_secs_f64()
            ),
        }],
        Event::Finished {
            address,
            actions,
            outcome,
            elapsed,
        } => {
            let elapsed_seconds = elapsed.as_secs();
            match outcome {
                Outcome::Applied => vec![UiEvent::ApplyComplete {
                    address: address.clone(),
                    action: action(address),
                    actions: actions.clone(),
                    elapsed_seconds,
                }],
                Outcome::Failed { error } => vec![
                    UiEvent::ApplyErrored {
                        address: address.clone(),
                        action: action(address),
                        actions: actions.clone(),
                        elapsed_seconds,
                    },
                    UiEvent::Diagnostic(UiDiagnostic {
                        severity: Severity::Error,
                        summary: format!("{address}: {error}"),
                        detail: error.clone(),
                        code: None,
                        address: Some(address.clone()),
                        range: None,
                    }),
                ],
                Outcome::Skipped { cause } => vec![skipped(address, cause)],
                Outcome::NotStarted => vec![UiEvent::Diagnostic(UiDiagnostic {
                    severity: Severity::Warning,
                    summary: format!("{address} was not started (interrupted)"),
                    detail: "run apply again to finish".to_string(),
                    code: None,
                    address: Some(address.clone()),
                    range: None,
                })],
            }
        }
    }
}

/// The warning for a change skipped because what it depends on failed.
pub fn skipped(address: &Address, cause: &Address) -> UiEvent {
    UiEvent::Diagnostic(UiDiagnostic {
        severity: Severity::Warning,
        summary: format!("{address} was not applied because {cause} failed"),
        detail: String::new(),
        code: None,
        address: Some(address.clone()),
        range: None,
    })
}

/// A rollout that rolled back or could not go on, as an error `diagnostic` naming its canary
/// (docs/behaviour.md, "Rollouts"); other ends are none.
pub fn rollout_failure(result: &crate::apply::RolloutResult) -> Option<UiEvent> {
    let (summary, detail) = match &result.end {
        crate::apply::RolloutEnd::RolledBack {
            step,
            percent,
            alarm,
            reason,
        } => (
            format!(
                "{}: rolled back at step {} ({percent}%): alarm {alarm} is in ALARM",
                result.address,
                step + 1
            ),
            reason.clone(),
        ),
        crate::apply::RolloutEnd::Failed { error } => {
            (format!("{}: {error}", result.address), String::new())
        }
        _ => return None,
    };
    Some(UiEvent::Diagnostic(UiDiagnostic {
        severity: Severity::Error,
        summary,
        detail,
        code: Some("rollout::rolled_back".to_string())
            .filter(|_| matches!(result.end, crate::apply::RolloutEnd::RolledBack { .. })),
        address: Some(result.address.clone()),
        range: None,
    }))
}

#[cfg(test)]
mod tests;
