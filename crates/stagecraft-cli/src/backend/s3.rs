//! The S3 state backend: the state is one object, written only with a precondition (`If-Match`
//! the ETag read, or `If-None-Match: *` when there was none) so that no concurrent update is
//! lost; the previous version is kept as `<key>.backup`; the lock is a `<key>.lock` object
//! created with `If-None-Match: *` and holding the same lock info as the local backend. The
//! apply journal stays on the local disk (see [`journal_path`]), and so does a state that S3
//! refused because another writer changed the object ([`S3Backend::refused_path`]).
//!
//! The commands are synchronous; S3 calls run on a small runtime of this module's own, from a
//! scoped thread when the caller is itself inside a runtime (apply's Ctrl-C handler).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use stagecraft_aws::{AwsOptions, S3Object, S3Store, StoreError};
use stagecraft_core::state::State;
use tokio::runtime::Runtime;

use super::{BackendError, JournalFile, LockInfo, StateLock};

/// How long to wait between attempts to take a held lock.
const LOCK_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// The runtime S3 calls run on. It lives as long as the process: it is never dropped, so that
/// a lock released from a destructor never drops a runtime inside another one.
fn runtime() -> Result<&'static Runtime, BackendError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("stagecraft-s3")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|message| BackendError::Runtime(std::io::Error::other(message.clone())))
}

/// Runs `future` to completion, from any thread.
fn block_on<F>(future: F) -> Result<F::Output, BackendError>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    // A runtime cannot be blocked on from inside another one: use a thread of our own.
    std::thread::scope(|scope| scope.spawn(|| runtime.block_on(future)).join())
        .map_err(|_| BackendError::Runtime(std::io::Error::other("an S3 call panicked")))
}

fn s3(source: StoreError) -> BackendError {
    BackendError::S3 { source }
}

/// Where the apply journal of the state at `s3://bucket/key` goes:
/// `<base>/.stagecraft/<bucket>/<key>.journal`, `base` being the configuration file's folder.
/// Key segments that would escape or collapse the folder (`..`, `.`, empty) become `_`.
pub fn journal_path(base: &Path, bucket: &str, key: &str) -> PathBuf {
    let mut path = base.join(".stagecraft").join(safe_segment(bucket));
    let segments: Vec<&str> = key.split('/').collect();
    let (last, folders) = segments.split_last().unwrap_or((&"", &[]));
    for segment in folders {
        path.push(safe_segment(segment));
    }
    path.push(format!("{}.journal", safe_segment(last)));
    path
}

fn safe_segment(segment: &str) -> &str {
    match segment {
        "" | "." | ".." => "_",
        other => other,
    }
}

/// What this process last saw of the state object: the version a write must replace.
#[derive(Debug, Clone)]
enum Seen {
    /// Not read yet: a write then requires that there is no object.
    Unread,
    /// There was no object.
    Absent,
    /// This version (bytes kept for the backup).
    Present(S3Object),
}

/// A state object in S3.
#[derive(Debug, Clone)]
pub struct S3Backend {
    store: S3Store,
    key: String,
    journal_path: PathBuf,
    /// Shared by clones, so that a write by one is the version the next write of another names.
    seen: Arc<Mutex<Seen>>,
}

impl S3Backend {
    /// The backend for `s3://bucket/key`, with the client made from `options` (whose region
    /// should be the bucket's) and the apply journal under `base` (the configuration's folder).
    pub fn new(
        options: &AwsOptions,
        bucket: &str,
        key: &str,
        base: &Path,
    ) -> Result<S3Backend, BackendError> {
        let store = block_on(S3Store::from_env(options, bucket))?;
        Ok(S3Backend::with_store(store, key, base))
    }

    /// The backend over a ready-made store.
    pub fn with_store(store: S3Store, key: &str, base: &Path) -> S3Backend {
        S3Backend {
            journal_path: journal_path(base, store.bucket(), key),
            store,
            key: key.to_string(),
            seen: Arc::new(Mutex::new(Seen::Unread)),
        }
    }

    /// `s3://bucket/key`
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.store.bucket(), self.key)
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    fn backup_key(&self) -> String {
        format!("{}.backup", self.key)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lock object's content: `None` when there is no lock, `Err` when it is not lock info.
    fn lock_info(&self) -> Result<Option<Result<LockInfo, String>>, BackendError> {
        let object = block_on(self.store.get(&self.lock_key()))?.map_err(s3)?;
        Ok(object.map(|object| {
            serde_json::from_slice::<LockInfo>(&object.bytes).map_err(|error| error.to_string())
        }))
    }

    /// Takes the lock for `operation` by creating the lock object (`If-None-Match: *`), trying
    /// again every half second up to `timeout` while another holds it.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<S3Lock, BackendError> {
        let info = LockInfo::new(operation);
        let body = info.to_json()?.into_bytes();
        let lock_key = self.lock_key();
        let started = Instant::now();
        let taken = || S3Lock {
            backend: self.clone(),
            id: info.id.clone(),
            released: AtomicBool::new(false),
        };
        loop {
            match block_on(self.store.put_if_absent(&lock_key, body.clone()))? {
                Ok(_) => return Ok(taken()),
                Err(StoreError::PreconditionFailed { .. }) => {}
                Err(error) => return Err(s3(error)),
            }
            let (holder, id) = match self.lock_info()? {
                // Released in the meantime: try again at once.
                None => continue,
                // The SDK retried a create whose first answer was lost: it is ours.
                Some(Ok(holder)) if holder.id == info.id => return Ok(taken()),
                Some(Ok(holder)) => (
                    format!(
                        "{} (lock object s3://{}/{lock_key})",
                        holder.describe(),
                        self.store.bucket()
                    ),
                    holder.id,
                ),
                Some(Err(why)) => (
                    format!(
                        "an unreadable lock object s3://{}/{lock_key} ({why}); delete it if no \
                         run is in progress",
                        self.store.bucket()
                    ),
                    String::new(),
                ),
            };
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(BackendError::Locked { holder, id });
            }
            std::thread::sleep(LOCK_RETRY_INTERVAL.min(timeout - waited));
        }
    }

    /// Deletes the lock object if its id is `id`.
    pub fn force_unlock(&self, id: &str) -> Result<(), BackendError> {
        let info = match self.lock_info()? {
            None => return Err(BackendError::NotLocked),
            Some(Ok(info)) => info,
            Some(Err(why)) => {
                return Err(s3(StoreError::Call {
                    operation: "GetObject",
                    bucket: self.store.bucket().to_string(),
                    key: self.lock_key(),
                    message: format!("the lock object is not lock info: {why}"),
                }));
            }
        };
        if info.id != id {
            return Err(BackendError::WrongLockId { actual: info.id });
        }
        block_on(self.store.delete(&self.lock_key()))?.map_err(s3)
    }

    /// Reads the state, remembering its ETag for the next write; `None` when there is none yet.
    pub fn read(&self) -> Result<Option<State>, BackendError> {
        let object = block_on(self.store.get(&self.key))?.map_err(s3)?;
        let Some(object) = object else {
            *self.seen() = Seen::Absent;
            return Ok(None);
        };
        let state =
            State::from_json(&String::from_utf8_lossy(&object.bytes)).map_err(|source| {
                BackendError::State {
                    path: self.location(),
                    source,
                }
            })?;
        *self.seen() = Seen::Present(object);
        Ok(Some(state))
    }

    /// Where a state refused by S3 (another writer changed the object) is saved: beside the
    /// journal, `<key>.refused.json` for `<key>.journal`.
    pub fn refused_path(&self) -> PathBuf {
        self.journal_path.with_extension("refused.json")
    }

    /// The apply journal, on the local disk.
    pub(super) fn journal(&self) -> JournalFile {
        JournalFile {
            path: self.journal_path.clone(),
        }
    }

    /// Replaces the state object if it is still the version last read (or, if there was none,
    /// if there still is none), after copying that version to `<key>.backup`. A refused
    /// precondition is [`BackendError::Conflict`]: nothing is overwritten.
    pub fn write(&self, state: &State, _lock: &StateLock) -> Result<(), BackendError> {
        let bytes = state
            .to_json()
            .map_err(|source| BackendError::StateSerialize {
                path: self.location(),
                source,
            })?
            .into_bytes();
        let seen = self.seen().clone();
        let written = match &seen {
            Seen::Present(previous) => {
                block_on(
                    self.store
                        .put_unconditionally(&self.backup_key(), previous.bytes.clone()),
                )?
                .map_err(s3)?;
                block_on(
                    self.store
                        .put_if_match(&self.key, bytes.clone(), &previous.etag),
                )?
            }
            Seen::Absent | Seen::Unread => {
                block_on(self.store.put_if_absent(&self.key, bytes.clone()))?
            }
        };
        match written {
            Ok(etag) => {
                *self.seen() = Seen::Present(S3Object { bytes, etag });
                Ok(())
            }
            Err(StoreError::PreconditionFailed { .. }) => {
                // The SDK may have retried a write whose first answer was lost: if the object
                // holds exactly these bytes, the write is ours.
                if let Ok(Ok(Some(current))) = block_on(self.store.get(&self.key))
                    && current.bytes == bytes
                {
                    *self.seen() = Seen::Present(current);
                    return Ok(());
                }
                // Like Terraform's errored.tfstate: this run's state is kept on the local disk.
                let saved = self.refused_path();
                let folder = super::folder_of(&saved);
                std::fs::create_dir_all(&folder).map_err(super::io("cannot create", &folder))?;
                super::write_atomically(&saved, &bytes)?;
                Err(BackendError::Conflict {
                    location: self.location(),
                    saved: saved.display().to_string(),
                })
            }
            Err(error) => Err(s3(error)),
        }
    }
}

/// A held S3 lock: the lock object is deleted on release or drop, if it is still this one.
#[derive(Debug)]
pub struct S3Lock {
    backend: S3Backend,
    id: String,
    released: AtomicBool,
}

impl S3Lock {
    /// Deletes the lock object if it still holds this lock's id; warns when that fails or when
    /// someone else released it during the run.
    pub(super) fn release(&self) {
        if self.released.swap(true, Ordering::SeqCst) {
            return;
        }
        let backend = &self.backend;
        let lock_key = backend.lock_key();
        let outcome = backend.lock_info().and_then(|info| match info {
            Some(Ok(info)) if info.id == self.id => {
                block_on(backend.store.delete(&lock_key))?.map_err(s3)?;
                Ok(true)
            }
            _ => Ok(false),
        });
        match outcome {
            Ok(true) => {}
            Ok(false) => eprintln!(
                "Warning: the state lock {} was released by someone else while this run held \
                 it (force-unlock?); check that no other run changed the state.",
                self.id
            ),
            Err(error) => eprintln!(
                "Warning: could not release the state lock s3://{}/{lock_key}: {error}. Run \
                 `stagecraft force-unlock {}` once no run is in progress.",
                backend.store.bucket(),
                self.id
            ),
        }
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests;
