//! `stagecraft-sandbox`: try stagecraft without AWS. Starts LocalStack and the Amplify emulator
//! behind one loopback endpoint, creates the REST APIs, Amplify apps and rollout alarms a
//! configuration names, prints how to point stagecraft at it, and runs until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stagecraft_testkit::sandbox::{LocalStackSource, Sandbox, SandboxError, SandboxOptions};

/// Starts LocalStack and the Amplify emulator behind one endpoint, with the configuration's REST
/// APIs and Amplify apps created, for `stagecraft apply` without an AWS account.
#[derive(Debug, Parser)]
#[command(name = "stagecraft-sandbox", version)]
struct Args {
    /// The configuration whose `[rest_apis.*]` and `[amplify_apps.*]` ids to create.
    #[arg(long, default_value = "deploy.toml.example")]
    config: PathBuf,
    /// The port of the one endpoint on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 4599)]
    port: u16,
    /// Use this already running LocalStack instead of starting one.
    #[arg(long, value_name = "URL", conflicts_with = "localstack_port")]
    localstack_endpoint: Option<String>,
    /// Start LocalStack on this port (default: a free one).
    #[arg(long, value_name = "PORT")]
    localstack_port: Option<u16>,
    /// How long each step of an Amplify job lasts (PENDING, RUNNING, ...), e.g. `500ms`.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    job_step: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let localstack = match args.localstack_endpoint {
        Some(endpoint) => LocalStackSource::Existing { endpoint },
        None => LocalStackSource::Start {
            port: args.localstack_port,
        },
    };
    eprintln!(
        "stagecraft-sandbox: starting (LocalStack may take a minute to install the first time)"
    );
    let sandbox = match Sandbox::start(SandboxOptions {
        config_path: args.config.clone(),
        port: args.port,
        localstack,
        job_timing: args.job_step,
    })
    .await
    {
        Ok(sandbox) => sandbox,
        Err(SandboxError::Config(errors)) => {
            eprintln!("{:?}", miette::Report::new(*errors));
            return ExitCode::from(1);
        }
        Err(err) => {
            eprintln!("stagecraft-sandbox: error: {err}");
            return ExitCode::from(1);
        }
    };

    let config = &sandbox.config().config;
    println!("Sandbox ready at {}", sandbox.endpoint());
    println!(
        "  LocalStack (API Gateway, S3) at {}, the Amplify emulator behind the same endpoint",
        sandbox.localstack_endpoint()
    );
    for (key, api) in &config.rest_apis {
        println!("  REST API {} ({key}) in {}", api.id, sandbox.region());
    }
    for (key, app) in &config.amplify_apps {
        println!("  Amplify app {} ({key})", app.id);
    }
    println!();
    println!("In another shell:");
    println!();
    println!("  {}", sandbox.export_line());
    let unset: Vec<String> = sandbox
        .config()
        .env_vars
        .iter()
        .filter(|name| std::env::var_os(name).is_none())
        .map(|name| format!("{name}=demo-value"))
        .collect();
    if !unset.is_empty() {
        println!("  export {}", unset.join(" "));
    }
    println!(
        "  stagecraft --config {} apply --auto-approve",
        args.config.display()
    );
    println!();
    println!("Press Ctrl-C to stop the sandbox.");

    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("stagecraft-sandbox: cannot wait for Ctrl-C ({err}); stopping");
    }
    eprintln!("stagecraft-sandbox: stopping");
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}
