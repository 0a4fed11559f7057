//! Input variables: `[variables.<name>]` declarations, the values given to them (defaults,
//! `STAGECRAFT_VAR_<name>`, `--var-file`s, `--var` flags, in rising precedence), and
//! `${var.<name>}` wherever a string goes.
//!
//! A non-sensitive variable is substituted as text before the value is checked, so the model
//! holds what AWS will get. A sensitive one may only be a whole value of a stage variable,
//! canary override, environment value or basic-auth field ([`Value::Var`]): there it is
//! masked and digested exactly like `{ env = "..." }`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use miette::SourceSpan;
use toml::de::DeValue;

use super::walker::{Node, Walker, header_span, span};
use crate::error::{ConfigError, did_you_mean};
use crate::model::{Secret, Value, Variable, VariableOrigin};
use crate::rules;

/// The prefix of the environment variables that give input variables values.
pub const ENV_PREFIX: &str = "STAGECRAFT_VAR_";

/// A value given to a variable outside its declaration: a var file's entry or a `--var` flag.
#[derive(Debug, Clone)]
pub(super) struct Given {
    /// The variable's name as written.
    pub name: String,
    /// Where the name was written.
    pub span: Range<usize>,
    /// The value.
    pub value: String,
    /// Where it came from.
    pub origin: VariableOrigin,
}

/// What the walker knows of one declared variable.
#[derive(Debug, Clone)]
pub(super) struct Declared {
    description: Option<String>,
    sensitive: bool,
    value: Option<(String, VariableOrigin)>,
    /// Its declaration had an error already (a default that is not a string): no further
    /// error for its lack of a value.
    broken: bool,
    span: SourceSpan,
    /// Where an unset variable was used, for its error.
    uses: Vec<SourceSpan>,
}

impl Declared {
    /// Whether it was declared `sensitive = true`.
    pub(super) fn is_sensitive(&self) -> bool {
        self.sensitive
    }
}

/// What a `${var.NAME}` use resolved to.
pub(super) enum Use {
    /// Text to put in its place.
    Text(String),
    /// A sensitive variable: only its name goes into the model.
    Sensitive,
    /// Already reported (or unset, reported at the end of the walk).
    Failed,
}

/// Where a `${var.NAME}` sits, for the rule on sensitive variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The whole of a value that may be sensitive.
    WholeValue,
    /// Anywhere else.
    Other,
}

impl Walker<'_> {
    /// Reads `[variables]` and gives each declared variable its value, reporting undeclared
    /// names among the `given` values.
    pub(super) fn declare_variables(&mut self, node: Option<&Node<'_>>, given: &[Given]) {
        if let Some(node) = node
            && let Some(table) = self.table(node, "variables")
        {
            for (key, node) in table {
                let name = key.get_ref();
                if !self.rule(
                    key.span(),
                    "input variable name",
                    name,
                    &rules::INPUT_VARIABLE_NAME,
                ) {
                    continue;
                }
                let Some(declaration) = self.table(node, format_args!("variables.{name}")) else {
                    continue;
                };
                let context = format!("[variables.{name}]");
                self.check_keys(
                    declaration,
                    &["default", "description", "sensitive"],
                    &context,
                );
                let description = match declaration.get("description") {
                    Some(node) => self.literal_string(node, "description"),
                    None => None,
                };
                let sensitive = self.boolean(declaration, "sensitive", "sensitive");
                let errors_before = self.errors.len();
                let default = match declaration.get("default") {
                    Some(node) => match node.get_ref() {
                        DeValue::String(text) => Some(text.to_string()),
                        _ => {
                            // Pointed at the key, not the value: the value may be sensitive.
                            let at = declaration
                                .get_key_value("default")
                                .map_or(node.span(), |(key, _)| key.span());
                            self.error(
                                ConfigError::new(
                                    "config::wrong_type",
                                    span(at),
                                    format!("the default of variable `{name}` must be a string"),
                                    "not a string",
                                )
                                .with_help("variables hold text: write the default in quotes"),
                            );
                            None
                        }
                    },
                    None => None,
                };
                let from_env = self
                    .host
                    .env_var(&format!("{ENV_PREFIX}{name}"))
                    .map(|value| (value, VariableOrigin::Environment));
                let value = from_env.or(default.map(|value| (value, VariableOrigin::Default)));
                self.variables.insert(
                    name.to_string(),
                    Declared {
                        description,
                        sensitive,
                        value,
                        broken: self.errors.len() > errors_before,
                        span: header_span(self.source, node.span()),
                        uses: Vec::new(),
                    },
                );
            }
        }
        // Var files first, then flags: the caller passes them in that order, each in the
        // order given, so a later value wins.
        for value in given {
            match self.variables.get_mut(&value.name) {
                Some(declared) => {
                    declared.value = Some((value.value.clone(), value.origin.clone()))
                }
                None => {
                    let help = did_you_mean(&value.name, self.variables.keys().map(String::as_str))
                        .unwrap_or_else(|| {
                            format!(
                                "declare it in the configuration: [variables.{}]",
                                value.name
                            )
                        });
                    self.error(
                        ConfigError::new(
                            "config::undeclared_variable",
                            span(value.span.clone()),
                            format!(
                                "a value is given for `{}`, which is not a declared variable",
                                value.name
                            ),
                            "not declared",
                        )
                        .with_help(help),
                    );
                }
            }
        }
    }

    /// A string as written, without `${var...}` substitution (a variable's own description).
    fn literal_string(&mut self, node: &Node<'_>, what: &str) -> Option<String> {
        match node.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// The variable `name` used at `at`.
    pub(super) fn use_variable(
        &mut self,
        name: &str,
        at: SourceSpan,
        place: Place,
        what: &str,
    ) -> Use {
        let Some(declared) = self.variables.get_mut(name) else {
            let help = did_you_mean(name, self.variables.keys().map(String::as_str))
                .unwrap_or_else(|| {
                    if self.variables.is_empty() {
                        format!("declare it: [variables.{name}]")
                    } else {
                        let names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                        format!("declared variables: {}", names.join(", "))
                    }
                });
            self.error(
                ConfigError::new(
                    "config::undeclared_variable",
                    at,
                    format!("`var.{name}` is not a declared variable"),
                    "not declared",
                )
                .with_help(help),
            );
            return Use::Failed;
        };
        if declared.sensitive && place != Place::WholeValue {
            self.error(
                ConfigError::new(
                    "config::sensitive_variable",
                    at,
                    format!("the sensitive variable `var.{name}` cannot be used in `{what}`"),
                    "sensitive",
                )
                .with_help(
                    "a sensitive variable can only be the whole value of a stage variable, a \
                     canary override, an environment value or a basic-auth field, where it is \
                     masked and digested",
                ),
            );
            return Use::Failed;
        }
        match &declared.value {
            None => {
                declared.uses.push(at);
                Use::Failed
            }
            Some(_) if declared.sensitive => Use::Sensitive,
            Some((value, _)) => Use::Text(value.clone()),
        }
    }

    /// The value of a sensitive variable, to check against the rule of the place it is used.
    pub(super) fn sensitive_value(&self, name: &str) -> Option<&str> {
        self.variables
            .get(name)
            .and_then(|declared| declared.value.as_ref())
            .map(|(value, _)| value.as_str())
    }

    /// `text` (the string at `at`) with every `${var.NAME}` replaced by its value; `$${var.`
    /// is a literal `${var.`. Other `${...}` are left as they are. `None` after an error.
    pub(super) fn interpolate<'a>(
        &mut self,
        at: Range<usize>,
        text: &'a str,
        what: &str,
    ) -> Option<Cow<'a, str>> {
        if !text.contains("${var.") {
            return Some(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut failed = false;
        while let Some(index) = rest.find("${") {
            let after = &rest[index + 2..];
            let is_var = after.starts_with("var.");
            if rest[..index].ends_with('$') {
                out.push_str(&rest[..index - 1]);
                out.push_str(if is_var { "${" } else { "$${" });
                rest = after;
                continue;
            }
            out.push_str(&rest[..index]);
            let end = after.find('}');
            let (true, Some(end)) = (is_var, end) else {
                out.push_str("${");
                rest = after;
                continue;
            };
            let name = after["var.".len()..end].trim();
            let offset = text.len() - rest.len() + index;
            let at_use = self.sub_span(at.clone(), text, offset..offset + end + 3);
            match self.use_variable(name, at_use, Place::Other, what) {
                Use::Text(value) => out.push_str(&value),
                Use::Sensitive | Use::Failed => failed = true,
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        (!failed).then_some(Cow::Owned(out))
    }

    /// The span of `part` of the string `text` written at `at`: exact when the string was
    /// written without escapes, else the whole string.
    pub(super) fn sub_span(&self, at: Range<usize>, text: &str, part: Range<usize>) -> SourceSpan {
        let written = self.source.get(at.clone()).unwrap_or("");
        let quoted =
            written.len() == text.len() + 2 && written.get(1..written.len() - 1) == Some(text);
        if quoted {
            span(at.start + 1 + part.start..at.start + 1 + part.end)
        } else {
            span(at)
        }
    }

    /// The model's variables, and an error for each variable that has no value.
    pub(super) fn finish_variables(&mut self) -> BTreeMap<String, Variable> {
        let mut out = BTreeMap::new();
        let variables = std::mem::take(&mut self.variables);
        for (name, declared) in variables {
            match declared.value {
                Some((value, origin)) => {
                    out.insert(
                        name,
                        Variable {
                            description: declared.description,
                            sensitive: declared.sensitive,
                            value: Secret::new(value),
                            origin,
                            span: declared.span,
                        },
                    );
                }
                None if declared.broken => {}
                None => {
                    let (primary, label) = match declared.uses.first() {
                        Some(first) => (*first, "used here"),
                        None => (declared.span, "declared without a default"),
                    };
                    let mut error = ConfigError::new(
                        "config::unset_variable",
                        primary,
                        format!("the variable `{name}` has no value"),
                        label,
                    )
                    .with_help(format!(
                        "give it a value: `--var {name}=...`, `{name} = \"...\"` in a --var-file, \
                         `{ENV_PREFIX}{name}` in the environment, or a `default`"
                    ));
                    for other in declared.uses.iter().skip(1) {
                        error = error.with_label(*other, "used here");
                    }
                    self.error(error);
                }
            }
        }
        out
    }

    /// `"${var.NAME}"` of a sensitive variable as a whole value: the model's [`Value::Var`],
    /// after its value is checked against `rule` (without showing it). `None` when `text` is
    /// not such a use.
    pub(super) fn sensitive_whole_value(
        &mut self,
        at: Range<usize>,
        text: &str,
        what: &str,
        rule: Option<&rules::Rule>,
    ) -> Option<Option<Value>> {
        let name = text.strip_prefix("${var.")?.strip_suffix('}')?.trim();
        if name.contains('}')
            || !self
                .variables
                .get(name)
                .is_some_and(|declared| declared.sensitive)
        {
            return None;
        }
        let at_span = span(at.clone());
        match self.use_variable(name, at_span, Place::WholeValue, what) {
            Use::Sensitive => {}
            _ => return Some(None),
        }
        if let (Some(rule), Some(value)) = (rule, self.sensitive_value(name))
            && let Err(problem) = rule.check(value)
        {
            let error = ConfigError::new(
                rule.code,
                at_span,
                format!("the value of `var.{name}` used as `{what}` {problem}"),
                "invalid (sensitive) value",
            )
            .with_help(rule.help_for(&problem));
            self.error(error);
            return Some(None);
        }
        Some(Some(Value::Var {
            name: name.to_string(),
            span: at_span,
        }))
    }
}

#[cfg(test)]
mod tests;
