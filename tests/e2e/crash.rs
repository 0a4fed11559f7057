//! Crash safety: `kill -9` at a random instant of an apply of 30 stages (3 APIs of 10), then apply
//! again. The second apply must converge, the state must agree with LocalStack, and at most the
//! interrupted operations may have been repeated: each API gains at most the deployments a clean
//! run makes plus the CreateDeployment calls the next run reports as cut off (and as a snapshot
//! cut off is found again by its marker, none is repeated: exactly what a clean run makes).
//!
//! The kill instants are drawn inside the apply itself, so that a loaded machine does not move
//! them before it begins or after it ends: the clock starts at the apply's first progress line,
//! and each delay is drawn below the duration of a clean apply of the same shape, measured first
//! (from its first progress line to its exit).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::aws;
use crate::fleet::{self, ApiSpec, Rng, StageSpec};

const APIS: usize = 3;
const STAGES: usize = 10;
/// Pairs of runs; each pair kills a creation and then a redeploy: 2 x PAIRS killed applies.
const PAIRS: usize = 10;
/// Kills that must land inside an apply; under load a drawn instant can fall after the apply
/// ended, so further pairs are run (up to `MAX_PAIRS`) until this many did.
const KILLS_WANTED: usize = PAIRS * 2 * 3 / 4;
const MAX_PAIRS: usize = PAIRS * 5 / 2;
const SEED: u64 = 0x5eed_2026_1122;
/// Small, so that the applies are short.
const INTERVAL: &str = "20ms";
const CUT_OFF: &str = "Warning: the last apply was cut off during ";

/// What one killed apply and its recovery did.
struct Outcome {
    killed: bool,
    interrupted_deployments: usize,
}

/// Applies `apis` in `dir`, killing the binary `delay` after its first progress line; then
/// applies again and checks everything. `clean` is how many deployments per API a run without a crash makes.
fn kill_then_recover(
    dir: &std::path::Path,
    apis: &[ApiSpec],
    clean: usize,
    delay: Duration,
) -> Outcome {
    let endpoint = aws::endpoint();
    fleet::write_config(dir, INTERVAL, apis);
    let before: Vec<usize> = apis.iter().map(|api| aws::deployments(&api.id)).collect();

    let (mut child, begun) = spawn_apply(dir, &endpoint);
    let started = begun
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| Instant::now());
    std::thread::sleep(delay.saturating_sub(started.elapsed()));
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        child.kill().unwrap(); // SIGKILL
    }
    let status = child.wait().unwrap();
    let ran = started.elapsed();
    assert!(
        killed || status.success(),
        "the first apply failed by itself: {status}"
    );

    let run = aws::stagecraft_at(dir, &endpoint, &["apply", "--auto-approve"], &[]);
    assert_eq!(
        run.code, 0,
        "the apply after a kill at {ran:?} did not converge:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.contains("Apply complete!") || run.stdout.contains("No changes."),
        "{}",
        run.stdout
    );
    // Interrupted CreateDeployment calls, by API key.
    let mut interrupted: BTreeMap<String, usize> = BTreeMap::new();
    let mut cut_off = 0;
    for line in run.stderr.lines() {
        if let Some(rest) = line.strip_prefix(CUT_OFF) {
            cut_off += 1;
            let Some(address) = rest
                .strip_prefix("CreateDeployment for ")
                .and_then(|rest| rest.split(';').next())
            else {
                continue;
            };
            let api = address.split('.').nth(1).unwrap().to_string();
            *interrupted.entry(api).or_default() += 1;
        }
    }
    let plan = aws::stagecraft_at(dir, &endpoint, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(
        plan.code, 0,
        "plan after recovery (kill at {ran:?}):\n{}\n{}\nrecovery:\n{}",
        plan.stdout, plan.stderr, run.stderr
    );
    assert!(
        !dir.join("stagecraft.state.json.journal").exists(),
        "the journal was left behind"
    );
    fleet::assert_state_matches_aws(dir, apis);
    for (index, api) in apis.iter().enumerate() {
        let key = fleet::api_key(index);
        let made = aws::deployments(&api.id) - before[index];
        let repeated = interrupted.get(&key).copied().unwrap_or(0);
        assert!(
            made >= clean && made <= clean + repeated,
            "{key} ({}) gained {made} deployments; a clean run makes {clean}, and {repeated} \
             CreateDeployment call(s) were cut off (kill at {ran:?}); recovery said:\n{}",
            api.id,
            run.stderr
        );
        // A cut-off snapshot is found again by its marker, never made twice.
        assert_eq!(
            made, clean,
            "{key} ({}): a cut-off snapshot was made again (kill at {ran:?}); recovery said:\n{}",
            api.id, run.stderr
        );
    }
    eprintln!(
        "kill after {ran:?} (killed: {killed}): {cut_off} operation(s) cut off, \
         CreateDeployment by API {interrupted:?}"
    );
    Outcome {
        killed,
        interrupted_deployments: interrupted.values().sum(),
    }
}

/// Spawns `apply` in `dir`; the channel gets the instant its first progress line appeared (the
/// executor has begun), and the child's output is drained so that it never blocks on a pipe.
fn spawn_apply(dir: &std::path::Path, endpoint: &str) -> (Child, mpsc::Receiver<Instant>) {
    let mut child = fleet::command(dir, endpoint, &["apply", "--auto-approve"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (begun, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut begun = Some(begun);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("rest_apis.")
                && let Some(begun) = begun.take()
            {
                let _ = begun.send(Instant::now());
            }
        }
    });
    (child, first_line)
}

/// The fleet of one pair: new APIs with their creation revision.
fn pair_fleet(pair: usize) -> Vec<ApiSpec> {
    fleet::fleet(APIS, STAGES, |s| {
        let mut stage = StageSpec::new(format!("s{s}"), format!("c{pair}"));
        stage.variables = vec![("n".into(), s.to_string())];
        stage
    })
}

/// Redeploy: two new revisions per API (even and odd stages), so two snapshots per API, then
/// an UpdateStage per stage; a variable changes too.
fn redeploy(apis: &mut [ApiSpec], pair: usize) {
    for api in apis {
        for (s, stage) in api.stages.iter_mut().enumerate() {
            stage.revision = format!("r{pair}-{}", s % 2);
            stage.variables = vec![("n".into(), format!("{s}x"))];
        }
    }
}

/// How long a clean apply of `apis` in `dir` runs, from its first progress line to its exit.
fn clean_duration(dir: &std::path::Path, apis: &[ApiSpec]) -> Duration {
    fleet::write_config(dir, INTERVAL, apis);
    let (mut child, begun) = spawn_apply(dir, &aws::endpoint());
    let status = child.wait().unwrap();
    assert!(status.success(), "the clean apply failed: {status}");
    let started = begun.recv().unwrap();
    started.elapsed()
}

#[test]
fn kill_9_at_random_instants_then_apply_converges() {
    let mut rng = Rng::new(SEED);
    // A clean creation and redeploy of the same shape, timed: the kills are drawn inside them.
    let calibration = tempfile::tempdir().unwrap();
    let mut apis = pair_fleet(MAX_PAIRS);
    let create = clean_duration(calibration.path(), &apis);
    redeploy(&mut apis, MAX_PAIRS);
    let update = clean_duration(calibration.path(), &apis);
    eprintln!("a clean creation runs {create:?}, a clean redeploy {update:?}");
    let within = |clean: Duration, rng: &mut Rng| {
        let span = (clean.as_millis() as u64 * 9 / 10).max(1);
        Duration::from_millis(rng.below(span))
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    let killed = |outcomes: &[Outcome]| outcomes.iter().filter(|o| o.killed).count();
    for pair in 0..MAX_PAIRS {
        if pair >= PAIRS && killed(&outcomes) >= KILLS_WANTED {
            break;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut apis = pair_fleet(pair);
        // Creation: one snapshot per API, then a CreateStage per stage.
        let delay = within(create, &mut rng);
        outcomes.push(kill_then_recover(dir.path(), &apis, 1, delay));

        redeploy(&mut apis, pair);
        let delay = within(update, &mut rng);
        outcomes.push(kill_then_recover(dir.path(), &apis, 2, delay));
    }
    let killed = killed(&outcomes);
    let cut: usize = outcomes.iter().map(|o| o.interrupted_deployments).sum();
    eprintln!(
        "{} runs, {killed} killed mid-apply, {cut} CreateDeployment calls cut off",
        outcomes.len()
    );
    // Most kills must land inside an apply, or this tests little.
    assert!(
        killed >= KILLS_WANTED,
        "only {killed} of {} runs were killed mid-apply",
        outcomes.len()
    );
}
