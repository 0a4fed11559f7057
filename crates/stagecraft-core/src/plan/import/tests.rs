#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use stagecraft_config::Address;

use crate::plan::{Action, ChangeKind, Counts, PlanError};
use crate::render::{self, TextStyle};
use crate::state::{BranchState, ResourceState, StageState, State};
use crate::test_support::{apply_to, config, make_plan_importing};

const FILE: &str = r#"
[rest_apis.shop]
id = "abc123"

[rest_apis.shop.stages.live]
revision = "v1"
description = "storefront"

[amplify_apps.web]
id = "d1abc"

[amplify_apps.web.branches.main]
description = "site"

[[import]]
to = "rest_apis.shop.stages.live"

[[import]]
to = "amplify_apps.web.branches.main"
"#;

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

/// The stage as the CLI reads it from AWS for an import: the configured revision, the live
/// deployment and settings.
fn live_stage(description: &str) -> ResourceState {
    ResourceState::Stage(StageState {
        rest_api_id: "abc123".into(),
        stage_name: "live".into(),
        revision: "v1".into(),
        deployment_id: "dep9".into(),
        description: Some(description.into()),
        tracing: false,
        variables: BTreeMap::new(),
        cache_size: None,
        promoted_by_rollout: None,
    })
}

fn live_branch() -> ResourceState {
    ResourceState::Branch(BranchState {
        app_id: "d1abc".into(),
        branch_name: "main".into(),
        stage: None,
        description: Some("site".into()),
        framework: None,
        environment: BTreeMap::new(),
        basic_auth: None,
        artifact_digest: None,
        job_id: None,
        url: Some("https://main.d1abc.amplifyapp.com".into()),
    })
}

fn imports(stage: ResourceState) -> BTreeMap<Address, ResourceState> {
    BTreeMap::from([
        (address("rest_apis.shop.stages.live"), stage),
        (address("amplify_apps.web.branches.main"), live_branch()),
    ])
}

#[test]
fn a_resource_as_configured_is_imported_with_nothing_else_to_do() {
    let config = config(FILE);
    let plan = make_plan_importing(&config, None, &imports(live_stage("storefront")), &[]).unwrap();
    assert_eq!(plan.changes.len(), 2);
    for change in &plan.changes {
        assert_eq!(change.actions, vec![Action::Import]);
        assert_eq!(change.kind(), ChangeKind::Import);
    }
    assert_eq!(
        plan.summary(),
        Counts {
            import: 2,
            add: 0,
            change: 0,
            destroy: 0
        }
    );
    assert!(plan.has_changes());
    let ids: Vec<Option<String>> = plan.changes.iter().map(|c| c.import_id()).collect();
    assert_eq!(
        ids,
        [
            Some("abc123/live".to_string()),
            Some("d1abc/main".to_string())
        ]
    );
    let text = render::text(&plan, TextStyle::default());
    assert!(
        text.contains(
            "  # rest_apis.shop.stages.live will be imported\n  # (imported from \"abc123/live\")\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    insta::assert_snapshot!("import_only_text", text);
}

#[test]
fn an_import_that_differs_from_the_file_is_imported_then_updated() {
    let config = config(FILE);
    let plan = make_plan_importing(&config, None, &imports(live_stage("by hand")), &[]).unwrap();
    let stage = plan
        .changes
        .iter()
        .find(|c| c.address == address("rest_apis.shop.stages.live"))
        .unwrap();
    // No redeploy: the live deployment is recorded as the configured revision's.
    assert_eq!(stage.actions, vec![Action::Import, Action::Update]);
    assert_eq!(stage.kind(), ChangeKind::Update);
    assert_eq!(
        plan.summary(),
        Counts {
            import: 2,
            add: 0,
            change: 1,
            destroy: 0
        }
    );
    let text = render::text(&plan, TextStyle::default());
    assert!(
        text.contains("will be imported and updated in place"),
        "{text}"
    );
    assert!(
        text.contains("~ description   = \"by hand\" -> \"storefront\""),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    let change = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "rest_apis.shop.stages.live")
        .unwrap();
    assert_eq!(change["importing"]["id"], "abc123/live");
    assert_eq!(change["actions"], serde_json::json!(["import", "update"]));
    assert_eq!(json["summary"]["import"], 2);
    let markdown = render::markdown(&plan, render::MARKDOWN_LIMIT);
    assert!(
        markdown.contains("2 to import, 0 to add, 1 to change, 0 to destroy"),
        "{markdown}"
    );
    assert!(
        markdown.contains("imported and updated in place"),
        "{markdown}"
    );
}

#[test]
fn the_imported_state_plans_empty_and_a_recorded_resource_is_not_imported_again() {
    let config = config(FILE);
    let plan = make_plan_importing(&config, None, &imports(live_stage("storefront")), &[]).unwrap();
    let mut state = State::new("t", plan.lineage.clone());
    for change in &plan.changes {
        super::record_import(&mut state, &change.address, change.before.as_ref().unwrap());
    }
    assert_eq!(state.deployment_of("abc123", "v1"), Some("dep9"));
    // Recorded now: the blocks do nothing, and nothing needs reading from AWS.
    let again = make_plan_importing(&config, Some(&state), &BTreeMap::new(), &[]).unwrap();
    assert!(!again.has_changes(), "{:?}", again.changes);
    assert_eq!(again.unchanged, 2);
}

#[test]
fn an_unread_import_is_an_error_and_targets_leave_others_unread() {
    let config = config(FILE);
    let only_stage = BTreeMap::from([(
        address("rest_apis.shop.stages.live"),
        live_stage("storefront"),
    )]);
    let error = make_plan_importing(&config, None, &only_stage, &[]).unwrap_err();
    assert_eq!(
        error,
        PlanError::ImportNotRead {
            address: "amplify_apps.web.branches.main".into()
        }
    );
    // Outside `--target`: not imported, so not needed.
    let plan = make_plan_importing(
        &config,
        None,
        &only_stage,
        &[address("rest_apis.shop.stages.live")],
    )
    .unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].actions, vec![Action::Import]);
}

#[test]
fn an_imported_revision_already_mapped_keeps_its_deployment() {
    let config = config(FILE);
    let plan = make_plan_importing(&config, None, &imports(live_stage("storefront")), &[]).unwrap();
    let mut state = State::new("t", plan.lineage.clone());
    state
        .deployments
        .entry("abc123".into())
        .or_default()
        .insert("v1".into(), "dep1".into());
    super::record_imports(
        &mut state,
        &BTreeMap::from([(address("rest_apis.shop.stages.live"), live_stage("x"))]),
    );
    assert_eq!(state.deployment_of("abc123", "v1"), Some("dep1"));
    assert!(
        state
            .resources
            .contains_key(&address("rest_apis.shop.stages.live"))
    );
    // The simulated apply of the test support agrees with the import's state.
    let applied = apply_to(None, &plan);
    assert_eq!(applied.resources.len(), 2);
}
