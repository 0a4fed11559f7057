//! Refresh and import: drift found and masked, revisions followed from live deployments.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::render;
use crate::state::{digest_matches, sensitive_digest};

const SEED: SaltSeed = SaltSeed([5; 16]);

fn address() -> Address {
    Address::parse("rest_apis.a.stages.prod").unwrap()
}

fn recorded() -> (State, StageState) {
    let mut state = State::new("p", "lin".to_string());
    state.deployments.insert(
        "api".into(),
        BTreeMap::from([("r1".into(), "d1".into()), ("r2".into(), "d2".into())]),
    );
    let stage = StageState {
        rest_api_id: "api".into(),
        stage_name: "prod".into(),
        revision: "r2".into(),
        deployment_id: "d2".into(),
        description: None,
        tracing: false,
        variables: BTreeMap::from([
            ("backend".into(), StoredValue::Plain("b".into())),
            (
                "key".into(),
                StoredValue::Sensitive {
                    sensitive: sensitive_digest(
                        &SaltSeed([9; 16]),
                        Site::new(&address(), "variables.key"),
                        "old-secret",
                    ),
                },
            ),
        ]),
        cache_size: None,
        promoted_by_rollout: None,
    };
    (state, stage)
}

#[test]
fn stage_drift_names_what_changed_and_masks_secrets() {
    let (state, stage) = recorded();
    let live = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("d1".into()),
        tracing: true,
        variables: BTreeMap::from([
            ("backend".into(), "b".into()),
            ("key".into(), "new-secret".into()),
            ("extra".into(), "hand-set-secret".into()),
        ]),
        ..LiveStage::default()
    };
    let extra = BTreeSet::from(["extra".to_string()]);
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, Some(&live), (&extra, &SEED));
    let fresh = fresh.unwrap();
    // Moved to r1's deployment by hand: the revision follows it.
    assert_eq!(fresh.revision, "r1");
    let StoredValue::Sensitive { sensitive } = &fresh.variables["key"] else {
        panic!("not a digest: {:?}", fresh.variables["key"]);
    };
    assert!(digest_matches(
        sensitive,
        Site::new(&address(), "variables.key"),
        "new-secret"
    ));
    let drift = drift.unwrap();
    let names: Vec<&str> = drift
        .attributes
        .iter()
        .map(|a| a.attribute.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "deployment_id",
            "tracing",
            "variables.extra",
            "variables.key"
        ]
    );
    let text = render::drift(&[drift]);
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("~ variables.key = (sensitive value) -> (sensitive value)"));
    // A key the configuration reads from the environment is masked even when unrecorded.
    assert!(text.contains("~ variables.extra = (none) -> (sensitive value)"));
    // The same stage, unchanged: no drift, and the recorded digest is kept although new
    // digests get new salts.
    let same = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("d2".into()),
        variables: BTreeMap::from([
            ("backend".into(), "b".into()),
            ("key".into(), "old-secret".into()),
        ]),
        ..LiveStage::default()
    };
    let none = BTreeSet::new();
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, Some(&same), (&none, &SEED));
    assert_eq!(fresh.unwrap(), stage);
    assert!(drift.is_none());
    // Gone.
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, None, (&none, &SEED));
    assert!(fresh.is_none() && drift.unwrap().deleted);
}

#[test]
fn an_unknown_deployment_gets_a_revision_no_configuration_has() {
    let (state, stage) = recorded();
    let live = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("zzz".into()),
        ..LiveStage::default()
    };
    let none = BTreeSet::new();
    let (fresh, _) = refresh_stage(&state, &address(), &stage, Some(&live), (&none, &SEED));
    assert_eq!(fresh.unwrap().revision, "(unknown: deployment zzz)");
}
