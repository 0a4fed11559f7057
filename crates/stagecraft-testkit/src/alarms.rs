//! CloudWatch alarms in LocalStack for tests and the sandbox: alarms that only a test changes.
//!
//! An alarm made by [`put_metric_alarm`] watches a metric nobody publishes, with a one-day
//! period and an extended statistic (`p99`), and keeps its state when data is missing: LocalStack's
//! evaluator never overwrites the state a test sets with [`set_alarm_state`], and neither would
//! AWS's. The SDK speaks Smithy RPC v2 CBOR to CloudWatch, which LocalStack 4.9.2 answers (with
//! `cbor2`, pinned by `scripts/localstack.sh`).

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, StateValue};

use crate::localstack::{REGION, SetupError, test_credentials};

/// The namespace of the metric the alarms watch.
pub const NAMESPACE: &str = "Stagecraft/Tests";

/// The metric the alarms watch; nothing publishes it.
pub const METRIC: &str = "NeverPublished";

/// A CloudWatch client for LocalStack at `endpoint` in `region`, with test credentials.
pub fn cloudwatch_client(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(test_credentials())
        .build();
    Client::from_conf(config)
}

fn sdk_error(operation: &str, err: impl std::error::Error) -> SetupError {
    SetupError {
        operation: operation.to_owned(),
        message: DisplayErrorContext(err).to_string(),
    }
}

/// `PutMetricAlarm` of an alarm named `name` in LocalStack at `endpoint` (region [`REGION`]):
/// `p99` of [`METRIC`] over one day, missing data ignored. A new alarm starts in
/// `INSUFFICIENT_DATA`.
pub async fn put_metric_alarm(endpoint: &str, name: &str) -> Result<(), SetupError> {
    put_metric_alarm_with(&cloudwatch_client(endpoint, REGION), name).await
}

/// [`put_metric_alarm`] with a client of one's own (another region, for example).
pub async fn put_metric_alarm_with(client: &Client, name: &str) -> Result<(), SetupError> {
    client
        .put_metric_alarm()
        .alarm_name(name)
        .alarm_description("stagecraft test alarm: its state is set by hand")
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .extended_statistic("p99")
        .period(86_400)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("ignore")
        .send()
        .await
        .map_err(|e| sdk_error("PutMetricAlarm", e))?;
    Ok(())
}

/// `PutCompositeAlarm` named `name` whose rule is `ALARM("child")` for each child, joined by
/// `OR`, in LocalStack at `endpoint` (region [`REGION`]).
pub async fn put_composite_alarm(
    endpoint: &str,
    name: &str,
    children: &[&str],
) -> Result<(), SetupError> {
    let rule = children
        .iter()
        .map(|child| format!("ALARM(\"{child}\")"))
        .collect::<Vec<_>>()
        .join(" OR ");
    cloudwatch_client(endpoint, REGION)
        .put_composite_alarm()
        .alarm_name(name)
        .alarm_rule(rule)
        .send()
        .await
        .map_err(|e| sdk_error("PutCompositeAlarm", e))?;
    Ok(())
}

/// `SetAlarmState`: the alarm `name` goes to `state` (`OK`, `ALARM`, `INSUFFICIENT_DATA`)
/// with `reason`, in LocalStack at `endpoint` (region [`REGION`]).
pub async fn set_alarm_state(
    endpoint: &str,
    name: &str,
    state: &str,
    reason: &str,
) -> Result<(), SetupError> {
    cloudwatch_client(endpoint, REGION)
        .set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::from(state))
        .state_reason(reason)
        .send()
        .await
        .map_err(|e| sdk_error("SetAlarmState", e))?;
    Ok(())
}

/// Makes every alarm of `names` that does not exist yet (metric or composite) with
/// [`put_metric_alarm_with`]; alarms that exist are left as they are, state included. Returns
/// the names made.
pub async fn ensure_alarms(client: &Client, names: &[String]) -> Result<Vec<String>, SetupError> {
    let mut existing = std::collections::BTreeSet::new();
    for batch in names.chunks(100) {
        let mut token: Option<String> = None;
        loop {
            let out = client
                .describe_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("DescribeAlarms", e))?;
            let metric = out.metric_alarms().iter().filter_map(|a| a.alarm_name());
            let composite = out.composite_alarms().iter().filter_map(|a| a.alarm_name());
            existing.extend(metric.chain(composite).map(str::to_owned));
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
    }
    let mut made = Vec::new();
    for name in names {
        if !existing.contains(name) && !made.contains(name) {
            put_metric_alarm_with(client, name).await?;
            made.push(name.clone());
        }
    }
    Ok(made)
}
