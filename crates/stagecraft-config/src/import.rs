//! `[[import]]` blocks: a stage, canary or branch that already runs in AWS, taken into the state
//! by the plan like any change (docs/configuration.md, "Importing"). No `id`: the address names
//! the AWS resource through the configuration (the REST API's `id` and the stage's name, the
//! app's `id` and the branch's name), so an `id` could only repeat it or contradict it.

use miette::SourceSpan;

use crate::address::Address;

/// `[[import]] to = "ADDRESS"`: the declared resource at `to` is read from AWS and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The declared stage, canary or branch.
    pub to: Address,
    /// The span of `to`'s value.
    pub to_span: SourceSpan,
}

impl Import {
    /// The AWS id of what `to` names, in Terraform's import-id form for it: `<rest_api_id>/<stage>`
    /// for a stage or canary (the canary is part of its stage in AWS), `<app_id>/<branch>` for a
    /// branch; `None` when the configuration does not declare `to`'s API or app.
    pub fn id(&self, config: &crate::Config) -> Option<String> {
        import_id(config, &self.to)
    }
}

/// The AWS id of the resource `address` names in `config` (see [`Import::id`]).
pub fn import_id(config: &crate::Config, address: &Address) -> Option<String> {
    match address {
        Address::Stage { api, stage } | Address::Canary { api, stage } => config
            .rest_apis
            .get(api)
            .map(|declared| format!("{}/{stage}", declared.id)),
        Address::Branch { app, branch } => config
            .amplify_apps
            .get(app)
            .map(|declared| format!("{}/{branch}", declared.id)),
    }
}

#[cfg(test)]
mod tests;
