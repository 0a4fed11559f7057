//! `[[import]]` applied against the fake: the record the plan read is journaled as `Recorded`
//! with no AWS call; a difference from the file is then one ordinary update.

use std::collections::{BTreeMap, BTreeSet};

use stagecraft_config::Address;

use super::*;
use crate::live::{self, LiveSecrets};
use crate::test_support::make_plan_importing;

const FILE: &str = r#"
[rest_apis.shop]
id = "abc123"

[rest_apis.shop.stages.live]
revision = "v1"
description = "DESCRIPTION"

[[import]]
to = "rest_apis.shop.stages.live"
"#;

/// The stage the fake holds, read as the CLI reads an import target.
fn read(aws: &FakeAws) -> BTreeMap<Address, ResourceState> {
    let address = Address::parse("rest_apis.shop.stages.live").unwrap();
    let live = aws.stage("abc123", "live").unwrap();
    let record = live::stage_record(
        "abc123",
        "v1",
        &live,
        &LiveSecrets {
            address: &address,
            keys: &BTreeSet::new(),
            recorded: None,
            seed: &crate::state::SaltSeed([1; 16]),
        },
    );
    BTreeMap::from([(address, ResourceState::Stage(record))])
}

async fn apply_import(aws: &FakeAws, config: &Config) -> Applied {
    let plan = make_plan_importing(config, None, &read(aws), &[]).unwrap();
    apply_plan(
        aws,
        config,
        &plan,
        None,
        &options(),
        MemoryJournal::default(),
        &[],
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn an_import_as_configured_records_the_stage_with_no_aws_call() {
    let aws = FakeAws::new();
    aws.put_foreign_stage("abc123", "live");
    let deployment = aws.stage("abc123", "live").unwrap().deployment_id.unwrap();
    let config = config(&FILE.replace("DESCRIPTION", "by hand"));
    let applied = apply_import(&aws, &config).await;
    assert!(applied.report.succeeded());
    assert_eq!(aws.mutating_calls(), 0, "{:?}", aws.calls());
    assert_eq!(aws.calls().len(), 0, "not even a read: {:?}", aws.calls());
    let counts = applied.report.counts();
    assert_eq!((counts.import, counts.change, counts.add), (1, 0, 0));
    // Journaled as state learned without a call: the deployment, then the record.
    let recorded: Vec<&Vec<Effect>> = applied
        .journal
        .iter()
        .filter_map(|entry| match entry {
            JournalEntry::Recorded { effects } => Some(effects),
            _ => None,
        })
        .collect();
    assert_eq!(recorded.len(), 1);
    assert!(matches!(
        &recorded[0][..],
        [Effect::Deployment { deployment_id, .. }, Effect::Resource { .. }] if *deployment_id == deployment
    ));
    let state = &applied.report.state;
    assert_eq!(
        state.deployment_of("abc123", "v1"),
        Some(deployment.as_str())
    );
    assert_converged(&aws, &config, state);
}

#[tokio::test(start_paused = true)]
async fn an_import_that_differs_is_recorded_then_updated_in_one_call() {
    let aws = FakeAws::new();
    aws.put_foreign_stage("abc123", "live");
    let deployment = aws.stage("abc123", "live").unwrap().deployment_id.unwrap();
    let config = config(&FILE.replace("DESCRIPTION", "managed"));
    let applied = apply_import(&aws, &config).await;
    assert!(applied.report.succeeded());
    let operations: Vec<&str> = aws.calls().iter().map(|call| call.operation).collect();
    assert_eq!(operations, ["UpdateStage"]);
    let live = aws.stage("abc123", "live").unwrap();
    assert_eq!(live.description.as_deref(), Some("managed"));
    // The stage keeps serving the deployment it had: no redeploy.
    assert_eq!(live.deployment_id.as_deref(), Some(deployment.as_str()));
    let counts = applied.report.counts();
    assert_eq!((counts.import, counts.change), (1, 1));
    assert_converged(&aws, &config, &applied.report.state);
}
