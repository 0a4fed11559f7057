//! Apply through the fault proxy: about one API Gateway request in five is answered with a
//! throttle (429 with `x-amzn-errortype`), a try-again-later conflict (409), a 503 or a dropped
//! connection. Every apply must still succeed without showing an error, leave nothing to plan,
//! and agree with LocalStack; no retry may make a second deployment.

use stagecraft_testkit::proxy::{FaultRates, ProxyConfig};

use crate::aws;
use crate::fleet::{self, ApiSpec, StageSpec};

const APIS: usize = 3;
const STAGES: usize = 4;

fn assert_clean(what: &str, run: &crate::support::Run) {
    assert_eq!(run.code, 0, "{what}: {}\n{}", run.stdout, run.stderr);
    for text in [&run.stdout, &run.stderr] {
        let lower = text.to_lowercase();
        for word in ["error", "failed", "warning", "retrying"] {
            assert!(
                !lower.contains(word),
                "{what} shows {word:?}:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}

#[test]
fn applies_through_throttling_conflicts_503s_and_dropped_connections() {
    let endpoint = aws::endpoint();
    let proxy = aws::Proxied::start(
        2,
        ProxyConfig {
            upstream: endpoint.clone(),
            faults: FaultRates {
                throttle: 0.05,
                conflict: 0.05,
                unavailable: 0.05,
                drop_connection: 0.05,
            },
            create_deployment_interval: None,
            request_rate: None,
            seed: 2026_1122,
        },
    );
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut apis = fleet::fleet(APIS, STAGES, |s| {
        let mut stage = StageSpec::new(format!("s{s}"), "r1");
        stage.variables = vec![("backend".into(), format!("b{s}"))];
        stage
    });
    let apply = |apis: &[ApiSpec], what: &str| {
        fleet::write_config(dir.path(), "50ms", apis);
        let run = aws::stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
        assert_clean(what, &run);
        assert!(
            run.stdout.contains("Apply complete!"),
            "{what}: {}",
            run.stdout
        );
        let plan = aws::stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
        assert_eq!(plan.code, 0, "{what}: plan after apply:\n{}", plan.stdout);
        fleet::assert_state_matches_aws(dir.path(), apis);
    };

    // 1. Create every stage: one snapshot per API, then CreateStage per stage.
    apply(&apis, "create");
    // 2. A new revision for all: one shared snapshot per API, then UpdateStage per stage.
    for api in &mut apis {
        for stage in &mut api.stages {
            stage.revision = "r2".into();
        }
    }
    apply(&apis, "new revision");
    // 3. Settings only: description, tracing, one variable changed and one added.
    for api in &mut apis {
        for (s, stage) in api.stages.iter_mut().enumerate() {
            stage.description = Some(format!("stage-{s}"));
            stage.tracing = s % 2 == 0;
            stage.variables = vec![
                ("backend".into(), format!("next{s}")),
                ("level".into(), "debug".into()),
            ];
        }
    }
    apply(&apis, "settings");

    let injected: u64 = proxy.injected().values().sum();
    let kinds = proxy.injected_by_kind();
    eprintln!(
        "faults injected: {kinds:?} by operation {:?}",
        proxy.injected()
    );
    assert!(injected >= 5, "the proxy injected only {injected} faults");
    assert!(
        kinds.len() >= 3,
        "too few kinds of fault were injected: {kinds:?}"
    );
    // Faults are injected before forwarding, so a retry never doubles a deployment: one
    // snapshot per API and revision (r1, r2), and LocalStack has exactly those.
    let created = proxy.counts().get("CreateDeployment").copied().unwrap_or(0);
    assert_eq!(created, (APIS * 2) as u64, "{:?}", proxy.counts());
    assert_eq!(
        proxy.counts().get("CreateStage").copied(),
        Some((APIS * STAGES) as u64),
        "{:?}",
        proxy.counts()
    );
    for api in &apis {
        assert_eq!(aws::deployments(&api.id), 2, "deployments of {}", api.id);
    }
    drop(proxy);
}

/// `plan --refresh` reads under apply's rules: a throttled or unavailable `GetStages` is retried
/// with backoff, so a refresh of many REST APIs through a faulty endpoint ends with the same
/// empty plan a clean one gives, not with the first `TooManyRequestsException`.
#[test]
fn refresh_reads_are_retried_through_throttling_and_503s() {
    let endpoint = aws::endpoint();
    let proxy = aws::Proxied::start(2, ProxyConfig::new(endpoint.clone()));
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let apis = fleet::fleet(8, 1, |s| StageSpec::new(format!("s{s}"), "r1"));
    fleet::write_config(dir.path(), "50ms", &apis);
    let applied = aws::stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_clean("apply", &applied);
    proxy.set_faults(FaultRates {
        throttle: 0.3,
        unavailable: 0.2,
        ..FaultRates::NONE
    });
    let refreshed = aws::stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--refresh", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(
        refreshed.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        refreshed.stdout, refreshed.stderr
    );
    let injected = proxy.injected();
    assert!(
        injected.get("GetStages").copied().unwrap_or(0) > 0,
        "no GetStages was faulted: {injected:?}"
    );
}
