//! Named pipes: `mkfifo`. Opening, reading and writing go through Node's own
//! non-blocking I/O, so only the creation needs native code.

use super::{cvt, cvt_retry, Error, Result};
use std::ffi::CString;

/// Creates a FIFO at `path` with exactly `mode` (the umask is not applied).
///
/// With `reuse`, an existing FIFO at `path` is accepted (returns false);
/// anything else at that path still fails with EEXIST, so a regular file is
/// never mistaken for a FIFO.
pub fn create(path: &CString, mode: u32, reuse: bool) -> Result<bool> {
    // SAFETY: path is a valid C string.
    match cvt(unsafe { libc::mkfifo(path.as_ptr(), mode as libc::mode_t) }, "mkfifo") {
        Ok(_) => {
            // mkfifo applies the umask; the caller asked for this mode.
            // SAFETY: as above.
            cvt_retry(|| unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) }, "chmod")?;
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
}
