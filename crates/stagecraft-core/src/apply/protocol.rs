//! The call protocol every change follows: a mutating call is journaled as started (once it
//! holds its locks and quota slot), sent under the schedule's retry rules, then journaled as
//! completed with its effects or as failed; a read is retried the same way and never
//! journaled; after Ctrl-C a change that has sent nothing does not start. Also the run's view
//! of the state it is building.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::error::{ApplyError, JournalFailed};
use super::journal::{Call, SnapshotMarker};
use super::schedule::{CallKind, Stopped, uncancelled};
use super::{Effect, Event, JournalEntry, Run};
use crate::provider::{ErrorKind, ProviderError};
use stagecraft_config::Address;

use crate::state::{ResourceState, State};

impl Run<'_> {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn record_of(&self, address: &Address) -> Option<ResourceState> {
        self.state().resources.get(address).cloned()
    }

    pub(super) fn deployment_of(&self, rest_api_id: &str, revision: &str) -> Option<String> {
        self.state()
            .deployment_of(rest_api_id, revision)
            .map(str::to_string)
    }

    /// Makes a mutating call: journaled as started, sent under the schedule's rules with
    /// retries, then journaled as completed with `effects` (applied to the state at the same
    /// moment), or as failed.
    pub(super) async fn mutate<T, F, Fut>(
        &self,
        address: &Address,
        call: Call,
        kind: CallKind<'_>,
        send: F,
        effects: impl FnOnce(&T) -> Vec<Effect>,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.journaled(address, call, None, kind, send, effects)
            .await
    }

    /// [`Run::mutate`], with the snapshot a `CreateDeployment` makes named in its `Started`
    /// entry.
    async fn journaled<T, F, Fut>(
        &self,
        address: &Address,
        call: Call,
        snapshot: Option<&SnapshotMarker>,
        kind: CallKind<'_>,
        send: F,
        effects: impl FnOnce(&T) -> Vec<Effect>,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let operation = self.next_operation();
        // Journaled as started only once it holds its locks and quota slot, so that a crash
        // leaves as few calls as possible in doubt.
        let started = |attempt: u32| {
            if attempt > 1 {
                return Ok(());
            }
            // After Ctrl-C a change that has sent nothing yet does not start; one midway
            // finishes.
            if self.ctx.interrupt.is_set() && !self.has_begun(address) {
                return Err(ApplyError::NotStarted);
            }
            self.begin(address);
            self.journal(&JournalEntry::Started {
                operation,
                address: address.clone(),
                call,
                snapshot: snapshot.cloned(),
            })
            .map_err(|source| ApplyError::CallNotJournaled { call, source })
        };
        // A call that timed out or met a 5xx may have been carried out all the same: if it
        // finally fails, its `Started` entry stays open so the next run reads the resource back.
        let ambiguous = Cell::new(false);
        let note = |error: &ProviderError| {
            if error.kind == ErrorKind::Transient {
                ambiguous.set(true);
            }
        };
        match self
            .scheduled(address, call, kind, send, started, note)
            .await
        {
            Ok(value) => {
                let effects = effects(&value);
                let mut state = self.state();
                self.journal(&JournalEntry::Completed {
                    operation,
                    effects: effects.clone(),
                })?;
                for effect in &effects {
                    effect.apply_to(&mut state);
                }
                Ok(value)
            }
            Err(Stopped::Cancelled(error)) => Err(error),
            Err(Stopped::Failed(error)) => {
                if !self.journal_failed() && !ambiguous.get() && error.kind != ErrorKind::Transient
                {
                    self.journal(&JournalEntry::Failed { operation })?;
                }
                Err(ApplyError::Call {
                    call,
                    source: error,
                })
            }
        }
    }

    /// A mutating call that is not idempotent (a second send would make a second deployment,
    /// job or stage, or fail because the first one worked): when an attempt's answer is lost
    /// (timeout, 5xx, dropped connection: AWS may have carried it out), the next attempt first
    /// asks `recheck` whether it happened. `Some(value)` is taken as the call's answer (and
    /// journaled as its completion); `None` sends the call again. `recheck` may also clean up
    /// what a lost call left half made (a created, never-started Amplify job) before answering
    /// `None`. It runs under the call's locks, and its own failures are retried like the call's.
    /// `snapshot` names the snapshot a `CreateDeployment` makes, journaled with the call's
    /// start so that a later run can find it too.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn mutate_checked<T, F, Fut, C, CFut>(
        &self,
        address: &Address,
        call: Call,
        snapshot: Option<&SnapshotMarker>,
        kind: CallKind<'_>,
        mut send: F,
        recheck: C,
        effects: impl FnOnce(&T) -> Vec<Effect>,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
        C: Fn() -> CFut,
        CFut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let lost = Cell::new(false);
        let (lost, recheck) = (&lost, &recheck);
        let checked = move || {
            let attempt = send();
            async move {
                if lost.get() {
                    if let Some(found) = recheck().await? {
                        return Ok(found);
                    }
                    lost.set(false);
                }
                let result = attempt.await;
                if matches!(&result, Err(error) if error.kind == ErrorKind::Transient) {
                    lost.set(true);
                }
                result
            }
        };
        self.journaled(address, call, snapshot, kind, checked, effects)
            .await
    }

    /// Sends a call under the schedule, reporting each retry (and showing `note` its error).
    async fn scheduled<T, E, F, Fut>(
        &self,
        address: &Address,
        call: Call,
        kind: CallKind<'_>,
        send: F,
        before_send: impl FnMut(u32) -> Result<(), E>,
        note: impl Fn(&ProviderError),
    ) -> Result<T, Stopped<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let lane = &self.ctx.options.lane;
        self.schedule
            .run(lane, call.service(), kind, send, before_send, |notice| {
                note(notice.error);
                (self.ctx.events)(Event::Retrying {
                    address: address.clone(),
                    call,
                    attempt: notice.attempt,
                    max_attempts: notice.max_attempts,
                    error: notice.error.clone(),
                    delay: notice.delay,
                });
            })
            .await
    }

    /// A read: retried like any call, never journaled. An API Gateway read (by its `call`'s
    /// service) takes a token of the request-rate bucket like any API Gateway call.
    pub(super) async fn read<T, F, Fut>(
        &self,
        address: &Address,
        call: Call,
        send: F,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let never_cancelled = |_| Ok::<(), Infallible>(());
        let result = self
            .scheduled(
                address,
                call,
                CallKind::Other,
                send,
                never_cancelled,
                |_| {},
            )
            .await;
        uncancelled(result).map_err(|source| ApplyError::Call { call, source })
    }

    pub(super) fn progress(&self, address: &Address, message: String) {
        (self.ctx.events)(Event::Progress {
            address: address.clone(),
            message,
        });
    }

    /// Waits with growing pauses (the poll interval, doubling up to ten times it).
    pub(super) async fn pause(&self, round: u32) {
        let base = self.ctx.options.poll_interval;
        let delay = base.saturating_mul(1u32 << round.min(3)).min(base * 10);
        tokio::time::sleep(delay).await;
    }

    /// Appends to the journal; a failure stops the run (nothing more may be sent unrecorded).
    pub(super) fn journal(&self, entry: &JournalEntry) -> Result<(), JournalFailed> {
        self.ctx.journal.append(entry).map_err(|error| {
            let failed = JournalFailed(Arc::new(error));
            *self.journal_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(failed.clone());
            failed
        })
    }

    /// Records effects learned from a read.
    pub(super) fn record(&self, effects: Vec<Effect>) -> Result<(), ApplyError> {
        if effects.is_empty() {
            return Ok(());
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.journal(&JournalEntry::Recorded {
            effects: effects.clone(),
        })?;
        for effect in &effects {
            effect.apply_to(&mut state);
        }
        Ok(())
    }

    /// The call of an earlier run's operation in doubt on `address`, if any.
    pub(super) fn in_doubt(&self, address: &Address) -> Option<Call> {
        self.ctx
            .in_doubt
            .iter()
            .find(|operation| operation.address == *address)
            .map(|operation| operation.call)
    }

    pub(super) fn has_begun(&self, address: &Address) -> bool {
        self.begun
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(address)
    }

    pub(super) fn begin(&self, address: &Address) {
        self.begun
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(address.clone());
    }

    pub(super) fn next_operation(&self) -> u64 {
        self.operations.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// A resource already gone from AWS is as good as deleted.
pub(super) fn already_gone(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(error) if error.kind == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
