//! `[rest_apis.<key>]`: a REST API, its stages, their canaries and their variables.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::defaults::StageDefaults;
use super::rollout::first_step;
use super::walker::{Context, Node, Walker, header_span, span};
use crate::error::ConfigError;
use crate::model::*;
use crate::rules;

impl Walker<'_> {
    pub(super) fn rest_api(&mut self, source: &str, key: &str, node: &Node<'_>) -> Option<RestApi> {
        let context = Context::RestApi(key);
        let table = self.table(node, format_args!("rest_apis.{key}"))?;
        self.check_keys(table, &["id", "defaults", "stages"], context);
        let defaults = match table.get("defaults") {
            Some(node) => self.stage_defaults(key, node),
            None => StageDefaults::default(),
        };
        let id = self
            .required(source, table, node.span(), "id", context)
            .and_then(|node| {
                let id = self.string(node, "id")?;
                self.rule(node.span(), "REST API id", &id, &rules::REST_API_ID)
                    .then_some(id)
            });
        let mut stages = BTreeMap::new();
        if let Some(stages_node) = table.get("stages")
            && let Some(stage_tables) =
                self.table(stages_node, format_args!("rest_apis.{key}.stages"))
        {
            for (index, (name, node)) in stage_tables.iter().enumerate() {
                if index == rules::MAX_STAGES_PER_API {
                    self.error(
                        ConfigError::new(
                            "config::too_many_stages",
                            span(name.span()),
                            format!(
                                "REST API `{key}` has {} stages; API Gateway allows {} per API",
                                stage_tables.len(),
                                rules::MAX_STAGES_PER_API
                            ),
                            "one stage too many",
                        )
                        .with_help("the quota is adjustable in AWS Service Quotas, but stagecraft keeps to the default"),
                    );
                }
                let name_ok = self.rule(
                    name.span(),
                    "stage name",
                    name.get_ref(),
                    &rules::STAGE_NAME,
                );
                if let Some(stage) = self.stage(source, key, name.get_ref(), node, &defaults)
                    && name_ok
                {
                    stages.insert(name.get_ref().to_string(), stage);
                }
            }
        }
        Some(RestApi { id: id?, stages })
    }

    pub(super) fn stage(
        &mut self,
        source: &str,
        api: &str,
        name: &str,
        node: &Node<'_>,
        defaults: &StageDefaults,
    ) -> Option<Stage> {
        let context = Context::Stage { api, name };
        let table = self.table(node, format_args!("rest_apis.{api}.stages.{name}"))?;
        self.check_keys(
            table,
            &[
                "revision",
                "description",
                "tracing",
                "variables",
                "cache_size",
                "canary",
                "depends_on",
                "prevent_destroy",
            ],
            context,
        );
        let revision = self.revision(source, table, node.span(), context);
        let description = self.optional_string(table, "description", "description");
        let tracing = self.boolean(table, "tracing", "tracing");
        let variables = self.variables(table.get("variables"), "variables", context);
        let cache_size = table
            .get("cache_size")
            .and_then(|node| self.cache_size(node));
        let canary = table
            .get("canary")
            .and_then(|node| self.canary(source, name, node));
        let depends_on = self.depends_on(table);
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        let inherit = |key: &str| !table.contains_key(key);
        let description = if inherit("description") {
            defaults.description.clone()
        } else {
            description
        };
        let tracing = if inherit("tracing") {
            defaults.tracing.unwrap_or(false)
        } else {
            tracing
        };
        let cache_size = if inherit("cache_size") {
            defaults.cache_size
        } else {
            cache_size
        };
        let mut variables = variables;
        if !defaults.variables.is_empty() {
            let own = variables.len();
            for (key, value) in &defaults.variables {
                variables
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
            if own <= rules::MAX_VARIABLES && variables.len() > rules::MAX_VARIABLES {
                self.error(ConfigError::new(
                    "config::too_many_variables",
                    header_span(source, node.span()),
                    format!(
                        "{context} has {} variables with those of its API's defaults; API Gateway allows {}",
                        variables.len(),
                        rules::MAX_VARIABLES
                    ),
                    "too many",
                ));
            }
        }
        Some(Stage {
            revision: revision?,
            description,
            tracing,
            variables,
            cache_size,
            canary,
            depends_on,
            prevent_destroy,
            span: header_span(source, node.span()),
        })
    }

    pub(super) fn revision(
        &mut self,
        source: &str,
        table: &DeTable<'_>,
        table_span: Range<usize>,
        context: Context<'_>,
    ) -> Option<String> {
        let node = self.required(source, table, table_span, "revision", context)?;
        let revision = self.string(node, "revision")?;
        self.rule(node.span(), "revision", &revision, &rules::REVISION)
            .then_some(revision)
    }

    pub(super) fn cache_size(&mut self, node: &Node<'_>) -> Option<CacheSize> {
        // A string is AWS's own spelling (`"0.5"`, `"118"`), as the API and the schema take it;
        // a number is any number equal to a size (`118`, `118.0`).
        let (text, size) = match node.get_ref() {
            DeValue::String(text) => {
                let text = self
                    .interpolate(node.span(), text, "cache_size")?
                    .into_owned();
                let size = CacheSize::from_spelling(&text);
                (text, size)
            }
            DeValue::Float(float) => (float.as_str().to_string(), CacheSize::parse(float.as_str())),
            DeValue::Integer(integer) if integer.radix() == 10 => (
                integer.as_str().to_string(),
                CacheSize::parse(integer.as_str()),
            ),
            _ => {
                self.wrong_type(node, "cache_size", "a size in GB (string or number)");
                return None;
            }
        };
        if size.is_none() {
            let sizes: Vec<&str> = CacheSize::ALL.iter().map(|(_, text)| *text).collect();
            self.error(
                ConfigError::new(
                    "config::invalid_cache_size",
                    span(node.span()),
                    format!("`{text}` is not an API Gateway cache size"),
                    "not one of the eight sizes",
                )
                .with_help(format!(
                    "cache sizes (GB): {} (a string spelled exactly so, or a number)",
                    sizes.join(", ")
                )),
            );
        }
        size
    }

    pub(super) fn canary(&mut self, source: &str, stage: &str, node: &Node<'_>) -> Option<Canary> {
        let context = Context::Canary { stage };
        let table = self.table(node, "canary")?;
        self.check_keys(
            table,
            &[
                "revision",
                "percent_traffic",
                "variable_overrides",
                "use_stage_cache",
                "prevent_destroy",
                "rollout",
            ],
            context,
        );
        let revision = self.revision(source, table, node.span(), context);
        let rollout = table
            .get("rollout")
            .and_then(|node| self.rollout(source, stage, node));
        let written = match table.get("percent_traffic") {
            None => Some(None),
            Some(node) => match self.number(node, "percent_traffic") {
                None => return None,
                Some(percent) if (0.0..=100.0).contains(&percent) => Some(Some((percent, node))),
                Some(_) => {
                    self.error(ConfigError::new(
                        "config::out_of_range",
                        span(node.span()),
                        "`percent_traffic` must be between 0.0 and 100.0",
                        "out of range",
                    ));
                    None
                }
            },
        };
        // With a rollout, the canary starts at its first step: `percent_traffic` may be left out,
        // and when written it must say the same.
        let percent_traffic = match (written, &rollout) {
            (None, _) => None,
            (Some(None), None) => Some(0.0),
            (Some(None), Some(rollout)) => Some(rollout.first_percent()),
            (Some(Some((percent, _))), None) if !table.contains_key("rollout") => Some(percent),
            (Some(Some((percent, node))), _) => {
                // Compared with the first step as written, even when the rollout has other
                // problems, so that every error is reported at once.
                match table.get("rollout").and_then(first_step) {
                    None => None,
                    Some(first) if percent == first => Some(percent),
                    Some(first) => {
                        self.error(
                        ConfigError::new(
                            "config::percent_not_first_step",
                            span(node.span()),
                            format!(
                                "`percent_traffic` is {percent}, but the rollout's first step is {first}"
                            ),
                            "not the first step",
                        )
                        .with_help("a rollout starts the canary at its first step: remove `percent_traffic` or make it the first step"),
                    );
                        None
                    }
                }
            }
        };
        // A rollout with problems leaves no canary in the model, as a bad `percent_traffic` does.
        let percent_traffic =
            percent_traffic.filter(|_| rollout.is_some() || !table.contains_key("rollout"));
        let variable_overrides = self.variables(
            table.get("variable_overrides"),
            "variable_overrides",
            context,
        );
        let use_stage_cache = self.boolean(table, "use_stage_cache", "use_stage_cache");
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        Some(Canary {
            revision: revision?,
            percent_traffic: percent_traffic?,
            variable_overrides,
            use_stage_cache,
            prevent_destroy,
            rollout,
            span: header_span(source, node.span()),
        })
    }

    pub(super) fn variables(
        &mut self,
        node: Option<&Node<'_>>,
        what: &str,
        context: Context<'_>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let Some(node) = node else { return out };
        let Some(table) = self.table(node, what) else {
            return out;
        };
        if table.len() > rules::MAX_VARIABLES {
            self.error(ConfigError::new(
                "config::too_many_variables",
                span(node.span()),
                format!(
                    "{context} has {} {what}; API Gateway allows {}",
                    table.len(),
                    rules::MAX_VARIABLES
                ),
                "too many",
            ));
        }
        for (key, node) in table {
            let key_ok = self.rule(
                key.span(),
                "variable name",
                key.get_ref(),
                &rules::VARIABLE_NAME,
            );
            if let Some(value) = self.value(node, key.get_ref(), Some(&rules::VARIABLE_VALUE))
                && key_ok
            {
                out.insert(key.get_ref().to_string(), value);
            }
        }
        out
    }
}
