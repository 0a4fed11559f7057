//! `stagecraft generate`'s document (docs/configuration.md, "Adopting what already runs"): what
//! runs in AWS, as plain data read by the CLI, written as a deploy.toml with toml_edit, one
//! `[[import]]` per resource, then put in `fmt`'s canonical form. Applying it makes no AWS call:
//! every value is the live one, and each revision label is one the import maps to the live
//! deployment it names.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value, value};

/// What `generate` read from AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Adopted {
    /// `[project] name`.
    pub project: String,
    /// `[project] region`, when known.
    pub region: Option<String>,
    /// The REST APIs, in the order asked for.
    pub rest_apis: Vec<AdoptedApi>,
    /// The Amplify apps, in the order asked for.
    pub amplify_apps: Vec<AdoptedApp>,
}

/// A REST API and its stages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdoptedApi {
    /// Its id.
    pub id: String,
    /// Its stages.
    pub stages: Vec<AdoptedStage>,
}

/// A live stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdoptedStage {
    /// The stage name (its key).
    pub name: String,
    /// The revision label of the deployment it serves ([`revision_label`]).
    pub revision: String,
    /// Its description.
    pub description: Option<String>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// The cache size in AWS's spelling, when the cache is on.
    pub cache_size: Option<String>,
    /// Its canary, if one is live.
    pub canary: Option<AdoptedCanary>,
}

/// A live canary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdoptedCanary {
    /// The revision label of the canary's deployment.
    pub revision: String,
    /// Share of traffic.
    pub percent_traffic: f64,
    /// Variable overrides.
    pub variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
}

/// An Amplify app and its branches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdoptedApp {
    /// Its id.
    pub id: String,
    /// Its branches.
    pub branches: Vec<AdoptedBranch>,
}

/// A live branch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdoptedBranch {
    /// The branch name (its key).
    pub name: String,
    /// Its stage in AWS's spelling (`PRODUCTION`), `None` for `NONE`.
    pub stage: Option<String>,
    /// The framework label.
    pub framework: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Whether basic auth is on (its credentials cannot be read back).
    pub basic_auth: bool,
}

/// The revision label of a deployment: the revision a stagecraft snapshot's description names
/// (`<revision> (stagecraft <lineage> <nonce>)`), else `deployment-<id>`.
pub fn revision_label(deployment_id: &str, description: Option<&str>) -> String {
    description
        .and_then(|text| {
            let (revision, marker) = text.rsplit_once(" (stagecraft ")?;
            let inside = marker.strip_suffix(')')?;
            (inside.split(' ').count() == 2 && !revision.is_empty()).then(|| revision.to_string())
        })
        .unwrap_or_else(|| format!("deployment-{deployment_id}"))
}

/// A table key for an AWS id: the id's letters, digits, `-` and `_` (others become `_`),
/// prefixed so that it is never empty; `taken` keys get `_2`, `_3`, ... in order.
fn key_for(prefix: &str, id: &str, taken: &mut BTreeSet<String>) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if clean.is_empty() {
        prefix.to_string()
    } else {
        clean
    };
    let mut key = base.clone();
    let mut n = 1;
    while taken.contains(&key) {
        n += 1;
        key = format!("{base}_{n}");
    }
    taken.insert(key.clone());
    key
}

fn string_map(values: &BTreeMap<String, String>) -> Value {
    let mut table = InlineTable::new();
    for (key, text) in values {
        table.insert(key, text.as_str().into());
    }
    Value::InlineTable(table)
}

/// An environment variable name for a placeholder: upper case, letters, digits and `_`.
fn env_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|part| {
            part.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

fn set_comment(item: &mut Table, text: &str) {
    item.decor_mut().set_prefix(text);
}

/// The generated deploy.toml, in `fmt`'s canonical form.
pub fn generate(adopted: &Adopted) -> String {
    let mut doc = DocumentMut::new();
    let mut project = Table::new();
    set_comment(
        &mut project,
        "# Generated by `stagecraft generate` from what runs in AWS. Review it, then `stagecraft\n\
         # plan`: it shows only imports, and `apply` records them with no AWS change.\n",
    );
    project.insert("name", value(adopted.project.as_str()));
    if let Some(region) = &adopted.region {
        project.insert("region", value(region.as_str()));
    }
    doc.insert("project", Item::Table(project));
    let mut imports: Vec<String> = Vec::new();
    let mut keys = BTreeSet::new();

    if !adopted.rest_apis.is_empty() {
        let mut apis = Table::new();
        apis.set_implicit(true);
        for api in &adopted.rest_apis {
            let key = key_for("api", &api.id, &mut keys);
            let mut table = Table::new();
            set_comment(
                &mut table,
                "\n# Keyed by the API's id; rename the key with a [[moved]] block once applied.\n",
            );
            table.insert("id", value(api.id.as_str()));
            let mut stages = Table::new();
            stages.set_implicit(true);
            for stage in &api.stages {
                let mut item = Table::new();
                item.insert("revision", value(stage.revision.as_str()));
                if let Some(description) = &stage.description {
                    item.insert("description", value(description.as_str()));
                }
                if stage.tracing {
                    item.insert("tracing", value(true));
                }
                if !stage.variables.is_empty() {
                    item.insert("variables", Item::Value(string_map(&stage.variables)));
                }
                if let Some(size) = &stage.cache_size {
                    item.insert("cache_size", value(size.as_str()));
                }
                if let Some(canary) = &stage.canary {
                    let mut table = Table::new();
                    table.insert("revision", value(canary.revision.as_str()));
                    table.insert("percent_traffic", value(canary.percent_traffic));
                    if !canary.variable_overrides.is_empty() {
                        table.insert(
                            "variable_overrides",
                            Item::Value(string_map(&canary.variable_overrides)),
                        );
                    }
                    table.insert("use_stage_cache", value(canary.use_stage_cache));
                    item.insert("canary", Item::Table(table));
                }
                stages.insert(&stage.name, Item::Table(item));
                let stage_key = crate::Address::Stage {
                    api: key.clone(),
                    stage: stage.name.clone(),
                };
                imports.push(stage_key.to_string());
                if stage.canary.is_some() {
                    imports.push(
                        crate::Address::Canary {
                            api: key.clone(),
                            stage: stage.name.clone(),
                        }
                        .to_string(),
                    );
                }
            }
            table.insert("stages", Item::Table(stages));
            apis.insert(&key, Item::Table(table));
        }
        doc.insert("rest_apis", Item::Table(apis));
    }

    if !adopted.amplify_apps.is_empty() {
        let mut apps = Table::new();
        apps.set_implicit(true);
        for app in &adopted.amplify_apps {
            let key = key_for("app", &app.id, &mut keys);
            let mut table = Table::new();
            set_comment(
                &mut table,
                "\n# Keyed by the app's id; rename the key with a [[moved]] block once applied.\n",
            );
            table.insert("id", value(app.id.as_str()));
            let mut branches = Table::new();
            branches.set_implicit(true);
            for branch in &app.branches {
                let mut item = Table::new();
                let mut note = String::from(
                    "\n# Amplify cannot tell which build output a branch serves: add `artifact = \
                     \"PATH\"`\n# to deploy from here (the next apply then uploads it).\n",
                );
                if branch.basic_auth {
                    note.push_str(
                        "# Basic auth is on, but Amplify never gives its credentials back: set the \
                         two\n# variables below (the first apply then sets them on the branch).\n",
                    );
                }
                set_comment(&mut item, &note);
                if let Some(stage) = &branch.stage {
                    item.insert("stage", value(stage.as_str()));
                }
                if let Some(framework) = &branch.framework {
                    item.insert("framework", value(framework.as_str()));
                }
                if let Some(description) = &branch.description {
                    item.insert("description", value(description.as_str()));
                }
                if !branch.environment.is_empty() {
                    item.insert("environment", Item::Value(string_map(&branch.environment)));
                }
                if branch.basic_auth {
                    let mut auth = InlineTable::new();
                    for (part, suffix) in [("username", "USERNAME"), ("password", "PASSWORD")] {
                        let mut env = InlineTable::new();
                        env.insert(
                            "env",
                            env_name(&["AMPLIFY", &key, &branch.name, suffix]).into(),
                        );
                        auth.insert(part, Value::InlineTable(env));
                    }
                    item.insert("basic_auth", Item::Value(Value::InlineTable(auth)));
                }
                branches.insert(&branch.name, Item::Table(item));
                imports.push(
                    crate::Address::Branch {
                        app: key.clone(),
                        branch: branch.name.clone(),
                    }
                    .to_string(),
                );
            }
            table.insert("branches", Item::Table(branches));
            apps.insert(&key, Item::Table(table));
        }
        doc.insert("amplify_apps", Item::Table(apps));
    }

    if !imports.is_empty() {
        let mut blocks = toml_edit::ArrayOfTables::new();
        for (n, address) in imports.iter().enumerate() {
            let mut block = Table::new();
            if n == 0 {
                set_comment(
                    &mut block,
                    "\n# Each resource above, taken into the state by the first apply (no AWS call).\n",
                );
            }
            block.insert("to", value(address.as_str()));
            blocks.push(block);
        }
        doc.insert("import", Item::ArrayOfTables(blocks));
    }
    let text = doc.to_string();
    crate::format(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests;
