//! The router and the sandbox through the real SDKs: Amplify and API Gateway calls through one
//! endpoint, against the LocalStack that `scripts/test.sh` starts and the Amplify emulator.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_amplify::types::JobStatus;
use stagecraft_testkit::amplify::{Emulator, EmulatorConfig};
use stagecraft_testkit::localstack::{
    REGION, apigateway_client, create_rest_api, endpoint_from_env,
};
use stagecraft_testkit::router::{Router, RouterConfig, Upstream};
use stagecraft_testkit::sandbox::{
    LocalStackSource, Sandbox, SandboxOptions, read_config, rollout_alarms,
};

/// An id no other test uses (10 lowercase letters and digits).
fn unique_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

fn amplify_client(endpoint: &str) -> aws_sdk_amplify::Client {
    use aws_sdk_amplify::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_amplify::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_amplify::Client::from_conf(config)
}

#[tokio::test]
async fn one_endpoint_serves_amplify_and_api_gateway() {
    let localstack = endpoint_from_env();
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let router = Router::start(RouterConfig {
        localstack,
        amplify: emulator.endpoint(),
        bind: None,
    })
    .await
    .unwrap();

    // Amplify through the router lands in the emulator...
    let amplify = amplify_client(&router.endpoint());
    let app = amplify.create_app().name("routed").send().await.unwrap();
    let app_id = app.app().unwrap().app_id().to_owned();
    let listed = amplify.get_app().app_id(&app_id).send().await.unwrap();
    assert_eq!(listed.app().unwrap().name(), "routed");
    assert_eq!(emulator.calls().get("CreateApp"), Some(&1));

    // ...and API Gateway through the same endpoint in LocalStack.
    let api_id = unique_id();
    create_rest_api(&router.endpoint(), &api_id, "routed-api")
        .await
        .unwrap();
    let api = apigateway_client(&router.endpoint(), REGION)
        .get_rest_api()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    assert_eq!(api.name(), Some("routed-api"));

    let counts = router.counts();
    assert_eq!(counts.get(&Upstream::Amplify), Some(&2));
    assert!(counts.get(&Upstream::LocalStack).copied().unwrap_or(0) >= 6);
}

/// A configuration naming fresh ids, with an artifact folder beside it.
fn write_config(dir: &Path, api_id: &str, app_id: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.html"), "<h1>hi</h1>").unwrap();
    let path = dir.join("deploy.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[project]
name = "sandbox-test"

[rest_apis.orders]
id = "{api_id}"

[rest_apis.orders.stages.staging]
revision = "r1"
variables = {{ key = {{ env = "SANDBOX_TEST_KEY" }} }}

[amplify_apps.web]
id = "{app_id}"

[amplify_apps.web.branches.main]
artifact = "dist"
"#
        ),
    )
    .unwrap();
    path
}

fn zip_with_index() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file("index.html", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(b"<h1>hi</h1>").unwrap();
    writer.finish().unwrap().into_inner()
}

#[tokio::test]
async fn the_sandbox_creates_what_the_configuration_names_and_routes_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let api_id = unique_id();
    let app_id = format!("d{}", unique_id());
    let config_path = write_config(dir.path(), &api_id, &app_id);
    let sandbox = Sandbox::start(SandboxOptions {
        port: 0,
        localstack: LocalStackSource::Existing {
            endpoint: endpoint_from_env(),
        },
        job_timing: Duration::from_millis(20),
        ..SandboxOptions::new(&config_path)
    })
    .await
    .unwrap();
    assert_eq!(sandbox.region(), REGION);
    assert!(
        sandbox.config().env_vars.contains("SANDBOX_TEST_KEY"),
        "{:?}",
        sandbox.config().env_vars
    );
    assert!(
        sandbox
            .export_line()
            .starts_with(&format!("export AWS_ENDPOINT_URL={} ", sandbox.endpoint())),
        "{}",
        sandbox.export_line()
    );

    // The REST API exists and can be deployed through the sandbox's endpoint.
    let apigateway = apigateway_client(&sandbox.endpoint(), REGION);
    let deployment = apigateway
        .create_deployment()
        .rest_api_id(&api_id)
        .stage_name("staging")
        .send()
        .await
        .unwrap();
    let stage = apigateway
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name("staging")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.deployment_id(), deployment.id());

    // The app exists; a manual deployment's upload URL points at the sandbox's endpoint and an
    // unsigned PUT there reaches the emulator.
    let amplify = amplify_client(&sandbox.endpoint());
    amplify.get_app().app_id(&app_id).send().await.unwrap();
    amplify
        .create_branch()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    let created = amplify
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    let url = created.zip_upload_url();
    assert!(url.starts_with(&sandbox.endpoint()), "{url}");
    let status = reqwest::Client::new()
        .put(url)
        .body(zip_with_index())
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let job_id = created.job_id().unwrap().to_owned();
    amplify
        .start_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .job_id(&job_id)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = amplify
            .get_job()
            .app_id(&app_id)
            .branch_name("main")
            .job_id(&job_id)
            .send()
            .await
            .unwrap();
        let status = job.job().unwrap().summary().unwrap().status().clone();
        if status == JobStatus::Succeed {
            break;
        }
        assert_ne!(status, JobStatus::Failed, "{job:?}");
        assert!(Instant::now() < deadline, "job still {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn starting_twice_on_one_localstack_keeps_the_apis() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(dir.path(), &unique_id(), &format!("d{}", unique_id()));
    for _ in 0..2 {
        let sandbox = Sandbox::start(SandboxOptions {
            localstack: LocalStackSource::Existing {
                endpoint: endpoint_from_env(),
            },
            ..SandboxOptions::new(&config_path)
        })
        .await
        .unwrap();
        sandbox.shutdown().await;
    }
}

#[test]
fn the_reference_configuration_reads_with_its_ids_and_variables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = read_config(&root.join("deploy.toml.example")).unwrap();
    let apis: Vec<&str> = read
        .config
        .rest_apis
        .values()
        .map(|api| api.id.as_str())
        .collect();
    assert_eq!(apis, ["a1b2c3d4e5", "p9q8r7s6t5"]);
    let apps: Vec<&str> = read
        .config
        .amplify_apps
        .values()
        .map(|app| app.id.as_str())
        .collect();
    assert_eq!(apps, ["d2k3j4h5g6"]);
    let vars: Vec<&str> = read.env_vars.iter().map(String::as_str).collect();
    assert_eq!(vars, ["ORDERS_API_KEY", "WEB_PASSWORD"]);
    assert_eq!(read.region(), "us-east-1");
}

#[tokio::test]
async fn a_busy_port_is_reported_before_anything_starts() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let err = Sandbox::start(SandboxOptions {
        port,
        // Never reached: the port is checked first.
        localstack: LocalStackSource::Existing {
            endpoint: "http://127.0.0.1:9".to_owned(),
        },
        ..SandboxOptions::new(root.join("deploy.toml.example"))
    })
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("--port"), "{message}");
}

#[tokio::test]
async fn the_sandbox_makes_the_alarms_rollouts_name_and_keeps_those_that_exist() {
    use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
    use stagecraft_testkit::alarms::{cloudwatch_client, put_metric_alarm, set_alarm_state};
    let endpoint = endpoint_from_env();
    let dir = tempfile::tempdir().unwrap();
    let fresh = format!("orders-5xx-{}", unique_id());
    let kept = format!("orders-p99-{}", unique_id());
    put_metric_alarm(&endpoint, &kept).await.unwrap();
    set_alarm_state(&endpoint, &kept, "ALARM", "set before the sandbox")
        .await
        .unwrap();
    let path = dir.path().join("deploy.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[project]
name = "sandbox-alarms"

[rest_apis.orders]
id = "{api}"

[rest_apis.orders.stages.prod]
revision = "r1"

[rest_apis.orders.stages.prod.canary]
revision = "r2"
percent_traffic = 5.0

[rest_apis.orders.stages.prod.canary.rollout]
steps = [5, 50]
bake = "10m"
alarms = ["{fresh}", "{kept}"]
"#,
            api = unique_id()
        ),
    )
    .unwrap();
    assert_eq!(
        rollout_alarms(&read_config(&path).unwrap().config),
        [fresh.clone(), kept.clone()]
    );
    let sandbox = Sandbox::start(SandboxOptions {
        port: 0,
        localstack: LocalStackSource::Existing {
            endpoint: endpoint.clone(),
        },
        ..SandboxOptions::new(&path)
    })
    .await
    .unwrap();
    let alarms = cloudwatch_client(&endpoint, REGION)
        .describe_alarms()
        .alarm_names(&fresh)
        .alarm_names(&kept)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .unwrap();
    let state = |name: &str| {
        alarms
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
            .and_then(|a| a.state_value().cloned())
    };
    assert_eq!(state(&fresh), Some(StateValue::InsufficientData));
    assert_eq!(state(&kept), Some(StateValue::Alarm));
    sandbox.shutdown().await;
}
