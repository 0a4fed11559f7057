//! Snapshot tests of the three renderings, one plan per kind of change built by hand from the
//! plan types, plus checks that secrets never leak, that Markdown stays within its limit and
//! that colour appears only when asked for.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use stagecraft_config::{AmplifyStage, CacheSize};

use super::{MARKDOWN_LIMIT, TextStyle, json, markdown, text};
use crate::plan::{
    Action, Change, Desired, DesiredBranch, DesiredCanary, DesiredStage, PLAN_FORMAT_VERSION, Plan,
    PlanMode, PlannedArtifact, PlannedPart, PlannedValue,
};
use stagecraft_config::Address;

use crate::state::{
    BasicAuthState, BranchState, CanaryState, ResourceState, SaltSeed, Site, StageState,
    StoredValue, sensitive_digest,
};
use crate::test_support::{apply_to, config, make_plan};

const LINEAGE: &str = "6f1c2b7e-8d3a-4e59-9b0f-2a7c5d1e9f40";
const API: &str = "a1b2c3d4e5";
const APP: &str = "d2k3j4h5g6";
const PROD: &str = "rest_apis.orders.stages.prod";
const CANARY: &str = "rest_apis.orders.stages.prod.canary";
const STAGING: &str = "rest_apis.orders.stages.staging";
const MAIN: &str = "amplify_apps.web.branches.main";

/// The secrets behind every sensitive value in these plans: none may appear in any rendering,
/// nor may their digests.
const SECRETS: [&str; 4] = [
    "s3cr3t-api-key",
    "old-api-key",
    "hunter2-password",
    "old-password",
];

fn digest(secret: &str) -> String {
    let address = Address::parse(PROD).unwrap();
    sensitive_digest(&SaltSeed([3; 16]), Site::new(&address, "k"), secret)
}

fn known(value: &str) -> PlannedValue {
    PlannedValue::Known {
        value: value.to_string(),
    }
}

fn secret(env: &str, value: &str) -> PlannedValue {
    PlannedValue::Sensitive {
        env: env.to_string(),
        digest: digest(value),
    }
}

fn stored_secret(value: &str) -> StoredValue {
    StoredValue::Sensitive {
        sensitive: digest(value),
    }
}

fn plain(value: &str) -> StoredValue {
    StoredValue::Plain(value.to_string())
}

fn deferred(address: &str, attribute: &str, suffix: &str) -> PlannedValue {
    PlannedValue::Deferred {
        parts: vec![
            PlannedPart::Reference {
                address: address.to_string(),
                attribute: attribute.to_string(),
            },
            PlannedPart::Literal {
                text: suffix.to_string(),
            },
        ],
    }
}

fn artifact_digest(seed: char) -> String {
    format!("sha256:{}", seed.to_string().repeat(64))
}

fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: "storefront".to_string(),
        lineage: LINEAGE.to_string(),
        prior_serial: Some(7),
        config_digest: "sha256:config".to_string(),
        mode: PlanMode::Normal,
        region: Some("us-east-1".to_string()),
        changes,
        unchanged: 2,
        moves: Vec::new(),
        forgets: Vec::new(),
        outputs: Vec::new(),
        rollouts: Vec::new(),
    }
}

fn change(
    address: &str,
    actions: Vec<Action>,
    before: Option<ResourceState>,
    after: Option<Desired>,
) -> Change {
    Change {
        address: Address::parse(address).unwrap(),
        actions,
        before,
        after,
        depends_on: Vec::new(),
        replace: false,
    }
}

fn prod_state() -> StageState {
    StageState {
        rest_api_id: API.to_string(),
        stage_name: "prod".to_string(),
        revision: "2026-11-20.1".to_string(),
        deployment_id: "d-111aaa".to_string(),
        description: Some("Production".to_string()),
        tracing: false,
        variables: BTreeMap::from([
            ("api_key".to_string(), stored_secret("old-api-key")),
            ("backend".to_string(), plain("orders-prod")),
            ("log_level".to_string(), plain("info")),
            ("old_key".to_string(), plain("y")),
            ("region".to_string(), plain("us-east-1")),
            ("timeout".to_string(), plain("29")),
        ]),
        cache_size: Some("6.1".to_string()),
        promoted_by_rollout: None,
    }
}

fn prod_desired() -> DesiredStage {
    DesiredStage {
        rest_api_id: API.to_string(),
        stage_name: "prod".to_string(),
        revision: "2026-11-20.1".to_string(),
        description: Some("Production".to_string()),
        tracing: false,
        variables: BTreeMap::from([
            (
                "api_key".to_string(),
                secret("ORDERS_API_KEY", "old-api-key"),
            ),
            ("backend".to_string(), known("orders-prod")),
            ("log_level".to_string(), known("info")),
            ("old_key".to_string(), known("y")),
            ("region".to_string(), known("us-east-1")),
            ("timeout".to_string(), known("29")),
        ]),
        cache_size: Some(CacheSize::Gb6_1),
        recorded_deployment: None,
    }
}

fn canary_state() -> CanaryState {
    CanaryState {
        rest_api_id: API.to_string(),
        stage_name: "prod".to_string(),
        revision: "2026-11-21.1".to_string(),
        deployment_id: "d-222bbb".to_string(),
        percent_traffic: 10.0,
        variable_overrides: BTreeMap::from([
            ("backend".to_string(), plain("orders-prod-next")),
            ("log_level".to_string(), plain("debug")),
        ]),
        use_stage_cache: false,
        rollout: None,
    }
}

fn canary_desired() -> DesiredCanary {
    DesiredCanary {
        rest_api_id: API.to_string(),
        stage_name: "prod".to_string(),
        revision: "2026-11-21.1".to_string(),
        percent_traffic: 10.0,
        variable_overrides: BTreeMap::from([
            ("backend".to_string(), known("orders-prod-next")),
            ("log_level".to_string(), known("debug")),
        ]),
        use_stage_cache: false,
        recorded_deployment: None,
        rollout: None,
    }
}

fn branch_state() -> BranchState {
    BranchState {
        app_id: APP.to_string(),
        branch_name: "main".to_string(),
        stage: Some("PRODUCTION".to_string()),
        description: Some("Storefront".to_string()),
        framework: Some("React".to_string()),
        environment: BTreeMap::from([
            (
                "API_URL".to_string(),
                plain("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"),
            ),
            ("FEATURE_FLAGS".to_string(), plain("checkout")),
        ]),
        basic_auth: Some(BasicAuthState {
            username: plain("preview"),
            password: stored_secret("old-password"),
        }),
        artifact_digest: Some(artifact_digest('a')),
        job_id: Some("41".to_string()),
        url: Some(format!("https://main.{APP}.amplifyapp.com")),
    }
}

fn branch_desired() -> DesiredBranch {
    DesiredBranch {
        app_id: APP.to_string(),
        branch_name: "main".to_string(),
        stage: Some(AmplifyStage::Production),
        description: Some("Storefront".to_string()),
        framework: Some("React".to_string()),
        environment: BTreeMap::from([
            (
                "API_URL".to_string(),
                known("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"),
            ),
            ("FEATURE_FLAGS".to_string(), known("checkout")),
        ]),
        basic_auth: Some((known("preview"), secret("WEB_PASSWORD", "old-password"))),
        artifact: Some(PlannedArtifact {
            path: "dist/web".to_string(),
            digest: artifact_digest('a'),
        }),
    }
}

/// A new stage: variables include a sensitive one and one only known after apply.
fn create_stage() -> Plan {
    let desired = DesiredStage {
        rest_api_id: API.to_string(),
        stage_name: "staging".to_string(),
        revision: "2026-11-20.1".to_string(),
        description: Some("Pre-production".to_string()),
        tracing: true,
        variables: BTreeMap::from([
            (
                "api_key".to_string(),
                secret("ORDERS_API_KEY", "s3cr3t-api-key"),
            ),
            ("backend".to_string(), known("orders-staging")),
            (
                "upstream".to_string(),
                deferred("rest_apis.inventory.stages.staging", "invoke_url", "/v1"),
            ),
        ]),
        cache_size: Some(CacheSize::Gb0_5),
        recorded_deployment: None,
    };
    plan(vec![change(
        STAGING,
        vec![Action::Create],
        None,
        Some(Desired::Stage(desired)),
    )])
}

/// A new revision and variable changes: the brief's example.
fn redeploy() -> Plan {
    let mut desired = prod_desired();
    desired.revision = "2026-11-21.1".to_string();
    desired
        .variables
        .insert("backend".to_string(), known("orders-prod-v2"));
    desired.variables.remove("old_key");
    desired.variables.insert("new_key".to_string(), known("x"));
    plan(vec![change(
        PROD,
        vec![Action::Redeploy, Action::Update],
        Some(ResourceState::Stage(prod_state())),
        Some(Desired::Stage(desired)),
    )])
}

/// Back to a revision the state already maps to a deployment.
fn rollback() -> Plan {
    let mut before = prod_state();
    before.revision = "2026-11-21.1".to_string();
    before.deployment_id = "d-222bbb".to_string();
    let mut desired = prod_desired();
    desired.recorded_deployment = Some("d-111aaa".to_string());
    plan(vec![change(
        PROD,
        vec![Action::Rollback],
        Some(ResourceState::Stage(before)),
        Some(Desired::Stage(desired)),
    )])
}

/// Settings only: description (multi-line, so a line diff), tracing, cache, map changes
/// including a rotated secret and a deferred value.
fn settings_update() -> Plan {
    let mut before = prod_state();
    before.description = Some(
        "Production stage of the orders API.\nOwned by the checkout team.\nPaged on 5xx."
            .to_string(),
    );
    let mut desired = prod_desired();
    desired.description = Some(
        "Production stage of the orders API.\nOwned by the payments team.\nPaged on 5xx."
            .to_string(),
    );
    desired.tracing = true;
    desired.cache_size = None;
    desired.variables.insert(
        "api_key".to_string(),
        secret("ORDERS_API_KEY", "s3cr3t-api-key"),
    );
    desired.variables.insert(
        "inventory_url".to_string(),
        deferred("rest_apis.inventory.stages.prod", "invoke_url", ""),
    );
    desired
        .variables
        .insert("log_level".to_string(), known("warn"));
    plan(vec![change(
        PROD,
        vec![Action::Update],
        Some(ResourceState::Stage(before)),
        Some(Desired::Stage(desired)),
    )])
}

/// A new canary on a new revision.
fn canary_create() -> Plan {
    let mut desired = canary_desired();
    desired.variable_overrides.insert(
        "api_key".to_string(),
        secret("NEXT_API_KEY", "s3cr3t-api-key"),
    );
    let mut change = change(
        CANARY,
        vec![Action::Create, Action::CanaryDeploy],
        None,
        Some(Desired::Canary(desired)),
    );
    change.depends_on = vec![Address::parse(PROD).unwrap()];
    plan(vec![change])
}

/// A new canary driven by a rollout: deployed at its first step, with its schedule.
fn canary_rollout() -> Plan {
    let mut desired = canary_desired();
    desired.percent_traffic = 5.0;
    desired.rollout = Some(crate::state::RolloutSchedule {
        steps: vec![5.0, 25.0, 50.0],
        bakes_ms: vec![600_000; 3],
        alarms: vec!["orders-5xx".to_string(), "orders-p99".to_string()],
        promote: stagecraft_config::Promote::Auto,
        poll_interval_ms: 30_000,
    });
    let mut change = change(
        CANARY,
        vec![Action::Create, Action::CanaryDeploy],
        None,
        Some(Desired::Canary(desired)),
    );
    change.depends_on = vec![Address::parse(PROD).unwrap()];
    plan(vec![change])
}

/// The canary's traffic, cache flag and overrides change; same revision.
fn canary_update() -> Plan {
    let mut desired = canary_desired();
    desired.percent_traffic = 25.0;
    desired.use_stage_cache = true;
    desired
        .variable_overrides
        .insert("log_level".to_string(), known("info"));
    plan(vec![change(
        CANARY,
        vec![Action::Update],
        Some(ResourceState::Canary(canary_state())),
        Some(Desired::Canary(desired)),
    )])
}

/// The canary moves to a revision the state already knows.
fn canary_repoint() -> Plan {
    let mut desired = canary_desired();
    desired.revision = "2026-11-19.4".to_string();
    desired.recorded_deployment = Some("d-000zzz".to_string());
    plan(vec![change(
        CANARY,
        vec![Action::CanaryRepoint],
        Some(ResourceState::Canary(canary_state())),
        Some(Desired::Canary(desired)),
    )])
}

/// The canary is promoted; the stage, planned against the promoted state, also gets a new
/// description.
fn promote() -> Plan {
    let mut desired = prod_desired();
    desired.revision = "2026-11-21.1".to_string();
    desired.description = Some("Production (orders v2)".to_string());
    desired
        .variables
        .insert("backend".to_string(), known("orders-prod-next"));
    desired
        .variables
        .insert("log_level".to_string(), known("debug"));
    let mut stage = change(
        PROD,
        vec![Action::Update],
        Some(ResourceState::Stage(prod_state())),
        Some(Desired::Stage(desired)),
    );
    stage.depends_on = vec![Address::parse(CANARY).unwrap()];
    plan(vec![
        change(
            CANARY,
            vec![Action::Promote],
            Some(ResourceState::Canary(canary_state())),
            None,
        ),
        stage,
    ])
}

/// A new branch with an artifact, a deferred environment value and basic auth.
fn branch_create() -> Plan {
    let mut desired = branch_desired();
    desired
        .environment
        .insert("API_URL".to_string(), deferred(PROD, "invoke_url", ""));
    desired.basic_auth = Some((known("preview"), secret("WEB_PASSWORD", "hunter2-password")));
    let mut change = change(
        MAIN,
        vec![Action::Create, Action::ArtifactDeploy],
        None,
        Some(Desired::Branch(desired)),
    );
    change.depends_on = vec![Address::parse(PROD).unwrap()];
    plan(vec![change])
}

/// Branch settings change (framework, environment, password) and a new artifact.
fn branch_update() -> Plan {
    let mut desired = branch_desired();
    desired.framework = Some("Next.js - SSG".to_string());
    desired
        .environment
        .insert("FEATURE_FLAGS".to_string(), known("checkout,wishlist"));
    desired.environment.insert(
        "SENTRY_DSN".to_string(),
        secret("SENTRY_DSN", "s3cr3t-api-key"),
    );
    desired.basic_auth = Some((known("preview"), secret("WEB_PASSWORD", "hunter2-password")));
    desired.artifact = Some(PlannedArtifact {
        path: "dist/web".to_string(),
        digest: artifact_digest('b'),
    });
    plan(vec![change(
        MAIN,
        vec![Action::Update, Action::ArtifactDeploy],
        Some(ResourceState::Branch(branch_state())),
        Some(Desired::Branch(desired)),
    )])
}

/// Resources removed from the file: a canary, its stage and a branch.
fn delete() -> Plan {
    let mut stage = change(
        PROD,
        vec![Action::Delete],
        Some(ResourceState::Stage(prod_state())),
        None,
    );
    stage.depends_on = vec![Address::parse(CANARY).unwrap()];
    let mut plan = plan(vec![
        change(
            CANARY,
            vec![Action::Delete],
            Some(ResourceState::Canary(canary_state())),
            None,
        ),
        change(
            MAIN,
            vec![Action::Delete],
            Some(ResourceState::Branch(branch_state())),
            None,
        ),
        stage,
    ]);
    plan.mode = PlanMode::Destroy;
    plan.unchanged = 0;
    plan
}

fn no_changes() -> Plan {
    let mut plan = plan(Vec::new());
    plan.unchanged = 4;
    plan
}

/// A plan with one of everything, for the combined views.
fn mixed() -> Plan {
    let mut changes = Vec::new();
    for plan in [create_stage(), promote(), branch_update()] {
        changes.extend(plan.changes);
    }
    changes.push(change(
        "rest_apis.orders.stages.legacy",
        vec![Action::Delete],
        Some(ResourceState::Stage(StageState {
            stage_name: "legacy".to_string(),
            ..prod_state()
        })),
        None,
    ));
    plan(changes)
}

/// A stage `prod` on `r1` with variables `backend = "v1"` and `region`, and a canary on `r2`
/// overriding `backend` with `"v2"`, as applied: the state a promotion starts from.
const CANARY_ROLLOUT: &str = r#"
[rest_apis.orders]
id = "a1b2c3d4e5"
[rest_apis.orders.stages.prod]
revision = "r1"
variables = { backend = "v1", region = "us-east-1" }
[rest_apis.orders.stages.prod.canary]
revision = "r2"
percent_traffic = 10.0
variable_overrides = { backend = "v2" }
"#;

/// The plan of promoting the canary of [`CANARY_ROLLOUT`] with the stage's `backend` set to
/// `backend` in the file (`"v2"` agrees with the override, `"v1"` replaces it).
fn promotion_with_backend(backend: &str) -> Plan {
    let state = apply_to(None, &make_plan(&config(CANARY_ROLLOUT), None).unwrap());
    let promoted = CANARY_ROLLOUT[..CANARY_ROLLOUT
        .find("[rest_apis.orders.stages.prod.canary]")
        .unwrap()]
        .replace("\"r1\"", "\"r2\"")
        .replace("\"v1\"", &format!("\"{backend}\""));
    make_plan(&config(&promoted), Some(&state)).unwrap()
}

fn scenarios() -> Vec<(&'static str, Plan)> {
    vec![
        ("create_stage", create_stage()),
        ("redeploy", redeploy()),
        ("rollback", rollback()),
        ("settings_update", settings_update()),
        ("canary_create", canary_create()),
        ("canary_rollout", canary_rollout()),
        ("canary_update", canary_update()),
        ("canary_repoint", canary_repoint()),
        ("promote", promote()),
        ("promote_merged", promotion_with_backend("v2")),
        ("promote_replaced", promotion_with_backend("v1")),
        ("branch_create", branch_create()),
        ("branch_update", branch_update()),
        ("delete", delete()),
        ("no_changes", no_changes()),
        ("mixed", mixed()),
    ]
}

/// Fails if `rendered` shows any secret or any secret's digest.
fn assert_no_secrets(name: &str, rendered: &str) {
    for secret in SECRETS {
        assert!(!rendered.contains(secret), "{name} shows a secret");
        let digest = digest(secret);
        assert!(
            !rendered.contains(&digest),
            "{name} shows a secret's digest"
        );
        // Not even a prefix of the hex.
        let hex = digest.trim_start_matches("sha256:");
        assert!(
            !rendered.contains(&hex[..12]),
            "{name} shows part of a digest"
        );
    }
}

#[test]
fn text_snapshots() {
    for (name, plan) in scenarios() {
        let rendered = text(&plan, TextStyle::default());
        assert_no_secrets(name, &rendered);
        insta::assert_snapshot!(format!("text_{name}"), rendered);
    }
}

#[test]
fn json_snapshots() {
    for (name, plan) in scenarios() {
        let rendered = json(&plan);
        assert_no_secrets(name, &rendered);
        // Always one valid document.
        let _: serde_json::Value = serde_json::from_str(&rendered).unwrap();
        insta::assert_snapshot!(format!("json_{name}"), rendered);
    }
}

#[test]
fn markdown_snapshots() {
    for (name, plan) in scenarios() {
        let rendered = markdown(&plan, MARKDOWN_LIMIT);
        assert_no_secrets(name, &rendered);
        assert!(rendered.len() <= MARKDOWN_LIMIT);
        insta::assert_snapshot!(format!("markdown_{name}"), rendered);
    }
}

/// Integrity 9: a promotion's plan shows the stage's net variables, what AWS ends with, and its
/// header claims no merge that the next call undoes. Today the header said "its overrides
/// merge into the stage's variables" in both cases; when the file agreed with the override,
/// no line showed `backend` going from "v1" to "v2" (the stage's change was left out), and when
/// the file kept "v1" the header claimed a merge the stage's `UpdateStage` undoes.
#[test]
fn a_promotion_shows_the_stage_s_net_variables() {
    let merged = text(&promotion_with_backend("v2"), TextStyle::default());
    assert!(!merged.contains("merge"), "{merged}");
    assert!(
        merged.contains("~ \"backend\" = \"v1\" -> \"v2\"\n"),
        "{merged}"
    );
    assert!(
        merged.contains("will be updated in place by its canary's promotion (no call of its own)"),
        "{merged}"
    );
    let document: serde_json::Value =
        serde_json::from_str(&json(&promotion_with_backend("v2"))).unwrap();
    let stage = &document["resource_changes"][1];
    assert_eq!(stage["address"], "rest_apis.orders.stages.prod");
    assert_eq!(stage["before"]["variables"]["backend"], "v1");
    assert_eq!(stage["after"]["variables"]["backend"], "v2");

    let replaced = text(&promotion_with_backend("v1"), TextStyle::default());
    assert!(!replaced.contains("merge"), "{replaced}");
    // The stage ends with "v1", as recorded: its block has no `backend` line.
    let stage_block = &replaced[replaced
        .find("# rest_apis.orders.stages.prod will")
        .unwrap()..];
    assert!(!stage_block.contains("backend"), "{replaced}");
    assert!(
        replaced.contains("will be updated in place (after its canary's promotion)"),
        "{replaced}"
    );
    let markdown = markdown(&promotion_with_backend("v1"), MARKDOWN_LIMIT);
    assert!(!markdown.contains("merge"), "{markdown}");
}

#[test]
fn coloured_text_never_shows_secrets_either() {
    for (name, plan) in scenarios() {
        assert_no_secrets(name, &text(&plan, TextStyle { color: true }));
    }
}

#[test]
fn sensitive_values_are_masked_and_their_paths_listed() {
    let plan = settings_update();
    let rendered = text(&plan, TextStyle::default());
    assert!(
        rendered.contains("~ \"api_key\"       = (sensitive value)\n"),
        "{rendered}"
    );

    let document: serde_json::Value = serde_json::from_str(&json(&plan)).unwrap();
    let change = &document["resource_changes"][0];
    assert_eq!(change["before"]["variables"]["api_key"], "(sensitive)");
    assert_eq!(change["after"]["variables"]["api_key"], "(sensitive)");
    assert_eq!(
        change["sensitive_paths"],
        serde_json::json!(["/variables/api_key"])
    );
    assert_eq!(
        change["after"]["variables"]["inventory_url"],
        serde_json::Value::Null
    );
    assert_eq!(
        change["after_unknown"],
        serde_json::json!(["/variables/inventory_url"])
    );
}

#[test]
fn json_lists_unknowns_and_uses_the_plan_serde_names() {
    let document: serde_json::Value = serde_json::from_str(&json(&mixed())).unwrap();
    assert_eq!(document["format_version"], "1.3");
    assert_eq!(
        document["summary"],
        serde_json::json!({"add": 1, "change": 3, "destroy": 1})
    );
    let changes = document["resource_changes"].as_array().unwrap();
    let plan = mixed();
    for (rendered, change) in changes.iter().zip(&plan.changes) {
        assert_eq!(rendered["address"], change.address.to_string());
        assert_eq!(
            rendered["actions"],
            serde_json::to_value(&change.actions).unwrap()
        );
        assert_eq!(rendered["symbol"], change.kind().to_string());
    }
    let created = &changes[0];
    assert_eq!(created["kind"], "apigateway_stage");
    assert_eq!(created["before"], serde_json::Value::Null);
    assert_eq!(
        created["after_unknown"],
        serde_json::json!(["/deployment_id", "/variables/upstream"])
    );
    // The promoted canary's deployment becomes the stage's: known at plan time.
    let stage = &changes[2];
    assert_eq!(stage["after"]["deployment_id"], "d-222bbb");
}

#[test]
fn markdown_action_names_match_the_json_names() {
    for action in [
        Action::Create,
        Action::Update,
        Action::Redeploy,
        Action::Rollback,
        Action::CanaryDeploy,
        Action::CanaryRepoint,
        Action::Promote,
        Action::ArtifactDeploy,
        Action::Delete,
    ] {
        assert_eq!(
            serde_json::to_value(action).unwrap(),
            super::markdown::action_name(action)
        );
    }
}

#[test]
fn colour_only_when_asked() {
    for (name, plan) in scenarios() {
        let coloured = text(&plan, TextStyle { color: true });
        let plain = text(&plan, TextStyle { color: false });
        assert!(
            coloured.contains("\u{1b}["),
            "{name}: no escapes with colour"
        );
        assert!(!plain.contains('\u{1b}'), "{name}: escapes without colour");
        assert!(!markdown(&plan, MARKDOWN_LIMIT).contains('\u{1b}'));
    }
    let coloured = text(&redeploy(), TextStyle { color: true });
    // Yellow `~`, bold header.
    assert!(coloured.contains("\u{1b}[33m~\u{1b}[39m"), "{coloured}");
    assert!(coloured.contains("\u{1b}[1m  # rest_apis.orders.stages.prod will"));
}

/// A plan with `stages` redeployed stages (each with a few variables) and `destroyed` deleted ones.
fn large(stages: usize, destroyed: usize) -> Plan {
    let mut changes = Vec::new();
    for index in 0..stages {
        let mut before = prod_state();
        before.stage_name = format!("s{index}");
        let mut desired = prod_desired();
        desired.stage_name = format!("s{index}");
        desired.revision = format!("2026-11-21.{index}");
        for variable in 0..20 {
            desired.variables.insert(
                format!("var_{variable}"),
                known(&format!("value-{index}-{variable}")),
            );
        }
        changes.push(change(
            &format!("rest_apis.orders.stages.s{index}"),
            vec![Action::Redeploy, Action::Update],
            Some(ResourceState::Stage(before)),
            Some(Desired::Stage(desired)),
        ));
    }
    for index in 0..destroyed {
        changes.push(change(
            &format!("rest_apis.orders.stages.old{index}"),
            vec![Action::Delete],
            Some(ResourceState::Stage(prod_state())),
            None,
        ));
    }
    plan(changes)
}

#[test]
fn markdown_is_truncated_to_the_limit() {
    let plan = large(400, 12);
    let full = markdown(&plan, usize::MAX);
    assert!(full.len() > MARKDOWN_LIMIT, "the test plan must be large");
    assert!(!full.contains("left out"));

    let cut = markdown(&plan, MARKDOWN_LIMIT);
    assert!(cut.len() <= MARKDOWN_LIMIT, "{} characters", cut.len());
    assert!(cut.starts_with(
        "**stagecraft plan for `storefront`**: 0 to add, 400 to change, 12 to destroy\n"
    ));
    assert!(cut.contains("> [!CAUTION]\n> **This plan destroys 12 resources:**\n"));
    for index in 0..12 {
        assert!(cut.contains(&format!("> - `rest_apis.orders.stages.old{index}`\n")));
    }
    assert!(cut.contains("**Deployments and promotions**"));
    // Sections are dropped from the end: the first ones stay, the last ones go.
    assert!(cut.contains("<summary>~ rest_apis.orders.stages.s0 (redeploy, update)</summary>"));
    assert!(!cut.contains("<summary>- rest_apis.orders.stages.old11 (delete)</summary>"));
    // Every section kept is whole.
    assert_eq!(
        cut.matches("<details>").count(),
        cut.matches("</details>").count()
    );
    let note = cut.lines().last().unwrap();
    assert!(
        note.starts_with("_… details of ")
            && note.contains(" resources (")
            && note.contains(
                " characters) left out to stay within GitHub's 65,536-character comment limit."
            ),
        "{note}"
    );
    // The note's counts are right.
    let kept = cut.matches("<details>").count();
    let dropped = plan.changes.len() - kept;
    assert!(
        note.contains(&format!("details of {dropped} resources (")),
        "{note}"
    );
    // And it uses the room it has: one more section would not fit.
    assert!(cut.len() > MARKDOWN_LIMIT - 3000, "{}", cut.len());
}

#[test]
fn markdown_keeps_the_destroy_callout_and_cuts_its_list_only_as_a_last_resort() {
    let plan = large(5, 300);
    let cut = markdown(&plan, 4000);
    assert!(cut.len() <= 4000, "{}", cut.len());
    assert!(cut.starts_with("**stagecraft plan for `storefront`**: 0 to add, 5 to change"));
    assert!(cut.contains("> [!CAUTION]\n> **This plan destroys 300 resources:**\n"));
    assert!(cut.contains("> - `rest_apis.orders.stages.old0`\n"));
    assert!(cut.contains(" more\n"), "{cut}");
    assert!(!cut.contains("<details>"));
    assert!(!cut.contains("Deployments and promotions"));
    assert!(cut.contains("_… the deployments table and details of 305 resources ("));
    assert!(cut.contains("characters) left out to stay within the 4,000-character limit."));

    // Whatever the limit, never longer.
    for limit in [0, 1, 10, 100, 500, 1000, 20_000] {
        assert!(markdown(&plan, limit).len() <= limit);
    }
}

#[test]
fn helpers() {
    assert_eq!(super::thousands(0), "0");
    assert_eq!(super::thousands(999), "999");
    assert_eq!(super::thousands(1000), "1,000");
    assert_eq!(super::thousands(512_301), "512,301");
    assert_eq!(super::thousands(1_234_567), "1,234,567");
    assert_eq!(
        super::short_digest(&artifact_digest('c')),
        "sha256:cccccccccccc…"
    );
    assert_eq!(super::short_digest("abc"), "abc");
    assert_eq!(super::quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}

#[test]
fn quoted_len_counts_the_characters_quote_writes() {
    for text in [
        "",
        "plain",
        "a\"b\\c\nd",
        "tab\there",
        "bell\u{7}",
        "ünïcode",
    ] {
        assert_eq!(
            super::quoted_len(text),
            super::quote(text).chars().count(),
            "{text:?}"
        );
    }
}

#[test]
fn values_cannot_fake_diff_lines_or_drive_the_terminal() {
    let mut before = prod_state();
    before.description = Some("Notes:\n- keep me\n+ keep me too\nold".to_string());
    let mut desired = prod_desired();
    desired.description = Some("Notes:\n- keep me\n+ keep me too\nnew \u{1b}[31mred".to_string());
    let plan = plan(vec![change(
        PROD,
        vec![Action::Update],
        Some(ResourceState::Stage(before)),
        Some(Desired::Stage(desired)),
    )]);
    let plain = text(&plan, TextStyle::default());
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(
        plain.contains("          + new \\u001b[31mred\n"),
        "{plain}"
    );
    let comment = markdown(&plan, MARKDOWN_LIMIT);
    // Unchanged lines of the value stay context lines, whatever they start with.
    assert!(comment.contains("\n            - keep me\n"), "{comment}");
    assert!(
        comment.contains("\n            + keep me too\n"),
        "{comment}"
    );
    assert!(comment.contains("\n-           old\n"), "{comment}");
    assert!(!comment.contains('\u{1}'));
}
