//! One snapshot per (REST API, revision), ever, against LocalStack through the proxy: stages
//! created at one revision share one deployment, a rollback goes back to exactly the deployment
//! its revision first made, every non-idempotent call whose answer the proxy drops is read back
//! rather than made twice, and a stage nobody recorded is refused with the import command.

use stagecraft_testkit::localstack;

use crate::aws::{self, Proxied, stagecraft_at};
use crate::fleet::{self, StageSpec};
use crate::support::Run;

/// An apply that succeeded and shows no error, failure or retry.
fn assert_clean(what: &str, run: &Run) {
    assert_eq!(run.code, 0, "{what}:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Apply complete!"),
        "{what}: {}",
        run.stdout
    );
    for text in [&run.stdout, &run.stderr] {
        let lower = text.to_lowercase();
        for word in ["error", "failed", "warning"] {
            assert!(
                !lower.contains(word),
                "{what} shows {word:?}:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}

fn count(proxy: &Proxied, operation: &str) -> u64 {
    proxy.counts().get(operation).copied().unwrap_or(0)
}

/// Ten new stages of one API at one revision: one CreateDeployment, ten CreateStage, one
/// deployment on LocalStack; two stages moved apart and one rolled back goes to exactly the
/// deployment its revision first made.
#[test]
fn stages_at_one_revision_share_one_deployment_and_a_rollback_returns_to_it() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut apis = fleet::fleet(1, 10, |s| StageSpec::new(format!("s{s}"), "r1"));
    let api = apis[0].id.clone();
    fleet::write_config(dir.path(), "50ms", &apis);
    let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_clean("create", &run);
    assert_eq!(count(&proxy, "CreateDeployment"), 1, "{:?}", proxy.counts());
    assert_eq!(count(&proxy, "CreateStage"), 10, "{:?}", proxy.counts());
    assert_eq!(aws::deployments(&api), 1);
    fleet::assert_state_matches_aws(dir.path(), &apis);
    let first = aws::stage(&api, "s0").unwrap().deployment_id.unwrap();
    for stage in aws::stages(&api) {
        assert_eq!(stage.deployment_id(), Some(first.as_str()));
    }

    // s0 to r2 (one new snapshot), then back to r1: exactly r1's first deployment.
    apis[0].stages[0].revision = "r2".into();
    fleet::write_config(dir.path(), "50ms", &apis);
    assert_clean(
        "s0 to r2",
        &stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]),
    );
    assert_eq!(aws::deployments(&api), 2);
    apis[0].stages[0].revision = "r1".into();
    fleet::write_config(dir.path(), "50ms", &apis);
    assert_clean(
        "s0 back to r1",
        &stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]),
    );
    assert_eq!(
        aws::stage(&api, "s0").unwrap().deployment_id(),
        Some(first.as_str())
    );
    assert_eq!(aws::deployments(&api), 2);
    assert_eq!(count(&proxy, "CreateDeployment"), 2);
    fleet::assert_state_matches_aws(dir.path(), &apis);
}

fn canary_config(api: &str, stage_revision: &str, canary: Option<&str>) -> String {
    let mut text = format!(
        "[project]\nname = \"lost\"\nregion = \"us-east-1\"\n\n[aws]\ncreate_deployment_interval = \"50ms\"\n\n[rest_apis.orders]\nid = \"{api}\"\n\n[rest_apis.orders.stages.prod]\nrevision = \"{stage_revision}\"\n"
    );
    if let Some(revision) = canary {
        text.push_str(&format!(
            "\n[rest_apis.orders.stages.prod.canary]\nrevision = \"{revision}\"\npercent_traffic = 10.0\n"
        ));
    }
    text
}

/// Every non-idempotent API Gateway call, its answer dropped once by the proxy after
/// LocalStack carried it out: the snapshot's CreateDeployment, CreateStage, a canary's
/// CreateDeployment, the promotion and the canary's removal. Each apply converges without an
/// error shown, with no extra deployment and each call forwarded once.
#[test]
fn a_call_whose_answer_is_lost_is_read_back_not_made_twice() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let step = |what: &str, text: String, lose: &str, deployments: usize| {
        std::fs::write(dir.path().join("deploy.toml"), text).unwrap();
        proxy.reset_counts();
        proxy.lose_answer(lose, 1);
        let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
        assert_clean(what, &run);
        assert_eq!(
            proxy.lost_answers().get(lose).copied(),
            Some(1),
            "{what}: no answer was lost"
        );
        let sent = proxy.counts();
        assert_eq!(sent.get(lose).copied(), Some(1), "{what}: {sent:?}");
        assert_eq!(aws::deployments(&api), deployments, "{what}");
        let plan = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
        assert_eq!(plan.code, 0, "{what}: not converged:\n{}", plan.stdout);
        assert!(
            !dir.path().join("stagecraft.state.json.journal").exists(),
            "{what}: something stayed in doubt"
        );
    };
    // A new stage: the snapshot's answer lost, then (another API state) CreateStage's.
    step(
        "snapshot",
        canary_config(&api, "r1", None),
        "CreateDeployment",
        1,
    );
    let other = aws::new_api();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(
        second.path().join("deploy.toml"),
        canary_config(&other, "r1", None),
    )
    .unwrap();
    proxy.reset_counts();
    proxy.lose_answer("CreateStage", 1);
    let run = stagecraft_at(second.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_clean("CreateStage", &run);
    assert_eq!(proxy.lost_answers().get("CreateStage").copied(), Some(1));
    assert_eq!(count(&proxy, "CreateStage"), 1, "{:?}", proxy.counts());
    assert_eq!(aws::deployments(&other), 1);
    assert!(aws::stage(&other, "prod").is_some());

    // A canary on a new revision (CreateDeployment with canarySettings), its answer lost.
    step(
        "canary",
        canary_config(&api, "r1", Some("r2")),
        "CreateDeployment",
        2,
    );
    let canary_deployment = aws::stage(&api, "prod")
        .unwrap()
        .canary_settings()
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_string();
    // The promotion (prod takes r2, the canary goes), its answer lost.
    step(
        "promotion",
        canary_config(&api, "r2", None),
        "UpdateStage",
        2,
    );
    let live = aws::stage(&api, "prod").unwrap();
    assert!(live.canary_settings().is_none());
    assert_eq!(live.deployment_id(), Some(canary_deployment.as_str()));
    // Another canary, then removed without promotion: the removal's answer lost.
    std::fs::write(
        dir.path().join("deploy.toml"),
        canary_config(&api, "r2", Some("r3")),
    )
    .unwrap();
    assert_clean(
        "canary on r3",
        &stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]),
    );
    step("removal", canary_config(&api, "r2", None), "UpdateStage", 3);
    assert!(
        aws::stage(&api, "prod")
            .unwrap()
            .canary_settings()
            .is_none()
    );
}

/// A stage made with the SDK, which no apply of this state made: apply refuses it with the
/// import command, exit 1, and LocalStack's stage is as it was.
#[test]
fn an_unrecorded_existing_stage_is_refused_with_the_import_command() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let client = localstack::apigateway_client(&aws::endpoint(), localstack::REGION);
    let runtime = aws::runtime();
    let get = || {
        runtime
            .block_on(
                client
                    .get_stage()
                    .rest_api_id(&api)
                    .stage_name("prod")
                    .send(),
            )
            .unwrap()
    };
    runtime
        .block_on(
            client
                .create_deployment()
                .rest_api_id(&api)
                .stage_name("prod")
                .description("by hand")
                .send(),
        )
        .unwrap();
    let before = get();
    std::fs::write(
        dir.path().join("deploy.toml"),
        canary_config(&api, "r1", None),
    )
    .unwrap();
    let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let stderr = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stderr.contains("`stagecraft import rest_apis.orders.stages.prod`"),
        "{}",
        run.stderr
    );
    assert!(
        stderr.contains(before.deployment_id().unwrap()),
        "{}",
        run.stderr
    );
    let after = get();
    assert_eq!(after.deployment_id(), before.deployment_id());
    assert_eq!(after.description(), before.description());
    assert_eq!(after.variables(), before.variables());
    assert_eq!(after.last_updated_date(), before.last_updated_date());
    assert_eq!(count(&proxy, "UpdateStage"), 0, "{:?}", proxy.counts());
    // Imported, it is stagecraft's.
    let imported = stagecraft_at(
        dir.path(),
        &via,
        &["import", "rest_apis.orders.stages.prod"],
        &[],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
}

/// A CreateStage whose only attempt (`max_attempts = 1`) lost its answer ends the apply with an
/// error, and the call stays in doubt in the journal (docs/behaviour.md, "Apply, journal and
/// interruption"): the next apply says so, reads the stage back and adopts it, with no second
/// CreateStage and no second deployment.
#[test]
fn a_call_that_ended_in_doubt_is_carried_to_the_next_apply() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let text = canary_config(&api, "r1", None).replace(
        "create_deployment_interval = \"50ms\"\n",
        "create_deployment_interval = \"50ms\"\nmax_attempts = 1\n",
    );
    std::fs::write(dir.path().join("deploy.toml"), text).unwrap();
    proxy.lose_answer("CreateStage", 1);
    let first = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    // The lost answer is named by its causes, not by the SDK's Debug dump.
    assert!(
        first.stderr.contains("CreateStage could not reach AWS")
            && !first.stderr.contains("DispatchFailure")
            && !first.stderr.contains('{'),
        "{}",
        first.stderr
    );
    assert!(
        dir.path().join("stagecraft.state.json.journal").exists(),
        "the CreateStage in doubt was not carried:\n{}",
        first.stderr
    );

    let second = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains(
            "the last apply was cut off during CreateStage for rest_apis.orders.stages.prod"
        ),
        "{}",
        second.stderr
    );
    assert_eq!(count(&proxy, "CreateStage"), 1, "{:?}", proxy.counts());
    assert_eq!(aws::deployments(&api), 1);
    assert!(!dir.path().join("stagecraft.state.json.journal").exists());
    let plan = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 0, "not converged:\n{}", plan.stdout);
}

/// A canary pointed at a revision the API already has (staging's): no new deployment, one
/// `UpdateStage` re-pointing `/canarySettings/deploymentId` to exactly that deployment. Through
/// the proxy, which relays LocalStack's string `useStageCache` as AWS's boolean.
#[test]
fn a_canary_on_a_known_revision_is_re_pointed_to_its_deployment() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let two_stages = canary_config(&api, "r1", None)
        + "\n[rest_apis.orders.stages.staging]\nrevision = \"r2\"\n";
    std::fs::write(dir.path().join("deploy.toml"), &two_stages).unwrap();
    assert_clean(
        "two stages",
        &stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]),
    );
    let staging = aws::stage(&api, "staging").unwrap();
    let r2 = staging.deployment_id().unwrap().to_string();

    let with_canary = two_stages
        + "\n[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 10.0\n";
    std::fs::write(dir.path().join("deploy.toml"), with_canary).unwrap();
    proxy.reset_counts();
    let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_clean("canary on r2", &run);
    assert_eq!(count(&proxy, "CreateDeployment"), 0, "{:?}", proxy.counts());
    assert_eq!(count(&proxy, "UpdateStage"), 1, "{:?}", proxy.counts());
    assert_eq!(aws::deployments(&api), 2);
    let canary = aws::stage(&api, "prod")
        .unwrap()
        .canary_settings()
        .cloned()
        .unwrap();
    assert_eq!(canary.deployment_id(), Some(r2.as_str()));
    assert_eq!(canary.percent_traffic(), 10.0);
    let plan = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 0, "not converged:\n{}", plan.stdout);
}
