//! Amplify: requests sent, answers mapped; the zip upload against a local HTTP server, streamed
//! from a file with its length.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use aws_sdk_amplify::Client;
use aws_sdk_amplify::operation::create_branch::CreateBranchOutput;
use aws_sdk_amplify::operation::create_deployment::{
    CreateDeploymentError, CreateDeploymentOutput,
};
use aws_sdk_amplify::operation::delete_branch::DeleteBranchOutput;
use aws_sdk_amplify::operation::get_app::{GetAppError, GetAppOutput};
use aws_sdk_amplify::operation::get_branch::{GetBranchError, GetBranchOutput};
use aws_sdk_amplify::operation::get_job::GetJobOutput;
use aws_sdk_amplify::operation::list_branches::ListBranchesOutput;
use aws_sdk_amplify::operation::list_jobs::ListJobsOutput;
use aws_sdk_amplify::operation::start_deployment::StartDeploymentOutput;
use aws_sdk_amplify::operation::stop_job::StopJobOutput;
use aws_sdk_amplify::operation::update_branch::{UpdateBranchError, UpdateBranchOutput};
use aws_sdk_amplify::types::builders::BranchBuilder;
use aws_sdk_amplify::types::error::{BadRequestException, NotFoundException};
use aws_sdk_amplify::types::{
    App, Branch, Job as SdkJob, JobStatus as SdkJobStatus, JobSummary, JobType, Platform, Stage,
    Step,
};
use aws_smithy_mocks::mock;
use aws_smithy_types::DateTime;
use stagecraft_core::provider::{
    AmplifyStage, BranchSettings, ErrorKind, Job, JobStatus, LiveApp, LiveBranch, Provider,
};
use tempfile::NamedTempFile;
use tokio::net::TcpListener;

use crate::test_support::{TestServer, amplify_provider, http_response, meta, raw_response};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A branch with every field the SDK requires.
fn branch(name: &str) -> BranchBuilder {
    Branch::builder()
        .branch_arn(format!(
            "arn:aws:amplify:us-east-1:123456789012:apps/app1/branches/{name}"
        ))
        .branch_name(name)
        .description("")
        .stage(Stage::Production)
        .display_name(name)
        .enable_notification(false)
        .create_time(DateTime::from_secs(0))
        .update_time(DateTime::from_secs(0))
        .set_environment_variables(Some(HashMap::new()))
        .enable_auto_build(false)
        .set_custom_domains(Some(Vec::new()))
        .framework("")
        .active_job_id("")
        .total_number_of_jobs("0")
        .enable_basic_auth(false)
        .ttl("5")
        .enable_pull_request_preview(false)
}

fn summary(job_id: &str, status: SdkJobStatus, start: i64) -> JobSummary {
    JobSummary::builder()
        .job_arn(format!("arn:aws:amplify:::jobs/{job_id}"))
        .job_id(job_id)
        .commit_id("HEAD")
        .commit_message("")
        .commit_time(DateTime::from_secs(start))
        .start_time(DateTime::from_secs(start))
        .status(status)
        .job_type(JobType::Manual)
        .build()
        .unwrap()
}

fn step(name: &str, status: SdkJobStatus, reason: Option<&str>, log: Option<&str>) -> Step {
    Step::builder()
        .step_name(name)
        .start_time(DateTime::from_secs(0))
        .end_time(DateTime::from_secs(1))
        .status(status)
        .set_status_reason(reason.map(str::to_string))
        .set_log_url(log.map(str::to_string))
        .build()
        .unwrap()
}

fn job(status: SdkJobStatus, steps: Vec<Step>) -> GetJobOutput {
    GetJobOutput::builder()
        .job(
            SdkJob::builder()
                .summary(summary("7", status, 100))
                .set_steps(Some(steps))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn create_branch_sends_settings_and_basic_auth_in_base64() {
    let rule = mock!(Client::create_branch)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("main")
                && req.stage() == Some(&Stage::Production)
                && req.description() == Some("site")
                && req.framework() == Some("React")
                && req.environment_variables().unwrap().len() == 1
                && req.environment_variables().unwrap()["API"] == "https://api.example.com"
                && req.enable_basic_auth() == Some(true)
                // base64("user:pass")
                && req.basic_auth_credentials() == Some("dXNlcjpwYXNz")
        })
        .then_output(|| {
            CreateBranchOutput::builder()
                .branch(
                    branch("main")
                        .description("site")
                        .framework("React")
                        .environment_variables("API", "https://api.example.com")
                        .enable_basic_auth(true)
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let settings = BranchSettings {
        stage: Some(AmplifyStage::Production),
        description: Some("site".into()),
        framework: Some("React".into()),
        environment: Some(env(&[("API", "https://api.example.com")])),
        basic_auth: Some(Some(("user".into(), "pass".into()))),
    };
    let live = provider
        .create_branch("app1", "main", &settings)
        .await
        .unwrap();
    assert_eq!(
        live,
        LiveBranch {
            branch_name: "main".into(),
            stage: Some("PRODUCTION".into()),
            description: Some("site".into()),
            framework: Some("React".into()),
            environment: env(&[("API", "https://api.example.com")]),
            basic_auth_enabled: true,
            active_job_id: None,
            display_name: "main".into(),
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_branch_with_defaults_sends_nothing_else() {
    let rule = mock!(Client::create_branch)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("dev")
                && req.stage().is_none()
                && req.description().is_none()
                && req.framework().is_none()
                && req.environment_variables().is_none()
                && req.enable_basic_auth().is_none()
                && req.basic_auth_credentials().is_none()
        })
        .then_output(|| {
            CreateBranchOutput::builder()
                .branch(branch("dev").build().unwrap())
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let live = provider
        .create_branch("app1", "dev", &BranchSettings::default())
        .await
        .unwrap();
    assert_eq!(live.branch_name, "dev");
    assert_eq!(rule.num_calls(), 1);
}

/// Every configured stage reaches Amplify in the SDK's spelling, which is the configuration's.
#[test]
fn every_stage_is_sent_as_configured() {
    for (stage, text) in AmplifyStage::ALL {
        assert_eq!(crate::amplify::sdk_stage(stage).as_str(), text);
    }
}

#[tokio::test]
async fn update_branch_sends_only_changed_fields() {
    let rule = mock!(Client::update_branch)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("main")
                && req.description() == Some("new")
                && req.stage().is_none()
                && req.framework().is_none()
                && req.environment_variables().is_none()
                && req.enable_basic_auth().is_none()
                && req.basic_auth_credentials().is_none()
        })
        .then_output(|| {
            UpdateBranchOutput::builder()
                .branch(branch("main").description("new").build().unwrap())
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let settings = BranchSettings {
        description: Some("new".into()),
        ..BranchSettings::default()
    };
    let live = provider
        .update_branch("app1", "main", &settings)
        .await
        .unwrap();
    assert_eq!(live.description.as_deref(), Some("new"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_branch_clears_environment_and_disables_basic_auth() {
    let rule = mock!(Client::update_branch)
        .match_requests(|req| {
            let env = req.environment_variables().unwrap();
            env.len() == 1
                && env[""].is_empty()
                && req.enable_basic_auth() == Some(false)
                && req.basic_auth_credentials().is_none()
                && req.description().is_none()
        })
        .then_output(|| {
            UpdateBranchOutput::builder()
                // AWS may echo the clearing entry back: it is not a variable.
                .branch(
                    branch("main")
                        .environment_variables("", "")
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let settings = BranchSettings {
        environment: Some(BTreeMap::new()),
        basic_auth: Some(None),
        ..BranchSettings::default()
    };
    let live = provider
        .update_branch("app1", "main", &settings)
        .await
        .unwrap();
    assert!(live.environment.is_empty());
    assert!(!live.basic_auth_enabled);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_branch_sends_the_full_environment_and_new_credentials() {
    let rule = mock!(Client::update_branch)
        .match_requests(|req| {
            let env = req.environment_variables().unwrap();
            env.len() == 2
                && env["A"] == "1"
                && env["B"] == "2"
                && req.enable_basic_auth() == Some(true)
                // base64("admin:s3cr3t:with:colons")
                && req.basic_auth_credentials() == Some("YWRtaW46czNjcjN0OndpdGg6Y29sb25z")
                && req.stage() == Some(&Stage::Beta)
        })
        .then_output(|| {
            UpdateBranchOutput::builder()
                .branch(branch("main").build().unwrap())
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let settings = BranchSettings {
        stage: Some(AmplifyStage::Beta),
        environment: Some(env(&[("A", "1"), ("B", "2")])),
        basic_auth: Some(Some(("admin".into(), "s3cr3t:with:colons".into()))),
        ..BranchSettings::default()
    };
    provider
        .update_branch("app1", "main", &settings)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_branch_error_does_not_leak_credentials() {
    let rule = mock!(Client::update_branch).then_error(|| {
        UpdateBranchError::BadRequestException(
            BadRequestException::builder()
                .meta(meta("BadRequestException", "Invalid basic auth"))
                .build(),
        )
    });
    let provider = amplify_provider(&[&rule]);
    let settings = BranchSettings {
        environment: Some(env(&[("TOKEN", "topsecretvalue")])),
        basic_auth: Some(Some(("admin".into(), "hunter2".into()))),
        ..BranchSettings::default()
    };
    let err = provider
        .update_branch("app1", "main", &settings)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.message, "Invalid basic auth");
    let shown = format!("{err} {err:?}");
    for secret in ["topsecretvalue", "hunter2", "YWRtaW46aHVudGVyMg"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn get_branch_maps_stage_none_and_fields() {
    let rule = mock!(Client::get_branch)
        .match_requests(|req| req.app_id() == Some("app1") && req.branch_name() == Some("main"))
        .then_output(|| {
            GetBranchOutput::builder()
                .branch(
                    branch("main")
                        .stage(Stage::from("NONE"))
                        .display_name("main-site")
                        .description("site")
                        .framework("Web")
                        .environment_variables("A", "1")
                        .enable_basic_auth(true)
                        .active_job_id("3")
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let live = provider.get_branch("app1", "main").await.unwrap().unwrap();
    assert_eq!(
        live,
        LiveBranch {
            branch_name: "main".into(),
            stage: Some("NONE".into()),
            description: Some("site".into()),
            framework: Some("Web".into()),
            environment: env(&[("A", "1")]),
            basic_auth_enabled: true,
            active_job_id: Some("3".into()),
            display_name: "main-site".into(),
        }
    );
}

#[tokio::test]
async fn list_branches_reads_every_page() {
    let first = mock!(Client::list_branches)
        .match_requests(|req| req.app_id() == Some("app1") && req.next_token().is_none())
        .then_output(|| {
            ListBranchesOutput::builder()
                .branches(branch("main").build().unwrap())
                .next_token("t2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_branches)
        .match_requests(|req| req.app_id() == Some("app1") && req.next_token() == Some("t2"))
        .then_output(|| {
            ListBranchesOutput::builder()
                .branches(branch("feature/x").description("preview").build().unwrap())
                .build()
                .unwrap()
        });
    let provider = amplify_provider(&[&first, &second]);
    let branches = provider.list_branches("app1").await.unwrap();
    let names: Vec<&str> = branches.iter().map(|b| b.branch_name.as_str()).collect();
    assert_eq!(names, ["main", "feature/x"]);
    assert_eq!(branches[1].description.as_deref(), Some("preview"));
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
}

#[tokio::test]
async fn get_app_reads_the_default_domain() {
    let rule = mock!(Client::get_app)
        .match_requests(|req| req.app_id() == Some("d1abc"))
        .then_output(|| {
            GetAppOutput::builder()
                .app(
                    App::builder()
                        .app_id("d1abc")
                        .app_arn("arn:aws:amplify:us-east-1:123456789012:apps/d1abc")
                        .name("web")
                        .description("")
                        .repository("")
                        .platform(Platform::Web)
                        .create_time(DateTime::from_secs(0))
                        .update_time(DateTime::from_secs(0))
                        .set_environment_variables(Some(HashMap::new()))
                        .default_domain("d1abc.amplifyapp.com")
                        .enable_branch_auto_build(false)
                        .enable_basic_auth(false)
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let provider = amplify_provider(&[&rule]);
    let app = provider.get_app("d1abc").await.unwrap();
    assert_eq!(
        app,
        LiveApp {
            app_id: "d1abc".into(),
            default_domain: "d1abc.amplifyapp.com".into(),
        }
    );
}

#[tokio::test]
async fn get_app_not_found_is_not_found() {
    let rule = mock!(Client::get_app).then_error(|| {
        GetAppError::NotFoundException(
            NotFoundException::builder()
                .meta(meta("NotFoundException", "App d1abc not found"))
                .build(),
        )
    });
    let provider = amplify_provider(&[&rule]);
    let error = provider.get_app("d1abc").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn get_branch_not_found_is_none() {
    let rule = mock!(Client::get_branch).then_error(|| {
        GetBranchError::NotFoundException(
            NotFoundException::builder()
                .meta(meta("NotFoundException", "Branch not found"))
                .build(),
        )
    });
    let provider = amplify_provider(&[&rule]);
    assert_eq!(provider.get_branch("app1", "gone").await.unwrap(), None);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn get_branch_other_errors_are_errors() {
    let rule = mock!(Client::get_branch).then_error(|| {
        // Not modelled for GetBranch: arrives as an unhandled error carrying the code.
        GetBranchError::generic(meta("LimitExceededException", "Rate exceeded"))
    });
    let provider = amplify_provider(&[&rule]);
    let err = provider.get_branch("app1", "main").await.unwrap_err();
    // Amplify's way of saying "slow down" (it models no TooManyRequestsException).
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.message, "Rate exceeded");
}

#[tokio::test]
async fn delete_branch_sends_the_names() {
    let rule = mock!(Client::delete_branch)
        .match_requests(|req| req.app_id() == Some("app1") && req.branch_name() == Some("old"))
        .then_output(|| DeleteBranchOutput::builder().build());
    let provider = amplify_provider(&[&rule]);
    provider.delete_branch("app1", "old").await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn list_jobs_newest_first() {
    let rule = mock!(Client::list_jobs)
        .match_requests(|req| req.app_id() == Some("app1") && req.branch_name() == Some("main"))
        .then_output(|| {
            ListJobsOutput::builder()
                .job_summaries(summary("2", SdkJobStatus::Succeed, 200))
                .job_summaries(summary("3", SdkJobStatus::Pending, 300))
                .job_summaries(summary("1", SdkJobStatus::Failed, 100))
                .job_summaries(summary("0", SdkJobStatus::from("QUEUED"), 50))
                .build()
                .unwrap()
        });
    let provider = amplify_provider(&[&rule]);
    let jobs = provider.list_jobs("app1", "main").await.unwrap();
    let job = |id: &str, status: JobStatus| Job {
        job_id: id.into(),
        status,
        failures: Vec::new(),
    };
    // A status AWS adds later keeps its spelling and is never taken for a final one.
    assert_eq!(
        jobs,
        vec![
            job("3", JobStatus::Pending),
            job("2", JobStatus::Succeed),
            job("1", JobStatus::Failed),
            job("0", JobStatus::Unknown("QUEUED".into())),
        ]
    );
    assert!(!jobs[3].is_finished());
}

#[tokio::test]
async fn create_amplify_deployment_returns_job_and_url() {
    let rule = mock!(Client::create_deployment)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("main")
                && req.file_map().is_none()
        })
        .then_output(|| {
            CreateDeploymentOutput::builder()
                .job_id("12")
                .zip_upload_url("https://bucket.s3.amazonaws.com/zip?X-Amz-Signature=abc")
                .set_file_upload_urls(Some(HashMap::new()))
                .build()
                .unwrap()
        });
    let provider = amplify_provider(&[&rule]);
    let upload = provider
        .create_amplify_deployment("app1", "main")
        .await
        .unwrap();
    assert_eq!(upload.job_id, "12");
    assert_eq!(
        upload.zip_upload_url,
        "https://bucket.s3.amazonaws.com/zip?X-Amz-Signature=abc"
    );
}

#[tokio::test]
async fn create_amplify_deployment_without_url_is_an_error() {
    let rule = mock!(Client::create_deployment).then_output(|| {
        CreateDeploymentOutput::builder()
            .job_id("12")
            .zip_upload_url("")
            .set_file_upload_urls(Some(HashMap::new()))
            .build()
            .unwrap()
    });
    let provider = amplify_provider(&[&rule]);
    let err = provider
        .create_amplify_deployment("app1", "main")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(err.message.contains("zipUploadUrl"), "{err}");
}

/// Guards that Amplify's 429 `LimitExceededException` on a mutating call is throttling (retried
/// with the full backoff), not the few-attempts quota kind it was classified as before.
#[tokio::test]
async fn create_amplify_deployment_limit_exceeded_is_throttling() {
    let rule = mock!(Client::create_deployment).then_http_response(|| {
        http_response(
            429,
            Some("LimitExceededException"),
            r#"{"message":"Rate exceeded"}"#,
        )
    });
    let provider = amplify_provider(&[&rule]);
    let err = provider
        .create_amplify_deployment("app1", "main")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("LimitExceededException"));
    assert_eq!(err.message, "Rate exceeded");
}

#[tokio::test]
async fn create_amplify_deployment_blocked_by_unfinished_job() {
    let message =
        "The last job(deployment) 11 was not finished. Please stop it or wait for it to finish.";
    let rule = mock!(Client::create_deployment).then_error(move || {
        CreateDeploymentError::BadRequestException(
            BadRequestException::builder()
                .message(message)
                .meta(meta("BadRequestException", message))
                .build(),
        )
    });
    let provider = amplify_provider(&[&rule]);
    let err = provider
        .create_amplify_deployment("app1", "main")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.message, message);
}

#[tokio::test]
async fn stop_job_sends_the_job() {
    let rule = mock!(Client::stop_job)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("feature/x")
                && req.job_id() == Some("7")
        })
        .then_output(|| StopJobOutput::builder().build());
    let provider = amplify_provider(&[&rule]);
    provider.stop_job("app1", "feature/x", "7").await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_deployment_sends_the_job() {
    let rule = mock!(Client::start_deployment)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("main")
                && req.job_id() == Some("12")
                && req.source_url().is_none()
        })
        .then_output(|| StartDeploymentOutput::builder().build());
    let provider = amplify_provider(&[&rule]);
    provider
        .start_deployment("app1", "main", "12")
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn get_job_running_and_succeeded() {
    let running = mock!(Client::get_job)
        .match_requests(|req| {
            req.app_id() == Some("app1")
                && req.branch_name() == Some("main")
                && req.job_id() == Some("7")
        })
        .then_output(|| job(SdkJobStatus::Running, vec![]));
    let succeeded = mock!(Client::get_job).then_output(|| {
        job(
            SdkJobStatus::Succeed,
            vec![step(
                "DEPLOY",
                SdkJobStatus::Succeed,
                None,
                Some("https://logs/deploy"),
            )],
        )
    });
    let provider = amplify_provider(&[&running, &succeeded]);
    let status = provider.get_job("app1", "main", "7").await.unwrap();
    assert_eq!(
        status,
        Job {
            job_id: "7".into(),
            status: JobStatus::Running,
            failures: vec![]
        }
    );
    assert!(!status.is_finished());
    let status = provider.get_job("app1", "main", "7").await.unwrap();
    assert_eq!(status.status, JobStatus::Succeed);
    assert!(status.failures.is_empty());
    assert!(status.is_finished());
}

#[tokio::test]
async fn get_job_failed_lists_unsuccessful_steps() {
    let rule = mock!(Client::get_job).then_output(|| {
        job(
            SdkJobStatus::Failed,
            vec![
                step(
                    "BUILD",
                    SdkJobStatus::Succeed,
                    None,
                    Some("https://logs/build"),
                ),
                step(
                    "DEPLOY",
                    SdkJobStatus::Failed,
                    Some("Zip file is invalid"),
                    Some("https://logs/deploy"),
                ),
                step("VERIFY", SdkJobStatus::Cancelled, None, None),
            ],
        )
    });
    let provider = amplify_provider(&[&rule]);
    let status = provider.get_job("app1", "main", "7").await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
    assert_eq!(
        status.failures,
        vec![
            "DEPLOY: Zip file is invalid (log: https://logs/deploy)".to_string(),
            "VERIFY: CANCELLED".to_string(),
        ]
    );
}

#[tokio::test]
async fn get_job_without_job_is_an_error() {
    let rule = mock!(Client::get_job).then_output(|| GetJobOutput::builder().build());
    let provider = amplify_provider(&[&rule]);
    let err = provider.get_job("app1", "main", "7").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
}

const UPLOAD_PATH: &str = "/deployments/app1/main/12.zip?X-Amz-Signature=s3cr3tsig";

/// A temporary file holding `bytes`, with its size.
fn zip_file(bytes: &[u8]) -> (NamedTempFile, u64) {
    let mut file = NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    (file, bytes.len() as u64)
}

#[tokio::test]
async fn upload_puts_the_zip_unsigned() {
    let server = TestServer::start(vec![raw_response("200 OK", "text/plain", "")]).await;
    let provider = amplify_provider(&[]);
    let zip = b"PK\x03\x04 not really a zip".to_vec();
    let (file, size) = zip_file(&zip);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    provider.upload_zip(&url, file.path(), size).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let head = &seen[0].head;
    assert!(
        head.starts_with(
            "put /deployments/app1/main/12.zip?x-amz-signature=s3cr3tsig http/1.1\r\n"
        ),
        "{head}"
    );
    assert!(
        head.contains("\r\ncontent-type: application/zip\r\n"),
        "{head}"
    );
    assert!(!head.contains("authorization:"), "{head}");
    // A presigned S3 PUT needs the length up front: never chunked.
    assert!(
        head.contains(&format!("\r\ncontent-length: {size}\r\n")),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(seen[0].body, zip);
}

#[tokio::test]
async fn upload_streams_a_large_file_whole() {
    let server = TestServer::start(vec![raw_response("200 OK", "text/plain", "")]).await;
    let provider = amplify_provider(&[]);
    // Several read buffers' worth, with a pattern that shows reordering or loss.
    let zip: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (file, size) = zip_file(&zip);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    provider.upload_zip(&url, file.path(), size).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].body.len(), zip.len());
    assert!(seen[0].body == zip);
}

#[tokio::test]
async fn upload_of_a_missing_file_is_permanent() {
    let provider = amplify_provider(&[]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.zip");
    let err = provider
        .upload_zip("http://127.0.0.1:9/x", &missing, 10)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(err.message.contains("gone.zip"), "{err}");
}

#[tokio::test]
async fn upload_rejected_keeps_status_and_s3_message() {
    let server = TestServer::start(vec![raw_response(
        "403 Forbidden",
        "application/xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
    )])
    .await;
    let provider = amplify_provider(&[]);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    let (file, size) = zip_file(&[1, 2, 3]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 403 Forbidden: Request has expired"
    );
}

#[tokio::test]
async fn upload_server_error_is_transient() {
    let server = TestServer::start(vec![raw_response(
        "500 Internal Server Error",
        "text/plain",
        "try later",
    )])
    .await;
    let provider = amplify_provider(&[]);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    let (file, size) = zip_file(&[0; 10]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 500 Internal Server Error: try later"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn upload_connection_refused_is_transient_and_hides_the_url() {
    // A port that was free a moment ago: nothing listens there any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}{UPLOAD_PATH}");
    let provider = amplify_provider(&[]);
    let (file, size) = zip_file(&[0; 10]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(!err.message.contains("s3cr3tsig"), "{err}");
    assert!(err.message.starts_with("zip upload failed"), "{err}");
}

#[tokio::test]
async fn upload_to_an_invalid_url_is_permanent() {
    let provider = amplify_provider(&[]);
    let (file, size) = zip_file(&[0]);
    let err = provider
        .upload_zip("not a url", file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
}
