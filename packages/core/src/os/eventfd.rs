//! A one-shot flag another thread can sleep on with poll(2): an eventfd.
//!
//! Waits that sleep in `ppoll` (a queue descriptor, or a plain pause between
//! tries) add one of these to their set, so that a cancel, a `close()` or an
//! env teardown wakes them at once instead of at the end of a slice.

use super::{cvt, cvt_retry, Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// An eventfd that is either clear or set; once set it stays set.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> Result<Self> {
        // SAFETY: eventfd takes plain flags and returns a new descriptor or -1.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }, "eventfd")?;
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Sets the flag, waking every poll on it. Setting it twice is harmless.
    pub fn set(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own descriptor. The
        // only possible failure is EAGAIN once the counter is near u64::MAX,
        // when it is set already.
        let _ = cvt_retry(
            || unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) as libc::c_int },
            "write",
        );
    }

    /// True once [`EventFd::set`] was called; never blocks.
    pub fn is_set(&self) -> bool {
        matches!(poll(&[self.0.as_raw_fd()], &[], Some(Duration::ZERO)), Ok(Some(_)))
    }

    /// Sleeps until the flag is set or `timeout` passes; true if it is set.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        Ok(poll(&[self.0.as_raw_fd()], &[], Some(timeout))?.is_some())
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// ppoll(2) for POLLIN on each of `readable` and POLLOUT on each of
/// `writable`, for at most `timeout` (None: no limit). The index of the
/// first ready descriptor (readable ones first), or None on timeout.
///
/// A signal (EINTR) ends the call early with None, so callers loop on their
/// own deadline. POLLNVAL (a descriptor that is not open) is EBADF.
pub fn poll(readable: &[RawFd], writable: &[RawFd], timeout: Option<Duration>) -> Result<Option<usize>> {
    let mut fds: Vec<libc::pollfd> = readable
        .iter()
        .map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
        .chain(writable.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLOUT, revents: 0 }))
        .collect();
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: fds holds fds.len() initialized pollfd entries; ts_ptr is null
    // or points to a timespec that lives until the call returns; a null
    // sigmask leaves the thread's signal mask as it is.
    let ret = unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ts_ptr, std::ptr::null()) };
    match cvt(ret, "ppoll") {
        Ok(0) => Ok(None),
        Ok(_) => {
            if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
                return Err(Error::new(libc::EBADF, "ppoll"));
            }
            Ok(fds.iter().position(|p| p.revents != 0))
        }
        Err(e) if e.errno() == libc::EINTR => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn set_wakes_a_waiter() {
        let flag = Arc::new(EventFd::new().unwrap());
        assert!(!flag.is_set());
        assert!(!flag.wait(Duration::from_millis(5)).unwrap());
        let other = Arc::clone(&flag);
        let waiter = std::thread::spawn(move || other.wait(Duration::from_secs(30)).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        flag.set();
        assert!(waiter.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(flag.is_set(), "stays set");
        flag.set();
        assert!(flag.is_set());
    }

    #[test]
    fn poll_reports_which_and_bad_descriptors() {
        let a = EventFd::new().unwrap();
        let b = EventFd::new().unwrap();
        assert_eq!(poll(&[a.as_raw_fd(), b.as_raw_fd()], &[], Some(Duration::ZERO)).unwrap(), None);
        b.set();
        assert_eq!(poll(&[a.as_raw_fd(), b.as_raw_fd()], &[], Some(Duration::ZERO)).unwrap(), Some(1));
        // An eventfd is always writable below its maximum.
        assert_eq!(poll(&[a.as_raw_fd()], &[a.as_raw_fd()], Some(Duration::ZERO)).unwrap(), Some(1));
        let err = poll(&[1 << 20], &[], Some(Duration::ZERO)).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EBADF", "ppoll"));
    }
}
