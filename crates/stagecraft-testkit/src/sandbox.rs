//! The sandbox: LocalStack and the Amplify emulator behind one loopback endpoint, with the REST
//! APIs, Amplify apps and rollout alarms a configuration names already created, so that
//! `stagecraft apply` can run against it without an AWS account. An alarm is made in
//! `INSUFFICIENT_DATA` and stays there until set by hand (`aws cloudwatch set-alarm-state`, see
//! [`crate::alarms`]).
//!
//! The `stagecraft-sandbox` binary is a thin shell over [`Sandbox::start`]; end-to-end tests start
//! the same sandbox in-process, usually on the LocalStack the test script started
//! ([`LocalStackSource::Existing`]).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stagecraft_config::{Config, ConfigErrors, Host, PathInfo};

use crate::amplify::{ControlError, Emulator, EmulatorConfig};
use crate::localstack::{self, LocalStackProcess, SetupError};
use crate::router::{Router, RouterConfig};

/// Which LocalStack the sandbox uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalStackSource {
    /// Start one with `scripts/localstack.sh` (stopped when the sandbox is dropped) on this
    /// port, or on a free one.
    Start {
        /// The port; `None` picks a free one.
        port: Option<u16>,
    },
    /// Use one that is already running (tests: [`localstack::endpoint_from_env`]).
    Existing {
        /// Its endpoint, `http://127.0.0.1:PORT`.
        endpoint: String,
    },
}

/// How to start a [`Sandbox`].
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxOptions {
    /// The configuration whose REST APIs and Amplify apps to create.
    pub config_path: PathBuf,
    /// The router's port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Which LocalStack to use.
    pub localstack: LocalStackSource,
    /// How long each step of an emulated Amplify job lasts (`PENDING`, `RUNNING`, ...).
    pub job_timing: Duration,
}

impl SandboxOptions {
    /// Options for `config_path`: a free router port, LocalStack started on a free port, jobs
    /// that take a second per step.
    pub fn new(config_path: impl Into<PathBuf>) -> SandboxOptions {
        SandboxOptions {
            config_path: config_path.into(),
            port: 0,
            localstack: LocalStackSource::Start { port: None },
            job_timing: Duration::from_secs(1),
        }
    }
}

/// Why the sandbox could not start.
#[derive(Debug)]
pub enum SandboxError {
    /// The configuration file could not be read.
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is invalid (render it with miette for the spans).
    Config(Box<ConfigErrors>),
    /// `scripts/localstack.sh` was not found above the current folder or this crate.
    NoRepoRoot,
    /// The sandbox's own port could not be bound (another process has it, usually).
    Port {
        /// The port asked for.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A listener could not be bound.
    Bind(std::io::Error),
    /// LocalStack did not start, or a call to it failed.
    LocalStack(SetupError),
    /// An Amplify app could not be created in the emulator.
    Amplify {
        /// The configured app id.
        id: String,
        /// Why.
        source: ControlError,
    },
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::ReadConfig { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            SandboxError::Config(errors) => write!(
                f,
                "the configuration has {} error(s); `stagecraft validate` shows them",
                errors.errors().len()
            ),
            SandboxError::NoRepoRoot => f.write_str(
                "scripts/localstack.sh not found: run the sandbox from the stagecraft repository",
            ),
            SandboxError::Port { port, source } => write!(
                f,
                "cannot listen on 127.0.0.1:{port}: {source}; choose another port with --port \
                 (0: any free port)"
            ),
            SandboxError::Bind(e) => write!(f, "cannot listen on 127.0.0.1: {e}"),
            SandboxError::LocalStack(e) => write!(f, "LocalStack: {e}"),
            SandboxError::Amplify { id, source } => {
                write!(
                    f,
                    "cannot create Amplify app {id} in the emulator: {source}"
                )
            }
        }
    }
}

impl std::error::Error for SandboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SandboxError::ReadConfig { source, .. } => Some(source),
            SandboxError::Config(errors) => Some(errors.as_ref()),
            SandboxError::Port { source, .. } => Some(source),
            SandboxError::Bind(e) => Some(e),
            SandboxError::LocalStack(e) => Some(e),
            SandboxError::Amplify { source, .. } => Some(source),
            SandboxError::NoRepoRoot => None,
        }
    }
}

/// The file system beside the configuration, and an environment that records what it is asked
/// for (to tell the user which variables the configuration reads) and answers nothing.
struct SandboxHost {
    base: PathBuf,
    asked: RefCell<BTreeSet<String>>,
}

impl Host for SandboxHost {
    fn inspect_path(&self, path: &str) -> PathInfo {
        let full = self.base.join(path);
        if full.is_dir() {
            PathInfo::Directory
        } else if full.is_file() {
            PathInfo::File
        } else {
            PathInfo::Missing
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        // Input variables' values are read as the CLI reads them, so that the sandbox sees the
        // configuration `plan` will; only `{ env = ... }` names are listed for the user.
        if name.starts_with(stagecraft_config::ENV_PREFIX) {
            return std::env::var(name).ok();
        }
        self.asked.borrow_mut().insert(name.to_owned());
        None
    }
}

/// A configuration read for the sandbox, with the environment variables it reads.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The validated configuration.
    pub config: Config,
    /// The names of its `{ env = "..." }` variables.
    pub env_vars: BTreeSet<String>,
}

impl SandboxConfig {
    /// The region the sandbox's resources go to: the configuration's, else [`localstack::REGION`].
    pub fn region(&self) -> &str {
        self.config
            .project
            .region
            .as_deref()
            .unwrap_or(localstack::REGION)
    }
}

/// Reads and validates the configuration at `path` (artifact paths relative to its folder).
pub fn read_config(path: &Path) -> Result<SandboxConfig, SandboxError> {
    let text = std::fs::read_to_string(path).map_err(|source| SandboxError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let host = SandboxHost {
        base,
        asked: RefCell::new(BTreeSet::new()),
    };
    let name = path.display().to_string();
    let config = stagecraft_config::parse(&text, &host).map_err(|errors| {
        SandboxError::Config(Box::new(ConfigErrors::new(&name, text.clone(), errors)))
    })?;
    // Every variable is reported missing; only the names asked for matter here.
    let _ = stagecraft_config::resolve_secrets(&config, &host);
    Ok(SandboxConfig {
        config,
        env_vars: host.asked.into_inner(),
    })
}

/// Every alarm a canary's rollout of `config` names, each once, in address order.
pub fn rollout_alarms(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let rollouts = config
        .rest_apis
        .values()
        .flat_map(|api| api.stages.values())
        .filter_map(|stage| stage.canary.as_ref()?.rollout.as_ref());
    for rollout in rollouts {
        for alarm in &rollout.alarms {
            if !names.contains(alarm) {
                names.push(alarm.clone());
            }
        }
    }
    names
}

/// Creates in LocalStack (through `apigateway`) every `[rest_apis.*]` of `config`, named by its
/// key, (through `cloudwatch`) every alarm its rollouts name ([`rollout_alarms`]), and in the
/// emulator every `[amplify_apps.*]`. REST APIs, alarms and Amplify apps that already exist are
/// kept.
pub async fn create_resources(
    config: &Config,
    apigateway: &aws_sdk_apigateway::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    emulator: &Emulator,
) -> Result<(), SandboxError> {
    for (key, api) in &config.rest_apis {
        localstack::ensure_rest_api(apigateway, &api.id, key)
            .await
            .map_err(SandboxError::LocalStack)?;
    }
    crate::alarms::ensure_alarms(cloudwatch, &rollout_alarms(config))
        .await
        .map_err(SandboxError::LocalStack)?;
    for (key, app) in &config.amplify_apps {
        match emulator.create_app_with_id(&app.id, key) {
            Ok(()) | Err(ControlError::AppExists(_)) => {}
            Err(source) => {
                return Err(SandboxError::Amplify {
                    id: app.id.clone(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// A running sandbox. Dropping it stops the router and the emulator, and a LocalStack it started.
#[derive(Debug)]
pub struct Sandbox {
    // Field order is drop order: stop taking requests first, LocalStack last.
    router: Router,
    emulator: Emulator,
    localstack_endpoint: String,
    localstack: Option<LocalStackProcess>,
    config: SandboxConfig,
}

impl Sandbox {
    /// Reads the configuration, starts (or joins) LocalStack, starts the Amplify emulator and the
    /// router in front of both on the current Tokio runtime, and creates the configuration's
    /// REST APIs and Amplify apps.
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let config = read_config(&options.config_path)?;
        // Bind the router first: a busy port should fail before LocalStack's slow start.
        let bind = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, options.port));
        let port_error = |source| SandboxError::Port {
            port: options.port,
            source,
        };
        let listener_check = std::net::TcpListener::bind(bind).map_err(port_error)?;
        let bind = listener_check.local_addr().map_err(port_error)?;

        let (localstack_endpoint, localstack) = match options.localstack {
            LocalStackSource::Existing { endpoint } => (endpoint, None),
            LocalStackSource::Start { port } => {
                let root = localstack::repo_root().ok_or(SandboxError::NoRepoRoot)?;
                let port = match port {
                    Some(port) => port,
                    None => localstack::free_port().map_err(SandboxError::Bind)?,
                };
                let process =
                    tokio::task::spawn_blocking(move || LocalStackProcess::start(&root, port))
                        .await
                        .map_err(|e| {
                            SandboxError::LocalStack(SetupError {
                                operation: "scripts/localstack.sh start".to_owned(),
                                message: e.to_string(),
                            })
                        })?
                        .map_err(SandboxError::LocalStack)?;
                (process.endpoint(), Some(process))
            }
        };

        let emulator = Emulator::start(EmulatorConfig {
            job_timing: options.job_timing,
            bind: None,
        })
        .await
        .map_err(SandboxError::Bind)?;
        drop(listener_check);
        let router = Router::start(RouterConfig {
            localstack: localstack_endpoint.clone(),
            amplify: emulator.endpoint(),
            bind: Some(bind),
        })
        .await
        .map_err(SandboxError::Bind)?;
        emulator.set_public_endpoint(&router.endpoint());

        let apigateway = localstack::apigateway_client(&localstack_endpoint, config.region());
        let cloudwatch = crate::alarms::cloudwatch_client(&localstack_endpoint, config.region());
        create_resources(&config.config, &apigateway, &cloudwatch, &emulator).await?;
        Ok(Sandbox {
            router,
            emulator,
            localstack_endpoint,
            localstack,
            config,
        })
    }

    /// The one endpoint to give stagecraft (`--endpoint-url` or `AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        self.router.endpoint()
    }

    /// The region the resources were created in.
    pub fn region(&self) -> &str {
        self.config.region()
    }

    /// LocalStack's own endpoint, bypassing the router.
    pub fn localstack_endpoint(&self) -> &str {
        &self.localstack_endpoint
    }

    /// The Amplify emulator, to inspect branches, jobs and uploads or to arm job failures.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The router, to see how many requests went where.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The configuration the sandbox was made for.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The environment for stagecraft, as `NAME=value` pairs: the endpoint, test credentials,
    /// the region.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".to_owned(), self.endpoint()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
            ("AWS_REGION".to_owned(), self.region().to_owned()),
        ]
    }

    /// A shell line exporting [`Sandbox::env`].
    pub fn export_line(&self) -> String {
        let pairs: Vec<String> = self
            .env()
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!("export {}", pairs.join(" "))
    }

    /// Stops everything now; LocalStack (when the sandbox started it) is stopped without
    /// blocking the runtime's worker thread.
    pub async fn shutdown(self) {
        let Sandbox {
            router,
            emulator,
            localstack,
            ..
        } = self;
        drop(router);
        emulator.shutdown();
        if let Some(process) = localstack {
            let _ = tokio::task::spawn_blocking(move || process.stop()).await;
        }
    }
}
