//! A branch's change against the in-memory AWS of `fake.rs`: the branch URL AWS's display name
//! makes, a stopped job waited out of `CANCELLING`, and calls whose answers were lost read back
//! before they are sent again.
#![allow(clippy::unwrap_used)]

use stagecraft_config::Address;

use super::super::fake::FakeAws;
use super::super::tests::{
    BRANCH, MemoryJournal, apply_config, apply_with, assert_converged, options,
};
use super::super::{Call, Interrupted, Outcome};
use crate::plan::{Desired, PlannedValue};
use crate::provider::{JobStatus, LiveBranch};
use crate::state::{ResourceState, State};
use crate::test_support::{config, make_plan};

const APP: &str = "app1";
const NAME: &str = "feature/x";

fn address() -> Address {
    Address::parse(r#"amplify_apps.web.branches."feature/x""#).unwrap()
}

/// The error the branch's change failed with (panics when it did not fail).
fn branch_error(run: &super::super::tests::Applied) -> String {
    let result = run.report.results.iter().find(|r| r.address == address());
    match result.map(|result| &result.outcome) {
        Some(Outcome::Failed { error }) => error.clone(),
        other => panic!("{other:?}"),
    }
}

fn branch_of(state: &State) -> crate::state::BranchState {
    match state.resources.get(&address()) {
        Some(ResourceState::Branch(branch)) => branch.clone(),
        other => panic!("{other:?}"),
    }
}

/// A stage whose variable is the branch's URL, and the branch it refers to.
const SITE: &str = r#"
[rest_apis.orders]
id = "api1"
[rest_apis.orders.stages.prod]
revision = "r1"
variables = { SITE = '${amplify_apps.web.branches."feature/x".url}' }
[amplify_apps.web]
id = "app1"
[amplify_apps.web.branches."feature/x"]
stage = "BETA"
"#;

fn prod() -> Address {
    Address::parse("rest_apis.orders.stages.prod").unwrap()
}

/// The URL is AWS's: the display name it answers (`feature/x` reads `feature-x`) under the
/// app's domain from `GetApp`; recorded in the state and given to `${...url}`, which the plan
/// defers while the branch is not recorded.
#[tokio::test(start_paused = true)]
async fn the_branch_url_is_the_display_name_aws_answers_under_the_apps_domain() {
    let aws = FakeAws::new();
    let cfg = config(SITE);
    let plan = make_plan(&cfg, None).unwrap();
    let stage = plan.changes.iter().find(|c| c.address == prod()).unwrap();
    let Some(Desired::Stage(desired)) = &stage.after else {
        panic!("{stage:?}")
    };
    assert!(
        matches!(desired.variables["SITE"], PlannedValue::Deferred { .. }),
        "{:?}",
        desired.variables["SITE"]
    );
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let url = "https://feature-x.app1.amplifyapp.com";
    assert_eq!(branch_of(&run.report.state).url.as_deref(), Some(url));
    assert_eq!(aws.stage("api1", "prod").unwrap().variables["SITE"], url);
    assert_eq!(aws.count("GetApp"), 1);
    assert_converged(&aws, &cfg, &run.report.state);
}

/// A display name AWS has that is not the name's (set by hand, or by another tool) is the one
/// recorded and referred to: nothing rebuilds the URL from the branch's name.
#[tokio::test(start_paused = true)]
async fn a_display_name_of_awss_own_makes_the_url() {
    let aws = FakeAws::new();
    aws.put_branch(
        APP,
        LiveBranch {
            branch_name: NAME.to_string(),
            display_name: "shop".to_string(),
            ..LiveBranch::default()
        },
    );
    let cfg = config(SITE);
    // An interrupted create of ours made it: taken over with UpdateBranch.
    let in_doubt = [Interrupted {
        address: address(),
        call: Call::CreateBranch,
        snapshot: None,
    }];
    let run = apply_with(
        &aws,
        &cfg,
        None,
        &options(),
        MemoryJournal::default(),
        &in_doubt,
    )
    .await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let url = "https://shop.app1.amplifyapp.com";
    assert_eq!(branch_of(&run.report.state).url.as_deref(), Some(url));
    assert_eq!(aws.stage("api1", "prod").unwrap().variables["SITE"], url);
    // The plan resolves `${...url}` from the record: it agrees with what was applied.
    assert_converged(&aws, &cfg, &run.report.state);
}

/// A record written before URLs were recorded still resolves `${...url}` (to the URL AWS gives
/// a branch whose display name was never set) instead of failing the plan.
#[tokio::test(start_paused = true)]
async fn a_record_without_a_url_resolves_to_the_default_display_name() {
    let aws = FakeAws::new();
    let cfg = config(SITE);
    let run = apply_config(&aws, &cfg, None).await;
    let mut state = run.report.state;
    if let Some(ResourceState::Branch(branch)) = state.resources.get_mut(&address()) {
        branch.url = None;
    }
    let json = state.to_json().unwrap();
    assert!(!json.contains("\"url\""), "{json}");
    let old = State::from_json(&json).unwrap();
    assert_eq!(branch_of(&old).url, None);
    let plan = make_plan(&cfg, Some(&old)).unwrap();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
}

/// After `StopJob` the job reads `CANCELLING` for a while, and Amplify refuses a new deployment
/// until it is `CANCELLED` (the fake refuses it too): apply waits it out.
#[tokio::test(start_paused = true)]
async fn a_stopped_job_is_waited_out_of_cancelling_before_the_next_deployment() {
    let aws = FakeAws::new();
    *aws.cancelling_reads.lock().unwrap() = 3;
    let cfg = config(BRANCH);
    let first = apply_config(&aws, &cfg, None).await;
    assert!(first.report.succeeded(), "{:?}", first.report.results);
    // The next deploy of the artifact was cut after CreateDeployment: no digest recorded, and a
    // job created and never started.
    let mut state = first.report.state;
    if let Some(ResourceState::Branch(branch)) = state.resources.get_mut(&address()) {
        branch.artifact_digest = None;
    }
    let stale = aws.put_job(APP, NAME, JobStatus::Pending);
    let in_doubt = [Interrupted {
        address: address(),
        call: Call::CreateAmplifyDeployment,
        snapshot: None,
    }];
    let run = apply_with(
        &aws,
        &cfg,
        Some(state),
        &options(),
        MemoryJournal::default(),
        &in_doubt,
    )
    .await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    let jobs = aws.jobs(APP, NAME);
    let statuses: Vec<(String, JobStatus)> = jobs
        .into_iter()
        .map(|job| (job.job_id, job.status))
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses[1], (stale.clone(), JobStatus::Cancelled));
    assert_eq!(statuses[2].1, JobStatus::Succeed);
    // Three reads saw it CANCELLING and a fourth CANCELLED, all before the new deployment.
    let calls = aws.calls();
    let created = calls
        .iter()
        .rposition(|call| call.operation == "CreateAmplifyDeployment")
        .unwrap();
    let reads = calls[..created]
        .iter()
        .filter(|call| call.operation == "GetJob" && call.detail == stale)
        .count();
    assert_eq!(reads, 4);
    assert_converged(&aws, &cfg, &run.report.state);
}

/// For each call of a branch that is not idempotent, its answer lost once (carried out, then a
/// timeout): apply reads back before sending again and converges with one branch and one live
/// job; a lost `CreateDeployment` leaves only a job it stopped (`CANCELLED`).
#[tokio::test(start_paused = true)]
async fn a_lost_answer_is_read_back_before_the_call_is_sent_again() {
    for (operation, creates, jobs) in [
        ("CreateBranch", 1, 1),
        ("CreateAmplifyDeployment", 2, 2),
        ("StartDeployment", 1, 1),
    ] {
        let aws = FakeAws::new();
        aws.lose_answers(operation, 1);
        let cfg = config(BRANCH);
        let run = apply_config(&aws, &cfg, None).await;
        assert!(
            run.report.succeeded(),
            "{operation}: {:?}",
            run.report.results
        );
        assert_eq!(aws.count("CreateBranch"), 1, "{operation}");
        assert_eq!(aws.count("CreateAmplifyDeployment"), creates, "{operation}");
        assert_eq!(aws.count("StartDeployment"), 1, "{operation}");
        let statuses: Vec<JobStatus> = aws
            .jobs(APP, NAME)
            .into_iter()
            .map(|job| job.status)
            .collect();
        assert_eq!(statuses.len(), jobs, "{operation}: {statuses:?}");
        assert_eq!(statuses.last(), Some(&JobStatus::Succeed), "{operation}");
        if jobs == 2 {
            assert_eq!(statuses[0], JobStatus::Cancelled, "{operation}");
        }
        assert_converged(&aws, &cfg, &run.report.state);
    }
}

/// A branch the plan creates that exists in Amplify, made by no apply of ours: refused with
/// what Amplify has and the import command; nothing is sent to it.
#[tokio::test(start_paused = true)]
async fn an_unrecorded_branch_that_exists_is_refused_with_the_import_command() {
    let aws = FakeAws::new();
    let theirs = LiveBranch {
        branch_name: NAME.to_string(),
        stage: Some("PRODUCTION".to_string()),
        description: Some("made by hand".to_string()),
        display_name: "feature-x".to_string(),
        ..LiveBranch::default()
    };
    aws.put_branch(APP, theirs.clone());
    let cfg = config(BRANCH);
    let run = apply_config(&aws, &cfg, None).await;
    assert_eq!(
        branch_error(&run),
        r#"branch feature/x already exists in Amplify (stage PRODUCTION, display name "feature-x", description "made by hand") and no apply of this state made it, so nothing was changed; to manage it with stagecraft, run `stagecraft import 'amplify_apps.web.branches."feature/x"'`"#
    );
    for operation in ["CreateBranch", "UpdateBranch", "CreateAmplifyDeployment"] {
        assert_eq!(aws.count(operation), 0, "{operation}");
    }
    assert_eq!(aws.branch(APP, NAME), Some(theirs));
    assert!(!run.report.state.resources.contains_key(&address()));
}

/// A `CreateBranch` whose answer was lost, read back to find a branch that is not as it was
/// sent (another hand made it in between): refused like any branch that is not ours, with what
/// Amplify has, and not sent again.
#[tokio::test(start_paused = true)]
async fn a_lost_create_that_finds_a_differing_branch_is_refused_not_resent() {
    let aws = FakeAws::new();
    aws.fail(
        "CreateBranch",
        crate::provider::ProviderError::new(
            crate::provider::ErrorKind::Transient,
            None,
            "connection reset",
        ),
        1,
    );
    let theirs = LiveBranch {
        branch_name: NAME.to_string(),
        stage: Some("DEVELOPMENT".to_string()),
        description: Some("made by hand".to_string()),
        display_name: "feature-x".to_string(),
        ..LiveBranch::default()
    };
    let cfg = config(BRANCH);
    let meddle = async {
        while aws.count("CreateBranch") == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        aws.put_branch(APP, theirs.clone());
    };
    let (run, ()) = tokio::join!(apply_config(&aws, &cfg, None), meddle);
    let error = branch_error(&run);
    assert!(
        error.starts_with("branch feature/x already exists in Amplify (stage DEVELOPMENT"),
        "{error}"
    );
    assert_eq!(aws.count("CreateBranch"), 1);
    assert_eq!(aws.count("CreateAmplifyDeployment"), 0);
    assert_eq!(aws.branch(APP, NAME), Some(theirs));
    assert!(!run.report.state.resources.contains_key(&address()));
}

/// Ten branches of one app, created concurrently: one `GetApp` for the app's domain, and every
/// branch's URL under it.
#[tokio::test(start_paused = true)]
async fn the_apps_domain_is_read_once_a_run() {
    let mut text = String::from("[amplify_apps.web]\nid = \"app1\"\n");
    for i in 0..10 {
        text.push_str(&format!(
            "[amplify_apps.web.branches.b{i}]\nstage = \"BETA\"\n"
        ));
    }
    let aws = FakeAws::new();
    let cfg = config(&text);
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded(), "{:?}", run.report.results);
    assert_eq!(aws.count("CreateBranch"), 10);
    assert_eq!(aws.count("GetApp"), 1);
    for i in 0..10 {
        let address = Address::parse(&format!("amplify_apps.web.branches.b{i}")).unwrap();
        let Some(ResourceState::Branch(branch)) = run.report.state.resources.get(&address) else {
            panic!("b{i}")
        };
        assert_eq!(
            branch.url.as_deref(),
            Some(format!("https://b{i}.app1.amplifyapp.com").as_str())
        );
    }
}
