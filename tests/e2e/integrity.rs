//! Files stagecraft reads and must not misread: a state whose resource map does not say
//! unambiguously what is recorded (`docs/behaviour.md`, "State"), and a saved plan edited after
//! it was saved ("Saved plans"), are refused before anything is sent or written.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::{self, Proxied, stagecraft_at};
use crate::support::Run;

/// A project with one stage, run through a counting proxy in front of LocalStack.
struct Project {
    dir: tempfile::TempDir,
    proxy: Proxied,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[project]\nname = \"integrity\"\nregion = \"us-east-1\"\n\n[rest_apis.orders]\nid = \"{}\"\n\
             [rest_apis.orders.stages.prod]\nrevision = \"r1\"\ndescription = \"Production\"\n",
            aws::new_api()
        );
        std::fs::write(dir.path().join("deploy.toml"), text).unwrap();
        Project {
            dir,
            proxy: Proxied::counting(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        stagecraft_at(self.dir.path(), &self.proxy.endpoint(), args, &[])
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Every call the proxy saw since the last look, reads included.
    fn calls(&self) -> BTreeMap<String, u64> {
        self.proxy.take_counts()
    }
}

/// A stage record of `prod`, as the state file holds it.
const PROD: &str = r#"{"kind": "apigateway_stage", "rest_api_id": "x", "stage_name": "prod",
  "revision": "r1", "deployment_id": "d1", "description": "Production", "tracing": false,
  "variables": {}}"#;

/// A canary record of `prod`.
const PROD_CANARY: &str = r#"{"kind": "apigateway_canary", "rest_api_id": "x",
  "stage_name": "prod", "revision": "r2", "deployment_id": "d2", "percent_traffic": 10.0}"#;

fn state_with(resources: &str) -> String {
    format!(
        "{{\"format_version\": 1, \"lineage\": \"l\", \"serial\": 3, \"project\": \"integrity\",\n\
         \"deployments\": {{}},\n\"resources\": {{{resources}}}}}\n"
    )
}

/// Integrity 1: `plan` ignored a key that is not an address, and `apply` deployed the stage
/// again and kept the key where no command could delete it. A state with such a key, with a
/// record of another kind than its address names, or naming one resource twice, is refused:
/// exit 1, the key named, nothing sent, the state and its folder left as they were.
#[test]
fn a_state_that_does_not_say_what_it_records_is_refused() {
    let project = Project::new();
    let cases = [
        (format!("\"nonsense\": {PROD}"), "nonsense"),
        (
            format!("\"rest_apis..stages\": {PROD}"),
            "rest_apis..stages",
        ),
        (
            format!("\"rest_apis.orders.stages.prod\": {PROD_CANARY}"),
            "rest_apis.orders.stages.prod",
        ),
        (
            format!(
                "\"rest_apis.orders.stages.prod\": {PROD}, \"rest_apis.orders.stages.prod\": {PROD}"
            ),
            "rest_apis.orders.stages.prod",
        ),
        (
            format!(
                "\"rest_apis.orders.stages.prod\": {PROD}, \"rest_apis.\\\"orders\\\".stages.prod\": {PROD}"
            ),
            "rest_apis.\"orders\".stages.prod",
        ),
    ];
    for (resources, key) in cases {
        let text = state_with(&resources);
        std::fs::write(project.path("stagecraft.state.json"), &text).unwrap();
        project.calls();
        for args in [
            &["plan"][..],
            &["plan", "--refresh"],
            &["apply", "--auto-approve"],
        ] {
            let run = project.run(args);
            assert_eq!(
                run.code, 1,
                "{args:?} with {key}:\n{}\n{}",
                run.stdout, run.stderr
            );
            assert!(
                run.stderr.contains(key),
                "{args:?}: the key {key} is not named:\n{}",
                run.stderr
            );
            assert_eq!(
                project.calls(),
                BTreeMap::new(),
                "{args:?} with {key} sent calls"
            );
            assert_eq!(
                std::fs::read_to_string(project.path("stagecraft.state.json")).unwrap(),
                text,
                "{args:?} with {key} changed the state"
            );
            assert_only_config_and_state(project.dir.path());
        }
    }
}

/// Integrity 2: a saved plan whose description was edited (still valid JSON) was applied as
/// edited. `apply FILE` and `show FILE` refuse it: exit 1, the edit named, nothing sent.
#[test]
fn a_saved_plan_edited_after_it_was_saved_is_refused() {
    let project = Project::new();
    let saved = project.run(&["plan", "--out", "reviewed.plan"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let text = std::fs::read_to_string(project.path("reviewed.plan")).unwrap();
    let edited = text.replace("\"Production\"", "\"Not what was reviewed\"");
    assert_ne!(edited, text);
    std::fs::write(project.path("reviewed.plan"), &edited).unwrap();
    project.calls();
    for args in [&["show", "reviewed.plan"][..], &["apply", "reviewed.plan"]] {
        let run = project.run(args);
        assert_eq!(run.code, 1, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("changed after it was saved"),
            "{args:?}:\n{}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("Not what was reviewed"),
            "{}",
            run.stdout
        );
        assert_eq!(project.calls(), BTreeMap::new(), "{args:?} sent calls");
    }
    assert!(!project.path("stagecraft.state.json").exists());
    // The plan as saved is still good.
    std::fs::write(project.path("reviewed.plan"), &text).unwrap();
    let shown = project.run(&["show", "reviewed.plan"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("Production"), "{}", shown.stdout);
}

/// Nothing but the configuration and the state (and the lock file beside it) is in `dir`: no
/// backup, journal or saved state was written.
fn assert_only_config_and_state(dir: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".lock"))
        .collect();
    names.sort();
    assert_eq!(names, ["deploy.toml", "stagecraft.state.json"]);
}
