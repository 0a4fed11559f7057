//! A rollout's AWS calls (docs/behaviour.md, "Rollouts"), each recorded as one effect replacing
//! the canary's record: the alarm check (`DescribeAlarms`, a read whose result is recorded),
//! the traffic shift (`UpdateStage replace /canarySettings/percentTraffic`), the rollback and
//! abort (`UpdateStage remove /canarySettings`, the record kept), the promotion; and reading
//! back a rollout whose last call an earlier run left in doubt.

use stagecraft_config::Address;

use super::error::RolloutError;
use super::machine::{self, Observed};
use super::{RolloutEnd, RolloutResult};
use crate::apply::Run;
use crate::apply::effects::resource_effect;
use crate::apply::error::ApplyError;
use crate::apply::journal::{Call, JournalEntry};
use crate::apply::patch;
use crate::apply::schedule::CallKind;
use crate::state::{CanaryState, ResourceState, RolloutState, RolloutStatus};

impl Run<'_> {
    /// Replaces the canary's rollout (a journaled `Recorded` effect).
    pub(super) fn put_rollout(
        &self,
        address: &Address,
        rollout: RolloutState,
    ) -> Result<(), ApplyError> {
        let (canary, _) = self.rollout_of(address)?;
        self.record(vec![rollout_effect(address, canary, rollout)])
    }

    /// One `DescribeAlarms` of the schedule's alarms, its result recorded on the canary.
    pub(super) async fn check_alarms(
        &self,
        address: &Address,
        rollout: &RolloutState,
    ) -> Result<Observed, ApplyError> {
        let names = &rollout.schedule.alarms;
        let alarms = if names.is_empty() {
            Vec::new()
        } else {
            self.read(address, Call::DescribeAlarms, || {
                self.ctx.provider.describe_alarms(names)
            })
            .await?
        };
        let now = self.ctx.clock.now();
        let observed = machine::observe(rollout, now, &alarms).map_err(|alarm| {
            RolloutError::AlarmMissing {
                alarm,
                region: self.ctx.options.lane.region.clone(),
            }
        })?;
        self.put_rollout(address, observed.rollout.clone())?;
        Ok(observed)
    }

    /// Moves the canary's traffic to step `step` at `percent`.
    pub(super) async fn shift(
        &self,
        address: &Address,
        step: usize,
        percent: f64,
    ) -> Result<(), ApplyError> {
        let (canary, rollout) = self.rollout_of(address)?;
        let api = canary.rest_api_id.as_str();
        let name = canary.stage_name.as_str();
        let ops = [patch::replace(
            "/canarySettings/percentTraffic",
            percent.to_string(),
        )];
        // A shift whose answer was lost is read back before it is sent again.
        let shifted_already = || async {
            let live = self.ctx.provider.get_stage(api, name).await?;
            Ok(live.filter(|live| {
                live.canary
                    .as_ref()
                    .is_some_and(|canary| canary.percent_traffic == percent)
            }))
        };
        self.mutate_checked(
            address,
            Call::UpdateStage,
            None,
            CallKind::ApiMutation { rest_api_id: api },
            || self.ctx.provider.update_stage(api, name, &ops),
            shifted_already,
            |_| {
                let next = machine::shifted(&rollout, step, percent, self.ctx.clock.now());
                let mut canary = canary.clone();
                canary.percent_traffic = percent;
                vec![rollout_effect(address, canary, next)]
            },
        )
        .await?;
        Ok(())
    }

    /// Removes the canary because `alarm` is in `ALARM`; the record stays, rolled back.
    pub(super) async fn roll_back(
        &self,
        address: &Address,
        alarm: String,
        reason: String,
    ) -> Result<(), ApplyError> {
        let (canary, rollout) = self.rollout_of(address)?;
        let next = machine::rolled_back(&rollout, self.ctx.clock.now(), alarm, reason);
        let effects = vec![rollout_effect(address, canary.clone(), next)];
        self.remove_canary(address, &canary, effects).await
    }

    /// The promotion after the last bake (`promote = "auto"`).
    pub(super) async fn promote_rollout(&self, address: &Address) -> Result<(), ApplyError> {
        let (canary, _) = self.rollout_of(address)?;
        self.promote_canary(address, &canary, true).await
    }

    /// `rollout abort ADDRESS`.
    pub(crate) async fn abort_rollout(&self, address: &Address) -> RolloutResult {
        let result = async {
            self.begin(address);
            self.settle_rollout(address).await?;
            let (canary, rollout) = self.rollout_of(address)?;
            unfinished(address, &rollout, "abort")?;
            let next = machine::aborted(&rollout, self.ctx.clock.now());
            let effects = vec![rollout_effect(address, canary.clone(), next)];
            self.remove_canary(address, &canary, effects).await?;
            Ok::<_, ApplyError>(RolloutEnd::Aborted)
        };
        finish(address, result.await)
    }

    /// `rollout promote ADDRESS`: promoted now, whatever step it is at.
    pub(crate) async fn promote_now(&self, address: &Address) -> RolloutResult {
        let result = async {
            self.begin(address);
            self.settle_rollout(address).await?;
            let (_, rollout) = self.rollout_of(address)?;
            unfinished(address, &rollout, "promote")?;
            self.promote_rollout(address).await?;
            Ok::<_, ApplyError>(RolloutEnd::Promoted)
        };
        finish(address, result.await)
    }

    /// A rollout whose last call an earlier run left in doubt is read back first
    /// (`GetStage`): a removal that went through is recorded as the rollback (of the alarm the
    /// last check found) or abort, a promotion as the promotion, a shift as the new step.
    pub(super) async fn settle_rollout(&self, address: &Address) -> Result<(), ApplyError> {
        if self.in_doubt(address).is_none() {
            return Ok(());
        }
        let (canary, rollout) = self.rollout_of(address)?;
        if rollout.is_rejected() {
            return Ok(());
        }
        let live = self
            .read_stage(address, &canary.rest_api_id, &canary.stage_name)
            .await?;
        let now = self.ctx.clock.now();
        match live.as_ref().and_then(|stage| stage.canary.as_ref()) {
            None if live.as_ref().is_some_and(|stage| {
                stage.deployment_id.as_deref() == Some(&canary.deployment_id)
            }) =>
            {
                // The promotion went through.
                self.promote_canary(address, &canary, true).await?;
            }
            None => {
                let firing = rollout.last_check.as_ref().and_then(|check| {
                    check
                        .alarms
                        .iter()
                        .find(|reading| reading.state == "ALARM")
                        .map(|reading| (reading.name.clone(), reading.reason.clone()))
                });
                let next = match firing {
                    Some((alarm, reason)) => machine::rolled_back(&rollout, now, alarm, reason),
                    None => machine::aborted(&rollout, now),
                };
                self.record(vec![rollout_effect(address, canary, next)])?;
            }
            Some(live_canary) => {
                let step = rollout.step_index().unwrap_or(0);
                if let RolloutStatus::Baking { .. } | RolloutStatus::Paused { .. } = rollout.status
                    && let machine::AfterBake::Shift {
                        step: next,
                        percent,
                    } = machine::after_bake(&rollout)
                    && live_canary.percent_traffic == percent
                    && rollout
                        .steps
                        .get(step)
                        .is_some_and(|r| r.completed_at.is_some())
                {
                    // The shift went through.
                    let mut canary = canary;
                    canary.percent_traffic = percent;
                    let shifted = machine::shifted(&rollout, next, percent, now);
                    self.record(vec![rollout_effect(address, canary, shifted)])?;
                }
            }
        }
        self.journal(&JournalEntry::Settled {
            address: address.clone(),
        })?;
        Ok(())
    }
}

/// The effect replacing a canary's record with `rollout`.
fn rollout_effect(
    address: &Address,
    canary: CanaryState,
    rollout: RolloutState,
) -> crate::apply::Effect {
    resource_effect(
        address,
        ResourceState::Canary(CanaryState {
            rollout: Some(rollout),
            ..canary
        }),
    )
}

/// Refuses a rollout that is over.
fn unfinished(
    address: &Address,
    rollout: &RolloutState,
    verb: &'static str,
) -> Result<(), RolloutError> {
    if rollout.is_rejected() {
        return Err(RolloutError::Finished {
            address: address.clone(),
            status: rollout.status.name(),
            verb,
        });
    }
    Ok(())
}

fn finish(address: &Address, result: Result<RolloutEnd, ApplyError>) -> RolloutResult {
    RolloutResult {
        address: address.clone(),
        end: match result {
            Ok(end) => end,
            Err(ApplyError::Rollout(error)) => RolloutEnd::Failed {
                error: error.to_string(),
            },
            Err(error) => RolloutEnd::Failed {
                error: error.to_string(),
            },
        },
    }
}
