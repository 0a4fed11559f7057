//! Canary rollouts against LocalStack with CloudWatch (docs/behaviour.md, "Rollouts"), bakes
//! of a second or less: a three-step rollout promotes onto the canary's deployment with no new
//! deployment; an alarm set to ALARM during the second bake rolls back within one poll
//! interval and the next plan does not deploy the canary again; 20 runs killed (`kill -9`) at
//! random instants then `rollout resume --wait`; `apply --no-wait` then four `rollout resume`
//! processes, `rollout status` snapshotted at each point; `promote = "manual"` with `rollout
//! promote --write-config` (the next plan empty, comments kept); `rollout abort`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stagecraft_testkit::alarms;

use crate::aws::{self, Proxied, stagecraft_at};
use crate::support::{self, Run};

const CANARY: &str = "rest_apis.orders.stages.prod.canary";

/// One REST API, its two alarms, a folder and a counting proxy.
struct Rollout {
    dir: tempfile::TempDir,
    api: String,
    alarms: [String; 2],
    proxy: Proxied,
}

impl Rollout {
    /// `apply --auto-approve` started in the background through the proxy, its output to
    /// `output` (made twice: stdout and stderr).
    fn spawn_apply(&self, output: fn() -> Stdio) -> std::process::Child {
        support::command(
            self.path(),
            &["apply", "--auto-approve"],
            &aws::env_for(&self.proxy.endpoint(), &[]),
        )
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap()
    }

    fn new() -> Rollout {
        let api = aws::new_api();
        let alarms = [format!("{api}-5xx"), format!("{api}-latency")];
        let runtime = aws::runtime();
        for alarm in &alarms {
            runtime
                .block_on(alarms::put_metric_alarm(&aws::endpoint(), alarm))
                .unwrap();
            runtime
                .block_on(alarms::set_alarm_state(
                    &aws::endpoint(),
                    alarm,
                    "OK",
                    "fine",
                ))
                .unwrap();
        }
        Rollout {
            dir: tempfile::tempdir().unwrap(),
            api,
            alarms,
            proxy: Proxied::counting(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The stage on r1; with `rollout` (`promote` and `bake`), a canary on r2 rolled out.
    fn write(&self, rollout: Option<(&str, &str)>) {
        let mut text = format!(
            "# The orders API.\n[project]\nname = \"rollouts\"\nregion = \"us-east-1\"\n\n[aws]\ncreate_deployment_interval = \"100ms\"\n\n[rest_apis.orders]\nid = \"{}\"\n\n# Production.\n[rest_apis.orders.stages.prod]\nrevision = \"r1\"  # the release in production\nvariables = {{ backend = \"orders-prod\" }}\n",
            self.api
        );
        if let Some((promote, bake)) = rollout {
            text.push_str(&format!(
                "\n[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\nvariable_overrides = {{ backend = \"orders-next\" }}\n\n[rest_apis.orders.stages.prod.canary.rollout]\nsteps = [5, 25, 50]\nbake = \"{bake}\"\nalarms = [\"{}\", \"{}\"]\npoll_interval = \"200ms\"\npromote = \"{promote}\"\n",
                self.alarms[0], self.alarms[1]
            ));
        }
        std::fs::write(self.path().join("deploy.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        stagecraft_at(self.path(), &self.proxy.endpoint(), args, &[])
    }

    /// `run`, which must exit `code`.
    fn expect(&self, code: i32, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "stagecraft {args:?}:\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// The stage on r1, applied.
    fn stage_applied(&self) {
        self.write(None);
        self.expect(0, &["apply", "--auto-approve"]);
        self.proxy.take_counts();
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path().join("stagecraft.state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn canary_record(&self) -> serde_json::Value {
        self.state()["resources"][CANARY].clone()
    }

    fn set_alarm(&self, alarm: usize, state: &str, reason: &str) {
        aws::runtime()
            .block_on(alarms::set_alarm_state(
                &aws::endpoint(),
                &self.alarms[alarm],
                state,
                reason,
            ))
            .unwrap();
    }

    /// The plan is empty (`--detailed-exitcode` exits 0).
    fn assert_plan_empty(&self) -> Run {
        self.expect(0, &["plan", "--detailed-exitcode"])
    }
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Unix milliseconds of an RFC 3339 UTC timestamp as the state writes it
/// (`2026-12-02T07:14:17.123Z`).
fn millis(timestamp: &serde_json::Value) -> u64 {
    let text = timestamp.as_str().unwrap();
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second, milli) = (
        number(11..13),
        number(14..16),
        number(17..19),
        number(20..23),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 24 + hour) * 60 + minute) * 60 + second).unwrap() * 1000
        + u64::try_from(milli).unwrap()
}

/// The step records of a rollout: each step's percent, and its bake checked against `bake_ms`.
fn assert_full_bakes(rollout: &serde_json::Value, bake_ms: u64) -> Vec<f64> {
    let steps = rollout["steps"].as_array().unwrap();
    for step in steps {
        assert!(step["baked_ms"].as_u64().unwrap() >= bake_ms, "{step}");
        let done = millis(&step["completed_at"]);
        assert!(done - millis(&step["started_at"]) >= bake_ms, "{step}");
    }
    steps
        .iter()
        .map(|step| step["percent"].as_f64().unwrap())
        .collect()
}

#[test]
fn a_three_step_rollout_promotes_onto_the_canarys_deployment_with_no_new_deployment() {
    let project = Rollout::new();
    project.stage_applied();
    let before = aws::deployments(&project.api);
    project.write(Some(("auto", "600ms")));
    let started = Instant::now();
    let run = project.expect(0, &["apply", "--auto-approve"]);
    assert!(
        run.stdout.contains(&format!("{CANARY}: promoted")),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() >= Duration::from_millis(1800));
    let counts = project.proxy.take_counts();
    // One deployment, the canary's; two shifts and the promotion; the alarms read at every check.
    assert_eq!(counts.get("CreateDeployment"), Some(&1), "{counts:?}");
    assert_eq!(aws::deployments(&project.api), before + 1);
    assert_eq!(counts.get("UpdateStage"), Some(&3), "{counts:?}");
    assert!(
        counts.get("DescribeAlarms").copied().unwrap_or(0) >= 9,
        "{counts:?}"
    );
    let stage = aws::stage(&project.api, "prod").unwrap();
    assert!(stage.canary_settings().is_none());
    let state = project.state();
    let prod = &state["resources"]["rest_apis.orders.stages.prod"];
    let r2 = state["deployments"][&project.api]["r2"].as_str().unwrap();
    assert_eq!(stage.deployment_id(), Some(r2));
    assert_eq!(prod["deployment_id"], r2);
    assert_eq!(prod["promoted_by_rollout"]["canary_revision"], "r2");
    assert_eq!(stage.variables().unwrap()["backend"], "orders-next");
    assert!(project.canary_record().is_null());
    // The file as it was is satisfied; the plan says how to make it plain.
    let plan = project.assert_plan_empty();
    assert!(plan.stdout.contains("promoted"), "{}", plan.stdout);
}

/// Waits until the journal of the apply running in `dir` has recorded `needle`.
fn wait_for_journal(dir: &Path, needle: &str, timeout: Duration) {
    let started = Instant::now();
    let journal = dir.join("stagecraft.state.json.journal");
    while started.elapsed() < timeout {
        if std::fs::read_to_string(&journal).is_ok_and(|text| text.contains(needle)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the journal never recorded {needle}");
}

#[test]
fn an_alarm_during_the_second_bake_rolls_back_within_one_poll_interval_and_is_not_redeployed() {
    let project = Rollout::new();
    project.stage_applied();
    project.write(Some(("auto", "1s")));
    let child = project.spawn_apply(Stdio::piped);
    // The second step's record (25%) is journaled once traffic moved.
    wait_for_journal(project.path(), "\"percent\":25.0", Duration::from_secs(30));
    let fired = now_ms();
    project.set_alarm(1, "ALARM", "Threshold Crossed: p99 above 800 ms");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{CANARY}: rolled back at step 2 (25%): alarm {} is in ALARM: Threshold Crossed: p99 above 800 ms",
            project.alarms[1]
        )),
        "{stderr}"
    );
    let rollout = &project.canary_record()["rollout"];
    assert_eq!(rollout["status"]["status"], "rolled_back", "{rollout}");
    assert_eq!(rollout["status"]["step"], 1);
    assert_eq!(rollout["status"]["alarm"], project.alarms[1].as_str());
    // Within one poll interval (200 ms) of the alarm, plus the calls' time on a loaded machine.
    let rolled_back = millis(&rollout["status"]["at"]);
    assert!(rolled_back >= fired, "{rollout}");
    assert!(
        rolled_back - fired < 200 + 600,
        "{} ms",
        rolled_back - fired
    );
    let stage = aws::stage(&project.api, "prod").unwrap();
    assert!(stage.canary_settings().is_none());
    let state = project.state();
    assert_eq!(
        stage.deployment_id(),
        state["deployments"][&project.api]["r1"].as_str()
    );
    // The next plan shows the rollback and deploys nothing; apply makes no call.
    project.proxy.take_counts();
    let plan = project.assert_plan_empty();
    assert!(plan.stdout.contains("rolled back"), "{}", plan.stdout);
    let again = project.expect(0, &["apply", "--auto-approve"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let counts = project.proxy.take_counts();
    assert!(
        counts.keys().all(|operation| operation.starts_with("Get")),
        "{counts:?}"
    );
}

#[test]
fn twenty_rollouts_killed_at_random_instants_resume_without_a_repeated_step_or_short_bake() {
    const BAKE_MS: u64 = 400;
    let mut seed: u64 = 0x2026_1202_0051;
    let mut kills = 0;
    // The kill instants are drawn below the duration of a clean run of the same shape, measured
    // first, so that a loaded machine does not move them past the apply's end.
    let clean = {
        let project = Rollout::new();
        project.stage_applied();
        project.write(Some(("manual", "400ms")));
        let started = Instant::now();
        project.expect(0, &["apply", "--auto-approve"]);
        started.elapsed()
    };
    let range = u64::try_from(clean.as_millis()).unwrap().max(200);
    for run in 0..20 {
        let project = Rollout::new();
        project.stage_applied();
        let before = aws::deployments(&project.api);
        project.write(Some(("manual", "400ms")));
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_millis(20 + (seed >> 33) % range);
        let mut child = project.spawn_apply(Stdio::null);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        // Resumed; a run killed before the canary was recorded needs an apply to start it.
        let resumed = project.run(&["rollout", "resume", "--wait"]);
        if project.canary_record().is_null() {
            project.expect(0, &["apply", "--auto-approve"]);
        } else {
            assert_eq!(
                resumed.code, 0,
                "run {run} (kill after {delay:?}):\n{}\n{}",
                resumed.stdout, resumed.stderr
            );
        }
        let rollout = project.canary_record()["rollout"].clone();
        assert_eq!(
            rollout["status"]["status"], "awaiting_promotion",
            "run {run} (kill after {delay:?}): {rollout}"
        );
        let percents = assert_full_bakes(&rollout, BAKE_MS);
        assert_eq!(
            percents,
            [5.0, 25.0, 50.0],
            "run {run} (kill after {delay:?})"
        );
        assert_eq!(
            aws::deployments(&project.api),
            before + 1,
            "run {run} (kill after {delay:?}): a deployment was made twice"
        );
        project.expect(0, &["rollout", "promote", CANARY]);
        let stage = aws::stage(&project.api, "prod").unwrap();
        assert!(stage.canary_settings().is_none());
        assert_eq!(
            stage.deployment_id(),
            project.state()["deployments"][&project.api]["r2"].as_str()
        );
        assert!(
            !project
                .path()
                .join("stagecraft.state.json.journal")
                .exists()
        );
    }
    eprintln!("20 runs, {kills} killed inside the apply");
    assert!(
        kills >= 10,
        "only {kills} of 20 kills landed inside the apply"
    );
}

/// `rollout status` with its times redacted: timestamps and bake left.
fn redacted(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        // RFC 3339 UTC timestamps of this run: 2026-12-02T07:14:17.123Z.
        let is_timestamp = |text: &str| {
            let bytes = text.as_bytes();
            bytes.len() == 24
                && bytes[4] == b'-'
                && bytes[10] == b'T'
                && bytes[19] == b'.'
                && bytes[23] == b'Z'
                && bytes[..4].iter().all(u8::is_ascii_digit)
        };
        let mut start = 0;
        while start + 24 <= line.len() {
            if line.is_char_boundary(start)
                && line.is_char_boundary(start + 24)
                && is_timestamp(&line[start..start + 24])
            {
                line.replace_range(start..start + 24, "<time>");
            }
            start += 1;
        }
        if let Some(of) = line.find(" of 500ms bake left") {
            let start = line[..of].rfind(", ").map_or(0, |comma| comma + 2);
            line.replace_range(start..of, "<left>");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn apply_no_wait_then_four_resumes_drive_a_rollout_to_promotion() {
    let project = Rollout::new();
    project.stage_applied();
    project.write(Some(("auto", "500ms")));
    let mut statuses = Vec::new();
    let status = |statuses: &mut Vec<String>, what: &str| {
        let run = project.expect(0, &["rollout", "status"]);
        statuses.push(format!("after {what}:\n{}", redacted(&run.stdout)));
    };
    let started = project.expect(0, &["apply", "--auto-approve", "--no-wait"]);
    assert!(
        started.stdout.contains("Apply complete!"),
        "{}",
        started.stdout
    );
    status(&mut statuses, "apply --no-wait");
    // Right away: one check, nothing else due.
    let first = project.expect(0, &["rollout", "resume"]);
    assert!(
        first.stdout.contains("baking step 1 at 5%"),
        "{}",
        first.stdout
    );
    status(&mut statuses, "resume 1");
    for (resume, expected) in [
        (2, "baking step 2 at 25%"),
        (3, "baking step 3 at 50%"),
        (4, "promoted"),
    ] {
        std::thread::sleep(Duration::from_millis(700));
        let run = project.expect(0, &["rollout", "resume"]);
        assert!(
            run.stdout.contains(expected),
            "resume {resume}: {}",
            run.stdout
        );
        status(&mut statuses, &format!("resume {resume}"));
    }
    let alarm = &project.alarms;
    let text = statuses
        .join("\n")
        .replace(&alarm[0], "<5xx>")
        .replace(&alarm[1], "<latency>");
    insta::assert_snapshot!(text);
    let counts = project.proxy.take_counts();
    assert_eq!(counts.get("CreateDeployment"), Some(&1), "{counts:?}");
    project.assert_plan_empty();
    // The JSON form carries the same, parsed.
    let json = project.expect(0, &["rollout", "status", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["rollouts"].as_array().unwrap().len(), 0);
    assert_eq!(
        document["promotions"][0]["promotion"]["canary_revision"],
        "r2"
    );
}

#[test]
fn a_manual_rollout_waits_for_rollout_promote_and_write_config_leaves_a_plain_file() {
    let project = Rollout::new();
    project.stage_applied();
    project.write(Some(("manual", "300ms")));
    let run = project.expect(0, &["apply", "--auto-approve"]);
    assert!(
        run.stdout
            .contains(&format!("`stagecraft rollout promote {CANARY}`")),
        "{}",
        run.stdout
    );
    let stage = aws::stage(&project.api, "prod").unwrap();
    assert_eq!(stage.canary_settings().unwrap().percent_traffic(), 50.0);
    // Nothing more is due.
    let resumed = project.expect(0, &["rollout", "resume"]);
    assert!(
        resumed.stdout.contains("No rollout to resume."),
        "{}",
        resumed.stdout
    );
    let promoted = project.expect(0, &["rollout", "promote", CANARY, "--write-config"]);
    assert!(promoted.stdout.contains("promoted"), "{}", promoted.stdout);
    let text = std::fs::read_to_string(project.path().join("deploy.toml")).unwrap();
    assert!(text.contains("# Production."), "{text}");
    assert!(text.contains("# The orders API."), "{text}");
    assert!(!text.contains("canary"), "{text}");
    assert!(text.contains("revision = \"r2\""), "{text}");
    let plan = project.assert_plan_empty();
    assert!(!plan.stdout.contains("promoted"), "{}", plan.stdout);
    let stage = aws::stage(&project.api, "prod").unwrap();
    assert!(stage.canary_settings().is_none());
}

#[test]
fn rollout_abort_removes_the_canary_and_the_plan_does_not_deploy_it_again() {
    let project = Rollout::new();
    project.stage_applied();
    project.write(Some(("auto", "1s")));
    project.expect(0, &["apply", "--auto-approve", "--no-wait"]);
    assert!(
        aws::stage(&project.api, "prod")
            .unwrap()
            .canary_settings()
            .is_some()
    );
    let paused = project.expect(0, &["rollout", "pause", CANARY]);
    assert!(paused.stdout.contains("Paused"), "{}", paused.stdout);
    // An operator's pause is not resumed without the address.
    let resumed = project.expect(0, &["rollout", "resume"]);
    assert!(
        resumed.stdout.contains("No rollout to resume."),
        "{}",
        resumed.stdout
    );
    let aborted = project.expect(0, &["rollout", "abort", CANARY]);
    assert!(aborted.stdout.contains("aborted"), "{}", aborted.stdout);
    assert!(
        aws::stage(&project.api, "prod")
            .unwrap()
            .canary_settings()
            .is_none()
    );
    assert_eq!(
        project.canary_record()["rollout"]["status"]["status"],
        "aborted"
    );
    let status = project.expect(0, &["rollout", "status"]);
    assert!(status.stdout.contains("aborted at"), "{}", status.stdout);
    project.assert_plan_empty();
    // A second abort is refused with the reason.
    let again = project.expect(1, &["rollout", "abort", CANARY]);
    assert!(again.stderr.contains("aborted"), "{}", again.stderr);
}

#[test]
fn ctrl_c_pauses_a_baking_rollout_with_the_state_saved_and_a_resume_finishes_it() {
    let project = Rollout::new();
    project.stage_applied();
    project.write(Some(("auto", "1s")));
    let child = project.spawn_apply(Stdio::piped);
    // Two alarm checks of the first step recorded, then Ctrl-C.
    wait_for_journal(project.path(), "\"checks\":2", Duration::from_secs(30));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{CANARY}: paused at step 1 (by interrupt)")),
        "{stdout}"
    );
    let rollout = project.canary_record()["rollout"].clone();
    assert_eq!(rollout["status"]["status"], "paused", "{rollout}");
    assert_eq!(rollout["status"]["by"], "interrupt");
    assert!(
        rollout["steps"][0]["baked_ms"].as_u64().unwrap() < 1000,
        "{rollout}"
    );
    assert!(
        !project
            .path()
            .join("stagecraft.state.json.journal")
            .exists()
    );
    // A resume without an address takes a rollout an interrupt paused, to its end.
    let resumed = project.expect(0, &["rollout", "resume", "--wait"]);
    assert!(
        resumed.stdout.contains(&format!("{CANARY}: promoted")),
        "{}",
        resumed.stdout
    );
    project.assert_plan_empty();
}
