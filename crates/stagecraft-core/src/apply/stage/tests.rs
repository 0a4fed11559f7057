//! A stage's own rules: an existing stage nobody recorded is refused, never taken over (also
//! after an interrupted create), and a new or resized cache is waited for until `AVAILABLE`.
#![allow(clippy::unwrap_used)]

use stagecraft_config::Address;

use super::super::fake::FakeAws;
use super::super::tests::{MemoryJournal, apply_config, apply_with, options, stages};
use super::super::{Call, Event, Interrupted, Outcome};
use crate::test_support::config;

/// A stage the plan creates that exists on AWS, made by someone else: refused with what AWS
/// has and the import command; AWS unchanged, nothing recorded, what depends on it skipped.
#[tokio::test(start_paused = true)]
async fn an_unrecorded_existing_stage_is_refused_with_the_import_command() {
    let aws = FakeAws::new();
    aws.put_foreign_stage("api1", "staging");
    let before = aws.stage("api1", "staging").unwrap();
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(!run.report.succeeded());
    let staging = Address::parse("rest_apis.orders.stages.staging").unwrap();
    let Outcome::Failed { error } = &run.report.results[0].outcome else {
        panic!("{:?}", run.report.results);
    };
    assert_eq!(run.report.results[0].address, staging);
    assert!(
        error.contains("stagecraft import rest_apis.orders.stages.staging"),
        "{error}"
    );
    assert!(
        error.contains(before.deployment_id.as_deref().unwrap()),
        "{error}"
    );
    assert!(error.contains("by hand"), "{error}");
    assert_eq!(aws.stage("api1", "staging").unwrap(), before);
    assert!(!run.report.state.resources.contains_key(&staging));
    assert!(matches!(
        run.report.results[1].outcome,
        Outcome::Skipped { .. }
    ));
}

/// A create in doubt from an earlier run finds a stage on a deployment that is not ours: it is
/// refused, not adopted.
#[tokio::test(start_paused = true)]
async fn a_create_in_doubt_does_not_adopt_a_stage_that_is_not_ours() {
    let aws = FakeAws::new();
    aws.put_foreign_stage("api1", "staging");
    let before = aws.stage("api1", "staging").unwrap();
    let staging = Address::parse("rest_apis.orders.stages.staging").unwrap();
    let in_doubt = [Interrupted {
        address: staging.clone(),
        call: Call::CreateStage,
        snapshot: None,
    }];
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_with(
        &aws,
        &cfg,
        None,
        &options(),
        MemoryJournal::default(),
        &in_doubt,
    )
    .await;
    let Outcome::Failed { error } = &run.report.results[0].outcome else {
        panic!("{:?}", run.report.results);
    };
    assert!(error.contains("stagecraft import"), "{error}");
    assert_eq!(aws.stage("api1", "staging").unwrap(), before);
    assert_eq!(aws.count("CreateStage"), 0);
    assert!(!run.report.state.resources.contains_key(&staging));
}

/// A new cache starts `CREATE_IN_PROGRESS` (as on AWS): apply polls until `AVAILABLE`.
#[tokio::test(start_paused = true)]
async fn a_new_cache_is_waited_for_until_available() {
    let aws = FakeAws::new();
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let waited = run.events.iter().any(|event| {
        matches!(event, Event::Progress { message, .. }
            if message == "cache cluster is CREATE_IN_PROGRESS; waiting")
    });
    assert!(waited, "{:?}", run.events);
    assert_eq!(
        aws.stage("api1", "staging").unwrap().cache_status,
        Some(crate::provider::CacheStatus::Available)
    );
    // Resized: the cache is made anew and waited for again.
    let resized = config(&stages("api1", "r1", "").replace("\"0.5\"", "\"1.6\""));
    let reads = aws.count("GetStage");
    let run = apply_config(&aws, &resized, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert!(aws.count("GetStage") >= reads + 2, "polled until AVAILABLE");
    assert_eq!(
        aws.stage("api1", "staging").unwrap().cache_status,
        Some(crate::provider::CacheStatus::Available)
    );
}

/// A new stage with a new canary: both revisions' snapshots first, then one `CreateStage` with
/// `canarySettings` naming the canary's deployment; the canary's own change sends nothing.
#[tokio::test(start_paused = true)]
async fn a_new_stage_and_its_canary_are_one_create_stage() {
    let aws = FakeAws::new();
    let cfg = config(&stages(
        "api1",
        "r1",
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 5.0\nvariable_overrides = { backend = \"next\" }\n",
    ));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(
        aws.count("CreateDeployment"),
        2,
        "one snapshot per revision"
    );
    assert_eq!(aws.count("CreateStage"), 2);
    assert_eq!(aws.count("UpdateStage"), 0);
    let state = &run.report.state;
    let live = aws.stage("api1", "prod").unwrap();
    assert_eq!(
        live.deployment_id.as_deref(),
        state.deployment_of("api1", "r1")
    );
    let canary = live.canary.unwrap();
    assert_eq!(
        canary.deployment_id.as_deref(),
        state.deployment_of("api1", "r2")
    );
    assert_eq!(canary.percent_traffic, 5.0);
    assert_eq!(canary.variable_overrides["backend"], "next");
    super::super::tests::assert_converged(&aws, &cfg, state);
}
