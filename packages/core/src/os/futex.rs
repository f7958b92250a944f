//! Shared (not private) futexes, plus the two things a waiter needs beyond
//! FUTEX_WAIT: cancellation from another thread and noticing that the owner
//! of a lock has died.
//!
//! Every function takes the futex word as a plain address and hands it only
//! to the kernel, never dereferencing it here: the kernel validates the
//! address (EFAULT for unmapped memory), so a stale address cannot crash the
//! process. That is what lets background wait threads hold an address into a
//! mapping that JS may close meanwhile.

use super::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken by FUTEX_WAKE (or spuriously): re-check the word.
    Woken = 0,
    /// The word did not hold the expected value.
    NotEqual = 1,
    TimedOut = 2,
    /// The wait's [`Cancel`] fired.
    Cancelled = 3,
    /// The watched thread no longer exists.
    OwnerDead = 4,
}

/// How often a waiter that watches an owner thread checks that it is alive.
pub const LIVENESS_SLICE_MS: f64 = 100.0;
/// In the FUTEX_WAIT fallback, how often a cancellable wait re-checks its
/// cancel flag (closes the window between the check and the sleep).
const FALLBACK_CANCEL_SLICE_MS: f64 = 50.0;

/// An absolute CLOCK_MONOTONIC time, the form every futex timeout takes
/// here, so a wait restarted after EINTR or a slice keeps its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    nanos: u128,
}

fn monotonic_nanos() -> u128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

impl Deadline {
    /// `ms` milliseconds from now (fractions allowed; negative = now).
    pub fn after_ms(ms: f64) -> Deadline {
        let add = if ms.is_finite() && ms > 0.0 { (ms * 1e6) as u128 } else { 0 };
        Deadline { nanos: monotonic_nanos() + add }
    }

    pub(crate) fn timespec(self) -> libc::timespec {
        libc::timespec {
            tv_sec: (self.nanos / 1_000_000_000) as libc::time_t,
            tv_nsec: (self.nanos % 1_000_000_000) as libc::c_long,
        }
    }

    fn passed(self) -> bool {
        monotonic_nanos() >= self.nanos
    }
}

/// The thread id of the calling thread (gettid).
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Whether thread `tid` exists and is not a zombie.
///
/// kill(tid, 0) answers for any thread id, not only process ids; EPERM means
/// it exists but belongs to someone else. A process killed but not yet reaped
/// by its parent is a zombie that kill() still finds, so `thorough` also
/// reads its state from /proc.
pub fn thread_alive(tid: i32, thorough: bool) -> bool {
    if tid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let ret = unsafe { libc::kill(tid, 0) };
    if ret == -1 && Error::last("kill").errno() == libc::ESRCH {
        return false;
    }
    if !thorough {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{tid}/stat")) {
        // The state follows the parenthesised command, which may itself hold
        // parentheses: split at the last ')'.
        Ok(stat) => !matches!(stat.rfind(')').and_then(|at| stat[at + 1..].trim_start().chars().next()), Some('Z' | 'X' | 'x')),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

fn futex(addr: usize, op: libc::c_int, val: u32, timeout: *const libc::timespec, val3: u32) -> libc::c_long {
    // SAFETY: the kernel validates `addr` (EFAULT if unmapped) and reads
    // `timeout` only when the op uses one; callers pass null or a live one.
    unsafe { libc::syscall(libc::SYS_futex, addr, op, val, timeout, 0usize, val3) }
}

/// Wakes up to `count` waiters on the shared futex at `addr`.
pub fn wake(addr: usize, count: u32) -> Result<u32> {
    let count = count.min(i32::MAX as u32);
    let ret = futex(addr, libc::FUTEX_WAKE, count, std::ptr::null(), 0);
    if ret < 0 {
        return Err(Error::last("futex"));
    }
    Ok(ret as u32)
}

/// One FUTEX_WAIT_BITSET (absolute monotonic deadline), EINTR retried.
fn wait_once(addr: usize, expected: u32, deadline: Option<Deadline>) -> Result<WaitOutcome> {
    let ts = deadline.map(Deadline::timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    loop {
        let ret = futex(addr, libc::FUTEX_WAIT_BITSET, expected, ts_ptr, FUTEX_BITSET_MATCH_ANY);
        if ret == 0 {
            return Ok(WaitOutcome::Woken);
        }
        let err = Error::last("futex");
        match err.errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(WaitOutcome::NotEqual),
            libc::ETIMEDOUT => return Ok(WaitOutcome::TimedOut),
            _ => return Err(err),
        }
    }
}

/// A cancel flag for one wait, shared with the thread that waits.
///
/// With futex_waitv (Linux 5.16+) the waiter sleeps on the shared word and on
/// this private word at once, so cancelling wakes exactly that waiter. Where
/// futex_waitv is missing, cancelling wakes every waiter of the shared word
/// (they all re-check their words, as futex waiters must) and the cancelled
/// one also re-checks its flag in short slices.
#[derive(Debug, Default)]
pub struct Cancel {
    word: AtomicU32,
    /// The shared word being waited on, for the fallback broadcast.
    target: std::sync::atomic::AtomicUsize,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn is_cancelled(&self) -> bool {
        self.word.load(Ordering::SeqCst) != 0
    }

    /// Cancels the wait (now or when it starts). Idempotent.
    pub fn cancel(&self) {
        if self.word.swap(1, Ordering::SeqCst) != 0 {
            return;
        }
        let own = &self.word as *const AtomicU32 as usize;
        // Waking our own live word cannot fail in a way worth reporting.
        let _ = futex(own, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX as u32, std::ptr::null(), 0);
        if !waitv_supported() {
            let target = self.target.load(Ordering::SeqCst);
            if target != 0 {
                let _ = wake(target, u32::MAX);
            }
        }
    }
}

/// 0 = unknown, 1 = futex_waitv works, 2 = it does not (ENOSYS or disabled).
static WAITV: AtomicU8 = AtomicU8::new(0);
static WAITV_ENV_CHECKED: AtomicBool = AtomicBool::new(false);

/// Whether cancellable waits use futex_waitv. `SHMKIT_FUTEX_WAITV=0` in the
/// environment forces the FUTEX_WAIT fallback (used by the tests).
pub fn waitv_supported() -> bool {
    if !WAITV_ENV_CHECKED.swap(true, Ordering::SeqCst) && std::env::var_os("SHMKIT_FUTEX_WAITV").is_some_and(|v| v == "0") {
        WAITV.store(2, Ordering::SeqCst);
    }
    WAITV.load(Ordering::SeqCst) != 2
}

#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX2_PRIVATE: u32 = 128;

/// Sleeps on the shared word and the cancel word together. None = ENOSYS.
fn waitv_once(addr: usize, expected: u32, cancel: &Cancel, deadline: Option<Deadline>) -> Option<Result<WaitOutcome>> {
    let waiters = [
        FutexWaitv { val: u64::from(expected), uaddr: addr as u64, flags: FUTEX2_SIZE_U32, reserved: 0 },
        FutexWaitv { val: 0, uaddr: &cancel.word as *const AtomicU32 as u64, flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, reserved: 0 },
    ];
    let ts = deadline.map(Deadline::timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    loop {
        if cancel.is_cancelled() {
            return Some(Ok(WaitOutcome::Cancelled));
        }
        // SAFETY: `waiters` and `ts` outlive the call; the kernel validates
        // the user addresses inside them.
        let ret = unsafe { libc::syscall(libc::SYS_futex_waitv, waiters.as_ptr(), 2u32, 0u32, ts_ptr, libc::CLOCK_MONOTONIC) };
        if ret >= 0 {
            // Index 0 is the shared word: report that wake even if the wait
            // was cancelled meanwhile, so the caller can pass it on.
            return Some(Ok(if ret == 0 { WaitOutcome::Woken } else { WaitOutcome::Cancelled }));
        }
        let err = Error::last("futex_waitv");
        match err.errno() {
            libc::EINTR => continue,
            libc::ENOSYS => {
                WAITV.store(2, Ordering::SeqCst);
                return None;
            }
            libc::EAGAIN if cancel.is_cancelled() => return Some(Ok(WaitOutcome::Cancelled)),
            libc::EAGAIN => return Some(Ok(WaitOutcome::NotEqual)),
            libc::ETIMEDOUT => return Some(Ok(WaitOutcome::TimedOut)),
            _ => return Some(Err(err)),
        }
    }
}

fn min_deadline(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Waits until the shared word at `addr` is woken while holding `expected`,
/// the deadline passes, `cancel` fires, or thread `watch` dies.
///
/// With `watch`, the wait sleeps in slices of [`LIVENESS_SLICE_MS`] and
/// checks the thread between slices: a lock whose owner died is noticed
/// within one slice even though nobody will ever wake the word.
pub fn wait(addr: usize, expected: u32, deadline: Option<Deadline>, cancel: Option<&Cancel>, watch: Option<i32>) -> Result<WaitOutcome> {
    if addr % 4 != 0 {
        return Err(Error::new(libc::EINVAL, "futex"));
    }
    if let Some(cancel) = cancel {
        cancel.target.store(addr, Ordering::SeqCst);
    }
    loop {
        let slice = match (watch.is_some(), cancel.is_some() && !waitv_supported()) {
            (true, _) => Some(Deadline::after_ms(LIVENESS_SLICE_MS)),
            (false, true) => Some(Deadline::after_ms(FALLBACK_CANCEL_SLICE_MS)),
            _ => None,
        };
        let until = min_deadline(deadline, slice);
        let outcome = match cancel {
            Some(c) if c.is_cancelled() => return Ok(WaitOutcome::Cancelled),
            Some(c) if waitv_supported() => match waitv_once(addr, expected, c, until) {
                Some(outcome) => outcome?,
                None => continue,
            },
            // In the fallback a cancel wakes every waiter of the word, so a
            // cancelled waiter reporting Cancelled loses no wake.
            Some(c) => match wait_once(addr, expected, until)? {
                WaitOutcome::Woken if c.is_cancelled() => return Ok(WaitOutcome::Cancelled),
                outcome => outcome,
            },
            None => wait_once(addr, expected, until)?,
        };
        if outcome != WaitOutcome::TimedOut {
            return Ok(outcome);
        }
        if cancel.is_some_and(Cancel::is_cancelled) {
            return Ok(WaitOutcome::Cancelled);
        }
        if deadline.is_some_and(Deadline::passed) {
            return Ok(outcome);
        }
        if let Some(tid) = watch {
            if !thread_alive(tid, true) {
                return Ok(WaitOutcome::OwnerDead);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn addr_of(word: &AtomicU32) -> usize {
        word as *const AtomicU32 as usize
    }

    #[test]
    fn not_equal_and_timeout() {
        let word = AtomicU32::new(5);
        assert_eq!(wait(addr_of(&word), 4, None, None, None).unwrap(), WaitOutcome::NotEqual);
        let start = Instant::now();
        assert_eq!(wait(addr_of(&word), 5, Some(Deadline::after_ms(30.0)), None, None).unwrap(), WaitOutcome::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(29));
    }

    #[test]
    fn wake_wakes_a_waiter() {
        let word = Arc::new(AtomicU32::new(0));
        let w = word.clone();
        let t = std::thread::spawn(move || wait(addr_of(&w), 0, Some(Deadline::after_ms(5000.0)), None, None).unwrap());
        let mut woken = 0;
        for _ in 0..500 {
            woken = wake(addr_of(&word), 1).unwrap();
            if woken == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(woken, 1);
        assert_eq!(t.join().unwrap(), WaitOutcome::Woken);
        assert_eq!(wake(addr_of(&word), 1).unwrap(), 0);
    }

    fn cancel_case() {
        let word = Arc::new(AtomicU32::new(0));
        let cancel = Arc::new(Cancel::new());
        let (w, c) = (word.clone(), cancel.clone());
        let t = std::thread::spawn(move || wait(addr_of(&w), 0, None, Some(&c), None).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        cancel.cancel();
        assert_eq!(t.join().unwrap(), WaitOutcome::Cancelled);
        let late = Cancel::new();
        late.cancel();
        assert_eq!(wait(addr_of(&word), 0, None, Some(&late), None).unwrap(), WaitOutcome::Cancelled);
    }

    #[test]
    fn cancel_wakes_the_waiter() {
        cancel_case();
        // The FUTEX_WAIT fallback (no futex_waitv) cancels as well.
        let before = WAITV.swap(2, Ordering::SeqCst);
        cancel_case();
        WAITV.store(before, Ordering::SeqCst);
    }

    #[test]
    fn watch_notices_a_dead_thread() {
        let word = AtomicU32::new(0);
        // A tid that cannot exist: above PID_MAX_LIMIT (2^22).
        let start = Instant::now();
        assert_eq!(wait(addr_of(&word), 0, None, None, Some(0x3fff_fff0)).unwrap(), WaitOutcome::OwnerDead);
        assert!(start.elapsed() < Duration::from_millis(1000));
        assert!(thread_alive(gettid(), true));
        assert!(!thread_alive(0x3fff_fff0, true));
    }

    #[test]
    fn unaligned_and_unmapped_addresses_are_errors() {
        assert_eq!(wait(3, 0, None, None, None).unwrap_err().errno(), libc::EINVAL);
        assert_eq!(wait(4096, 0, Some(Deadline::after_ms(1.0)), None, None).unwrap_err().errno(), libc::EFAULT);
    }
}
