#![allow(clippy::unwrap_used)]

use super::*;

fn target(text: &str) -> RefactorTarget {
    RefactorTarget::parse(text).unwrap()
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

#[test]
fn targets_parse_resources_apis_and_apps() {
    assert_eq!(target("rest_apis.a"), RefactorTarget::RestApi("a".into()));
    assert_eq!(
        target("amplify_apps.w"),
        RefactorTarget::AmplifyApp("w".into())
    );
    assert_eq!(
        target("rest_apis.a.stages.prod"),
        RefactorTarget::Resource(address("rest_apis.a.stages.prod"))
    );
    assert!(RefactorTarget::parse("rest_apis.").is_err());
    assert!(RefactorTarget::parse("rest_apis.a.stages").is_err());
    assert!(RefactorTarget::parse("nothing").is_err());
    assert_eq!(target("rest_apis.a").to_string(), "rest_apis.a");
}

#[test]
fn a_stage_move_carries_its_canary_and_an_api_move_all_its_stages() {
    let stage = target("rest_apis.a.stages.old");
    let to = target("rest_apis.a.stages.new");
    assert_eq!(
        stage.rekey(&to, &address("rest_apis.a.stages.old")),
        Some(address("rest_apis.a.stages.new"))
    );
    assert_eq!(
        stage.rekey(&to, &address("rest_apis.a.stages.old.canary")),
        Some(address("rest_apis.a.stages.new.canary"))
    );
    assert_eq!(stage.rekey(&to, &address("rest_apis.a.stages.other")), None);
    let api = target("rest_apis.a");
    assert_eq!(
        api.rekey(
            &target("rest_apis.b"),
            &address("rest_apis.a.stages.x.canary")
        ),
        Some(address("rest_apis.b.stages.x.canary"))
    );
    assert_eq!(
        api.rekey(&target("rest_apis.b"), &address("rest_apis.ab.stages.x")),
        None
    );
    let app = target("amplify_apps.w");
    assert_eq!(
        app.rekey(
            &target("amplify_apps.v"),
            &address("amplify_apps.w.branches.main")
        ),
        Some(address("amplify_apps.v.branches.main"))
    );
    assert!(!app.covers(&address("rest_apis.w.stages.main")));
}
