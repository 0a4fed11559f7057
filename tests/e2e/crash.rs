//! Crash safety: `kill -9` at a random instant of an apply of 30 stages (3 APIs of 10), then apply
//! again. The second apply must converge, the state must agree with LocalStack, and at most the
//! interrupted operations may have been repeated: each API gains at most the deployments a clean
//! run makes plus the CreateDeployment calls the next run reports as cut off.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::aws;
use crate::fleet::{self, ApiSpec, Rng, StageSpec};

const APIS: usize = 3;
const STAGES: usize = 10;
/// Pairs of runs; each pair kills a creation and then a redeploy: 2 x PAIRS killed applies.
const PAIRS: usize = 10;
const SEED: u64 = 0x5eed_2026_1122;
/// Small, so that a good share of each apply has a CreateDeployment in flight.
const INTERVAL: &str = "20ms";
const CUT_OFF: &str = "Warning: the last apply was cut off during ";

/// What one killed apply and its recovery did.
struct Outcome {
    killed: bool,
    interrupted_deployments: usize,
}

/// Applies `apis` in `dir`, killing the binary `delay` after it starts; then applies again and
/// checks everything. `clean` is how many deployments per API a run without a crash makes.
fn kill_then_recover(
    dir: &std::path::Path,
    apis: &[ApiSpec],
    clean: usize,
    delay: Duration,
) -> Outcome {
    let endpoint = aws::endpoint();
    fleet::write_config(dir, INTERVAL, apis);
    let before: Vec<usize> = apis.iter().map(|api| aws::deployments(&api.id)).collect();

    let mut child = fleet::command(dir, &endpoint, &["apply", "--auto-approve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    std::thread::sleep(delay);
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

#[test]
fn kill_9_at_random_instants_then_apply_converges() {
    let mut rng = Rng::new(SEED);
    let mut outcomes = Vec::new();
    for pair in 0..PAIRS {
        let dir = tempfile::tempdir().unwrap();
        let mut apis = fleet::fleet(APIS, STAGES, |s| {
            let mut stage = StageSpec::new(format!("s{s}"), format!("c{pair}"));
            stage.variables = vec![("n".into(), s.to_string())];
            stage
        });
        // Creation: one CreateDeployment per stage, spread over about 1.5 s.
        let delay = Duration::from_millis(50 + rng.below(1500));
        outcomes.push(kill_then_recover(dir.path(), &apis, STAGES, delay));

        // Redeploy: two new revisions per API (even and odd stages), so two snapshots per API,
        // then an UpdateStage per stage; a variable changes too.
        for api in &mut apis {
            for (s, stage) in api.stages.iter_mut().enumerate() {
                stage.revision = format!("r{pair}-{}", s % 2);
                stage.variables = vec![("n".into(), format!("{s}x"))];
            }
        }
        let delay = Duration::from_millis(50 + rng.below(650));
        outcomes.push(kill_then_recover(dir.path(), &apis, 2, delay));
    }
    let killed = outcomes.iter().filter(|o| o.killed).count();
    let cut: usize = outcomes.iter().map(|o| o.interrupted_deployments).sum();
    eprintln!(
        "{} runs, {killed} killed mid-apply, {cut} CreateDeployment calls cut off",
        outcomes.len()
    );
    // Most kills must land inside an apply, or this tests little.
    assert!(
        killed >= outcomes.len() * 3 / 4,
        "only {killed} runs were killed mid-apply"
    );
}
