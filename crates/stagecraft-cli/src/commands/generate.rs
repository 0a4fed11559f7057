//! `stagecraft generate --rest-api ID... --amplify-app ID... [--out FILE] [--force]`: what runs
//! in AWS, read (`GetStages` and `GetDeployments` per REST API, `GetApp` and `ListBranches` per
//! app; nothing is changed), written as a deploy.toml with one `[[import]]` per resource
//! (docs/configuration.md, "Adopting what already runs"). Its plan shows only imports; its
//! apply records them with no AWS call.

use std::collections::{BTreeMap, BTreeSet};

use miette::Report;
use stagecraft_config::{
    Adopted, AdoptedApi, AdoptedApp, AdoptedBranch, AdoptedCanary, AdoptedStage, generate,
    revision_label,
};
use stagecraft_core::provider::Provider;

use crate::args::GenerateArgs;
use crate::aws::{self, AwsSettings};
use crate::backend;
use crate::refresh::failed;
use crate::settings::Settings;
use crate::{EXIT_FAILURE, EXIT_OK};

/// Each id once, in the order given.
fn once(ids: &[String]) -> Vec<&String> {
    let mut seen = BTreeSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).collect()
}

/// A REST API's stages (by name) with the revision label of each deployment they serve.
async fn read_api(provider: &dyn Provider, id: &str) -> Result<AdoptedApi, Report> {
    let mut stages = provider
        .get_stages(id)
        .await
        .map_err(|error| failed(&format!("GetStages for REST API {id}"), error))?;
    stages.sort_by(|a, b| a.stage_name.cmp(&b.stage_name));
    let descriptions: BTreeMap<String, Option<String>> = provider
        .get_deployments(id)
        .await
        .map_err(|error| failed(&format!("GetDeployments for REST API {id}"), error))?
        .into_iter()
        .map(|deployment| (deployment.id, deployment.description))
        .collect();
    let label = |deployment: Option<&String>| {
        let deployment = deployment.map(String::as_str).unwrap_or_default();
        revision_label(
            deployment,
            descriptions.get(deployment).and_then(Option::as_deref),
        )
    };
    Ok(AdoptedApi {
        id: id.to_string(),
        stages: stages
            .iter()
            .map(|stage| AdoptedStage {
                name: stage.stage_name.clone(),
                revision: label(stage.deployment_id.as_ref()),
                description: stage.description.clone().filter(|d| !d.is_empty()),
                tracing: stage.tracing,
                variables: stage.variables.clone(),
                cache_size: stage
                    .cache_enabled
                    .then(|| stage.cache_size.clone())
                    .flatten(),
                canary: stage.canary.as_ref().map(|canary| AdoptedCanary {
                    revision: label(canary.deployment_id.as_ref()),
                    percent_traffic: canary.percent_traffic,
                    variable_overrides: canary.variable_overrides.clone(),
                    use_stage_cache: canary.use_stage_cache,
                }),
            })
            .collect(),
    })
}

/// An Amplify app's branches, by name.
async fn read_app(provider: &dyn Provider, id: &str) -> Result<AdoptedApp, Report> {
    provider
        .get_app(id)
        .await
        .map_err(|error| failed(&format!("GetApp for Amplify app {id}"), error))?;
    let mut branches = provider
        .list_branches(id)
        .await
        .map_err(|error| failed(&format!("ListBranches for Amplify app {id}"), error))?;
    branches.sort_by(|a, b| a.branch_name.cmp(&b.branch_name));
    Ok(AdoptedApp {
        id: id.to_string(),
        branches: branches
            .into_iter()
            .map(|branch| AdoptedBranch {
                name: branch.branch_name,
                stage: branch.stage.filter(|stage| stage != "NONE"),
                framework: branch.framework.filter(|f| !f.is_empty()),
                description: branch.description.filter(|d| !d.is_empty()),
                environment: branch.environment,
                basic_auth: branch.basic_auth_enabled,
            })
            .collect(),
    })
}

/// `stagecraft generate`.
pub fn run(settings: &Settings, args: &GenerateArgs) -> Result<u8, Report> {
    if args.rest_apis.is_empty() && args.amplify_apps.is_empty() {
        return Err(miette::miette!(
            code = "generate::nothing",
            help = "name what to adopt: --rest-api ID (repeatable) and/or --amplify-app ID",
            "nothing to generate"
        ));
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(miette::miette!(
            code = "generate::exists",
            help = "pass --force to replace it, or choose another --out",
            "{} exists; nothing was written",
            out.display()
        ));
    }
    let aws = AwsSettings::with_region(&settings.aws, None);
    let runtime = aws::runtime()?;
    let provider = aws::provider(&aws, &runtime)?;
    let adopted = runtime.block_on(async {
        let mut adopted = Adopted {
            project: args.project.clone(),
            region: aws.region(),
            ..Adopted::default()
        };
        for id in once(&args.rest_apis) {
            adopted.rest_apis.push(read_api(&provider, id).await?);
        }
        for id in once(&args.amplify_apps) {
            adopted.amplify_apps.push(read_app(&provider, id).await?);
        }
        Ok::<_, Report>(adopted)
    })?;
    let text = generate(&adopted);
    match &args.out {
        Some(out) => {
            if let Err(error) = backend::write_atomically(out, text.as_bytes()) {
                eprintln!("Error: cannot write {}: {error}", out.display());
                return Ok(EXIT_FAILURE);
            }
            let resources: usize = adopted
                .rest_apis
                .iter()
                .flat_map(|api| &api.stages)
                .map(|stage| 1 + usize::from(stage.canary.is_some()))
                .sum::<usize>()
                + adopted
                    .amplify_apps
                    .iter()
                    .map(|app| app.branches.len())
                    .sum::<usize>();
            println!(
                "Wrote {} with {resources} resource(s) to import. Run `stagecraft --config {} plan` to review them.",
                out.display(),
                out.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
