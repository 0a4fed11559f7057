//! The executor against the in-memory AWS of `fake.rs`: the call sequences of
//! `docs/behaviour.md` ("Actions and their calls"), the schedule (quota spacing, one call at a
//! time per REST API, retries), failure isolation,
//! journaling and crash recovery, Amplify deployments, and secrecy.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::Duration;

use stagecraft_config::Config;

use super::fake::FakeAws;
use super::*;
use crate::provider::{ErrorKind, ProviderError};
use crate::state::ResourceState;
use crate::test_support::{TestHost, artifact_digest, config, make_plan};

/// A journal kept in memory that can be made to fail after a number of entries (a crash).
#[derive(Default)]
pub(super) struct MemoryJournal {
    pub(super) entries: Mutex<Vec<JournalEntry>>,
    pub(super) fail_after: Option<usize>,
}

impl Journal for MemoryJournal {
    fn append(&self, entry: &JournalEntry) -> Result<(), JournalWriteError> {
        let mut entries = self.entries.lock().unwrap();
        if self.fail_after.is_some_and(|limit| entries.len() >= limit) {
            return Err(JournalWriteError::Write(std::io::Error::other("disk full")));
        }
        entries.push(entry.clone());
        Ok(())
    }
}

/// The wall-clock time at which test runs start (2026-12-02T07:14:17.123Z).
pub(super) const T0: u64 = 1_796_195_657_123;

pub(super) struct FakeArtifacts;

impl Artifacts for FakeArtifacts {
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, PackageError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"PK-zip").unwrap();
        Ok(Package {
            path: file.path().to_path_buf(),
            size: 6,
            digest: artifact_digest(&artifact.path),
            keep: Box::new(file),
        })
    }
}

pub(super) fn options() -> ApplyOptions {
    let mut options = ApplyOptions::new(
        &stagecraft_config::AwsSettings::default(),
        10,
        Lane::default(),
    );
    options.create_deployment_interval = Duration::from_secs(5);
    options
}

pub(super) struct Applied {
    pub(super) report: ApplyReport,
    pub(super) journal: Vec<JournalEntry>,
    pub(super) events: Vec<Event>,
}

pub(super) async fn apply_with(
    aws: &FakeAws,
    config: &Config,
    state: Option<State>,
    options: &ApplyOptions,
    journal: MemoryJournal,
    in_doubt: &[Interrupted],
) -> Applied {
    let plan = make_plan(config, state.as_ref()).unwrap();
    apply_plan(aws, config, &plan, state, options, journal, in_doubt).await
}

/// Applies `plan` (made from `config`) to `state` against the fake, with the test clock.
pub(super) async fn apply_plan(
    aws: &FakeAws,
    config: &Config,
    plan: &Plan,
    state: Option<State>,
    options: &ApplyOptions,
    journal: MemoryJournal,
    in_doubt: &[Interrupted],
) -> Applied {
    let secrets = stagecraft_config::resolve_secrets(config, &TestHost).unwrap();
    let sensitive = SensitiveValues::new(config, &secrets);
    let events = Mutex::new(Vec::new());
    let sink = |event: Event| events.lock().unwrap().push(event);
    let interrupt = Interrupt::default();
    let ctx = Context {
        provider: aws,
        journal: &journal,
        artifacts: &FakeArtifacts,
        events: &sink,
        sensitive: &sensitive,
        in_doubt,
        options,
        interrupt: &interrupt,
        run_id: "run1",
        clock: &TokioClock::starting_at(crate::state::Timestamp::from_millis(T0)),
    };
    let report = apply(plan, state, &ctx).await;
    Applied {
        report,
        journal: journal.entries.into_inner().unwrap(),
        events: events.into_inner().unwrap(),
    }
}

pub(super) async fn apply_config(aws: &FakeAws, config: &Config, state: Option<State>) -> Applied {
    apply_with(
        aws,
        config,
        state,
        &options(),
        MemoryJournal::default(),
        &[],
    )
    .await
}

/// The plan against the state apply recorded is empty, and AWS agrees with the state.
pub(super) fn assert_converged(aws: &FakeAws, config: &Config, state: &State) {
    let plan = make_plan(config, Some(state)).unwrap();
    assert!(
        plan.changes.is_empty(),
        "not converged: {:#?}",
        plan.changes
    );
    for record in state.resources.values() {
        match record {
            ResourceState::Stage(stage) => {
                let live = aws.stage(&stage.rest_api_id, &stage.stage_name).unwrap();
                assert_eq!(
                    live.deployment_id.as_deref(),
                    Some(stage.deployment_id.as_str())
                );
                assert_eq!(live.tracing, stage.tracing);
                assert_eq!(
                    live.cache_size.is_some() && live.cache_enabled,
                    stage.cache_size.is_some()
                );
                assert_eq!(live.variables.len(), stage.variables.len());
            }
            ResourceState::Canary(canary) => {
                let live = aws.stage(&canary.rest_api_id, &canary.stage_name).unwrap();
                let live = live.canary.unwrap();
                assert_eq!(
                    live.deployment_id.as_deref(),
                    Some(canary.deployment_id.as_str())
                );
                assert_eq!(live.percent_traffic, canary.percent_traffic);
            }
            ResourceState::Branch(branch) => {
                assert!(aws.branch(&branch.app_id, &branch.branch_name).is_some());
            }
        }
    }
}

pub(super) fn stages(api_id: &str, revision: &str, extra: &str) -> String {
    format!(
        r#"
[rest_apis.orders]
id = "{api_id}"
[rest_apis.orders.stages.staging]
revision = "{revision}"
tracing = true
cache_size = "0.5"
variables = {{ backend = "orders-staging", key = {{ env = "API_KEY" }} }}
[rest_apis.orders.stages.prod]
revision = "{revision}"
variables = {{ backend = "orders-prod" }}
depends_on = ["rest_apis.orders.stages.staging"]
{extra}
"#
    )
}

#[tokio::test(start_paused = true)]
async fn stage_and_canary_lifecycle_makes_the_calls_of_the_spec() {
    let aws = FakeAws::new();
    // Create: one snapshot of r1 (CreateDeployment), then a CreateStage per stage on it,
    // carrying the settings.
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(
        run.report.counts(),
        Counts {
            import: 0,
            add: 2,
            change: 0,
            destroy: 0
        }
    );
    assert_eq!(aws.count("CreateDeployment"), 1);
    assert_eq!(aws.count("CreateStage"), 2);
    let live = aws.stage("api1", "staging").unwrap();
    assert_eq!(live.variables["key"], "value-of-API_KEY");
    assert!(live.tracing && live.cache_enabled);
    // Two stages created at one revision share its one deployment, which the state maps.
    let r1 = run.report.state.deployment_of("api1", "r1").unwrap();
    assert_eq!(live.deployment_id.as_deref(), Some(r1));
    assert_eq!(
        aws.stage("api1", "prod").unwrap().deployment_id.as_deref(),
        Some(r1)
    );
    assert_eq!(aws.deployments("api1").len(), 1);
    assert_converged(&aws, &cfg, &run.report.state);
    let mut state = run.report.state;

    // Settings only: one UpdateStage, no deployment.
    let before = aws.count("CreateDeployment");
    let cfg = config(&stages("api1", "r1", "").replace("orders-prod", "orders-prod-2"));
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.count("CreateDeployment"), before);
    assert_eq!(
        aws.stage("api1", "prod").unwrap().variables["backend"],
        "orders-prod-2"
    );
    assert_converged(&aws, &cfg, &run.report.state);
    state = run.report.state;

    // New revision: a snapshot, then the stages re-pointed; variables kept. Both stages of
    // the API move to r2, which names one snapshot.
    let cfg2 = config(&stages("api1", "r2", "").replace("orders-prod", "orders-prod-2"));
    let run = apply_config(&aws, &cfg2, Some(state)).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.count("CreateDeployment"), before + 1);
    assert_eq!(
        aws.stage("api1", "staging").unwrap().deployment_id,
        aws.stage("api1", "prod").unwrap().deployment_id
    );
    assert_eq!(
        aws.stage("api1", "staging").unwrap().variables["backend"],
        "orders-staging"
    );
    assert_converged(&aws, &cfg2, &run.report.state);
    state = run.report.state;

    // Roll back to r1: no new deployment, back on r1's deployment.
    let r1 = state.deployment_of("api1", "r1").unwrap().to_string();
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.count("CreateDeployment"), before + 1);
    assert_eq!(
        aws.stage("api1", "prod").unwrap().deployment_id.unwrap(),
        r1
    );
    assert_converged(&aws, &cfg, &run.report.state);
    state = run.report.state;

    // A canary at 10% with overrides: one CreateDeployment with canary settings.
    let canary = |percent: &str| {
        stages("api1", "r1", &format!(
            "[rest_apis.orders.stages.prod.canary]\nrevision = \"r3\"\npercent_traffic = {percent}\nvariable_overrides = {{ backend = \"next\" }}\n"
        ))
        .replace("orders-prod\"", "orders-prod-2\"")
    };
    let cfg = config(&canary("10.0"));
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), before + 2);
    assert_eq!(
        aws.stage("api1", "prod")
            .unwrap()
            .canary
            .unwrap()
            .percent_traffic,
        10.0
    );
    assert_converged(&aws, &cfg, &run.report.state);
    state = run.report.state;

    // 50%: an UpdateStage of the canary's settings only.
    let updates = aws.count("UpdateStage");
    let cfg = config(&canary("50.0"));
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.count("UpdateStage"), updates + 1);
    assert_eq!(aws.count("CreateDeployment"), before + 2);
    assert_converged(&aws, &cfg, &run.report.state);
    state = run.report.state;

    // Promote: the stage takes r3 and the canary's deployment, overrides merged, no deployment.
    let canary_deployment = state.deployment_of("api1", "r3").unwrap().to_string();
    let cfg = config(
        &stages("api1", "r1", "")
            .replace("orders-prod\"", "orders-prod-2\"")
            .replacen(
                "[rest_apis.orders.stages.prod]\nrevision = \"r1\"",
                "[rest_apis.orders.stages.prod]\nrevision = \"r3\"",
                1,
            ),
    );
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), before + 2);
    let prod = aws.stage("api1", "prod").unwrap();
    assert_eq!(
        prod.deployment_id.as_deref(),
        Some(canary_deployment.as_str())
    );
    assert!(prod.canary.is_none());
    let promotion = aws
        .calls()
        .into_iter()
        .find(|call| call.operation == "UpdateStage" && call.detail.contains("Copy"))
        .unwrap();
    assert!(
        promotion.detail.contains("stageVariableOverrides"),
        "{}",
        promotion.detail
    );
    // The merged override differs from the file, so the stage's own change (planned against
    // the promoted stage) puts the file's value back in the same apply.
    assert_eq!(prod.variables["backend"], "orders-prod-2");
    assert_converged(&aws, &cfg, &run.report.state);
    state = run.report.state;

    // Delete a stage.
    let cfg = config(
        "[rest_apis.orders]\nid = \"api1\"\n[rest_apis.orders.stages.staging]\nrevision = \"r1\"\ntracing = true\ncache_size = \"0.5\"\nvariables = { backend = \"orders-staging\", key = { env = \"API_KEY\" } }\n",
    );
    let run = apply_config(&aws, &cfg, Some(state)).await;
    assert!(run.report.succeeded());
    assert_eq!(
        run.report.counts(),
        Counts {
            import: 0,
            add: 0,
            change: 0,
            destroy: 1
        }
    );
    assert!(aws.stage("api1", "prod").is_none());
    assert_converged(&aws, &cfg, &run.report.state);
}

#[tokio::test(start_paused = true)]
async fn canary_removed_without_promotion_and_repointed_to_a_known_revision() {
    let aws = FakeAws::new();
    let with_canary = |revision: &str| {
        config(&stages(
            "api1",
            "r1",
            &format!(
                "[rest_apis.orders.stages.prod.canary]\nrevision = \"{revision}\"\npercent_traffic = 5.0\n"
            ),
        ))
    };
    let run = apply_config(&aws, &with_canary("r2"), None).await;
    assert!(run.report.succeeded());
    let deployments = aws.count("CreateDeployment");
    // r1 is known: the canary is re-pointed with UpdateStage, no deployment.
    let run = apply_config(&aws, &with_canary("r1"), Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), deployments);
    assert_converged(&aws, &with_canary("r1"), &run.report.state);
    // Removed: remove /canarySettings, the stage untouched.
    let plain = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &plain, Some(run.report.state)).await;
    assert!(run.report.succeeded());
    assert!(aws.stage("api1", "prod").unwrap().canary.is_none());
    assert_converged(&aws, &plain, &run.report.state);
}

/// A promotion or canary removal whose answer is lost is read back before it is sent again:
/// AWS refuses a second one (no canary left), which failed the change.
#[tokio::test(start_paused = true)]
async fn a_promotion_or_removal_whose_answer_was_lost_is_read_back_not_resent() {
    let aws = FakeAws::new();
    let with_canary = |stage_revision: &str, canary: bool| {
        let block = if canary {
            "[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 5.0\n"
        } else {
            ""
        };
        config(&stages("api1", "r1", block).replacen(
            "[rest_apis.orders.stages.prod]\nrevision = \"r1\"",
            &format!("[rest_apis.orders.stages.prod]\nrevision = \"{stage_revision}\""),
            1,
        ))
    };
    let run = apply_config(&aws, &with_canary("r1", true), None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let canary_deployment = run
        .report
        .state
        .deployment_of("api1", "r2")
        .unwrap()
        .to_string();

    // Promotion (prod takes r2, the canary block goes): its answer is lost once.
    aws.lose_answers("UpdateStage", 1);
    let updates = aws.count("UpdateStage");
    let promoted = with_canary("r2", false);
    let run = apply_config(&aws, &promoted, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(
        aws.count("UpdateStage"),
        updates + 1,
        "sent once, read back"
    );
    let prod = aws.stage("api1", "prod").unwrap();
    assert_eq!(
        prod.deployment_id.as_deref(),
        Some(canary_deployment.as_str())
    );
    assert_converged(&aws, &promoted, &run.report.state);

    // A canary removed without promotion, its answer lost once.
    let run = apply_config(&aws, &with_canary("r1", true), Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    aws.lose_answers("UpdateStage", 1);
    let updates = aws.count("UpdateStage");
    let plain = with_canary("r1", false);
    let run = apply_config(&aws, &plain, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(
        aws.count("UpdateStage"),
        updates + 1,
        "sent once, read back"
    );
    assert!(aws.stage("api1", "prod").unwrap().canary.is_none());
    assert_converged(&aws, &plain, &run.report.state);
}

pub(super) fn many_stages(apis: usize, per_api: usize, revision: &str) -> Config {
    let mut text = String::new();
    for api in 0..apis {
        text.push_str(&format!("[rest_apis.a{api}]\nid = \"id{api}\"\n"));
        for stage in 0..per_api {
            text.push_str(&format!(
                "[rest_apis.a{api}.stages.s{stage}]\nrevision = \"{revision}\"\nvariables = {{ n = \"v{stage}\" }}\n"
            ));
        }
    }
    config(&text)
}

#[tokio::test(start_paused = true)]
async fn create_deployments_are_spaced_by_the_quota_and_finish_as_early_as_it_allows() {
    let aws = FakeAws::new();
    // Six APIs of two stages: one snapshot per API, each stage created on it.
    let cfg = many_stages(6, 2, "r1");
    let started = tokio::time::Instant::now();
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded());
    let times: Vec<_> = aws
        .calls()
        .into_iter()
        .filter(|call| call.operation == "CreateDeployment")
        .map(|call| call.at)
        .collect();
    assert_eq!(times.len(), 6);
    assert_eq!(aws.count("CreateStage"), 12);
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_secs(5),
            "{:?}",
            pair[1] - pair[0]
        );
    }
    // (N-1) x interval, plus the margin and the calls' own latency.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(25), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(25_500), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn calls_to_one_rest_api_never_overlap_but_apis_proceed_in_parallel() {
    let aws = FakeAws::new();
    let run = apply_config(&aws, &many_stages(2, 5, "r1"), None).await;
    let state = run.report.state;
    // Settings changes only (UpdateStage, no quota): ten stages, two APIs.
    let mut options = options();
    options.parallelism = 10;
    let cfg = config(&String::from_utf8(
        (0..2)
            .flat_map(|api| {
                let mut text = format!("[rest_apis.a{api}]\nid = \"id{api}\"\n");
                for stage in 0..5 {
                    text.push_str(&format!(
                        "[rest_apis.a{api}.stages.s{stage}]\nrevision = \"r1\"\nvariables = {{ n = \"changed{stage}\" }}\n"
                    ));
                }
                text.into_bytes()
            })
            .collect(),
    )
    .unwrap());
    let started = tokio::time::Instant::now();
    let run = apply_with(
        &aws,
        &cfg,
        Some(state),
        &options,
        MemoryJournal::default(),
        &[],
    )
    .await;
    assert!(run.report.succeeded());
    assert_eq!(*aws.overlapping.lock().unwrap(), 0);
    // Five calls of 10 ms per API, the two APIs side by side.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(50) && elapsed < Duration::from_millis(90),
        "{elapsed:?}"
    );
}

/// Guards that the backoff waits at least as long as AWS's `Retry-After` (it ignored it: the
/// first retry's backoff is at most the 200 ms base).
#[tokio::test(start_paused = true)]
async fn a_retry_waits_at_least_what_aws_asked() {
    let aws = FakeAws::new();
    let throttled = ProviderError::new(
        ErrorKind::Throttled,
        Some("TooManyRequestsException"),
        "slow down",
    )
    .with_retry_after(Some(Duration::from_secs(7)));
    aws.fail("CreateDeployment", throttled, 1);
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let delays: Vec<Duration> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays, vec![Duration::from_secs(7)]);
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried_and_others_fail_only_what_depends_on_them() {
    let aws = FakeAws::new();
    let throttled = ProviderError::new(
        ErrorKind::Throttled,
        Some("TooManyRequestsException"),
        "slow down",
    );
    aws.fail("CreateDeployment", throttled, 2);
    aws.fail(
        "CreateDeployment",
        ProviderError::new(
            ErrorKind::Conflict,
            Some("ConflictException"),
            "Please try again later.",
        ),
        1,
    );
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let retries = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert_eq!(retries, 3);

    // A permanent error fails staging at once; prod (which depends on it) is skipped; another
    // API's stage is applied.
    let aws = FakeAws::new();
    aws.fail(
        "CreateStage",
        ProviderError::new(
            ErrorKind::Permanent,
            Some("BadRequestException"),
            "Invalid stage variable value",
        ),
        1,
    );
    let text = format!(
        "{}\n[rest_apis.other]\nid = \"api2\"\n[rest_apis.other.stages.solo]\nrevision = \"r1\"\n",
        stages("api1", "r1", "")
    );
    let cfg = config(&text);
    let mut options = options();
    options.parallelism = 1;
    let run = apply_with(&aws, &cfg, None, &options, MemoryJournal::default(), &[]).await;
    assert!(!run.report.succeeded());
    let outcome = |address: &str| {
        run.report
            .results
            .iter()
            .find(|r| r.address.to_string() == address)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome("rest_apis.orders.stages.staging"),
        Outcome::Failed {
            error: "CreateStage failed: BadRequestException: Invalid stage variable value"
                .to_string()
        }
    );
    assert_eq!(
        outcome("rest_apis.orders.stages.prod"),
        Outcome::Skipped {
            cause: Address::parse("rest_apis.orders.stages.staging").unwrap()
        }
    );
    assert_eq!(outcome("rest_apis.other.stages.solo"), Outcome::Applied);
    assert_eq!(aws.count("CreateDeployment"), 2);
    assert!(
        run.report
            .state
            .resources
            .contains_key(&Address::parse("rest_apis.other.stages.solo").unwrap())
    );

    // Throttling that never ends stops at max_attempts.
    let aws = FakeAws::new();
    aws.fail(
        "CreateDeployment",
        ProviderError::new(ErrorKind::Throttled, None, "slow"),
        100,
    );
    let cfg = config("[rest_apis.x]\nid = \"i\"\n[rest_apis.x.stages.s]\nrevision = \"1\"\n");
    let run = apply_config(&aws, &cfg, None).await;
    assert!(!run.report.succeeded());
    assert_eq!(aws.count("CreateDeployment"), 8);
}

#[tokio::test(start_paused = true)]
async fn the_journal_replays_to_the_reported_state_and_holds_no_secret() {
    let aws = FakeAws::new();
    let cfg = config(&stages(
        "api1",
        "r1",
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 5.0\nvariable_overrides = { secret = { env = \"NEXT_KEY\" } }\n",
    ));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let (replayed, report) = replay(None, &run.journal).unwrap();
    assert_eq!(replayed, run.report.state);
    assert!(report.interrupted.is_empty());
    let text: String = run
        .journal
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(!text.contains("value-of-"), "{text}");
    assert!(!run.report.state.to_json().unwrap().contains("value-of-"));
    assert!(!format!("{:?}", run.events).contains("value-of-"));
    // A journal already folded (a crash before its removal) replays to the same state.
    let mut newer = run.report.state.clone();
    newer.serial = 7;
    let (same, report) = replay(Some(newer.clone()), &run.journal).unwrap();
    assert_eq!(same, newer);
    assert!(report.interrupted.is_empty());
}

/// Cuts a run off after every possible journal entry, replays what was written, and applies
/// again: each time AWS and the state converge, and at most the one interrupted operation is
/// repeated.
#[tokio::test(start_paused = true)]
async fn a_run_cut_off_at_any_point_converges_on_the_next() {
    let cfg = many_stages(2, 3, "r1");
    let next = many_stages(2, 3, "r2");
    let full = {
        let aws = FakeAws::new();
        let first = apply_config(&aws, &cfg, None).await;
        let second = apply_config(&aws, &next, Some(first.report.state)).await;
        second.journal.len()
    };
    for cut in 1..full {
        let aws = FakeAws::new();
        let first = apply_config(&aws, &cfg, None).await;
        let base = first.report.state;
        let deployments = aws.count("CreateDeployment");
        let journal = MemoryJournal {
            fail_after: Some(cut),
            ..MemoryJournal::default()
        };
        let crashed = apply_with(&aws, &next, Some(base.clone()), &options(), journal, &[]).await;
        assert!(crashed.report.journal_error.is_some());
        let (state, replayed) = replay(Some(base), &crashed.journal).unwrap();
        let in_doubt = replayed
            .interrupted
            .iter()
            .filter(|op| op.call == Call::CreateDeployment)
            .count();
        assert!(in_doubt <= 1, "cut {cut}: {:?}", replayed.interrupted);
        let resumed = apply_with(
            &aws,
            &next,
            Some(state),
            &options(),
            MemoryJournal::default(),
            &replayed.interrupted,
        )
        .await;
        assert!(
            resumed.report.succeeded(),
            "cut {cut}: {:?}",
            resumed.report.results
        );
        assert_converged(&aws, &next, &resumed.report.state);
        // Two APIs moved to r2: two snapshots; an interrupted one is found again by its
        // marker, never made twice.
        let made = aws.count("CreateDeployment") - deployments;
        assert_eq!(made, 2, "cut {cut}: {made} deployments");
    }
    // Creating from nothing, cut anywhere: an interrupted create is adopted, never repeated.
    let full = apply_config(&FakeAws::new(), &cfg, None)
        .await
        .journal
        .len();
    for cut in 1..full {
        let aws = FakeAws::new();
        let journal = MemoryJournal {
            fail_after: Some(cut),
            ..MemoryJournal::default()
        };
        let crashed = apply_with(&aws, &cfg, None, &options(), journal, &[]).await;
        let (state, replayed) = replay(None, &crashed.journal).unwrap();
        let resumed = apply_with(
            &aws,
            &cfg,
            Some(state),
            &options(),
            MemoryJournal::default(),
            &replayed.interrupted,
        )
        .await;
        assert!(
            resumed.report.succeeded(),
            "cut {cut}: {:?}",
            resumed.report.results
        );
        assert_converged(&aws, &cfg, &resumed.report.state);
        // One snapshot per API; a stage is created once (adopted if its create was cut).
        assert_eq!(aws.count("CreateDeployment"), 2, "cut {cut}");
        assert_eq!(aws.deployments("id0").len(), 1, "cut {cut}");
        assert_eq!(aws.deployments("id1").len(), 1, "cut {cut}");
        assert_eq!(aws.count("CreateStage"), 6, "cut {cut}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_starts_nothing_more() {
    let aws = FakeAws::new();
    let cfg = many_stages(1, 3, "r1");
    let plan = make_plan(&cfg, None).unwrap();
    let secrets = stagecraft_config::resolve_secrets(&cfg, &TestHost).unwrap();
    let sensitive = SensitiveValues::new(&cfg, &secrets);
    let interrupt = Interrupt::default();
    let journal = MemoryJournal::default();
    // All three start at once; the first CreateDeployment goes out at once, the other two wait
    // for the quota and are not sent once the interrupt comes (as the first one finishes).
    let opts = options();
    let sink = |event: Event| {
        if matches!(event, Event::Finished { .. }) {
            interrupt.trigger();
        }
    };
    let ctx = Context {
        provider: &aws,
        journal: &journal,
        artifacts: &FakeArtifacts,
        events: &sink,
        sensitive: &sensitive,
        in_doubt: &[],
        options: &opts,
        interrupt: &interrupt,
        run_id: "run1",
        clock: &TokioClock::starting_at(crate::state::Timestamp::from_millis(T0)),
    };
    let report = apply(&plan, None, &ctx).await;
    let outcomes: Vec<_> = report.results.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Applied, Outcome::NotStarted, Outcome::NotStarted]
    );
    assert_eq!(aws.count("CreateDeployment"), 1);
}

pub(super) const BRANCH: &str = r#"
[rest_apis.orders]
id = "api1"
[rest_apis.orders.stages.prod]
revision = "r1"
[amplify_apps.web]
id = "app1"
[amplify_apps.web.branches."feature/x"]
stage = "BETA"
environment = { API_URL = "${rest_apis.orders.stages.prod.invoke_url}", DEPLOYED = "${rest_apis.orders.stages.prod.deployment_id}" }
basic_auth = { username = "preview", password = { env = "WEB_PASSWORD" } }
artifact = "dist"
"#;

#[tokio::test(start_paused = true)]
async fn branches_deploy_their_artifact_after_the_stage_they_refer_to() {
    let aws = FakeAws::new();
    let cfg = config(BRANCH);
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let branch = aws.branch("app1", "feature/x").unwrap();
    let deployment = aws.stage("api1", "prod").unwrap().deployment_id.unwrap();
    assert_eq!(branch.environment["DEPLOYED"], deployment);
    assert_eq!(
        branch.environment["API_URL"],
        "https://api1.execute-api.us-east-1.amazonaws.com/prod"
    );
    assert!(branch.basic_auth_enabled);
    assert_eq!(aws.uploads(), 1);
    assert_converged(&aws, &cfg, &run.report.state);
    assert!(!run.report.state.to_json().unwrap().contains("value-of-"));
    // Unchanged content: nothing to do.
    let calls = aws.mutating_calls();
    let again = apply_config(&aws, &cfg, Some(run.report.state.clone())).await;
    assert!(again.report.results.is_empty());
    assert_eq!(aws.mutating_calls(), calls);
    // Settings change: UpdateBranch only.
    let changed = config(&BRANCH.replace("BETA", "PRODUCTION"));
    let run = apply_config(&aws, &changed, Some(run.report.state)).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.uploads(), 1);
    assert_eq!(
        aws.branch("app1", "feature/x").unwrap().stage.as_deref(),
        Some("PRODUCTION")
    );
    assert_converged(&aws, &changed, &run.report.state);
}

/// Packages whose zip reports a size just over Amplify's limit (no such file is written).
struct OversizedArtifacts;

impl Artifacts for OversizedArtifacts {
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, PackageError> {
        let mut package = FakeArtifacts.package(artifact)?;
        package.size = branch::AMPLIFY_MAX_ZIP_BYTES + 1;
        Ok(package)
    }
}

/// Guards that a zip over Amplify's 5 GiB limit fails its change before any of its calls
/// (`CreateBranch` included): it used to be sent, for AWS to refuse after the upload began.
#[tokio::test(start_paused = true)]
async fn an_artifact_over_amplifys_limit_fails_before_any_deployment_call() {
    let aws = FakeAws::new();
    let cfg = config(BRANCH);
    let plan = make_plan(&cfg, None).unwrap();
    let secrets = stagecraft_config::resolve_secrets(&cfg, &TestHost).unwrap();
    let sensitive = SensitiveValues::new(&cfg, &secrets);
    let interrupt = Interrupt::default();
    let journal = MemoryJournal::default();
    let opts = options();
    let sink = |_: Event| {};
    let ctx = Context {
        provider: &aws,
        journal: &journal,
        artifacts: &OversizedArtifacts,
        events: &sink,
        sensitive: &sensitive,
        in_doubt: &[],
        options: &opts,
        interrupt: &interrupt,
        run_id: "run1",
        clock: &TokioClock::starting_at(crate::state::Timestamp::from_millis(T0)),
    };
    let report = apply(&plan, None, &ctx).await;
    let failure = report
        .results
        .iter()
        .find(|r| r.address.to_string().contains("feature"))
        .unwrap();
    match &failure.outcome {
        Outcome::Failed { error } => assert_eq!(
            error,
            "the artifact dist zips to 5368709121 bytes, more than the 5368709120 bytes (5 GiB) Amplify takes for a manual deployment"
        ),
        other => panic!("{other:?}"),
    }
    // Not even the branch is created: the zip is checked before any call of its change.
    for operation in [
        "GetApp",
        "CreateBranch",
        "ListJobs",
        "CreateAmplifyDeployment",
    ] {
        assert_eq!(aws.count(operation), 0, "{operation}");
    }
    assert_eq!(aws.uploads(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_reported_and_its_digest_not_recorded() {
    let aws = FakeAws::new();
    *aws.fail_jobs.lock().unwrap() = true;
    let cfg = config(BRANCH);
    let run = apply_config(&aws, &cfg, None).await;
    let failure = run
        .report
        .results
        .iter()
        .find(|r| r.address.to_string().contains("feature"))
        .unwrap();
    match &failure.outcome {
        Outcome::Failed { error } => {
            assert!(
                error.contains("FAILED") && error.contains("index.html is missing"),
                "{error}"
            )
        }
        other => panic!("{other:?}"),
    }
    let plan = make_plan(&cfg, Some(&run.report.state)).unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].actions, vec![Action::ArtifactDeploy]);
}

/// An Amplify deployment cut anywhere, then applied again: a job the cut run created and never
/// started is stopped (it would block every later deployment), and the branch converges.
#[tokio::test(start_paused = true)]
async fn an_amplify_deployment_cut_anywhere_converges() {
    let cfg = config(BRANCH);
    let full = apply_config(&FakeAws::new(), &cfg, None)
        .await
        .journal
        .len();
    let mut stopped = 0;
    for cut in 1..full {
        let aws = FakeAws::new();
        let journal = MemoryJournal {
            fail_after: Some(cut),
            ..MemoryJournal::default()
        };
        let crashed = apply_with(&aws, &cfg, None, &options(), journal, &[]).await;
        let (state, replayed) = replay(None, &crashed.journal).unwrap();
        let mut opts = options();
        opts.job_timeout = Duration::from_secs(60);
        let resumed = apply_with(
            &aws,
            &cfg,
            Some(state),
            &opts,
            MemoryJournal::default(),
            &replayed.interrupted,
        )
        .await;
        assert!(
            resumed.report.succeeded(),
            "cut {cut}: {:?}",
            resumed.report.results
        );
        assert_converged(&aws, &cfg, &resumed.report.state);
        stopped += aws.count("StopJob");
    }
    assert!(stopped > 0, "no cut left a job created and never started");
}

/// A canary's removal cut anywhere: a removal that went through is recorded, not sent again
/// (AWS refuses to remove a canary that is not there).
#[tokio::test(start_paused = true)]
async fn a_canary_removal_cut_anywhere_converges() {
    let with = config(&stages(
        "api1",
        "r1",
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 5.0\n",
    ));
    let without = config(&stages("api1", "r1", ""));
    let full = {
        let aws = FakeAws::new();
        let first = apply_config(&aws, &with, None).await;
        apply_config(&aws, &without, Some(first.report.state))
            .await
            .journal
            .len()
    };
    for cut in 1..full {
        let aws = FakeAws::new();
        let base = apply_config(&aws, &with, None).await.report.state;
        let journal = MemoryJournal {
            fail_after: Some(cut),
            ..MemoryJournal::default()
        };
        let crashed =
            apply_with(&aws, &without, Some(base.clone()), &options(), journal, &[]).await;
        let (state, replayed) = replay(Some(base), &crashed.journal).unwrap();
        let resumed = apply_with(
            &aws,
            &without,
            Some(state),
            &options(),
            MemoryJournal::default(),
            &replayed.interrupted,
        )
        .await;
        assert!(
            resumed.report.succeeded(),
            "cut {cut}: {:?}",
            resumed.report.results
        );
        assert_converged(&aws, &without, &resumed.report.state);
    }
}

#[tokio::test(start_paused = true)]
async fn a_move_and_a_forget_are_applied_to_the_state_with_no_aws_call() {
    let aws = FakeAws::new();
    let before = config(
        "[rest_apis.api]\nid = \"api1\"\n[rest_apis.api.stages.old]\nrevision = \"r1\"\n\
         [rest_apis.api.stages.gone]\nrevision = \"r1\"\n",
    );
    let first = apply_config(&aws, &before, None).await;
    assert!(first.report.succeeded());
    let calls = aws.calls().len();
    let after = config(
        "[rest_apis.orders]\nid = \"api1\"\n[rest_apis.orders.stages.old]\nrevision = \"r1\"\n\
         [[moved]]\nfrom = \"rest_apis.api\"\nto = \"rest_apis.orders\"\n\
         [[removed]]\nfrom = \"rest_apis.api.stages.gone\"\ndestroy = false\n",
    );
    let run = apply_config(&aws, &after, Some(first.report.state.clone())).await;
    assert!(run.report.succeeded());
    assert_eq!(aws.calls().len(), calls, "no AWS call at all");
    assert!(run.report.changed, "the re-keyed state is written");
    let keys: Vec<String> = run
        .report
        .state
        .resources
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(keys, ["rest_apis.orders.stages.old"]);
    assert!(
        aws.stage("api1", "gone").is_some(),
        "forgotten, not deleted"
    );
}

/// A value known only at apply is held to AWS's rule once resolved: the change that would send
/// it fails with the rule's message and sends nothing; what it does not depend on is applied.
#[tokio::test(start_paused = true)]
async fn a_deferred_value_that_breaks_aws_rule_once_resolved_fails_its_change_unsent() {
    let aws = FakeAws::new();
    // 510 characters of text, then a deployment id: over the 512 of a stage variable value
    // only once the id is known.
    let long = "a".repeat(510);
    let cfg = config(&format!(
        "[rest_apis.a]\nid = \"id0\"\n\
         [rest_apis.a.stages.prod]\nrevision = \"r1\"\n\
         [rest_apis.a.stages.follower]\nrevision = \"r1\"\n\
         variables = {{ d = \"{long}-${{rest_apis.a.stages.prod.deployment_id}}\" }}\n\
         [rest_apis.a.stages.fits]\nrevision = \"r1\"\n\
         variables = {{ d = \"x${{rest_apis.a.stages.prod.deployment_id}}\" }}\n"
    ));
    let run = apply_config(&aws, &cfg, None).await;
    let outcome = |address: &str| {
        run.report
            .results
            .iter()
            .find(|r| r.address.to_string() == address)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome("rest_apis.a.stages.prod"), Outcome::Applied);
    assert_eq!(outcome("rest_apis.a.stages.fits"), Outcome::Applied);
    let Outcome::Failed { error } = outcome("rest_apis.a.stages.follower") else {
        panic!("{:?}", run.report.results);
    };
    assert!(
        error.starts_with("stage variable `d` (resolved to `aaaa"),
        "{error}"
    );
    assert!(
        error.contains("characters long; the limit is 512"),
        "{error}"
    );
    assert!(error.ends_with("; nothing was sent"), "{error}");
    // Nothing about the follower reached AWS.
    assert!(aws.stage("id0", "follower").is_none());
    assert!(
        aws.calls()
            .iter()
            .all(|call| !call.detail.contains("follower")),
        "{:?}",
        aws.calls().iter().map(|c| &c.detail).collect::<Vec<_>>()
    );
    assert!(
        !run.report
            .state
            .resources
            .keys()
            .any(|a| a.to_string().ends_with("follower"))
    );
}

mod import;
mod json_ui;

/// The fake's alarms answer as CloudWatch does: missing names are left out, a change set for a
/// later instant is seen only from then on, and more than 100 names are refused.
#[tokio::test(start_paused = true)]
async fn the_fake_reports_alarms_as_cloudwatch_does() {
    use crate::provider::{AlarmState, Provider};
    let aws = FakeAws::new();
    aws.set_alarm("orders-5xx", AlarmState::Ok, "fine");
    aws.set_alarm_at(
        tokio::time::Instant::now() + Duration::from_secs(5),
        "orders-5xx",
        AlarmState::Alarm,
        "Threshold Crossed",
    );
    let names = vec!["orders-5xx".to_string(), "missing".to_string()];
    let first = aws.describe_alarms(&names).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, AlarmState::Ok);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = aws.describe_alarms(&names).await.unwrap();
    assert!(later[0].state.is_alarm());
    assert_eq!(later[0].reason, "Threshold Crossed");
    let many: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    let refused = aws.describe_alarms(&many).await.unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("ValidationError"));
}

#[tokio::test(start_paused = true)]
async fn a_canary_created_with_its_stage_starts_its_rollout_at_the_first_step() {
    // Stage and canary in one CreateStage: the canary's record must carry its rollout (else
    // apply never drives it), and the canary takes the first step's traffic.
    let aws = FakeAws::new();
    let cfg = config(&stages(
        "api1",
        "r1",
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\n\
         [rest_apis.orders.stages.prod.canary.rollout]\nsteps = [7, 50]\nbake = \"10m\"\n\
         alarms = [\"orders-5xx\"]\n",
    ));
    let mut options = options();
    options.wait_rollouts = false;
    let run = apply_with(&aws, &cfg, None, &options, MemoryJournal::default(), &[]).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    // Two stages (staging, prod): prod's canary in prod's CreateStage, no UpdateStage.
    assert_eq!(aws.count("CreateStage"), 2);
    assert_eq!(aws.count("UpdateStage"), 0);
    let canary = run
        .report
        .state
        .resources
        .values()
        .find_map(|record| match record {
            ResourceState::Canary(canary) => Some(canary.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(canary.percent_traffic, 7.0);
    let rollout = canary.rollout.expect("the rollout is recorded");
    assert!(
        matches!(rollout.status, crate::state::RolloutStatus::Baking { .. }),
        "{rollout:?}"
    );
    assert_eq!(rollout.steps.len(), 1);
    assert_eq!(rollout.steps[0].percent, 7.0);
    let live = aws.stage("api1", "prod").unwrap();
    assert_eq!(live.canary.unwrap().percent_traffic, 7.0);
}
