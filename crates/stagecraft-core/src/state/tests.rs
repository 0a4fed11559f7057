//! Unit tests of the state format (round trips, versions, the resource map refused when it does
//! not say unambiguously what is recorded) and of the sensitive-value digests.
#![allow(clippy::unwrap_used)]

use super::*;

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

fn stage(name: &str) -> ResourceState {
    ResourceState::Stage(StageState {
        rest_api_id: "abc".into(),
        stage_name: name.into(),
        revision: "1".into(),
        deployment_id: "d1".into(),
        description: None,
        tracing: true,
        variables: BTreeMap::from([
            ("plain".into(), StoredValue::Plain("x".into())),
            (
                "secret".into(),
                StoredValue::Sensitive {
                    sensitive: sensitive_digest(
                        &SaltSeed([1; SALT_LEN]),
                        Site::new(&address("rest_apis.a.stages.s"), "variables.secret"),
                        "pw",
                    ),
                },
            ),
        ]),
        cache_size: Some("0.5".into()),
        promoted_by_rollout: None,
    })
}

fn canary() -> ResourceState {
    ResourceState::Canary(CanaryState {
        rest_api_id: "abc".into(),
        stage_name: "s".into(),
        revision: "2".into(),
        deployment_id: "d2".into(),
        percent_traffic: 10.0,
        variable_overrides: BTreeMap::new(),
        use_stage_cache: false,
        rollout: None,
    })
}

/// A state file of format 1 with `resources` as written (a JSON object's inside).
fn file_with(resources: &str) -> String {
    format!(
        "{{\"format_version\": 1, \"lineage\": \"l\", \"serial\": 3, \"project\": \"p\", \
         \"resources\": {{{resources}}}}}"
    )
}

/// A record as JSON text.
fn record(resource: &ResourceState) -> String {
    serde_json::to_string(resource).unwrap()
}

use digest::SALT_LEN;

#[test]
fn round_trips_and_refuses_unknown_versions() {
    let mut state = State::new("p", "lineage-1".to_string());
    state
        .resources
        .insert(address("rest_apis.a.stages.s"), stage("s"));
    let text = state.to_json().unwrap();
    assert!(text.contains("\"kind\": \"apigateway_stage\""));
    assert!(text.ends_with("}\n"));
    assert!(!text.contains("\"pw\""));
    assert_eq!(State::from_json(&text).unwrap(), state);
    let newer = text.replace("\"format_version\": 1", "\"format_version\": 9");
    assert_eq!(
        State::from_json(&newer),
        Err(StateError::UnknownVersion { found: 9 })
    );
    assert!(matches!(
        State::from_json("{\"format_version\": 1, \"lineage\": 3}"),
        Err(StateError::Corrupt { .. })
    ));
    assert!(matches!(
        State::from_json("not json"),
        Err(StateError::Corrupt { .. })
    ));
}

/// The file lists resources in the order of their addresses' text (a canary right after its
/// stage), as it did when the map was keyed by strings, not in the order of [`Address`].
#[test]
fn resources_are_written_in_the_order_of_their_text() {
    let mut state = State::new("p", "l".to_string());
    state
        .resources
        .insert(address("rest_apis.a.stages.t"), stage("t"));
    state
        .resources
        .insert(address("rest_apis.a.stages.s.canary"), canary());
    state
        .resources
        .insert(address("rest_apis.a.stages.s"), stage("s"));
    let text = state.to_json().unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\": {{")).unwrap();
    assert!(at("rest_apis.a.stages.s") < at("rest_apis.a.stages.s.canary"));
    assert!(at("rest_apis.a.stages.s.canary") < at("rest_apis.a.stages.t"));
    assert_eq!(State::from_json(&text).unwrap(), state);
}

/// Integrity 1: a key that is not an address was skipped by `plan` (and the stage deployed
/// again by `apply`, the key kept where no command could delete it). It is refused, named.
#[test]
fn a_key_that_is_not_an_address_is_refused_and_named() {
    for key in [
        "nonsense",
        "rest_apis..stages",
        "rest_apis.a.stages.s.extra",
    ] {
        let text = file_with(&format!("\"{key}\": {}", record(&stage("s"))));
        let error = State::from_json(&text).unwrap_err();
        assert!(
            matches!(&error, StateError::BadAddress { key: found, .. } if found == key),
            "{error:?}"
        );
        assert!(error.to_string().contains(&format!("`{key}`")), "{error}");
    }
}

/// Integrity 1: a record whose kind is not the kind its address names is refused.
#[test]
fn a_record_of_another_kind_than_its_address_is_refused() {
    let text = file_with(&format!("\"rest_apis.a.stages.s\": {}", record(&canary())));
    let error = State::from_json(&text).unwrap_err();
    assert_eq!(
        error,
        StateError::KindMismatch {
            key: "rest_apis.a.stages.s".into(),
            found: "apigateway_canary",
            expected: "apigateway_stage",
        }
    );
    assert!(error.to_string().contains("rest_apis.a.stages.s"));
}

/// Integrity 1: one resource named twice (the same key twice, which JSON parsers otherwise
/// resolve by keeping the last, or two spellings of one address) is refused.
#[test]
fn a_resource_recorded_twice_is_refused() {
    let twice = file_with(&format!(
        "\"rest_apis.a.stages.s\": {0}, \"rest_apis.a.stages.s\": {0}",
        record(&stage("s"))
    ));
    assert_eq!(
        State::from_json(&twice).unwrap_err(),
        StateError::Duplicate {
            key: "rest_apis.a.stages.s".into(),
            first: "rest_apis.a.stages.s".into(),
        }
    );
    let spelled_twice = file_with(&format!(
        "\"rest_apis.a.stages.s\": {0}, \"rest_apis.\\\"a\\\".stages.s\": {0}",
        record(&stage("s"))
    ));
    let error = State::from_json(&spelled_twice).unwrap_err();
    assert_eq!(
        error,
        StateError::Duplicate {
            key: "rest_apis.\"a\".stages.s".into(),
            first: "rest_apis.a.stages.s".into(),
        }
    );
    assert!(error.to_string().contains("rest_apis.\"a\".stages.s"));
}

/// A record that does not parse is named too (serde alone says only where).
#[test]
fn a_corrupt_record_names_its_key() {
    let text = file_with("\"rest_apis.a.stages.s\": {\"kind\": \"apigateway_stage\"}");
    let error = State::from_json(&text).unwrap_err();
    assert!(
        matches!(&error, StateError::Corrupt { message } if message.contains("`rest_apis.a.stages.s`")),
        "{error:?}"
    );
}

/// Integrity 8: what writes a document is an error when serialization fails, never an empty
/// text (`unwrap_or_default()` gave `""`, which the caller wrote over the file).
#[test]
fn a_document_that_cannot_be_serialized_is_an_error() {
    struct Unserializable;
    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }
    assert!(pretty_json(&Unserializable).is_err());
    assert_eq!(pretty_json(&[1]).unwrap(), "[\n  1\n]\n");
}

// ---- digests of sensitive values ----

fn site_of<'a>(address: &'a Address, key: &'a str) -> Site<'a> {
    Site::new(address, key)
}

/// Integrity 4: the same secret in two resources (or two keys) digests differently; it was
/// `sha256(lineage, value)`, equal wherever the secret sat.
#[test]
fn the_same_secret_in_two_places_digests_differently() {
    let seed = SaltSeed([7; SALT_LEN]);
    let (prod, staging) = (
        address("rest_apis.a.stages.prod"),
        address("rest_apis.a.stages.staging"),
    );
    let one = sensitive_digest(&seed, site_of(&prod, "variables.key"), "pw");
    let two = sensitive_digest(&seed, site_of(&staging, "variables.key"), "pw");
    let three = sensitive_digest(&seed, site_of(&prod, "variables.other"), "pw");
    assert_ne!(one, two);
    assert_ne!(one, three);
    // Each carries its own salt: the random parts differ too.
    let salt = |digest: &str| digest.split('$').nth(3).unwrap().to_string();
    assert_ne!(salt(&one), salt(&two));
    // And a new seed gives the same place a new salt.
    let again = sensitive_digest(
        &SaltSeed([8; SALT_LEN]),
        site_of(&prod, "variables.key"),
        "pw",
    );
    assert_ne!(one, again);
}

/// The digest names its scheme and parameters, so they can change later.
#[test]
fn digests_are_self_describing_argon2id() {
    let prod = address("rest_apis.a.stages.prod");
    let digest = sensitive_digest(
        &SaltSeed([7; SALT_LEN]),
        site_of(&prod, "variables.key"),
        "pw",
    );
    let parts: Vec<&str> = digest.split('$').collect();
    assert_eq!(parts[..3], ["argon2id", "v=19", "m=4096,t=1,p=1"]);
    assert_eq!(parts[3].len(), 2 * SALT_LEN);
    assert_eq!(parts[4].len(), 64);
    assert!(!digest.contains("pw"));
}

/// An unchanged secret keeps its recorded digest (and so is no change); a changed one, one
/// recorded for another place, or one recorded in the old `sha256:` format, gets a fresh digest.
#[test]
fn an_unchanged_secret_keeps_its_digest_and_a_changed_one_does_not() {
    let prod = address("rest_apis.a.stages.prod");
    let site = site_of(&prod, "variables.key");
    let recorded = sensitive_digest(&SaltSeed([1; SALT_LEN]), site, "pw");
    let seed = SaltSeed([2; SALT_LEN]);
    assert!(digest_matches(&recorded, site, "pw"));
    assert_eq!(digest_reusing(Some(&recorded), &seed, site, "pw"), recorded);

    assert!(!digest_matches(&recorded, site, "pw2"));
    let changed = digest_reusing(Some(&recorded), &seed, site, "pw2");
    assert_ne!(changed, recorded);
    assert!(digest_matches(&changed, site, "pw2"));

    let staging = address("rest_apis.a.stages.staging");
    assert!(!digest_matches(
        &recorded,
        site_of(&staging, "variables.key"),
        "pw"
    ));

    let old = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert!(!digest_matches(old, site, "pw"));
    assert_ne!(digest_reusing(Some(old), &seed, site, "pw"), old);
    assert_eq!(
        digest_reusing(None, &seed, site, "pw"),
        sensitive_digest(&seed, site, "pw")
    );
}

/// A recorded digest is read by the parameters it names, within bounds: one edited to ask for
/// more memory than the bound does not match (and allocates nothing).
#[test]
fn a_digest_is_verified_by_its_own_parameters_within_bounds() {
    let prod = address("rest_apis.a.stages.prod");
    let site = site_of(&prod, "variables.key");
    let digest = sensitive_digest(&SaltSeed([1; SALT_LEN]), site, "pw");
    let greedy = digest.replace("m=4096", "m=4194304");
    assert!(!digest_matches(&greedy, site, "pw"));
    // Parameters another build chose verify by those parameters.
    let params = digest::DigestParams {
        memory_kib: 1024,
        time_cost: 2,
        parallelism: 2,
    };
    let other = digest::digest_with_params(&params, &[4; SALT_LEN], site, "pw").unwrap();
    assert!(other.starts_with("argon2id$v=19$m=1024,t=2,p=2$"));
    assert!(digest_matches(&other, site, "pw"));
    assert!(!digest_matches(&other, site, "pw2"));
    assert_eq!(
        digest_reusing(Some(&other), &SaltSeed([2; SALT_LEN]), site, "pw"),
        other
    );
    for broken in [
        "",
        "argon2id",
        "argon2id$v=19$m=4096,t=1,p=1$zz$zz",
        "argon2id$v=19$q=1$00$00",
    ] {
        assert!(!digest_matches(broken, site, "pw"), "{broken}");
    }
}
