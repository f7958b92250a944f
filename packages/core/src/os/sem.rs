//! POSIX semaphores: glibc's `sem_t`, in shared memory or named through
//! `sem_open`. System V sets are in [`super::sysv_sem`].
//!
//! glibc creates, opens and closes them; everything else (post, try, wait,
//! value) speaks glibc's protocol on the semaphore's words directly
//! (os/sem_words.rs), because glibc aborts the process when a peer has
//! written garbage into a semaphore, and because the wait engine sleeps on
//! the semaphore's value word like on any futex.

use super::{cvt, Error, Result};
use std::ffi::CStr;
use std::ptr::NonNull;

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

    /// The semaphore's address (for the protocol in os/sem_words.rs).
    pub(crate) fn as_ptr(&self) -> *mut libc::sem_t {
        self.0.as_ptr()
    }

    fn ptr(&self) -> *mut libc::sem_t {
        self.0.as_ptr()
    }

    /// Whether these bytes are a process-shared semaphore: `private` holds
    /// what sem_init(pshared = 1) writes. Checked when JS attaches to one
    /// and before `sem_destroy` (glibc trusts the word blindly); posting and
    /// waiting do not depend on it.
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
        self.give()
    }

    /// Takes a unit if one is there; false instead of waiting.
    pub fn try_wait(&self) -> bool {
        self.try_take()
    }

    /// Tries up to `spins` more times, pausing the CPU between tries, so a
    /// unit posted within that window is taken without a trip to the kernel.
    pub fn spin(&self, spins: u32) -> bool {
        for _ in 0..spins {
            if self.raw_value() > 0 && self.try_take() {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// The current value (waiters are not counted in it, as with glibc).
    pub fn value(&self) -> u32 {
        self.raw_value()
    }

    /// `sem_destroy`. Nobody may wait on it afterwards.
    pub fn destroy(&self) -> Result<()> {
        self.check()?;
        // SAFETY: the constructor's contract keeps the sem_t mapped.
        cvt(unsafe { libc::sem_destroy(self.ptr()) }, "sem_destroy").map(drop)
    }
}

// Named semaphores are opened and mapped by shmkit itself, not by
// sem_open: see super::named_sem.
pub use super::named_sem::{Create, NamedSem, OpenSemError};

/// `sem_unlink`: removes the name; processes that have it open keep using it.
pub fn unlink(name: &CStr) -> Result<()> {
    // SAFETY: name is NUL-terminated.
    cvt(unsafe { libc::sem_unlink(name.as_ptr()) }, "sem_unlink").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

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
        assert_eq!(s.sem.value(), 1);
        assert!(s.sem.try_wait());
        assert!(!s.sem.try_wait());
        s.sem.post().unwrap();
        assert!(s.sem.spin(10));
        assert!(!s.sem.spin(10));
        s.sem.destroy().unwrap();
    }

    #[test]
    fn garbage_in_private_is_refused_by_check_but_never_aborts() {
        let s = sem(0);
        let words = s._memory.as_ptr().cast::<u32>();
        // The review's reproducer: nwaiters 1, `private` garbage. glibc
        // would abort in sem_post's FUTEX_WAKE; our post does not use it.
        // SAFETY: the first 16 bytes of a live mapping, not used elsewhere.
        unsafe {
            words.add(1).write_volatile(1);
            words.add(2).write_volatile(0x7fff_ffff);
        }
        assert_eq!(
            (s.sem.check().unwrap_err().errno(), s.sem.check().unwrap_err().syscall()),
            (libc::EINVAL, NOT_A_SEM)
        );
        assert_eq!(s.sem.destroy().unwrap_err().syscall(), NOT_A_SEM);
        s.sem.post().unwrap();
        assert!(s.sem.try_wait());
        // A sem_init(pshared = 0) semaphore is refused as well.
        // SAFETY: as above.
        unsafe { words.add(2).write_volatile(0) };
        assert_eq!(s.sem.check().unwrap_err().syscall(), NOT_A_SEM);
        // SAFETY: as above.
        unsafe { words.add(2).write_volatile(PSHARED_PRIVATE) };
        s.sem.check().unwrap();
    }

    #[test]
    fn named_semaphore_round_trip() {
        let name = CString::new(format!("/shmkit-rs-{}", std::process::id())).unwrap();
        let _ = unlink(&name);
        assert!(matches!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::Sys(e) if e.code() == "ENOENT"));
        let create = Create { exclusive: true, mode: 0o600, value: 2 };
        let a = NamedSem::open(&name, Some(create)).unwrap();
        assert!(
            matches!(NamedSem::open(&name, Some(create)).unwrap_err(), OpenSemError::Sys(e) if e.code() == "EEXIST")
        );
        let b = NamedSem::open(&name, None).unwrap();
        assert!(b.sem().try_wait());
        assert_eq!(a.sem().value(), 1);
        unlink(&name).unwrap();
        assert_eq!(unlink(&name).unwrap_err().code(), "ENOENT");
    }
}
