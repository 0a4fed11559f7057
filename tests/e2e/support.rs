//! Running the binary in a scratch folder, and the runtime that serves a test's proxy or Amplify
//! emulator meanwhile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use stagecraft_testkit::amplify::{Emulator, EmulatorConfig};

/// A runtime that serves a test's proxy or emulator in the background while the binary runs.
pub fn server_runtime(worker_threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .enable_all()
        .build()
        .unwrap()
}

/// The Amplify emulator, its jobs taking `job_timing`, served by `runtime`.
pub fn emulator(runtime: &tokio::runtime::Runtime, job_timing: Duration) -> Emulator {
    runtime
        .block_on(Emulator::start(EmulatorConfig {
            job_timing,
            bind: None,
        }))
        .unwrap()
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `stagecraft ARGS` in `dir` with the example secrets set and no colour.
pub fn stagecraft(dir: &Path, args: &[&str]) -> Run {
    stagecraft_with_env(
        dir,
        args,
        &[
            ("ORDERS_API_KEY", "example-api-key-VALUE"),
            ("WEB_PASSWORD", "example-web-PASSWORD"),
        ],
    )
}

/// `stagecraft ARGS` in `dir` with exactly these extra variables, as a command to run or spawn:
/// the example secrets and the AWS region removed from the environment, empty shared AWS
/// configuration and credentials files and no instance metadata (so that the developer's own
/// `~/.aws/config` cannot name a region), no colour.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("ORDERS_API_KEY")
        .env_remove("WEB_PASSWORD")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs `stagecraft ARGS` in `dir` with exactly these extra variables.
pub fn stagecraft_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = command(dir, args, env).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A scratch copy of the repository's examples and reference configuration.
pub fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples"), &dir.path().join("examples"));
    std::fs::copy(
        repo().join("deploy.toml.example"),
        dir.path().join("deploy.toml.example"),
    )
    .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
