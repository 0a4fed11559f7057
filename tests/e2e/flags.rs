//! `--replace` and `--exclude` against LocalStack through the proxy: a replaced stage gets
//! exactly one new deployment of its unchanged revision and is re-pointed to it, and an
//! excluded stage is left out of the plan with what depends on it.

use crate::aws::{self, Proxied, stagecraft_at};
use crate::fleet::{self, StageSpec};

#[test]
fn replace_redeploys_once_and_exclude_leaves_out_dependents() {
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let apis = fleet::fleet(1, 3, |s| {
        let mut spec = StageSpec::new(format!("s{s}"), "r1");
        if s == 1 {
            spec.variables = vec![(
                "dep".into(),
                "${rest_apis.api0.stages.s0.deployment_id}".into(),
            )];
        }
        spec
    });
    let api = apis[0].id.clone();
    fleet::write_config(dir.path(), "50ms", &apis);

    // s1 depends on s0: excluding s0 plans s2 only, with the partial-plan warning.
    let plan = stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--exclude", "rest_apis.api0.stages.s0"],
        &[],
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("rest_apis.api0.stages.s2 will be created"),
        "{}",
        plan.stdout
    );
    for left_out in ["stages.s0 ", "stages.s1 "] {
        assert!(
            !plan.stdout.contains(left_out),
            "{left_out}: {}",
            plan.stdout
        );
    }
    assert!(
        plan.stderr
            .contains("Warning: resource exclusion is in effect"),
        "{}",
        plan.stderr
    );

    let run = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(aws::deployments(&api), 1);
    let first = aws::stage(&api, "s2").unwrap().deployment_id.unwrap();
    proxy.take_counts();

    // An unknown address is an error naming it.
    let unknown = stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--replace", "rest_apis.api0.stages.nope"],
        &[],
    );
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .contains("--replace rest_apis.api0.stages.nope names no resource"),
        "{}",
        unknown.stderr
    );

    // Nothing changed, s2 replaced: one new deployment, s2 re-pointed, the others untouched.
    let run = stagecraft_at(
        dir.path(),
        &via,
        &[
            "apply",
            "--auto-approve",
            "--replace",
            "rest_apis.api0.stages.s2",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("rest_apis.api0.stages.s2 will be replaced, as requested"),
        "{}",
        run.stdout
    );
    let counts = proxy.take_counts();
    assert_eq!(
        counts.get("CreateDeployment").copied(),
        Some(1),
        "{counts:?}"
    );
    assert_eq!(aws::deployments(&api), 2);
    let second = aws::stage(&api, "s2").unwrap().deployment_id.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        aws::stage(&api, "s0").unwrap().deployment_id.unwrap(),
        first
    );
    let state = fleet::state(dir.path());
    assert_eq!(
        state["resources"]["rest_apis.api0.stages.s2"]["deployment_id"],
        second.as_str()
    );

    // The replacement is done: the next plan is empty.
    let plan = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}
