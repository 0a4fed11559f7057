//! `[rest_apis.<key>.defaults]` and `[amplify_apps.<key>.defaults]`: settings every stage of
//! the API (every branch of the app) inherits. Each defaults table is checked once, where it is
//! written, so an error in it is reported once at its own span; a stage's (branch's) own key
//! wins, and the maps (`variables`, `environment`) merge key by key.

use std::collections::BTreeMap;

use super::walker::{Context, Node, Walker};
use crate::model::*;

/// What the stages of one REST API inherit.
#[derive(Debug, Clone, Default)]
pub(super) struct StageDefaults {
    pub description: Option<String>,
    pub tracing: Option<bool>,
    pub variables: BTreeMap<String, Value>,
    pub cache_size: Option<CacheSize>,
}

/// What the branches of one Amplify app inherit.
#[derive(Debug, Clone, Default)]
pub(super) struct BranchDefaults {
    pub stage: Option<AmplifyStage>,
    pub framework: Option<String>,
    pub description: Option<String>,
    pub environment: BTreeMap<String, Value>,
    pub basic_auth: Option<BasicAuth>,
}

impl Walker<'_> {
    pub(super) fn stage_defaults(&mut self, api: &str, node: &Node<'_>) -> StageDefaults {
        let context = Context::StageDefaults(api);
        let Some(table) = self.table(node, format_args!("rest_apis.{api}.defaults")) else {
            return StageDefaults::default();
        };
        self.check_keys(
            table,
            &["description", "tracing", "variables", "cache_size"],
            context,
        );
        StageDefaults {
            description: self.optional_string(table, "description", "description"),
            tracing: table
                .contains_key("tracing")
                .then(|| self.boolean(table, "tracing", "tracing")),
            variables: self.variables(table.get("variables"), "variables", context),
            cache_size: table
                .get("cache_size")
                .and_then(|node| self.cache_size(node)),
        }
    }

    pub(super) fn branch_defaults(
        &mut self,
        source: &str,
        app: &str,
        node: &Node<'_>,
    ) -> BranchDefaults {
        let context = Context::BranchDefaults(app);
        let Some(table) = self.table(node, format_args!("amplify_apps.{app}.defaults")) else {
            return BranchDefaults::default();
        };
        self.check_keys(
            table,
            &[
                "stage",
                "framework",
                "description",
                "environment",
                "basic_auth",
            ],
            context,
        );
        BranchDefaults {
            stage: table.get("stage").and_then(|node| self.amplify_stage(node)),
            framework: table.get("framework").and_then(|node| self.framework(node)),
            description: table
                .get("description")
                .and_then(|node| self.branch_description(node)),
            environment: self.environment(table.get("environment")),
            basic_auth: table
                .get("basic_auth")
                .and_then(|node| self.basic_auth(source, node)),
        }
    }
}

#[cfg(test)]
mod tests;
