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

/// glibc's `pthread_mutex_t`, made robust and process-shared, in memory the
/// caller provides: for interop with C programs that use pthread mutexes.
///
/// Every function is `unsafe` for the same reason: `mutex` must point to
/// [`pthread::SIZE`] writable bytes aligned to [`pthread::ALIGN`] that stay
/// mapped for the duration of the call. pthread functions return the error
/// number instead of setting errno.
pub mod pthread {
    use super::{Deadline, Error, Result};
    use libc::{c_int, clockid_t, pthread_mutex_t, pthread_mutexattr_t, timespec};

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
            let result = check(libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared")
                .and_then(|()| check(pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust"))
                .and_then(|()| check(libc::pthread_mutexattr_settype(attr, libc::PTHREAD_MUTEX_ERRORCHECK), "pthread_mutexattr_settype"))
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
                let _ = word.compare_exchange(super::gettid() as u32, 0, std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst);
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

    /// The robust mutexes this thread holds through this module, and the
    /// links glibc keeps between them. glibc (64-bit) chains every robust
    /// mutex a thread holds into a doubly linked list through
    /// `__list.{__prev,__next}` inside the mutex, headed by the thread's
    /// `robust_head`; each link holds the address of the neighbour's
    /// `__next` field (or of `robust_head`). Unlocking writes through both
    /// links of the mutex without checking them, so links rewritten by
    /// anyone (JS writing into a SharedArrayBuffer, another process) would
    /// make it write to arbitrary addresses.
    mod robust_list {
        use super::super::{Error, Result};
        use std::cell::{Cell, RefCell};
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// Offset of `__list.__next` in glibc's 64-bit pthread_mutex_t; its
        /// `__prev` is the word before.
        #[cfg(target_pointer_width = "64")]
        const NEXT_OFFSET: usize = 32;

        thread_local! {
            /// (held mutex address, lock count): a thread holds few mutexes,
            /// so a scanned Vec beats hashing.
            static HELD: RefCell<Vec<(usize, u32)>> = const { RefCell::new(Vec::new()) };
            static HEAD: Cell<usize> = const { Cell::new(0) };
        }

        pub fn acquired(mutex: usize) {
            HELD.with(|h| {
                let mut held = h.borrow_mut();
                match held.iter_mut().find(|(m, _)| *m == mutex) {
                    Some((_, count)) => *count += 1,
                    None => held.push((mutex, 1)),
                }
            });
        }

        pub fn holds(mutex: usize) -> bool {
            HELD.with(|h| h.borrow().iter().any(|(m, _)| *m == mutex))
        }

        pub fn released(mutex: usize) {
            HELD.with(|h| {
                let mut held = h.borrow_mut();
                if let Some(at) = held.iter().position(|(m, _)| *m == mutex) {
                    held[at].1 -= 1;
                    if held[at].1 == 0 {
                        held.swap_remove(at);
                    }
                }
            });
        }

        /// The address of this thread's `robust_head` (glibc registered it
        /// with set_robust_list when the thread started).
        fn head() -> usize {
            HEAD.with(|cached| {
                if cached.get() == 0 {
                    let mut head: usize = 0;
                    let mut len: usize = 0;
                    // SAFETY: pid 0 is the calling thread; both out-pointers are live.
                    let ret = unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &mut head as *mut usize, &mut len as *mut usize) };
                    if ret == 0 {
                        cached.set(head);
                    }
                }
                cached.get()
            })
        }

        fn word(address: usize) -> &'static AtomicUsize {
            // SAFETY: only called on the link words of held mutexes (mapped,
            // per unlock's contract) or on this thread's robust_head and the
            // word before it (glibc's robust_prev, in the live thread
            // descriptor); all are 8-byte aligned.
            unsafe { &*(address as *const AtomicUsize) }
        }

        /// Whether `link` may be the target of one of `mutex`'s links: this
        /// thread's robust_head or another held mutex's `__next` field.
        #[cfg(target_pointer_width = "64")]
        fn known(link: usize, mutex: usize, head: usize) -> bool {
            link == head || (link != mutex + NEXT_OFFSET && link >= NEXT_OFFSET && holds(link - NEXT_OFFSET))
        }

        /// The `__next` fields `mutex` may link to: the other held mutexes'
        /// and the robust head.
        #[cfg(target_pointer_width = "64")]
        fn candidates(mutex: usize, head: usize) -> Vec<usize> {
            let mut all: Vec<usize> = HELD.with(|h| h.borrow().iter().filter(|(m, _)| *m != mutex).map(|(m, _)| m + NEXT_OFFSET).collect());
            all.push(head);
            all
        }

        /// Checks `mutex`'s links before glibc unlinks it; rewrites a link
        /// that points elsewhere from the neighbour that points back to
        /// the mutex, and refuses (EINVAL) when there is none.
        ///
        /// A link is sound when it points at the robust head or at another
        /// held mutex, and that one points back: then glibc's writes land
        /// there, and nothing is left pointing at this mutex afterwards (its
        /// memory may be unmapped once unlocked).
        ///
        /// # Safety
        /// `mutex` and every held mutex are mapped (see `unlock`).
        #[cfg(target_pointer_width = "64")]
        pub unsafe fn check_links(mutex: usize) -> Result<()> {
            let head = head();
            if head == 0 {
                return Ok(());
            }
            let me = mutex + NEXT_OFFSET;
            let next = word(me);
            let prev = word(me - 8);
            let n = next.load(Ordering::Relaxed) & !1;
            if !(known(n, mutex, head) && word(n - 8).load(Ordering::Relaxed) & !1 == me) {
                // The successor is the one whose __prev points at us.
                match candidates(mutex, head).into_iter().find(|&c| word(c - 8).load(Ordering::Relaxed) & !1 == me) {
                    Some(c) => next.store(c, Ordering::Relaxed),
                    None => return Err(Error::new(libc::EINVAL, "pthread_mutex_unlock")),
                }
            }
            let p = prev.load(Ordering::Relaxed) & !1;
            if !(known(p, mutex, head) && word(p).load(Ordering::Relaxed) & !1 == me) {
                // The predecessor is the one whose __next points at us.
                match candidates(mutex, head).into_iter().find(|&c| word(c).load(Ordering::Relaxed) & !1 == me) {
                    Some(c) => prev.store(c, Ordering::Relaxed),
                    None => return Err(Error::new(libc::EINVAL, "pthread_mutex_unlock")),
                }
            }
            Ok(())
        }

        #[cfg(not(target_pointer_width = "64"))]
        pub unsafe fn check_links(_mutex: usize) -> Result<()> {
            Ok(())
        }
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

    #[test]
    fn pthread_kinds_glibc_could_abort_on_are_refused() {
        let mut storage = Box::new(std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed());
        let m = storage.as_mut_ptr();
        let kind = |m: *mut libc::pthread_mutex_t| m.cast::<u8>().wrapping_add(pthread::KIND_OFFSET).cast::<i32>();
        // SAFETY: m points to a live, aligned pthread_mutex_t for the test.
        unsafe {
            pthread::init(m).unwrap();
            assert_eq!(kind(m).read(), 0x92, "init writes robust | pshared | errorcheck");
            pthread::check_kind(m).unwrap();
            // The review's reproducer: PI set, lock word holding a dead tid.
            m.cast::<i32>().write(0x7fff_fff0);
            kind(m).write(0x10 | 0x20 | 0x80);
            assert_eq!(pthread::lock(m, Some(Deadline::after_ms(100.0))).unwrap_err().syscall(), pthread::NOT_A_MUTEX);
            assert_eq!(pthread::try_lock(m).unwrap_err().syscall(), pthread::NOT_A_MUTEX);
            assert_eq!(pthread::unlock(m).unwrap_err().syscall(), pthread::NOT_A_MUTEX);
            assert_eq!(pthread::consistent(m).unwrap_err().errno(), libc::EINVAL);
        }
        for ok in [0x90, 0x91, 0x92, 0x93, 0x290] {
            assert!(pthread::kind_supported(ok), "{ok:#x}");
        }
        for bad in [0, 0x10, 0x80, 0x12, 0xb2, 0xd2, 0x192, 0x10092, -1] {
            assert!(!pthread::kind_supported(bad), "{bad:#x}");
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
                pthread::init(m).unwrap();
            }
            // Not held, lock word forged to our tid: glibc would unlink it
            // through null links.
            c.cast::<i32>().write(gettid());
            assert_eq!(pthread::unlock(c).unwrap_err().errno(), libc::EPERM);
            c.cast::<i32>().write(0);
            // One corrupted mutex between two good ones is repaired from them.
            pthread::lock(a, None).unwrap();
            pthread::lock(b, None).unwrap();
            pthread::lock(c, None).unwrap();
            assert_eq!(pthread::init(b).unwrap_err().errno(), libc::EBUSY);
            links(b).write(0x1000);
            links(b).add(1).write(0x1000);
            pthread::unlock(b).unwrap();
            // Links to held mutexes that do not point back are repaired too.
            pthread::lock(b, None).unwrap();
            let (next, prev) = (links(b).add(1).read(), links(b).read());
            links(b).write(next);
            links(b).add(1).write(prev);
            pthread::unlock(b).unwrap();
            // Both neighbours corrupted too: refused, nothing written.
            let saved = [links(a).read(), links(a).add(1).read(), links(c).read(), links(c).add(1).read()];
            for (m, junk) in [(a, 0x1000), (c, 0x2000)] {
                links(m).write(junk);
                links(m).add(1).write(junk);
            }
            assert_eq!(pthread::unlock(a).unwrap_err().errno(), libc::EINVAL);
            assert_eq!(pthread::unlock(c).unwrap_err().errno(), libc::EINVAL);
            assert_eq!(a.cast::<i32>().read() & 0x3fff_ffff, gettid());
            // Put the links back so the thread's list is sound again.
            links(a).write(saved[0]);
            links(a).add(1).write(saved[1]);
            links(c).write(saved[2]);
            links(c).add(1).write(saved[3]);
            pthread::unlock(a).unwrap();
            pthread::unlock(c).unwrap();
            assert_eq!(pthread::unlock(c).unwrap_err().errno(), libc::EPERM);
        }
    }

    #[test]
    fn pthread_robust_mutex_reports_a_dead_owner() {
        use pthread::Acquired;
        let mut storage = Box::new(std::mem::MaybeUninit::<libc::pthread_mutex_t>::zeroed());
        let m = storage.as_mut_ptr();
        // SAFETY: m points to a live, aligned pthread_mutex_t for the test.
        unsafe {
            pthread::init(m).unwrap();
            assert_eq!(pthread::lock(m, None).unwrap(), Acquired::Locked);
            assert_eq!(pthread::try_lock(m).unwrap(), None);
            assert_eq!(pthread::lock(m, None).unwrap_err().errno(), libc::EDEADLK);
            pthread::unlock(m).unwrap();
            assert_eq!(pthread::unlock(m).unwrap_err().errno(), libc::EPERM);
        }
        let addr = m as usize;
        // A thread that exits holding a robust mutex: the next locker is told.
        // SAFETY: the mutex outlives the thread, which is joined at once.
        std::thread::spawn(move || unsafe { pthread::lock(addr as *mut libc::pthread_mutex_t, None).unwrap() }).join().unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!(pthread::lock(m, Some(Deadline::after_ms(1000.0))).unwrap(), Acquired::OwnerDied);
            pthread::consistent(m).unwrap();
            pthread::unlock(m).unwrap();
            assert_eq!(pthread::try_lock(m).unwrap(), Some(Acquired::Locked));
            pthread::unlock(m).unwrap();
        }
        // Unlocked without consistent(): every later attempt fails, and a
        // failed trylock does not leave the mutex looking held.
        // SAFETY: the mutex outlives the thread, which is joined at once.
        std::thread::spawn(move || unsafe { pthread::lock(addr as *mut libc::pthread_mutex_t, None).unwrap() }).join().unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!(pthread::lock(m, None).unwrap(), Acquired::OwnerDied);
            pthread::unlock(m).unwrap();
            assert_eq!(pthread::try_lock(m).unwrap_err().errno(), libc::ENOTRECOVERABLE);
            assert_eq!(pthread::try_lock(m).unwrap_err().errno(), libc::ENOTRECOVERABLE);
            assert_eq!(pthread::lock(m, None).unwrap_err().errno(), libc::ENOTRECOVERABLE);
        }
    }
}
