//! `[outputs]` in a plan: each output's recorded value and the value apply will record
//! (known now, or a template over what apply makes), so that apply records them from the plan
//! alone, and the renderings show `Changes to Outputs:` (docs/behaviour.md, "Outputs").

use serde::{Deserialize, Serialize};
use stagecraft_config::Config;

use super::model::{PlanMode, PlannedValue};
use super::resolve::{AttributeLookup, Resolver};
use crate::state::{OutputState, State};

/// One output: what the state records and what apply records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputPlan {
    /// The output's name.
    pub name: String,
    /// As the state records it (`None`: not recorded yet).
    pub before: Option<OutputState>,
    /// As configured (`None`: no longer declared, or `--destroy`).
    pub after: Option<PlannedOutput>,
}

/// An output's value as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOutput {
    /// Shown as `(sensitive value)` everywhere, never recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// The value (known, or deferred to apply); `None` for a sensitive output, whose value is
    /// never worked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<PlannedValue>,
}

/// What applying the plan does to an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputAction {
    /// A new output: `+`.
    Create,
    /// A new value, or one known only after apply: `~`.
    Update,
    /// An output no longer declared: `-`.
    Delete,
}

impl OutputAction {
    /// Terraform's symbol.
    pub fn symbol(self) -> char {
        match self {
            OutputAction::Create => '+',
            OutputAction::Update => '~',
            OutputAction::Delete => '-',
        }
    }
}

impl OutputPlan {
    /// What applying the plan does to the output; `None` when it stays as recorded.
    pub fn action(&self) -> Option<OutputAction> {
        match (&self.before, &self.after) {
            (None, None) => None,
            (None, Some(_)) => Some(OutputAction::Create),
            (Some(_), None) => Some(OutputAction::Delete),
            (Some(before), Some(after)) => {
                let same = before.sensitive == after.sensitive
                    && match &after.value {
                        None => true,
                        Some(PlannedValue::Known { value }) => {
                            before.value.as_deref() == Some(value.as_str())
                        }
                        Some(_) => false,
                    };
                (!same).then_some(OutputAction::Update)
            }
        }
    }

    /// What the state records once applied, resolving a deferred value with `lookup`; `None`
    /// when the output goes. A value that cannot be resolved (what it refers to failed) keeps
    /// what was recorded before, if anything.
    pub fn applied(&self, lookup: &AttributeLookup<'_>) -> Option<OutputState> {
        let after = self.after.as_ref()?;
        if after.sensitive {
            return Some(OutputState {
                value: None,
                sensitive: true,
            });
        }
        let mut value = after.value.clone()?;
        match value.resolve(lookup) {
            Ok(()) => match value {
                PlannedValue::Known { value } => Some(OutputState {
                    value: Some(value),
                    sensitive: false,
                }),
                _ => self.before.clone(),
            },
            Err(_) => self.before.clone(),
        }
    }
}

/// Every output declared or recorded, by name: the configured ones resolved as far as the
/// plan knows them, none under `--destroy`.
pub(super) fn plan_outputs(
    config: &Config,
    resolver: &Resolver<'_>,
    state: Option<&State>,
    mode: PlanMode,
) -> Vec<OutputPlan> {
    let mut names: Vec<&String> = config.outputs.keys().collect();
    if let Some(state) = state {
        names.extend(state.outputs.keys());
    }
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let before = state.and_then(|state| state.outputs.get(name)).cloned();
            let after = match mode {
                PlanMode::Destroy => None,
                PlanMode::Normal => config.outputs.get(name).map(|output| PlannedOutput {
                    sensitive: output.sensitive,
                    value: (!output.sensitive).then(|| resolver.text(&output.value)),
                }),
            };
            OutputPlan {
                name: name.clone(),
                before,
                after,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
