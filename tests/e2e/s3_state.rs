//! The S3 state backend against LocalStack: the state object written and read back, a held
//! lock object that stops a second run and names its holder, `--lock-timeout` waiting for it,
//! `force-unlock`, the previous version kept as `<key>.backup`, and a writer that changes the
//! state behind a running apply's back: refused, with nothing lost (this run's state is saved
//! locally as `.stagecraft/<bucket>/<key>.refused.json`); and a rollout started with `apply
//! --no-wait` driven to its promotion by `rollout resume` runs against the S3 state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use stagecraft_testkit::localstack;

use crate::aws::{self, stagecraft_at};
use crate::support::Run;

const KEY: &str = "team/stagecraft.state.json";

/// An S3 client for LocalStack (path-style, test credentials).
fn s3() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(aws::endpoint())
        .region(Region::new(localstack::REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "e2e"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A new empty bucket with a name unique to this test run.
fn new_bucket() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let bucket = format!(
        "stagecraft-e2e-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    aws::runtime()
        .block_on(s3().create_bucket().bucket(&bucket).send())
        .unwrap();
    bucket
}

fn get_object(bucket: &str, key: &str) -> Option<Vec<u8>> {
    aws::runtime().block_on(async {
        match s3().get_object().bucket(bucket).key(key).send().await {
            Ok(output) => Some(output.body.collect().await.unwrap().to_vec()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(error) => panic!("GetObject {key}: {error:?}"),
        }
    })
}

fn put_object(bucket: &str, key: &str, bytes: Vec<u8>) {
    aws::runtime()
        .block_on(
            s3().put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(bytes))
                .send(),
        )
        .unwrap();
}

fn delete_object(bucket: &str, key: &str) {
    aws::runtime()
        .block_on(s3().delete_object().bucket(bucket).key(key).send())
        .unwrap();
}

/// The text with line wrapping and diagnostic gutters undone, for phrases that wrap.
fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|word| !matches!(*word, "│" | "|" | "×" | "help:"))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Project {
    dir: tempfile::TempDir,
    api: String,
    bucket: String,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
            api: aws::new_api(),
            bucket: new_bucket(),
        }
    }

    /// Writes deploy.toml with the S3 backend, `interval` between CreateDeployments, and
    /// `stages`.
    fn write(&self, interval: &str, stages: &str) {
        let text = format!(
            "[project]\nname = \"s3state\"\nregion = \"us-east-1\"\n\n[state]\nbackend = \"s3\"\nbucket = \"{}\"\nkey = \"{KEY}\"\n\n[aws]\ncreate_deployment_interval = \"{interval}\"\n\n[rest_apis.orders]\nid = \"{}\"\n{stages}",
            self.bucket, self.api
        );
        std::fs::write(self.dir.path().join("deploy.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        stagecraft_at(self.dir.path(), &aws::endpoint(), args, &[])
    }

    fn apply(&self) {
        let run = self.run(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "apply failed:\n{}\n{}", run.stdout, run.stderr);
        let plan = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code, 0,
            "not converged:\n{}\n{}",
            plan.stdout, plan.stderr
        );
    }

    /// Starts `apply` in the background and waits until it has made a deployment (the API had
    /// `before`), so that another writer can act while it runs.
    fn apply_until_deployed(&self, before: usize) -> std::thread::JoinHandle<Run> {
        let dir = self.dir.path().to_path_buf();
        let endpoint = aws::endpoint();
        let apply = std::thread::spawn(move || {
            stagecraft_at(&dir, &endpoint, &["apply", "--auto-approve"], &[])
        });
        let started = Instant::now();
        while aws::deployments(&self.api) == before {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the apply made no deployment"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        apply
    }

    fn object(&self, key: &str) -> Option<serde_json::Value> {
        get_object(&self.bucket, key).map(|bytes| serde_json::from_slice(&bytes).unwrap())
    }

    fn state(&self) -> serde_json::Value {
        self.object(KEY).expect("no state object")
    }

    fn lock_key(&self) -> String {
        format!("{KEY}.lock")
    }

    fn journal(&self) -> PathBuf {
        self.dir
            .path()
            .join(".stagecraft")
            .join(&self.bucket)
            .join("team/stagecraft.state.json.journal")
    }

    fn refused(&self) -> PathBuf {
        self.journal()
            .with_file_name("stagecraft.state.json.refused.json")
    }
}

fn stage(name: &str, revision: &str) -> String {
    format!("\n[rest_apis.orders.stages.{name}]\nrevision = \"{revision}\"\n")
}

fn local_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_state_object_its_backup_and_the_lock_object() {
    let project = Project::new();
    project.write("100ms", &stage("prod", "r1"));
    project.apply();
    let state = project.state();
    assert_eq!(state["serial"], 1, "{state}");
    assert_eq!(state["project"], "s3state", "{state}");
    assert!(
        state["resources"]["rest_apis.orders.stages.prod"]["deployment_id"].is_string(),
        "{state}"
    );
    assert_eq!(
        project.object(&project.lock_key()),
        None,
        "lock left behind"
    );
    assert_eq!(project.object(&format!("{KEY}.backup")), None);
    assert!(!project.journal().exists());
    // Nothing but the configuration (and the empty journal folder) on the local disk.
    let files = local_files(project.dir.path());
    assert!(
        files
            .iter()
            .all(|f| f == "deploy.toml" || f == ".stagecraft"),
        "{files:?}"
    );

    // A second write keeps the first as the backup.
    project.write("100ms", &stage("prod", "r2"));
    project.apply();
    assert_eq!(project.state()["serial"], 2);
    let backup = project.object(&format!("{KEY}.backup")).unwrap();
    assert_eq!(backup["serial"], 1);
    assert_eq!(project.state()["lineage"], backup["lineage"], "one lineage");

    // `state list` reads the object.
    let list = project.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(list.stdout.trim(), "rest_apis.orders.stages.prod");

    // A lock held by someone else stops plan and apply, naming the holder.
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let info = serde_json::json!({
        "id": "0f5e-held-lock",
        "operation": "apply",
        "who": "alice@ci-runner-7 (pid 4242)",
        "created": created,
    });
    put_object(
        &project.bucket,
        &project.lock_key(),
        serde_json::to_vec(&info).unwrap(),
    );
    project.write("100ms", &stage("prod", "r3"));
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan", "--detailed-exitcode"][..],
    ] {
        let run = project.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}\n{}", run.stdout, run.stderr);
        let stderr = flat(&run.stderr);
        assert!(
            stderr.contains("the state is locked by alice@ci-runner-7 (pid 4242)"),
            "{stderr}"
        );
        assert!(stderr.contains("running `apply`"), "{stderr}");
        assert!(
            stderr.contains("stagecraft force-unlock 0f5e-held-lock"),
            "{stderr}"
        );
    }
    assert_eq!(project.state()["serial"], 2, "a locked run wrote the state");
    assert_eq!(
        project.object(&project.lock_key()).unwrap()["id"],
        "0f5e-held-lock",
        "the held lock was touched"
    );

    // force-unlock checks the id, then deletes the lock object.
    let wrong = project.run(&["force-unlock", "not-the-id"]);
    assert_eq!(wrong.code, 1);
    assert!(
        flat(&wrong.stderr).contains("locked with id 0f5e-held-lock"),
        "{}",
        wrong.stderr
    );
    let unlock = project.run(&["force-unlock", "0f5e-held-lock"]);
    assert_eq!(unlock.code, 0, "{}", unlock.stderr);
    assert!(
        unlock.stdout.contains("0f5e-held-lock"),
        "{}",
        unlock.stdout
    );
    assert_eq!(project.object(&project.lock_key()), None);
    let again = project.run(&["force-unlock", "0f5e-held-lock"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("not locked"), "{}", again.stderr);

    // --lock-timeout waits for a lock released meanwhile.
    put_object(
        &project.bucket,
        &project.lock_key(),
        serde_json::to_vec(&info).unwrap(),
    );
    let bucket = project.bucket.clone();
    let lock_key = project.lock_key();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        delete_object(&bucket, &lock_key);
    });
    let waited = project.run(&["--lock-timeout", "30s", "apply", "--auto-approve"]);
    releaser.join().unwrap();
    assert_eq!(waited.code, 0, "{}\n{}", waited.stdout, waited.stderr);
    assert_eq!(project.state()["serial"], 3);
    assert_eq!(project.object(&project.lock_key()), None);
}

#[test]
fn a_writer_behind_the_backends_back_is_refused_and_nothing_is_lost() {
    let project = Project::new();
    project.write("100ms", &stage("prod", "r1"));
    project.apply();
    let before = aws::deployments(&project.api);

    // Two CreateDeployments four seconds apart: the other writer acts in between, after the
    // apply has read the state (and its ETag).
    project.write(
        "4s",
        &format!("{}{}", stage("prod", "r2"), stage("staging", "r3")),
    );
    let apply = project.apply_until_deployed(before);
    let mut theirs = project.state();
    theirs["serial"] = serde_json::json!(41);
    put_object(&project.bucket, KEY, serde_json::to_vec(&theirs).unwrap());

    let run = apply.join().unwrap();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let stderr = flat(&run.stderr);
    // miette may wrap inside the location: compare without spaces.
    assert!(
        stderr.replace(' ', "").contains(&format!(
            "anotherwriterchangedthestates3://{}/{KEY}",
            project.bucket
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was lost"), "{stderr}");
    // Their version stands; this run's state is on the local disk, complete.
    assert_eq!(project.state(), theirs);
    let refused: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.refused()).unwrap()).unwrap();
    assert_eq!(refused["serial"], 2, "{refused}");
    assert_eq!(
        refused["resources"]["rest_apis.orders.stages.prod"]["revision"],
        "r2"
    );
    assert!(refused["resources"]["rest_apis.orders.stages.staging"].is_object());
    assert_eq!(
        project.object(&project.lock_key()),
        None,
        "lock left behind"
    );
    let made = aws::deployments(&project.api);
    assert_eq!(made, before + 2);

    // Until someone decides, plans count the journal this run left on the local disk (its
    // effects are what AWS did), on top of the other writer's state.
    let plan = project.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr
            .contains("an apply was interrupted; its journal"),
        "{}",
        plan.stderr
    );

    // The operator uploads this run's state: everything it did is known, nothing is redone.
    put_object(
        &project.bucket,
        KEY,
        std::fs::read(project.refused()).unwrap(),
    );
    let plan = project.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let again = project.run(&["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert_eq!(aws::deployments(&project.api), made);
}

#[test]
fn a_first_write_is_refused_when_a_state_appeared_meanwhile() {
    let project = Project::new();
    let before = aws::deployments(&project.api);
    // Two revisions, so two snapshots four seconds apart: the other writer acts in between.
    project.write(
        "4s",
        &format!("{}{}", stage("prod", "r1"), stage("staging", "r2")),
    );
    let apply = project.apply_until_deployed(before);
    put_object(&project.bucket, KEY, b"{\"someone\": \"else\"}".to_vec());
    let run = apply.join().unwrap();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        flat(&run.stderr).contains("another writer changed the state"),
        "{}",
        run.stderr
    );
    assert_eq!(
        get_object(&project.bucket, KEY).unwrap(),
        b"{\"someone\": \"else\"}"
    );
    let refused: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.refused()).unwrap()).unwrap();
    assert_eq!(refused["serial"], 1, "{refused}");
    assert_eq!(
        refused["resources"].as_object().unwrap().len(),
        2,
        "{refused}"
    );
}

#[test]
fn a_rollout_started_with_no_wait_is_driven_by_scheduled_resumes_against_s3_state() {
    let project = Project::new();
    let stage = "[rest_apis.orders.stages.prod]\nrevision = \"r1\"\n";
    project.write("100ms", stage);
    project.apply();
    project.write(
        "100ms",
        &format!(
            "{stage}\n[rest_apis.orders.stages.prod.canary]\nrevision = \"r2\"\n\n[rest_apis.orders.stages.prod.canary.rollout]\nsteps = [10, 50]\nbake = \"300ms\"\npoll_interval = \"100ms\"\n"
        ),
    );
    let run = project.run(&["apply", "--auto-approve", "--no-wait"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let state = |project: &Project| -> serde_json::Value {
        serde_json::from_slice(&get_object(&project.bucket, KEY).unwrap()).unwrap()
    };
    let canary = "rest_apis.orders.stages.prod.canary";
    assert_eq!(
        state(&project)["resources"][canary]["rollout"]["status"]["status"],
        "baking"
    );
    // A scheduled job: each run does what is due, then exits, releasing the lock object.
    let mut resumes = 0;
    while !state(&project)["resources"][canary].is_null() {
        assert!(resumes < 10, "not promoted after {resumes} resumes");
        std::thread::sleep(Duration::from_millis(400));
        let run = project.run(&["rollout", "resume"]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert!(get_object(&project.bucket, &format!("{KEY}.lock")).is_none());
        resumes += 1;
    }
    assert!(resumes >= 2, "a two-step rollout took {resumes} resume(s)");
    let prod = &state(&project)["resources"]["rest_apis.orders.stages.prod"];
    assert_eq!(prod["promoted_by_rollout"]["canary_revision"], "r2");
    let status = project.run(&["rollout", "status"]);
    assert!(
        status.stdout.contains("promoted by its rollout"),
        "{}",
        status.stdout
    );
    let plan = project.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}
