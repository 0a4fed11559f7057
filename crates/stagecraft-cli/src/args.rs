//! Raw command-line arguments (clap). `settings.rs` resolves them once; `main` dispatches.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  stagecraft validate
  stagecraft plan --out plan.out
  stagecraft plan --format markdown --detailed-exitcode > plan.md
  stagecraft --config deploy.toml.example plan --target rest_apis.orders.stages.prod
  stagecraft --config base.toml --config production.toml --var release=r42 plan
  stagecraft apply plan.out
  stagecraft apply --auto-approve
  stagecraft show plan.out --format json
  stagecraft state list";

/// Declarative deployments of API Gateway stages and Amplify branches.
#[derive(Debug, Parser)]
#[command(name = "stagecraft", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// The desired-state file; repeat it to layer environments (`--config base.toml --config
    /// prod.toml`): later files override earlier ones, tables merge key by key.
    #[arg(
        long,
        global = true,
        default_value = "deploy.toml",
        env = "STAGECRAFT_CONFIG",
        value_name = "FILE",
        action = clap::ArgAction::Append
    )]
    pub config: Vec<PathBuf>,
    /// Set an input variable, `NAME=VALUE` (repeatable; wins over var files and
    /// `STAGECRAFT_VAR_NAME`).
    #[arg(long = "var", global = true, value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read input variables from a TOML file of `NAME = "VALUE"` lines (repeatable; later
    /// files win).
    #[arg(long = "var-file", global = true, value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// AWS region (overrides `project.region` and the AWS configuration chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from the shared configuration files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (also `AWS_ENDPOINT_URL*`).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Never colour the output (also the `NO_COLOR` variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// How many resources apply may work on at once.
    #[arg(long, global = true, default_value_t = 10)]
    pub parallelism: usize,
    /// How long to wait for the state lock, e.g. `30s` (default: do not wait).
    #[arg(long, global = true, value_parser = humantime::parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
    /// How long apply waits for an Amplify job (its own, or an unfinished one it finds first).
    #[arg(long, global = true, value_parser = humantime::parse_duration, default_value = "30m")]
    pub job_timeout: Duration,
    /// More logging (-v info, -vv debug); `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--var NAME=VALUE`, split at the first `=`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err("expected NAME=VALUE".to_string()),
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate the configuration; nothing else.
    Validate {
        /// Newline-delimited JSON events (docs/json-ui.md) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare the configuration with the state and show what would change.
    Plan(PlanArgs),
    /// Plan, show the plan, ask for `yes`, then make it so; or apply a saved plan.
    Apply(ApplyArgs),
    /// Record an existing stage, canary or branch that the configuration declares.
    Import {
        /// The resource address, e.g. `rest_apis.orders.stages.prod`.
        address: String,
    },
    /// Write a deploy.toml of what already runs (stages, canaries, branches), with one
    /// `[[import]]` per resource: its plan shows only imports, and applying it changes nothing.
    Generate(GenerateArgs),
    /// Render a saved plan.
    Show {
        /// The saved plan (from `plan --out`).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Inspect and edit the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Release a lock left behind by a process that died.
    ForceUnlock {
        /// The lock id shown in the lock error.
        id: String,
    },
    /// Rewrite configuration files in the canonical form (exit 3 with `--check` if one would change).
    Fmt(FmtArgs),
    /// Print the JSON Schema (2020-12) of deploy.toml, for editors.
    Schema,
    /// Print the dependency graph as Graphviz DOT.
    Graph {
        /// Only this resource and what it depends on (repeatable).
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, for `man -l -`).
    Man,
    /// Print the outputs the last apply recorded (`[outputs]`).
    Output(OutputArgs),
    /// Inspect and steer canary rollouts: status, resume, pause, abort, promote.
    #[command(subcommand)]
    Rollout(RolloutCommand),
}

impl Command {
    /// Whether the command was asked for `--json` events (`validate`, `plan`, `apply`).
    pub fn json_ui(&self) -> bool {
        match self {
            Command::Validate { json } => *json,
            Command::Plan(args) => args.json,
            Command::Apply(args) => args.json,
            _ => false,
        }
    }
}

/// `stagecraft output [NAME] [--json]`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// One output's value, as raw text (for scripts); all of them when absent.
    pub name: Option<String>,
    /// Terraform's JSON shape: `{"NAME": {"sensitive": false, "type": "string", "value": "..."}}`
    /// (one output: its value as JSON).
    #[arg(long)]
    pub json: bool,
}

/// `generate` options.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A REST API to adopt, by id (repeatable): every stage, with its canary.
    #[arg(long = "rest-api", value_name = "ID", action = clap::ArgAction::Append)]
    pub rest_apis: Vec<String>,
    /// An Amplify app to adopt, by id (repeatable): every branch.
    #[arg(long = "amplify-app", value_name = "ID", action = clap::ArgAction::Append)]
    pub amplify_apps: Vec<String>,
    /// Write the file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// With `--out`: replace a file that exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// `[project] name` of the generated file.
    #[arg(long, value_name = "NAME", default_value = "adopted")]
    pub project: String,
}

/// `fmt` options.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Write nothing; list the files that are not formatted and exit 3 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Print the changes as a unified diff.
    #[arg(long)]
    pub diff: bool,
    /// The files (default: the --config files); a folder means its `*.toml` files; `-` formats
    /// standard input onto standard output (with `--diff`, the diff instead; `--check`, nothing).
    pub files: Vec<PathBuf>,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Newline-delimited JSON events in the shape of Terraform's machine-readable UI
    /// (docs/json-ui.md) instead of the text plan.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Save the plan to this file for `show` (and `apply FILE`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Plan only this resource and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Deploy this resource afresh though nothing changed (repeatable).
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Leave out this resource and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub exclude: Vec<String>,
    /// Plan the destruction of every resource in the state.
    #[arg(long)]
    pub destroy: bool,
    /// Read the recorded resources from AWS first, show what changed outside stagecraft, and
    /// plan against what AWS has.
    #[arg(long, conflicts_with = "out")]
    pub refresh: bool,
    /// Only read the recorded resources from AWS and show what changed outside stagecraft.
    #[arg(long, conflicts_with_all = ["refresh", "destroy", "targets", "replace", "exclude", "out"])]
    pub refresh_only: bool,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Newline-delimited JSON events (docs/json-ui.md) instead of text; needs --auto-approve
    /// or a saved plan, since nothing can be asked.
    #[arg(long)]
    pub json: bool,
    /// A saved plan (from `plan --out`); refused if the state or the configuration changed since.
    #[arg(value_name = "PLAN")]
    pub plan_file: Option<PathBuf>,
    /// Apply without asking (required when input is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply only this resource and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS", conflicts_with = "plan_file")]
    pub targets: Vec<String>,
    /// Deploy this resource afresh though nothing changed (repeatable).
    #[arg(long = "replace", value_name = "ADDRESS", conflicts_with = "plan_file")]
    pub replace: Vec<String>,
    /// Leave out this resource and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDRESS", conflicts_with = "plan_file")]
    pub exclude: Vec<String>,
    /// Destroy every resource in the state.
    #[arg(long, conflicts_with = "plan_file")]
    pub destroy: bool,
    /// Read the recorded resources from AWS first and record what changed outside stagecraft,
    /// then plan and apply against it.
    #[arg(long, conflicts_with = "plan_file")]
    pub refresh: bool,
    /// Start canary rollouts (their first step deployed and recorded) and exit; `stagecraft
    /// rollout resume` drives them on.
    #[arg(long)]
    pub no_wait: bool,
}

/// `rollout` subcommands (docs/behaviour.md, "Rollouts").
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Each canary with a rollout: status, step, percent, bake left, alarms (no AWS call).
    Status {
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Do what is due now for each rollout (one alarm check; a traffic shift or the promotion
    /// if the bake is over) and exit; `--wait` drives them to their end.
    Resume {
        /// Only these canaries (also resumes one an operator paused); default: every baking
        /// rollout and every one an interrupt paused.
        #[arg(value_name = "ADDRESS")]
        addresses: Vec<String>,
        /// Drive the rollouts to their end, as apply does.
        #[arg(long)]
        wait: bool,
    },
    /// Pause a rollout: its bake stops counting until `rollout resume ADDRESS`.
    Pause {
        /// The canary, e.g. `rest_apis.orders.stages.prod.canary`.
        address: String,
    },
    /// Stop a rollout: the canary is removed, the stage untouched.
    Abort {
        /// The canary.
        address: String,
    },
    /// Promote a rollout's canary now (awaiting promotion, baking or paused).
    Promote {
        /// The canary.
        address: String,
        /// Then edit the configuration file (the stage's revision becomes the canary's, the
        /// canary table goes, comments kept), so that the next plan is empty.
        #[arg(long)]
        write_config: bool,
    },
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-style text.
    Text,
    /// One versioned JSON document (docs/json-plan.md).
    Json,
    /// A pull-request comment.
    Markdown,
}

/// `state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state.
    List,
    /// Show one resource's recorded attributes.
    Show {
        /// The resource address.
        address: String,
    },
    /// Forget a resource (AWS is not touched).
    Rm {
        /// The resource address.
        address: String,
    },
}
