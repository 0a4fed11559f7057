//! `stagecraft plan`: load, lock, recover the journal into the state (without writing it),
//! optionally refresh from AWS, compute the plan, render it, and save it with `--out`. Also the
//! plan-building and rendering that `apply` and `show` share.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_config::{Address, Secrets};
use stagecraft_core::plan::{Plan, PlanInput, PlanMode, plan};
use stagecraft_core::render;
use stagecraft_core::render::json_ui as json_ui_events;
use stagecraft_core::state::{ResourceState, SaltSeed, State};

use crate::args::{Format, PlanArgs};
use crate::aws::{self, AwsSettings};
use crate::backend::{self, Backend};
use crate::json_ui;
use crate::load::{Loaded, SecretMode, load};
use crate::recovery::recovered_state;
use crate::settings::Settings;
use crate::{EXIT_CHANGES, EXIT_OK, imports, refresh};

/// `--target` addresses, parsed.
pub fn parse_targets(targets: &[String]) -> Result<Vec<Address>, Report> {
    parse_addresses("target", targets)
}

/// The addresses given to `--{flag}`, parsed.
pub fn parse_addresses(flag: &str, addresses: &[String]) -> Result<Vec<Address>, Report> {
    addresses
        .iter()
        .map(|text| {
            Address::parse(text).map_err(|message| {
                miette::miette!(code = "cli::address", "--{flag} {text}: {message}")
            })
        })
        .collect()
}

/// `--target`, `--replace` and `--exclude`, parsed.
pub struct Selection {
    /// `--target`.
    pub targets: Vec<Address>,
    /// `--replace`.
    pub replace: Vec<Address>,
    /// `--exclude`.
    pub exclude: Vec<Address>,
}

impl Selection {
    /// Parses the three flags.
    pub fn parse(
        targets: &[String],
        replace: &[String],
        exclude: &[String],
    ) -> Result<Self, Report> {
        Ok(Self {
            targets: parse_targets(targets)?,
            replace: parse_addresses("replace", replace)?,
            exclude: parse_addresses("exclude", exclude)?,
        })
    }

    /// Terraform's warning for a partial plan, when `--exclude` made one (on standard error).
    pub fn warn(&self) {
        if !self.exclude.is_empty() {
            eprintln!(
                "Warning: resource exclusion is in effect\n\n\
                 The plan leaves out {} and everything that depends on it: it may not show every \
                 change the configuration asks for. Use --exclude for exceptional situations, \
                 not as part of the routine workflow.\n",
                self.exclude
                    .iter()
                    .map(Address::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}

/// The plan mode `--destroy` asks for.
pub fn plan_mode(destroy: bool) -> PlanMode {
    if destroy {
        PlanMode::Destroy
    } else {
        PlanMode::Normal
    }
}

/// What a plan is made from besides the loaded configuration and the state.
pub struct PlanRequest<'a> {
    /// `--target`, `--replace` and `--exclude`.
    pub selection: &'a Selection,
    /// Converge or destroy.
    pub mode: PlanMode,
    /// The command's resolved region (for `invoke_url`).
    pub region: Option<String>,
    /// The artifacts' content digests.
    pub artifacts: &'a BTreeMap<String, String>,
    /// The live records of the `[[import]]` blocks' resources not recorded (`imports::read`).
    pub imports: &'a BTreeMap<Address, ResourceState>,
}

/// The plan of `loaded` against `state`.
pub fn build_plan(
    loaded: &Loaded,
    secrets: &Secrets,
    state: Option<&State>,
    request: &PlanRequest<'_>,
) -> Result<Plan, Report> {
    Ok(plan(&PlanInput {
        config: &loaded.config,
        secrets,
        graph: &loaded.graph,
        state,
        new_lineage: uuid::Uuid::new_v4().to_string(),
        // Salts of new sensitive-value digests: fresh random bytes for every plan.
        salt_seed: SaltSeed(uuid::Uuid::new_v4().into_bytes()),
        region: request.region.clone(),
        artifact_digests: request.artifacts,
        config_digest: loaded.config_digest(request.artifacts),
        mode: request.mode,
        targets: &request.selection.targets,
        replace: &request.selection.replace,
        exclude: &request.selection.exclude,
        // For the time left in a rollout's bake.
        now: Some(stagecraft_core::apply::WallClock::now(
            &crate::clock::SystemClock,
        )),
        imports: request.imports,
    })?)
}

/// A plan in one of the output formats.
pub fn render_plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => render::text(plan, render::TextStyle { color }),
        Format::Json => {
            let mut text = render::json(plan);
            text.push('\n');
            text
        }
        Format::Markdown => render::markdown(plan, render::MARKDOWN_LIMIT),
    }
}

/// `stagecraft plan`.
pub fn run(settings: &Settings, args: &PlanArgs) -> Result<u8, Report> {
    let (loaded, secrets) = load(settings, SecretMode::Read)?;
    let selection = Selection::parse(&args.targets, &args.replace, &args.exclude)?;
    let artifacts = loaded.artifact_digests()?;
    let aws = AwsSettings::new(&settings.aws, &loaded.config);
    let backend = Backend::for_config(&loaded, &aws)?;
    let _lock = backend.lock("plan", settings.lock_timeout)?;
    let mut state = recovered_state(&backend, backend.read()?)?;
    if (args.refresh || args.refresh_only)
        && let Some(recorded) = &state
    {
        let runtime = aws::runtime()?;
        let provider = aws::provider(&aws, &runtime)?;
        let (fresh, drifts) = runtime.block_on(refresh::refresh(
            &aws::paced_reads(&aws, &loaded.config, &provider),
            &loaded.config,
            recorded,
        ))?;
        if !drifts.is_empty() {
            let text = stagecraft_core::render::drift(&drifts);
            if args.format == Format::Text && !args.json {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
        }
        if args.refresh_only {
            if drifts.is_empty() && !args.json {
                println!("No changes. AWS matches the state.");
            }
            return Ok(if args.detailed_exitcode && !drifts.is_empty() {
                EXIT_CHANGES
            } else {
                EXIT_OK
            });
        }
        state = Some(fresh);
    }
    let mode = plan_mode(args.destroy);
    let pending = imports::pending(&loaded, state.as_ref(), mode);
    let imported = if pending.is_empty() {
        BTreeMap::new()
    } else {
        let runtime = aws::runtime()?;
        let provider = aws::provider(&aws, &runtime)?;
        let reads = aws::paced_reads(&aws, &loaded.config, &provider);
        runtime.block_on(imports::read(&reads, &loaded, &pending))?
    };
    let plan = build_plan(
        &loaded,
        &secrets,
        state.as_ref(),
        &PlanRequest {
            selection: &selection,
            mode,
            region: aws.region(),
            artifacts: &artifacts,
            imports: &imported,
        },
    )?;
    selection.warn();
    let rendered = if args.json {
        json_ui::emit_all(&json_ui_events::plan_events(&plan));
        String::new()
    } else {
        render_plan(&plan, args.format, settings.color)
    };
    write_stdout(&rendered)?;
    if let Some(out) = &args.out {
        backend::write_atomically(out, plan.to_json()?.as_bytes())?;
        if args.format == Format::Text && !args.json {
            println!("\nSaved the plan to {}.", display_relative(out));
        }
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    };
    // The process exits as soon as this returns. Freeing a large configuration, state and
    // plan one allocation at a time would take a good part of the whole run (a tenth of it at
    // 10,000 stages); the operating system reclaims the memory at once. The lock is still
    // released normally when `_lock` goes out of scope.
    std::mem::forget((loaded, secrets, state, plan, rendered));
    Ok(code)
}

/// Writes `text` to standard output in one locked write: a plan can run to megabytes, and the
/// default line-buffered `print!` would hand it over in pieces.
fn write_stdout(text: &str) -> Result<(), Report> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .into_diagnostic()
        .wrap_err("cannot write the plan to standard output")
}

fn display_relative(path: &Path) -> String {
    let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    path.strip_prefix(&current)
        .unwrap_or(path)
        .display()
        .to_string()
}
