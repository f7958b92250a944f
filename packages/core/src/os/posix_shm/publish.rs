//! Objects that get their name only once they are ready.
//!
//! `create_unnamed` makes an object with no name at all (an `O_TMPFILE` in
//! /dev/shm): nobody can open it, and if the process dies before
//! publishing, nothing is left behind. `publish` then gives it its name in
//! one step (`linkat`), failing with EEXIST if the name is taken, so
//! another process that opens the name only ever finds a fully initialised
//! object.

use super::super::{cvt, cvt_retry, Error, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Where glibc's shm_open keeps objects.
const SHM_DIR: &str = "/dev/shm";

/// An object of size 0 with no name, mode `mode` exactly (no umask).
pub fn create_unnamed(mode: u32) -> Result<OwnedFd> {
    let dir = CString::new(SHM_DIR).expect("no NUL in a constant");
    let flags = libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: dir is a valid C string; open returns a new descriptor or -1.
    let fd = cvt_retry(|| unsafe { libc::open(dir.as_ptr(), flags, mode as libc::mode_t) }, "open")?;
    // SAFETY: fd was just returned to us and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fd is a live descriptor we own.
    cvt_retry(|| unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }, "fchmod")?;
    Ok(fd)
}

/// Gives the unnamed object behind `fd` the POSIX name `name` ('/name',
/// already validated), atomically: EEXIST when the name is taken.
pub fn publish(fd: RawFd, name: &CString) -> Result<()> {
    let base = &name.as_bytes()[1..];
    let target =
        CString::new([SHM_DIR.as_bytes(), b"/", base].concat()).map_err(|_| Error::new(libc::EINVAL, "linkat"))?;
    // Through /proc, which needs no privilege; AT_EMPTY_PATH on the fd
    // itself needs CAP_DAC_READ_SEARCH on older kernels, so it is the
    // fallback for a system without /proc.
    let proc_path = CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in a number");
    // SAFETY: both paths are valid C strings; linkat creates a name or fails.
    let linked = cvt(
        unsafe {
            libc::linkat(libc::AT_FDCWD, proc_path.as_ptr(), libc::AT_FDCWD, target.as_ptr(), libc::AT_SYMLINK_FOLLOW)
        },
        "linkat",
    );
    match linked {
        Err(e) if e.errno() == libc::ENOENT && !std::path::Path::new("/proc/self/fd").exists() => {
            let empty = CString::new("").expect("empty");
            // SAFETY: fd is a live descriptor; the empty path with
            // AT_EMPTY_PATH names the file fd refers to.
            cvt(
                unsafe { libc::linkat(fd, empty.as_ptr(), libc::AT_FDCWD, target.as_ptr(), libc::AT_EMPTY_PATH) },
                "linkat",
            )
            .map(drop)
        }
        other => other.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{open, resize, stat, unlink, OpenOptions};
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unique(tag: &str) -> CString {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        CString::new(format!("/shmkit-rs-pub-{tag}-{}-{n}", std::process::id())).unwrap()
    }

    #[test]
    fn an_unnamed_object_appears_only_when_published_with_its_contents() {
        let name = unique("a");
        let fd = create_unnamed(0o640).unwrap();
        assert_eq!(stat(fd.as_raw_fd()).unwrap().mode, 0o640);
        resize(fd.as_raw_fd(), 4096, true).unwrap();
        // SAFETY: fd is a live descriptor; the buffer is 5 valid bytes.
        assert_eq!(unsafe { libc::pwrite(fd.as_raw_fd(), b"ready".as_ptr().cast(), 5, 0) }, 5);
        let opts = OpenOptions { create: false, exclusive: false, read_only: true, mode: 0 };
        assert!(matches!(open(&name, opts).unwrap_err(), crate::os::file::OpenError::Sys(e) if e.code() == "ENOENT"));
        publish(fd.as_raw_fd(), &name).unwrap();
        let seen = open(&name, opts).unwrap();
        let mut buf = [0u8; 5];
        // SAFETY: seen.fd is live; buf has room for 5 bytes.
        assert_eq!(unsafe { libc::pread(seen.fd.as_raw_fd(), buf.as_mut_ptr().cast(), 5, 0) }, 5);
        assert_eq!(&buf, b"ready");
        assert_eq!(stat(seen.fd.as_raw_fd()).unwrap().size, 4096);
        unlink(&name).unwrap();
    }

    #[test]
    fn publishing_over_a_taken_name_fails_with_eexist_and_leaves_it_alone() {
        let name = unique("b");
        let first = create_unnamed(0o600).unwrap();
        resize(first.as_raw_fd(), 100, true).unwrap();
        publish(first.as_raw_fd(), &name).unwrap();
        let second = create_unnamed(0o600).unwrap();
        assert_eq!(publish(second.as_raw_fd(), &name).unwrap_err().code(), "EEXIST");
        let opts = OpenOptions { create: false, exclusive: false, read_only: true, mode: 0 };
        assert_eq!(stat(open(&name, opts).unwrap().fd.as_raw_fd()).unwrap().size, 100);
        unlink(&name).unwrap();
    }
}
