//! `rollout ... --write-config`'s edit of deploy.toml after a promotion (docs/configuration.md,
//! "Making the file plain after a promotion"): the stage's `revision` becomes the promoted one
//! and its `canary` table (with its `rollout`) goes, over toml_edit's tree so that every other
//! comment, key and layout is kept. Pure: texts in, texts out.

use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::address::Address;

/// One `--config` file: its name (for errors) and its text.
#[derive(Debug, Clone, Copy)]
pub struct ConfigText<'a> {
    /// The name the file is known by (its path as given).
    pub name: &'a str,
    /// Its text.
    pub text: &'a str,
}

/// Why the edit was not made. Nothing is edited when any of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A file is not TOML that toml_edit reads.
    #[error("{file} is not valid TOML: {message}")]
    NotToml {
        /// The file.
        file: String,
        /// toml_edit's message.
        message: String,
    },
    /// No file declares the stage with a `revision`.
    #[error("no configuration file declares {address} with a `revision`")]
    NoStage {
        /// The stage.
        address: String,
    },
    /// The stage's revision is written as a variable: editing the file would replace the
    /// variable, not its value.
    #[error(
        "the revision of {address} in {file} is `{written}`, a variable: set that variable to \
         `{revision}` and remove the canary table by hand"
    )]
    RevisionFromVariable {
        /// The stage.
        address: String,
        /// The file that writes it.
        file: String,
        /// The value as written.
        written: String,
        /// The promoted revision.
        revision: String,
    },
    /// The stage's revision comes from its API's `defaults` table, which other stages share.
    #[error(
        "the revision of {address} comes from [rest_apis.{api}.defaults] in {file}, which other \
         stages share: write `revision = \"{revision}\"` in the stage and remove its canary table by hand"
    )]
    RevisionFromDefaults {
        /// The stage.
        address: String,
        /// The REST API's key.
        api: String,
        /// The file that writes it.
        file: String,
        /// The promoted revision.
        revision: String,
    },
    /// The stage's revision is not a string (the configuration would not validate).
    #[error("the revision of {address} in {file} is not a string")]
    RevisionNotText {
        /// The stage.
        address: String,
        /// The file.
        file: String,
    },
    /// No file declares the stage's canary.
    #[error("no configuration file declares {address}")]
    NoCanary {
        /// The canary.
        address: String,
    },
    /// Something else names the canary (`depends_on`, a `${...}` reference, a `[[moved]]`
    /// block): without its table the file would not validate.
    #[error("{file} refers to {address} in `{at}`: remove that reference first")]
    StillReferenced {
        /// The canary.
        address: String,
        /// The file.
        file: String,
        /// The key path of the value that names it.
        at: String,
    },
}

/// The edit of each file, in the order given: `Some(text)` for a file that changed.
pub type Edited = Vec<Option<String>>;

/// Sets `revision` of the stage at `stage` (a stage's or its canary's address) to `revision` and
/// removes the stage's `canary` table (and its `rollout`), in every file that writes them: the
/// revision in the last file that writes it (the one the merged configuration takes), the canary
/// in each file that writes part of it. Comments and layout elsewhere are kept.
pub fn promote_in_config(
    files: &[ConfigText<'_>],
    stage: &Address,
    revision: &str,
) -> Result<Edited, EditError> {
    let stage = stage.canary_parent().unwrap_or_else(|| stage.clone());
    let Address::Stage {
        api,
        stage: stage_name,
    } = &stage
    else {
        return Err(EditError::NoStage {
            address: stage.to_string(),
        });
    };
    let canary = Address::Canary {
        api: api.clone(),
        stage: stage_name.clone(),
    };
    let mut documents = files
        .iter()
        .map(|file| {
            file.text
                .parse::<DocumentMut>()
                .map_err(|error| EditError::NotToml {
                    file: file.name.to_string(),
                    message: error.message().to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;

    // The revision the merged configuration takes: the last file's that writes one.
    let revision_file = (0..documents.len()).rev().find(|&index| {
        stage_table(&documents[index], api, stage_name)
            .is_some_and(|table| table.contains_key("revision"))
    });
    let Some(revision_file) = revision_file else {
        if let Some(index) = (0..documents.len()).rev().find(|&index| {
            defaults_table(&documents[index], api).is_some_and(|t| t.contains_key("revision"))
        }) {
            return Err(EditError::RevisionFromDefaults {
                address: stage.to_string(),
                api: api.clone(),
                file: files[index].name.to_string(),
                revision: revision.to_string(),
            });
        }
        return Err(EditError::NoStage {
            address: stage.to_string(),
        });
    };
    let with_canary: Vec<usize> = (0..documents.len())
        .filter(|&index| {
            stage_table(&documents[index], api, stage_name)
                .is_some_and(|table| table.contains_key("canary"))
        })
        .collect();
    if with_canary.is_empty() {
        return Err(EditError::NoCanary {
            address: canary.to_string(),
        });
    }

    let mut changed = vec![false; documents.len()];
    {
        let file = files[revision_file].name;
        let table =
            stage_table_mut(&mut documents[revision_file], api, stage_name).ok_or_else(|| {
                EditError::NoStage {
                    address: stage.to_string(),
                }
            })?;
        let value = table
            .get_mut("revision")
            .and_then(Item::as_value_mut)
            .ok_or_else(|| EditError::RevisionNotText {
                address: stage.to_string(),
                file: file.to_string(),
            })?;
        let Some(written) = value.as_str() else {
            return Err(EditError::RevisionNotText {
                address: stage.to_string(),
                file: file.to_string(),
            });
        };
        if written.contains("${") {
            return Err(EditError::RevisionFromVariable {
                address: stage.to_string(),
                file: file.to_string(),
                written: written.to_string(),
                revision: revision.to_string(),
            });
        }
        if written != revision {
            // The new value keeps the old one's surrounding spaces and trailing comment.
            let decor = value.decor().clone();
            *value = Value::from(revision);
            *value.decor_mut() = decor;
            changed[revision_file] = true;
        }
    }
    // AWS's promotion copies the canary's overrides into the stage's variables (the recorded
    // stage has them): the plain file says so. Later files' overrides win, as in the merge.
    let mut overrides: Vec<(String, Value)> = Vec::new();
    for &index in &with_canary {
        let Some(table) = stage_table(&documents[index], api, stage_name)
            .and_then(|stage| stage.get("canary"))
            .and_then(Item::as_table_like)
            .and_then(|canary| canary.get("variable_overrides"))
            .and_then(Item::as_table_like)
        else {
            continue;
        };
        for (key, item) in table.iter() {
            let Some(value) = item.as_value() else {
                continue;
            };
            let mut value = value.clone();
            value.decor_mut().clear();
            overrides.retain(|(known, _)| known != key);
            overrides.push((key.to_string(), value));
        }
    }
    for (key, value) in overrides {
        // Written where the merged configuration takes the stage's variable from: the last file
        // that writes it, else the file that takes the revision.
        let index = (0..documents.len())
            .rev()
            .find(|&index| {
                stage_table(&documents[index], api, stage_name)
                    .and_then(|stage| stage.get("variables"))
                    .and_then(Item::as_table_like)
                    .is_some_and(|variables| variables.contains_key(&key))
            })
            .unwrap_or(revision_file);
        if let Some(table) = stage_table_mut(&mut documents[index], api, stage_name) {
            set_variable(table, &key, value);
            changed[index] = true;
        }
    }
    for &index in &with_canary {
        if let Some(table) = stage_table_mut(&mut documents[index], api, stage_name) {
            let inline = table
                .get("canary")
                .is_some_and(|item| item.is_inline_table());
            table.remove("canary");
            if inline {
                // A key removed from an inline table takes the space before `}` with it.
                if let Some((_, last)) = table.iter_mut().last()
                    && let Some(value) = last.as_value_mut()
                    && value
                        .decor()
                        .suffix()
                        .is_none_or(|s| s.as_str() == Some(""))
                {
                    value.decor_mut().set_suffix(" ");
                }
            }
            changed[index] = true;
        }
    }
    // What still names the canary would not validate without its table.
    let needle = canary.to_string();
    for (document, file) in documents.iter().zip(files) {
        let mut path = Vec::new();
        if let Some(at) = find_text(document.as_item(), &needle, &mut path) {
            return Err(EditError::StillReferenced {
                address: needle,
                file: file.name.to_string(),
                at,
            });
        }
    }
    Ok(documents
        .into_iter()
        .zip(changed)
        .map(|(document, changed)| changed.then(|| document.to_string()))
        .collect())
}

/// Sets `variables.<key>` of a stage table to `value`: in place (keeping the old value's
/// spaces and comment), else added to its `variables`, else in a new `variables = { ... }`.
fn set_variable(stage: &mut dyn TableLike, key: &str, mut value: Value) {
    if !stage.contains_key("variables") {
        stage.insert(
            "variables",
            Item::Value(Value::InlineTable(Default::default())),
        );
    }
    let Some(variables) = stage.get_mut("variables").and_then(Item::as_table_like_mut) else {
        return;
    };
    match variables.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            variables.insert(key, Item::Value(value));
        }
    }
}

/// `rest_apis.<api>.stages.<stage>` of a document, as a table or an inline table.
fn stage_table<'d>(document: &'d DocumentMut, api: &str, stage: &str) -> Option<&'d dyn TableLike> {
    document
        .get("rest_apis")?
        .as_table_like()?
        .get(api)?
        .as_table_like()?
        .get("stages")?
        .as_table_like()?
        .get(stage)?
        .as_table_like()
}

fn stage_table_mut<'d>(
    document: &'d mut DocumentMut,
    api: &str,
    stage: &str,
) -> Option<&'d mut dyn TableLike> {
    document
        .get_mut("rest_apis")?
        .as_table_like_mut()?
        .get_mut(api)?
        .as_table_like_mut()?
        .get_mut("stages")?
        .as_table_like_mut()?
        .get_mut(stage)?
        .as_table_like_mut()
}

fn defaults_table<'d>(document: &'d DocumentMut, api: &str) -> Option<&'d dyn TableLike> {
    document
        .get("rest_apis")?
        .as_table_like()?
        .get(api)?
        .as_table_like()?
        .get("defaults")?
        .as_table_like()
}

/// The key path of the first string under `item` that contains `needle`.
fn find_text(item: &Item, needle: &str, path: &mut Vec<String>) -> Option<String> {
    match item {
        Item::None => None,
        Item::Value(value) => find_in_value(value, needle, path),
        Item::Table(table) => find_in_table(table, needle, path),
        Item::ArrayOfTables(tables) => {
            for (index, table) in tables.iter().enumerate() {
                path.push(format!("[{index}]"));
                if let Some(found) = find_in_table(table, needle, path) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
    }
}

fn find_in_table(table: &dyn TableLike, needle: &str, path: &mut Vec<String>) -> Option<String> {
    for (key, item) in table.iter() {
        path.push(key.to_string());
        if let Some(found) = find_text(item, needle, path) {
            return Some(found);
        }
        path.pop();
    }
    None
}

fn find_in_value(value: &Value, needle: &str, path: &mut Vec<String>) -> Option<String> {
    match value {
        Value::String(text) => text
            .value()
            .contains(needle)
            .then(|| path.join(".").replace(".[", "[")),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(format!("[{index}]"));
                if let Some(found) = find_in_value(item, needle, path) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
        Value::InlineTable(table) => find_in_table(table, needle, path),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
