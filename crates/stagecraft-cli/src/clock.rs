//! The system's wall clock, which the engine records rollouts by (it reads no clock itself).

use std::time::{SystemTime, UNIX_EPOCH};

use stagecraft_core::apply::WallClock;
use stagecraft_core::state::Timestamp;

/// `SystemTime::now()` as Unix milliseconds (0 for a clock set before 1970).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            });
        Timestamp::from_millis(millis)
    }
}
