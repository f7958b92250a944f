//! The OS layer: small, safe wrappers over the Linux calls shmkit exposes.
//!
//! Nothing here knows about Node. Every fallible call returns [`Error`], which
//! carries the errno and the name of the call that set it, so the glue can
//! turn it into a Node-style system error without guessing.

mod errno_names;
pub mod fifo;
pub mod futex;
pub mod mlock;
pub mod mman;
pub mod posix_shm;
pub mod pthread_mutex;
pub mod sem;
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.syscall, self.code(), self.description())
    }
}

impl std::error::Error for Error {}

/// Turns a C-style `-1 means errno` return into a Result.
pub(crate) fn cvt(ret: libc::c_int, syscall: &'static str) -> Result<libc::c_int> {
    if ret == -1 {
        Err(Error::last(syscall))
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`], retrying while the call is interrupted by a signal.
pub(crate) fn cvt_retry(mut f: impl FnMut() -> libc::c_int, syscall: &'static str) -> Result<libc::c_int> {
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
        assert_eq!(e.to_string(), "shmget EACCES: permission denied");
        assert_eq!(Error::new(libc::EAGAIN, "x").code(), "EAGAIN");
        assert_eq!(Error::new(9999, "x").code(), "UNKNOWN");
    }

    #[test]
    fn cvt_reads_errno() {
        // SAFETY: closing an fd that is certainly not open only sets errno.
        let err = cvt(unsafe { libc::close(-1) }, "close").unwrap_err();
        assert_eq!(err.code(), "EBADF");
        assert_eq!(err.syscall(), "close");
    }
}
