//! CloudWatch: `DescribeAlarms` requests sent (batches, alarm types, pages), answers mapped,
//! failures classified.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use stagecraft_core::provider::{AlarmState, ErrorKind, LiveAlarm, Provider};
use stagecraft_core::state::Timestamp;

use super::MAX_NAMES_PER_CALL;
use crate::test_support::cloudwatch_provider;

fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("alarm-{i:03}")).collect()
}

fn metric_alarm(name: &str, state: StateValue) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(name)
        .state_value(state)
        .state_reason(format!("{name} reason"))
        .state_updated_timestamp(DateTime::from_millis(1_764_000_000_123))
        .build()
}

fn ok_alarm(name: &str) -> MetricAlarm {
    metric_alarm(name, StateValue::Ok)
}

/// Whether a request asks for both alarm types, as every stagecraft request does.
fn both_types(types: &[AlarmType]) -> bool {
    types.len() == 2
        && types.contains(&AlarmType::MetricAlarm)
        && types.contains(&AlarmType::CompositeAlarm)
}

#[tokio::test]
async fn metric_and_composite_alarms_are_mapped() {
    let rule = mock!(Client::describe_alarms)
        .match_requests(|req| {
            req.alarm_names() == ["errors".to_string(), "latency".to_string(), "health".into()]
                && both_types(req.alarm_types())
                && req.max_records() == Some(100)
                && req.next_token().is_none()
        })
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(metric_alarm("errors", StateValue::Alarm))
                .metric_alarms(metric_alarm("latency", StateValue::InsufficientData))
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("health")
                        .state_value(StateValue::Ok)
                        .state_reason("all children OK")
                        .state_updated_timestamp(DateTime::from_millis(1_700_000_000_000))
                        .build(),
                )
                .build()
        });
    let provider = cloudwatch_provider(&[&rule]);
    let alarms = provider
        .describe_alarms(&["errors".into(), "latency".into(), "health".into()])
        .await
        .unwrap();
    assert_eq!(
        alarms,
        vec![
            LiveAlarm {
                name: "errors".into(),
                state: AlarmState::Alarm,
                reason: "errors reason".into(),
                state_updated: Some(Timestamp::from_millis(1_764_000_000_123)),
            },
            LiveAlarm {
                name: "latency".into(),
                state: AlarmState::InsufficientData,
                reason: "latency reason".into(),
                state_updated: Some(Timestamp::from_millis(1_764_000_000_123)),
            },
            LiveAlarm {
                name: "health".into(),
                state: AlarmState::Ok,
                reason: "all children OK".into(),
                state_updated: Some(Timestamp::from_millis(1_700_000_000_000)),
            },
        ]
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_unknown_state_keeps_its_spelling_and_a_missing_alarm_is_absent() {
    let rule = mock!(Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("odd")
                    .state_value(StateValue::from("MAYBE"))
                    .build(),
            )
            .build()
    });
    let provider = cloudwatch_provider(&[&rule]);
    let alarms = provider
        .describe_alarms(&["odd".into(), "gone".into()])
        .await
        .unwrap();
    assert_eq!(
        alarms,
        vec![LiveAlarm {
            name: "odd".into(),
            state: AlarmState::Unknown("MAYBE".into()),
            reason: String::new(),
            state_updated: None,
        }]
    );
}

#[tokio::test]
async fn every_page_is_read_with_the_token_of_the_one_before() {
    let first = mock!(Client::describe_alarms)
        .match_requests(|req| req.next_token().is_none() && req.alarm_names().len() == 3)
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(ok_alarm("a"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::describe_alarms)
        .match_requests(|req| req.next_token() == Some("page-2") && req.alarm_names().len() == 3)
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .composite_alarms(CompositeAlarm::builder().alarm_name("b").build())
                .next_token("page-3")
                .build()
        });
    let third = mock!(Client::describe_alarms)
        .match_requests(|req| req.next_token() == Some("page-3"))
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(ok_alarm("c"))
                .next_token("")
                .build()
        });
    let provider = cloudwatch_provider(&[&first, &second, &third]);
    let alarms = provider
        .describe_alarms(&["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();
    let found: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(found, ["a", "b", "c"]);
    assert_eq!(
        (first.num_calls(), second.num_calls(), third.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn more_than_a_hundred_names_go_in_batches_of_a_hundred_each_asked_once() {
    let all = names(250);
    let asked: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let batch = |record: Arc<Mutex<Vec<Vec<String>>>>| {
        mock!(Client::describe_alarms)
            .match_requests(move |req| {
                record.lock().unwrap().push(req.alarm_names().to_vec());
                both_types(req.alarm_types()) && req.alarm_names().len() <= MAX_NAMES_PER_CALL
            })
            .then_output(|| DescribeAlarmsOutput::builder().build())
    };
    let rules: Vec<Rule> = (0..3).map(|_| batch(Arc::clone(&asked))).collect();
    let rule_refs: Vec<&Rule> = rules.iter().collect();
    let provider = cloudwatch_provider(&rule_refs);
    // Each name twice: the duplicates are not asked again.
    let doubled: Vec<String> = all.iter().chain(all.iter()).cloned().collect();
    provider.describe_alarms(&doubled).await.unwrap();
    let asked = asked.lock().unwrap().clone();
    let sizes: Vec<usize> = asked.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(asked.concat(), all);
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn no_names_make_no_call() {
    let rule =
        mock!(Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
    let provider = cloudwatch_provider(&[&rule]);
    assert!(provider.describe_alarms(&[]).await.unwrap().is_empty());
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_failed_page_fails_the_call() {
    let first = mock!(Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(ok_alarm("a"))
            .next_token("stale")
            .build()
    });
    let second = mock!(Client::describe_alarms).then_http_response(|| {
        cbor_error(
            400,
            None,
            &[
                ("__type", "InvalidNextToken"),
                ("message", "The service returned an invalid next token."),
            ],
        )
    });
    let provider = cloudwatch_provider(&[&first, &second]);
    let err = provider.describe_alarms(&["a".into()]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("InvalidNextToken"));
    assert_eq!(err.message, "The service returned an invalid next token.");
}

/// A CBOR text string (major type 3), short or one-byte length.
fn cbor_text(out: &mut Vec<u8>, text: &str) {
    let len = text.len();
    if len < 24 {
        out.push(0x60 | len as u8);
    } else {
        assert!(len < 256);
        out.push(0x78);
        out.push(len as u8);
    }
    out.extend_from_slice(text.as_bytes());
}

/// A CBOR map of text to text, as a Smithy RPC v2 CBOR error body.
fn cbor_map(entries: &[(&str, &str)]) -> Vec<u8> {
    assert!(entries.len() < 24);
    let mut out = vec![0xa0 | entries.len() as u8];
    for (key, value) in entries {
        cbor_text(&mut out, key);
        cbor_text(&mut out, value);
    }
    out
}

/// An RPC v2 CBOR error answer, with `x-amzn-query-error` (CloudWatch is awsQuery-compatible:
/// the header carries the code the Query protocol would have sent) when given.
fn cbor_error(status: u16, query_error: Option<&str>, body: &[(&str, &str)]) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(cbor_map(body)),
    );
    let headers = response.headers_mut();
    headers.insert("content-type", "application/cbor");
    headers.insert("smithy-protocol", "rpc-v2-cbor");
    if let Some(query_error) = query_error {
        headers.insert("x-amzn-query-error", query_error.to_string());
    }
    response
}

/// The error `DescribeAlarms` gets from the HTTP answer `answer`.
async fn failed_with(answer: HttpResponse) -> stagecraft_core::provider::ProviderError {
    let answer = Arc::new(Mutex::new(Some(answer)));
    let rule = mock!(Client::describe_alarms)
        .then_http_response(move || answer.lock().unwrap().take().unwrap());
    let provider = cloudwatch_provider(&[&rule]);
    provider
        .describe_alarms(&["errors".into()])
        .await
        .unwrap_err()
}

#[tokio::test]
async fn throttling_is_throttled_by_its_code_whatever_the_status() {
    let err = failed_with(cbor_error(
        400,
        None,
        &[
            ("__type", "com.amazonaws.cloudwatch#Throttling"),
            ("message", "Rate exceeded"),
        ],
    ))
    .await;
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    assert_eq!(err.message, "Rate exceeded");
    // The query-compatible header names the code when the body's type is the new one.
    let err = failed_with(cbor_error(
        400,
        Some("Throttling;Sender"),
        &[("__type", "com.amazonaws.cloudwatch#ThrottlingException")],
    ))
    .await;
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    assert_eq!(err.message, "DescribeAlarms failed with HTTP status 400");
}

#[tokio::test]
async fn access_denied_names_the_iam_action() {
    let err = failed_with(cbor_error(
        403,
        None,
        &[
            ("__type", "AccessDenied"),
            (
                "message",
                "User: arn:aws:iam::1:user/ci is not authorized to perform: cloudwatch:DescribeAlarms",
            ),
        ],
    ))
    .await;
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(
        err.message
            .ends_with("(cloudwatch:DescribeAlarms on DescribeAlarms)"),
        "{err}"
    );
}

#[tokio::test]
async fn server_faults_are_transient() {
    let err = failed_with(cbor_error(
        500,
        None,
        &[("__type", "InternalServiceFault"), ("message", "oops")],
    ))
    .await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code.as_deref(), Some("InternalServiceFault"));
    let err = failed_with(cbor_error(503, None, &[])).await;
    assert_eq!(err.kind, ErrorKind::Transient);
}
