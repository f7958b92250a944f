//! The OS layer: small, safe wrappers over the Linux calls shmkit exposes.
//!
//! Nothing here knows about Node. Every fallible call returns [`Error`], which
//! carries the errno and the name of the call that set it, so the glue can
//! turn it into a Node-style system error without guessing.

pub mod bus_guard;
pub mod deadline;
mod errno_names;
pub mod fifo;
pub mod file;
pub mod futex;
pub mod io_uring;
pub mod map_registry;
pub mod mlock;
pub mod mman;
pub mod mqueue;
pub mod msg;
pub mod named_sem;
pub mod posix_shm;
pub mod pthread_mutex;
pub mod sem;
mod sem_words;
pub mod sysv;
pub mod sysv_sem;
pub mod users;

use std::fmt;

/// A failed system call: its errno and the call's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    syscall: &'static str,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub const fn new(errno: i32, syscall: &'static str) -> Self {
        Error { errno, syscall }
    }

    /// The error named `code` ("EPERM"), for errors the caller detects
    /// itself rather than reads from `errno`.
    pub fn named(code: &str, syscall: &'static str) -> Option<Self> {
        errno_names::errno_value(code).map(|errno| Error { errno, syscall })
    }

    /// The error the last failed call on this thread left in `errno`.
    pub fn last(syscall: &'static str) -> Self {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        Error { errno, syscall }
    }

    /// The positive errno value, as in C.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn syscall(&self) -> &'static str {
        self.syscall
    }

    /// The symbolic name: "EACCES", "ENOENT"...
    pub fn code(&self) -> &'static str {
        errno_names::errno_name(self.errno).unwrap_or("UNKNOWN")
    }

    /// strerror's text, lower-cased at the start the way libuv words it
    /// ("permission denied").
    pub fn description(&self) -> String {
        let text = std::io::Error::from_raw_os_error(self.errno).to_string();
        let text = match text.rfind(" (os error ") {
            Some(at) => &text[..at],
            None => &text[..],
        };
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// In node:fs's order: "EACCES: permission denied, shmget".
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}, {}", self.code(), self.description(), self.syscall)
    }
}

impl std::error::Error for Error {}

/// A C return type with one value that means "failed: see errno".
pub(crate) trait Sentinel: Copy + PartialEq {
    const FAILED: Self;
}

impl Sentinel for libc::c_int {
    const FAILED: Self = -1;
}

/// `syscall(2)` and `ssize_t` returns.
impl Sentinel for libc::c_long {
    const FAILED: Self = -1;
}

/// `mmap` and `shmat` return `(void *) -1` (MAP_FAILED).
impl Sentinel for *mut libc::c_void {
    const FAILED: Self = libc::MAP_FAILED;
}

/// Turns a C-style "sentinel means errno" return into a Result.
pub(crate) fn cvt<T: Sentinel>(ret: T, syscall: &'static str) -> Result<T> {
    if ret == T::FAILED {
        Err(Error::last(syscall))
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`], retrying while the call is interrupted by a signal.
pub(crate) fn cvt_retry<T: Sentinel>(mut f: impl FnMut() -> T, syscall: &'static str) -> Result<T> {
    loop {
        match cvt(f(), syscall) {
            Err(e) if e.errno() == libc::EINTR => continue,
            other => return other,
        }
    }
}

/// The system page size in bytes.
pub fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE always succeeds on Linux.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// Rounds `value` down to a multiple of the page size.
pub fn page_floor(value: usize) -> usize {
    value & !(page_size() - 1)
}

/// Rounds `value` up to a multiple of the page size (saturating at the top).
pub fn page_ceil(value: usize) -> usize {
    let mask = page_size() - 1;
    value.checked_add(mask).map_or(usize::MAX & !mask, |v| v & !mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two() {
        let size = page_size();
        assert!(size >= 4096);
        assert!(size.is_power_of_two());
        assert_eq!(page_size(), size, "cached value is stable");
    }

    #[test]
    fn page_rounding() {
        let p = page_size();
        assert_eq!(page_floor(0), 0);
        assert_eq!(page_floor(p + 1), p);
        assert_eq!(page_ceil(1), p);
        assert_eq!(page_ceil(p), p);
        assert_eq!(page_ceil(usize::MAX), usize::MAX & !(p - 1));
    }

    #[test]
    fn error_names_and_descriptions() {
        let e = Error::new(libc::EACCES, "shmget");
        assert_eq!(e.code(), "EACCES");
        assert_eq!(e.errno(), 13);
        assert_eq!(e.description(), "permission denied");
        assert_eq!(e.to_string(), "EACCES: permission denied, shmget");
        assert_eq!(Error::new(libc::EAGAIN, "x").code(), "EAGAIN");
        assert_eq!(Error::new(9999, "x").code(), "UNKNOWN");
        assert_eq!(Error::named("ENOTRECOVERABLE", "x").map(|e| e.errno()), Some(libc::ENOTRECOVERABLE));
        assert_eq!(Error::named("EPERM", "x").map(|e| e.description()), Some("operation not permitted".into()));
        assert_eq!(Error::named("EWOULDBLOCK", "x"), None, "aliases are not names");
    }

    #[test]
    fn cvt_reads_errno() {
        // SAFETY: closing an fd that is certainly not open only sets errno.
        let err = cvt(unsafe { libc::close(-1) }, "close").unwrap_err();
        assert_eq!(err.code(), "EBADF");
        assert_eq!(err.syscall(), "close");
        // SAFETY: a raw close(-1), as above, through syscall(2)'s c_long.
        let err = cvt(unsafe { libc::syscall(libc::SYS_close, -1) }, "close").unwrap_err();
        assert_eq!(err.code(), "EBADF");
        // SAFETY: mapping 0 bytes fails with EINVAL and maps nothing.
        let err = cvt(
            unsafe {
                libc::mmap(std::ptr::null_mut(), 0, libc::PROT_READ, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
            },
            "mmap",
        );
        assert_eq!(err.unwrap_err().code(), "EINVAL");
        assert_eq!(cvt(7, "x"), Ok(7));
    }
}
