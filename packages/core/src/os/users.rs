//! User and group names through the C library's name service switch
//! (`getpwuid_r`, `getgrgid_r`), so users from LDAP, SSSD or systemd's
//! dynamic users resolve the way `ls -l` and `ipcs` resolve them, not only
//! those listed in /etc/passwd.

use super::{Error, Result};
use std::ffi::CStr;

/// The most buffer space one lookup may take. glibc needs a few hundred
/// bytes for a passwd entry, but a group with thousands of members needs
/// more; past this a lookup gives up with ERANGE rather than grow forever.
const MAX_BUFFER: usize = 1 << 20;

/// The first buffer to try: what sysconf suggests, or 1 KiB when it has
/// no opinion (glibc returns -1 for both keys).
fn initial_buffer(key: libc::c_int) -> usize {
    // SAFETY: sysconf has no preconditions.
    let suggested = unsafe { libc::sysconf(key) };
    if suggested > 0 {
        (suggested as usize).min(MAX_BUFFER)
    } else {
        1024
    }
}

/// Runs a `get*_r` lookup, growing the buffer while it reports ERANGE.
///
/// `lookup(buffer)` returns the call's status (0 or an errno) and the name
/// it found, if any.
fn with_buffer(
    key: libc::c_int,
    syscall: &'static str,
    mut lookup: impl FnMut(&mut [libc::c_char]) -> (libc::c_int, Option<String>),
) -> Result<Option<String>> {
    let mut buffer = vec![0 as libc::c_char; initial_buffer(key)];
    loop {
        match lookup(&mut buffer) {
            (0, name) => return Ok(name),
            // "Not found" has several spellings in the NSS modules (POSIX
            // says 0 with a null result; some return these): a missing entry
            // is not a failure.
            (libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM, _) => return Ok(None),
            (libc::EINTR, _) => continue,
            (libc::ERANGE, _) if buffer.len() < MAX_BUFFER => {
                let grown = (buffer.len() * 2).min(MAX_BUFFER);
                buffer.resize(grown, 0);
            }
            (errno, _) => return Err(Error::new(errno, syscall)),
        }
    }
}

/// # Safety
/// `name` must be null or point to a NUL-terminated string.
unsafe fn owned_name(name: *const libc::c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: per the contract, a non-null `name` is NUL-terminated.
    let bytes = unsafe { CStr::from_ptr(name) };
    Some(bytes.to_string_lossy().into_owned())
}

/// The login name of user `uid`, or `None` when no user has that id.
///
/// Fails only when the lookup itself fails (an unreachable directory
/// service, EMFILE, ENOMEM): the errno and `getpwuid_r` as the call.
pub fn user_name(uid: u32) -> Result<Option<String>> {
    with_buffer(libc::_SC_GETPW_R_SIZE_MAX, "getpwuid_r", |buffer| {
        // SAFETY: all-zero is a valid `struct passwd` (null pointers, zero ids).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buffer` is
        // writable for its whole length; glibc fills `entry` with pointers
        // into `buffer`, which outlives their use below.
        let status = unsafe { libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result) };
        // SAFETY: on success with a non-null result, pw_name points into
        // `buffer` at a NUL-terminated string.
        let name = if status == 0 && !result.is_null() { unsafe { owned_name(entry.pw_name) } } else { None };
        (status, name)
    })
}

/// The name of group `gid`, or `None` when no group has that id. Errors as
/// for [`user_name`], with `getgrgid_r` as the call.
pub fn group_name(gid: u32) -> Result<Option<String>> {
    with_buffer(libc::_SC_GETGR_R_SIZE_MAX, "getgrgid_r", |buffer| {
        // SAFETY: all-zero is a valid `struct group`.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in user_name.
        let status = unsafe { libc::getgrgid_r(gid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result) };
        // SAFETY: as in user_name, for gr_name.
        let name = if status == 0 && !result.is_null() { unsafe { owned_name(entry.gr_name) } } else { None };
        (status, name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first entry of a colon-separated file with this id in field 3.
    fn from_file(path: &str, id: u32) -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 2 && fields[2] == id.to_string()).then(|| fields[0].to_string())
        })
    }

    #[test]
    fn root_resolves() {
        assert_eq!(user_name(0).unwrap().as_deref(), Some("root"));
        assert_eq!(group_name(0).unwrap().as_deref(), Some("root"));
    }

    #[test]
    fn agrees_with_the_files_for_this_process() {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        if let Some(expected) = from_file("/etc/passwd", uid) {
            assert_eq!(user_name(uid).unwrap(), Some(expected));
        }
        if let Some(expected) = from_file("/etc/group", gid) {
            assert_eq!(group_name(gid).unwrap(), Some(expected));
        }
    }

    #[test]
    fn unknown_ids_are_none() {
        // (uid_t)-1 is "no user" by definition (chown uses it for "unchanged").
        assert_eq!(user_name(u32::MAX).unwrap(), None);
        assert_eq!(group_name(u32::MAX).unwrap(), None);
        let unused = (4_000_000_000u32..).find(|id| from_file("/etc/passwd", *id).is_none()).unwrap();
        assert_eq!(user_name(unused).unwrap(), None);
    }

    #[test]
    fn a_tiny_buffer_grows() {
        let name = with_buffer(libc::_SC_GETPW_R_SIZE_MAX, "getpwuid_r", |buffer| {
            if buffer.len() < 4096 {
                (libc::ERANGE, None)
            } else {
                (0, Some(buffer.len().to_string()))
            }
        });
        assert_eq!(name.unwrap(), Some("4096".into()));
    }

    #[test]
    fn a_lookup_that_keeps_asking_for_more_gives_up() {
        let mut calls = 0;
        let err = with_buffer(libc::_SC_GETPW_R_SIZE_MAX, "getpwuid_r", |_| {
            calls += 1;
            (libc::ERANGE, None)
        })
        .unwrap_err();
        assert_eq!(err.code(), "ERANGE");
        assert_eq!(err.syscall(), "getpwuid_r");
        assert!(calls < 40, "bounded: {calls} calls");
    }

    #[test]
    fn real_failures_carry_the_call() {
        let err = with_buffer(libc::_SC_GETGR_R_SIZE_MAX, "getgrgid_r", |_| (libc::EIO, None)).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EIO", "getgrgid_r"));
    }
}
