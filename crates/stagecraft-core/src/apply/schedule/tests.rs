//! The schedule in tokio's paused time: API Gateway's request-rate bucket (burst, then the
//! rate; reads and retries included; per lane; Amplify outside it), CloudWatch's bucket of its
//! own (`DescribeAlarms`' 9 a second) and `CreateDeployment`'s own interval on top.
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
    schedule_with_alarms(interval, rate, RequestRate::DESCRIBE_ALARMS)
}

fn schedule_with_alarms(
    interval: Duration,
    rate: RequestRate,
    alarm_rate: RequestRate,
) -> Schedule {
    Schedule::new(
        interval,
        rate,
        alarm_rate,
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

#[tokio::test(start_paused = true)]
async fn cloudwatch_calls_go_nine_a_second_from_a_bucket_of_their_own() {
    assert_eq!(
        RequestRate::DESCRIBE_ALARMS,
        RequestRate {
            per_second: 9,
            burst: 9
        }
    );
    let schedule = schedule(Duration::from_secs(5), AWS_RATE);
    let times = burst(&schedule, &lane("us-east-1"), Service::CloudWatch, 27).await;
    // 8 at once: the 9th token covers the first call's transit (TRANSIT_ALLOWANCE).
    assert!(times[..8].iter().all(|t| *t == Duration::ZERO), "{times:?}");
    // Then one every ninth of a second (tokio's timer rounds each wait up to its millisecond).
    let ninth = Duration::from_secs(1) / 9;
    for (i, t) in times[8..].iter().enumerate() {
        let due = TRANSIT_ALLOWANCE + ninth * i as u32;
        assert!(
            *t >= due && *t <= due + Duration::from_millis(1),
            "call {}: {t:?}, due {due:?}",
            8 + i
        );
    }
    // After the first burst, never more than 9 sent in any second.
    for (i, t) in times.iter().enumerate().skip(17) {
        assert!(*t - times[i - 9] >= Duration::from_secs(1), "{times:?}");
    }
    assert!(times[26] >= TRANSIT_ALLOWANCE + Duration::from_secs(2));
    assert!(times[26] <= TRANSIT_ALLOWANCE + Duration::from_millis(2001));
}

#[tokio::test(start_paused = true)]
async fn cloudwatch_and_api_gateway_never_wait_for_each_others_tokens() {
    let one_a_second = RequestRate {
        per_second: 1,
        burst: 1,
    };
    let schedule = schedule_with_alarms(Duration::from_secs(5), one_a_second, one_a_second);
    let lane = lane("us-east-1");
    // API Gateway's only token spent: alarm reads still go at once.
    burst(&schedule, &lane, Service::ApiGateway, 1).await;
    let start = Instant::now();
    burst(&schedule, &lane, Service::CloudWatch, 1).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    // Both spent: another lane's alarm read goes at once, this lane's waits for its own.
    burst(&schedule, &self::lane("eu-west-1"), Service::CloudWatch, 1).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    let next = burst(&schedule, &lane, Service::CloudWatch, 1).await;
    assert_eq!(next[0], Duration::from_secs(1) + TRANSIT_ALLOWANCE);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_alarm_read_is_retried_each_attempt_with_a_cloudwatch_token() {
    let schedule = schedule_with_alarms(
        Duration::from_secs(5),
        AWS_RATE,
        RequestRate {
            per_second: 2,
            burst: 1,
        },
    );
    let lane = lane("us-east-1");
    let sent = Mutex::new(Vec::new());
    let throttled =
        || ProviderError::new(ErrorKind::Throttled, Some("Throttling"), "Rate exceeded");
    let answers = Mutex::new(vec![throttled(), throttled()]);
    let start = Instant::now();
    send(
        &schedule,
        &lane,
        Service::CloudWatch,
        CallKind::Other,
        &sent,
        start,
        &answers,
    )
    .await;
    let times = sent.into_inner().unwrap();
    let gap = Duration::from_millis(500) + TRANSIT_ALLOWANCE;
    assert_eq!(times, [Duration::ZERO, gap, gap * 2]);
    // API Gateway's bucket was not touched: its whole burst is there.
    let start = Instant::now();
    let gateway = burst(&schedule, &lane, Service::ApiGateway, 39).await;
    assert!(gateway.iter().all(|t| *t == Duration::ZERO), "{gateway:?}");
    assert_eq!(start.elapsed(), Duration::ZERO);
}
