//! The local state backend: reading, an advisory lock with a lock-info file, and atomic writes
//! (temporary file in the same folder, fsync, rename, fsync of the folder) keeping a backup.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::sync::Mutex;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use stagecraft_core::apply::{Journal, JournalEntry, JournalError};
use stagecraft_core::state::{State, StateError};

/// Errors of the local backend.
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
        /// The state file.
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
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackendError {
    let path = path.display().to_string();
    move |source| BackendError::Io { what, path, source }
}

/// What the lock-info file says.
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
    fn describe(&self) -> String {
        format!(
            "{} (running `{}`, lock id {}, taken {}s ago)",
            self.who,
            self.operation,
            self.id,
            now_seconds().saturating_sub(self.created)
        )
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// How long a process that finds the state locked waits for the holder's lock-info file: the
/// holder writes it just after taking the lock, so a process started at the same instant may
/// look before it exists.
const LOCK_INFO_GRACE: Duration = Duration::from_secs(2);

/// The lock-info file, waiting up to [`LOCK_INFO_GRACE`] for it to appear.
fn read_lock_info(info_path: &Path) -> Option<LockInfo> {
    let started = Instant::now();
    loop {
        let info = fs::read_to_string(info_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        if info.is_some() || started.elapsed() >= LOCK_INFO_GRACE {
            return info;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A state file on the local disk.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    path: PathBuf,
}

/// The held lock: released (and its info file removed) on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    info_path: PathBuf,
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.info_path);
        let _ = self.file.unlock();
    }
}

impl LocalBackend {
    /// The backend for a state path.
    pub fn new(path: PathBuf) -> LocalBackend {
        LocalBackend { path }
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// The lock file (held with an OS advisory lock) and the info file beside it.
    fn lock_paths(&self) -> (PathBuf, PathBuf) {
        (self.sibling(".lock"), self.sibling(".lock.info"))
    }

    /// Takes the lock for `operation`, waiting up to `timeout`.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<StateLock, BackendError> {
        let (lock_path, info_path) = self.lock_paths();
        if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("cannot open", &lock_path))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        let info = read_lock_info(&info_path);
                        return Err(BackendError::Locked {
                            holder: info
                                .as_ref()
                                .map_or_else(|| "another process".to_string(), LockInfo::describe),
                            id: info.map_or_else(String::new, |info| info.id),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(error)) => {
                    return Err(io("cannot lock", &lock_path)(error));
                }
            }
        }
        let info = LockInfo {
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
        };
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        write_atomically(&info_path, text.as_bytes())?;
        Ok(StateLock { file, info_path })
    }

    /// Removes a lock-info file whose id matches (the OS lock dies with its process).
    pub fn force_unlock(&self, id: &str) -> Result<(), BackendError> {
        let (_, info_path) = self.lock_paths();
        let Ok(text) = fs::read_to_string(&info_path) else {
            return Err(BackendError::NotLocked);
        };
        let info: LockInfo = serde_json::from_str(&text).map_err(|error| BackendError::Io {
            what: "cannot parse",
            path: info_path.display().to_string(),
            source: std::io::Error::other(error),
        })?;
        if info.id != id {
            return Err(BackendError::WrongLockId { actual: info.id });
        }
        fs::remove_file(&info_path).map_err(io("cannot remove", &info_path))
    }

    /// Reads the state; `None` when there is none yet.
    pub fn read(&self) -> Result<Option<State>, BackendError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => State::from_json(&text)
                .map(Some)
                .map_err(|source| BackendError::State {
                    path: self.path.display().to_string(),
                    source,
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io("cannot read", &self.path)(error)),
        }
    }

    /// The apply journal beside the state.
    pub fn journal_path(&self) -> PathBuf {
        self.sibling(".journal")
    }

    /// The entries of a journal left by an apply that did not finish, if any.
    pub fn read_journal(&self) -> Result<Option<Vec<JournalEntry>>, BackendError> {
        let path = self.journal_path();
        match fs::read_to_string(&path) {
            Ok(text) => stagecraft_core::apply::parse(&text)
                .map(Some)
                .map_err(|source| BackendError::Journal {
                    path: path.display().to_string(),
                    source,
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io("cannot read", &path)(error)),
        }
    }

    /// Opens the journal for a run: appended to, after the operations a recovery carried over.
    pub fn create_journal(&self, _lock: &StateLock) -> Result<FileJournal, BackendError> {
        let path = self.journal_path();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io("cannot create", &path))?;
        sync_folder(&path)?;
        Ok(FileJournal {
            file: Mutex::new(file),
        })
    }

    /// Replaces the journal with `entries` (the operations a recovery leaves in doubt).
    pub fn carry_journal(
        &self,
        entries: &[JournalEntry],
        _lock: &StateLock,
    ) -> Result<(), BackendError> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&serde_json::to_string(entry).unwrap_or_default());
            text.push('\n');
        }
        write_atomically(&self.journal_path(), text.as_bytes())
    }

    /// Removes the journal once its effects are in the state.
    pub fn remove_journal(&self, _lock: &StateLock) -> Result<(), BackendError> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => sync_folder(&path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io("cannot remove", &path)(error)),
        }
    }

    /// Replaces the state atomically, keeping the previous version as `<path>.backup`.
    pub fn write(&self, state: &State, _lock: &StateLock) -> Result<(), BackendError> {
        if self.path.exists() {
            let backup = self.sibling(".backup");
            let previous = fs::read(&self.path).map_err(io("cannot read", &self.path))?;
            write_atomically(&backup, &previous)?;
        }
        write_atomically(&self.path, state.to_json().as_bytes())
    }
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_atomically_with_backup_and_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("s.json"));
        assert!(backend.read().unwrap().is_none());
        let lock = backend.lock("test", Duration::ZERO).unwrap();
        let mut state = State::new("p", "l".into());
        backend.write(&state, &lock).unwrap();
        state.serial = 1;
        backend.write(&state, &lock).unwrap();
        assert_eq!(backend.read().unwrap().unwrap().serial, 1);
        let backup =
            State::from_json(&fs::read_to_string(dir.path().join("s.json.backup")).unwrap());
        assert_eq!(backup.unwrap().serial, 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("s.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".stagecraft-")
            })
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_second_lock_names_the_holder_and_force_unlock_checks_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("s.json"));
        let held = backend.lock("apply", Duration::ZERO).unwrap();
        let error = backend
            .lock("plan", Duration::from_millis(250))
            .unwrap_err();
        let BackendError::Locked { holder, id } = error else {
            panic!("{error:?}")
        };
        assert!(holder.contains("running `apply`"), "{holder}");
        assert!(matches!(
            backend.force_unlock("wrong"),
            Err(BackendError::WrongLockId { .. })
        ));
        backend.force_unlock(&id).unwrap();
        drop(held);
        assert!(backend.lock("plan", Duration::ZERO).is_ok());
    }

    #[test]
    fn a_lock_taken_an_instant_earlier_is_named_once_its_info_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("s.json"));
        let (lock_path, info_path) = backend.lock_paths();
        // The holder has the OS lock but has not written its info file yet.
        let held = File::create(&lock_path).unwrap();
        held.try_lock().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let info = LockInfo {
                id: "the-id".to_string(),
                operation: "apply".to_string(),
                who: "someone@host (pid 1)".to_string(),
                created: now_seconds(),
            };
            write_atomically(&info_path, serde_json::to_string(&info).unwrap().as_bytes()).unwrap();
        });
        let error = backend.lock("apply", Duration::ZERO).unwrap_err();
        writer.join().unwrap();
        let BackendError::Locked { holder, id } = error else {
            panic!("{error:?}")
        };
        assert_eq!(id, "the-id");
        assert!(holder.contains("someone@host (pid 1)"), "{holder}");
    }

    #[test]
    fn corrupt_state_is_an_error_that_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        fs::write(&path, "{ broken").unwrap();
        let backend = LocalBackend::new(path.clone());
        assert!(matches!(backend.read(), Err(BackendError::State { .. })));
        assert_eq!(fs::read_to_string(path).unwrap(), "{ broken");
    }
}

/// The apply journal on disk: JSON lines, each fsynced before `append` returns.
#[derive(Debug)]
pub struct FileJournal {
    file: Mutex<File>,
}

impl Journal for FileJournal {
    fn append(&self, entry: &JournalEntry) -> Result<(), String> {
        let mut line = serde_json::to_string(entry).map_err(|error| error.to_string())?;
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|error| error.to_string())
    }
}
