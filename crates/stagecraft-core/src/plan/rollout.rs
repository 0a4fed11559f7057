//! A canary's rollout as the plan shows it (docs/behaviour.md, "Canary rollouts in plans"): the
//! one-line summary of the schedule a canary deploy starts (the state's [`RolloutSchedule`], in
//! [`super::DesiredCanary`]): "5% -> 25% -> 50% -> promote, about 30m, gated by 2 alarms".

use std::fmt::Write as _;

use crate::state::{Promote, RolloutSchedule};

impl RolloutSchedule {
    /// `5% -> 25% -> 50% -> promote, about 30m, gated by 2 alarms`; a manual rollout ends
    /// `-> wait for promotion`, one without alarms says `gated by no alarms`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let _ = write!(out, "{step}% -> ");
        }
        out.push_str(match self.promote {
            Promote::Auto => "promote",
            Promote::Manual => "wait for `rollout promote`",
        });
        let _ = write!(out, ", about {}", human_duration(self.total_bake_ms()));
        match self.alarms.len() {
            0 => out.push_str(", gated by no alarms"),
            1 => out.push_str(", gated by 1 alarm"),
            n => {
                let _ = write!(out, ", gated by {n} alarms");
            }
        }
        out
    }
}

/// A duration for people, to the unit that matters: `750ms`, `1.5s`, `45s`, `30m`, `12m 30s`,
/// `1h 30m`, `2d 4h` (seconds dropped from an hour on, minutes from a day on).
pub fn human_duration(ms: u64) -> String {
    const SECOND: u64 = 1000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit} {small}{small_unit}")
        }
    };
    if ms < SECOND {
        format!("{ms}ms")
    } else if ms < 10 * SECOND && !ms.is_multiple_of(SECOND) {
        format!("{:.1}s", ms as f64 / SECOND as f64)
    } else if ms < MINUTE {
        format!("{}s", ms / SECOND)
    } else if ms < HOUR {
        pair(ms / MINUTE, "m", ms % MINUTE / SECOND, "s")
    } else if ms < DAY {
        pair(ms / HOUR, "h", ms % HOUR / MINUTE, "m")
    } else {
        pair(ms / DAY, "d", ms % DAY / HOUR, "h")
    }
}

#[cfg(test)]
mod tests;
