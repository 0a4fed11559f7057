//! The local state backend: reading, an advisory lock with a lock-info file, and atomic writes
//! (temporary file in the same folder, fsync, rename, fsync of the folder) keeping a backup.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stagecraft_core::state::State;

use super::{BackendError, JournalFile, LockInfo, StateLock, io, write_atomically};

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
pub struct LocalLock {
    file: File,
    info_path: PathBuf,
}

impl LocalLock {
    /// Removes the info file and releases the OS lock (which also dies with the process).
    pub(super) fn release(&self) {
        let _ = fs::remove_file(&self.info_path);
        let _ = self.file.unlock();
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        self.release();
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
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LocalLock, BackendError> {
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
        let info = LockInfo::new(operation);
        write_atomically(&info_path, info.to_json()?.as_bytes())?;
        Ok(LocalLock { file, info_path })
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
    pub(super) fn journal(&self) -> JournalFile {
        JournalFile {
            path: self.sibling(".journal"),
        }
    }

    /// Replaces the state atomically, keeping the previous version as `<path>.backup`. The
    /// state is serialized first: when that fails, neither file is touched.
    pub fn write(&self, state: &State, _lock: &StateLock) -> Result<(), BackendError> {
        let text = state
            .to_json()
            .map_err(|source| BackendError::StateSerialize {
                path: self.path.display().to_string(),
                source,
            })?;
        if self.path.exists() {
            let backup = self.sibling(".backup");
            let previous = fs::read(&self.path).map_err(io("cannot read", &self.path))?;
            write_atomically(&backup, &previous)?;
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests;
