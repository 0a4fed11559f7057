//! The state backends: where the state lives (a local file, or an S3 object), how it is locked
//! for the whole of a plan or apply, and where the apply journal goes (always the local disk).
//! [`Backend`] is what the commands use; [`local`] and [`s3`] are the two implementations.

pub mod local;
pub mod s3;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use stagecraft_aws::StoreError;
use stagecraft_config::StateSettings;
use stagecraft_core::apply::{Journal, JournalEntry, JournalError, JournalWriteError};
use stagecraft_core::state::{State, StateError};

use crate::aws::AwsSettings;
use crate::load::Loaded;

pub use local::{LocalBackend, LocalLock};
pub use s3::{S3Backend, S3Lock};

/// Errors of the state backends.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum BackendError {
    /// Another process holds the lock.
    #[error("the state is locked by {holder}")]
    #[diagnostic(
        code(state::locked),
        help(
            "wait for it to finish, pass --lock-timeout to wait, or, if that process is gone, \
             run `stagecraft force-unlock {id}`"
        )
    )]
    Locked {
        /// Who holds it, since when, for what.
        holder: String,
        /// The lock's id.
        id: String,
    },
    /// The state could not be parsed.
    #[error("cannot read {path}")]
    #[diagnostic(code(state::read))]
    State {
        /// The state file or object.
        path: String,
        /// Why.
        #[source]
        #[diagnostic_source]
        source: StateError,
    },
    /// A file-system failure.
    #[error("{what} {path}: {source}")]
    #[diagnostic(code(state::io))]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// `force-unlock` with an id that does not match the lock.
    #[error("the lock id does not match: the state is locked with id {actual}")]
    #[diagnostic(code(state::unlock_mismatch))]
    WrongLockId {
        /// The lock's real id.
        actual: String,
    },
    /// `force-unlock` when nothing is locked.
    #[error("the state is not locked")]
    #[diagnostic(code(state::not_locked))]
    NotLocked,
    /// The apply journal could not be read.
    #[error("cannot replay the apply journal {path}")]
    #[diagnostic(code(state::journal))]
    Journal {
        /// The journal file.
        path: String,
        /// Why.
        #[source]
        #[diagnostic_source]
        source: JournalError,
    },
    /// No usable AWS credentials for the S3 state.
    #[error("{0}")]
    #[diagnostic(code(aws::credentials))]
    Credentials(#[source] crate::aws::CredentialsFailed),
    /// A call to S3 failed.
    #[error("the S3 state backend: {source}")]
    #[diagnostic(code(state::s3))]
    S3 {
        /// What failed.
        #[source]
        source: StoreError,
    },
    /// The state object changed since it was read: the conditional write was refused, and the
    /// state this run would have written was saved locally instead.
    #[error(
        "another writer changed the state {location} since this run read it; this run's \
         state was not written there"
    )]
    #[diagnostic(
        code(state::conflict),
        help(
            "nothing was lost: {location} keeps the other writer's version, and the state this \
             run would have written is in {saved}. Find out who wrote without the lock (or \
             force-unlocked a live one), compare the two, and while no run is in progress upload \
             the right one (`aws s3 cp {saved} {location}`); then run `stagecraft plan`."
        )
    )]
    Conflict {
        /// `s3://bucket/key`
        location: String,
        /// The local file holding this run's state.
        saved: String,
    },
    /// The S3 backend could not start its runtime.
    #[error("cannot start the S3 backend's runtime: {0}")]
    #[diagnostic(code(state::s3))]
    Runtime(std::io::Error),
    /// The state could not be turned into JSON; nothing was written (no backup either).
    #[error("cannot serialize the state for {path}; nothing was written")]
    #[diagnostic(code(state::serialize))]
    StateSerialize {
        /// The state file or object.
        path: String,
        /// Why.
        #[source]
        #[diagnostic_source]
        source: StateError,
    },
    /// A document could not be turned into JSON; nothing was written.
    #[error("cannot serialize {what}; nothing was written: {source}")]
    #[diagnostic(code(state::serialize))]
    Serialize {
        /// What was being written.
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackendError {
    let path = path.display().to_string();
    move |source| BackendError::Io { what, path, source }
}

/// What the lock-info file (local) or the lock object (S3) says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    /// A UUID naming this lock.
    pub id: String,
    /// The operation (`plan`, `apply`, ...).
    pub operation: String,
    /// `user@host` and process id.
    pub who: String,
    /// Seconds since the epoch when it was taken.
    pub created: u64,
}

impl LockInfo {
    /// A new lock for `operation` by this process.
    fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: format!(
                "{}@{} (pid {})",
                std::env::var("USER").unwrap_or_else(|_| "unknown".to_string()),
                fs::read_to_string("/etc/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| "localhost".to_string()),
                std::process::id()
            ),
            created: now_seconds(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} (running `{}`, lock id {}, taken {}s ago)",
            self.who,
            self.operation,
            self.id,
            now_seconds().saturating_sub(self.created)
        )
    }

    /// The lock-info document; an error rather than an empty document when it cannot be
    /// serialized.
    fn to_json(&self) -> Result<String, BackendError> {
        serde_json::to_string_pretty(self).map_err(|source| BackendError::Serialize {
            what: "the lock info",
            source,
        })
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The state backend a configuration names.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A file on the local disk.
    Local(LocalBackend),
    /// An object in S3.
    S3(S3Backend),
}

/// A held state lock: released on drop (or earlier with [`StateLock::release`]).
#[derive(Debug)]
pub enum StateLock {
    /// An OS advisory lock on a file beside the local state.
    Local(LocalLock),
    /// A lock object in S3.
    S3(S3Lock),
}

impl StateLock {
    /// Releases the lock now (the process is about to exit without running destructors).
    pub fn release(&self) {
        match self {
            StateLock::Local(lock) => lock.release(),
            StateLock::S3(lock) => lock.release(),
        }
    }
}

impl Backend {
    /// The backend a loaded configuration names. An S3 bucket's region is `[state] region`,
    /// else the command's resolved region (`aws.rs`).
    pub fn for_config(loaded: &Loaded, aws: &AwsSettings) -> Result<Backend, BackendError> {
        match &loaded.config.state {
            StateSettings::Local { path } => {
                Ok(Backend::Local(LocalBackend::new(loaded.base.join(path))))
            }
            StateSettings::S3 {
                bucket,
                key,
                region,
            } => Ok(Backend::S3(S3Backend::new(
                &aws.options_in(region.as_ref())
                    .map_err(BackendError::Credentials)?,
                bucket,
                key,
                &loaded.base,
            )?)),
        }
    }

    /// Takes the lock for `operation`, waiting up to `timeout`.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<StateLock, BackendError> {
        match self {
            Backend::Local(backend) => backend.lock(operation, timeout).map(StateLock::Local),
            Backend::S3(backend) => backend.lock(operation, timeout).map(StateLock::S3),
        }
    }

    /// Clears a lock left by a process that died, if its id is `id`.
    pub fn force_unlock(&self, id: &str) -> Result<(), BackendError> {
        match self {
            Backend::Local(backend) => backend.force_unlock(id),
            Backend::S3(backend) => backend.force_unlock(id),
        }
    }

    /// Reads the state; `None` when there is none yet.
    pub fn read(&self) -> Result<Option<State>, BackendError> {
        match self {
            Backend::Local(backend) => backend.read(),
            Backend::S3(backend) => backend.read(),
        }
    }

    /// Replaces the state, keeping the previous version as a backup. The lock must be held.
    pub fn write(&self, state: &State, lock: &StateLock) -> Result<(), BackendError> {
        match self {
            Backend::Local(backend) => backend.write(state, lock),
            Backend::S3(backend) => backend.write(state, lock),
        }
    }

    fn journal(&self) -> JournalFile {
        match self {
            Backend::Local(backend) => backend.journal(),
            Backend::S3(backend) => backend.journal(),
        }
    }

    /// The apply journal's path (always on the local disk).
    pub fn journal_path(&self) -> PathBuf {
        self.journal().path
    }

    /// The entries of a journal left by an apply that did not finish, if any.
    pub fn read_journal(&self) -> Result<Option<Vec<JournalEntry>>, BackendError> {
        self.journal().read()
    }

    /// Opens the journal for a run: appended to, after the operations a recovery carried over.
    pub fn create_journal(&self, _lock: &StateLock) -> Result<FileJournal, BackendError> {
        self.journal().create()
    }

    /// Replaces the journal with `entries` (the operations a recovery leaves in doubt).
    pub fn carry_journal(
        &self,
        entries: &[JournalEntry],
        _lock: &StateLock,
    ) -> Result<(), BackendError> {
        let path = self.journal_path();
        let folder = folder_of(&path);
        fs::create_dir_all(&folder).map_err(io("cannot create", &folder))?;
        write_json_lines(&path, "the apply journal", entries)
    }

    /// Removes the journal once its effects are in the state.
    pub fn remove_journal(&self, _lock: &StateLock) -> Result<(), BackendError> {
        self.journal().remove()
    }
}

/// The apply journal file of a backend.
struct JournalFile {
    path: PathBuf,
}

impl JournalFile {
    fn read(&self) -> Result<Option<Vec<JournalEntry>>, BackendError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => stagecraft_core::apply::parse(&text)
                .map(Some)
                .map_err(|source| BackendError::Journal {
                    path: self.path.display().to_string(),
                    source,
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io("cannot read", &self.path)(error)),
        }
    }

    fn create(&self) -> Result<FileJournal, BackendError> {
        let path = &self.path;
        let folder = folder_of(path);
        fs::create_dir_all(&folder).map_err(io("cannot create", &folder))?;
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(io("cannot create", path))?;
        sync_folder(path)?;
        Ok(FileJournal {
            file: Mutex::new(Some(file)),
        })
    }

    fn remove(&self) -> Result<(), BackendError> {
        let path = &self.path;
        match fs::remove_file(path) {
            Ok(()) => sync_folder(path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io("cannot remove", path)(error)),
        }
    }
}

/// The apply journal on disk: JSON lines, each fsynced before `append` returns. After a failed
/// write or [`FileJournal::close`] every append fails, so that nothing more is sent unrecorded
/// and no line lands after a torn one.
#[derive(Debug)]
pub struct FileJournal {
    file: Mutex<Option<File>>,
}

impl FileJournal {
    /// Refuses every later append (waiting for one in progress to finish).
    pub fn close(&self) {
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Journal for FileJournal {
    fn append(&self, entry: &JournalEntry) -> Result<(), JournalWriteError> {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(file) = guard.as_mut() else {
            return Err(JournalWriteError::Closed);
        };
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data());
        if written.is_err() {
            *guard = None;
        }
        Ok(written?)
    }
}

/// One JSON document per line. Every entry is serialized before anything is returned, so a
/// failure is an error and never an empty or partial text.
fn json_lines<T: Serialize>(what: &'static str, entries: &[T]) -> Result<String, BackendError> {
    let mut text = String::new();
    for entry in entries {
        let line = serde_json::to_string(entry)
            .map_err(|source| BackendError::Serialize { what, source })?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Replaces `path` with `entries` as JSON lines (atomically); when one entry cannot be
/// serialized, `path` is left as it was.
fn write_json_lines<T: Serialize>(
    path: &Path,
    what: &'static str,
    entries: &[T],
) -> Result<(), BackendError> {
    let text = json_lines(what, entries)?;
    write_atomically(path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file in the same folder: fsync, rename, fsync
/// of the folder; the file is readable by its owner only.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    let folder = folder_of(path);
    let mut temporary = tempfile::Builder::new()
        .prefix(".stagecraft-")
        .tempfile_in(&folder)
        .map_err(io("cannot create a temporary file in", &folder))?;
    temporary
        .write_all(bytes)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(io("cannot write", temporary.path()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temporary.path(), fs::Permissions::from_mode(0o600))
            .map_err(io("cannot set permissions of", path))?;
    }
    temporary
        .persist(path)
        .map_err(|error| io("cannot replace", path)(error.error))?;
    sync_folder(path)
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a file's creation, rename or removal durable.
fn sync_folder(path: &Path) -> Result<(), BackendError> {
    let folder = folder_of(path);
    File::open(&folder)
        .and_then(|dir| dir.sync_all())
        .map_err(io("cannot sync", &folder))
}

#[cfg(test)]
mod tests;
