#![allow(clippy::unwrap_used)]

use stagecraft_config::Address;

use crate::plan::{Action, PlanError};
use crate::render::{MARKDOWN_LIMIT, TextStyle, json, markdown, text};
use crate::test_support::{apply_to, config, make_plan};

const OLD: &str = r#"
[rest_apis.api]
id = "abc"
[rest_apis.api.stages.old]
revision = "r1"
[rest_apis.api.stages.old.canary]
revision = "r2"
percent_traffic = 10.0
[amplify_apps.web]
id = "d1"
[amplify_apps.web.branches.main]
"#;

/// OLD with its stage (and canary) declared under a second key of the same REST API, and the
/// [[moved]] block that says so.
fn split(old: &str) -> String {
    old.replace("rest_apis.api.stages", "rest_apis.orders.stages")
        + "[rest_apis.orders]\nid = \"abc\"\n"
        + "[[moved]]\nfrom = \"rest_apis.api.stages.old\"\nto = \"rest_apis.orders.stages.old\"\n"
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

fn applied() -> crate::state::State {
    let plan = make_plan(&config(OLD), None).unwrap();
    apply_to(None, &plan)
}

#[test]
fn a_moved_stage_and_its_canary_are_rekeyed_with_no_change() {
    let state = applied();
    let moved = split(OLD);
    let plan = make_plan(&config(&moved), Some(&state)).unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.has_changes());
    let moves: Vec<(String, String)> = plan
        .moves
        .iter()
        .map(|m| (m.from.to_string(), m.to.to_string()))
        .collect();
    assert_eq!(
        moves,
        [
            (
                "rest_apis.api.stages.old".into(),
                "rest_apis.orders.stages.old".into()
            ),
            (
                "rest_apis.api.stages.old.canary".into(),
                "rest_apis.orders.stages.old.canary".into()
            ),
        ]
    );
    let rendered = text(&plan, TextStyle { color: false });
    assert!(
        rendered
            .contains("  # rest_apis.api.stages.old has moved to rest_apis.orders.stages.old\n"),
        "{rendered}"
    );
    assert!(rendered.contains("Plan: 0 to add, 0 to change, 0 to destroy."));
    let document: serde_json::Value = serde_json::from_str(&json(&plan)).unwrap();
    assert_eq!(
        document["resource_moves"][0]["to"],
        "rest_apis.orders.stages.old"
    );
    // Applied: the records are under the new keys, and the next plan is empty.
    let after = apply_to(Some(&state), &plan);
    assert!(
        after
            .resources
            .contains_key(&address("rest_apis.orders.stages.old.canary"))
    );
    assert!(
        !after
            .resources
            .contains_key(&address("rest_apis.api.stages.old"))
    );
    assert_eq!(
        after.resources[&address("rest_apis.orders.stages.old")],
        state.resources[&address("rest_apis.api.stages.old")]
    );
    let again = make_plan(&config(&moved), Some(&after)).unwrap();
    assert!(
        !again.has_changes(),
        "an applied move is a no-op: {:?}",
        again.moves
    );
}

#[test]
fn a_moved_resource_that_also_changed_shows_the_move_and_the_change() {
    let state = applied();
    let moved = split(&OLD.replacen("\"r1\"", "\"r3\"", 1));
    let plan = make_plan(&config(&moved), Some(&state)).unwrap();
    assert_eq!(plan.moves.len(), 2);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].address,
        address("rest_apis.orders.stages.old")
    );
    assert_eq!(plan.changes[0].actions, [Action::Redeploy]);
}

#[test]
fn a_whole_api_and_a_whole_app_move() {
    let state = applied();
    let moved = OLD
        .replace("rest_apis.api", "rest_apis.orders")
        .replace("amplify_apps.web", "amplify_apps.site")
        + "[[moved]]\nfrom = \"rest_apis.api\"\nto = \"rest_apis.orders\"\n"
        + "[[moved]]\nfrom = \"amplify_apps.web\"\nto = \"amplify_apps.site\"\n";
    let plan = make_plan(&config(&moved), Some(&state)).unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.moves.len(), 3);
    let after = apply_to(Some(&state), &plan);
    assert!(
        after
            .resources
            .contains_key(&address("amplify_apps.site.branches.main"))
    );
    assert!(
        after
            .resources
            .contains_key(&address("rest_apis.orders.stages.old.canary"))
    );
    assert_eq!(after.resources.len(), 3);
}

#[test]
fn a_move_onto_a_recorded_address_or_another_aws_object_is_refused() {
    // Both keys recorded: the move would put two records on one address.
    let both = OLD.to_string()
        + &OLD
            .replace("rest_apis.api.stages", "rest_apis.orders.stages")
            .replace(
                "[rest_apis.api]\nid = \"abc\"\n",
                "[rest_apis.orders]\nid = \"abc\"\n",
            )
            .replace(
                "[amplify_apps.web]\nid = \"d1\"\n[amplify_apps.web.branches.main]\n",
                "",
            );
    let state = apply_to(None, &make_plan(&config(&both), None).unwrap());
    let error = make_plan(&config(&split(OLD)), Some(&state)).unwrap_err();
    assert!(
        matches!(error, PlanError::MoveTargetExists { .. }),
        "{error:?}"
    );
    // A stage's key is its AWS name, and AWS renames no stage: a move to another name is
    // refused rather than recorded as a stage that does not exist.
    let state = applied();
    let renamed = OLD.replace("stages.old", "stages.new")
        + "[[moved]]\nfrom = \"rest_apis.api.stages.old\"\nto = \"rest_apis.api.stages.new\"\n";
    let error = make_plan(&config(&renamed), Some(&state)).unwrap_err();
    let PlanError::MoveRenames {
        recorded, declared, ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (recorded.as_str(), declared.as_str()),
        ("abc/old", "abc/new")
    );
}

#[test]
fn removed_without_destroy_forgets_and_with_destroy_deletes() {
    let state = applied();
    let without = OLD.replace("[amplify_apps.web.branches.main]\n", "");
    let forget = without.clone()
        + "[[removed]]\nfrom = \"amplify_apps.web.branches.main\"\ndestroy = false\n";
    let plan = make_plan(&config(&forget), Some(&state)).unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.forgets, [address("amplify_apps.web.branches.main")]);
    let rendered = text(&plan, TextStyle { color: false });
    assert!(rendered.contains(
        "  # amplify_apps.web.branches.main will be removed from the state, not destroyed\n"
    ));
    let after = apply_to(Some(&state), &plan);
    assert!(
        !after
            .resources
            .contains_key(&address("amplify_apps.web.branches.main"))
    );
    assert_eq!(after.resources.len(), 2);

    let destroy =
        without + "[[removed]]\nfrom = \"amplify_apps.web.branches.main\"\ndestroy = true\n";
    let plan = make_plan(&config(&destroy), Some(&state)).unwrap();
    assert!(plan.forgets.is_empty());
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].actions, [Action::Delete]);
}

#[test]
fn a_block_naming_nothing_recorded_does_nothing() {
    let moved = OLD.replace("stages.old", "stages.new")
        + "[[moved]]\nfrom = \"rest_apis.api.stages.old\"\nto = \"rest_apis.api.stages.new\"\n"
        + "[[removed]]\nfrom = \"rest_apis.gone\"\ndestroy = false\n";
    let plan = make_plan(&config(&moved), None).unwrap();
    assert!(plan.moves.is_empty() && plan.forgets.is_empty());
    assert_eq!(plan.changes.len(), 3, "created at the new address");
}

#[test]
fn markdown_shows_moves_and_forgets_under_the_summary() {
    let state = applied();
    let moved = split(&OLD.replace("[amplify_apps.web.branches.main]\n", ""))
        + "[[removed]]\nfrom = \"amplify_apps.web.branches.main\"\ndestroy = false\n";
    let plan = make_plan(&config(&moved), Some(&state)).unwrap();
    let comment = markdown(&plan, MARKDOWN_LIMIT);
    assert!(
        comment.contains(": 0 to add, 0 to change, 0 to destroy\n"),
        "{comment}"
    );
    assert!(
        comment.contains(
            "```\n  # rest_apis.api.stages.old has moved to rest_apis.orders.stages.old\n"
        ),
        "{comment}"
    );
    assert!(
        comment.contains(
            "  # amplify_apps.web.branches.main will be removed from the state, not destroyed\n```"
        ),
        "{comment}"
    );
}
