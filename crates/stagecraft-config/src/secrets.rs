//! Reading the `{ env = "..." }` values: [`resolve_secrets`] asks the host for each one and
//! checks it against the rule of the place it is used, never showing it.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::model::{Config, Secret, Value, ValueSlot};
use crate::{Host, rules};

/// The values of a configuration's `{ env = "..." }` variables, by variable name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrets {
    values: BTreeMap<String, Secret>,
}

impl Secrets {
    /// The value of one environment variable, if read.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Builds a set from pairs (tests and callers that already hold the values).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Secrets {
        Secrets {
            values: pairs
                .into_iter()
                .map(|(name, value)| (name, Secret::new(value)))
                .collect(),
        }
    }
}

/// Reads every `{ env = "..." }` value through the host. A missing variable is an error naming
/// it; a value that breaks the rule of the place it is used is an error that does not show it.
pub fn resolve_secrets(config: &Config, host: &dyn Host) -> Result<Secrets, Vec<ConfigError>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    let mut check = |value: &Value, rule: &rules::Rule, what: &str| {
        let (name, span) = match value {
            Value::Env { name, span } => (name, span),
            // A sensitive variable's value is known since parsing, which checked it.
            Value::Var { name, .. } => {
                if let Some(variable) = config.variables.get(name) {
                    values.insert(
                        format!("var.{name}"),
                        Secret::new(variable.value.expose().to_string()),
                    );
                }
                return;
            }
            Value::Text(_) => return,
        };
        match host.env_var(name) {
            None => errors.push(
                ConfigError::new(
                    "config::missing_env",
                    *span,
                    format!("the environment variable `{name}` is not set"),
                    "read from the environment",
                )
                .with_help(format!(
                    "set {name} before running stagecraft, e.g. `export {name}=...`"
                )),
            ),
            Some(text) => {
                if let Err(problem) = rule.check(&text) {
                    errors.push(
                        ConfigError::new(
                            rule.code,
                            *span,
                            format!("the value of `{name}` used as {what} {problem}"),
                            "invalid (sensitive) value",
                        )
                        .with_help(rule.help_for(&problem)),
                    );
                }
                values.insert(name.clone(), Secret::new(text));
            }
        }
    };
    for (_, configured) in config.values() {
        let (rule, what) = match configured.slot {
            ValueSlot::StageVariable => (&rules::VARIABLE_VALUE, "a stage variable"),
            ValueSlot::CanaryOverride => (&rules::VARIABLE_VALUE, "a canary override"),
            ValueSlot::Environment => (&rules::AMPLIFY_ENV_VALUE, "an environment value"),
            ValueSlot::BasicAuthUsername => (&rules::BASIC_AUTH_PART, "a basic-auth user name"),
            ValueSlot::BasicAuthPassword => (&rules::BASIC_AUTH_PART, "a basic-auth password"),
        };
        check(configured.value, rule, what);
    }
    if errors.is_empty() {
        Ok(Secrets { values })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
