//! `[[import]]`: the blocks walked (`to`), then checked against the configuration they import
//! into (docs/configuration.md, "Importing").

use std::collections::BTreeMap;

use miette::SourceSpan;

use super::walker::{Node, Walker, span};
use crate::address::Address;
use crate::error::{ConfigError, did_you_mean};
use crate::import::Import;
use crate::model::Config;

impl Walker<'_> {
    /// `[[import]]` blocks.
    pub(super) fn imports(&mut self, source: &str, node: &Node<'_>) -> Vec<Import> {
        let mut out = Vec::new();
        for (table, at) in self.blocks(node, "import") {
            for key in table.keys() {
                let name = key.get_ref();
                if name == "id" {
                    self.error(
                        ConfigError::new(
                            "config::import_id",
                            span(key.span()),
                            "an [[import]] block takes no `id`",
                            "not needed",
                        )
                        .with_help(
                            "the address names the AWS resource through this file (the REST \
                             API's `id` and the stage's name, or the app's `id` and the \
                             branch's name): remove `id`",
                        ),
                    );
                } else if name != "to" {
                    self.error(
                        ConfigError::new(
                            "config::unknown_key",
                            span(key.span()),
                            format!("unknown key `{name}` in an [[import]] block"),
                            "not a known key",
                        )
                        .with_help(
                            did_you_mean(name, ["to"]).unwrap_or_else(|| {
                                "the keys allowed in an [[import]] block are: to".to_string()
                            }),
                        ),
                    );
                }
            }
            let Some(node) = self.required(source, table, at, "to", "an [[import]] block") else {
                continue;
            };
            let Some(text) = self.str(node, "to") else {
                continue;
            };
            match Address::parse(&text) {
                Ok(to) => out.push(Import {
                    to,
                    to_span: span(node.span()),
                }),
                Err(error) => self.error(
                    ConfigError::new(
                        "config::invalid_address",
                        span(node.span()),
                        error.to_string(),
                        "not an address",
                    )
                    .with_help(
                        "an [[import]] block names one stage, canary or branch: \
                         `rest_apis.<api>.stages.<stage>[.canary]` or \
                         `amplify_apps.<app>.branches.<branch>`",
                    ),
                ),
            }
        }
        out
    }
}

/// Checks the blocks against the configuration: each imports a declared resource, once, and
/// not one a `[[moved]]` block moves a record to (the two would both fill its record).
pub(crate) fn check_imports(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut seen: BTreeMap<&Address, SourceSpan> = BTreeMap::new();
    for import in &config.imports {
        if !config.contains(&import.to) {
            errors.push(
                ConfigError::new(
                    "config::import_undeclared",
                    import.to_span,
                    format!("`{}` is not declared in this file", import.to),
                    "imported into nothing",
                )
                .with_help(
                    "an [[import]] block's `to` must name a stage, canary or branch declared in \
                     this file, with the settings it should have",
                ),
            );
        }
        if let Some(&first) = seen.get(&import.to) {
            errors.push(
                ConfigError::new(
                    "config::import_twice",
                    import.to_span,
                    format!("`{}` is imported twice", import.to),
                    "imported again",
                )
                .with_label(first, "first imported here"),
            );
        } else {
            seen.insert(&import.to, import.to_span);
        }
        if let Some(moved) = config
            .moved
            .iter()
            .find(|moved| moved.to.covers(&import.to))
        {
            errors.push(
                ConfigError::new(
                    "config::import_moved",
                    import.to_span,
                    format!("`{}` is both imported and moved to", import.to),
                    "imported",
                )
                .with_label(moved.to_span, "moved to here")
                .with_help(
                    "a resource's record comes from one place: remove the [[moved]] block or the \
                     [[import]] block",
                ),
            );
        }
    }
}
