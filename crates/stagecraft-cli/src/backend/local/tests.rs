//! Tests of the local state backend: locking, atomic writes with a backup, corrupt state.
#![allow(clippy::unwrap_used)]

use super::*;

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
        let mut info = LockInfo::new("apply");
        info.id = "the-id".to_string();
        info.who = "someone@host (pid 1)".to_string();
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
fn writes_atomically_with_backup_and_owner_only_mode() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path().join("s.json"));
    assert!(backend.read().unwrap().is_none());
    let lock = StateLock::Local(backend.lock("test", Duration::ZERO).unwrap());
    let mut state = State::new("p", "l".into());
    backend.write(&state, &lock).unwrap();
    state.serial = 1;
    backend.write(&state, &lock).unwrap();
    assert_eq!(backend.read().unwrap().unwrap().serial, 1);
    let backup = State::from_json(&fs::read_to_string(dir.path().join("s.json.backup")).unwrap());
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
fn corrupt_state_is_an_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    fs::write(&path, "{ broken").unwrap();
    let backend = LocalBackend::new(path.clone());
    assert!(matches!(backend.read(), Err(BackendError::State { .. })));
    assert_eq!(fs::read_to_string(path).unwrap(), "{ broken");
}
