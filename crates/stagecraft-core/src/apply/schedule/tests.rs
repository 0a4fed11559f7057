//! The schedule in tokio's paused time: API Gateway's request-rate bucket (burst, then the
//! rate; reads and retries included; per lane; Amplify outside it) and `CreateDeployment`'s
//! own interval on top.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{CallKind, Lane, RequestRate, Schedule};
use crate::apply::bucket::TRANSIT_ALLOWANCE;
use crate::apply::journal::Service;
use crate::provider::{ErrorKind, ProviderError};

const AWS_RATE: RequestRate = RequestRate {
    per_second: 10,
    burst: 40,
};

fn schedule(interval: Duration, rate: RequestRate) -> Schedule {
    Schedule::new(
        interval,
        rate,
        8,
        Duration::from_millis(1),
        Duration::from_millis(1),
    )
}

fn lane(region: &str) -> Lane {
    Lane {
        account: "default".into(),
        region: region.into(),
    }
}

/// Sends one call of `kind` to `service` in `lane`, answering `answers` in turn (then `Ok`),
/// and records when each attempt was sent.
async fn send(
    schedule: &Schedule,
    lane: &Lane,
    service: Service,
    kind: CallKind<'_>,
    sent: &Mutex<Vec<Duration>>,
    start: Instant,
    answers: &Mutex<Vec<ProviderError>>,
) {
    let call = || async {
        sent.lock().unwrap().push(start.elapsed());
        match answers.lock().unwrap().pop() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    };
    schedule
        .run(
            lane,
            service,
            kind,
            call,
            |_| Ok::<(), Infallible>(()),
            |_| {},
        )
        .await
        .unwrap();
}

/// `n` concurrent reads of `service` in `lane`: when each was sent.
async fn burst(schedule: &Schedule, lane: &Lane, service: Service, n: usize) -> Vec<Duration> {
    let sent = Mutex::new(Vec::new());
    let answers = Mutex::new(Vec::new());
    let start = Instant::now();
    let calls: Vec<_> = (0..n)
        .map(|_| {
            send(
                schedule,
                lane,
                service,
                CallKind::Other,
                &sent,
                start,
                &answers,
            )
        })
        .collect();
    futures::future::join_all(calls).await;
    let mut times = sent.into_inner().unwrap();
    times.sort();
    times
}

#[tokio::test(start_paused = true)]
async fn sixty_api_gateway_calls_take_two_seconds_the_burst_at_once_then_ten_a_second() {
    let schedule = schedule(Duration::from_secs(5), AWS_RATE);
    let times = burst(&schedule, &lane("us-east-1"), Service::ApiGateway, 60).await;
    assert_eq!(times.len(), 60);
    // 39 at once: the 40th token covers the first call's transit (TRANSIT_ALLOWANCE).
    assert!(
        times[..39].iter().all(|t| *t == Duration::ZERO),
        "{times:?}"
    );
    // Then never more than one per 100 ms.
    for (i, t) in times[39..].iter().enumerate() {
        assert_eq!(
            *t,
            Duration::from_millis(100) * (i as u32 + 1),
            "call {}",
            40 + i
        );
    }
    assert_eq!(times[59], Duration::from_secs(2) + TRANSIT_ALLOWANCE);
}

#[tokio::test(start_paused = true)]
async fn amplify_calls_take_no_token_and_lanes_have_buckets_of_their_own() {
    let schedule = schedule(Duration::from_secs(5), AWS_RATE);
    let times = burst(&schedule, &lane("us-east-1"), Service::Amplify, 100).await;
    assert!(times.iter().all(|t| *t == Duration::ZERO), "{times:?}");
    // One lane's burst spent (39 at once, the 40th token covering transit) does not slow
    // another's.
    burst(&schedule, &lane("us-east-1"), Service::ApiGateway, 39).await;
    let start = Instant::now();
    let other = burst(&schedule, &lane("eu-west-1"), Service::ApiGateway, 39).await;
    assert!(other.iter().all(|t| *t == Duration::ZERO), "{other:?}");
    assert_eq!(start.elapsed(), Duration::ZERO);
    // While the first lane's next call waits for a token.
    let next = burst(&schedule, &lane("us-east-1"), Service::ApiGateway, 1).await;
    assert!(next[0] >= Duration::from_millis(100), "{next:?}");
}

#[tokio::test(start_paused = true)]
async fn create_deployments_stay_an_interval_apart_with_tokens_to_spare() {
    let interval = Duration::from_secs(5);
    let schedule = schedule(interval, AWS_RATE);
    let sent = Mutex::new(Vec::new());
    let answers = Mutex::new(Vec::new());
    let start = Instant::now();
    let lane = lane("us-east-1");
    let ids: Vec<String> = (0..4).map(|i| format!("api{i}")).collect();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            send(
                &schedule,
                &lane,
                Service::ApiGateway,
                CallKind::Deployment { rest_api_id: id },
                &sent,
                start,
                &answers,
            )
        })
        .collect();
    futures::future::join_all(calls).await;
    let mut times = sent.into_inner().unwrap();
    times.sort();
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= interval, "{times:?}");
    }
    assert!(
        times[3] <= interval * 3 + Duration::from_millis(100),
        "{times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn each_retry_takes_a_token_of_its_own() {
    // One token a second, none saved up beyond one: a call throttled twice sends three
    // attempts, a token apart, and the next call waits behind them.
    let schedule = schedule(
        Duration::from_secs(5),
        RequestRate {
            per_second: 1,
            burst: 1,
        },
    );
    let lane = lane("us-east-1");
    let sent = Mutex::new(Vec::new());
    let throttled = || {
        ProviderError::new(
            ErrorKind::Throttled,
            Some("TooManyRequestsException"),
            "slow down",
        )
    };
    let answers = Mutex::new(vec![throttled(), throttled()]);
    let start = Instant::now();
    send(
        &schedule,
        &lane,
        Service::ApiGateway,
        CallKind::ApiMutation { rest_api_id: "a" },
        &sent,
        start,
        &answers,
    )
    .await;
    send(
        &schedule,
        &lane,
        Service::ApiGateway,
        CallKind::Other,
        &sent,
        start,
        &answers,
    )
    .await;
    let times = sent.into_inner().unwrap();
    let gap = Duration::from_secs(1) + TRANSIT_ALLOWANCE;
    assert_eq!(times, [Duration::ZERO, gap, gap * 2, gap * 3]);
}
