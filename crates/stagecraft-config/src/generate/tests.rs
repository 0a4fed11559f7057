#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Host, PathInfo};

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Missing
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

fn adopted() -> Adopted {
    Adopted {
        project: "adopted".into(),
        region: Some("us-east-1".into()),
        rest_apis: vec![AdoptedApi {
            id: "abc123".into(),
            stages: vec![
                AdoptedStage {
                    name: "prod".into(),
                    revision: "2026-11-20.1".into(),
                    description: Some("Production \"main\"".into()),
                    tracing: true,
                    variables: BTreeMap::from([("backend".into(), "orders-prod".into())]),
                    cache_size: Some("0.5".into()),
                    canary: Some(AdoptedCanary {
                        revision: "deployment-dep2".into(),
                        percent_traffic: 12.5,
                        variable_overrides: BTreeMap::from([("backend".into(), "next".into())]),
                        use_stage_cache: false,
                    }),
                },
                AdoptedStage {
                    name: "staging".into(),
                    revision: "deployment-dep1".into(),
                    ..AdoptedStage::default()
                },
            ],
        }],
        amplify_apps: vec![AdoptedApp {
            id: "d1abc".into(),
            branches: vec![
                AdoptedBranch {
                    name: "feature/x".into(),
                    stage: Some("BETA".into()),
                    framework: Some("React".into()),
                    description: Some("preview".into()),
                    environment: BTreeMap::from([("API_URL".into(), "https://x".into())]),
                    basic_auth: true,
                },
                AdoptedBranch {
                    name: "main".into(),
                    ..AdoptedBranch::default()
                },
            ],
        }],
    }
}

#[test]
fn the_generated_file_is_valid_formatted_and_imports_every_resource() {
    let text = generate(&adopted());
    // Valid, with every value it was given.
    let config = crate::parse(&text, &NoHost).unwrap();
    let prod = config.stage("abc123", "prod").unwrap();
    assert_eq!(prod.revision, "2026-11-20.1");
    assert_eq!(prod.description.as_deref(), Some("Production \"main\""));
    assert!(prod.tracing);
    assert_eq!(prod.cache_size.map(|size| size.as_str()), Some("0.5"));
    let canary = prod.canary.as_ref().unwrap();
    assert_eq!(canary.percent_traffic, 12.5);
    assert_eq!(canary.revision, "deployment-dep2");
    let branch = config.branch("d1abc", "feature/x").unwrap();
    assert!(branch.basic_auth.is_some());
    assert!(branch.artifact.is_none());
    let imported: Vec<String> = config.imports.iter().map(|i| i.to.to_string()).collect();
    assert_eq!(
        imported,
        [
            "rest_apis.abc123.stages.prod",
            "rest_apis.abc123.stages.prod.canary",
            "rest_apis.abc123.stages.staging",
            "amplify_apps.d1abc.branches.\"feature/x\"",
            "amplify_apps.d1abc.branches.main",
        ]
    );
    // Already in fmt's form.
    assert_eq!(crate::format(&text).unwrap(), text);
    insta::assert_snapshot!("generated", text);
}

#[test]
fn revision_labels_name_stagecraft_snapshots_or_the_deployment() {
    assert_eq!(
        revision_label("d1", Some("2026-11-20.1 (stagecraft 9f0e-lineage run1-3)")),
        "2026-11-20.1"
    );
    assert_eq!(
        revision_label("d1", Some("v2 (build) (stagecraft l n)")),
        "v2 (build)"
    );
    assert_eq!(revision_label("d1", Some("made by hand")), "deployment-d1");
    assert_eq!(
        revision_label("d1", Some(" (stagecraft l n)")),
        "deployment-d1"
    );
    assert_eq!(revision_label("d1", None), "deployment-d1");
}

#[test]
fn keys_are_sanitized_and_collisions_numbered_in_order() {
    let mut taken = BTreeSet::new();
    assert_eq!(key_for("api", "abc", &mut taken), "abc");
    assert_eq!(key_for("api", "abc", &mut taken), "abc_2");
    assert_eq!(key_for("api", "a.b", &mut taken), "a_b");
    assert_eq!(key_for("api", "", &mut taken), "api");
    assert_eq!(
        env_name(&["AMPLIFY", "d1", "feature/x", "PASSWORD"]),
        "AMPLIFY_D1_FEATURE_X_PASSWORD"
    );
}

#[test]
fn nothing_asked_for_is_a_project_alone() {
    let text = generate(&Adopted {
        project: "p".into(),
        ..Adopted::default()
    });
    let config = crate::parse(&text, &NoHost).unwrap();
    assert!(config.rest_apis.is_empty() && config.imports.is_empty());
}
