//! Ctrl-C during `apply` (SIGINT to the binary): once, nothing new starts, the calls in flight
//! finish, the state is saved and the summary says what was not started; the next apply
//! finishes the job. Twice: the state is saved at once and the process exits 130.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::aws;
use crate::fleet::{self, ApiSpec, StageSpec};
use crate::support;

fn fleet_of(count: usize, revision: &str) -> Vec<ApiSpec> {
    fleet::fleet(1, count, |i| StageSpec::new(format!("s{i}"), revision))
}

fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts `apply` and waits until its first change is complete. (Waiting only for the first
/// "Creating..." line raced: a change starts before its first call, and under load every
/// change could still be waiting for the CreateDeployment interval when the interrupt came, so
/// none was applied.)
fn start_apply(dir: &std::path::Path, endpoint: &str) -> (Child, BufReader<ChildStdout>) {
    spawn_until(
        fleet::command(dir, endpoint, &["apply", "--auto-approve"]),
        "Creation complete",
    )
}

/// Spawns `command` with its output piped and reads its output up to a line holding `marker`.
/// The output stays open (the caller holds it), so the process never writes to a closed pipe.
fn spawn_until(mut command: Command, marker: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains(marker) {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "apply ended early"
        );
    }
    (child, stdout)
}

#[test]
fn ctrl_c_once_finishes_what_is_in_flight_and_starts_nothing_more() {
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let apis = fleet_of(6, "r1");
    // One CreateDeployment a second: an interrupt after the first completes leaves most
    // unstarted.
    fleet::write_config(dir.path(), "1s", &apis);
    let (mut child, mut stdout) = start_apply(dir.path(), &endpoint);
    interrupt(&child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}\n{stderr}");
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    assert!(
        stderr.contains("not started after the interrupt"),
        "{stderr}"
    );
    assert!(rest.contains("Apply incomplete."), "{rest}");
    // What was applied is recorded and matches AWS; nothing was half done.
    assert!(
        dir.path().join("stagecraft.state.json").exists(),
        "no state was written:\n{rest}\n{stderr}"
    );
    let state = fleet::state(dir.path());
    let recorded = state["resources"].as_object().unwrap().len();
    assert!((1..6).contains(&recorded), "{recorded} recorded");
    assert_eq!(aws::stages(&apis[0].id).len(), recorded);
    assert!(!dir.path().join("stagecraft.state.json.journal").exists());
    // The next apply finishes the job.
    let output = fleet::command(dir.path(), &endpoint, &["apply", "--auto-approve"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    fleet::assert_state_matches_aws(dir.path(), &apis);
}

#[test]
fn ctrl_c_twice_saves_the_state_and_exits_at_once() {
    // An Amplify job that takes seconds keeps a change in flight after the first Ctrl-C.
    let runtime = support::server_runtime(1);
    let emulator = support::emulator(&runtime, Duration::from_secs(2));
    let app = emulator.create_app("web");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/index.html"), "<h1>hi</h1>").unwrap();
    std::fs::write(
        dir.path().join("deploy.toml"),
        format!(
            "[project]\nname = \"web\"\nregion = \"us-east-1\"\n[amplify_apps.web]\nid = \"{app}\"\n[amplify_apps.web.branches.main]\nartifact = \"dist\"\n"
        ),
    )
    .unwrap();
    let amplify = emulator.endpoint();
    let spawn = |args: &[&str]| {
        let mut command = fleet::command(dir.path(), &aws::endpoint(), args);
        command.env("AWS_ENDPOINT_URL_AMPLIFY", &amplify);
        command
    };
    let (mut child, _stdout) = spawn_until(spawn(&["apply", "--auto-approve"]), "uploading");
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // The journal was folded in: the branch is recorded, its deployment is not (the job had
    // not succeeded when the process left).
    let state = fleet::state(dir.path());
    let branch = &state["resources"]["amplify_apps.web.branches.main"];
    assert_eq!(branch["branch_name"], "main");
    assert!(branch["artifact_digest"].is_null());
    assert!(!dir.path().join("stagecraft.state.json.journal").exists());
    // The next apply waits for the unfinished job, deploys, and converges.
    let output = spawn(&["apply", "--auto-approve"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan = spawn(&["plan", "--detailed-exitcode"]).output().unwrap();
    assert_eq!(plan.status.code(), Some(0));
}
