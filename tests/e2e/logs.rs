//! Logs at every level keep sensitive values out: with `RUST_LOG=trace`, `apply`, `apply
//! --refresh` and `plan --refresh` against LocalStack read a stage whose variable is sensitive,
//! and its clear text reaches neither standard output nor standard error.

use crate::aws::{self, stagecraft_at};
use crate::support::Run;

const SECRET: &str = "tr4ce-SECRET-stage-value";

/// Guards integrity 3: at TRACE the AWS SDK logged the GetStage (and GetStages) response body
/// and the deserialized output, a sensitive stage variable in clear among them.
#[test]
fn trace_logging_shows_no_sensitive_value() {
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let text = format!(
        "[project]\nname = \"logs\"\nregion = \"us-east-1\"\n\n[aws]\ncreate_deployment_interval = \"100ms\"\n\n\
         [rest_apis.orders]\nid = \"{api}\"\n\n[rest_apis.orders.stages.prod]\nrevision = \"REVISION\"\n\
         variables = {{ backend = \"orders\", api_key = {{ env = \"ORDERS_API_KEY\" }} }}\n"
    );
    let write = |revision: &str| {
        std::fs::write(
            dir.path().join("deploy.toml"),
            text.replace("REVISION", revision),
        )
        .unwrap();
    };
    let endpoint = aws::endpoint();
    let run = |args: &[&str]| -> Run {
        let run = stagecraft_at(
            dir.path(),
            &endpoint,
            args,
            &[("ORDERS_API_KEY", SECRET), ("RUST_LOG", "trace")],
        );
        assert_eq!(run.code, 0, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        run
    };
    let check = |run: &Run, what: &str| {
        assert!(!run.stdout.contains(SECRET), "{what}: the secret in stdout");
        assert!(!run.stderr.contains(SECRET), "{what}: the secret in stderr");
        // Trace logging is on: the line stagecraft logs at TRACE when it makes the clients.
        assert!(
            run.stderr.contains("TRACE") && run.stderr.contains("making the AWS clients"),
            "{what}: no trace line:\n{}",
            run.stderr
        );
    };

    write("r1");
    check(&run(&["apply", "--auto-approve"]), "apply");
    let prod = aws::stage(&api, "prod").unwrap();
    assert_eq!(prod.variables.unwrap_or_default()["api_key"], SECRET);

    // A new revision: the stage is updated and read back (GetStage).
    write("r2");
    check(
        &run(&["apply", "--auto-approve"]),
        "apply of a new revision",
    );
    check(
        &run(&["apply", "--refresh", "--auto-approve"]),
        "apply --refresh",
    );
    check(&run(&["plan", "--refresh"]), "plan --refresh");
    check(&run(&["plan", "--refresh-only"]), "plan --refresh-only");
}
