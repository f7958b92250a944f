//! POSIX semaphores: glibc's `sem_t`, in shared memory or named through
//! `sem_open`. System V sets are in [`super::sysv_sem`].
//!
//! Everything here is plain Rust over libc so it is unit tested with
//! `cargo test`. Waits come in three shapes: a try that never sleeps, a
//! blocking wait with an optional deadline, and a *sliced* wait that sleeps
//! in short bounded steps and asks a caller-provided predicate between steps
//! whether to give up. The sliced form is what makes async waits cancellable
//! without signals: a thread sleeping in `sem_wait` or `semop` can only be
//! interrupted by a signal, and shmkit installs no signal handlers.

use super::{cvt, Error, Result};
use std::ffi::CStr;
use std::ptr::NonNull;
use std::time::Duration;

type SemClockwait = unsafe extern "C" fn(*mut libc::sem_t, libc::clockid_t, *const libc::timespec) -> libc::c_int;

/// glibc >= 2.30's sem_clockwait, looked up at run time so the addon still
/// loads on older glibc (which then gets sem_timedwait on CLOCK_REALTIME).
fn sem_clockwait_fn() -> Option<SemClockwait> {
    use std::sync::OnceLock;
    static FOUND: OnceLock<usize> = OnceLock::new();
    let address = *FOUND.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
        unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"sem_clockwait".as_ptr()) as usize }
    });
    // SAFETY: a non-null address for this symbol is glibc's sem_clockwait,
    // whose C signature SemClockwait spells out.
    (address != 0).then(|| unsafe { std::mem::transmute::<usize, SemClockwait>(address) })
}

/// Waits on `sem` until the monotonic `deadline`.
fn sem_wait_until(sem: *mut libc::sem_t, deadline: &Deadline) -> libc::c_int {
    match sem_clockwait_fn() {
        // SAFETY: the caller passes a live sem_t; the deadline is a valid timespec.
        Some(clockwait) => unsafe { clockwait(sem, libc::CLOCK_MONOTONIC, deadline.as_timespec()) },
        None => sem_timedwait_monotonic(sem, deadline),
    }
}

/// The pre-2.30 fallback: the monotonic deadline turned into a wall-clock one.
fn sem_timedwait_monotonic(sem: *mut libc::sem_t, deadline: &Deadline) -> libc::c_int {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let wall = from_nanos(nanos(&now) + deadline.remaining().as_nanos() as i128);
    // SAFETY: the caller passes a live sem_t; `wall` is a valid timespec.
    unsafe { libc::sem_timedwait(sem, &wall) }
}

/// Bytes of a `sem_t` (32 on 64-bit glibc).
pub const SEM_T_SIZE: usize = std::mem::size_of::<libc::sem_t>();
/// Required alignment of a `sem_t` (8 on 64-bit glibc).
pub const SEM_T_ALIGN: usize = std::mem::align_of::<libc::sem_t>();
/// glibc's SEM_VALUE_MAX: the largest value a `sem_t` holds.
pub const SEM_VALUE_MAX: u32 = i32::MAX as u32;

/// The `syscall` of the error every [`RawSem`] call returns, before calling
/// glibc, when the bytes are not a process-shared `sem_t` (see
/// [`RawSem::check`]). Its errno is EINVAL.
pub const NOT_A_SEM: &str = "sem_t check";

/// glibc (>= 2.21, 64-bit) lays a `sem_t` out as `struct new_sem { uint64_t
/// data; int private; int pad; }`. `private` is OR-ed (xor FUTEX_PRIVATE_FLAG)
/// into every futex op glibc issues on the semaphore; any value but the two
/// sem_init writes makes the kernel reject the op (ENOSYS), and glibc then
/// aborts the process ("The futex facility returned an unexpected error
/// code"). sem_init(pshared = 1) writes FUTEX_SHARED, which is 128.
#[cfg(target_pointer_width = "64")]
const PRIVATE_OFFSET: usize = 8;
#[cfg(not(target_pointer_width = "64"))]
const PRIVATE_OFFSET: usize = 4;
const PSHARED_PRIVATE: u32 = 128;

/// How long one step of a sliced wait sleeps at most before the caller's
/// predicate is asked again.
pub const WAIT_SLICE: Duration = Duration::from_millis(50);

/// An absolute point on CLOCK_MONOTONIC, so wall-clock jumps never stretch
/// or cut a timeout.
#[derive(Clone, Copy)]
pub struct Deadline(libc::timespec);

fn monotonic_now() -> libc::timespec {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now
}

fn nanos(ts: &libc::timespec) -> i128 {
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

fn from_nanos(n: i128) -> libc::timespec {
    // Far-future deadlines saturate instead of wrapping.
    let n = n.clamp(0, i64::MAX as i128 * 1_000_000_000);
    libc::timespec { tv_sec: (n / 1_000_000_000) as libc::time_t, tv_nsec: (n % 1_000_000_000) as libc::c_long }
}

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline(from_nanos(nanos(&monotonic_now()) + timeout.as_nanos() as i128))
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        let left = nanos(&self.0) - nanos(&monotonic_now());
        if left <= 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(left as u64)
        }
    }

    pub fn passed(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The sooner of `self` and `timeout` from now.
    pub fn within(deadline: Option<Deadline>, step: Duration) -> Deadline {
        let step = Deadline::after(step);
        match deadline {
            Some(d) if nanos(&d.0) < nanos(&step.0) => d,
            _ => step,
        }
    }

    fn as_timespec(&self) -> &libc::timespec {
        &self.0
    }
}

/// How a sliced wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The unit (or the operations) went through.
    Acquired,
    /// The deadline passed first.
    TimedOut,
    /// The caller's predicate asked to stop.
    Stopped,
}

/// A `sem_t` that lives somewhere else: in shared memory (`sem_init` with
/// pshared = 1) or in glibc's mapping of a named semaphore.
///
/// It does not own the memory; whoever builds one promises the memory stays
/// mapped for as long as it is used.
#[derive(Debug)]
pub struct RawSem(NonNull<libc::sem_t>);

// SAFETY: a process-shared sem_t is designed to be used from any thread (and
// process) at once; all its operations are atomic in glibc.
unsafe impl Send for RawSem {}
// SAFETY: as above; every method takes &self and glibc synchronizes.
unsafe impl Sync for RawSem {}

impl RawSem {
    /// Wraps an existing semaphore without touching it.
    ///
    /// # Safety
    /// `ptr` must point to `SEM_T_SIZE` bytes, aligned to `SEM_T_ALIGN`, that
    /// stay mapped and writable while the returned value is used. Using it on
    /// bytes that are not an initialized sem_t is memory-safe (the calls only
    /// do atomics and futex calls on that memory) but gives meaningless results.
    pub unsafe fn from_ptr(ptr: NonNull<libc::sem_t>) -> Self {
        RawSem(ptr)
    }

    /// `sem_init(ptr, 1, value)`: a new process-shared semaphore.
    ///
    /// # Safety
    /// As for [`RawSem::from_ptr`]; and no thread or process may be using a
    /// semaphore at these bytes (re-initializing one in use is undefined).
    pub unsafe fn init(ptr: NonNull<libc::sem_t>, value: u32) -> Result<Self> {
        // SAFETY: the caller guarantees the memory; pshared = 1.
        cvt(unsafe { libc::sem_init(ptr.as_ptr(), 1, value) }, "sem_init")?;
        Ok(RawSem(ptr))
    }

    fn ptr(&self) -> *mut libc::sem_t {
        self.0.as_ptr()
    }

    /// Checks the one word glibc trusts blindly: `private` must be what
    /// sem_init(pshared = 1) writes, or glibc would abort the process on the
    /// next futex call. Every method below checks it first. Another process
    /// may still rewrite it between this check and the call (a race no
    /// library can close); within this process nothing runs in between.
    pub fn check(&self) -> Result<()> {
        // SAFETY: the constructor's contract keeps SEM_T_SIZE aligned bytes
        // mapped; `private` is a 4-byte aligned int inside them, read
        // atomically because other processes write the semaphore.
        let private = unsafe { &*self.ptr().cast::<u8>().add(PRIVATE_OFFSET).cast::<std::sync::atomic::AtomicU32>() };
        if private.load(std::sync::atomic::Ordering::Relaxed) == PSHARED_PRIVATE {
            Ok(())
        } else {
            Err(Error::new(libc::EINVAL, NOT_A_SEM))
        }
    }

    /// Adds one unit, waking a waiter if there is one. EOVERFLOW at SEM_VALUE_MAX.
    pub fn post(&self) -> Result<()> {
        self.check()?;
        // SAFETY: the constructor's contract keeps the sem_t mapped.
        cvt(unsafe { libc::sem_post(self.ptr()) }, "sem_post").map(drop)
    }

    /// Takes a unit if one is there; false instead of waiting.
    pub fn try_wait(&self) -> Result<bool> {
        loop {
            self.check()?;
            // SAFETY: the constructor's contract keeps the sem_t mapped.
            match cvt(unsafe { libc::sem_trywait(self.ptr()) }, "sem_trywait") {
                Ok(_) => return Ok(true),
                Err(e) if e.errno() == libc::EAGAIN => return Ok(false),
                Err(e) if e.errno() == libc::EINTR => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Tries up to `spins` more times, pausing the CPU between tries, so a
    /// unit posted within that window is taken without a trip to the kernel.
    pub fn spin(&self, spins: u32) -> Result<bool> {
        for _ in 0..spins {
            if self.value()? > 0 && self.try_wait()? {
                return Ok(true);
            }
            std::hint::spin_loop();
        }
        Ok(false)
    }

    /// Waits for a unit until `deadline` (forever without one). False when
    /// the deadline passed first. Signals (EINTR) do not end the wait.
    pub fn wait(&self, deadline: Option<Deadline>) -> Result<bool> {
        loop {
            self.check()?;
            let ret = match deadline {
                // SAFETY: the constructor's contract keeps the sem_t mapped.
                None => unsafe { libc::sem_wait(self.ptr()) },
                Some(d) => sem_wait_until(self.ptr(), &d),
            };
            let syscall = if deadline.is_some() { "sem_clockwait" } else { "sem_wait" };
            match cvt(ret, syscall) {
                Ok(_) => return Ok(true),
                Err(e) if e.errno() == libc::ETIMEDOUT => return Ok(false),
                Err(e) if e.errno() == libc::EINTR => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits like [`RawSem::wait`], sleeping at most `slice` at a time and
    /// asking `stop` between sleeps. The check for `stop` happens before each
    /// sleep, so a unit taken is always reported as `Acquired`.
    pub fn wait_sliced(&self, deadline: Option<Deadline>, slice: Duration, stop: &dyn Fn() -> bool) -> Result<Outcome> {
        loop {
            if stop() {
                return Ok(Outcome::Stopped);
            }
            let step = Deadline::within(deadline, slice);
            if self.wait(Some(step))? {
                return Ok(Outcome::Acquired);
            }
            if deadline.map_or(false, |d| d.passed()) {
                return Ok(Outcome::TimedOut);
            }
        }
    }

    /// The current value (never negative with glibc: waiters are not counted).
    pub fn value(&self) -> Result<i32> {
        self.check()?;
        let mut value = 0;
        // SAFETY: the constructor's contract keeps the sem_t mapped; `value`
        // is a valid out-pointer.
        cvt(unsafe { libc::sem_getvalue(self.ptr(), &mut value) }, "sem_getvalue")?;
        Ok(value)
    }

    /// `sem_destroy`. Nobody may wait on it afterwards.
    pub fn destroy(&self) -> Result<()> {
        self.check()?;
        // SAFETY: the constructor's contract keeps the sem_t mapped.
        cvt(unsafe { libc::sem_destroy(self.ptr()) }, "sem_destroy").map(drop)
    }
}

/// How [`NamedSem::open`] creates a semaphore that does not exist yet.
#[derive(Debug, Clone, Copy)]
pub struct Create {
    /// O_EXCL: fail with EEXIST if the name is taken.
    pub exclusive: bool,
    pub mode: libc::mode_t,
    pub value: u32,
}

/// A named semaphore opened with `sem_open`; `sem_close` on drop.
#[derive(Debug)]
pub struct NamedSem {
    sem: RawSem,
}

impl NamedSem {
    /// Opens `name` ("/name"), creating it when `create` says how.
    pub fn open(name: &CStr, create: Option<Create>) -> Result<Self> {
        let sem = match create {
            None => {
                // SAFETY: name is NUL-terminated; without O_CREAT no more
                // arguments are read.
                unsafe { libc::sem_open(name.as_ptr(), 0) }
            }
            Some(c) => {
                let flags = libc::O_CREAT | if c.exclusive { libc::O_EXCL } else { 0 };
                // SAFETY: with O_CREAT sem_open reads a mode_t (promoted to
                // unsigned int) and an unsigned int, which is what we pass.
                unsafe { libc::sem_open(name.as_ptr(), flags, c.mode as libc::c_uint, c.value as libc::c_uint) }
            }
        };
        if sem == libc::SEM_FAILED || sem.is_null() {
            return Err(Error::last("sem_open"));
        }
        // SAFETY: sem_open returned a live, suitably aligned sem_t that stays
        // mapped until sem_close, which only our Drop calls.
        let sem = unsafe { RawSem::from_ptr(NonNull::new_unchecked(sem)) };
        Ok(NamedSem { sem })
    }

    pub fn sem(&self) -> &RawSem {
        &self.sem
    }
}

impl Drop for NamedSem {
    fn drop(&mut self) {
        // SAFETY: the pointer came from sem_open and is closed exactly once.
        unsafe { libc::sem_close(self.sem.ptr()) };
    }
}

/// `sem_unlink`: removes the name; processes that have it open keep using it.
pub fn unlink(name: &CStr) -> Result<()> {
    // SAFETY: name is NUL-terminated.
    cvt(unsafe { libc::sem_unlink(name.as_ptr()) }, "sem_unlink").map(drop)
}


#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    /// A sem_t in an anonymous shared mapping.
    struct Sem {
        _memory: crate::os::mman::MmapRaw,
        sem: RawSem,
    }

    fn sem(value: u32) -> Sem {
        let memory = crate::os::mman::MmapRaw::anonymous(4096, true).unwrap();
        let ptr = NonNull::new(memory.as_ptr().cast::<libc::sem_t>()).unwrap();
        // SAFETY: a fresh page-aligned mapping that outlives `sem`.
        let sem = unsafe { RawSem::init(ptr, value) }.unwrap();
        Sem { _memory: memory, sem }
    }

    #[test]
    fn layout_is_glibc_s() {
        #[cfg(target_pointer_width = "64")]
        assert_eq!((SEM_T_SIZE, SEM_T_ALIGN), (32, 8));
    }

    #[test]
    fn post_try_wait_value() {
        let s = sem(1);
        assert_eq!(s.sem.value().unwrap(), 1);
        assert!(s.sem.try_wait().unwrap());
        assert!(!s.sem.try_wait().unwrap());
        s.sem.post().unwrap();
        assert!(s.sem.spin(10).unwrap());
        assert!(!s.sem.spin(10).unwrap());
        s.sem.destroy().unwrap();
    }

    #[test]
    fn bytes_that_are_no_pshared_sem_are_refused_before_glibc() {
        let s = sem(0);
        let words = s._memory.as_ptr().cast::<u32>();
        // The review's reproducer: nwaiters 1, `private` garbage. glibc
        // would abort in sem_post's FUTEX_WAKE.
        // SAFETY: the first 16 bytes of a live mapping, not used elsewhere.
        unsafe {
            words.add(1).write_volatile(1);
            words.add(2).write_volatile(0x7fff_ffff);
        }
        for err in [s.sem.post(), s.sem.wait(None).map(drop), s.sem.try_wait().map(drop), s.sem.value().map(drop), s.sem.destroy()] {
            let err = err.unwrap_err();
            assert_eq!((err.errno(), err.syscall()), (libc::EINVAL, NOT_A_SEM));
        }
        // A sem_init(pshared = 0) semaphore is refused as well.
        // SAFETY: as above.
        unsafe { words.add(2).write_volatile(0) };
        assert_eq!(s.sem.post().unwrap_err().syscall(), NOT_A_SEM);
        // SAFETY: as above.
        unsafe { words.add(2).write_volatile(PSHARED_PRIVATE) };
        s.sem.post().unwrap();
    }

    #[test]
    fn timed_wait_times_out() {
        let s = sem(0);
        let start = Instant::now();
        assert!(!s.sem.wait(Some(Deadline::after(Duration::from_millis(30)))).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(30));
        s.sem.post().unwrap();
        assert!(s.sem.wait(Some(Deadline::after(Duration::from_millis(30)))).unwrap());
    }

    #[test]
    fn both_timed_wait_paths_work() {
        assert!(sem_clockwait_fn().is_some(), "glibc >= 2.30 here");
        let s = sem(1);
        let soon = Deadline::after(Duration::from_millis(20));
        assert_eq!(sem_timedwait_monotonic(s.sem.ptr(), &soon), 0);
        let start = Instant::now();
        assert_eq!(sem_timedwait_monotonic(s.sem.ptr(), &Deadline::after(Duration::from_millis(20))), -1);
        assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::ETIMEDOUT));
        assert!(start.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn sliced_wait_stops_and_acquires() {
        let s = sem(0);
        let start = Instant::now();
        let stop = AtomicBool::new(false);
        let outcome = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                stop.store(true, Ordering::SeqCst);
            });
            s.sem.wait_sliced(None, Duration::from_millis(5), &|| stop.load(Ordering::SeqCst)).unwrap()
        });
        assert_eq!(outcome, Outcome::Stopped);
        assert!(start.elapsed() < Duration::from_secs(2));
        let deadline = Some(Deadline::after(Duration::from_millis(20)));
        assert_eq!(s.sem.wait_sliced(deadline, Duration::from_millis(5), &|| false).unwrap(), Outcome::TimedOut);
        s.sem.post().unwrap();
        assert_eq!(s.sem.wait_sliced(None, Duration::from_millis(5), &|| false).unwrap(), Outcome::Acquired);
    }

    #[test]
    fn named_semaphore_round_trip() {
        let name = CString::new(format!("/shmkit-rs-{}", std::process::id())).unwrap();
        let _ = unlink(&name);
        assert_eq!(NamedSem::open(&name, None).unwrap_err().code(), "ENOENT");
        let create = Create { exclusive: true, mode: 0o600, value: 2 };
        let a = NamedSem::open(&name, Some(create)).unwrap();
        assert_eq!(NamedSem::open(&name, Some(create)).unwrap_err().code(), "EEXIST");
        let b = NamedSem::open(&name, None).unwrap();
        assert!(b.sem().try_wait().unwrap());
        assert_eq!(a.sem().value().unwrap(), 1);
        unlink(&name).unwrap();
        assert_eq!(unlink(&name).unwrap_err().code(), "ENOENT");
    }
}
