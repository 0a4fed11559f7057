//! Credentials resolved once, before anything is shown or read, and AWS's refusals in words a
//! person can act on: with no credentials anywhere `apply` and `plan --refresh` exit 1 in
//! under 2 s with one line naming the fix; an AccessDenied names the IAM action and the
//! operation.
//!
//! The real credentials chain runs (environment, profile files, web identity, container,
//! instance metadata: `AWS_EC2_METADATA_DISABLED` unset). Its instance-metadata probe is sent to
//! a listener on 127.0.0.1 that accepts connections and never answers
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), the slowest way an instance metadata service can
//! fail, which keeps the probe on this machine.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use stagecraft_testkit::proxy::ProxyConfig;

use crate::aws;
use crate::support::Run;

/// The product requirement: missing credentials fail within this, process start included.
const BOUND: Duration = Duration::from_secs(2);

/// A TCP listener that accepts and never answers, kept open while the test runs.
fn silent_metadata_service() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    (listener, endpoint)
}

/// `stagecraft ARGS` in `dir` with an empty environment but for `HOME` (an empty folder), the
/// instance metadata endpoint and `extra`: no credentials anywhere.
fn without_credentials(
    dir: &Path,
    args: &[&str],
    imds: &str,
    extra: &[(&str, &str)],
) -> (Run, Duration) {
    let home = dir.join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds);
    for (key, value) in extra {
        command.env(key, value);
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    let elapsed = started.elapsed();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, elapsed)
}

fn write_config(dir: &Path, api: &str, region: Option<&str>, variable: &str) {
    let region = region
        .map(|r| format!("region = \"{r}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("deploy.toml"),
        format!(
            "[project]\nname = \"creds\"\n{region}\n[rest_apis.api]\nid = \"{api}\"\n\n\
             [rest_apis.api.stages.prod]\nrevision = \"r1\"\nvariables = {{ v = \"{variable}\" }}\n"
        ),
    )
    .unwrap();
}

/// The one line, and nothing else, on standard error.
fn assert_one_line_naming_the_fix(what: &str, run: &Run, elapsed: Duration) {
    assert_eq!(run.code, 1, "{what}: {}\n{}", run.stdout, run.stderr);
    assert!(elapsed < BOUND, "{what} took {elapsed:?}");
    assert_eq!(
        run.stderr,
        "error: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login\n",
        "{what}"
    );
}

#[test]
fn apply_without_credentials_fails_at_once_with_one_line_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (_imds, imds) = silent_metadata_service();
    write_config(dir.path(), "abcdefghij", Some("us-east-1"), "one");
    let (run, elapsed) = without_credentials(
        dir.path(),
        &["apply", "--auto-approve"],
        &imds,
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    assert_one_line_naming_the_fix("apply", &run, elapsed);
    // Before the plan was shown.
    assert!(!run.stdout.contains("Plan:"), "{}", run.stdout);
    assert!(!dir.path().join("stagecraft.state.json").exists());
}

#[test]
fn plan_refresh_without_credentials_fails_before_any_read() {
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    // No region in the file: the region chain (its metadata probe bounded too) runs as well.
    write_config(dir.path(), &api, None, "one");
    let run = aws::stagecraft_at(dir.path(), &endpoint, &["apply", "--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let proxy = aws::Proxied::start(1, ProxyConfig::new(endpoint));
    let (_imds, imds) = silent_metadata_service();
    let (run, elapsed) = without_credentials(
        dir.path(),
        &["plan", "--refresh"],
        &imds,
        &[("AWS_ENDPOINT_URL", &proxy.endpoint())],
    );
    assert_one_line_naming_the_fix("plan --refresh", &run, elapsed);
    assert!(proxy.counts().is_empty(), "{:?}", proxy.counts());
}

#[test]
fn an_access_denied_names_the_action_and_the_operation_and_nothing_is_dumped() {
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    write_config(dir.path(), &api, Some("us-east-1"), "one");
    let run = aws::stagecraft_at(dir.path(), &endpoint, &["apply", "--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let proxy = aws::Proxied::start(1, ProxyConfig::new(endpoint));
    proxy.deny("UpdateStage");
    write_config(dir.path(), &api, Some("us-east-1"), "two");
    let run = aws::stagecraft_at(
        dir.path(),
        &proxy.endpoint(),
        &["apply", "--auto-approve"],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("UpdateStage failed: AccessDeniedException: User: ")
            && all.contains("(apigateway:PATCH on UpdateStage)"),
        "{all}"
    );
    // Denied once, not retried; AWS's words, no SDK dump, no SDK warning.
    assert_eq!(proxy.denials(), 1);
    for dump in [
        "ServiceError",
        "ErrorMetadata",
        "SdkError",
        "WARN",
        "Unhandled",
        "{ code",
    ] {
        assert!(!all.contains(dump), "{dump} in:\n{all}");
    }
    assert_eq!(
        aws::stage(&api, "prod").unwrap().variables.unwrap()["v"],
        "one"
    );
}
