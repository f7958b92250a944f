//! Shared (not private) futexes: wait, wake, compare, and futex_waitv on
//! many words at once, plus the thread identity a robust lock records and
//! the liveness check that notices its owner died.
//!
//! Every function takes the futex word as a plain address and hands it only
//! to the kernel, never dereferencing it here: the kernel validates the
//! address (EFAULT for unmapped memory), so a stale address cannot crash the
//! process. That is what lets wait threads hold an address into a mapping
//! that JS may close meanwhile.

use super::deadline::Deadline;
use super::{Error, Result};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// How one futex wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken by FUTEX_WAKE (or spuriously): re-check the word.
    Woken,
    /// The word did not hold the expected value.
    NotEqual,
    TimedOut,
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
    let hidden_owner = ret == -1
        && match Error::last("kill").errno() {
            libc::ESRCH => return false,
            libc::EPERM => true,
            _ => false,
        };
    if !thorough {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{tid}/stat")) {
        // The state follows the parenthesised command, which may itself hold
        // parentheses: split at the last ')'.
        Ok(stat) => {
            !matches!(stat.rfind(')').and_then(|at| stat[at + 1..].trim_start().chars().next()), Some('Z' | 'X' | 'x'))
        }
        // No entry is proof of death only where we could have seen one: kill
        // found the thread, so it is alive unless it died since. With /proc
        // mounted hidepid=1/2 another user's threads have no entry for us
        // (kill said EPERM), and without /proc nobody has one.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            hidden_owner || !std::path::Path::new("/proc/self/stat").exists() || {
                // SAFETY: as above. Dead only if it is gone now.
                let ret = unsafe { libc::kill(tid, 0) };
                !(ret == -1 && Error::last("kill").errno() == libc::ESRCH)
            }
        }
        Err(_) => true,
    }
}

fn futex(
    addr: usize,
    op: libc::c_int,
    val: u32,
    timeout: *const libc::timespec,
    addr2: usize,
    val3: u32,
) -> libc::c_long {
    // SAFETY: the kernel validates `addr` and `addr2` (EFAULT if unmapped)
    // and reads `timeout` only when the op uses one; callers pass null or a
    // live one.
    unsafe { libc::syscall(libc::SYS_futex, addr, op, val, timeout, addr2, val3) }
}

fn cvt(ret: libc::c_long) -> Result<u32> {
    if ret < 0 {
        Err(Error::last("futex"))
    } else {
        Ok(ret as u32)
    }
}

/// Wakes up to `count` waiters on the shared futex at `addr`; how many woke.
/// A count of 0 wakes nobody (the kernel would read it as 1).
pub fn wake(addr: usize, count: u32) -> Result<u32> {
    if count == 0 {
        return Ok(0);
    }
    cvt(futex(addr, libc::FUTEX_WAKE, count.min(i32::MAX as u32), std::ptr::null(), 0, 0))
}

/// Wakes up to `count` waiters of a word private to this process.
pub fn wake_private(word: &AtomicU32, count: u32) {
    let addr = word as *const AtomicU32 as usize;
    // Waking a live word of our own cannot fail in a way worth reporting.
    let _ =
        futex(addr, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, count.min(i32::MAX as u32), std::ptr::null(), 0, 0);
}

/// Whether the word at `addr` holds `expected`, read by the kernel: safe on
/// any address (EFAULT, never a fault in this process).
pub fn compare(addr: usize, expected: u32) -> Result<bool> {
    // FUTEX_CMP_REQUEUE moving nobody compares the word and does nothing
    // else; the second word only has to be a valid address.
    static NOWHERE: AtomicU32 = AtomicU32::new(0);
    let nowhere = &NOWHERE as *const AtomicU32 as usize;
    match cvt(futex(addr, libc::FUTEX_CMP_REQUEUE, 0, std::ptr::null(), nowhere, expected)) {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == libc::EAGAIN => Ok(false),
        Err(e) => Err(e),
    }
}

const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// Sleeps while the shared word at `addr` holds `expected`, until woken or
/// until `deadline` (absolute, CLOCK_MONOTONIC); signals (EINTR) do not end
/// the wait.
pub fn wait(addr: usize, expected: u32, deadline: Option<Deadline>) -> Result<WaitOutcome> {
    if addr % 4 != 0 {
        return Err(Error::new(libc::EINVAL, "futex"));
    }
    let ts = deadline.map(Deadline::timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    loop {
        match cvt(futex(addr, libc::FUTEX_WAIT_BITSET, expected, ts_ptr, 0, FUTEX_BITSET_MATCH_ANY)) {
            Ok(_) => return Ok(WaitOutcome::Woken),
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) if e.errno() == libc::EAGAIN => return Ok(WaitOutcome::NotEqual),
            Err(e) if e.errno() == libc::ETIMEDOUT => return Ok(WaitOutcome::TimedOut),
            Err(e) => return Err(e),
        }
    }
}

/// One word of a futex_waitv call, in the kernel's layout.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX2_PRIVATE: u32 = 128;
/// The kernel's limit on words per futex_waitv call.
pub const WAITV_MAX: usize = 128;

impl FutexWaitv {
    /// A shared word, as every shmkit primitive uses.
    pub fn shared(addr: usize, expected: u32) -> FutexWaitv {
        FutexWaitv { val: u64::from(expected), uaddr: addr as u64, flags: FUTEX2_SIZE_U32, reserved: 0 }
    }

    /// A word private to this process (a control word).
    pub fn private(word: &AtomicU32, expected: u32) -> FutexWaitv {
        FutexWaitv {
            val: u64::from(expected),
            uaddr: word as *const AtomicU32 as u64,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            reserved: 0,
        }
    }
}

/// futex_waitv (Linux 5.16): sleeps until one of `words` is woken while
/// every word still held its value, or `deadline` passes. Returns the index
/// of a woken word (the highest, when several were). EAGAIN: some word
/// differed; ETIMEDOUT; EINTR is retried.
pub fn waitv(words: &[FutexWaitv], deadline: Option<Deadline>) -> Result<usize> {
    let ts = deadline.map(Deadline::timespec);
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    loop {
        // SAFETY: `words` and `ts` outlive the call; the kernel validates
        // the user addresses inside them.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                words.as_ptr(),
                words.len() as u32,
                0u32,
                ts_ptr,
                libc::CLOCK_MONOTONIC,
            )
        };
        if ret >= 0 {
            return Ok(ret as usize);
        }
        let err = Error::last("futex_waitv");
        if err.errno() != libc::EINTR {
            return Err(err);
        }
    }
}

/// Whether the kernel has futex_waitv: an empty call says EINVAL where the
/// syscall exists and ENOSYS where it does not (or seccomp forbids it).
pub fn waitv_supported() -> bool {
    // 0 = not probed, 1 = yes, 2 = no.
    static PROBED: AtomicU8 = AtomicU8::new(0);
    match PROBED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // SAFETY: no words and no timeout: the kernel reads nothing.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_futex_waitv,
                    std::ptr::null::<FutexWaitv>(),
                    0u32,
                    0u32,
                    std::ptr::null::<libc::timespec>(),
                    0,
                )
            };
            let yes = ret == -1 && Error::last("futex_waitv").errno() == libc::EINVAL;
            PROBED.store(if yes { 1 } else { 2 }, Ordering::Relaxed);
            yes
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
        assert_eq!(wait(addr_of(&word), 4, None).unwrap(), WaitOutcome::NotEqual);
        let start = Instant::now();
        assert_eq!(wait(addr_of(&word), 5, Deadline::after_ms(30.0)).unwrap(), WaitOutcome::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(29));
    }

    fn wake_until_one(addr: usize) -> u32 {
        for _ in 0..500 {
            let woken = wake(addr, 1).unwrap();
            if woken == 1 {
                return woken;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        0
    }

    #[test]
    fn wake_wakes_a_waiter_and_zero_wakes_nobody() {
        let word = Arc::new(AtomicU32::new(0));
        let w = word.clone();
        let t = std::thread::spawn(move || wait(addr_of(&w), 0, Deadline::after_ms(5000.0)).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(wake(addr_of(&word), 0).unwrap(), 0);
        assert_eq!(wake_until_one(addr_of(&word)), 1);
        assert_eq!(t.join().unwrap(), WaitOutcome::Woken);
        assert_eq!(wake(addr_of(&word), 1).unwrap(), 0);
    }

    #[test]
    fn compare_reads_through_the_kernel() {
        let word = AtomicU32::new(9);
        assert!(compare(addr_of(&word), 9).unwrap());
        assert!(!compare(addr_of(&word), 8).unwrap());
        assert_eq!(compare(4096, 0).unwrap_err().errno(), libc::EFAULT);
    }

    #[test]
    fn waitv_reports_the_woken_word() {
        assert!(waitv_supported(), "futex_waitv (Linux 5.16) is available here");
        let words = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
        let w = Arc::clone(&words);
        let t = std::thread::spawn(move || {
            let list = [FutexWaitv::private(&w[0], 0), FutexWaitv::shared(addr_of(&w[1]), 0)];
            waitv(&list, Deadline::after_ms(5000.0)).unwrap()
        });
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(wake_until_one(addr_of(&words[1])), 1);
        assert_eq!(t.join().unwrap(), 1);
        words[0].store(1, Ordering::SeqCst);
        let list = [FutexWaitv::private(&words[0], 0)];
        assert_eq!(waitv(&list, None).unwrap_err().errno(), libc::EAGAIN);
        let list = [FutexWaitv::private(&words[0], 1)];
        assert_eq!(waitv(&list, Deadline::after_ms(5.0)).unwrap_err().errno(), libc::ETIMEDOUT);
    }

    #[test]
    fn liveness_of_threads() {
        assert!(thread_alive(gettid(), true));
        // A tid that cannot exist: above PID_MAX_LIMIT (2^22).
        assert!(!thread_alive(0x3fff_fff0, true));
        assert!(!thread_alive(0, true));
    }

    #[test]
    fn unaligned_and_unmapped_addresses_are_errors() {
        assert_eq!(wait(3, 0, None).unwrap_err().errno(), libc::EINVAL);
        assert_eq!(wait(4096, 0, Deadline::after_ms(1.0)).unwrap_err().errno(), libc::EFAULT);
    }
}
