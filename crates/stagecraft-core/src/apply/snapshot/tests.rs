//! One snapshot per (REST API, revision), ever: shared by the stages created at a revision,
//! the one a rollback goes back to, and found again (not made twice) when a `CreateDeployment`
//! or `CreateStage` answer is lost.
#![allow(clippy::unwrap_used)]

use super::super::fake::FakeAws;
use super::super::tests::{apply_config, assert_converged, many_stages, stages};
use crate::test_support::config;

/// Ten new stages of one API at one revision: one `CreateDeployment`, ten `CreateStage`s on it.
#[tokio::test(start_paused = true)]
async fn ten_new_stages_at_one_revision_make_one_deployment() {
    let aws = FakeAws::new();
    let cfg = many_stages(1, 10, "r1");
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), 1);
    assert_eq!(aws.count("CreateStage"), 10);
    let deployment = run.report.state.deployment_of("id0", "r1").unwrap();
    for stage in 0..10 {
        let live = aws.stage("id0", &format!("s{stage}")).unwrap();
        assert_eq!(live.deployment_id.as_deref(), Some(deployment));
    }
    // The snapshot's description names the revision first, then its marker.
    let description = &aws.deployments("id0")[deployment];
    assert!(description.starts_with("r1 (stagecraft "), "{description}");
    assert_converged(&aws, &cfg, &run.report.state);
}

/// Two stages created at r1 share r1's deployment; `staging` moved to r2 and rolled back goes
/// to exactly that deployment (it used to be re-pointed to whichever stage's deployment the
/// map kept last).
#[tokio::test(start_paused = true)]
async fn a_rollback_goes_back_to_the_deployment_its_revision_first_made() {
    let aws = FakeAws::new();
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let first = aws.stage("api1", "staging").unwrap().deployment_id.unwrap();
    assert_eq!(
        aws.stage("api1", "prod").unwrap().deployment_id.unwrap(),
        first
    );

    let staging_r2 =
        config(&stages("api1", "r1", "").replacen("revision = \"r1\"", "revision = \"r2\"", 1));
    let run = apply_config(&aws, &staging_r2, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_ne!(
        aws.stage("api1", "staging").unwrap().deployment_id.unwrap(),
        first
    );

    let run = apply_config(&aws, &cfg, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(
        aws.stage("api1", "staging").unwrap().deployment_id.unwrap(),
        first
    );
    assert_eq!(aws.count("CreateDeployment"), 2);
    assert_eq!(aws.deployments("api1").len(), 2);
    assert_converged(&aws, &cfg, &run.report.state);
}

/// A snapshot's `CreateDeployment` whose answer is lost is found by its marker with
/// `GetDeployments` instead of being sent again; so is a canary's on a new revision.
#[tokio::test(start_paused = true)]
async fn a_snapshot_whose_answer_was_lost_is_found_not_made_twice() {
    let aws = FakeAws::new();
    aws.lose_answers("CreateDeployment", 1);
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), 1, "sent once");
    assert_eq!(aws.count("GetDeployments"), 1, "looked for once");
    assert_eq!(aws.deployments("api1").len(), 1);
    assert_converged(&aws, &cfg, &run.report.state);

    // A redeploy's snapshot, lost once.
    aws.lose_answers("CreateDeployment", 1);
    let cfg = config(&stages("api1", "r2", ""));
    let run = apply_config(&aws, &cfg, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), 2);
    assert_eq!(aws.deployments("api1").len(), 2);
    assert_converged(&aws, &cfg, &run.report.state);

    // A canary on a revision not deployed yet (CreateDeployment with canarySettings), lost once.
    aws.lose_answers("CreateDeployment", 1);
    let cfg = config(&stages(
        "api1",
        "r2",
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r3\"\npercent_traffic = 5.0\n",
    ));
    let run = apply_config(&aws, &cfg, Some(run.report.state)).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateDeployment"), 3);
    assert_eq!(aws.deployments("api1").len(), 3);
    assert_converged(&aws, &cfg, &run.report.state);
}

/// A `CreateStage` whose answer is lost is read back (`GetStage`: there, on our snapshot) and
/// not sent again: sent twice, AWS would refuse the second with `ConflictException`.
#[tokio::test(start_paused = true)]
async fn a_create_stage_whose_answer_was_lost_is_read_back_not_resent() {
    let aws = FakeAws::new();
    aws.lose_answers("CreateStage", 2);
    let cfg = config(&stages("api1", "r1", ""));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateStage"), 2, "each stage sent once");
    assert_eq!(aws.count("CreateDeployment"), 1);
    assert_converged(&aws, &cfg, &run.report.state);
}
