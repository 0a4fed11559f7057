//! CloudWatch calls: `DescribeAlarms`, the alarms that gate a canary's rollout.
//!
//! The SDK speaks Smithy RPC v2 CBOR to CloudWatch (`POST
//! /service/GraniteServiceVersion20100801/operation/DescribeAlarms`); docs/behaviour.md,
//! "Rules for every call", says how the calls are paced.

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use stagecraft_core::provider::{AlarmState, LiveAlarm, ProviderResult};
use stagecraft_core::state::Timestamp;

use crate::errors::from_cloudwatch_sdk;

/// The most alarm names one `DescribeAlarms` request may carry (`AlarmNames`, at most 100
/// members), and the most alarms one page may hold (`MaxRecords`, 1 to 100).
pub(crate) const MAX_NAMES_PER_CALL: usize = 100;

/// The SDK's state value as the engine's; one this version does not know keeps its spelling.
fn alarm_state(state: Option<&StateValue>) -> AlarmState {
    match state {
        Some(StateValue::Ok) => AlarmState::Ok,
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
        Some(other) => AlarmState::Unknown(other.as_str().to_string()),
        None => AlarmState::Unknown(String::new()),
    }
}

/// An SDK timestamp as the state's (Unix milliseconds); `None` before 1970 or when absent.
fn timestamp(at: Option<&DateTime>) -> Option<Timestamp> {
    let millis = at?.to_millis().ok()?;
    u64::try_from(millis).ok().map(Timestamp::from_millis)
}

/// Builds a [`LiveAlarm`] from either of the SDK's alarm shapes (`MetricAlarm`,
/// `CompositeAlarm`), which share their accessors but no trait.
macro_rules! live_alarm {
    ($alarm:expr) => {{
        let a = $alarm;
        LiveAlarm {
            name: a.alarm_name().unwrap_or_default().to_string(),
            state: alarm_state(a.state_value()),
            reason: a.state_reason().unwrap_or_default().to_string(),
            state_updated: timestamp(a.state_updated_timestamp()),
        }
    }};
}

/// `DescribeAlarms` of `names`: metric and composite alarms, in batches of at most
/// [`MAX_NAMES_PER_CALL`] names (each name asked once), every page of each batch read. An
/// alarm that does not exist is absent from the answer; the alarms come back in the order
/// CloudWatch lists them, batch after batch.
pub(crate) async fn describe_alarms(
    client: &Client,
    names: &[String],
) -> ProviderResult<Vec<LiveAlarm>> {
    const OP: &str = "DescribeAlarms";
    let mut seen = BTreeSet::new();
    let unique: Vec<&String> = names.iter().filter(|n| seen.insert(n.as_str())).collect();
    let mut alarms = Vec::new();
    for batch in unique.chunks(MAX_NAMES_PER_CALL) {
        let batch: Vec<String> = batch.iter().map(|n| (*n).clone()).collect();
        let mut next_token: Option<String> = None;
        loop {
            tracing::debug!(alarms = batch.len(), page = next_token.is_some(), "{OP}");
            let out = client
                .describe_alarms()
                .set_alarm_names(Some(batch.clone()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(MAX_NAMES_PER_CALL as i32)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| from_cloudwatch_sdk(OP, e))?;
            alarms.extend(out.metric_alarms().iter().map(|a| live_alarm!(a)));
            alarms.extend(out.composite_alarms().iter().map(|a| live_alarm!(a)));
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(token) => next_token = Some(token.to_string()),
                None => break,
            }
        }
    }
    Ok(alarms)
}

#[cfg(test)]
mod tests;
