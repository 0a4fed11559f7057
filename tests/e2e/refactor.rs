//! `[[moved]]` and `[[removed]]` against LocalStack through the counting proxy: a REST API's key
//! renamed re-keys its stage in the state with no mutating call, and a removed stage is
//! forgotten and stays in AWS.

use std::path::Path;

use crate::aws::{self, Proxied, stagecraft_at};
use crate::fleet;

/// The operations the proxy saw that change something in AWS.
fn mutating(proxy: &Proxied) -> Vec<String> {
    proxy
        .take_counts()
        .into_keys()
        .filter(|operation| !operation.starts_with("Get") && !operation.starts_with("List"))
        .collect()
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("deploy.toml"), text).unwrap();
}

#[test]
fn a_moved_api_key_and_a_removed_stage_change_only_the_state() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let head = "[project]\nname = \"refactor\"\n[aws]\ncreate_deployment_interval = \"50ms\"\n";
    write(
        dir.path(),
        &format!(
            "{head}[rest_apis.orders]\nid = \"{api}\"\n\
             [rest_apis.orders.stages.prod]\nrevision = \"r1\"\n\
             [rest_apis.orders.stages.old]\nrevision = \"r1\"\n"
        ),
    );
    let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let before = fleet::state(dir.path());
    let deployment = aws::stage(&api, "prod").unwrap().deployment_id.unwrap();
    proxy.take_counts();

    // The API's key renamed, and `old` taken out of stagecraft's hands.
    write(
        dir.path(),
        &format!(
            "{head}[rest_apis.shop]\nid = \"{api}\"\n\
             [rest_apis.shop.stages.prod]\nrevision = \"r1\"\n\
             [[moved]]\nfrom = \"rest_apis.orders\"\nto = \"rest_apis.shop\"\n\
             [[removed]]\nfrom = \"rest_apis.orders.stages.old\"\ndestroy = false\n"
        ),
    );
    let plan = stagecraft_at(dir.path(), &via, &["--no-color", "plan"], &[]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("  # rest_apis.orders.stages.prod has moved to rest_apis.shop.stages.prod\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "  # rest_apis.orders.stages.old will be removed from the state, not destroyed\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to destroy."),
        "no create or destroy: {}",
        plan.stdout
    );
    let json = stagecraft_at(dir.path(), &via, &["plan", "--format", "json"], &[]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["resource_changes"], serde_json::json!([]));
    assert_eq!(
        document["resource_moves"][0]["to"],
        "rest_apis.shop.stages.prod"
    );
    assert_eq!(
        document["resource_forgets"][0],
        "rest_apis.orders.stages.old"
    );

    let apply = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("Apply complete!"), "{}", apply.stdout);
    assert_eq!(
        mutating(&proxy),
        Vec::<String>::new(),
        "no mutating AWS call"
    );

    let after = fleet::state(dir.path());
    let resources = after["resources"].as_object().unwrap();
    let keys: Vec<&String> = resources.keys().collect();
    assert_eq!(keys, ["rest_apis.shop.stages.prod"]);
    assert_eq!(
        resources["rest_apis.shop.stages.prod"],
        before["resources"]["rest_apis.orders.stages.prod"],
        "the record itself is unchanged"
    );
    assert_eq!(after["serial"], before["serial"].as_u64().unwrap() + 1);
    // AWS is as it was: both stages, prod on its deployment, nothing new deployed.
    assert_eq!(aws::stages(&api).len(), 2);
    assert!(aws::stage(&api, "old").is_some(), "forgotten, not deleted");
    assert_eq!(
        aws::stage(&api, "prod").unwrap().deployment_id.unwrap(),
        deployment
    );
    assert_eq!(aws::deployments(&api), 1);

    // The blocks are done: the next plan is empty.
    let again = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}
