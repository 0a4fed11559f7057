//! Journal recovery: what an interrupted apply left in its journal, folded into the state.
//! `plan` counts it without writing anything ([`recovered_state`]); `apply` (and its second
//! Ctrl-C) writes it and keeps only the operations still in doubt ([`recover`]).

use miette::Report;
use stagecraft_core::apply::{self, Interrupted};
use stagecraft_core::state::State;

use crate::backend::{Backend, StateLock};

/// The state as the last apply left it, journal included, without writing anything (for
/// `plan`, which must not change the state).
pub fn recovered_state(backend: &Backend, state: Option<State>) -> Result<Option<State>, Report> {
    let Some(entries) = backend.read_journal()? else {
        return Ok(state);
    };
    let had_state = state.is_some();
    let (recovered, replay) = apply::replay(state, &entries)?;
    if replay.changed || !replay.interrupted.is_empty() {
        eprintln!(
            "Warning: an apply was interrupted; its journal ({}) is counted in this plan and \
             will be folded into the state by the next apply.",
            backend.journal_path().display()
        );
    }
    Ok((had_state || replay.changed).then_some(recovered))
}

/// Folds a journal left by an interrupted apply into the state and removes it. Returns the
/// state and the operations that may or may not have reached AWS.
pub fn recover(
    backend: &Backend,
    lock: &StateLock,
    state: Option<State>,
) -> Result<(Option<State>, Vec<Interrupted>), Report> {
    let Some(entries) = backend.read_journal()? else {
        return Ok((state, Vec::new()));
    };
    let prior_serial = state.as_ref().map(|state| state.serial);
    let (mut recovered, replay) = apply::replay(state, &entries)?;
    for operation in &replay.interrupted {
        eprintln!(
            "Warning: the last apply was cut off during {} for {}; stagecraft reads it back \
             from AWS before acting on it again (`apply --refresh` reads everything back now).",
            operation.call, operation.address
        );
    }
    // The state is written when anything was recovered, so that the operations still in doubt
    // are carried over in a journal bound to it.
    let in_doubt = !replay.interrupted.is_empty();
    let state = if replay.changed || in_doubt {
        recovered.serial = prior_serial.map_or(1, |serial| serial + 1);
        backend.write(&recovered, lock)?;
        if replay.completed > 0 {
            eprintln!(
                "Recovered {} completed operation(s) of an interrupted apply into the state.",
                replay.completed
            );
        }
        Some(recovered)
    } else {
        prior_serial.map(|_| recovered)
    };
    match &state {
        Some(state) if in_doubt => {
            backend.carry_journal(&apply::carried(state, &replay.interrupted), lock)?;
        }
        _ => backend.remove_journal(lock)?,
    }
    Ok((state, replay.interrupted))
}
