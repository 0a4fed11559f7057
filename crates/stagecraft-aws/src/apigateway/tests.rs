//! API Gateway: requests sent, answers mapped.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::operation::create_deployment::{
    CreateDeploymentError, CreateDeploymentOutput,
};
use aws_sdk_apigateway::operation::create_stage::{CreateStageError, CreateStageOutput};
use aws_sdk_apigateway::operation::delete_stage::{DeleteStageError, DeleteStageOutput};
use aws_sdk_apigateway::operation::get_deployments::GetDeploymentsOutput;
use aws_sdk_apigateway::operation::get_stage::{GetStageError, GetStageOutput};
use aws_sdk_apigateway::operation::get_stages::GetStagesOutput;
use aws_sdk_apigateway::operation::update_stage::{UpdateStageError, UpdateStageOutput};
use aws_sdk_apigateway::types::error::{
    BadRequestException, ConflictException, LimitExceededException, NotFoundException,
    TooManyRequestsException,
};
use aws_sdk_apigateway::types::{
    CacheClusterSize, CacheClusterStatus, CanarySettings, Deployment, Op, PatchOperation, Stage,
};
use aws_smithy_mocks::mock;
use stagecraft_core::provider::{
    CacheSize, CacheStatus, ErrorKind, LiveCanary, LiveDeployment, LiveStage, NewCanary, NewStage,
    PatchOp, Provider, StageCanary,
};

use crate::test_support::{apigateway_provider, http_response, meta};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn new_stage() -> NewStage {
    NewStage {
        rest_api_id: "api1".into(),
        stage_name: "prod".into(),
        deployment_id: "dep1".into(),
        stage_description: Some("production".into()),
        variables: vars(&[("k", "v"), ("backend", "https://b.example.com")]),
        cache_size: Some(CacheSize::Gb0_5),
        tracing: true,
        canary: None,
    }
}

fn deployment(id: &str) -> CreateDeploymentOutput {
    CreateDeploymentOutput::builder().id(id).build()
}

#[tokio::test]
async fn create_stage_sends_every_setting() {
    let rule = mock!(Client::create_stage)
        .match_requests(|req| {
            req.rest_api_id() == Some("api1")
                && req.stage_name() == Some("prod")
                && req.deployment_id() == Some("dep1")
                && req.description() == Some("production")
                && req.variables().unwrap().len() == 2
                && req.variables().unwrap()["k"] == "v"
                && req.variables().unwrap()["backend"] == "https://b.example.com"
                && req.cache_cluster_enabled() == Some(true)
                && req.cache_cluster_size() == Some(&CacheClusterSize::Size0Point5Gb)
                && req.tracing_enabled() == Some(true)
                && req.canary_settings().is_none()
        })
        .then_output(|| {
            CreateStageOutput::builder()
                .stage_name("prod")
                .deployment_id("dep1")
                .cache_cluster_enabled(true)
                .cache_cluster_status(CacheClusterStatus::CreateInProgress)
                .build()
        });
    let provider = apigateway_provider(&[&rule]);
    let live = provider.create_stage(&new_stage()).await.unwrap();
    assert_eq!(live.deployment_id.as_deref(), Some("dep1"));
    assert_eq!(live.cache_status, Some(CacheStatus::CreateInProgress));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_stage_without_cache_or_variables() {
    let rule = mock!(Client::create_stage)
        .match_requests(|req| {
            req.stage_name() == Some("dev")
                && req.description().is_none()
                && req.variables().is_none()
                && req.cache_cluster_enabled() == Some(false)
                && req.cache_cluster_size().is_none()
                && req.tracing_enabled() == Some(false)
        })
        .then_output(|| {
            CreateStageOutput::builder()
                .stage_name("dev")
                .deployment_id("dep2")
                .build()
        });
    let provider = apigateway_provider(&[&rule]);
    let stage = NewStage {
        stage_name: "dev".into(),
        deployment_id: "dep2".into(),
        stage_description: None,
        variables: BTreeMap::new(),
        cache_size: None,
        tracing: false,
        ..new_stage()
    };
    let live = provider.create_stage(&stage).await.unwrap();
    assert_eq!(live.stage_name, "dev");
    assert_eq!(rule.num_calls(), 1);
}

/// `CreateStage`'s canary names its deployment (`CreateDeployment`'s cannot).
#[tokio::test]
async fn create_stage_with_a_canary_names_its_deployment() {
    let rule = mock!(Client::create_stage)
        .match_requests(|req| {
            let canary = req.canary_settings().unwrap();
            req.deployment_id() == Some("dep1")
                && canary.deployment_id() == Some("dep2")
                && canary.percent_traffic() == 10.0
                && canary.stage_variable_overrides().unwrap()["backend"] == "canary"
                && canary.use_stage_cache()
        })
        .then_output(|| CreateStageOutput::builder().stage_name("prod").build());
    let provider = apigateway_provider(&[&rule]);
    let stage = NewStage {
        canary: Some(StageCanary {
            deployment_id: "dep2".into(),
            percent_traffic: 10.0,
            variable_overrides: vars(&[("backend", "canary")]),
            use_stage_cache: true,
        }),
        ..new_stage()
    };
    provider.create_stage(&stage).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

/// A stage that exists already is AWS's `ConflictException`, which is not retried.
#[tokio::test]
async fn create_stage_on_an_existing_stage_is_a_conflict() {
    let rule = mock!(Client::create_stage).then_error(|| {
        CreateStageError::ConflictException(
            ConflictException::builder()
                .message("Stage already exists")
                .meta(meta("ConflictException", "Stage already exists"))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let err = provider.create_stage(&new_stage()).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(err.kind, ErrorKind::Permanent);
}

/// Every page is read: `position` is sent back until AWS sends none.
#[tokio::test]
async fn get_deployments_reads_every_page() {
    let first = mock!(Client::get_deployments)
        .match_requests(|req| req.limit() == Some(500) && req.position().is_none())
        .then_output(|| {
            GetDeploymentsOutput::builder()
                .items(Deployment::builder().id("d1").description("v1").build())
                .position("p2")
                .build()
        });
    let second = mock!(Client::get_deployments)
        .match_requests(|req| req.position() == Some("p2"))
        .then_output(|| {
            GetDeploymentsOutput::builder()
                .items(Deployment::builder().id("d2").build())
                .build()
        });
    let provider = apigateway_provider(&[&first, &second]);
    let deployments = provider.get_deployments("api1").await.unwrap();
    assert_eq!(
        deployments,
        vec![
            LiveDeployment {
                id: "d1".into(),
                description: Some("v1".into())
            },
            LiveDeployment {
                id: "d2".into(),
                description: None
            },
        ]
    );
}

#[tokio::test]
async fn create_snapshot_sends_only_api_and_description() {
    let rule = mock!(Client::create_deployment)
        .match_requests(|req| {
            req.rest_api_id() == Some("api1")
                && req.description() == Some("rev-42")
                && req.stage_name().is_none()
                && req.stage_description().is_none()
                && req.variables().is_none()
                && req.cache_cluster_enabled().is_none()
                && req.cache_cluster_size().is_none()
                && req.tracing_enabled().is_none()
                && req.canary_settings().is_none()
        })
        .then_output(|| deployment("snap1"));
    let provider = apigateway_provider(&[&rule]);
    assert_eq!(
        provider.create_snapshot("api1", "rev-42").await.unwrap(),
        "snap1"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_canary_sends_canary_settings() {
    let rule = mock!(Client::create_deployment)
        .match_requests(|req| {
            let canary = req.canary_settings().unwrap();
            req.rest_api_id() == Some("api1")
                && req.stage_name() == Some("prod")
                && req.description() == Some("v2")
                && req.variables().is_none()
                && req.stage_description().is_none()
                && req.cache_cluster_enabled().is_none()
                && canary.percent_traffic() == 12.5
                && canary.stage_variable_overrides().unwrap().len() == 1
                && canary.stage_variable_overrides().unwrap()["backend"] == "canary"
                && canary.use_stage_cache()
        })
        .then_output(|| deployment("dep3"));
    let provider = apigateway_provider(&[&rule]);
    let canary = NewCanary {
        rest_api_id: "api1".into(),
        stage_name: "prod".into(),
        deployment_description: "v2".into(),
        percent_traffic: 12.5,
        variable_overrides: vars(&[("backend", "canary")]),
        use_stage_cache: true,
    };
    assert_eq!(provider.create_canary(&canary).await.unwrap(), "dep3");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn create_canary_without_overrides_sends_none() {
    let rule = mock!(Client::create_deployment)
        .match_requests(|req| {
            let canary = req.canary_settings().unwrap();
            canary.stage_variable_overrides().is_none()
                && canary.percent_traffic() == 0.0
                && !canary.use_stage_cache()
        })
        .then_output(|| deployment("dep4"));
    let provider = apigateway_provider(&[&rule]);
    let canary = NewCanary {
        rest_api_id: "api1".into(),
        stage_name: "prod".into(),
        deployment_description: "v2".into(),
        percent_traffic: 0.0,
        variable_overrides: BTreeMap::new(),
        use_stage_cache: false,
    };
    assert_eq!(provider.create_canary(&canary).await.unwrap(), "dep4");
}

#[tokio::test]
async fn create_canary_on_missing_stage_keeps_aws_message() {
    let message = "Stage prod must already be created before making a canary release deployment";
    let rule = mock!(Client::create_deployment).then_error(move || {
        CreateDeploymentError::BadRequestException(
            BadRequestException::builder()
                .message(message)
                .meta(meta("BadRequestException", message))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let canary = NewCanary {
        rest_api_id: "api1".into(),
        stage_name: "prod".into(),
        deployment_description: "v2".into(),
        percent_traffic: 10.0,
        variable_overrides: BTreeMap::new(),
        use_stage_cache: false,
    };
    let err = provider.create_canary(&canary).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("BadRequestException"));
    assert_eq!(err.message, message);
}

#[tokio::test]
async fn update_stage_sends_patch_operations_in_order_and_maps_the_stage() {
    let expected = vec![
        PatchOperation::builder()
            .op(Op::Copy)
            .from("/canarySettings/deploymentId")
            .path("/deploymentId")
            .build(),
        PatchOperation::builder()
            .op(Op::Copy)
            .from("/canarySettings/stageVariableOverrides")
            .path("/variables")
            .build(),
        PatchOperation::builder()
            .op(Op::Remove)
            .path("/canarySettings")
            .build(),
        PatchOperation::builder()
            .op(Op::Replace)
            .path("/variables/a~1b")
            .value("x")
            .build(),
        PatchOperation::builder()
            .op(Op::Replace)
            .path("/tracingEnabled")
            .value("true")
            .build(),
    ];
    let rule = mock!(Client::update_stage)
        .match_requests(move |req| {
            req.rest_api_id() == Some("api1")
                && req.stage_name() == Some("prod")
                && req.patch_operations() == expected.as_slice()
        })
        .then_output(|| {
            UpdateStageOutput::builder()
                .stage_name("prod")
                .deployment_id("dep9")
                .variables("a/b", "x")
                .tracing_enabled(true)
                .build()
        });
    let provider = apigateway_provider(&[&rule]);
    let patch = [
        PatchOp::Copy {
            from: "/canarySettings/deploymentId".into(),
            path: "/deploymentId".into(),
        },
        PatchOp::Copy {
            from: "/canarySettings/stageVariableOverrides".into(),
            path: "/variables".into(),
        },
        PatchOp::Remove {
            path: "/canarySettings".into(),
        },
        PatchOp::Replace {
            path: "/variables/a~1b".into(),
            value: "x".into(),
        },
        PatchOp::Replace {
            path: "/tracingEnabled".into(),
            value: "true".into(),
        },
    ];
    let stage = provider.update_stage("api1", "prod", &patch).await.unwrap();
    assert_eq!(
        stage,
        LiveStage {
            stage_name: "prod".into(),
            deployment_id: Some("dep9".into()),
            tracing: true,
            variables: vars(&[("a/b", "x")]),
            ..LiveStage::default()
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_stage_conflict_to_try_again_later_is_retryable() {
    let message =
        "Unable to complete operation due to concurrent modification. Please try again later.";
    let rule = mock!(Client::update_stage).then_error(move || {
        UpdateStageError::ConflictException(
            ConflictException::builder()
                .message(message)
                .meta(meta("ConflictException", message))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let patch = [PatchOp::Remove {
        path: "/canarySettings".into(),
    }];
    let err = provider
        .update_stage("api1", "prod", &patch)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.kind.is_retryable());
    assert_eq!(err.code.as_deref(), Some("ConflictException"));
    assert_eq!(err.message, message);
}

#[tokio::test]
async fn update_stage_other_conflict_is_permanent() {
    let message = "Stage already has a canary";
    let rule = mock!(Client::update_stage).then_error(move || {
        UpdateStageError::ConflictException(
            ConflictException::builder()
                .message(message)
                .meta(meta("ConflictException", message))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let err = provider
        .update_stage("api1", "prod", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.message, message);
}

#[tokio::test]
async fn get_stage_maps_every_field() {
    let rule = mock!(Client::get_stage)
        .match_requests(|req| req.rest_api_id() == Some("api1") && req.stage_name() == Some("prod"))
        .then_output(|| {
            GetStageOutput::builder()
                .stage_name("prod")
                .deployment_id("dep1")
                .description("production")
                .tracing_enabled(true)
                .variables("k", "v")
                .cache_cluster_enabled(true)
                .cache_cluster_size(CacheClusterSize::Size6Point1Gb)
                .cache_cluster_status(CacheClusterStatus::CreateInProgress)
                .canary_settings(
                    CanarySettings::builder()
                        .deployment_id("dep2")
                        .percent_traffic(10.5)
                        .stage_variable_overrides("k", "w")
                        .use_stage_cache(true)
                        .build(),
                )
                .build()
        });
    let provider = apigateway_provider(&[&rule]);
    let stage = provider.get_stage("api1", "prod").await.unwrap().unwrap();
    assert_eq!(
        stage,
        LiveStage {
            stage_name: "prod".into(),
            deployment_id: Some("dep1".into()),
            description: Some("production".into()),
            tracing: true,
            variables: vars(&[("k", "v")]),
            cache_enabled: true,
            cache_size: Some("6.1".into()),
            cache_status: Some(CacheStatus::CreateInProgress),
            canary: Some(LiveCanary {
                deployment_id: Some("dep2".into()),
                percent_traffic: 10.5,
                variable_overrides: vars(&[("k", "w")]),
                use_stage_cache: true,
            }),
        }
    );
}

#[tokio::test]
async fn get_stage_reads_absent_fields_as_empty() {
    let rule = mock!(Client::get_stage).then_output(|| {
        GetStageOutput::builder()
            .stage_name("prod")
            .deployment_id("dep1")
            .cache_cluster_status(CacheClusterStatus::NotAvailable)
            .canary_settings(CanarySettings::builder().build())
            .build()
    });
    let provider = apigateway_provider(&[&rule]);
    let stage = provider.get_stage("api1", "prod").await.unwrap().unwrap();
    assert_eq!(
        stage,
        LiveStage {
            stage_name: "prod".into(),
            deployment_id: Some("dep1".into()),
            cache_status: Some(CacheStatus::NotAvailable),
            canary: Some(LiveCanary::default()),
            ..LiveStage::default()
        }
    );
}

/// Every configured cache size reaches API Gateway in the SDK's spelling, which is the
/// configuration's.
#[test]
fn every_cache_size_is_sent_as_configured() {
    for (size, text) in CacheSize::ALL {
        assert_eq!(crate::apigateway::cache_cluster_size(size).as_str(), text);
    }
}

/// A cache status AWS adds later keeps its spelling and is not taken for a settled one.
#[tokio::test]
async fn get_stage_keeps_an_unknown_cache_status() {
    let rule = mock!(Client::get_stage).then_output(|| {
        GetStageOutput::builder()
            .stage_name("prod")
            .cache_cluster_status(CacheClusterStatus::from("RESIZE_IN_PROGRESS"))
            .build()
    });
    let provider = apigateway_provider(&[&rule]);
    let stage = provider.get_stage("api1", "prod").await.unwrap().unwrap();
    let status = stage.cache_status.unwrap();
    assert_eq!(status, CacheStatus::Unknown("RESIZE_IN_PROGRESS".into()));
    assert!(!status.is_settled(true));
    assert!(!status.is_settled(false));
    assert_eq!(status.to_string(), "RESIZE_IN_PROGRESS");
}

#[tokio::test]
async fn get_stage_not_found_is_none() {
    let rule = mock!(Client::get_stage).then_error(|| {
        GetStageError::NotFoundException(
            NotFoundException::builder()
                .message("Invalid stage identifier specified")
                .meta(meta(
                    "NotFoundException",
                    "Invalid stage identifier specified",
                ))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    assert_eq!(provider.get_stage("api1", "prod").await.unwrap(), None);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn get_stage_bare_404_is_none() {
    let rule = mock!(Client::get_stage).then_http_response(|| http_response(404, None, "{}"));
    let provider = apigateway_provider(&[&rule]);
    assert_eq!(provider.get_stage("api1", "prod").await.unwrap(), None);
}

#[tokio::test]
async fn get_stage_throttled() {
    let rule = mock!(Client::get_stage).then_error(|| {
        GetStageError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .message("slow down")
                .meta(meta("TooManyRequestsException", "slow down"))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("TooManyRequestsException"));
    assert_eq!(err.message, "slow down");
    assert_eq!(err.to_string(), "TooManyRequestsException: slow down");
    assert_eq!(rule.num_calls(), 1, "the SDK must not retry");
}

#[tokio::test]
async fn get_stage_limit_exceeded() {
    let rule = mock!(Client::get_stage).then_error(|| {
        GetStageError::LimitExceededException(
            LimitExceededException::builder()
                .message("Rate exceeded")
                .meta(meta("LimitExceededException", "Rate exceeded"))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
    assert_eq!(err.message, "Rate exceeded");
}

#[tokio::test]
async fn wire_errors_are_parsed_and_classified() {
    // A real-looking 409 body with the error type header, a bare 429, a 503 without a body.
    let conflict = mock!(Client::get_stage).then_http_response(|| {
        http_response(
            409,
            Some("ConflictException"),
            r#"{"message":"Unable to complete operation due to concurrent modification. Please try again later."}"#,
        )
    });
    let bare_429 = mock!(Client::get_stage).then_http_response(|| http_response(429, None, ""));
    let unavailable = mock!(Client::get_stage).then_http_response(|| http_response(503, None, ""));
    let bad_request = mock!(Client::get_stage).then_http_response(|| {
        http_response(
            400,
            Some("BadRequestException"),
            r#"{"message":"Invalid cache cluster size specified: 1.0"}"#,
        )
    });
    let provider = apigateway_provider(&[&conflict, &bare_429, &unavailable, &bad_request]);

    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(err.code.as_deref(), Some("ConflictException"));
    assert_eq!(
        err.message,
        "Unable to complete operation due to concurrent modification. Please try again later."
    );

    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);

    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(err.message.contains("503"), "{err}");

    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("BadRequestException"));
    assert_eq!(err.message, "Invalid cache cluster size specified: 1.0");
}

#[tokio::test]
async fn get_stages_maps_every_item() {
    let rule = mock!(Client::get_stages)
        .match_requests(|req| req.rest_api_id() == Some("api1"))
        .then_output(|| {
            GetStagesOutput::builder()
                .item(
                    Stage::builder()
                        .stage_name("prod")
                        .deployment_id("d1")
                        .variables("k", "v")
                        .build(),
                )
                .item(
                    Stage::builder()
                        .stage_name("dev")
                        .deployment_id("d2")
                        .cache_cluster_enabled(true)
                        .cache_cluster_size(CacheClusterSize::Size237Gb)
                        .cache_cluster_status(CacheClusterStatus::Available)
                        .build(),
                )
                .build()
        });
    let provider = apigateway_provider(&[&rule]);
    let stages = provider.get_stages("api1").await.unwrap();
    assert_eq!(
        stages,
        vec![
            LiveStage {
                stage_name: "prod".into(),
                deployment_id: Some("d1".into()),
                variables: vars(&[("k", "v")]),
                ..LiveStage::default()
            },
            LiveStage {
                stage_name: "dev".into(),
                deployment_id: Some("d2".into()),
                cache_enabled: true,
                cache_size: Some("237".into()),
                cache_status: Some(CacheStatus::Available),
                ..LiveStage::default()
            },
        ]
    );
}

#[tokio::test]
async fn get_stages_of_an_api_without_stages_is_empty() {
    let rule = mock!(Client::get_stages).then_output(|| GetStagesOutput::builder().build());
    let provider = apigateway_provider(&[&rule]);
    assert!(provider.get_stages("api1").await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_stage_sends_the_names() {
    let rule = mock!(Client::delete_stage)
        .match_requests(|req| req.rest_api_id() == Some("api1") && req.stage_name() == Some("old"))
        .then_output(|| DeleteStageOutput::builder().build());
    let provider = apigateway_provider(&[&rule]);
    provider.delete_stage("api1", "old").await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn delete_stage_not_found_is_reported() {
    let rule = mock!(Client::delete_stage).then_error(|| {
        DeleteStageError::NotFoundException(
            NotFoundException::builder()
                .meta(meta(
                    "NotFoundException",
                    "Invalid stage identifier specified",
                ))
                .build(),
        )
    });
    let provider = apigateway_provider(&[&rule]);
    let err = provider.delete_stage("api1", "old").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.message, "Invalid stage identifier specified");
}
