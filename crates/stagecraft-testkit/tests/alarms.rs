//! CloudWatch alarms in the LocalStack that `scripts/test.sh` starts: made and set by the
//! testkit, read back through stagecraft's own `AwsProvider::describe_alarms` (the SDK's Smithy
//! RPC v2 CBOR, as against AWS).
#![allow(clippy::unwrap_used)]

use stagecraft_aws::AwsProvider;
use stagecraft_core::provider::{AlarmState, LiveAlarm, Provider};
use stagecraft_testkit::alarms::{
    cloudwatch_client, put_composite_alarm, put_metric_alarm, set_alarm_state,
};
use stagecraft_testkit::localstack::{REGION, apigateway_client, endpoint_from_env};

/// A name no other test uses.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Our provider, its CloudWatch client on LocalStack (the other clients are never called).
fn provider(endpoint: &str) -> AwsProvider {
    let amplify = aws_sdk_amplify::Client::from_conf(
        aws_sdk_amplify::Config::builder()
            .behavior_version(aws_sdk_amplify::config::BehaviorVersion::latest())
            .region(aws_sdk_amplify::config::Region::new(REGION))
            .build(),
    );
    AwsProvider::from_clients(
        apigateway_client(endpoint, REGION),
        amplify,
        cloudwatch_client(endpoint, REGION),
    )
}

fn by_name<'a>(alarms: &'a [LiveAlarm], name: &str) -> &'a LiveAlarm {
    alarms
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{name} not in {alarms:?}"))
}

#[tokio::test]
async fn states_set_by_hand_are_read_back_and_a_missing_alarm_is_absent() {
    let endpoint = endpoint_from_env();
    let errors = unique("errors");
    let latency = unique("latency");
    let missing = unique("missing");
    put_metric_alarm(&endpoint, &errors).await.unwrap();
    put_metric_alarm(&endpoint, &latency).await.unwrap();
    let provider = provider(&endpoint);

    let names = [errors.clone(), latency.clone(), missing.clone()];
    let fresh = provider.describe_alarms(&names).await.unwrap();
    assert_eq!(fresh.len(), 2, "{fresh:?}");
    assert_eq!(by_name(&fresh, &errors).state, AlarmState::InsufficientData);
    let created_at = by_name(&fresh, &errors).state_updated;

    set_alarm_state(
        &endpoint,
        &errors,
        "ALARM",
        "5xx above 1% (set by the test)",
    )
    .await
    .unwrap();
    set_alarm_state(&endpoint, &latency, "OK", "p99 fine (set by the test)")
        .await
        .unwrap();
    let alarms = provider.describe_alarms(&names).await.unwrap();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    let fired = by_name(&alarms, &errors);
    assert_eq!(fired.state, AlarmState::Alarm);
    assert_eq!(fired.reason, "5xx above 1% (set by the test)");
    assert!(fired.state_updated.is_some(), "{fired:?}");
    assert!(
        fired.state_updated >= created_at,
        "{fired:?} after {created_at:?}"
    );
    let fine = by_name(&alarms, &latency);
    assert_eq!(fine.state, AlarmState::Ok);
    assert_eq!(fine.reason, "p99 fine (set by the test)");
    assert!(alarms.iter().all(|a| a.name != missing));

    // The state stays as set: nothing evaluates the unpublished metric over it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let again = provider.describe_alarms(&names).await.unwrap();
    assert_eq!(by_name(&again, &errors).state, AlarmState::Alarm);
    assert_eq!(by_name(&again, &latency).state, AlarmState::Ok);
}

#[tokio::test]
async fn composite_alarms_are_read_with_metric_alarms() {
    let endpoint = endpoint_from_env();
    let child = unique("child");
    let parent = unique("parent");
    put_metric_alarm(&endpoint, &child).await.unwrap();
    put_composite_alarm(&endpoint, &parent, &[&child])
        .await
        .unwrap();
    set_alarm_state(&endpoint, &parent, "ALARM", "set by the test")
        .await
        .unwrap();
    let alarms = provider(&endpoint)
        .describe_alarms(&[child.clone(), parent.clone()])
        .await
        .unwrap();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert_eq!(by_name(&alarms, &child).state, AlarmState::InsufficientData);
    assert_eq!(by_name(&alarms, &parent).state, AlarmState::Alarm);
}

#[tokio::test]
async fn more_than_a_hundred_names_are_read_in_batches() {
    let endpoint = endpoint_from_env();
    let names: Vec<String> = (0..120).map(|i| unique(&format!("batch{i:03}"))).collect();
    // Only the first and the last exist: one in each batch of 100.
    put_metric_alarm(&endpoint, &names[0]).await.unwrap();
    put_metric_alarm(&endpoint, &names[119]).await.unwrap();
    set_alarm_state(&endpoint, &names[119], "ALARM", "set by the test")
        .await
        .unwrap();
    let alarms = provider(&endpoint).describe_alarms(&names).await.unwrap();
    let mut found: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
    found.sort_unstable();
    let mut expected = vec![names[0].as_str(), names[119].as_str()];
    expected.sort_unstable();
    assert_eq!(found, expected);
    assert_eq!(by_name(&alarms, &names[119]).state, AlarmState::Alarm);
}
