//! glibc's `pthread_mutex_t`, made robust and process-shared, in memory the
//! caller provides: for interop with C programs that use pthread mutexes.
//!
//! Every function is `unsafe` for the same reason: `mutex` must point to
//! [`SIZE`] writable bytes aligned to [`ALIGN`] that stay mapped for the
//! duration of the call. pthread functions return the error number instead
//! of setting errno.

use super::deadline::Deadline;
use super::futex::gettid;
use super::{Error, Result};
use libc::{c_int, clockid_t, pthread_mutex_t, pthread_mutexattr_t, timespec};

mod robust_list;

pub const SIZE: usize = std::mem::size_of::<pthread_mutex_t>();
pub const ALIGN: usize = std::mem::align_of::<pthread_mutex_t>();
const PTHREAD_MUTEX_ROBUST: c_int = 1;

/// The `syscall` of the error [`lock`], [`try_lock`], [`unlock`] and
/// [`consistent`] return, before calling glibc, when the mutex's kind
/// word is not one [`check_kind`] accepts. Its errno is EINVAL.
pub const NOT_A_MUTEX: &str = "pthread_mutex_t check";

/// Byte offset of glibc's `__kind` (after `__lock`, `__count`,
/// `__owner` and, on 64-bit, `__nusers`).
#[cfg(target_pointer_width = "64")]
pub const KIND_OFFSET: usize = 16;
#[cfg(not(target_pointer_width = "64"))]
pub const KIND_OFFSET: usize = 12;
/// PTHREAD_MUTEX_ROBUST_NORMAL_NP | PTHREAD_MUTEX_PSHARED_BIT: the kinds
/// accepted are this plus a type (normal, recursive, errorcheck,
/// adaptive) in the low two bits.
const ROBUST_PSHARED: i32 = 0x10 | 0x80;
const TYPE_MASK: i32 = 0x3;
/// PTHREAD_MUTEX_NO_ELISION_NP: glibc sets it on robust normal mutexes;
/// it changes nothing on the robust paths.
const NO_ELISION: i32 = 0x200;

/// Whether glibc may be handed a mutex of this kind: robust,
/// process-shared, without the priority-inheritance (0x20) or
/// priority-protect (0x40) bits, whose code paths assert on states
/// another process can produce (`pthread_mutex_clocklock: Assertion
/// e != ESRCH || !robust`) and abort the process, and without bits glibc
/// never writes.
pub fn kind_supported(kind: i32) -> bool {
    kind & !(TYPE_MASK | NO_ELISION) == ROBUST_PSHARED
}

/// Reads the kind word and refuses kinds [`kind_supported`] does not
/// accept, with [`NOT_A_MUTEX`]. One atomic load; another process may
/// still rewrite the word between this check and the glibc call.
///
/// # Safety
/// See the module documentation.
pub unsafe fn check_kind(mutex: *mut pthread_mutex_t) -> Result<()> {
    // SAFETY: `mutex` is valid and ALIGN-aligned per the contract, so
    // the int at KIND_OFFSET is mapped and 4-byte aligned; atomic
    // because other processes may write it.
    let kind = unsafe { &*mutex.cast::<u8>().add(KIND_OFFSET).cast::<std::sync::atomic::AtomicI32>() };
    if kind_supported(kind.load(std::sync::atomic::Ordering::Relaxed)) {
        Ok(())
    } else {
        Err(Error::new(libc::EINVAL, NOT_A_MUTEX))
    }
}

extern "C" {
    fn pthread_mutexattr_setrobust(attr: *mut pthread_mutexattr_t, robust: c_int) -> c_int;
    fn pthread_mutex_consistent(mutex: *mut pthread_mutex_t) -> c_int;
    fn pthread_mutex_clocklock(mutex: *mut pthread_mutex_t, clock: clockid_t, abstime: *const timespec) -> c_int;
}

fn check(ret: c_int, call: &'static str) -> Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::new(ret, call))
    }
}

/// How a lock attempt that got the mutex went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    Locked,
    /// EOWNERDEAD: held now, but the previous owner died holding it.
    OwnerDied,
}

fn acquired(ret: c_int, call: &'static str) -> Result<Acquired> {
    match ret {
        0 => Ok(Acquired::Locked),
        libc::EOWNERDEAD => Ok(Acquired::OwnerDied),
        e => Err(Error::new(e, call)),
    }
}

/// pthread_mutex_init with PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST
/// and PTHREAD_MUTEX_ERRORCHECK. EBUSY when this thread holds it.
///
/// # Safety
/// See the module documentation.
pub unsafe fn init(mutex: *mut pthread_mutex_t) -> Result<()> {
    if robust_list::holds(mutex as usize) {
        // Re-initialising it would cut this thread's robust list.
        return Err(Error::new(libc::EBUSY, "pthread_mutex_init"));
    }
    let mut attr = std::mem::MaybeUninit::<pthread_mutexattr_t>::uninit();
    // SAFETY: attr is initialised by pthread_mutexattr_init before any
    // other use and destroyed once; `mutex` is valid per the contract.
    unsafe {
        check(libc::pthread_mutexattr_init(attr.as_mut_ptr()), "pthread_mutexattr_init")?;
        let attr = attr.as_mut_ptr();
        let result = check(
            libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED),
            "pthread_mutexattr_setpshared",
        )
        .and_then(|()| check(pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust"))
        .and_then(|()| {
            check(libc::pthread_mutexattr_settype(attr, libc::PTHREAD_MUTEX_ERRORCHECK), "pthread_mutexattr_settype")
        })
        .and_then(|()| check(libc::pthread_mutex_init(mutex, attr), "pthread_mutex_init"));
        libc::pthread_mutexattr_destroy(attr);
        result
    }
}

/// pthread_mutex_lock, or pthread_mutex_clocklock (CLOCK_MONOTONIC) with
/// a deadline. Errors: ETIMEDOUT, EDEADLK, ENOTRECOVERABLE, EINVAL.
///
/// # Safety
/// See the module documentation.
pub unsafe fn lock(mutex: *mut pthread_mutex_t, deadline: Option<Deadline>) -> Result<Acquired> {
    // SAFETY: as for this function.
    unsafe { check_kind(mutex)? };
    let outcome = match deadline {
        // SAFETY: `mutex` is valid per the contract.
        None => acquired(unsafe { libc::pthread_mutex_lock(mutex) }, "pthread_mutex_lock"),
        Some(deadline) => {
            let ts = deadline.timespec();
            // SAFETY: as above; ts outlives the call.
            acquired(unsafe { pthread_mutex_clocklock(mutex, libc::CLOCK_MONOTONIC, &ts) }, "pthread_mutex_clocklock")
        }
    }?;
    robust_list::acquired(mutex as usize);
    Ok(outcome)
}

/// pthread_mutex_trylock; None when another thread (or this one) holds it.
///
/// # Safety
/// See the module documentation.
pub unsafe fn try_lock(mutex: *mut pthread_mutex_t) -> Result<Option<Acquired>> {
    // SAFETY: as for this function.
    unsafe { check_kind(mutex)? };
    // SAFETY: `mutex` is valid per the contract.
    match unsafe { libc::pthread_mutex_trylock(mutex) } {
        libc::EBUSY | libc::EDEADLK => Ok(None),
        libc::ENOTRECOVERABLE => {
            // glibc (2.36 at least) returns ENOTRECOVERABLE from trylock
            // with the lock word still holding our tid, so the mutex
            // would look held by us forever. Put the word back.
            // SAFETY: the lock word is the first, 4-byte aligned int of
            // the mutex, valid per the contract.
            let word = unsafe { &*mutex.cast::<std::sync::atomic::AtomicU32>() };
            let _ = word.compare_exchange(
                gettid() as u32,
                0,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            );
            Err(Error::new(libc::ENOTRECOVERABLE, "pthread_mutex_trylock"))
        }
        ret => {
            let outcome = acquired(ret, "pthread_mutex_trylock")?;
            robust_list::acquired(mutex as usize);
            Ok(Some(outcome))
        }
    }
}

/// pthread_mutex_unlock. EPERM when the caller does not hold it (also
/// when its lock word says so but it was not locked through this
/// module on this thread). Before glibc unlinks the mutex from the
/// thread's robust list, its list pointers are checked (and repaired from
/// its neighbours when possible): glibc writes through them blindly.
///
/// # Safety
/// See the module documentation; and every mutex this thread holds
/// through this module must still be mapped (the caller keeps them so).
pub unsafe fn unlock(mutex: *mut pthread_mutex_t) -> Result<()> {
    // SAFETY: as for this function.
    unsafe { check_kind(mutex)? };
    if !robust_list::holds(mutex as usize) {
        return Err(Error::new(libc::EPERM, "pthread_mutex_unlock"));
    }
    // SAFETY: as for this function.
    unsafe { robust_list::check_links(mutex as usize)? };
    // SAFETY: `mutex` is valid per the contract.
    check(unsafe { libc::pthread_mutex_unlock(mutex) }, "pthread_mutex_unlock")?;
    robust_list::released(mutex as usize);
    Ok(())
}

/// pthread_mutex_consistent. EINVAL unless held and inconsistent.
///
/// # Safety
/// See the module documentation.
pub unsafe fn consistent(mutex: *mut pthread_mutex_t) -> Result<()> {
    // SAFETY: as for this function.
    unsafe { check_kind(mutex)? };
    // SAFETY: `mutex` is valid per the contract.
    check(unsafe { pthread_mutex_consistent(mutex) }, "pthread_mutex_consistent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pthread_kinds_glibc_could_abort_on_are_refused() {
        let mut storage = Box::new(std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed());
        let m = storage.as_mut_ptr();
        let kind = |m: *mut libc::pthread_mutex_t| m.cast::<u8>().wrapping_add(KIND_OFFSET).cast::<i32>();
        // SAFETY: m points to a live, aligned pthread_mutex_t for the test.
        unsafe {
            init(m).unwrap();
            assert_eq!(kind(m).read(), 0x92, "init writes robust | pshared | errorcheck");
            check_kind(m).unwrap();
            // The review's reproducer: PI set, lock word holding a dead tid.
            m.cast::<i32>().write(0x7fff_fff0);
            kind(m).write(0x10 | 0x20 | 0x80);
            assert_eq!(lock(m, Deadline::after_ms(100.0)).unwrap_err().syscall(), NOT_A_MUTEX);
            assert_eq!(try_lock(m).unwrap_err().syscall(), NOT_A_MUTEX);
            assert_eq!(unlock(m).unwrap_err().syscall(), NOT_A_MUTEX);
            assert_eq!(consistent(m).unwrap_err().errno(), libc::EINVAL);
        }
        for ok in [0x90, 0x91, 0x92, 0x93, 0x290] {
            assert!(kind_supported(ok), "{ok:#x}");
        }
        for bad in [0, 0x10, 0x80, 0x12, 0xb2, 0xd2, 0x192, 0x10092, -1] {
            assert!(!kind_supported(bad), "{bad:#x}");
        }
    }

    #[test]
    fn pthread_unlock_checks_the_robust_list_links() {
        let mut storage = Box::new([std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed(); 3]);
        let [a, b, c] = [0, 1, 2].map(|i| storage[i].as_mut_ptr());
        let links = |m: *mut libc::pthread_mutex_t| m.cast::<u8>().wrapping_add(24).cast::<usize>();
        // SAFETY: a, b, c point to live, aligned pthread_mutex_t for the test.
        unsafe {
            for m in [a, b, c] {
                init(m).unwrap();
            }
            // Not held, lock word forged to our tid: glibc would unlink it
            // through null links.
            c.cast::<i32>().write(gettid());
            assert_eq!(unlock(c).unwrap_err().errno(), libc::EPERM);
            c.cast::<i32>().write(0);
            // One corrupted mutex between two good ones is repaired from them.
            lock(a, None).unwrap();
            lock(b, None).unwrap();
            lock(c, None).unwrap();
            assert_eq!(init(b).unwrap_err().errno(), libc::EBUSY);
            links(b).write(0x1000);
            links(b).add(1).write(0x1000);
            unlock(b).unwrap();
            // Links to held mutexes that do not point back are repaired too.
            lock(b, None).unwrap();
            let (next, prev) = (links(b).add(1).read(), links(b).read());
            links(b).write(next);
            links(b).add(1).write(prev);
            unlock(b).unwrap();
            // Both neighbours corrupted too: refused, nothing written.
            let saved = [links(a).read(), links(a).add(1).read(), links(c).read(), links(c).add(1).read()];
            for (m, junk) in [(a, 0x1000), (c, 0x2000)] {
                links(m).write(junk);
                links(m).add(1).write(junk);
            }
            assert_eq!(unlock(a).unwrap_err().errno(), libc::EINVAL);
            assert_eq!(unlock(c).unwrap_err().errno(), libc::EINVAL);
            assert_eq!(a.cast::<i32>().read() & 0x3fff_ffff, gettid());
            // Put the links back so the thread's list is sound again.
            links(a).write(saved[0]);
            links(a).add(1).write(saved[1]);
            links(c).write(saved[2]);
            links(c).add(1).write(saved[3]);
            unlock(a).unwrap();
            unlock(c).unwrap();
            assert_eq!(unlock(c).unwrap_err().errno(), libc::EPERM);
        }
    }

    #[test]
    fn pthread_robust_mutex_reports_a_dead_owner() {
        let mut storage = Box::new(std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed());
        let m = storage.as_mut_ptr();
        // SAFETY: m points to a live, aligned pthread_mutex_t for the test.
        unsafe {
            init(m).unwrap();
            assert_eq!(lock(m, None).unwrap(), Acquired::Locked);
            assert_eq!(try_lock(m).unwrap(), None);
            assert_eq!(lock(m, None).unwrap_err().errno(), libc::EDEADLK);
            unlock(m).unwrap();
            assert_eq!(unlock(m).unwrap_err().errno(), libc::EPERM);
        }
        let addr = m as usize;
        // A thread that exits holding a robust mutex: the next locker is told.
        // SAFETY: the mutex outlives the thread, which is joined at once.
        std::thread::spawn(move || unsafe { lock(addr as *mut libc::pthread_mutex_t, None).unwrap() }).join().unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!(lock(m, Deadline::after_ms(1000.0)).unwrap(), Acquired::OwnerDied);
            consistent(m).unwrap();
            unlock(m).unwrap();
            assert_eq!(try_lock(m).unwrap(), Some(Acquired::Locked));
            unlock(m).unwrap();
        }
        // Unlocked without consistent(): every later attempt fails, and a
        // failed trylock does not leave the mutex looking held.
        // SAFETY: the mutex outlives the thread, which is joined at once.
        std::thread::spawn(move || unsafe { lock(addr as *mut libc::pthread_mutex_t, None).unwrap() }).join().unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!(lock(m, None).unwrap(), Acquired::OwnerDied);
            unlock(m).unwrap();
            assert_eq!(try_lock(m).unwrap_err().errno(), libc::ENOTRECOVERABLE);
            assert_eq!(try_lock(m).unwrap_err().errno(), libc::ENOTRECOVERABLE);
            assert_eq!(lock(m, None).unwrap_err().errno(), libc::ENOTRECOVERABLE);
        }
    }
}
