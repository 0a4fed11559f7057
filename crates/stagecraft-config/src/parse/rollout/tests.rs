//! The rollout table's model: defaults, a single bake repeated, `percent_traffic` from the first
//! step. Its errors are the fixtures `54_rollout_values` and `55_rollout_relations`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::*;

struct NoHost;

impl Host for NoHost {
    fn inspect_path(&self, _: &str) -> PathInfo {
        PathInfo::Missing
    }

    fn env_var(&self, _: &str) -> Option<String> {
        None
    }
}

fn canary(rollout: &str, percent: &str) -> Result<Canary, Vec<ConfigError>> {
    let source = format!(
        "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.stages.s]\nrevision = \"1\"\n\
         [rest_apis.a.stages.s.canary]\nrevision = \"2\"\n{percent}\n[rest_apis.a.stages.s.canary.rollout]\n{rollout}\n"
    );
    let config = parse(&source, &NoHost)?;
    Ok(config.stage("a", "s").unwrap().canary.clone().unwrap())
}

fn codes(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|error| error.code).collect()
}

#[test]
fn a_single_bake_is_repeated_and_the_defaults_apply() {
    let canary = canary("steps = [5, 25, 50]\nbake = \"10m\"", "").unwrap();
    let rollout = canary.rollout.unwrap();
    assert_eq!(rollout.steps, vec![5.0, 25.0, 50.0]);
    assert_eq!(rollout.bakes, vec![Duration::from_secs(600); 3]);
    assert_eq!(rollout.total_bake(), Duration::from_secs(1800));
    assert_eq!(rollout.alarms, Vec::<String>::new());
    assert_eq!(rollout.promote, Promote::Auto);
    assert_eq!(rollout.poll_interval, Duration::from_secs(30));
    assert_eq!(canary.percent_traffic, 5.0);
}

#[test]
fn every_key_written() {
    let canary = canary(
        "steps = [2.5, 100]\nbake = [\"500ms\", \"1s\"]\nalarms = [\"orders-5xx\", \"p99 latency\"]\n\
         promote = \"manual\"\npoll_interval = \"250ms\"",
        "percent_traffic = 2.5",
    )
    .unwrap();
    let rollout = canary.rollout.unwrap();
    assert_eq!(rollout.steps, vec![2.5, 100.0]);
    assert_eq!(
        rollout.bakes,
        vec![Duration::from_millis(500), Duration::from_secs(1)]
    );
    assert_eq!(rollout.alarms, vec!["orders-5xx", "p99 latency"]);
    assert_eq!(rollout.promote, Promote::Manual);
    assert_eq!(rollout.poll_interval, Duration::from_millis(250));
    assert_eq!(canary.percent_traffic, 2.5);
}

#[test]
fn the_default_poll_interval_is_never_above_the_shortest_bake() {
    let rollout = canary("steps = [5, 50]\nbake = [\"2s\", \"500ms\"]", "")
        .unwrap()
        .rollout
        .unwrap();
    assert_eq!(rollout.poll_interval, Duration::from_millis(500));
}

#[test]
fn a_poll_interval_equal_to_the_shortest_bake_is_allowed() {
    let rollout = canary("steps = [5]\nbake = \"1s\"\npoll_interval = \"1s\"", "")
        .unwrap()
        .rollout
        .unwrap();
    assert_eq!(rollout.poll_interval, Duration::from_secs(1));
}

#[test]
fn a_hundred_alarms_pass_and_a_hundred_and_one_do_not() {
    let names = |n: usize| {
        (0..n)
            .map(|i| format!("\"alarm-{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ok = canary(
        &format!("steps = [5]\nbake = \"1m\"\nalarms = [{}]", names(100)),
        "",
    );
    assert_eq!(ok.unwrap().rollout.unwrap().alarms.len(), 100);
    let errors = canary(
        &format!("steps = [5]\nbake = \"1m\"\nalarms = [{}]", names(101)),
        "",
    )
    .unwrap_err();
    assert_eq!(codes(&errors), ["config::too_many_alarms"]);
}

#[test]
fn an_alarm_name_of_255_characters_passes_and_256_do_not() {
    let name = |n: usize| "a".repeat(n);
    let ok = canary(
        &format!("steps = [5]\nbake = \"1m\"\nalarms = [\"{}\"]", name(255)),
        "",
    );
    assert!(ok.is_ok());
    let errors = canary(
        &format!("steps = [5]\nbake = \"1m\"\nalarms = [\"{}\"]", name(256)),
        "",
    )
    .unwrap_err();
    assert_eq!(codes(&errors), ["config::invalid_alarm_name"]);
}

#[test]
fn steps_at_the_bounds() {
    assert!(canary("steps = [0.001, 100]\nbake = \"1m\"", "").is_ok());
    let errors = canary("steps = [0]\nbake = \"1m\"", "").unwrap_err();
    assert_eq!(codes(&errors), ["config::out_of_range"]);
    let errors = canary("steps = [50, 100.5]\nbake = \"1m\"", "").unwrap_err();
    assert_eq!(codes(&errors), ["config::out_of_range"]);
    let errors = canary("steps = [nan]\nbake = \"1m\"", "").unwrap_err();
    assert_eq!(codes(&errors), ["config::out_of_range"]);
}

#[test]
fn a_written_percent_traffic_must_be_the_first_step() {
    assert_eq!(
        canary("steps = [5, 50]\nbake = \"1m\"", "percent_traffic = 5.0")
            .unwrap()
            .percent_traffic,
        5.0
    );
    let errors = canary("steps = [5, 50]\nbake = \"1m\"", "percent_traffic = 0").unwrap_err();
    assert_eq!(codes(&errors), ["config::percent_not_first_step"]);
}

#[test]
fn a_canary_without_a_rollout_is_unchanged() {
    let source = "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.stages.s]\n\
                  revision = \"1\"\n[rest_apis.a.stages.s.canary]\nrevision = \"2\"\n";
    let config = parse(source, &NoHost).unwrap();
    let canary = config.stage("a", "s").unwrap().canary.clone().unwrap();
    assert_eq!((canary.percent_traffic, canary.rollout), (0.0, None));
}

#[test]
fn a_rollout_in_the_defaults_is_refused() {
    let source = "[project]\nname = \"p\"\n[rest_apis.a]\nid = \"abc\"\n[rest_apis.a.defaults]\n\
                  rollout = { steps = [5], bake = \"1m\" }\n";
    let errors = parse(source, &NoHost).unwrap_err();
    assert_eq!(codes(&errors), ["config::unknown_key"]);
}
