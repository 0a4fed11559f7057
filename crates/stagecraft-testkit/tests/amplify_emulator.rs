//! End-to-end tests of the Amplify emulator through the real `aws-sdk-amplify` client.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use aws_sdk_amplify::Client;
use aws_sdk_amplify::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_amplify::error::ProvideErrorMetadata;
use aws_sdk_amplify::types::{Job, JobStatus, Stage};
use stagecraft_testkit::amplify::{
    ControlError, Emulator, EmulatorConfig, ErrorTypeForm, Fault, Operation,
};

async fn emulator(job_timing: Duration) -> Emulator {
    Emulator::start(EmulatorConfig {
        job_timing,
        bind: None,
    })
    .await
    .unwrap()
}

fn client(emu: &Emulator) -> Client {
    let config = aws_sdk_amplify::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emu.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn make_zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

async fn put(url: &str, body: Vec<u8>) -> reqwest::StatusCode {
    reqwest::Client::new()
        .put(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn create_branch(client: &Client, app_id: &str, branch: &str) {
    client
        .create_branch()
        .app_id(app_id)
        .branch_name(branch)
        .send()
        .await
        .unwrap();
}

/// CreateDeployment, PUT of `zip` (if any), StartDeployment; returns the job id.
async fn deploy(client: &Client, app_id: &str, branch: &str, zip: Option<Vec<u8>>) -> String {
    let created = client
        .create_deployment()
        .app_id(app_id)
        .branch_name(branch)
        .send()
        .await
        .unwrap();
    let job_id = created.job_id().unwrap().to_owned();
    if let Some(zip) = zip {
        assert_eq!(put(created.zip_upload_url(), zip).await, 200);
    }
    client
        .start_deployment()
        .app_id(app_id)
        .branch_name(branch)
        .job_id(&job_id)
        .send()
        .await
        .unwrap();
    job_id
}

async fn wait_for_job(client: &Client, app_id: &str, branch: &str, job_id: &str) -> Job {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = client
            .get_job()
            .app_id(app_id)
            .branch_name(branch)
            .job_id(job_id)
            .send()
            .await
            .unwrap()
            .job
            .unwrap();
        let status = job.summary().unwrap().status().clone();
        if matches!(
            status,
            JobStatus::Succeed | JobStatus::Failed | JobStatus::Cancelled
        ) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {job_id} still {status:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn failure_reason(job: &Job) -> String {
    assert_eq!(job.summary().unwrap().status(), &JobStatus::Failed);
    job.steps()[0].status_reason().unwrap().to_owned()
}

#[tokio::test]
async fn branch_create_get_update_list_delete() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    assert!((10..=14).contains(&app_id.len()), "{app_id}");
    assert!(
        app_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );

    let created = client
        .create_branch()
        .app_id(&app_id)
        .branch_name("main")
        .stage(Stage::Production)
        .description("the site")
        .framework("React")
        .environment_variables("API_URL", "https://api.example.com")
        .environment_variables("MODE", "prod")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(created.branch_name(), "main");
    assert_eq!(created.stage(), &Stage::Production);
    assert_eq!(created.ttl(), "5");
    assert_eq!(created.total_number_of_jobs(), "0");
    assert_eq!(created.active_job_id(), "");
    assert!(
        created
            .branch_arn()
            .ends_with(&format!("apps/{app_id}/branches/main"))
    );
    assert!(created.create_time().secs() > 1_600_000_000);

    // A branch created without a stage reads back as NONE, outside the SDK enum, as on AWS.
    create_branch(&client, &app_id, "scratch").await;
    let scratch = client
        .get_branch()
        .app_id(&app_id)
        .branch_name("scratch")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(scratch.stage().as_str(), "NONE");
    assert!(!scratch.enable_basic_auth());

    // Partial update: only the description is sent, everything else stays.
    let updated = client
        .update_branch()
        .app_id(&app_id)
        .branch_name("main")
        .description("new words")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(updated.description(), "new words");
    assert_eq!(updated.stage(), &Stage::Production);
    assert_eq!(updated.framework(), "React");
    assert_eq!(updated.environment_variables().len(), 2);
    assert!(updated.update_time().as_secs_f64() >= created.update_time().as_secs_f64());

    // Environment variables are replaced as a whole; basic auth is switched on.
    let updated = client
        .update_branch()
        .app_id(&app_id)
        .branch_name("main")
        .environment_variables("MODE", "staging")
        .enable_basic_auth(true)
        .basic_auth_credentials("dXNlcjpwYXNz")
        .stage(Stage::Beta)
        .display_name("shiny")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(updated.environment_variables().len(), 1);
    assert_eq!(updated.environment_variables()["MODE"], "staging");
    assert!(updated.enable_basic_auth());
    assert_eq!(updated.basic_auth_credentials(), Some("dXNlcjpwYXNz"));
    assert_eq!(updated.stage(), &Stage::Beta);
    assert_eq!(updated.display_name(), "shiny");
    assert_eq!(updated.description(), "new words");

    // An empty map leaves the variables alone; {"": ""} clears them.
    let kept = client
        .update_branch()
        .app_id(&app_id)
        .branch_name("main")
        .set_environment_variables(Some(Default::default()))
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(kept.environment_variables().len(), 1);
    let cleared = client
        .update_branch()
        .app_id(&app_id)
        .branch_name("main")
        .environment_variables("", "")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert!(cleared.environment_variables().is_empty());

    let listed = client.list_branches().app_id(&app_id).send().await.unwrap();
    let names: Vec<&str> = listed.branches().iter().map(|b| b.branch_name()).collect();
    assert_eq!(names, ["main", "scratch"]);

    let deleted = client
        .delete_branch()
        .app_id(&app_id)
        .branch_name("scratch")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(deleted.branch_name(), "scratch");
    let err = client
        .get_branch()
        .app_id(&app_id)
        .branch_name("scratch")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    assert_eq!(emu.branch_names(&app_id).unwrap(), ["main"]);

    let calls = emu.calls();
    assert_eq!(calls["CreateBranch"], 2);
    assert_eq!(calls["UpdateBranch"], 4);
    assert_eq!(calls["GetBranch"], 2);
    assert_eq!(calls["ListBranches"], 1);
    assert_eq!(calls["DeleteBranch"], 1);
}

#[tokio::test]
async fn create_branch_validates_and_refuses_duplicates() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    let err = client
        .create_branch()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");

    let err = client
        .create_branch()
        .app_id(&app_id)
        .branch_name("other")
        .stage(Stage::from("STAGING"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("'stage'"), "{err:?}");

    let err = client
        .create_branch()
        .app_id("dnosuchapp0000")
        .branch_name("main")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn branch_name_with_slash_is_percent_decoded() {
    let emu = emulator(Duration::from_millis(5)).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "feature/x").await;
    // Branch "feature" must not be confused with "feature/x".
    create_branch(&client, &app_id, "feature").await;

    let got = client
        .get_branch()
        .app_id(&app_id)
        .branch_name("feature/x")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(got.branch_name(), "feature/x");
    assert_eq!(got.display_name(), "feature-x");
    assert!(emu.branch_json(&app_id, "feature/x").is_some());

    client
        .update_branch()
        .app_id(&app_id)
        .branch_name("feature/x")
        .description("slashed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        emu.branch_json(&app_id, "feature/x").unwrap()["description"],
        "slashed"
    );
    assert_eq!(
        emu.branch_json(&app_id, "feature").unwrap()["description"],
        ""
    );

    // The wire form: one path segment holding %2F.
    let raw = json_body(
        reqwest::get(format!(
            "{}/apps/{app_id}/branches/feature%2Fx",
            emu.endpoint()
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(raw["branch"]["branchName"], "feature/x");

    // Jobs live under the slashed branch too.
    let job_id = deploy(
        &client,
        &app_id,
        "feature/x",
        Some(make_zip(&[("index.html", "<p>x</p>")])),
    )
    .await;
    let job = wait_for_job(&client, &app_id, "feature/x", &job_id).await;
    assert_eq!(job.summary().unwrap().status(), &JobStatus::Succeed);
    assert_eq!(
        emu.branch_json(&app_id, "feature/x").unwrap()["activeJobId"],
        "1"
    );
    assert_eq!(
        emu.branch_json(&app_id, "feature").unwrap()["activeJobId"],
        ""
    );

    client
        .delete_branch()
        .app_id(&app_id)
        .branch_name("feature/x")
        .send()
        .await
        .unwrap();
    assert_eq!(emu.branch_names(&app_id).unwrap(), ["feature"]);
}

#[tokio::test]
async fn full_deployment_flow_succeeds() {
    // Steps long enough that polling sees RUNNING even on a loaded machine.
    let emu = emulator(Duration::from_millis(250)).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;

    let created = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    assert_eq!(created.job_id(), Some("1"));
    assert!(created.file_upload_urls().is_empty());
    let url = created.zip_upload_url().to_owned();
    assert!(
        url.starts_with(&format!("{}/_upload/", emu.endpoint())),
        "{url}"
    );

    // Created, not started: PENDING.
    let job = emu.job_json(&app_id, "main", "1").unwrap();
    assert_eq!(job["summary"]["status"], "PENDING");

    let zip = make_zip(&[
        ("index.html", "<h1>hello</h1>"),
        ("assets/app.js", "console.log(1)"),
    ]);
    assert_eq!(put(&url, zip.clone()).await, 200);
    assert_eq!(emu.uploaded_zip(&app_id, "main", "1").unwrap(), zip);

    let started = client
        .start_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap();
    let summary = started.job_summary().unwrap();
    assert_eq!(summary.job_id(), "1");
    assert_eq!(summary.status(), &JobStatus::Pending);
    assert_eq!(summary.job_type(), &aws_sdk_amplify::types::JobType::Manual);

    // The job passes through RUNNING on its way to SUCCEED.
    let mut seen_running = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    let job = loop {
        let job = client
            .get_job()
            .app_id(&app_id)
            .branch_name("main")
            .job_id("1")
            .send()
            .await
            .unwrap()
            .job
            .unwrap();
        match job.summary().unwrap().status() {
            JobStatus::Running => seen_running = true,
            JobStatus::Succeed => break job,
            JobStatus::Pending => {}
            other => panic!("unexpected status {other:?}"),
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(seen_running);
    let summary = job.summary().unwrap();
    assert!(summary.end_time().is_some());
    assert!(summary.end_time().unwrap().as_secs_f64() >= summary.start_time().as_secs_f64());
    let step = &job.steps()[0];
    assert_eq!(step.step_name(), "DEPLOY");
    assert_eq!(step.status(), &JobStatus::Succeed);
    assert!(step.status_reason().is_none());
    let log = reqwest::get(step.log_url().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("SUCCEED"), "{log}");

    let branch = client
        .get_branch()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap()
        .branch
        .unwrap();
    assert_eq!(branch.active_job_id(), "1");
    assert_eq!(branch.total_number_of_jobs(), "1");

    // The upload URL is closed once the job has started.
    assert_eq!(put(&url, b"late".to_vec()).await, 409);

    // The next deployment gets the next id.
    let job_id = deploy(
        &client,
        &app_id,
        "main",
        Some(make_zip(&[("index.html", "v2")])),
    )
    .await;
    assert_eq!(job_id, "2");
    wait_for_job(&client, &app_id, "main", &job_id).await;
    assert_eq!(
        emu.branch_json(&app_id, "main").unwrap()["activeJobId"],
        "2"
    );

    let calls = emu.calls();
    assert_eq!(calls["CreateDeployment"], 2);
    assert_eq!(calls["StartDeployment"], 2);
    assert!(calls["GetJob"] >= 2);
}

#[tokio::test]
async fn artifact_without_root_index_html_fails() {
    let emu = emulator(Duration::from_millis(5)).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;

    let nested = make_zip(&[("dist/index.html", "<h1>hi</h1>"), ("dist/a.js", "1")]);
    let job_id = deploy(&client, &app_id, "main", Some(nested)).await;
    let job = wait_for_job(&client, &app_id, "main", &job_id).await;
    let reason = failure_reason(&job);
    assert!(
        reason.contains("index.html was not found at the root"),
        "{reason}"
    );
    assert!(reason.contains("dist/index.html"), "{reason}");
    assert!(job.steps()[0].log_url().is_some());

    let no_index = make_zip(&[("readme.txt", "no site here")]);
    let job_id = deploy(&client, &app_id, "main", Some(no_index)).await;
    let reason = failure_reason(&wait_for_job(&client, &app_id, "main", &job_id).await);
    assert!(
        reason.contains("index.html was not found at the root"),
        "{reason}"
    );

    let job_id = deploy(&client, &app_id, "main", Some(b"not a zip at all".to_vec())).await;
    let reason = failure_reason(&wait_for_job(&client, &app_id, "main", &job_id).await);
    assert!(reason.contains("not a valid zip"), "{reason}");

    // Started without an upload: the job fails, the call does not.
    let job_id = deploy(&client, &app_id, "main", None).await;
    let reason = failure_reason(&wait_for_job(&client, &app_id, "main", &job_id).await);
    assert!(reason.contains("nothing was uploaded"), "{reason}");

    // No job succeeded, so the branch serves nothing.
    let branch = emu.branch_json(&app_id, "main").unwrap();
    assert_eq!(branch["activeJobId"], "");
    assert_eq!(branch["totalNumberOfJobs"], "4");
}

#[tokio::test]
async fn injected_failures_fail_jobs_until_cleared() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    emu.fail_next_jobs(&app_id, "main", "Simulated deploy failure");

    let good_zip = || Some(make_zip(&[("index.html", "ok")]));
    let job_id = deploy(&client, &app_id, "main", good_zip()).await;
    let job = wait_for_job(&client, &app_id, "main", &job_id).await;
    assert_eq!(failure_reason(&job), "Simulated deploy failure");

    emu.clear_job_failures(&app_id, "main");
    let job_id = deploy(&client, &app_id, "main", good_zip()).await;
    let job = wait_for_job(&client, &app_id, "main", &job_id).await;
    assert_eq!(job.summary().unwrap().status(), &JobStatus::Succeed);
}

#[tokio::test]
async fn second_deployment_is_refused_while_the_first_is_unfinished() {
    // Steps long enough that the started job stays unfinished for the whole test.
    let emu = emulator(Duration::from_secs(60)).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;

    let expected = "The last job(deployment) 1 was not finished. Please wait for the job to finish or stop it.";

    // Created and never started blocks the next one.
    let first = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    assert_eq!(first.job_id(), Some("1"));
    let err = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert_eq!(err.message(), Some(expected));

    // Started and still running blocks it too.
    assert_eq!(
        put(first.zip_upload_url(), make_zip(&[("index.html", "x")])).await,
        200
    );
    client
        .start_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap();
    let err = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("BadRequestException"));
    assert_eq!(err.message(), Some(expected));

    // Starting it twice is refused.
    let err = client
        .start_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");

    // Other branches are not blocked.
    create_branch(&client, &app_id, "other").await;
    client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("other")
        .send()
        .await
        .unwrap();
    assert_eq!(emu.calls()["CreateDeployment"], 4);
}

#[tokio::test]
async fn stop_job_cancels_and_unblocks_the_branch() {
    // Steps long enough that each call below lands inside the state it expects.
    let emu = emulator(Duration::from_millis(300)).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;

    client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    let stopped = client
        .stop_job()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stopped.job_summary().unwrap().status(),
        &JobStatus::Cancelling
    );
    // CANCELLING is still unfinished.
    let err = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("BadRequestException"));

    let job = wait_for_job(&client, &app_id, "main", "1").await;
    assert_eq!(job.summary().unwrap().status(), &JobStatus::Cancelled);
    assert!(job.summary().unwrap().end_time().is_some());

    // A stopped job cannot be started, and a finished one cannot be stopped.
    let err = client
        .start_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    let err = client
        .stop_job()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");

    // Stopping a running job leaves a cancelled DEPLOY step behind it.
    let job_id = deploy(
        &client,
        &app_id,
        "main",
        Some(make_zip(&[("index.html", "x")])),
    )
    .await;
    assert_eq!(job_id, "2");
    let deadline = Instant::now() + Duration::from_secs(10);
    while emu.job_json(&app_id, "main", "2").unwrap()["summary"]["status"] != "RUNNING" {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client
        .stop_job()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("2")
        .send()
        .await
        .unwrap();
    let job = wait_for_job(&client, &app_id, "main", "2").await;
    assert_eq!(job.summary().unwrap().status(), &JobStatus::Cancelled);
    assert_eq!(job.steps()[0].status(), &JobStatus::Cancelled);
    assert_eq!(emu.branch_json(&app_id, "main").unwrap()["activeJobId"], "");

    let err = client
        .stop_job()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("99")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    assert_eq!(emu.calls()["StopJob"], 4);
}

#[tokio::test]
async fn list_jobs_is_newest_first_and_paginated() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    for _ in 0..3 {
        let job_id = deploy(
            &client,
            &app_id,
            "main",
            Some(make_zip(&[("index.html", "x")])),
        )
        .await;
        wait_for_job(&client, &app_id, "main", &job_id).await;
    }

    let listed = client
        .list_jobs()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed.job_summaries().iter().map(|j| j.job_id()).collect();
    assert_eq!(ids, ["3", "2", "1"]);
    assert!(listed.next_token().is_none());
    assert!(
        listed
            .job_summaries()
            .iter()
            .all(|j| j.status() == &JobStatus::Succeed)
    );

    let page = client
        .list_jobs()
        .app_id(&app_id)
        .branch_name("main")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.job_summaries().len(), 2);
    let token = page.next_token().unwrap().to_owned();
    let rest = client
        .list_jobs()
        .app_id(&app_id)
        .branch_name("main")
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = rest.job_summaries().iter().map(|j| j.job_id()).collect();
    assert_eq!(ids, ["1"]);
    assert!(rest.next_token().is_none());
    assert_eq!(emu.calls()["ListJobs"], 3);
}

#[tokio::test]
async fn apps_create_get_list_delete() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app = client
        .create_app()
        .name("from-sdk")
        .description("made over the API")
        .send()
        .await
        .unwrap()
        .app
        .unwrap();
    assert_eq!(app.name(), "from-sdk");
    assert_eq!(app.description(), "made over the API");
    assert!(app.default_domain().ends_with(".amplifyapp.com"));
    emu.create_app_with_id("d1example0000", "fixed").unwrap();
    assert_eq!(
        emu.create_app_with_id("d1example0000", "again"),
        Err(ControlError::AppExists("d1example0000".to_owned()))
    );
    assert!(matches!(
        emu.create_app_with_id("bad/id", "x"),
        Err(ControlError::InvalidAppId(_))
    ));

    let got = client
        .get_app()
        .app_id("d1example0000")
        .send()
        .await
        .unwrap()
        .app
        .unwrap();
    assert_eq!(got.name(), "fixed");
    assert_eq!(got.app_id(), "d1example0000");

    let apps = client.list_apps().send().await.unwrap();
    assert_eq!(apps.apps().len(), 2);

    client
        .delete_app()
        .app_id(app.app_id())
        .send()
        .await
        .unwrap();
    let err = client
        .get_app()
        .app_id(app.app_id())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    let calls = emu.calls();
    assert_eq!(calls["CreateApp"], 1);
    assert_eq!(calls["GetApp"], 2);
    assert_eq!(calls["ListApps"], 1);
    assert_eq!(calls["DeleteApp"], 1);
}

#[tokio::test]
async fn errors_use_the_aws_wire_form() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");

    let response = reqwest::get(format!("{}/apps/{app_id}/branches/nope", emu.endpoint()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // AWS's form: the code, a colon and the service's namespace.
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "NotFoundException:http://internal.amazon.com/coral/com.amazonaws.amplify/"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body = json_body(response).await;
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");

    // CreateDeployment models no NotFoundException; the code still reaches the caller.
    let err = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"));

    let err = client
        .get_job()
        .app_id(&app_id)
        .branch_name("nope")
        .job_id("1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");

    // Routes the emulator does not model say so in the same form.
    let response = reqwest::get(format!("{}/apps/{app_id}/domains", emu.endpoint()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "UnknownOperationException:http://internal.amazon.com/coral/com.amazonaws.amplify/"
    );

    let status = put(
        &format!("{}/_upload/unknown-token", emu.endpoint()),
        vec![1],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(emu.calls()["UnknownOperation"], 1);
}

/// The SDK silently fills a missing required member with a default instead of failing, so a
/// missing member would go unnoticed by the tests above: check the raw JSON against the members
/// the SDK's `Branch`, `JobSummary` and `Step` require.
#[tokio::test]
async fn responses_carry_every_member_the_sdk_requires() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    let job_id = deploy(&client, &app_id, "main", None).await;
    wait_for_job(&client, &app_id, "main", &job_id).await;

    let branch = emu.branch_json(&app_id, "main").unwrap();
    for member in [
        "branchArn",
        "branchName",
        "description",
        "stage",
        "displayName",
        "enableNotification",
        "createTime",
        "updateTime",
        "environmentVariables",
        "enableAutoBuild",
        "customDomains",
        "framework",
        "activeJobId",
        "totalNumberOfJobs",
        "enableBasicAuth",
        "ttl",
        "enablePullRequestPreview",
    ] {
        assert!(branch.get(member).is_some(), "branch lacks {member}");
    }
    assert!(branch["createTime"].is_number());

    let job = emu.job_json(&app_id, "main", &job_id).unwrap();
    for member in [
        "jobArn",
        "jobId",
        "commitId",
        "commitMessage",
        "commitTime",
        "startTime",
        "status",
        "jobType",
    ] {
        assert!(
            job["summary"].get(member).is_some(),
            "summary lacks {member}"
        );
    }
    let step = &job["steps"][0];
    for member in [
        "stepName",
        "startTime",
        "status",
        "endTime",
        "logUrl",
        "statusReason",
    ] {
        assert!(step.get(member).is_some(), "step lacks {member}");
    }

    let response = reqwest::Client::new()
        .post(format!(
            "{}/apps/{app_id}/branches/main/deployments",
            emu.endpoint()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    let raw = json_body(response).await;
    for member in ["jobId", "zipUploadUrl", "fileUploadUrls"] {
        assert!(raw.get(member).is_some(), "CreateDeployment lacks {member}");
    }
}

/// Status and `x-amzn-errortype` of a raw request.
async fn raw(
    method: reqwest::Method,
    url: String,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), kind)
}

const BAD_REQUEST: &str =
    "BadRequestException:http://internal.amazon.com/coral/com.amazonaws.amplify/";

/// Guards the model's limits, which the emulator used to let through: `maxResults` above 50
/// (it clamped to 100), app ids outside `d[a-z0-9]+` (it answered 404), job ids that are not
/// digits, a `ttl` longer than 32 digits, tags, and `AWS`-prefixed environment variables.
/// An empty `ttl` matches `\d*` and is accepted (the emulator used to refuse it).
#[tokio::test]
async fn the_model_limits_are_enforced() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    let base = format!("{}/apps/{app_id}/branches", emu.endpoint());
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    for max in ["51", "-1"] {
        for url in [
            format!("{base}?maxResults={max}"),
            format!("{base}/main/jobs?maxResults={max}"),
        ] {
            assert_eq!(
                raw(get.clone(), url, None).await,
                (400, BAD_REQUEST.to_owned())
            );
        }
    }
    for max in ["0", "50"] {
        let url = format!("{base}/main/jobs?maxResults={max}");
        assert_eq!(raw(get.clone(), url, None).await.0, 200);
    }
    let long_token = "1".repeat(2001);
    let url = format!("{base}?nextToken={long_token}");
    assert_eq!(raw(get.clone(), url, None).await.0, 400);

    // App ids: `d` then lowercase letters or digits, 1 to 20 characters.
    for bad in ["Dabc", "abc", "d", "dABC", &format!("d{}", "a".repeat(20))] {
        let url = format!("{}/apps/{bad}/branches/main", emu.endpoint());
        assert_eq!(
            raw(get.clone(), url, None).await,
            (400, BAD_REQUEST.to_owned()),
            "{bad}"
        );
    }
    let url = format!("{}/apps/d{}/branches/main", emu.endpoint(), "a".repeat(19));
    assert_eq!(raw(get.clone(), url, None).await.0, 404);
    assert!(matches!(
        emu.create_app_with_id("D1example", "x"),
        Err(ControlError::InvalidAppId(_))
    ));
    let url = format!("{base}/main/jobs/abc");
    assert_eq!(raw(get.clone(), url, None).await.0, 400);
    let url = format!("{base}/{}", "b".repeat(256));
    assert_eq!(raw(get.clone(), url, None).await.0, 400);

    // TTL: `\d*`, 0 to 32 characters.
    for (ttl, status) in [("", 200), ("32", 200), ("1x", 400), (&*"9".repeat(33), 400)] {
        let url = format!("{base}/main");
        let body = serde_json::json!({ "ttl": ttl });
        assert_eq!(
            raw(post.clone(), url, Some(body)).await.0,
            status,
            "ttl {ttl:?}"
        );
    }
    let tags = serde_json::json!({ "branchName": "tagged", "tags": { "aws:owner": "x" } });
    assert_eq!(raw(post.clone(), base.clone(), Some(tags)).await.0, 400);
    let name = serde_json::json!({ "branchName": "b".repeat(256) });
    assert_eq!(raw(post.clone(), base.clone(), Some(name)).await.0, 400);

    // Amplify refuses environment variable names that begin with AWS, on create and update.
    let err = client
        .create_branch()
        .app_id(&app_id)
        .branch_name("env")
        .environment_variables("AWS_REGION", "us-east-1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    let err = client
        .update_branch()
        .app_id(&app_id)
        .branch_name("main")
        .environment_variables("AWSOME", "1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(
        emu.branch_json(&app_id, "main").unwrap()["environmentVariables"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

/// Guards the `x-amzn-errortype: Code:namespace` form: the SDK still reads the modelled error
/// (the emulator used to send the bare code only), and the bare form can be asked for.
#[tokio::test]
async fn namespaced_error_types_parse_to_the_modelled_error() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    for form in [ErrorTypeForm::Namespaced, ErrorTypeForm::Bare] {
        emu.set_error_type_form(form);
        let err = client
            .create_branch()
            .app_id(&app_id)
            .branch_name("x")
            .ttl("abc")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_bad_request_exception(), "{form:?}: {err:?}");
        assert_eq!(err.code(), Some("BadRequestException"));
        let err = client
            .get_branch()
            .app_id(&app_id)
            .branch_name("nope")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_not_found_exception(), "{form:?}: {err:?}");
    }
    let (_, kind) = raw(
        reqwest::Method::GET,
        format!("{}/apps/{app_id}/branches/nope", emu.endpoint()),
        None,
    )
    .await;
    assert_eq!(kind, "NotFoundException");
}

/// Guards the upload's `Content-Length` requirement: a chunked PUT (no length) is refused with
/// 411 as S3 refuses it, and nothing is recorded (the emulator used to take it).
#[tokio::test]
async fn uploads_require_content_length() {
    let emu = emulator(Duration::ZERO).await;
    let client = client(&emu);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;
    let created = client
        .create_deployment()
        .app_id(&app_id)
        .branch_name("main")
        .send()
        .await
        .unwrap();
    let zip = make_zip(&[("index.html", "x")]);
    let stream = futures_stream(zip.clone());
    let response = reqwest::Client::new()
        .put(created.zip_upload_url())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 411);
    assert!(emu.uploaded_zip(&app_id, "main", "1").is_none());
    assert_eq!(put(created.zip_upload_url(), zip.clone()).await, 200);
    assert_eq!(emu.uploaded_zip(&app_id, "main", "1").unwrap(), zip);
}

fn futures_stream(
    bytes: Vec<u8>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures::stream::iter([Ok(bytes)])
}

/// Guards fault injection: 401, 500 and 503 answer without applying anything and reach the SDK
/// as `UnauthorizedException`, `InternalFailureException` and `DependentServiceFailureException`;
/// a lost answer applies the request and closes the connection, so the SDK sees a dispatch or
/// response error while the job exists. Faults are used up in order, then requests pass.
#[tokio::test]
async fn injected_faults_reach_the_sdk() {
    let emu = emulator(Duration::ZERO).await;
    let config = aws_sdk_amplify::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emu.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(aws_sdk_amplify::config::retry::RetryConfig::disabled())
        .build();
    let client = Client::from_conf(config);
    let app_id = emu.create_app("site");
    create_branch(&client, &app_id, "main").await;

    emu.inject(Operation::GetBranch, Fault::Unauthorized, 1);
    emu.inject(Operation::GetBranch, Fault::InternalFailure, 1);
    emu.inject(Operation::GetBranch, Fault::ServiceUnavailable, 1);
    let get = || {
        client
            .get_branch()
            .app_id(&app_id)
            .branch_name("main")
            .send()
    };
    let err = get().await.unwrap_err().into_service_error();
    assert!(err.is_unauthorized_exception(), "{err:?}");
    let err = get().await.unwrap_err().into_service_error();
    assert!(err.is_internal_failure_exception(), "{err:?}");
    let err = get().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);
    let err = err.into_service_error();
    assert_eq!(
        err.code(),
        Some("DependentServiceFailureException"),
        "{err:?}"
    );
    get().await.unwrap();

    // A refused CreateDeployment makes no job.
    emu.inject(Operation::CreateDeployment, Fault::ServiceUnavailable, 1);
    let create = || {
        client
            .create_deployment()
            .app_id(&app_id)
            .branch_name("main")
            .send()
    };
    create().await.unwrap_err();
    assert!(emu.job_json(&app_id, "main", "1").is_none());

    // A lost answer: the job is made, the caller never hears of it.
    emu.inject(Operation::CreateDeployment, Fault::LostAnswer, 1);
    let err = create().await.unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_amplify::error::SdkError::DispatchFailure(_)
                | aws_sdk_amplify::error::SdkError::ResponseError(_)
        ),
        "{err:?}"
    );
    assert_eq!(
        emu.job_json(&app_id, "main", "1").unwrap()["summary"]["status"],
        "PENDING"
    );
    // So the retry meets AWS's "not finished" refusal.
    let err = create().await.unwrap_err().into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(
        err.to_string()
            .contains("The last job(deployment) 1 was not finished"),
        "{err}"
    );

    let injected = emu.injected();
    assert_eq!(injected["UnauthorizedException"], 1);
    assert_eq!(injected["InternalFailureException"], 1);
    assert_eq!(injected["DependentServiceFailureException"], 2);
    assert_eq!(injected["LostAnswer"], 1);
    assert_eq!(emu.calls()["GetBranch"], 4);
    assert_eq!(emu.calls()["CreateDeployment"], 3);

    emu.inject(Operation::GetJob, Fault::Unauthorized, 5);
    emu.clear_faults();
    client
        .get_job()
        .app_id(&app_id)
        .branch_name("main")
        .job_id("1")
        .send()
        .await
        .unwrap();
}
