//! `[[moved]]` and `[[removed]]`: the blocks walked (`from`, `to`, `destroy`), then checked
//! against the configuration they refactor (docs/configuration.md, "Refactoring").

use std::collections::BTreeMap;

use miette::SourceSpan;
use toml::de::{DeTable, DeValue};

use super::walker::{Node, Walker, span};
use crate::error::ConfigError;
use crate::model::Config;
use crate::refactor::{Moved, RefactorTarget, Removed};

impl Walker<'_> {
    /// The tables of an array of tables (`[[moved]]`), each with its span.
    pub(super) fn blocks<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        what: &str,
    ) -> Vec<(&'a DeTable<'i>, std::ops::Range<usize>)> {
        let DeValue::Array(items) = node.get_ref() else {
            self.wrong_type(node, what, "an array of tables (`[[...]]`)");
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.table(item, what).map(|table| (table, item.span())))
            .collect()
    }

    /// A block's address value.
    fn target(&mut self, node: &Node<'_>, what: &str) -> Option<(RefactorTarget, SourceSpan)> {
        let text = self.str(node, what)?;
        match RefactorTarget::parse(&text) {
            Ok(target) => Some((target, span(node.span()))),
            Err(error) => {
                self.error(
                    ConfigError::new(
                        "config::invalid_address",
                        span(node.span()),
                        error.to_string(),
                        "not an address",
                    )
                    .with_help(
                        "a refactoring block names a resource address, `rest_apis.<key>` or \
                         `amplify_apps.<key>`",
                    ),
                );
                None
            }
        }
    }

    /// `[[moved]]` blocks.
    pub(super) fn moved(&mut self, source: &str, node: &Node<'_>) -> Vec<Moved> {
        let mut out = Vec::new();
        for (table, at) in self.blocks(node, "moved") {
            self.check_keys(table, &["from", "to"], "a [[moved]] block");
            let from = self.required(source, table, at.clone(), "from", "a [[moved]] block");
            let to = self.required(source, table, at, "to", "a [[moved]] block");
            let from = from.and_then(|node| self.target(node, "from"));
            let to = to.and_then(|node| self.target(node, "to"));
            if let (Some((from, from_span)), Some((to, to_span))) = (from, to) {
                out.push(Moved {
                    from,
                    to,
                    from_span,
                    to_span,
                });
            }
        }
        out
    }

    /// `[[removed]]` blocks.
    pub(super) fn removed(&mut self, source: &str, node: &Node<'_>) -> Vec<Removed> {
        let mut out = Vec::new();
        for (table, at) in self.blocks(node, "removed") {
            self.check_keys(table, &["from", "destroy"], "a [[removed]] block");
            let from = self.required(source, table, at.clone(), "from", "a [[removed]] block");
            let has_destroy = self
                .required(source, table, at, "destroy", "a [[removed]] block")
                .is_some();
            let destroy = self.boolean(table, "destroy", "destroy");
            if let Some((from, from_span)) = from.and_then(|node| self.target(node, "from"))
                && has_destroy
            {
                out.push(Removed {
                    from,
                    destroy,
                    from_span,
                });
            }
        }
        out
    }
}

/// Whether the configuration declares what `target` names.
fn declared(config: &Config, target: &RefactorTarget) -> bool {
    match target {
        RefactorTarget::Resource(address) => config.contains(address),
        RefactorTarget::RestApi(key) => config.rest_apis.contains_key(key),
        RefactorTarget::AmplifyApp(key) => config.amplify_apps.contains_key(key),
    }
}

/// Checks the blocks against the configuration: a move goes from what the file no longer
/// declares to what it declares, between things of one kind; no two moves share an end, and
/// nothing is both moved and removed; what is removed is not declared.
pub(crate) fn check_refactors(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut froms: BTreeMap<&RefactorTarget, SourceSpan> = BTreeMap::new();
    let mut tos: BTreeMap<&RefactorTarget, SourceSpan> = BTreeMap::new();
    for moved in &config.moved {
        if moved.from.kind() != moved.to.kind() {
            errors.push(
                ConfigError::new(
                    "config::moved_kind",
                    moved.to_span,
                    format!(
                        "`{}` is {} but `{}` is {}: a move keeps the kind",
                        moved.from,
                        moved.from.kind(),
                        moved.to,
                        moved.to.kind()
                    ),
                    "another kind",
                )
                .with_label(moved.from_span, "moved from here"),
            );
        }
        if declared(config, &moved.from) {
            errors.push(
                ConfigError::new(
                    "config::moved_from_declared",
                    moved.from_span,
                    format!(
                        "`{}` is moved away but still declared in this file",
                        moved.from
                    ),
                    "still declared",
                )
                .with_help("remove its table, or remove the [[moved]] block"),
            );
        }
        if !declared(config, &moved.to) {
            errors.push(
                ConfigError::new(
                    "config::moved_to_undeclared",
                    moved.to_span,
                    format!("`{}` is not declared in this file", moved.to),
                    "moved to nothing",
                )
                .with_help("a [[moved]] block's `to` must name a resource declared in this file"),
            );
        }
        if let Some(&first) = froms.get(&moved.from) {
            errors.push(
                ConfigError::new(
                    "config::moved_twice",
                    moved.from_span,
                    format!("`{}` is moved twice", moved.from),
                    "moved again",
                )
                .with_label(first, "first moved here"),
            );
        } else {
            froms.insert(&moved.from, moved.from_span);
        }
        if let Some(&first) = tos.get(&moved.to) {
            errors.push(
                ConfigError::new(
                    "config::moved_twice",
                    moved.to_span,
                    format!("two [[moved]] blocks move to `{}`", moved.to),
                    "second move here",
                )
                .with_label(first, "first move here"),
            );
        } else {
            tos.insert(&moved.to, moved.to_span);
        }
    }
    for moved in &config.moved {
        // A chain (a -> b, b -> c): `b` is moved from, so it is not declared, so the first
        // move's `to` is already an error above; name the chain too, at the second block.
        if let Some(&earlier) = tos.get(&moved.from) {
            errors.push(
                ConfigError::new(
                    "config::moved_chain",
                    moved.from_span,
                    format!("`{}` is both moved to and moved from", moved.from),
                    "moved on again",
                )
                .with_label(earlier, "moved to here")
                .with_help("move straight from the first address to the last, in one block"),
            );
        }
    }
    let mut removed: BTreeMap<&RefactorTarget, SourceSpan> = BTreeMap::new();
    for block in &config.removed {
        if declared(config, &block.from) {
            errors.push(
                ConfigError::new(
                    "config::removed_declared",
                    block.from_span,
                    format!(
                        "`{}` is removed but still declared in this file",
                        block.from
                    ),
                    "still declared",
                )
                .with_help("remove its table, or remove the [[removed]] block"),
            );
        }
        if let Some(&moved) = froms.get(&block.from).or_else(|| tos.get(&block.from)) {
            errors.push(
                ConfigError::new(
                    "config::removed_moved",
                    block.from_span,
                    format!("`{}` is both moved and removed", block.from),
                    "removed",
                )
                .with_label(moved, "moved here"),
            );
        }
        if let Some(&first) = removed.get(&block.from) {
            errors.push(
                ConfigError::new(
                    "config::removed_twice",
                    block.from_span,
                    format!("`{}` is removed twice", block.from),
                    "removed again",
                )
                .with_label(first, "first removed here"),
            );
        } else {
            removed.insert(&block.from, block.from_span);
        }
    }
}
