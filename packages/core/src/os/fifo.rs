//! Named pipes: `mkfifo`, and opening one end without blocking. Reading and
//! writing go through Node's own non-blocking I/O (libuv pipes).

use super::file::{self, FileType, OpenError, OpenOptions};
use super::{cvt, cvt_retry, Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Creates a FIFO at `path` with exactly `mode` (the umask is not applied).
///
/// With `reuse`, an existing FIFO at `path` is accepted (returns false);
/// anything else at that path still fails with EEXIST, so a regular file is
/// never mistaken for a FIFO.
///
/// mkfifo applies the umask, so the mode is set again afterwards, on the
/// FIFO itself and never by following the path: in a shared directory
/// (/tmp) another user may swap our fresh FIFO for a symlink to one of our
/// files between the two calls, and a path-following chmod would then open
/// that file to the world. See [`set_mode`].
pub fn create(path: &CString, mode: u32, reuse: bool) -> Result<bool> {
    // SAFETY: path is a valid C string.
    match cvt(unsafe { libc::mkfifo(path.as_ptr(), mode as libc::mode_t) }, "mkfifo") {
        Ok(_) => {
            set_mode(path, mode)?;
            Ok(true)
        }
        Err(e) if e.errno() == libc::EEXIST && reuse => {
            if is_fifo(path)? {
                Ok(false)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// Sets the mode of the FIFO at `path`, refusing (EEXIST, as if mkfifo had
/// found it taken) anything else there now: a symlink is never followed,
/// and only a FIFO owned by our effective user is changed.
///
/// The FIFO is pinned with an `O_PATH | O_NOFOLLOW` descriptor (which opens
/// nothing) and checked with fstat; the mode is then applied to that very
/// inode, with `fchmodat2(fd, "", AT_EMPTY_PATH)` (Linux 6.6) or, before
/// that, through its /proc/self/fd link, as glibc's `fchmodat` does.
fn set_mode(path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: path is NUL-terminated; O_PATH opens no file for I/O.
    let raw =
        cvt_retry(|| unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) }, "open")?;
    // SAFETY: raw was just returned to us and nothing else owns it.
    let pinned = unsafe { OwnedFd::from_raw_fd(raw) };
    let stat = file::fstat(pinned.as_raw_fd())?;
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    if stat.kind != FileType::Fifo || stat.uid != euid {
        return Err(Error::new(libc::EEXIST, "mkfifo"));
    }
    fchmod_pinned(pinned.as_raw_fd(), mode)
}

/// chmod of the inode behind an O_PATH descriptor.
fn fchmod_pinned(fd: RawFd, mode: u32) -> Result<()> {
    const SYS_FCHMODAT2: libc::c_long = 452;
    // SAFETY: an empty path with AT_EMPTY_PATH names `fd` itself.
    let ret = unsafe { libc::syscall(SYS_FCHMODAT2, fd, c"".as_ptr(), mode as libc::c_uint, libc::AT_EMPTY_PATH) };
    if ret == 0 {
        return Ok(());
    }
    let e = Error::last("chmod");
    if e.errno() != libc::ENOSYS && e.errno() != libc::EINVAL {
        return Err(e);
    }
    let link = CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL");
    // SAFETY: the magic link names the pinned inode, not a path that can change.
    cvt_retry(|| unsafe { libc::chmod(link.as_ptr(), mode as libc::mode_t) }, "chmod").map(drop)
}

/// Which end of a FIFO [`open`] opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Read,
    Write,
}

/// Why [`open`] gave no descriptor.
pub type OpenFifoError = OpenError;

/// Opens one end of the FIFO at `path` non-blocking (the descriptor stays
/// O_NONBLOCK, for libuv). Anything but a FIFO is refused before it is
/// opened for real ([`file::open`]). The write end fails with ENXIO while
/// no reader has the FIFO open.
pub fn open(path: &CStr, end: End) -> std::result::Result<OwnedFd, OpenFifoError> {
    let options = OpenOptions {
        read: end == End::Read,
        write: end == End::Write,
        expect: FileType::Fifo,
        ..OpenOptions::regular(false, true)
    };
    Ok(file::open(path, options)?.fd)
}

/// True when `path` names a FIFO (without following a final symlink).
pub fn is_fifo(path: &CString) -> Result<bool> {
    // SAFETY: all-zero is a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: path is a valid C string and st a writable buffer.
    cvt(unsafe { libc::lstat(path.as_ptr(), &mut st) }, "lstat")?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

/// PIPE_BUF: writes up to this size are atomic on a pipe.
pub const PIPE_BUF: usize = libc::PIPE_BUF;

/// Turns a JS path into a C string, refusing interior NULs.
pub fn c_path(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| Error::new(libc::EINVAL, "mkfifo"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> CString {
        let path = std::env::temp_dir().join(format!("shmkit-fifo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        CString::new(path.to_str().unwrap()).unwrap()
    }

    #[test]
    fn create_reuse_and_refuse() {
        let path = temp("a");
        assert!(create(&path, 0o640, false).unwrap());
        let meta = std::fs::metadata(path.to_str().unwrap()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(create(&path, 0o600, false).unwrap_err().code(), "EEXIST");
        assert!(!create(&path, 0o600, true).unwrap());
        std::fs::remove_file(path.to_str().unwrap()).unwrap();

        let file = temp("b");
        std::fs::write(file.to_str().unwrap(), b"x").unwrap();
        assert_eq!(create(&file, 0o600, true).unwrap_err().code(), "EEXIST");
        std::fs::remove_file(file.to_str().unwrap()).unwrap();
    }

    #[test]
    fn set_mode_never_follows_a_symlink() {
        let victim = temp("victim");
        std::fs::write(victim.to_str().unwrap(), b"secret").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(victim.to_str().unwrap(), std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = temp("swapped");
        std::os::unix::fs::symlink(victim.to_str().unwrap(), link.to_str().unwrap()).unwrap();
        assert_eq!(set_mode(&link, 0o666).unwrap_err().code(), "EEXIST");
        let mode = std::fs::metadata(victim.to_str().unwrap()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        std::fs::remove_file(link.to_str().unwrap()).unwrap();
        std::fs::remove_file(victim.to_str().unwrap()).unwrap();
    }

    #[test]
    fn open_refuses_what_is_not_a_fifo_and_never_blocks() {
        let path = temp("ends");
        assert!(create(&path, 0o600, false).unwrap());
        assert_eq!(open(&path, End::Write).unwrap_err(), OpenError::Sys(Error::new(libc::ENXIO, "open")));
        let reader = open(&path, End::Read).unwrap();
        let writer = open(&path, End::Write).unwrap();
        // SAFETY: F_GETFL on live fds.
        assert_ne!(unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_GETFL) } & libc::O_NONBLOCK, 0);
        drop((reader, writer));
        std::fs::remove_file(path.to_str().unwrap()).unwrap();
        let regular = temp("regular");
        std::fs::write(regular.to_str().unwrap(), b"x").unwrap();
        assert_eq!(open(&regular, End::Read).unwrap_err(), OpenError::WrongType(FileType::Regular));
        std::fs::remove_file(regular.to_str().unwrap()).unwrap();
    }
}
