//! `[outputs]`: each output's name, its value (a template over the same references as other
//! values), `sensitive` and `description`; an output that uses a sensitive variable must be
//! sensitive itself (Terraform's "Output refers to sensitive values").

use std::collections::BTreeMap;
use std::ops::Range;

use miette::SourceSpan;
use toml::de::DeValue;

use super::template::unknown_address;
use super::walker::{Node, Walker, span};
use crate::error::ConfigError;
use crate::model::{Config, Part};
use crate::output::Output;
use crate::rules;

impl Walker<'_> {
    /// `[outputs]`, by name; an output with an error is left out.
    pub(super) fn outputs(&mut self, node: &Node<'_>) -> BTreeMap<String, Output> {
        let mut out = BTreeMap::new();
        let Some(table) = self.table(node, "outputs") else {
            return out;
        };
        for (key, node) in table {
            let name = key.get_ref();
            if !self.rule(key.span(), "output name", name, &rules::OUTPUT_NAME) {
                continue;
            }
            if let Some(output) = self.output(name, key.span(), node) {
                out.insert(name.to_string(), output);
            }
        }
        out
    }

    fn output(&mut self, name: &str, key: Range<usize>, node: &Node<'_>) -> Option<Output> {
        let what = format!("outputs.{name}");
        let (value, sensitive, description) = match node.get_ref() {
            DeValue::String(_) => (node, false, None),
            DeValue::Table(table) => {
                self.check_keys(
                    table,
                    &["value", "sensitive", "description"],
                    format_args!("output `{name}`"),
                );
                let sensitive = self.boolean(table, "sensitive", "sensitive");
                let description = self.optional_string(table, "description", "description");
                let value = self.required(
                    self.source,
                    table,
                    node.span(),
                    "value",
                    format_args!("output `{name}`"),
                )?;
                (value, sensitive, description)
            }
            _ => {
                self.wrong_type(
                    node,
                    &what,
                    "a string or `{ value = \"...\", sensitive = true }`",
                );
                return None;
            }
        };
        let DeValue::String(text) = value.get_ref() else {
            self.wrong_type(value, &what, "a string");
            return None;
        };
        let text = self.sensitive_uses(value.span(), text, name, sensitive)?;
        let template = self.template(value.span(), &text, &what)?;
        Some(Output {
            value: template,
            sensitive,
            description,
            span: span(key),
        })
    }

    /// `text` with each `${var.NAME}` of a sensitive variable taken out, for a sensitive
    /// output (its value is never worked out); in an output that is not sensitive, each such
    /// use is an error. `None` after an error.
    fn sensitive_uses(
        &mut self,
        at: Range<usize>,
        text: &str,
        name: &str,
        sensitive: bool,
    ) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut failed = false;
        while let Some(index) = rest.find("${") {
            let after = &rest[index + 2..];
            let end = after.find('}');
            let variable = after
                .strip_prefix("var.")
                .zip(end)
                .map(|(_, end)| after["var.".len()..end].trim());
            let escaped = rest[..index].ends_with('$');
            match (variable, end) {
                (Some(variable), Some(end)) if !escaped && self.is_sensitive(variable) => {
                    out.push_str(&rest[..index]);
                    if !sensitive {
                        let offset = text.len() - rest.len() + index;
                        let at_use = self.sub_span(at.clone(), text, offset..offset + end + 3);
                        self.sensitive_output_error(name, variable, at_use);
                        failed = true;
                    }
                    rest = &after[end + 1..];
                }
                _ => {
                    out.push_str(&rest[..index + 2]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (!failed).then_some(out)
    }

    fn is_sensitive(&self, variable: &str) -> bool {
        self.variables
            .get(variable)
            .is_some_and(|declared| declared.is_sensitive())
    }

    fn sensitive_output_error(&mut self, name: &str, variable: &str, at: SourceSpan) {
        self.error(
            ConfigError::new(
                "config::output_refers_to_sensitive",
                at,
                format!(
                    "Output refers to sensitive values: output `{name}` uses the sensitive \
                     variable `var.{variable}`"
                ),
                "sensitive",
            )
            .with_help(format!(
                "declare it sensitive: `{name} = {{ value = \"...\", sensitive = true }}`; a \
                 sensitive output is shown as (sensitive value) and never recorded"
            )),
        );
    }
}

/// Checks that every reference of every output names a declared resource.
pub(crate) fn check_output_references(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut known: Option<Vec<String>> = None;
    for output in config.outputs.values() {
        for part in &output.value.parts {
            let Part::Ref(reference) = part else {
                continue;
            };
            if !config.contains(&reference.address) {
                let known = known.get_or_insert_with(|| {
                    config.addresses().iter().map(ToString::to_string).collect()
                });
                errors.push(unknown_address(
                    &reference.address,
                    output.value.span,
                    known,
                ));
            }
        }
    }
}
