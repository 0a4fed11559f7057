//! `promote_in_config`: the edited text (snapshots), what it leaves valid, and each refusal.
#![allow(clippy::unwrap_used)]

use crate::*;

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Directory
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

fn prod() -> Address {
    Address::parse("rest_apis.orders.stages.prod").unwrap()
}

fn one(text: &str) -> Result<Edited, EditError> {
    promote_in_config(
        &[ConfigText {
            name: "deploy.toml",
            text,
        }],
        &prod(),
        "r2",
    )
}

const FILE: &str = r#"# The storefront's stages.
[project]
name = "storefront"

[rest_apis.orders]
id = "a1b2c3d4e5"

# Production: promoted by rollouts.
[rest_apis.orders.stages.prod]
revision = "r1"   # bumped by CI
variables = { backend = "orders-prod" }

# The canary of the next release.
[rest_apis.orders.stages.prod.canary]
revision = "r2"
variable_overrides = { backend = "orders-next" }

[rest_apis.orders.stages.prod.canary.rollout]
steps = [5, 25, 50]   # percent
bake = "10m"
alarms = ["orders-5xx"]

# Staging follows main.
[rest_apis.orders.stages.staging]
revision = "r3"
"#;

#[test]
fn the_revision_is_set_and_the_canary_goes_with_every_other_comment_kept() {
    let edited = one(FILE).unwrap();
    let text = edited[0].as_deref().unwrap();
    insta::assert_snapshot!(text);
    let config = parse(text, &NoHost).unwrap();
    let stage = config.stage("orders", "prod").unwrap();
    assert_eq!(stage.revision, "r2");
    assert!(stage.canary.is_none());
    for comment in [
        "# The storefront's stages.",
        "# bumped by CI",
        "# Staging follows main.",
    ] {
        assert!(text.contains(comment), "{comment} lost");
    }
    assert!(!text.contains("# percent"));
}

#[test]
fn an_inline_canary_goes_too() {
    let text = r#"[project]
name = "p"

[rest_apis.orders]
id = "abc"
stages.prod = { revision = "r1", canary = { revision = "r2", rollout = { steps = [5], bake = "1m" } } }
"#;
    let edited = one(text).unwrap();
    insta::assert_snapshot!(edited[0].as_deref().unwrap());
    let config = parse(edited[0].as_deref().unwrap(), &NoHost).unwrap();
    assert_eq!(config.stage("orders", "prod").unwrap().revision, "r2");
}

#[test]
fn a_revision_written_as_a_variable_is_refused() {
    let text = FILE.replace("revision = \"r1\"", "revision = \"${var.release}\"");
    let error = one(&text).unwrap_err();
    assert_eq!(
        error,
        EditError::RevisionFromVariable {
            address: "rest_apis.orders.stages.prod".into(),
            file: "deploy.toml".into(),
            written: "${var.release}".into(),
            revision: "r2".into(),
        }
    );
    assert!(error.to_string().contains("set that variable to `r2`"));
}

#[test]
fn a_revision_from_the_defaults_is_refused() {
    let text = r#"[rest_apis.orders]
id = "abc"
defaults = { revision = "r1" }

[rest_apis.orders.stages.prod.canary]
revision = "r2"
"#;
    assert!(matches!(
        one(text).unwrap_err(),
        EditError::RevisionFromDefaults { api, .. } if api == "orders"
    ));
}

#[test]
fn a_stage_without_a_canary_is_refused() {
    let text = "[rest_apis.orders.stages.prod]\nrevision = \"r1\"\n";
    assert_eq!(
        one(text).unwrap_err(),
        EditError::NoCanary {
            address: "rest_apis.orders.stages.prod.canary".into()
        }
    );
    assert_eq!(
        promote_in_config(
            &[ConfigText {
                name: "deploy.toml",
                text
            }],
            &Address::parse("rest_apis.orders.stages.dev").unwrap(),
            "r2"
        )
        .unwrap_err(),
        EditError::NoStage {
            address: "rest_apis.orders.stages.dev".into()
        }
    );
}

#[test]
fn a_remaining_reference_to_the_canary_is_refused() {
    let text = format!("{FILE}depends_on = [\"rest_apis.orders.stages.prod.canary\"]\n");
    assert_eq!(
        one(&text).unwrap_err(),
        EditError::StillReferenced {
            address: "rest_apis.orders.stages.prod.canary".into(),
            file: "deploy.toml".into(),
            at: "rest_apis.orders.stages.staging.depends_on[0]".into(),
        }
    );
}

#[test]
fn layered_files_each_edit_what_they_write() {
    let base = "[project]\nname = \"p\"\n\n[rest_apis.orders]\nid = \"abc\"\n\n\
                [rest_apis.orders.stages.prod]\nrevision = \"r1\"\n";
    let overlay = "# production\n[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\n\
                   rollout = { steps = [5], bake = \"1m\" }\n";
    let files = [
        ConfigText {
            name: "base.toml",
            text: base,
        },
        ConfigText {
            name: "prod.toml",
            text: overlay,
        },
    ];
    let edited = promote_in_config(&files, &prod(), "r2").unwrap();
    assert_eq!(
        edited[0].as_deref(),
        Some(base.replace("\"r1\"", "\"r2\"").as_str())
    );
    // The comment above the canary's header was the canary's: it goes with it.
    assert_eq!(edited[1].as_deref(), Some(""));

    // The overlay's revision is the one the merged configuration takes: only it changes.
    let overlay = format!("[rest_apis.orders.stages.prod]\nrevision = \"r1\"\n{overlay}");
    let files = [
        files[0],
        ConfigText {
            name: "prod.toml",
            text: &overlay,
        },
    ];
    let edited = promote_in_config(&files, &prod(), "r2").unwrap();
    assert_eq!(edited[0], None);
    assert_eq!(
        edited[1].as_deref(),
        Some("[rest_apis.orders.stages.prod]\nrevision = \"r2\"\n")
    );
}

#[test]
fn a_canary_address_names_its_stage() {
    let canary = Address::parse("rest_apis.orders.stages.prod.canary").unwrap();
    let by_canary = promote_in_config(
        &[ConfigText {
            name: "deploy.toml",
            text: FILE,
        }],
        &canary,
        "r2",
    )
    .unwrap();
    assert_eq!(by_canary, one(FILE).unwrap());
}

#[test]
fn text_that_is_not_toml_is_refused() {
    assert!(
        matches!(one("[rest_apis\n").unwrap_err(), EditError::NotToml { file, .. } if file == "deploy.toml")
    );
}

#[test]
fn the_canary_s_overrides_become_the_stage_s_variables() {
    // FILE: the stage's inline `variables` gets the override in place.
    let edited = one(FILE).unwrap();
    let text = edited[0].as_deref().unwrap();
    assert!(
        text.contains("variables = { backend = \"orders-next\" }"),
        "{text}"
    );

    // A variables table gets a new key; a stage without variables gets an inline table; a
    // sensitive override is copied as written (its digest is the stage variable's).
    let text = r#"[rest_apis.orders.stages.prod]
revision = "r1"

[rest_apis.orders.stages.prod.variables]
backend = "orders-prod"   # the backend

[rest_apis.orders.stages.prod.canary]
revision = "r2"
variable_overrides = { feature = "on", key = { env = "NEXT_KEY" } }

[rest_apis.orders.stages.beta]
revision = "r1"

[rest_apis.orders.stages.beta.canary]
revision = "r2"
variable_overrides = { feature = "on" }
"#;
    let edited = one(text).unwrap();
    insta::assert_snapshot!(
        "overrides_into_a_variables_table",
        edited[0].as_deref().unwrap()
    );
    let beta = Address::parse("rest_apis.orders.stages.beta").unwrap();
    let edited = promote_in_config(
        &[ConfigText {
            name: "deploy.toml",
            text,
        }],
        &beta,
        "r2",
    )
    .unwrap();
    insta::assert_snapshot!(
        "overrides_into_new_variables",
        edited[0].as_deref().unwrap()
    );
}
