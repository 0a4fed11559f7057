//! The command line's settings, resolved once: the raw clap arguments (`args.rs`) become one
//! [`Settings`] value (colour decided, flags gathered) that the commands read. The settings
//! that also depend on the configuration file (the AWS region) are resolved once per command in
//! `aws.rs`, from [`AwsFlags`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::args::Cli;
use crate::logging::LogStyle;

/// Everything a command needs from the command line and the environment, decided.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The desired-state files, in order (later ones override earlier ones).
    pub config: Vec<PathBuf>,
    /// `--var-file`s, in order.
    pub var_files: Vec<PathBuf>,
    /// `--var NAME=VALUE` flags, in order.
    pub vars: Vec<(String, String)>,
    /// Whether output is coloured (a terminal, no `--no-color`, no `NO_COLOR`).
    pub color: bool,
    /// `-v` count.
    pub verbose: u8,
    /// How log lines (on standard error) look.
    pub log_style: LogStyle,
    /// How many resources apply may work on at once.
    pub parallelism: usize,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
    /// How long apply waits for an Amplify job.
    pub job_timeout: Duration,
    /// What the command line says about AWS.
    pub aws: AwsFlags,
}

/// The AWS flags as given; `aws::AwsSettings` combines them with the configuration.
#[derive(Debug, Clone, Default)]
pub struct AwsFlags {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
}

impl Settings {
    /// The settings of a parsed command line.
    pub fn resolve(cli: &Cli) -> Settings {
        Settings {
            config: cli.config.clone(),
            var_files: cli.var_files.clone(),
            vars: cli.vars.clone(),
            color: use_color(cli, &std::io::stdout()),
            verbose: cli.verbose,
            log_style: if use_color(cli, &std::io::stderr()) {
                LogStyle::Colored
            } else {
                LogStyle::Plain
            },
            parallelism: cli.parallelism,
            lock_timeout: cli.lock_timeout,
            job_timeout: cli.job_timeout,
            aws: AwsFlags {
                region: cli.region.clone(),
                profile: cli.profile.clone(),
                endpoint_url: cli.endpoint_url.clone(),
            },
        }
    }
}

/// Colour on `stream` only when it is a terminal, never with `--no-color` or `NO_COLOR`.
fn use_color(cli: &Cli, stream: &impl IsTerminal) -> bool {
    !cli.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && stream.is_terminal()
}
