//! `[amplify_apps.<key>]`: an Amplify app, its branches, their environment, basic auth and
//! artifact.

use std::collections::BTreeMap;

use super::defaults::BranchDefaults;
use super::walker::{Context, Node, Walker, header_span, span};
use crate::PathInfo;
use crate::error::{ConfigError, did_you_mean};
use crate::model::*;
use crate::rules;

impl Walker<'_> {
    pub(super) fn amplify_app(
        &mut self,
        source: &str,
        key: &str,
        node: &Node<'_>,
    ) -> Option<AmplifyApp> {
        let context = Context::AmplifyApp(key);
        let table = self.table(node, format_args!("amplify_apps.{key}"))?;
        self.check_keys(table, &["id", "defaults", "branches"], context);
        let defaults = match table.get("defaults") {
            Some(node) => self.branch_defaults(source, key, node),
            None => BranchDefaults::default(),
        };
        let id = self
            .required(source, table, node.span(), "id", context)
            .and_then(|node| {
                let id = self.string(node, "id")?;
                self.rule(node.span(), "Amplify app id", &id, &rules::AMPLIFY_APP_ID)
                    .then_some(id)
            });
        let mut branches = BTreeMap::new();
        if let Some(branches_node) = table.get("branches")
            && let Some(branch_tables) =
                self.table(branches_node, format_args!("amplify_apps.{key}.branches"))
        {
            for (name, node) in branch_tables {
                let name_ok = self.rule(
                    name.span(),
                    "branch name",
                    name.get_ref(),
                    &rules::BRANCH_NAME,
                );
                if let Some(branch) = self.branch(source, key, name.get_ref(), node, &defaults)
                    && name_ok
                {
                    branches.insert(name.get_ref().to_string(), branch);
                }
            }
        }
        Some(AmplifyApp { id: id?, branches })
    }

    pub(super) fn branch(
        &mut self,
        source: &str,
        app: &str,
        name: &str,
        node: &Node<'_>,
        defaults: &BranchDefaults,
    ) -> Option<Branch> {
        let context = Context::Branch { app, name };
        let table = self.table(node, format_args!("amplify_apps.{app}.branches.{name}"))?;
        self.check_keys(
            table,
            &[
                "stage",
                "description",
                "framework",
                "environment",
                "basic_auth",
                "artifact",
                "depends_on",
                "prevent_destroy",
            ],
            context,
        );
        let stage = table.get("stage").and_then(|node| self.amplify_stage(node));
        let description = table
            .get("description")
            .and_then(|node| self.branch_description(node));
        let framework = table.get("framework").and_then(|node| self.framework(node));
        let environment = self.environment(table.get("environment"));
        let basic_auth = table
            .get("basic_auth")
            .and_then(|node| self.basic_auth(source, node));
        let artifact = table.get("artifact").and_then(|node| self.artifact(node));
        let depends_on = self.depends_on(table);
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        let inherit = |key: &str| !table.contains_key(key);
        let stage = if inherit("stage") {
            defaults.stage
        } else {
            stage
        };
        let description = if inherit("description") {
            defaults.description.clone()
        } else {
            description
        };
        let framework = if inherit("framework") {
            defaults.framework.clone()
        } else {
            framework
        };
        let basic_auth = if inherit("basic_auth") {
            defaults.basic_auth.clone()
        } else {
            basic_auth
        };
        let mut environment = environment;
        for (key, value) in &defaults.environment {
            environment
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        Some(Branch {
            stage,
            description,
            framework,
            environment,
            basic_auth,
            artifact,
            depends_on,
            prevent_destroy,
            span: header_span(source, node.span()),
        })
    }

    pub(super) fn amplify_stage(&mut self, node: &Node<'_>) -> Option<AmplifyStage> {
        let text = self.string(node, "stage")?;
        let stage = AmplifyStage::parse(&text);
        if stage.is_none() {
            let names: Vec<&str> = AmplifyStage::ALL.iter().map(|(_, name)| *name).collect();
            self.error(
                ConfigError::new(
                    "config::invalid_amplify_stage",
                    span(node.span()),
                    format!("`{text}` is not an Amplify stage"),
                    "unknown stage",
                )
                .with_help(
                    did_you_mean(&text.to_uppercase(), names.iter().copied())
                        .unwrap_or_else(|| format!("Amplify stages: {}", names.join(", "))),
                ),
            );
        }
        stage
    }

    pub(super) fn branch_description(&mut self, node: &Node<'_>) -> Option<String> {
        let text = self.string(node, "description")?;
        self.rule(
            node.span(),
            "description",
            &text,
            &rules::BRANCH_DESCRIPTION,
        )
        .then_some(text)
    }

    pub(super) fn framework(&mut self, node: &Node<'_>) -> Option<String> {
        let text = self.string(node, "framework")?;
        self.rule(node.span(), "framework", &text, &rules::FRAMEWORK)
            .then_some(text)
    }

    pub(super) fn environment(&mut self, node: Option<&Node<'_>>) -> BTreeMap<String, Value> {
        let mut environment = BTreeMap::new();
        if let Some(node) = node
            && let Some(env_table) = self.table(node, "environment")
        {
            for (key, node) in env_table {
                let key_ok = self.rule(
                    key.span(),
                    "environment variable name",
                    key.get_ref(),
                    &rules::AMPLIFY_ENV_NAME,
                );
                if let Some(value) =
                    self.value(node, key.get_ref(), Some(&rules::AMPLIFY_ENV_VALUE))
                    && key_ok
                {
                    environment.insert(key.get_ref().to_string(), value);
                }
            }
        }
        environment
    }

    pub(super) fn basic_auth(&mut self, source: &str, node: &Node<'_>) -> Option<BasicAuth> {
        let table = self.table(node, "basic_auth")?;
        self.check_keys(table, &["username", "password"], "basic_auth");
        let username = self
            .required(source, table, node.span(), "username", "basic_auth")
            .and_then(|node| self.value(node, "username", Some(&rules::BASIC_AUTH_PART)));
        let password = self
            .required(source, table, node.span(), "password", "basic_auth")
            .and_then(|node| self.value(node, "password", Some(&rules::BASIC_AUTH_PART)));
        Some(BasicAuth {
            username: username?,
            password: password?,
        })
    }

    pub(super) fn artifact(&mut self, node: &Node<'_>) -> Option<Artifact> {
        let path = self.string(node, "artifact")?;
        let path = self.path_from(node.span(), path);
        let problem = match self.host.inspect_path(&path) {
            PathInfo::Directory => {
                return Some(Artifact {
                    path,
                    kind: ArtifactKind::Directory,
                });
            }
            PathInfo::File if path.to_ascii_lowercase().ends_with(".zip") => {
                return Some(Artifact {
                    path,
                    kind: ArtifactKind::Zip,
                });
            }
            PathInfo::File => "is a file but not a .zip archive",
            PathInfo::Missing => "does not exist",
        };
        self.error(
            ConfigError::new(
                "config::invalid_artifact",
                span(node.span()),
                format!("artifact `{path}` {problem}"),
                problem,
            )
            .with_help(
                "`artifact` is a folder (zipped with its contents at the root) or a .zip file, \
                 relative to the configuration file",
            ),
        );
        None
    }
}
