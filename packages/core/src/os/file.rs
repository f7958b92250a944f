//! Opening files that another process may have put in our way.
//!
//! Every path shmkit opens (a POSIX shared memory object in /dev/shm, a
//! named semaphore's `sem.NAME`, a file to map, a FIFO) goes through
//! [`open`], which never blocks and never hands back, or even really opens,
//! the wrong kind of file:
//!
//! 1. The path is opened with `O_PATH` (and `O_NOFOLLOW` where the caller
//!    asks: names in /dev/shm, where a symlink is someone else's trick and
//!    glibc refuses it too). An `O_PATH` open has no side effect on any
//!    kind of file: a FIFO does not wait for a peer, a device is not
//!    opened, a terminal is not acquired.
//! 2. `fstat` on that descriptor says what the path is *now*; anything but
//!    the expected kind is refused.
//! 3. The very inode checked is reopened for real through
//!    `/proc/self/fd/N`, so a swap of the path between check and open
//!    cannot substitute another file. `O_NONBLOCK` and `O_NOCTTY` make even
//!    that open harmless (the flag is cleared again on regular files, so
//!    the descriptor behaves like one from `shm_open`).
//!
//! Without /proc (rare: a bare chroot) step 3 opens the path again and
//! checks that device and inode still match step 1. New files are made with
//! `O_CREAT | O_EXCL`, which never follows a symlink or opens an existing
//! file.

use super::{cvt, cvt_retry, Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// What kind of file a path or descriptor is (`st_mode & S_IFMT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Fifo,
    Symlink,
    CharDevice,
    BlockDevice,
    Socket,
    Unknown,
}

impl FileType {
    pub fn from_mode(mode: u32) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFREG => FileType::Regular,
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFLNK => FileType::Symlink,
            libc::S_IFCHR => FileType::CharDevice,
            libc::S_IFBLK => FileType::BlockDevice,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Unknown,
        }
    }

    /// "a FIFO", "a directory"... for error messages.
    pub fn described(self) -> &'static str {
        match self {
            FileType::Regular => "a regular file",
            FileType::Directory => "a directory",
            FileType::Fifo => "a FIFO",
            FileType::Symlink => "a symbolic link",
            FileType::CharDevice => "a character device",
            FileType::BlockDevice => "a block device",
            FileType::Socket => "a socket",
            FileType::Unknown => "a file of unknown type",
        }
    }
}

/// What `fstat` says about an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileType,
    pub size: u64,
    /// Bytes the file system has allocated (`st_blocks * 512`): less than
    /// `size` when the file has holes.
    pub allocated: u64,
    pub dev: u64,
    pub ino: u64,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Stat {
    fn from_raw(st: &libc::stat) -> Self {
        Stat {
            kind: FileType::from_mode(st.st_mode),
            // A negative size is impossible for the kinds we map; read it as 0.
            size: u64::try_from(st.st_size).unwrap_or(0),
            allocated: u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512),
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        }
    }
}

pub fn fstat(fd: RawFd) -> Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is a valid out pointer; a bad fd is reported through errno.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) }, "fstat")?;
    // SAFETY: fstat succeeded, so it filled `st`.
    Ok(Stat::from_raw(&unsafe { st.assume_init() }))
}

/// How [`open`] opens a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    pub read: bool,
    pub write: bool,
    /// O_CREAT with these permission bits (the umask applies, as with open;
    /// callers that promise an exact mode fchmod afterwards).
    pub create: Option<u32>,
    /// With `create`: O_EXCL, fail with EEXIST if the path exists (even as
    /// a dangling symlink).
    pub exclusive: bool,
    /// Follow a symlink in the last component. False refuses one
    /// ([`OpenError::WrongType`] with [`FileType::Symlink`]).
    pub follow: bool,
    /// The only kind of file accepted.
    pub expect: FileType,
}

impl OpenOptions {
    /// Read(-write) access to an existing regular file.
    pub const fn regular(write: bool, follow: bool) -> Self {
        OpenOptions { read: true, write, create: None, exclusive: false, follow, expect: FileType::Regular }
    }
}

/// Why [`open`] gave no descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// open or fstat failed.
    Sys(Error),
    /// The path names something else than `expect`: it was not opened.
    WrongType(FileType),
}

impl From<Error> for OpenError {
    fn from(e: Error) -> Self {
        OpenError::Sys(e)
    }
}

/// A descriptor [`open`] checked, with what fstat said about it.
#[derive(Debug)]
pub struct Opened {
    pub fd: OwnedFd,
    pub stat: Stat,
    /// True when this call created the file.
    pub created: bool,
}

/// Opens `path` without blocking and refuses anything but `options.expect`
/// (see the module notes). A directory where a file was expected is
/// EISDIR, as node:fs reports it. EINTR is retried.
pub fn open(path: &CStr, options: OpenOptions) -> std::result::Result<Opened, OpenError> {
    let access = match (options.read, options.write) {
        (true, true) => libc::O_RDWR,
        (false, true) => libc::O_WRONLY,
        _ => libc::O_RDONLY,
    };
    let flags = access | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    // Existing files go through O_PATH; a concurrent create or unlink of
    // the path can send us round a few times.
    for _ in 0..8 {
        if let (Some(mode), true) = (options.create, options.exclusive) {
            return create_new(path, flags, mode, options.expect);
        }
        let located =
            match open_raw(path, libc::O_PATH | libc::O_CLOEXEC | if options.follow { 0 } else { libc::O_NOFOLLOW }, 0)
            {
                Ok(fd) => fd,
                Err(e) if e.errno() == libc::ENOENT && options.create.is_some() => {
                    match create_new(path, flags, options.create.unwrap_or(0), options.expect) {
                        // Either someone created it meanwhile (go round), or
                        // the path is a dangling symlink, through which we never
                        // create: that is how a planted link makes a process
                        // write a file of the attacker's choosing.
                        Err(OpenError::Sys(e)) if e.errno() == libc::EEXIST => {
                            if dangling_symlink(path) {
                                return Err(OpenError::WrongType(FileType::Symlink));
                            }
                            continue;
                        }
                        other => return other,
                    }
                }
                Err(e) => return Err(OpenError::Sys(e)),
            };
        let stat = fstat(located.as_raw_fd())?;
        check_kind(stat.kind, options.expect)?;
        let fd = match reopen(&located, flags) {
            Ok(fd) => fd,
            Err(e) if e.errno() == libc::ENOENT && !Path::new("/proc/self/fd").exists() => {
                // No /proc: open the path itself, then make sure it is
                // still the file we checked.
                let fd =
                    open_raw(path, flags | if options.follow { 0 } else { libc::O_NOFOLLOW }, 0).map_err(
                        |e| match e.errno() {
                            libc::ELOOP if !options.follow => OpenError::WrongType(FileType::Symlink),
                            _ => OpenError::Sys(e),
                        },
                    )?;
                let now = fstat(fd.as_raw_fd())?;
                if (now.dev, now.ino) != (stat.dev, stat.ino) {
                    continue;
                }
                fd
            }
            Err(e) => return Err(OpenError::Sys(e)),
        };
        return finish(fd, stat.kind, false);
    }
    Err(OpenError::Sys(Error::new(libc::EAGAIN, "open")))
}

/// True when `path` is a symlink whose target does not exist.
fn dangling_symlink(path: &CStr) -> bool {
    let link = match open_raw(path, libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0) {
        Ok(fd) => fd,
        Err(_) => return false,
    };
    let is_link = fstat(link.as_raw_fd()).is_ok_and(|st| st.kind == FileType::Symlink);
    is_link && open_raw(path, libc::O_PATH | libc::O_CLOEXEC, 0).is_err_and(|e| e.errno() == libc::ENOENT)
}

/// O_CREAT | O_EXCL: a new file, so necessarily a regular one.
fn create_new(path: &CStr, flags: libc::c_int, mode: u32, expect: FileType) -> std::result::Result<Opened, OpenError> {
    let fd = open_raw(path, flags | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW, mode)?;
    let kind = fstat(fd.as_raw_fd())?.kind;
    check_kind(kind, expect)?;
    finish(fd, kind, true)
}

fn check_kind(kind: FileType, expect: FileType) -> std::result::Result<(), OpenError> {
    match kind {
        k if k == expect => Ok(()),
        FileType::Directory => Err(OpenError::Sys(Error::new(libc::EISDIR, "open"))),
        k => Err(OpenError::WrongType(k)),
    }
}

fn finish(fd: OwnedFd, kind: FileType, created: bool) -> std::result::Result<Opened, OpenError> {
    if kind == FileType::Regular {
        set_nonblocking(fd.as_raw_fd(), false)?;
    }
    let stat = fstat(fd.as_raw_fd())?;
    Ok(Opened { fd, stat, created })
}

fn open_raw(path: &CStr, flags: libc::c_int, mode: u32) -> Result<OwnedFd> {
    // SAFETY: path is NUL-terminated; open returns a new descriptor or -1.
    let raw = cvt_retry(|| unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) }, "open")?;
    // SAFETY: raw was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Opens the inode behind an O_PATH descriptor for real, via its magic
/// link in /proc (which names that inode, not a path that could change).
fn reopen(located: &OwnedFd, flags: libc::c_int) -> Result<OwnedFd> {
    let link = CString::new(format!("/proc/self/fd/{}", located.as_raw_fd())).expect("no NUL");
    open_raw(&link, flags, 0)
}

/// A file that [`open`] created for a call that may still fail: dropped
/// armed, it removes the file again, so a failed call leaves no empty file
/// behind. Only the very inode that was created is removed: a path that
/// names another file by now (someone renamed ours away) is left alone.
pub struct CreatedFile<'a> {
    path: &'a CStr,
    dev: u64,
    ino: u64,
    armed: bool,
}

impl<'a> CreatedFile<'a> {
    /// A guard for `opened` when it created `path`; None when the file was there already.
    pub fn guard(path: &'a CStr, opened: &Opened) -> Option<Self> {
        // Lazily: a guard built and dropped for a file that was there would remove it.
        opened.created.then(|| CreatedFile { path, dev: opened.stat.dev, ino: opened.stat.ino, armed: true })
    }

    /// The call succeeded: the file stays.
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for CreatedFile<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let ours = open_raw(self.path, libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0)
            .and_then(|fd| fstat(fd.as_raw_fd()))
            .is_ok_and(|st| st.dev == self.dev && st.ino == self.ino);
        if ours {
            // SAFETY: path is NUL-terminated; unlink only touches the directory
            // entry. A failure leaves the file, as before this guard existed.
            unsafe { libc::unlink(self.path.as_ptr()) };
        }
    }
}

/// Sets or clears O_NONBLOCK on `fd`.
pub fn set_nonblocking(fd: RawFd, on: bool) -> Result<()> {
    // SAFETY: F_GETFL takes no argument; a bad fd is reported through errno.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) }, "fcntl")?;
    let wanted = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if wanted != flags {
        // SAFETY: F_SETFL takes an int of flags.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, wanted) }, "fcntl")?;
    }
    Ok(())
}

/// Sets the permission bits of the file behind `fd` exactly (the umask the
/// create applied is undone).
pub fn fchmod(fd: RawFd, mode: u32) -> Result<()> {
    // SAFETY: fchmod only touches the inode behind fd.
    cvt_retry(|| unsafe { libc::fchmod(fd, mode as libc::mode_t) }, "fchmod").map(drop)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::ffi::CString;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh private directory under the temp dir, removed on drop.
    pub(crate) struct TempDir(pub std::path::PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("shmkit-file-{tag}-{}-{n}", std::process::id()));
            std::fs::create_dir(&path).unwrap();
            TempDir(path)
        }

        pub(crate) fn c(&self, name: &str) -> CString {
            CString::new(self.0.join(name).to_str().unwrap()).unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(crate) fn mkfifo(path: &CStr) {
        // SAFETY: path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn opens_regular_files_and_reports_their_identity() {
        let dir = TempDir::new("reg");
        let path = dir.c("f");
        std::fs::write(path.to_str().unwrap(), b"hello").unwrap();
        let opened = open(&path, OpenOptions::regular(true, false)).unwrap();
        assert_eq!(opened.stat.kind, FileType::Regular);
        assert_eq!(opened.stat.size, 5);
        let meta = std::fs::metadata(path.to_str().unwrap()).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((opened.stat.dev, opened.stat.ino), (meta.dev(), meta.ino()));
        assert!(!opened.created);
        // SAFETY: F_GETFL on a live fd.
        let flags = unsafe { libc::fcntl(opened.fd.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "cleared again for regular files");
        // SAFETY: F_GETFD on a live fd.
        assert_ne!(unsafe { libc::fcntl(opened.fd.as_raw_fd(), libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn a_fifo_opens_at_once_and_is_refused() {
        let dir = TempDir::new("fifo");
        let path = dir.c("p");
        mkfifo(&path);
        // Read-only: would block forever without O_NONBLOCK.
        assert_eq!(open(&path, OpenOptions::regular(false, false)).unwrap_err(), OpenError::WrongType(FileType::Fifo));
        // Read-write of a FIFO never blocks either; still refused.
        assert_eq!(open(&path, OpenOptions::regular(true, true)).unwrap_err(), OpenError::WrongType(FileType::Fifo));
        let fifo = OpenOptions { expect: FileType::Fifo, ..OpenOptions::regular(false, false) };
        let opened = open(&path, fifo).unwrap();
        assert_eq!(opened.stat.kind, FileType::Fifo);
        // SAFETY: F_GETFL on a live fd.
        let flags = unsafe { libc::fcntl(opened.fd.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0, "FIFOs stay non-blocking");
        // A write-only open with no reader: ENXIO, not a hang.
        let writer =
            OpenOptions { read: false, write: true, expect: FileType::Fifo, ..OpenOptions::regular(false, false) };
        drop(opened);
        assert_eq!(open(&path, writer).unwrap_err(), OpenError::Sys(Error::new(libc::ENXIO, "open")));
    }

    #[test]
    fn symlinks_directories_and_devices_are_refused() {
        let dir = TempDir::new("types");
        let target = dir.c("target");
        std::fs::write(target.to_str().unwrap(), b"x").unwrap();
        let link = dir.c("link");
        std::os::unix::fs::symlink(target.to_str().unwrap(), link.to_str().unwrap()).unwrap();
        assert_eq!(
            open(&link, OpenOptions::regular(true, false)).unwrap_err(),
            OpenError::WrongType(FileType::Symlink)
        );
        assert_eq!(open(&link, OpenOptions::regular(true, true)).unwrap().stat.size, 1, "followed when asked");
        let sub = dir.c("sub");
        std::fs::create_dir(sub.to_str().unwrap()).unwrap();
        assert_eq!(
            open(&sub, OpenOptions::regular(true, false)).unwrap_err(),
            OpenError::Sys(Error::new(libc::EISDIR, "open"))
        );
        assert_eq!(
            open(&sub, OpenOptions::regular(false, false)).unwrap_err(),
            OpenError::Sys(Error::new(libc::EISDIR, "open"))
        );
        assert_eq!(
            open(c"/dev/null", OpenOptions::regular(false, true)).unwrap_err(),
            OpenError::WrongType(FileType::CharDevice)
        );
        // A symlink to a device is refused after O_PATH: the device itself
        // is never opened.
        let to_device = dir.c("tty");
        std::os::unix::fs::symlink("/dev/tty", to_device.to_str().unwrap()).unwrap();
        assert_eq!(
            open(&to_device, OpenOptions::regular(true, true)).unwrap_err(),
            OpenError::WrongType(FileType::CharDevice)
        );
        let missing = dir.c("missing");
        assert_eq!(
            open(&missing, OpenOptions::regular(false, false)).unwrap_err(),
            OpenError::Sys(Error::new(libc::ENOENT, "open"))
        );
    }

    #[test]
    fn a_created_file_guard_removes_only_the_file_it_made_unless_kept() {
        let dir = TempDir::new("guard");
        let create = OpenOptions { create: Some(0o600), ..OpenOptions::regular(true, false) };
        let exists = |p: &CStr| std::path::Path::new(p.to_str().unwrap()).exists();

        let dropped = dir.c("dropped");
        let opened = open(&dropped, create).unwrap();
        drop(CreatedFile::guard(&dropped, &opened).expect("created"));
        assert!(!exists(&dropped), "removed when the call failed");

        let kept = dir.c("kept");
        let opened = open(&kept, create).unwrap();
        CreatedFile::guard(&kept, &opened).unwrap().keep();
        assert!(exists(&kept));
        let again = open(&kept, create).unwrap();
        assert!(CreatedFile::guard(&kept, &again).is_none(), "not created by this open");
        assert!(exists(&kept), "and not removed by asking");

        // Renamed away and replaced: the replacement is not ours to remove.
        let swapped = dir.c("swapped");
        let opened = open(&swapped, create).unwrap();
        let guard = CreatedFile::guard(&swapped, &opened).unwrap();
        std::fs::rename(swapped.to_str().unwrap(), dir.c("moved").to_str().unwrap()).unwrap();
        std::fs::write(swapped.to_str().unwrap(), b"theirs").unwrap();
        drop(guard);
        assert_eq!(std::fs::read(swapped.to_str().unwrap()).unwrap(), b"theirs");
    }

    #[test]
    fn open_or_create_makes_the_file_once_and_opens_it_afterwards() {
        let dir = TempDir::new("ooc");
        let path = dir.c("f");
        let how = OpenOptions { create: Some(0o600), ..OpenOptions::regular(true, true) };
        let first = open(&path, how).unwrap();
        assert!(first.created);
        let second = open(&path, how).unwrap();
        assert!(!second.created);
        assert_eq!((first.stat.dev, first.stat.ino), (second.stat.dev, second.stat.ino));
        let fifo = dir.c("p");
        mkfifo(&fifo);
        assert_eq!(open(&fifo, how).unwrap_err(), OpenError::WrongType(FileType::Fifo));
        // Never created through a dangling symlink, even when following.
        let dangling = dir.c("dangling");
        std::os::unix::fs::symlink(dir.0.join("target"), dangling.to_str().unwrap()).unwrap();
        assert_eq!(open(&dangling, how).unwrap_err(), OpenError::WrongType(FileType::Symlink));
        assert!(!dir.0.join("target").exists());
    }

    #[test]
    fn exclusive_create_makes_a_new_regular_file_and_never_follows() {
        let dir = TempDir::new("create");
        let path = dir.c("new");
        let create = OpenOptions { create: Some(0o600), exclusive: true, ..OpenOptions::regular(true, false) };
        let made = open(&path, create).unwrap();
        assert!(made.created);
        assert_eq!(made.stat.size, 0);
        assert_eq!(open(&path, create).unwrap_err(), OpenError::Sys(Error::new(libc::EEXIST, "open")));
        fchmod(made.fd.as_raw_fd(), 0o640).unwrap();
        assert_eq!(fstat(made.fd.as_raw_fd()).unwrap().mode, 0o640);
        // A dangling symlink in the way is EEXIST for an exclusive create:
        // nothing is created at its target.
        let link = dir.c("dangling");
        std::os::unix::fs::symlink(dir.0.join("elsewhere"), link.to_str().unwrap()).unwrap();
        assert_eq!(open(&link, create).unwrap_err(), OpenError::Sys(Error::new(libc::EEXIST, "open")));
        assert!(!dir.0.join("elsewhere").exists());
    }
}
