//! System V semaphore sets: `semget`, `semop`/`semtimedop` and `semctl`.
//!
//! A `semop` that sleeps can only be interrupted by a signal, so waits that
//! must stay cancellable (async ones, and sync ones in worker threads) call
//! [`semop`] with short deadlines in a loop: the wait engine's pool does.

use super::deadline::Deadline;
use super::{cvt, Error, Result};

// Not declared by the libc crate version we build against; in every glibc.
extern "C" {
    fn semtimedop(
        semid: libc::c_int,
        sops: *mut libc::sembuf,
        nsops: libc::size_t,
        timeout: *const libc::timespec,
    ) -> libc::c_int;
}

/// Undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;
pub const IPC_NOWAIT: i16 = libc::IPC_NOWAIT as i16;
/// The largest value one semaphore of a set holds (SEMVMX).
pub const SEMVMX: u16 = 32767;

const GETPID: libc::c_int = 11;
const GETVAL: libc::c_int = 12;
const GETALL: libc::c_int = 13;
const GETNCNT: libc::c_int = 14;
const GETZCNT: libc::c_int = 15;
const SETVAL: libc::c_int = 16;
const SETALL: libc::c_int = 17;

/// The fourth argument of semctl, exactly as C declares it: callers
/// must define it themselves, and it is passed by value through `...`.
#[repr(C)]
#[derive(Clone, Copy)]
union Semun {
    val: libc::c_int,
    buf: *mut libc::semid_ds,
    array: *mut libc::c_ushort,
}

fn semctl(id: i32, index: i32, cmd: libc::c_int, arg: Semun) -> Result<libc::c_int> {
    // SAFETY: semctl reads a union semun for these commands; `arg` is that
    // union by value, and any pointer in it is valid for the call (the
    // callers below keep their buffers alive across it).
    cvt(unsafe { libc::semctl(id, index, cmd, arg) }, "semctl")
}

/// `semget`: the id of the set under `key` (`IPC_PRIVATE` = 0 makes a new one).
pub fn get(key: i32, count: i32, flags: libc::c_int) -> Result<i32> {
    // SAFETY: semget takes plain integers.
    cvt(unsafe { libc::semget(key, count, flags) }, "semget")
}

/// One operation of a `semop` call, in the kernel's layout.
pub fn op(index: u16, op: i16, flags: i16) -> libc::sembuf {
    libc::sembuf { sem_num: index, sem_op: op, sem_flg: flags }
}

fn any_nowait(ops: &[libc::sembuf]) -> bool {
    ops.iter().any(|o| o.sem_flg & IPC_NOWAIT != 0)
}

/// Applies `ops` atomically. Waits until `deadline` (forever without
/// one) and returns false when it passes. An operation flagged
/// IPC_NOWAIT that would block fails with EAGAIN instead.
pub fn semop(id: i32, ops: &mut [libc::sembuf], deadline: Option<Deadline>) -> Result<bool> {
    loop {
        let ret = match deadline {
            // SAFETY: ops is a valid array of ops.len() sembufs.
            None => unsafe { libc::semop(id, ops.as_mut_ptr(), ops.len()) },
            Some(d) => {
                let left = d.relative_timespec();
                // SAFETY: as above; `left` is a valid relative timespec.
                unsafe { semtimedop(id, ops.as_mut_ptr(), ops.len(), &left) }
            }
        };
        match cvt(ret, if deadline.is_some() { "semtimedop" } else { "semop" }) {
            Ok(_) => return Ok(true),
            Err(e) if e.errno() == libc::EINTR => continue,
            // semtimedop says EAGAIN for both a timeout and an IPC_NOWAIT
            // refusal. Kernel timers never fire early, so an EAGAIN before
            // the deadline is the IPC_NOWAIT one.
            Err(e) if e.errno() == libc::EAGAIN && deadline.is_some_and(Deadline::passed) => return Ok(false),
            Err(e) if e.errno() == libc::EAGAIN && !any_nowait(ops) && deadline.is_some() => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The operations that undo `ops`: every op negated (wait-for-zero ops
/// have nothing to undo), flags kept so SEM_UNDO adjustments cancel out,
/// and IPC_NOWAIT so undoing never sleeps.
pub fn inverse(ops: &[libc::sembuf]) -> Vec<libc::sembuf> {
    ops.iter()
        .filter(|o| o.sem_op != 0)
        .map(|o| op(o.sem_num, o.sem_op.saturating_neg(), (o.sem_flg & SEM_UNDO) | IPC_NOWAIT))
        .collect()
}

/// Undoes `ops` that went through but whose result nobody will see (an
/// aborted async wait). Units the operations took are always given back;
/// units they posted are taken back only if still there.
pub fn revert(id: i32, ops: &[libc::sembuf]) -> Result<()> {
    let mut all = inverse(ops);
    if all.is_empty() {
        return Ok(());
    }
    match semop(id, &mut all, None) {
        Ok(_) => Ok(()),
        Err(e) if e.errno() == libc::EAGAIN => {
            let mut gives: Vec<_> = all.into_iter().filter(|o| o.sem_op > 0).collect();
            if gives.is_empty() {
                return Ok(());
            }
            semop(id, &mut gives, None).map(drop)
        }
        Err(e) => Err(e),
    }
}

pub fn get_value(id: i32, index: u16) -> Result<i32> {
    semctl(id, index.into(), GETVAL, Semun { val: 0 })
}

pub fn set_value(id: i32, index: u16, value: u16) -> Result<()> {
    semctl(id, index.into(), SETVAL, Semun { val: value.into() }).map(drop)
}

/// The pid of the last process that operated on semaphore `index`.
pub fn last_pid(id: i32, index: u16) -> Result<i32> {
    semctl(id, index.into(), GETPID, Semun { val: 0 })
}

/// How many processes wait for semaphore `index` to grow.
pub fn waiting_count(id: i32, index: u16) -> Result<i32> {
    semctl(id, index.into(), GETNCNT, Semun { val: 0 })
}

/// How many processes wait for semaphore `index` to be zero.
pub fn zero_waiting_count(id: i32, index: u16) -> Result<i32> {
    semctl(id, index.into(), GETZCNT, Semun { val: 0 })
}

pub fn stat(id: i32) -> Result<libc::semid_ds> {
    // SAFETY: semid_ds is plain old data; all-zero is a valid value.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    semctl(id, 0, libc::IPC_STAT, Semun { buf: &mut ds })?;
    Ok(ds)
}

/// IPC_SET: new owner uid/gid and permission bits.
pub fn set_permissions(id: i32, uid: Option<u32>, gid: Option<u32>, mode: Option<u16>) -> Result<()> {
    let mut ds = stat(id)?;
    if let Some(uid) = uid {
        ds.sem_perm.uid = uid;
    }
    if let Some(gid) = gid {
        ds.sem_perm.gid = gid;
    }
    if let Some(mode) = mode {
        ds.sem_perm.mode = (ds.sem_perm.mode & !0o777) | (mode & 0o777);
    }
    semctl(id, 0, libc::IPC_SET, Semun { buf: &mut ds }).map(drop)
}

/// GETALL: every value of the set.
pub fn get_all(id: i32) -> Result<Vec<u16>> {
    let count = stat(id)?.sem_nsems as usize;
    let mut values = vec![0u16; count];
    semctl(id, 0, GETALL, Semun { array: values.as_mut_ptr() })?;
    Ok(values)
}

/// SETALL: `values` must hold exactly one value per semaphore.
pub fn set_all(id: i32, values: &[u16]) -> Result<()> {
    let count = stat(id)?.sem_nsems as usize;
    if values.len() != count {
        return Err(Error::new(libc::EINVAL, "semctl"));
    }
    let mut values = values.to_vec();
    semctl(id, 0, SETALL, Semun { array: values.as_mut_ptr() }).map(drop)
}

/// IPC_RMID: removes the set; sleepers wake with EIDRM.
pub fn remove(id: i32) -> Result<()> {
    semctl(id, 0, libc::IPC_RMID, Semun { val: 0 }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sysv_set_operations() {
        let id = get(libc::IPC_PRIVATE, 3, libc::IPC_CREAT | 0o600).unwrap();
        let guard = scopeguard(id);
        assert_eq!(stat(id).unwrap().sem_nsems, 3);
        set_all(id, &[1, 2, 3]).unwrap();
        assert_eq!(get_all(id).unwrap(), vec![1, 2, 3]);
        let mut ops = [op(0, -1, 0), op(2, 5, 0)];
        assert!(semop(id, &mut ops, None).unwrap());
        assert_eq!(get_all(id).unwrap(), vec![0, 2, 8]);
        assert_eq!(last_pid(id, 0).unwrap(), std::process::id() as i32);
        revert(id, &ops).unwrap();
        assert_eq!(get_all(id).unwrap(), vec![1, 2, 3]);
        let mut blocked = [op(1, -3, IPC_NOWAIT)];
        assert_eq!(semop(id, &mut blocked, None).unwrap_err().code(), "EAGAIN");
        let mut timed = [op(1, -3, 0)];
        assert!(!semop(id, &mut timed, Deadline::after_ms(20.0)).unwrap());
        set_value(id, 1, 0).unwrap();
        assert_eq!(get_value(id, 1).unwrap(), 0);
        assert_eq!(waiting_count(id, 1).unwrap(), 0);
        assert_eq!(zero_waiting_count(id, 1).unwrap(), 0);
        set_permissions(id, None, None, Some(0o640)).unwrap();
        assert_eq!(stat(id).unwrap().sem_perm.mode & 0o777, 0o640);
        drop(guard);
        assert_eq!(get_value(id, 0).unwrap_err().code(), "EINVAL");
    }

    #[test]
    fn short_deadlines_in_a_loop_wake_on_post() {
        let id = get(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600).unwrap();
        let _guard = scopeguard(id);
        let taken = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                semop(id, &mut [op(0, 1, 0)], None).unwrap();
            });
            let mut ops = [op(0, -1, SEM_UNDO)];
            let mut slices = 0;
            while !semop(id, &mut ops, Deadline::after_ms(5.0)).unwrap() {
                slices += 1;
                assert!(slices < 2000, "never woken");
            }
            slices
        });
        assert!(taken >= 1);
        assert_eq!(get_value(id, 0).unwrap(), 0);
    }

    struct Remove(i32);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = remove(self.0);
        }
    }
    fn scopeguard(id: i32) -> Remove {
        Remove(id)
    }
}
