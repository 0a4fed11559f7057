//! Rollouts against the in-memory AWS of `fake.rs`, in virtual time (docs/behaviour.md,
//! "Rollouts"): promotion after every bake, rollback within one poll interval, runs cut off at
//! many instants and resumed, manual promotion, abort, Ctrl-C, and the state machine's bake
//! accounting.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use stagecraft_config::{Address, Config};
use tokio::time::Instant;

use super::machine::{self, Verdict};
use super::*;
use crate::apply::fake::FakeAws;
use crate::apply::tests::{FakeArtifacts, MemoryJournal, T0, options};
use crate::apply::{
    ApplyOptions, Context, Event, Interrupt, Interrupted, SensitiveValues, TokioClock, WallClock,
    apply, replay,
};
use crate::provider::{AlarmState, LiveAlarm};
use crate::state::{
    CanaryState, ResourceState, RolloutSchedule, RolloutState, RolloutStatus, State, Timestamp,
};
use crate::test_support::{TestHost, config, make_plan};

const MINUTE: u64 = 60_000;

fn file(canary: bool, promote: &str) -> Config {
    let mut text = String::from(
        r#"
[rest_apis.orders]
id = "api1"
[rest_apis.orders.stages.prod]
revision = "r1"
variables = { backend = "orders-prod" }
"#,
    );
    if canary {
        text.push_str(&format!(
            r#"
[rest_apis.orders.stages.prod.canary]
revision = "r2"
variable_overrides = {{ backend = "orders-next" }}
[rest_apis.orders.stages.prod.canary.rollout]
steps = [5, 25, 50]
bake = "10m"
alarms = ["orders-5xx", "orders-latency"]
poll_interval = "1m"
promote = "{promote}"
"#
        ));
    }
    config(&text)
}

fn canary_address() -> Address {
    Address::Canary {
        api: "orders".into(),
        stage: "prod".into(),
    }
}

fn stage_address() -> Address {
    Address::Stage {
        api: "orders".into(),
        stage: "prod".into(),
    }
}

/// One fake AWS, one wall clock and one journal per run, shared by the runs of a test.
struct World {
    aws: FakeAws,
    clock: TokioClock,
    start: Instant,
}

impl World {
    fn new() -> World {
        let aws = FakeAws::new();
        aws.set_alarm("orders-5xx", AlarmState::Ok, "fine");
        aws.set_alarm("orders-latency", AlarmState::InsufficientData, "no data");
        World {
            aws,
            clock: TokioClock::starting_at(Timestamp::from_millis(T0)),
            start: Instant::now(),
        }
    }

    fn ctx<'a>(
        &'a self,
        journal: &'a MemoryJournal,
        options: &'a ApplyOptions,
        interrupt: &'a Interrupt,
        in_doubt: &'a [Interrupted],
        sensitive: &'a SensitiveValues,
        events: &'a (dyn Fn(Event) + Send + Sync),
    ) -> Context<'a> {
        Context {
            provider: &self.aws,
            journal,
            artifacts: &FakeArtifacts,
            events,
            sensitive,
            in_doubt,
            options,
            interrupt,
            run_id: "run1",
            clock: &self.clock,
        }
    }

    /// Applies `config` to `state` (`wait`: driving the rollouts).
    async fn apply(&self, config: &Config, state: Option<State>, wait: bool) -> ApplyReport {
        let journal = MemoryJournal::default();
        let mut options = options();
        options.wait_rollouts = wait;
        let interrupt = Interrupt::default();
        let sensitive = sensitive(config);
        let sink = |_: Event| {};
        let ctx = self.ctx(&journal, &options, &interrupt, &[], &sensitive, &sink);
        let plan = make_plan(config, state.as_ref()).unwrap();
        apply(&plan, state, &ctx).await
    }

    /// A `rollout` command.
    async fn command(&self, command: &RolloutCommand, state: State) -> ApplyReport {
        let journal = MemoryJournal::default();
        let mut options = options();
        options.lane.region = "eu-west-3".into();
        let interrupt = Interrupt::default();
        let sensitive = SensitiveValues::default();
        let sink = |_: Event| {};
        let ctx = self.ctx(&journal, &options, &interrupt, &[], &sensitive, &sink);
        rollout(command, state, &ctx).await
    }

    /// The stage alone, applied: the state a rollout starts from.
    async fn stage_applied(&self) -> State {
        let report = self.apply(&file(false, "auto"), None, true).await;
        assert!(report.succeeded(), "{:?}", report.results);
        report.state
    }

    fn minutes(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap() / MINUTE
    }
}

fn sensitive(config: &Config) -> SensitiveValues {
    let secrets = stagecraft_config::resolve_secrets(config, &TestHost).unwrap();
    SensitiveValues::new(config, &secrets)
}

fn canary_of(state: &State) -> Option<CanaryState> {
    match state.resources.get(&canary_address()) {
        Some(ResourceState::Canary(canary)) => Some(canary.clone()),
        _ => None,
    }
}

fn rollout_of(state: &State) -> RolloutState {
    canary_of(state).unwrap().rollout.unwrap()
}

/// The percents of the traffic shifts and promotions sent, in order.
fn stage_updates(aws: &FakeAws) -> Vec<String> {
    aws.calls()
        .iter()
        .filter(|call| call.operation == "UpdateStage")
        .map(|call| call.detail.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_three_step_rollout_bakes_every_step_then_promotes_with_no_new_deployment() {
    let world = World::new();
    let state = world.stage_applied().await;
    let deployments_before = world.aws.count("CreateDeployment");
    let cfg = file(true, "auto");
    let report = world.apply(&cfg, Some(state), true).await;
    assert!(
        report.succeeded(),
        "{:?} {:?}",
        report.results,
        report.rollouts
    );
    assert_eq!(report.rollouts.len(), 1);
    assert_eq!(report.rollouts[0].end, RolloutEnd::Promoted);
    // One deployment: the canary's; the promotion copies it onto the stage.
    assert_eq!(world.aws.count("CreateDeployment"), deployments_before + 1);
    let live = world.aws.stage("api1", "prod").unwrap();
    assert!(live.canary.is_none());
    let r2 = report.state.deployment_of("api1", "r2").unwrap();
    assert_eq!(live.deployment_id.as_deref(), Some(r2));
    assert_eq!(live.variables["backend"], "orders-next");
    // Two shifts (25, 50) and the promotion, in that order.
    let updates = stage_updates(&world.aws);
    assert_eq!(updates.len(), 3, "{updates:#?}");
    assert!(updates[0].contains("percentTraffic") && updates[0].contains("\"25\""));
    assert!(updates[1].contains("percentTraffic") && updates[1].contains("\"50\""));
    assert!(updates[2].contains("Copy"));
    // Three 10-minute bakes polled every minute: at least 30 minutes and 31 checks.
    assert!(world.minutes() >= 30, "{} min", world.minutes());
    assert!(world.aws.count("DescribeAlarms") >= 31);
    // The stage records the promotion; the canary's record is gone; the file as it was is
    // satisfied.
    let Some(ResourceState::Stage(stage)) = report.state.resources.get(&stage_address()) else {
        panic!("no stage record");
    };
    let promotion = stage.promoted_by_rollout.clone().unwrap();
    assert_eq!(
        (
            promotion.from_revision.as_str(),
            promotion.canary_revision.as_str()
        ),
        ("r1", "r2")
    );
    assert!(promotion.at.millis_since(Timestamp::from_millis(T0)) >= 30 * MINUTE);
    assert!(canary_of(&report.state).is_none());
    let plan = make_plan(&cfg, Some(&report.state)).unwrap();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
}

#[tokio::test(start_paused = true)]
async fn an_alarm_during_the_second_bake_rolls_back_within_one_poll_interval() {
    let world = World::new();
    let state = world.stage_applied().await;
    let fired = Instant::now() + Duration::from_millis(13 * MINUTE + 20_000);
    world.aws.set_alarm_at(
        fired,
        "orders-latency",
        AlarmState::Alarm,
        "p99 above 800 ms",
    );
    let cfg = file(true, "auto");
    let report = world.apply(&cfg, Some(state), true).await;
    assert!(!report.succeeded());
    assert_eq!(
        report.rollouts[0].end,
        RolloutEnd::RolledBack {
            step: 1,
            percent: 25.0,
            alarm: "orders-latency".into(),
            reason: "p99 above 800 ms".into(),
        }
    );
    // The canary is removed within one poll interval (plus the calls' latency); the stage is
    // untouched.
    let removal = world
        .aws
        .calls()
        .into_iter()
        .find(|call| call.operation == "UpdateStage" && call.detail.contains("Remove"))
        .unwrap();
    assert!(removal.at >= fired);
    assert!(removal.at - fired <= Duration::from_millis(MINUTE + 100));
    let live = world.aws.stage("api1", "prod").unwrap();
    assert!(live.canary.is_none());
    assert_eq!(
        live.deployment_id.as_deref(),
        report.state.deployment_of("api1", "r1")
    );
    // The record stays, rolled back; the next plan does not deploy the revision again.
    let rollout = rollout_of(&report.state);
    assert!(matches!(
        &rollout.status,
        RolloutStatus::RolledBack { step: 1, alarm, .. } if alarm == "orders-latency"
    ));
    let plan = make_plan(&cfg, Some(&report.state)).unwrap();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    assert_eq!(plan.rollouts.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rollout_cut_off_at_any_instant_resumes_without_repeating_or_shortening_a_step() {
    // Cut off at instants through the whole rollout, then resumed after two minutes down.
    for cut_s in (0..1900).step_by(37).chain([1, 599, 600, 601, 1200, 1201]) {
        let world = World::new();
        let state = world.stage_applied().await;
        let deployments_before = world.aws.deployments("api1").len();
        let cfg = file(true, "auto");
        let journal = MemoryJournal::default();
        let opts = options();
        let interrupt = Interrupt::default();
        let secrets = sensitive(&cfg);
        let sink = |_: Event| {};
        let plan = make_plan(&cfg, Some(&state)).unwrap();
        {
            let ctx = world.ctx(&journal, &opts, &interrupt, &[], &secrets, &sink);
            let cut = tokio::time::timeout(
                Duration::from_secs(cut_s),
                apply(&plan, Some(state.clone()), &ctx),
            )
            .await;
            if cut.is_ok() {
                continue;
            }
        }
        tokio::time::sleep(Duration::from_secs(120)).await;
        let entries = journal.entries.into_inner().unwrap();
        let (recovered, replayed) = replay(Some(state), &entries).unwrap();
        let report = if canary_of(&recovered).is_some() {
            let journal = MemoryJournal::default();
            let ctx = world.ctx(
                &journal,
                &opts,
                &interrupt,
                &replayed.interrupted,
                &secrets,
                &sink,
            );
            rollout(
                &RolloutCommand::Resume {
                    addresses: Vec::new(),
                    wait: true,
                },
                recovered,
                &ctx,
            )
            .await
        } else {
            // Cut before the canary was recorded: apply again (the snapshot is found by its
            // marker, not made twice).
            let journal = MemoryJournal::default();
            let plan = make_plan(&cfg, Some(&recovered)).unwrap();
            let ctx = world.ctx(
                &journal,
                &opts,
                &interrupt,
                &replayed.interrupted,
                &secrets,
                &sink,
            );
            apply(&plan, Some(recovered), &ctx).await
        };
        assert!(report.succeeded(), "cut at {cut_s}s: {:?}", report.rollouts);
        // One deployment made (a `CreateDeployment` cut before AWS acted makes none).
        assert_eq!(
            world.aws.deployments("api1").len(),
            deployments_before + 1,
            "cut at {cut_s}s"
        );
        // Every shift once and in order, then the promotion.
        let updates = stage_updates(&world.aws);
        let shifts: Vec<&String> = updates
            .iter()
            .filter(|update| update.contains("percentTraffic"))
            .collect();
        assert!(
            shifts.len() >= 2
                && shifts[0].contains("\"25\"")
                && shifts.last().unwrap().contains("\"50\""),
            "cut at {cut_s}s: {updates:#?}"
        );
        assert!(
            shifts
                .windows(2)
                .all(|pair| !(pair[0].contains("\"50\"") && pair[1].contains("\"25\""))),
            "cut at {cut_s}s: {updates:#?}"
        );
        assert!(updates.last().unwrap().contains("Copy"));
        // No bake shorter than 10 minutes: from the deployment that made the canary to the
        // first shift to 25, from that to the first shift to 50, from that to the promotion.
        let calls = world.aws.calls();
        let at = |pick: &dyn Fn(&crate::apply::fake::Call) -> bool, last: bool| {
            let mut found = calls.iter().filter(|call| pick(call)).map(|call| call.at);
            if last { found.last() } else { found.next() }.unwrap()
        };
        let deployed = at(&|call| call.operation == "CreateDeployment", true);
        let to_25 = at(
            &|call| call.operation == "UpdateStage" && call.detail.contains("\"25\""),
            false,
        );
        let to_50 = at(
            &|call| call.operation == "UpdateStage" && call.detail.contains("\"50\""),
            false,
        );
        let promoted = at(
            &|call| call.operation == "UpdateStage" && call.detail.contains("Copy"),
            false,
        );
        let bake = Duration::from_millis(10 * MINUTE);
        assert!(to_25 - deployed >= bake, "cut at {cut_s}s");
        assert!(to_50 - to_25 >= bake, "cut at {cut_s}s");
        assert!(promoted - to_50 >= bake, "cut at {cut_s}s");
        assert!(world.minutes() >= 30, "cut at {cut_s}s");
        assert!(world.aws.stage("api1", "prod").unwrap().canary.is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn a_shift_whose_answer_was_lost_is_read_back_not_sent_twice() {
    let world = World::new();
    let state = world.stage_applied().await;
    world.aws.lose_answers("UpdateStage", 1);
    let report = world.apply(&file(true, "auto"), Some(state), true).await;
    assert!(report.succeeded(), "{:?}", report.rollouts);
    let updates = stage_updates(&world.aws);
    assert_eq!(
        updates
            .iter()
            .filter(|update| update.contains("\"25\""))
            .count(),
        1,
        "{updates:#?}"
    );
    assert_eq!(report.rollouts[0].end, RolloutEnd::Promoted);
}

#[tokio::test(start_paused = true)]
async fn an_alarm_that_changed_state_while_no_one_watched_restarts_the_count_from_then() {
    // Started without waiting; the process is gone for 8 minutes, during which the alarm
    // fired and recovered (its state changed 2 minutes ago): only those 2 minutes count.
    let world = World::new();
    let state = world.stage_applied().await;
    let report = world.apply(&file(true, "auto"), Some(state), false).await;
    tokio::time::sleep(Duration::from_millis(8 * MINUTE)).await;
    let changed = world.clock.now().millis() - 2 * MINUTE;
    world.aws.set_alarm_changed(
        "orders-5xx",
        AlarmState::Ok,
        "recovered",
        Timestamp::from_millis(changed),
    );
    let once = RolloutCommand::Resume {
        addresses: Vec::new(),
        wait: false,
    };
    let report = world.command(&once, report.state).await;
    let record = &rollout_of(&report.state).steps[0];
    assert_eq!(record.checks, 1);
    assert!(
        (2 * MINUTE..2 * MINUTE + 1_000).contains(&record.baked_ms),
        "{}",
        record.baked_ms
    );
}

#[tokio::test(start_paused = true)]
async fn every_step_record_bakes_at_least_its_bake_across_cuts() {
    // Cut during the second bake; resume without waiting, one check at a time, as a
    // scheduled `rollout resume` does, until the rollout is promoted.
    let world = World::new();
    let state = world.stage_applied().await;
    let cfg = file(true, "manual");
    let report = world.apply(&cfg, Some(state), false).await;
    assert_eq!(
        rollout_of(&report.state).status,
        RolloutStatus::Baking { step: 0 }
    );
    let mut state = report.state;
    let mut ends = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_secs(170)).await;
        let report = world
            .command(
                &RolloutCommand::Resume {
                    addresses: Vec::new(),
                    wait: false,
                },
                state,
            )
            .await;
        state = report.state;
        if let Some(result) = report.rollouts.first() {
            ends.push(result.end.clone());
        }
        if rollout_of(&state).status.name() == "awaiting_promotion" {
            break;
        }
    }
    let rollout = rollout_of(&state);
    assert_eq!(rollout.status.name(), "awaiting_promotion");
    assert_eq!(
        rollout.steps.iter().map(|s| s.percent).collect::<Vec<_>>(),
        [5.0, 25.0, 50.0]
    );
    for record in &rollout.steps {
        assert!(record.baked_ms >= 10 * MINUTE);
        let done = record.completed_at.unwrap();
        assert!(done.millis_since(record.started_at) >= 10 * MINUTE);
    }
    assert!(matches!(ends.last(), Some(RolloutEnd::AwaitingPromotion)));
    // `promote = "manual"` waits; `rollout promote` promotes.
    let report = world
        .command(&RolloutCommand::Promote(canary_address()), state)
        .await;
    assert_eq!(report.rollouts[0].end, RolloutEnd::Promoted);
    assert!(canary_of(&report.state).is_none());
    let plan = make_plan(&cfg, Some(&report.state)).unwrap();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
}

#[tokio::test(start_paused = true)]
async fn a_manual_rollout_waits_at_its_last_step_and_abort_removes_the_canary() {
    let world = World::new();
    let state = world.stage_applied().await;
    let cfg = file(true, "manual");
    let report = world.apply(&cfg, Some(state), true).await;
    assert!(report.succeeded());
    assert_eq!(report.rollouts[0].end, RolloutEnd::AwaitingPromotion);
    assert_eq!(
        world
            .aws
            .stage("api1", "prod")
            .unwrap()
            .canary
            .unwrap()
            .percent_traffic,
        50.0
    );
    // Nothing more happens on resume.
    let updates = stage_updates(&world.aws).len();
    let report = world
        .command(
            &RolloutCommand::Resume {
                addresses: Vec::new(),
                wait: true,
            },
            report.state,
        )
        .await;
    assert!(report.rollouts.is_empty());
    assert_eq!(stage_updates(&world.aws).len(), updates);
    // Abort: the canary removed, the stage untouched, the record kept (aborted).
    let report = world
        .command(&RolloutCommand::Abort(canary_address()), report.state)
        .await;
    assert_eq!(report.rollouts[0].end, RolloutEnd::Aborted);
    assert!(world.aws.stage("api1", "prod").unwrap().canary.is_none());
    assert_eq!(rollout_of(&report.state).status.name(), "aborted");
    let plan = make_plan(&cfg, Some(&report.state)).unwrap();
    assert!(plan.changes.is_empty());
    // A second abort is refused with the reason.
    let again = world
        .command(&RolloutCommand::Abort(canary_address()), report.state)
        .await;
    assert!(!again.succeeded());
    assert!(
        matches!(&again.rollouts[0].end, RolloutEnd::Failed { error } if error.contains("aborted"))
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_pauses_a_bake_and_a_resume_finishes_it_without_counting_the_pause() {
    let world = World::new();
    let state = world.stage_applied().await;
    let cfg = file(true, "auto");
    let journal = MemoryJournal::default();
    let opts = options();
    let interrupt = Interrupt::default();
    let secrets = sensitive(&cfg);
    let sink = |_: Event| {};
    let plan = make_plan(&cfg, Some(&state)).unwrap();
    let ctx = world.ctx(&journal, &opts, &interrupt, &[], &secrets, &sink);
    let (report, ()) = tokio::join!(apply(&plan, Some(state), &ctx), async {
        tokio::time::sleep(Duration::from_millis(4 * MINUTE + 30_000)).await;
        interrupt.trigger();
    });
    assert_eq!(
        report.rollouts[0].end,
        RolloutEnd::Paused {
            step: 0,
            by: crate::state::PausedBy::Interrupt
        }
    );
    let rollout = rollout_of(&report.state);
    // Frozen at the last check (4 minutes in).
    assert!(rollout.steps[0].baked_ms >= 4 * MINUTE && rollout.steps[0].baked_ms < 5 * MINUTE);
    // An hour later the resume counts none of the pause.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let resumed_at = Instant::now();
    let report = world
        .command(
            &RolloutCommand::Resume {
                addresses: Vec::new(),
                wait: true,
            },
            report.state,
        )
        .await;
    assert_eq!(report.rollouts[0].end, RolloutEnd::Promoted);
    assert!(resumed_at.elapsed() >= Duration::from_millis(26 * MINUTE));
}

#[tokio::test(start_paused = true)]
async fn an_operator_pause_is_resumed_only_by_address_and_a_missing_alarm_stops_the_rollout() {
    let world = World::new();
    let state = world.stage_applied().await;
    let cfg = file(true, "auto");
    let mut state = world.apply(&cfg, Some(state), false).await.state;
    let rollout = paused(&rollout_of(&state), crate::state::PausedBy::Operator);
    if let Some(ResourceState::Canary(canary)) = state.resources.get_mut(&canary_address()) {
        canary.rollout = Some(rollout);
    }
    let every = RolloutCommand::Resume {
        addresses: Vec::new(),
        wait: false,
    };
    let report = world.command(&every, state).await;
    assert!(report.rollouts.is_empty());
    assert!(!report.changed);
    // An alarm deleted since: an error naming it and the region, the bake not advanced.
    world.aws.delete_alarm("orders-5xx");
    let named = RolloutCommand::Resume {
        addresses: vec![canary_address()],
        wait: false,
    };
    let report = world.command(&named, report.state).await;
    assert!(!report.succeeded());
    let RolloutEnd::Failed { error } = &report.rollouts[0].end else {
        panic!("{:?}", report.rollouts);
    };
    assert!(
        error.contains("orders-5xx") && error.contains("eu-west-3"),
        "{error}"
    );
    assert_eq!(rollout_of(&report.state).steps[0].baked_ms, 0);
    assert_eq!(rollout_of(&report.state).steps[0].checks, 0);
}

fn schedule() -> RolloutSchedule {
    RolloutSchedule {
        steps: vec![10.0, 50.0],
        bakes_ms: vec![10_000, 10_000],
        alarms: vec!["a".into()],
        promote: crate::state::Promote::Auto,
        poll_interval_ms: 1_000,
    }
}

fn alarm(state: AlarmState, updated: Option<u64>) -> LiveAlarm {
    LiveAlarm {
        name: "a".into(),
        state,
        reason: "why".into(),
        state_updated: updated.map(Timestamp::from_millis),
    }
}

#[test]
fn a_bake_counts_only_from_an_alarms_change_since_the_last_check() {
    let start = RolloutState::started(schedule(), Timestamp::from_millis(1_000));
    // No change since the start: the whole time counts.
    let observed = machine::observe(
        &start,
        Timestamp::from_millis(4_000),
        &[alarm(AlarmState::Ok, Some(500))],
    )
    .unwrap();
    assert_eq!(observed.rollout.steps[0].baked_ms, 3_000);
    assert_eq!(observed.verdict, Verdict::Baking { left_ms: 7_000 });
    // The alarm changed state at 9 s (it may have fired in between): only 9..12 counts.
    let later = machine::observe(
        &observed.rollout,
        Timestamp::from_millis(12_000),
        &[alarm(AlarmState::Ok, Some(9_000))],
    )
    .unwrap();
    assert_eq!(later.rollout.steps[0].baked_ms, 6_000);
    assert_eq!(later.rollout.steps[0].checks, 2);
    // The bake ends only at a check past it.
    let done = machine::observe(
        &later.rollout,
        Timestamp::from_millis(16_000),
        &[alarm(AlarmState::InsufficientData, Some(9_000))],
    )
    .unwrap();
    assert_eq!(done.verdict, Verdict::BakeDone);
    assert_eq!(
        done.rollout.steps[0].completed_at,
        Some(Timestamp::from_millis(16_000))
    );
    assert_eq!(
        machine::after_bake(&done.rollout),
        machine::AfterBake::Shift {
            step: 1,
            percent: 50.0
        }
    );
    // An alarm in ALARM rolls back and counts nothing; a missing one is an error.
    let firing = machine::observe(
        &later.rollout,
        Timestamp::from_millis(20_000),
        &[alarm(AlarmState::Alarm, Some(19_000))],
    )
    .unwrap();
    assert_eq!(firing.rollout.steps[0].baked_ms, 6_000);
    assert!(matches!(firing.verdict, Verdict::RollBack { .. }));
    assert_eq!(
        machine::observe(&later.rollout, Timestamp::from_millis(20_000), &[]),
        Err("a".to_string())
    );
}

#[test]
fn a_pause_freezes_the_bake_and_a_resume_counts_from_then() {
    let start = RolloutState::started(schedule(), Timestamp::from_millis(0));
    let checked = machine::observe(
        &start,
        Timestamp::from_millis(3_000),
        &[alarm(AlarmState::Ok, None)],
    )
    .unwrap()
    .rollout;
    let paused = machine::paused(&checked, crate::state::PausedBy::Interrupt);
    assert_eq!(paused.baked_ms(Timestamp::from_millis(100_000)), 3_000);
    let resumed = machine::resumed(&paused, Timestamp::from_millis(100_000));
    assert_eq!(resumed.status, RolloutStatus::Baking { step: 0 });
    assert_eq!(resumed.baked_ms(Timestamp::from_millis(101_000)), 4_000);
}
