//! The wall clock apply records rollouts by (docs/behaviour.md, "Rollouts"). The engine reads
//! no clock itself: the CLI passes the system's, tests one that follows tokio's (paused) clock.

use tokio::time::Instant;

use crate::state::Timestamp;

/// Tells the time of day, for the timestamps a rollout records.
pub trait WallClock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// A wall clock that starts at a given time and moves with tokio's clock: under a paused
/// runtime, it advances exactly as far as the engine's sleeps (tests, and replays of a run).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: Timestamp,
    origin: Instant,
}

impl TokioClock {
    /// A clock that reads `start` now.
    pub fn starting_at(start: Timestamp) -> TokioClock {
        TokioClock {
            start,
            origin: Instant::now(),
        }
    }
}

impl WallClock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.start.plus_millis(elapsed)
    }
}
