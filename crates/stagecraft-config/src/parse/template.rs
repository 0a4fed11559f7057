//! Values and what they refer to: a string with `${address.attribute}` templates or
//! `{ env = "NAME" }`, `depends_on` lists, and the check that every reference names a declared
//! resource.

use std::ops::Range;

use miette::SourceSpan;
use toml::de::{DeTable, DeValue};

use super::variables::{Place, Use};
use super::walker::{Node, Walker, span};
use crate::address::{Address, Attribute, Reference, split_reference};
use crate::error::{ConfigError, did_you_mean};
use crate::model::*;
use crate::rules;

impl Walker<'_> {
    /// A string (possibly with references) or `{ env = "NAME" }`; literal parts are checked
    /// against `rule` now, env values when they are read.
    pub(super) fn value(
        &mut self,
        node: &Node<'_>,
        what: &str,
        rule: Option<&rules::Rule>,
    ) -> Option<Value> {
        match node.get_ref() {
            DeValue::String(text) => {
                if let Some(value) = self.sensitive_whole_value(node.span(), text, what, rule) {
                    return value;
                }
                let template = self.template(node.span(), text, what)?;
                if let (Some(rule), Some(literal)) = (rule, single_literal(&template)) {
                    if let Err(problem) = rule.check(literal) {
                        self.error(
                            ConfigError::new(
                                rule.code,
                                span(node.span()),
                                format!("the value of `{what}` {problem}"),
                                problem.to_string(),
                            )
                            .with_help(rule.help_for(&problem)),
                        );
                    }
                } else if let Some(rule) = rule {
                    for part in &template.parts {
                        if let Part::Literal(literal) = part
                            && let Some(bad) = literal.chars().find(|c| !rule.chars.allows(*c))
                        {
                            self.error(
                                ConfigError::new(
                                    rule.code,
                                    span(node.span()),
                                    format!("the value of `{what}` contains `{bad}`, which is not allowed"),
                                    "character not allowed",
                                )
                                .with_help(rule.help),
                            );
                            break;
                        }
                    }
                }
                Some(Value::Text(template))
            }
            DeValue::Table(table) => {
                let Some(env) = table.get("env") else {
                    self.wrong_type(node, what, "a string or `{ env = \"NAME\" }`");
                    return None;
                };
                self.check_keys(table, &["env"], "an environment reference");
                let name = self.string(env, "env")?;
                self.rule(
                    env.span(),
                    "environment variable name",
                    &name,
                    &rules::ENV_NAME,
                )
                .then_some(Value::Env {
                    name,
                    span: span(node.span()),
                })
            }
            _ => {
                self.wrong_type(node, what, "a string or `{ env = \"NAME\" }`");
                None
            }
        }
    }

    /// Splits `${...}` references out of a string, with `${var.NAME}` replaced by its value;
    /// `$${` is a literal `${`.
    pub(super) fn template(
        &mut self,
        at: Range<usize>,
        text: &str,
        what: &str,
    ) -> Option<Template> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let errors_before = self.errors.len();
        let mut failed = false;
        while let Some(index) = rest.find("${") {
            if rest[..index].ends_with('$') {
                literal.push_str(&rest[..index - 1]);
                literal.push_str("${");
                rest = &rest[index + 2..];
                continue;
            }
            literal.push_str(&rest[..index]);
            let after = &rest[index + 2..];
            let Some(end) = after.find('}') else {
                self.error(
                    ConfigError::new(
                        "config::invalid_reference",
                        span(at),
                        "unterminated `${` in a string",
                        "missing `}`",
                    )
                    .with_help("close the reference with `}`, or write `$${` for a literal `${`"),
                );
                return None;
            };
            let inner = &after[..end];
            if let Some(name) = inner.trim().strip_prefix("var.") {
                let offset = text.len() - rest.len() + index;
                let at_use = self.sub_span(at.clone(), text, offset..offset + end + 3);
                match self.use_variable(name.trim(), at_use, Place::Other, what) {
                    Use::Text(value) => literal.push_str(&value),
                    Use::Sensitive | Use::Failed => failed = true,
                }
                rest = &after[end + 1..];
                continue;
            }
            match split_reference(inner.trim()) {
                Ok((address, attribute)) => {
                    let offered = Attribute::offered_by(address.kind());
                    match offered.iter().find(|(name, _)| *name == attribute) {
                        Some((_, attribute)) => {
                            if !literal.is_empty() {
                                parts.push(Part::Literal(std::mem::take(&mut literal)));
                            }
                            parts.push(Part::Ref(Reference {
                                address,
                                attribute: *attribute,
                            }));
                        }
                        None => {
                            let names: Vec<&str> = offered.iter().map(|(name, _)| *name).collect();
                            self.error(
                                ConfigError::new(
                                    "config::unknown_attribute",
                                    span(at.clone()),
                                    format!("`{address}` has no attribute `{attribute}`"),
                                    "unknown attribute",
                                )
                                .with_help(
                                    did_you_mean(&attribute, names.iter().copied()).unwrap_or_else(
                                        || format!("its attributes are: {}", names.join(", ")),
                                    ),
                                ),
                            );
                        }
                    }
                }
                Err(error) => self.error(ConfigError::new(
                    "config::invalid_reference",
                    span(at.clone()),
                    error.to_string(),
                    "not a reference",
                )),
            }
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if failed || self.errors.len() > errors_before {
            return None;
        }
        if !literal.is_empty() || parts.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Some(Template {
            parts,
            span: span(at),
        })
    }

    pub(super) fn depends_on(&mut self, table: &DeTable<'_>) -> Vec<(Address, SourceSpan)> {
        let mut out = Vec::new();
        let Some(node) = table.get("depends_on") else {
            return out;
        };
        let DeValue::Array(items) = node.get_ref() else {
            self.wrong_type(node, "depends_on", "an array of resource addresses");
            return out;
        };
        for item in items.iter() {
            let Some(text) = self.str(item, "depends_on entry") else {
                continue;
            };
            match Address::parse(&text) {
                Ok(address) => out.push((address, span(item.span()))),
                Err(error) => self.error(ConfigError::new(
                    "config::invalid_address",
                    span(item.span()),
                    error.to_string(),
                    "not an address",
                )),
            }
        }
        out
    }
}

/// The text of a template without references, borrowed. [`Walker::template`] gathers such a
/// string into a single literal part, so this agrees with [`Template::as_literal`] without
/// copying the text.
fn single_literal(template: &Template) -> Option<&str> {
    match template.parts.as_slice() {
        [Part::Literal(text)] => Some(text),
        _ => None,
    }
}

/// Checks what the model refers to: `depends_on` entries and `${...}` references name declared
/// resources. Cycles are the graph's business (stagecraft-core), which reports whole cycles.
pub(crate) fn check_references(config: &Config, errors: &mut Vec<ConfigError>) {
    // The list of declared resources only feeds the hint of an error, so it is made on the
    // first error rather than for every valid configuration.
    let mut known: Option<Vec<String>> = None;
    let mut check = |address: &Address, at: SourceSpan| {
        if !config.contains(address) {
            let known = known.get_or_insert_with(|| {
                config.addresses().iter().map(ToString::to_string).collect()
            });
            errors.push(unknown_address(address, at, known));
        }
    };
    for (_, to, at) in config.depends_on_entries() {
        check(to, at);
    }
    for (_, configured) in config.values() {
        if let Value::Text(template) = configured.value {
            for reference in configured.value.references() {
                check(&reference.address, template.span);
            }
        }
    }
}

pub(super) fn unknown_address(address: &Address, at: SourceSpan, known: &[String]) -> ConfigError {
    let text = address.to_string();
    let help = did_you_mean(&text, known.iter().map(String::as_str)).unwrap_or_else(|| {
        if known.is_empty() {
            "the file declares no resources".to_string()
        } else {
            format!("declared resources: {}", known.join(", "))
        }
    });
    ConfigError::new(
        "config::unknown_address",
        at,
        format!("`{text}` is not declared in this file"),
        "unknown resource",
    )
    .with_help(help)
}
