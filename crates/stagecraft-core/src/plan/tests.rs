//! One test per action of `docs/behaviour.md`, "Actions and their calls" (the action chosen
//! and its attributes), and the property tests: a plan against the state its own application
//! records is empty; a plan against no state creates everything.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use stagecraft_config::{Address, Config, Secrets};

use super::*;
use crate::state::{ResourceState, State};
use crate::test_support::{TestHost, apply_to, config, make_plan, make_plan_flags, make_plan_with};

/// Addresses as their text, for comparisons with literals.
fn texts<'a>(addresses: impl IntoIterator<Item = &'a Address>) -> Vec<String> {
    addresses.into_iter().map(Address::to_string).collect()
}

fn actions_of(plan: &Plan) -> Vec<(String, Vec<Action>)> {
    plan.changes
        .iter()
        .map(|change| (change.address.to_string(), change.actions.clone()))
        .collect()
}

const BASE: &str = r#"
[rest_apis.api]
id = "abc"
[rest_apis.api.stages.prod]
revision = "r1"
description = "Production"
variables = { backend = "v1", key = { env = "KEY" } }
"#;

fn applied(text: &str) -> (Config, State) {
    let config = config(text);
    let plan = make_plan(&config, None).unwrap();
    let state = apply_to(None, &plan);
    (config, state)
}

#[test]
fn new_stage_is_created() {
    let config = config(BASE);
    let plan = make_plan(&config, None).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![(
            "rest_apis.api.stages.prod".to_string(),
            vec![Action::Create]
        )]
    );
    assert_eq!(plan.changes[0].kind(), ChangeKind::Create);
    let Some(Desired::Stage(stage)) = &plan.changes[0].after else {
        panic!()
    };
    assert!(stage.variables["key"].is_sensitive());
    assert_eq!(plan.prior_serial, None);
    assert_eq!(
        plan.summary(),
        Counts {
            import: 0,
            add: 1,
            change: 0,
            destroy: 0
        }
    );
}

#[test]
fn new_revision_redeploys_and_known_revision_rolls_back() {
    let (_, state) = applied(BASE);
    let next = config(&BASE.replace("\"r1\"", "\"r2\""));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Redeploy]);
    let state2 = apply_to(Some(&state), &plan);
    // Back to r1: the state maps it to a deployment, so no new one.
    let back = config(BASE);
    let plan = make_plan(&back, Some(&state2)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Rollback]);
    assert_eq!(plan.changes[0].kind(), ChangeKind::Update);
}

#[test]
fn settings_change_is_an_update() {
    let (_, state) = applied(BASE);
    let next = config(
        &(BASE
            .replace("\"v1\"", "\"v2\"")
            .replace("Production", "Prod")
            + "tracing = true\ncache_size = 0.5\n"),
    );
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Update]);
}

#[test]
fn changed_secret_is_an_update_seen_through_its_digest() {
    let (_, state) = applied(BASE);
    let next = config(&BASE.replace("\"KEY\"", "\"OTHER_KEY\""));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Update]);
    assert!(!plan.to_json().unwrap().contains("value-of-"));
}

/// Integrity 4: two stages holding the same secret show different digests (salted with the
/// lineage alone, they were equal), and each still compares equal to its own record.
#[test]
fn the_same_secret_in_two_stages_digests_differently() {
    let text = format!(
        "{BASE}[rest_apis.api.stages.staging]\nrevision = \"r1\"\nvariables = {{ key = {{ env = \"KEY\" }} }}\n"
    );
    let (config, state) = applied(&text);
    let digest = |stage: &str| match &state.resources[&Address::parse(stage).unwrap()] {
        ResourceState::Stage(stage) => stage.variables["key"].clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(
        digest("rest_apis.api.stages.prod"),
        digest("rest_apis.api.stages.staging")
    );
    assert!(!make_plan(&config, Some(&state)).unwrap().has_changes());
}

const CANARY: &str = r#"
[rest_apis.api.stages.prod.canary]
revision = "r2"
percent_traffic = 10.0
variable_overrides = { backend = "v2" }
"#;

#[test]
fn canary_added_with_a_new_revision_deploys_it() {
    let (_, state) = applied(BASE);
    let next = config(&format!("{BASE}{CANARY}"));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![(
            "rest_apis.api.stages.prod.canary".to_string(),
            vec![Action::Create, Action::CanaryDeploy]
        )]
    );
    assert_eq!(plan.changes[0].depends_on, Vec::<Address>::new());
}

#[test]
fn canary_on_a_known_revision_is_repointed() {
    let (_, state) = applied(BASE);
    let next = config(&format!("{BASE}{}", CANARY.replace("\"r2\"", "\"r1\"")));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan)[0].1,
        vec![Action::Create, Action::CanaryRepoint]
    );
    // And a canary whose revision changes to a new one deploys it.
    let state = apply_to(Some(&state), &plan);
    let plan = make_plan(&config(&format!("{BASE}{CANARY}")), Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::CanaryDeploy]);
}

#[test]
fn canary_traffic_change_is_an_update() {
    let (_, state) = applied(&format!("{BASE}{CANARY}"));
    let next = config(&format!("{BASE}{}", CANARY.replace("10.0", "50.0")));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![(
            "rest_apis.api.stages.prod.canary".to_string(),
            vec![Action::Update]
        )]
    );
}

#[test]
fn promotion_moves_the_stage_without_a_new_deployment() {
    let (_, state) = applied(&format!("{BASE}{CANARY}"));
    // The stage takes the canary's revision and the canary table goes; a config that says
    // the stage's recorded values (nothing to merge) has nothing else to change.
    let plain = CANARY.replace("variable_overrides = { backend = \"v2\" }\n", "");
    let (_, plain_state) = applied(&format!("{BASE}{plain}"));
    let next = config(&BASE.replace("\"r1\"", "\"r2\""));
    let plan = make_plan(&next, Some(&plain_state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![(
            "rest_apis.api.stages.prod.canary".to_string(),
            vec![Action::Promote]
        )]
    );
    assert_eq!(plan.changes[0].kind(), ChangeKind::Promote);
    // Promotion with a variable that differs from the merged result also updates the stage,
    // after the promotion.
    let next = config(&BASE.replace("\"r1\"", "\"r2\"").replace("\"v1\"", "\"v3\""));
    let plan = make_plan(&next, Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![
            (
                "rest_apis.api.stages.prod.canary".to_string(),
                vec![Action::Promote]
            ),
            (
                "rest_apis.api.stages.prod".to_string(),
                vec![Action::Update]
            ),
        ]
    );
    assert_eq!(
        texts(&plan.changes[1].depends_on),
        vec!["rest_apis.api.stages.prod.canary".to_string()]
    );
}

/// The stage's variables `after` a promotion, by key.
fn promoted_variables(plan: &Plan) -> Vec<(String, PlannedValue)> {
    let stage = plan
        .changes
        .iter()
        .find(|change| change.address.to_string() == "rest_apis.api.stages.prod")
        .expect("the stage's change");
    match &stage.after {
        Some(Desired::Stage(stage)) => stage
            .variables
            .iter()
            .filter(|(key, _)| *key != "key")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        other => panic!("not a stage: {other:?}"),
    }
}

/// Integrity 9: a promotion's plan shows the stage's net variables, what AWS ends with. When
/// the configuration agrees with the merged overrides, the stage's variables still change
/// from the recorded ones (by the promotion's call alone), so the stage's change is in the
/// plan with them; today it was left out and no variable line showed. When the
/// configuration's variables replace the overrides, the stage's `after` holds the file's
/// values, which the second `UpdateStage` sets.
#[test]
fn promotion_shows_the_stage_s_net_variables() {
    let (_, state) = applied(&format!("{BASE}{CANARY}"));
    let known = |value: &str| PlannedValue::Known {
        value: value.to_string(),
    };
    let merged = config(&BASE.replace("\"r1\"", "\"r2\"").replace("\"v1\"", "\"v2\""));
    let plan = make_plan(&merged, Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![
            (
                "rest_apis.api.stages.prod.canary".to_string(),
                vec![Action::Promote]
            ),
            (
                "rest_apis.api.stages.prod".to_string(),
                vec![Action::Update]
            ),
        ]
    );
    assert_eq!(
        promoted_variables(&plan),
        vec![("backend".to_string(), known("v2"))]
    );
    // Applied, the plan leaves a state the configuration agrees with.
    let after = apply_to(Some(&state), &plan);
    assert!(make_plan(&merged, Some(&after)).unwrap().changes.is_empty());

    // Targeting the canary alone plans its stage's change too: without it the stage would
    // keep the merged values while the plan said it ends as configured.
    let canary = Address::parse("rest_apis.api.stages.prod.canary").unwrap();
    let replaced = config(&BASE.replace("\"r1\"", "\"r2\""));
    let targeted = make_plan_with(&replaced, Some(&state), PlanMode::Normal, &[canary]).unwrap();
    assert_eq!(
        actions_of(&targeted),
        vec![
            (
                "rest_apis.api.stages.prod.canary".to_string(),
                vec![Action::Promote]
            ),
            (
                "rest_apis.api.stages.prod".to_string(),
                vec![Action::Update]
            ),
        ]
    );

    // The file keeps the stage's own value: the override is replaced and the stage ends
    // with "v1", as recorded.
    let replaced = config(&BASE.replace("\"r1\"", "\"r2\""));
    let plan = make_plan(&replaced, Some(&state)).unwrap();
    assert_eq!(
        promoted_variables(&plan),
        vec![("backend".to_string(), known("v1"))]
    );
}

/// A sensitive override is digested as the stage variable it overrides, so the promotion that
/// carries it to the stage carries a digest the stage's own digest of the same secret equals:
/// the secret is not planned as changed, and once applied nothing is left to do.
#[test]
fn a_promoted_secret_keeps_its_digest_on_the_stage() {
    let canary = CANARY.replace(
        "{ backend = \"v2\" }",
        "{ backend = \"v2\", key = { env = \"NEXT_KEY\" } }",
    );
    let (_, state) = applied(&format!("{BASE}{canary}"));
    let next = config(
        &BASE
            .replace("\"r1\"", "\"r2\"")
            .replace("\"v1\"", "\"v2\"")
            .replace("\"KEY\"", "\"NEXT_KEY\""),
    );
    let plan = make_plan(&next, Some(&state)).unwrap();
    let canary_address = Address::parse("rest_apis.api.stages.prod.canary").unwrap();
    let Some(ResourceState::Canary(recorded)) = &state.resources.get(&canary_address) else {
        panic!("no canary recorded");
    };
    let stage = plan
        .changes
        .iter()
        .find(|change| change.address.to_string() == "rest_apis.api.stages.prod")
        .and_then(|change| match &change.after {
            Some(Desired::Stage(stage)) => Some(stage),
            _ => None,
        })
        .expect("the stage's change");
    assert!(stage.variables["key"].matches(&recorded.variable_overrides["key"]));
    let after = apply_to(Some(&state), &plan);
    assert!(make_plan(&next, Some(&after)).unwrap().changes.is_empty());
}

#[test]
fn canary_removed_without_promotion_is_deleted() {
    let (_, state) = applied(&format!("{BASE}{CANARY}"));
    let plan = make_plan(&config(BASE), Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![(
            "rest_apis.api.stages.prod.canary".to_string(),
            vec![Action::Delete]
        )]
    );
    assert_eq!(plan.changes[0].kind(), ChangeKind::Delete);
}

#[test]
fn removed_stage_is_deleted_unless_protected() {
    let (_, state) = applied(&format!("{BASE}{CANARY}"));
    let plan = make_plan(&config("[rest_apis.api]\nid = \"abc\"\n"), Some(&state)).unwrap();
    assert_eq!(
        actions_of(&plan),
        vec![
            (
                "rest_apis.api.stages.prod.canary".to_string(),
                vec![Action::Delete]
            ),
            (
                "rest_apis.api.stages.prod".to_string(),
                vec![Action::Delete]
            ),
        ]
    );
    assert_eq!(
        texts(&plan.changes[1].depends_on),
        vec!["rest_apis.api.stages.prod.canary".to_string()]
    );
    let protected = config(&format!("{BASE}prevent_destroy = true\n"));
    let state = apply_to(None, &make_plan(&protected, None).unwrap());
    let error = make_plan_with(&protected, Some(&state), PlanMode::Destroy, &[]).unwrap_err();
    assert_eq!(
        error,
        PlanError::PreventDestroy {
            address: "rest_apis.api.stages.prod".to_string()
        }
    );
}

const BRANCH: &str = r#"
[amplify_apps.web]
id = "d1"
[amplify_apps.web.branches."feature/x"]
stage = "BETA"
environment = { API = "${rest_apis.api.stages.prod.invoke_url}", DEP = "${rest_apis.api.stages.prod.deployment_id}" }
basic_auth = { username = "u", password = "literal-password" }
artifact = "dist"
"#;

#[test]
fn branches_are_created_updated_redeployed_and_deleted() {
    let text = format!("{BASE}{BRANCH}");
    let config_1 = config(&text);
    let plan = make_plan(&config_1, None).unwrap();
    let branch = plan
        .changes
        .iter()
        .find(|c| c.address.kind() == stagecraft_config::ResourceKind::Branch)
        .unwrap();
    assert_eq!(branch.actions, vec![Action::Create, Action::ArtifactDeploy]);
    assert_eq!(
        texts(&branch.depends_on),
        vec!["rest_apis.api.stages.prod".to_string()]
    );
    let Some(Desired::Branch(desired)) = &branch.after else {
        panic!()
    };
    assert_eq!(
        desired.environment["API"],
        PlannedValue::Known {
            value: "https://abc.execute-api.us-east-1.amazonaws.com/prod".into()
        }
    );
    // The stage is new, so its deployment id is only known after apply.
    assert!(matches!(
        desired.environment["DEP"],
        PlannedValue::Deferred { .. }
    ));
    // A literal password is still sensitive.
    assert!(desired.basic_auth.as_ref().unwrap().1.is_sensitive());
    assert!(!plan.to_json().unwrap().contains("literal-password"));

    let state = apply_to(None, &plan);
    assert!(!make_plan(&config_1, Some(&state)).unwrap().has_changes());
    let plan = make_plan(&config(&text.replace("BETA", "DEVELOPMENT")), Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Update]);
    let plan = make_plan(
        &config(&text.replace("\"dist\"", "\"dist2\"")),
        Some(&state),
    )
    .unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::ArtifactDeploy]);
    let plan = make_plan(&config(BASE), Some(&state)).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Delete]);
}

#[test]
fn targets_bring_their_dependencies_and_destroy_plans_delete_everything() {
    let text = format!("{BASE}{BRANCH}\n[rest_apis.api.stages.dev]\nrevision = \"r1\"\n");
    let config = config(&text);
    let target = Address::parse("amplify_apps.web.branches.\"feature/x\"").unwrap();
    let plan = make_plan_with(
        &config,
        None,
        PlanMode::Normal,
        std::slice::from_ref(&target),
    )
    .unwrap();
    let addresses: Vec<String> = texts(plan.changes.iter().map(|c| &c.address));
    assert_eq!(
        addresses,
        vec![
            "rest_apis.api.stages.prod",
            "amplify_apps.web.branches.\"feature/x\""
        ]
    );
    let unknown = Address::parse("rest_apis.api.stages.nope").unwrap();
    assert!(matches!(
        make_plan_with(&config, None, PlanMode::Normal, &[unknown]),
        Err(PlanError::UnknownTarget { .. })
    ));
    let state = apply_to(None, &make_plan(&config, None).unwrap());
    let plan = make_plan_with(&config, Some(&state), PlanMode::Destroy, &[]).unwrap();
    assert_eq!(
        plan.summary(),
        Counts {
            import: 0,
            add: 0,
            change: 0,
            destroy: 3
        }
    );
}

#[test]
fn saved_plans_round_trip() {
    let plan = make_plan(&config(&format!("{BASE}{CANARY}{BRANCH}")), None).unwrap();
    assert_eq!(Plan::from_json(&plan.to_json().unwrap()).unwrap(), plan);
    let newer = plan.to_json().unwrap().replace(
        &format!("\"format_version\": {}", crate::plan::PLAN_FORMAT_VERSION),
        "\"format_version\": 7",
    );
    assert!(Plan::from_json(&newer).is_err());
}

/// The cache size and the Amplify stage are enums in the plan but keep the saved plan's shape:
/// AWS's spelling as a string, and a spelling that names none is refused on reading.
#[test]
fn saved_plans_spell_cache_sizes_and_amplify_stages_as_aws_does() {
    let cached = BASE.replace("description = \"Production\"", "cache_size = 0.5");
    let plan = make_plan(&config(&format!("{cached}{BRANCH}")), None).unwrap();
    let saved = plan.to_json().unwrap();
    assert!(saved.contains("\"cache_size\": \"0.5\""), "{saved}");
    assert!(saved.contains("\"stage\": \"BETA\""), "{saved}");
    let odd = saved.replace("\"cache_size\": \"0.5\"", "\"cache_size\": \"0.7\"");
    assert!(Plan::from_json(&odd).is_err());
    let odd = saved.replace("\"stage\": \"BETA\"", "\"stage\": \"beta\"");
    assert!(Plan::from_json(&odd).is_err());
}

/// A random valid configuration: APIs with up to ten stages, some with canaries, caches and
/// sensitive variables, and branches that refer to stages.
fn arbitrary_config() -> impl Strategy<Value = String> {
    let stage = (
        0u8..4,
        proptest::option::of(0usize..8),
        any::<bool>(),
        proptest::option::of((0u8..4, 0.0f64..100.0)),
        proptest::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{1,6}", 0..4),
        any::<bool>(),
    );
    let api = proptest::collection::vec(stage, 1..10);
    (proptest::collection::vec(api, 1..4), 0usize..4).prop_map(|(apis, branches)| {
        let mut text = String::new();
        for (a, stages) in apis.iter().enumerate() {
            text.push_str(&format!("[rest_apis.api{a}]\nid = \"id{a}\"\n"));
            for (s, (rev, cache, tracing, canary, vars, secret)) in stages.iter().enumerate() {
                text.push_str(&format!(
                    "[rest_apis.api{a}.stages.s{s}]\nrevision = \"r{rev}\"\ntracing = {tracing}\n"
                ));
                if let Some(cache) = cache {
                    text.push_str(&format!("cache_size = \"{}\"\n", stagecraft_config::CacheSize::ALL[*cache].1));
                }
                let mut pairs: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect();
                if *secret {
                    pairs.push("secret = { env = \"SECRET\" }".to_string());
                }
                if s > 0 {
                    pairs.push(format!("prev = \"${{rest_apis.api{a}.stages.s{}.invoke_url}}\"", s - 1));
                }
                text.push_str(&format!("variables = {{ {} }}\n", pairs.join(", ")));
                if let Some((crev, percent)) = canary {
                    text.push_str(&format!(
                        "[rest_apis.api{a}.stages.s{s}.canary]\nrevision = \"c{crev}\"\npercent_traffic = {percent:.1}\n"
                    ));
                }
            }
        }
        text.push_str("[amplify_apps.app]\nid = \"d1\"\n");
        for b in 0..branches {
            text.push_str(&format!(
                "[amplify_apps.app.branches.b{b}]\nartifact = \"dist\"\nenvironment = {{ API = \"${{rest_apis.api0.stages.s0.invoke_url}}\", DEP = \"${{rest_apis.api0.stages.s0.deployment_id}}\" }}\n"
            ));
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_converges(text in arbitrary_config()) {
        let config = config(&text);
        let plan = make_plan(&config, None).unwrap();
        prop_assert_eq!(plan.summary().add, config.addresses().len());
        // Deferred values settle once what they refer to is applied: apply until stable,
        // which must take at most two rounds.
        let mut state = apply_to(None, &plan);
        let second = make_plan(&config, Some(&state)).unwrap();
        state = apply_to(Some(&state), &second);
        let third = make_plan(&config, Some(&state)).unwrap();
        prop_assert!(!third.has_changes(), "{:?}", actions_of(&third));
        // Deleting the configuration destroys everything recorded, canaries first.
        let empty = stagecraft_config::parse("[project]\nname = \"t\"\n", &TestHost).unwrap();
        let destroy = make_plan(&empty, Some(&state)).unwrap();
        prop_assert_eq!(destroy.summary().destroy, state.resources.len());
        let _ = Secrets::default();
    }
}

/// Guards issue 10: in `cn-` regions an invoke URL ends in `amazonaws.com.cn` (it was always
/// built with `amazonaws.com`); elsewhere, GovCloud included, `amazonaws.com`.
#[test]
fn invoke_urls_use_the_partitions_dns_suffix() {
    assert_eq!(dns_suffix("cn-north-1"), "amazonaws.com.cn");
    assert_eq!(dns_suffix("cn-northwest-1"), "amazonaws.com.cn");
    assert_eq!(dns_suffix("us-east-1"), "amazonaws.com");
    assert_eq!(dns_suffix("us-gov-west-1"), "amazonaws.com");
    assert_eq!(dns_suffix("eu-central-1"), "amazonaws.com");

    let mut config_cn = config(&format!("{BASE}{BRANCH}"));
    config_cn.project.region = Some("cn-north-1".to_string());
    let plan = make_plan(&config_cn, None).unwrap();
    let branch = plan
        .changes
        .iter()
        .find(|c| c.address.kind() == stagecraft_config::ResourceKind::Branch)
        .unwrap();
    let Some(Desired::Branch(desired)) = &branch.after else {
        panic!("the branch has no desired state")
    };
    assert_eq!(
        desired.environment["API"],
        PlannedValue::Known {
            value: "https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod".into()
        }
    );
}

/// A new stage at a revision the state already maps is created on that revision's deployment
/// (one snapshot per revision), and the plan says so: the id is known, not "(known after
/// apply)".
#[test]
fn a_new_stage_at_a_deployed_revision_is_planned_on_its_deployment() {
    let (_, state) = applied(BASE);
    let known = state.deployment_of("abc", "r1").unwrap().to_string();
    let more = config(&format!(
        "{BASE}[rest_apis.api.stages.staging]\nrevision = \"r1\"\n[rest_apis.api.stages.dev]\nrevision = \"r9\"\n"
    ));
    let plan = make_plan(&more, Some(&state)).unwrap();
    let recorded = |address: &str| {
        plan.changes
            .iter()
            .find(|change| change.address.to_string() == address)
            .and_then(|change| match &change.after {
                Some(Desired::Stage(stage)) => stage.recorded_deployment.clone(),
                _ => None,
            })
    };
    assert_eq!(
        recorded("rest_apis.api.stages.staging"),
        Some(known.clone())
    );
    assert_eq!(recorded("rest_apis.api.stages.dev"), None);
    let text = crate::render::text(&plan, crate::render::TextStyle { color: false });
    assert!(
        text.contains(&format!("deployment_id = \"{known}\"")),
        "{text}"
    );
}

fn flagged(
    config: &Config,
    state: &State,
    replace: &[&str],
    exclude: &[&str],
) -> Result<Plan, PlanError> {
    let parse = |texts: &[&str]| -> Vec<Address> {
        texts.iter().map(|t| Address::parse(t).unwrap()).collect()
    };
    make_plan_flags(
        config,
        Some(state),
        PlanMode::Normal,
        &[],
        &parse(replace),
        &parse(exclude),
    )
}

#[test]
fn replace_redeploys_an_unchanged_stage_canary_and_branch() {
    let text = format!(
        "{BASE}{BRANCH}\n[rest_apis.api.stages.prod.canary]\nrevision = \"r2\"\npercent_traffic = 10.0\n"
    );
    let (config, state) = applied(&text);
    assert!(!make_plan(&config, Some(&state)).unwrap().has_changes());
    let plan = flagged(
        &config,
        &state,
        &[
            "rest_apis.api.stages.prod",
            "rest_apis.api.stages.prod.canary",
            "amplify_apps.web.branches.\"feature/x\"",
        ],
        &[],
    )
    .unwrap();
    let replaced: Vec<(String, Vec<Action>, bool)> = plan
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.actions.clone(), c.replace))
        .collect();
    assert_eq!(
        replaced,
        vec![
            (
                "rest_apis.api.stages.prod".to_string(),
                vec![Action::Redeploy],
                true
            ),
            (
                "rest_apis.api.stages.prod.canary".to_string(),
                vec![Action::CanaryDeploy],
                true
            ),
            // Its environment has prod's deployment id, which the replacement changes.
            (
                "amplify_apps.web.branches.\"feature/x\"".to_string(),
                vec![Action::Update, Action::ArtifactDeploy],
                true
            ),
        ]
    );
    assert!(plan.changes.iter().all(|c| c.kind() == ChangeKind::Update));
    // The saved plan records the replacement: it is the plan.
    let saved: Plan = serde_json::from_str(&plan.to_json().unwrap()).unwrap();
    assert!(saved.changes.iter().all(|c| c.replace));
    let json = crate::render::json(&plan);
    assert_eq!(
        json.matches("\"action_reason\": \"replace_by_request\"")
            .count(),
        3
    );
}

#[test]
fn replace_of_a_rollback_makes_a_new_deployment_and_unknown_addresses_are_refused() {
    let (_, state) = applied(BASE);
    let r2 = config(&BASE.replace("\"r1\"", "\"r2\""));
    let state = apply_to(Some(&state), &make_plan(&r2, Some(&state)).unwrap());
    let back = config(BASE);
    let plan = flagged(&back, &state, &["rest_apis.api.stages.prod"], &[]).unwrap();
    assert_eq!(actions_of(&plan)[0].1, vec![Action::Redeploy]);
    for (replace, exclude) in [
        (&["rest_apis.api.stages.nope"][..], &[][..]),
        (&[], &["rest_apis.api.stages.nope"]),
    ] {
        let error = flagged(&back, &state, replace, exclude).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "--{} rest_apis.api.stages.nope names no resource in the configuration or the state",
                if replace.is_empty() {
                    "exclude"
                } else {
                    "replace"
                }
            )
        );
    }
}

#[test]
fn exclude_leaves_out_the_resource_and_its_dependents() {
    let text = format!("{BASE}{BRANCH}\n[rest_apis.api.stages.dev]\nrevision = \"r1\"\n");
    let config = config(&text);
    let state = State::new("t", "lineage".to_string());
    let plan = flagged(&config, &state, &[], &["rest_apis.api.stages.prod"]).unwrap();
    assert_eq!(
        texts(plan.changes.iter().map(|c| &c.address)),
        vec!["rest_apis.api.stages.dev"]
    );
    let plan = flagged(
        &config,
        &state,
        &[],
        &["amplify_apps.web.branches.\"feature/x\""],
    )
    .unwrap();
    assert_eq!(
        texts(plan.changes.iter().map(|c| &c.address)),
        vec!["rest_apis.api.stages.dev", "rest_apis.api.stages.prod"]
    );
}
