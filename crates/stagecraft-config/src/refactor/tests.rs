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

#[test]
fn blocks_are_gathered_from_every_config_file() {
    let file = |name: &str, text: &str| crate::InputFile {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
        folder: String::new(),
    };
    let base = "[project]\nname = \"p\"\n[rest_apis.b]\nid = \"abc\"\n[rest_apis.b.stages.s]\n\
                revision = \"1\"\n[[moved]]\nfrom = \"rest_apis.a\"\nto = \"rest_apis.b\"\n";
    let prod = "[[removed]]\nfrom = \"amplify_apps.w\"\ndestroy = false\n\
                [[moved]]\nfrom = \"rest_apis.b.stages.t\"\nto = \"rest_apis.b.stages.s\"\n";
    struct NoHost;
    impl crate::Host for NoHost {
        fn inspect_path(&self, _: &str) -> crate::PathInfo {
            crate::PathInfo::Directory
        }
        fn env_var(&self, _: &str) -> Option<String> {
            None
        }
    }
    let input = crate::Input {
        configs: vec![file("base.toml", base), file("prod.toml", prod)],
        var_files: Vec::new(),
        vars: Vec::new(),
    };
    let (parsed, _) = crate::parse_input(input, &NoHost);
    let config = parsed.into_result().unwrap();
    let froms: Vec<String> = config.moved.iter().map(|m| m.from.to_string()).collect();
    assert_eq!(froms, ["rest_apis.a", "rest_apis.b.stages.t"]);
    assert_eq!(config.removed.len(), 1);
}
