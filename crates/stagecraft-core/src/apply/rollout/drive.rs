//! The loop of one rollout (docs/behaviour.md, "Rollouts"): an alarm check every poll
//! interval, a rollback at the first alarm, a traffic shift when a bake is over, the promotion
//! (or the wait for one) after the last; Ctrl-C pauses. Rollouts of different canaries run
//! concurrently (each REST API's mutating calls are serialized by the schedule anyway).

use std::time::Duration;

use futures::future::join_all;
use stagecraft_config::Address;

use super::error::RolloutError;
use super::machine::{self, AfterBake, Verdict};
use super::{RolloutEnd, RolloutResult};
use crate::apply::Run;
use crate::apply::error::ApplyError;
use crate::state::{CanaryState, PausedBy, ResourceState, RolloutState, RolloutStatus};

impl Run<'_> {
    /// Drives the rollouts `addresses` names (none: every baking one and every one an
    /// interrupt paused), concurrently; `wait`: to their end, else what is due now.
    pub(crate) async fn drive_all(&self, addresses: &[Address], wait: bool) -> Vec<RolloutResult> {
        let chosen: Vec<Address> = if addresses.is_empty() {
            self.state()
                .resources
                .iter()
                .filter_map(|(address, record)| match record {
                    ResourceState::Canary(CanaryState {
                        rollout: Some(rollout),
                        ..
                    }) if matches!(
                        rollout.status,
                        RolloutStatus::Baking { .. }
                            | RolloutStatus::Paused {
                                by: PausedBy::Interrupt,
                                ..
                            }
                    ) =>
                    {
                        Some(address.clone())
                    }
                    _ => None,
                })
                .collect()
        } else {
            addresses.to_vec()
        };
        join_all(chosen.into_iter().map(|address| async move {
            let end = match self.drive(&address, wait).await {
                Ok(end) => end,
                Err(error) => RolloutEnd::Failed {
                    error: error.to_string(),
                },
            };
            RolloutResult { address, end }
        }))
        .await
    }

    /// The canary's record and its rollout.
    pub(super) fn rollout_of(
        &self,
        address: &Address,
    ) -> Result<(CanaryState, RolloutState), RolloutError> {
        match self.record_of(address) {
            Some(ResourceState::Canary(canary)) => match canary.rollout.clone() {
                Some(rollout) => Ok((canary, rollout)),
                None => Err(RolloutError::NoRollout {
                    address: address.clone(),
                }),
            },
            _ => Err(RolloutError::NoRollout {
                address: address.clone(),
            }),
        }
    }

    async fn drive(&self, address: &Address, wait: bool) -> Result<RolloutEnd, ApplyError> {
        // A rollout's calls go on after Ctrl-C until the driver pauses it at its next turn.
        self.begin(address);
        self.settle_rollout(address).await?;
        let (_, rollout) = self.rollout_of(address)?;
        if rollout.is_rejected() {
            return Ok(end_of(&rollout));
        }
        if matches!(rollout.status, RolloutStatus::Paused { .. }) && !self.ctx.interrupt.is_set() {
            self.put_rollout(address, machine::resumed(&rollout, self.ctx.clock.now()))?;
        }
        // After a traffic shift the new step bakes a poll interval (or its whole bake) before
        // its first check.
        let mut sleep_first = false;
        loop {
            let (_, rollout) = self.rollout_of(address)?;
            let RolloutStatus::Baking { step } = rollout.status else {
                return Ok(end_of(&rollout));
            };
            if sleep_first {
                let left = rollout.bake_left_ms(self.ctx.clock.now());
                self.nap(&rollout, left).await;
                sleep_first = false;
                continue;
            }
            if self.ctx.interrupt.is_set() {
                self.put_rollout(address, machine::paused(&rollout, PausedBy::Interrupt))?;
                return Ok(RolloutEnd::Paused {
                    step,
                    by: PausedBy::Interrupt,
                });
            }
            let observed = self.check_alarms(address, &rollout).await?;
            match observed.verdict {
                Verdict::RollBack { alarm, reason } => {
                    self.roll_back(address, alarm, reason).await?;
                    let (_, rollout) = self.rollout_of(address)?;
                    return Ok(end_of(&rollout));
                }
                Verdict::BakeDone => match machine::after_bake(&observed.rollout) {
                    AfterBake::Shift { step, percent } => {
                        if self.ctx.interrupt.is_set() {
                            // The bake is over but the shift is not made: paused, the next
                            // resume's first check ends the bake again.
                            let (_, rollout) = self.rollout_of(address)?;
                            self.put_rollout(
                                address,
                                machine::paused(&rollout, PausedBy::Interrupt),
                            )?;
                            continue;
                        }
                        self.shift(address, step, percent).await?;
                        if !wait {
                            let (_, rollout) = self.rollout_of(address)?;
                            return Ok(end_of(&rollout));
                        }
                        sleep_first = true;
                    }
                    AfterBake::Promote => {
                        self.promote_rollout(address).await?;
                        return Ok(RolloutEnd::Promoted);
                    }
                    AfterBake::AwaitPromotion => {
                        let now = self.ctx.clock.now();
                        self.put_rollout(address, machine::awaiting(&observed.rollout, now))?;
                        return Ok(RolloutEnd::AwaitingPromotion);
                    }
                },
                Verdict::Baking { left_ms } => {
                    if !wait {
                        return Ok(end_of(&observed.rollout));
                    }
                    self.nap(&observed.rollout, left_ms).await;
                }
            }
        }
    }

    /// Sleeps until the next check is due (a poll interval, or the bake's end if sooner), or
    /// until Ctrl-C.
    async fn nap(&self, rollout: &RolloutState, left_ms: u64) {
        let poll = rollout.schedule.poll_interval_ms.max(1);
        let delay = Duration::from_millis(poll.min(left_ms.max(1)));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = self.ctx.interrupt.wait() => {}
        }
    }
}

/// A rollout's standing as a result.
pub(super) fn end_of(rollout: &RolloutState) -> RolloutEnd {
    let percent = |step: usize| rollout.steps.get(step).map_or(0.0, |record| record.percent);
    match &rollout.status {
        RolloutStatus::Baking { step } => RolloutEnd::Baking {
            step: *step,
            percent: percent(*step),
            left_ms: rollout
                .schedule
                .bake_ms(*step)
                .saturating_sub(rollout.steps.get(*step).map_or(0, |record| record.baked_ms)),
        },
        RolloutStatus::Paused { step, by } => RolloutEnd::Paused {
            step: *step,
            by: *by,
        },
        RolloutStatus::AwaitingPromotion { .. } => RolloutEnd::AwaitingPromotion,
        RolloutStatus::RolledBack {
            step,
            alarm,
            reason,
            ..
        } => RolloutEnd::RolledBack {
            step: *step,
            percent: percent(*step),
            alarm: alarm.clone(),
            reason: reason.clone(),
        },
        RolloutStatus::Aborted { .. } => RolloutEnd::Aborted,
    }
}
