//! `apply` of Amplify branches against the project's Amplify emulator (and LocalStack for the
//! stage a branch refers to): branch lifecycle with basic auth and a `/` in its name, artifact
//! deployments decided by content digest, failed and unfinished jobs, ordering after a stage,
//! secrecy; and the README's sandbox quick start.

use std::collections::BTreeMap;
use std::time::Duration;

use stagecraft_testkit::amplify::{Emulator, Fault, Operation};
use stagecraft_testkit::sandbox::{LocalStackSource, Sandbox, SandboxOptions};

use crate::aws::{self, stagecraft_at};
use crate::support::{self, Run, server_runtime, stagecraft_with_env};

const PASSWORD: &str = "pa55-WORD-for-preview";
const TOKEN: &str = "token-VALUE-never-shown";
const BRANCH: &str = "feature/x";

struct Site {
    dir: tempfile::TempDir,
    api: String,
    app: String,
    runtime: tokio::runtime::Runtime,
    emulator: Emulator,
}

impl Site {
    fn new() -> Site {
        Site::with_job_timing(Duration::from_millis(100))
    }

    /// A site whose emulator's job steps (and a stopped job's `CANCELLING`) last `job_timing`.
    fn with_job_timing(job_timing: Duration) -> Site {
        let runtime = server_runtime(1);
        let emulator = support::emulator(&runtime, job_timing);
        let app = emulator.create_app("web");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist/assets")).unwrap();
        std::fs::write(dir.path().join("dist/index.html"), "<h1>v1</h1>").unwrap();
        std::fs::write(dir.path().join("dist/assets/app.js"), "console.log(1)").unwrap();
        Site {
            dir,
            api: aws::new_api(),
            app,
            runtime,
            emulator,
        }
    }

    fn write(&self, branch: &str) {
        self.write_with("", "", branch);
    }

    /// The configuration with more `[aws]` settings and stage settings.
    fn write_with(&self, aws: &str, stage: &str, branch: &str) {
        let text = format!(
            r#"[project]
name = "web"
region = "us-east-1"

[aws]
create_deployment_interval = "100ms"
{aws}

[rest_apis.orders]
id = "{api}"
[rest_apis.orders.stages.prod]
revision = "r1"
{stage}

[amplify_apps.web]
id = "{app}"
{branch}"#,
            api = self.api,
            app = self.app
        );
        std::fs::write(self.dir.path().join("deploy.toml"), text).unwrap();
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.path().join("stagecraft.state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The branch's jobs in the emulator, oldest first: (job id, status).
    fn jobs(&self) -> Vec<(String, String)> {
        self.emulator
            .jobs(&self.app, BRANCH)
            .unwrap_or_default()
            .iter()
            .map(|job| {
                (
                    job["jobId"].as_str().unwrap().to_string(),
                    job["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn run(&self, args: &[&str]) -> Run {
        let amplify = self.emulator.endpoint();
        let run = stagecraft_at(
            self.dir.path(),
            &aws::endpoint(),
            args,
            &[
                ("AWS_ENDPOINT_URL_AMPLIFY", amplify.as_str()),
                ("WEB_PASSWORD", PASSWORD),
                ("WEB_TOKEN", TOKEN),
                ("RUST_LOG", "debug"),
            ],
        );
        for secret in [PASSWORD, TOKEN] {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
            for entry in std::fs::read_dir(self.dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    assert!(!text.contains(secret), "a secret in {}", path.display());
                }
            }
        }
        run
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Emulator calls since the last look.
    fn calls(&self) -> BTreeMap<String, u64> {
        let calls = self.emulator.calls();
        self.emulator.reset_calls();
        calls
    }

    fn branch(&self) -> Option<serde_json::Value> {
        self.emulator.branch_json(&self.app, BRANCH)
    }

    fn plan_exit(&self) -> i32 {
        self.run(&["plan", "--detailed-exitcode"]).code
    }
}

fn branch_block(description: &str) -> String {
    format!(
        r#"[amplify_apps.web.branches."{BRANCH}"]
stage = "BETA"
description = "{description}"
framework = "React"
environment = {{ API_URL = "${{rest_apis.orders.stages.prod.invoke_url}}", TOKEN = {{ env = "WEB_TOKEN" }} }}
basic_auth = {{ username = "preview", password = {{ env = "WEB_PASSWORD" }} }}
artifact = "dist"
"#
    )
}

fn count(calls: &BTreeMap<String, u64>, operation: &str) -> u64 {
    calls.get(operation).copied().unwrap_or(0)
}

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn branches_and_their_artifacts_follow_the_file() {
    let site = Site::new();
    site.write(&branch_block("Preview"));

    // Created after the stage it refers to, with its settings, basic auth and a first deploy.
    let run = site.apply(&[]);
    assert_ok(&run);
    let stage_done = run
        .stdout
        .find("rest_apis.orders.stages.prod: Creation complete")
        .unwrap();
    let branch_start = run
        .stdout
        .find(&format!("\"{BRANCH}\": Creating..."))
        .unwrap();
    assert!(stage_done < branch_start, "{}", run.stdout);
    let branch = site.branch().unwrap();
    assert_eq!(branch["stage"], "BETA");
    assert_eq!(branch["description"], "Preview");
    assert_eq!(branch["enableBasicAuth"], true);
    assert_eq!(
        branch["environmentVariables"]["API_URL"],
        format!(
            "https://{}.execute-api.us-east-1.amazonaws.com/prod",
            site.api
        )
    );
    assert_eq!(branch["environmentVariables"]["TOKEN"], TOKEN);
    let calls = site.calls();
    assert_eq!(count(&calls, "CreateDeployment"), 1, "{calls:?}");
    assert_eq!(count(&calls, "StartDeployment"), 1, "{calls:?}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.dir.path().join("stagecraft.state.json")).unwrap(),
    )
    .unwrap();
    let job = state["resources"][format!("amplify_apps.web.branches.\"{BRANCH}\"")]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let zip = site.emulator.uploaded_zip(&site.app, BRANCH, &job).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<&str> = archive.file_names().collect();
    assert!(names.contains(&"index.html"), "{names:?}");

    // Unchanged content, even with new mtimes: nothing to plan, no mutating call.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(site.dir.path().join("dist/index.html"), "<h1>v1</h1>").unwrap();
    assert_eq!(site.plan_exit(), 0);
    let run = site.apply(&[]);
    assert_ok(&run);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    let calls = site.calls();
    for mutating in [
        "CreateBranch",
        "UpdateBranch",
        "CreateDeployment",
        "StartDeployment",
    ] {
        assert_eq!(count(&calls, mutating), 0, "{calls:?}");
    }

    // Settings: UpdateBranch only.
    site.write(&branch_block("Preview two"));
    assert_ok(&site.apply(&[]));
    let calls = site.calls();
    assert_eq!(count(&calls, "UpdateBranch"), 1, "{calls:?}");
    assert_eq!(count(&calls, "CreateDeployment"), 0, "{calls:?}");
    assert_eq!(site.branch().unwrap()["description"], "Preview two");
    assert_eq!(site.plan_exit(), 0);

    // One file changed: a new deployment.
    std::fs::write(site.dir.path().join("dist/assets/app.js"), "console.log(2)").unwrap();
    assert_ok(&site.apply(&[]));
    let calls = site.calls();
    assert_eq!(count(&calls, "CreateDeployment"), 1, "{calls:?}");
    assert_eq!(site.plan_exit(), 0);

    // A failed job: exit 1 with the job's reason; the deploy stays pending.
    site.emulator
        .fail_next_jobs(&site.app, BRANCH, "Build output has no index.html");
    std::fs::write(site.dir.path().join("dist/assets/app.js"), "console.log(3)").unwrap();
    let run = site.apply(&[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("FAILED"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Build output has no index.html"),
        "{}",
        run.stderr
    );
    let plan = site.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("artifact"), "{}", plan.stdout);
    site.emulator.clear_job_failures(&site.app, BRANCH);
    assert_ok(&site.apply(&[]));
    assert_eq!(site.plan_exit(), 0);

    // An unfinished job found first (created and never started): named after the timeout.
    let client = amplify_client(&site.emulator.endpoint());
    let blocking = site
        .runtime
        .block_on(
            client
                .create_deployment()
                .app_id(&site.app)
                .branch_name(BRANCH)
                .send(),
        )
        .unwrap();
    let blocking_job = blocking.job_id().unwrap().to_string();
    std::fs::write(site.dir.path().join("dist/assets/app.js"), "console.log(4)").unwrap();
    let run = site.apply(&["--job-timeout", "1s"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("job {blocking_job}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("stop-job"), "{}", run.stderr);
    site.runtime
        .block_on(
            client
                .stop_job()
                .app_id(&site.app)
                .branch_name(BRANCH)
                .job_id(&blocking_job)
                .send(),
        )
        .unwrap();
    assert_ok(&site.apply(&[]));
    assert_eq!(site.plan_exit(), 0);

    // Removed from the file: DeleteBranch.
    site.write("");
    assert_ok(&site.apply(&[]));
    assert_eq!(count(&site.calls(), "DeleteBranch"), 1);
    assert!(site.branch().is_none());
}

/// The branch's `url` is where Amplify serves it: the display name the branch has in Amplify
/// (`feature-x` for `feature/x`) under the app's default domain, in the state and in a
/// `${...url}` reference; a display name changed in Amplify is what the next apply records.
#[test]
fn a_branchs_url_is_the_display_name_amplify_answers() {
    let site = Site::new();
    let site_var =
        format!(r#"variables = {{ SITE = '${{amplify_apps.web.branches."{BRANCH}".url}}' }}"#);
    let branch = |description: &str| {
        format!("[amplify_apps.web.branches.\"{BRANCH}\"]\ndescription = \"{description}\"\n")
    };
    site.write_with("", &site_var, &branch("one"));
    let plan = site.run(&["plan"]);
    assert!(
        plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    assert_ok(&site.apply(&[]));
    let url = format!("https://feature-x.{}.amplifyapp.com", site.app);
    let address = format!("amplify_apps.web.branches.\"{BRANCH}\"");
    assert_eq!(site.state()["resources"][&address]["url"], url.as_str());
    let stage = aws::stage(&site.api, "prod").unwrap();
    assert_eq!(stage.variables().unwrap()["SITE"], url);
    assert_eq!(site.plan_exit(), 0);

    // Renamed in Amplify: the next UpdateBranch answers the new display name; the stage
    // follows on the apply after.
    let client = amplify_client(&site.emulator.endpoint());
    site.runtime
        .block_on(
            client
                .update_branch()
                .app_id(&site.app)
                .branch_name(BRANCH)
                .display_name("shop")
                .send(),
        )
        .unwrap();
    site.write_with("", &site_var, &branch("two"));
    assert_ok(&site.apply(&[]));
    let renamed = format!("https://shop.{}.amplifyapp.com", site.app);
    assert_eq!(site.state()["resources"][&address]["url"], renamed.as_str());
    assert_ok(&site.apply(&[]));
    let stage = aws::stage(&site.api, "prod").unwrap();
    assert_eq!(stage.variables().unwrap()["SITE"], renamed);
    assert_eq!(site.plan_exit(), 0);
}

/// A deployment cut before `StartDeployment` took effect (the process killed while AWS answered
/// it 503): the next apply stops the job it left `PENDING`, waits while it is `CANCELLING`
/// (Amplify refuses a new deployment until it is `CANCELLED`), and deploys anew.
#[test]
fn a_deploy_cut_before_start_deployment_is_stopped_and_waited_out_of_cancelling() {
    let site = Site::with_job_timing(Duration::from_secs(1));
    site.write_with("max_attempts = 20", "", &branch_block("Preview"));
    site.emulator
        .inject(Operation::StartDeployment, Fault::ServiceUnavailable, 1000);
    let amplify = site.emulator.endpoint();
    let endpoint = aws::endpoint();
    let env = aws::env_for(
        &endpoint,
        &[
            ("AWS_ENDPOINT_URL_AMPLIFY", amplify.as_str()),
            ("WEB_PASSWORD", PASSWORD),
            ("WEB_TOKEN", TOKEN),
        ],
    );
    let mut child = support::command(site.dir.path(), &["apply", "--auto-approve"], &env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while site.emulator.injected().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "StartDeployment never sent"
        );
        assert!(child.try_wait().unwrap().is_none(), "apply ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: the journal holds StartDeployment, started, never ended.
    child.wait().unwrap();
    site.emulator.clear_faults();
    assert_eq!(site.jobs(), [("1".to_string(), "PENDING".to_string())]);

    let run = site.apply(&[]);
    assert_ok(&run);
    assert!(run.stdout.contains("stopping job 1"), "{}", run.stdout);
    assert!(run.stdout.contains("job 1 is CANCELLING"), "{}", run.stdout);
    assert_eq!(
        site.jobs(),
        [
            ("1".to_string(), "CANCELLED".to_string()),
            ("2".to_string(), "SUCCEED".to_string())
        ]
    );
    let calls = site.calls();
    assert_eq!(count(&calls, "StopJob"), 1, "{calls:?}");
    assert_eq!(site.plan_exit(), 0);
}

/// For each Amplify call that is not idempotent, the emulator carries it out and drops the
/// answer: apply reads back before sending again and converges, with no error shown, one
/// branch, and no extra live job (a lost `CreateDeployment` leaves only the job it stopped).
#[test]
fn a_lost_answer_is_read_back_and_apply_converges() {
    for (operation, jobs) in [
        (Operation::CreateBranch, vec!["SUCCEED"]),
        (Operation::CreateDeployment, vec!["CANCELLED", "SUCCEED"]),
        (Operation::StartDeployment, vec!["SUCCEED"]),
    ] {
        let site = Site::new();
        site.write(&branch_block("Preview"));
        site.emulator.inject(operation, Fault::LostAnswer, 1);
        let run = site.apply(&[]);
        assert_ok(&run);
        let shown = |line: &str| line.starts_with("Error") || line.starts_with("Warning");
        assert!(
            !run.stderr.lines().any(shown),
            "{operation:?}: {}",
            run.stderr
        );
        assert_eq!(site.emulator.injected()["LostAnswer"], 1, "{operation:?}");
        assert_eq!(
            site.emulator.branch_names(&site.app).unwrap(),
            [BRANCH.to_string()]
        );
        let statuses: Vec<String> = site.jobs().into_iter().map(|(_, status)| status).collect();
        assert_eq!(statuses, jobs, "{operation:?}");
        assert_eq!(site.plan_exit(), 0, "{operation:?}");
    }
}

/// A branch the file declares that exists in Amplify, made by no apply of this state: refused
/// with what Amplify has and the import command, exit 1, the branch unchanged.
#[test]
fn an_unrecorded_branch_that_exists_is_refused_with_the_import_command() {
    let site = Site::new();
    let client = amplify_client(&site.emulator.endpoint());
    site.runtime
        .block_on(
            client
                .create_branch()
                .app_id(&site.app)
                .branch_name(BRANCH)
                .description("made by hand")
                .send(),
        )
        .unwrap();
    let before = site.branch().unwrap();
    site.write(&branch_block("Preview"));
    site.calls();
    let run = site.apply(&[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "run `stagecraft import 'amplify_apps.web.branches.\"{BRANCH}\"'`"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("made by hand"), "{}", run.stderr);
    let calls = site.calls();
    for mutating in ["CreateBranch", "UpdateBranch", "CreateDeployment"] {
        assert_eq!(count(&calls, mutating), 0, "{calls:?}");
    }
    assert_eq!(site.branch().unwrap(), before);
}

pub(crate) fn amplify_client(endpoint: &str) -> aws_sdk_amplify::Client {
    let config = aws_sdk_amplify::Config::builder()
        .behavior_version(aws_sdk_amplify::config::BehaviorVersion::latest())
        .region(aws_sdk_amplify::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_amplify::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_amplify::Client::from_conf(config)
}

/// The README's "Try it without AWS": the sandbox, then `apply` of deploy.toml.example.
#[test]
fn the_sandbox_quick_start_applies_the_example() {
    let dir = crate::support::scratch();
    let runtime = server_runtime(1);
    // The example's fixed REST API ids: gone first, so that a LocalStack an earlier run left
    // them in (with stages no state of this run records) starts as a fresh one.
    for id in ["a1b2c3d4e5", "p9q8r7s6t5"] {
        runtime
            .block_on(stagecraft_testkit::localstack::delete_rest_api(
                &aws::endpoint(),
                id,
            ))
            .unwrap();
    }
    let mut options = SandboxOptions::new(dir.path().join("deploy.toml.example"));
    options.localstack = LocalStackSource::Existing {
        endpoint: aws::endpoint(),
    };
    options.job_timing = Duration::from_millis(100);
    let sandbox = runtime.block_on(Sandbox::start(options)).unwrap();
    let endpoint = sandbox.endpoint();
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("ORDERS_API_KEY", "demo-key"),
        ("WEB_PASSWORD", "demo-pass"),
    ];
    let run = |args: &[&str]| stagecraft_with_env(dir.path(), args, &env);
    let config = "--config=deploy.toml.example";
    let endpoint_flag = format!("--endpoint-url={endpoint}");
    let applied = run(&[config, &endpoint_flag, "apply", "--auto-approve"]);
    assert_ok(&applied);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    let plan = run(&[config, &endpoint_flag, "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        sandbox
            .emulator()
            .branch_json("d2k3j4h5g6", "main")
            .is_some()
    );
}
