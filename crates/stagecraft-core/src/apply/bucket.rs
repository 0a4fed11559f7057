//! The account's request-rate quota as a token bucket on tokio's clock: `rate` tokens a second,
//! at most `burst` saved up, one taken before each call is sent. AWS's API Gateway allows 10
//! requests a second with a burst of 40 per account and region (docs/behaviour.md, "Rules for
//! every call"), and throttles beyond that.
//!
//! Kept as the generic cell rate algorithm: one instant, `due`, the theoretical arrival time of
//! the next call were calls sent at exactly `rate`; a call may go when `due` is at most
//! `(burst - 1)` intervals ahead of now. Exact in `Duration`s, no floating point. AWS's bucket
//! counts a call when it arrives, ours when it leaves: [`TRANSIT_ALLOWANCE`] bridges the two.

use std::time::Duration;

use tokio::time::Instant;

/// How much later than it is sent a call may reach AWS (the journal's fsync, signing, the
/// network), at most. A call is counted as if it arrived this much after its token was taken,
/// so that AWS's bucket, which counts arrivals, never sees one sooner than ours allows: while
/// calls wait for tokens this costs nothing (they are spaced by the tokens' schedule, not by
/// their arrival), and from a full bucket it costs one token of the burst (39 go at once of 40).
pub(crate) const TRANSIT_ALLOWANCE: Duration = Duration::from_millis(100);

/// A token bucket; `take` waits for a token. Waiters are served in the order they came (tokio's
/// mutex is fair).
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// The time one token takes to come back: `1 / rate`.
    interval: Duration,
    /// How far ahead of now `due` may be for a call to go at once: `(burst - 1) x interval`.
    tolerance: Duration,
    /// When the next token is due at the steady rate; `None` while the bucket is full.
    due: tokio::sync::Mutex<Option<Instant>>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate` a second (both at least 1).
    pub(crate) fn new(rate: u32, burst: u32) -> TokenBucket {
        let interval = Duration::from_secs(1) / rate.max(1);
        TokenBucket {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            due: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until a token is there and takes it.
    pub(crate) async fn take(&self) {
        let mut due = self.due.lock().await;
        let mut now = Instant::now();
        if let Some(next) = *due
            && next > now + self.tolerance
        {
            tokio::time::sleep_until(next - self.tolerance).await;
            now = Instant::now();
        }
        let arrival = now + TRANSIT_ALLOWANCE;
        let next = due.map_or(arrival, |due| due.max(arrival));
        *due = Some(next + self.interval);
    }
}

#[cfg(test)]
mod tests;
