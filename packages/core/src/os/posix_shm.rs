//! POSIX shared memory objects: `shm_open`, `ftruncate` + `fallocate`,
//! `fstat`, `shm_unlink`.
//!
//! The object's bytes are plain memory with no header, so C programs and
//! Python's `multiprocessing.shared_memory` see exactly what we see.
//!
//! Objects are opened the way glibc's `shm_open` does (the file
//! /dev/shm/NAME, O_NOFOLLOW, close-on-exec), but through
//! [`file::open`]: without blocking, and refusing anything that is not a
//! regular file. /dev/shm is writable by every user, and a FIFO squatting
//! on a name would otherwise hang the opener forever.

use super::file::{self, FileType, OpenError};
use super::map_registry::{self, ObjectId, Usage};
use super::{cvt, cvt_retry, Error, Result};

mod publish;
pub use publish::{create_unnamed, publish};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Where glibc and musl keep POSIX shared memory objects (a tmpfs).
pub const SHM_DIR: &str = "/dev/shm";

/// glibc refuses names whose part after the '/' is NAME_MAX bytes or more.
pub const NAME_MAX: usize = 255;

/// Why a name is refused, for the caller's error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    NoLeadingSlash,
    Empty,
    InnerSlash,
    TooLong,
    Nul,
    Dots,
    /// `/sem.NAME`: glibc keeps the named semaphore `/NAME` in that file.
    SemaphoreFile,
}

impl NameError {
    pub fn reason(self) -> &'static str {
        match self {
            NameError::NoLeadingSlash => "must start with '/'",
            NameError::Empty => "must have at least one character after '/'",
            NameError::InnerSlash => "must not contain '/' after the first character",
            NameError::TooLong => "must be at most 255 bytes long",
            NameError::Nul => "must not contain null bytes",
            NameError::Dots => "must not be '/.' or '/..'",
            NameError::SemaphoreFile => "must not start with '/sem.' (glibc's named semaphore files)",
        }
    }
}

/// Checks a shared memory object's name: a valid IPC name
/// ([`validate_ipc_name`]) outside the `sem.` files, which are named
/// semaphores: an object there would be read by `sem_open` as a semaphore,
/// and a semaphore mapped as an object.
pub fn validate_name(name: &str) -> std::result::Result<CString, NameError> {
    let c_name = validate_ipc_name(name)?;
    if name.starts_with("/sem.") {
        return Err(NameError::SemaphoreFile);
    }
    Ok(c_name)
}

/// Checks a POSIX IPC name: exactly one leading '/', no other '/', not
/// empty, not a dot entry, at most NAME_MAX bytes in all. Anything else
/// could resolve to a path outside /dev/shm or be silently rewritten.
pub fn validate_ipc_name(name: &str) -> std::result::Result<CString, NameError> {
    let rest = name.strip_prefix('/').ok_or(NameError::NoLeadingSlash)?;
    if rest.is_empty() {
        return Err(NameError::Empty);
    }
    if rest.contains('/') {
        return Err(NameError::InnerSlash);
    }
    if rest == "." || rest == ".." {
        return Err(NameError::Dots);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    CString::new(name).map_err(|_| NameError::Nul)
}

/// How to open an object.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Create it if it does not exist.
    pub create: bool,
    /// With `create`: fail with EEXIST if it exists.
    pub exclusive: bool,
    pub read_only: bool,
    /// Permission bits for a new object, applied exactly (no umask).
    pub mode: u32,
}

/// An open object: its descriptor (closed on drop) and whether this call
/// created it.
#[derive(Debug)]
pub struct Opened {
    pub fd: OwnedFd,
    pub created: bool,
}

/// file::open, with a failed open reported as shm_open's, as C would see it.
fn open_object(path: &CString, options: file::OpenOptions) -> std::result::Result<file::Opened, OpenError> {
    file::open(path, options).map_err(|e| match e {
        OpenError::Sys(e) if e.syscall() == "open" => OpenError::Sys(Error::new(e.errno(), "shm_open")),
        other => other,
    })
}

/// /dev/shm/NAME for a validated name ("/NAME").
fn object_path(name: &CString) -> CString {
    let mut path = SHM_DIR.as_bytes().to_vec();
    path.extend_from_slice(name.as_bytes());
    CString::new(path).expect("a validated name holds no NUL")
}

/// shm_open with create / exclusive / open-or-create semantics, refusing
/// anything but a regular file ([`OpenError::WrongType`]).
///
/// Open-or-create first tries an exclusive create so that we know whether
/// we made the object (and may apply the mode or remove it on failure).
pub fn open(name: &CString, options: OpenOptions) -> std::result::Result<Opened, OpenError> {
    let path = object_path(name);
    let existing = file::OpenOptions {
        read: true,
        write: !options.read_only,
        create: None,
        exclusive: false,
        follow: false,
        expect: FileType::Regular,
    };
    if !options.create {
        return Ok(Opened { fd: open_object(&path, existing)?.fd, created: false });
    }
    let new = file::OpenOptions { create: Some(options.mode), exclusive: true, ..existing };
    // A concurrent unlink between our EEXIST and the plain open can make the
    // plain open fail with ENOENT; a few rounds settle it.
    for _ in 0..8 {
        match open_object(&path, new) {
            Ok(made) => {
                // open applies the umask; the caller asked for this mode.
                file::fchmod(made.fd.as_raw_fd(), options.mode)?;
                return Ok(Opened { fd: made.fd, created: true });
            }
            Err(OpenError::Sys(e)) if e.errno() == libc::EEXIST && !options.exclusive => {
                match open_object(&path, existing) {
                    Ok(found) => return Ok(Opened { fd: found.fd, created: false }),
                    Err(OpenError::Sys(e)) if e.errno() == libc::ENOENT => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(OpenError::Sys(Error::new(libc::EAGAIN, "shm_open")))
}

pub fn unlink(name: &CString) -> Result<()> {
    // SAFETY: name is a valid C string.
    cvt(unsafe { libc::shm_unlink(name.as_ptr()) }, "shm_unlink").map(drop)
}

/// What fstat says about an object.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub fn stat(fd: RawFd) -> Result<Stat> {
    // SAFETY: all-zero is a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a writable stat buffer; a bad fd is reported via errno.
    cvt(unsafe { libc::fstat(fd, &mut st) }, "fstat")?;
    Ok(Stat { size: st.st_size as u64, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid })
}

/// Sets the size to `size` bytes. Growing reserves the memory (fallocate)
/// when `reserve` is set, so that a full tmpfs fails here with ENOSPC
/// instead of raising SIGBUS on the first write to a page that cannot be
/// allocated; without it the object grows sparse (pages are allocated when
/// first touched). Shrinking frees the memory past the new end.
pub fn resize(fd: RawFd, size: u64, reserve: bool) -> Result<()> {
    let len = libc::off_t::try_from(size).map_err(|_| Error::new(libc::EFBIG, "ftruncate"))?;
    let current = stat(fd)?.size;
    if reserve && size > current {
        allocate(fd, len)?;
    }
    // fallocate already grew the file; ftruncate also handles shrinking and
    // file systems without fallocate.
    // SAFETY: fd is a descriptor the caller owns.
    cvt_retry(|| unsafe { libc::ftruncate(fd, len) }, "ftruncate").map(drop)
}

/// Why [`resize_checked`] did not resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeError {
    Sys(Error),
    /// This process maps the object past the requested size: shrinking
    /// would turn its next touch there into SIGBUS.
    Busy(Usage),
}

impl From<Error> for ResizeError {
    fn from(e: Error) -> Self {
        ResizeError::Sys(e)
    }
}

/// [`resize`], refusing to shrink the object below what any live mapping in
/// this process reaches (see [`map_registry`]).
pub fn resize_checked(fd: RawFd, size: u64, reserve: bool) -> std::result::Result<(), ResizeError> {
    if size >= stat(fd)?.size {
        // Growing never endangers a mapping; fallocate may take long, so
        // the registry is not held for it.
        return Ok(resize(fd, size, reserve)?);
    }
    // Held from the check to the ftruncate: no mapping can appear between.
    let registry = map_registry::lock();
    let st = file::fstat(fd)?;
    if let Some(usage) = registry.usage(ObjectId { dev: st.dev, ino: st.ino }) {
        if size < usage.extent {
            return Err(ResizeError::Busy(usage));
        }
    }
    resize(fd, size, reserve)?;
    drop(registry);
    Ok(())
}

/// Allocates every page of `0..len`. tmpfs supports this since Linux 3.5;
/// where a file system does not, the size is set without a reservation.
fn allocate(fd: RawFd, len: libc::off_t) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: fd is a descriptor the caller owns; mode 0 allocates and
    // extends the size.
    match cvt_retry(|| unsafe { libc::fallocate(fd, 0, 0, len) }, "fallocate") {
        Ok(_) => Ok(()),
        Err(e) if e.errno() == libc::EOPNOTSUPP => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unique(tag: &str) -> CString {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        CString::new(format!("/shmkit-rs-{tag}-{}-{n}", std::process::id())).unwrap()
    }

    fn opts(create: bool, exclusive: bool) -> OpenOptions {
        OpenOptions { create, exclusive, read_only: false, mode: 0o600 }
    }

    #[test]
    fn names() {
        assert!(validate_name("/ok").is_ok());
        assert_eq!(validate_name("ok"), Err(NameError::NoLeadingSlash));
        assert_eq!(validate_name("/"), Err(NameError::Empty));
        assert_eq!(validate_name("/a/b"), Err(NameError::InnerSlash));
        assert_eq!(validate_name("//a"), Err(NameError::InnerSlash));
        assert_eq!(validate_name("/.."), Err(NameError::Dots));
        assert_eq!(validate_name("/a\0b"), Err(NameError::Nul));
        let long = format!("/{}", "x".repeat(254));
        assert!(validate_name(&long).is_ok());
        assert_eq!(validate_name(&format!("{long}x")), Err(NameError::TooLong));
        assert_eq!(validate_name("/sem.x"), Err(NameError::SemaphoreFile));
        assert!(validate_name("/sem").is_ok() && validate_name("/semx").is_ok() && validate_name("/x.sem.").is_ok());
        assert!(validate_ipc_name("/sem.x").is_ok(), "other IPC names may start with sem.");
    }

    #[test]
    fn create_exclusive_open_resize_unlink() {
        let name = unique("a");
        let made = open(&name, opts(true, true)).unwrap();
        assert!(made.created);
        assert_eq!(stat(made.fd.as_raw_fd()).unwrap().mode, 0o600);
        assert_eq!(open(&name, opts(true, true)).unwrap_err(), OpenError::Sys(Error::new(libc::EEXIST, "shm_open")));
        let again = open(&name, opts(true, false)).unwrap();
        assert!(!again.created);
        resize(made.fd.as_raw_fd(), 10_000, true).unwrap();
        assert_eq!(stat(again.fd.as_raw_fd()).unwrap().size, 10_000);
        resize(made.fd.as_raw_fd(), 100, true).unwrap();
        assert_eq!(stat(again.fd.as_raw_fd()).unwrap().size, 100);
        unlink(&name).unwrap();
        assert_eq!(unlink(&name).unwrap_err().code(), "ENOENT");
        assert_eq!(open(&name, opts(false, false)).unwrap_err(), OpenError::Sys(Error::new(libc::ENOENT, "shm_open")));
    }

    #[test]
    fn open_refuses_what_is_not_a_regular_file_without_blocking() {
        let name = unique("fifo");
        let path = object_path(&name);
        // SAFETY: path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let read_only = OpenOptions { create: false, exclusive: false, read_only: true, mode: 0 };
        assert_eq!(open(&name, read_only).unwrap_err(), OpenError::WrongType(FileType::Fifo));
        assert_eq!(open(&name, opts(true, false)).unwrap_err(), OpenError::WrongType(FileType::Fifo));
        assert_eq!(open(&name, opts(true, true)).unwrap_err(), OpenError::Sys(Error::new(libc::EEXIST, "shm_open")));
        std::fs::remove_file(path.to_str().unwrap()).unwrap();

        let link = unique("link");
        let target = unique("target");
        open(&target, opts(true, true)).unwrap();
        std::os::unix::fs::symlink(object_path(&target).to_str().unwrap(), object_path(&link).to_str().unwrap())
            .unwrap();
        assert_eq!(open(&link, opts(false, false)).unwrap_err(), OpenError::WrongType(FileType::Symlink));
        std::fs::remove_file(object_path(&link).to_str().unwrap()).unwrap();
        unlink(&target).unwrap();

        let dir = unique("dir");
        std::fs::create_dir(object_path(&dir).to_str().unwrap()).unwrap();
        assert_eq!(open(&dir, read_only).unwrap_err(), OpenError::Sys(Error::new(libc::EISDIR, "shm_open")));
        assert_eq!(open(&dir, opts(false, false)).unwrap_err(), OpenError::Sys(Error::new(libc::EISDIR, "shm_open")));
        std::fs::remove_dir(object_path(&dir).to_str().unwrap()).unwrap();
    }

    #[test]
    fn shrinking_under_a_live_mapping_is_refused() {
        use super::super::mman::{MapFlags, MapOptions, MmapRaw, Protection};
        let name = unique("busy");
        let made = open(&name, opts(true, true)).unwrap();
        let fd = made.fd.as_raw_fd();
        let page = super::super::page_size() as u64;
        resize_checked(fd, 4 * page, true).unwrap();
        let rw = MapOptions { protection: Protection::READ_WRITE, flags: MapFlags::SHARED, reserve: true };
        let one_page = |_: &file::Stat| Ok::<usize, ()>(page as usize);
        let map = MmapRaw::map_file(&mut map_registry::lock(), fd, page, rw, one_page).unwrap();
        // The same object opened by path elsewhere counts too.
        let other =
            std::fs::OpenOptions::new().read(true).write(true).open(object_path(&name).to_str().unwrap()).unwrap();
        let map2 = MmapRaw::map_file(&mut map_registry::lock(), other.as_raw_fd(), 0, rw, one_page).unwrap();
        assert_eq!(
            resize_checked(fd, 2 * page - 1, true),
            Err(ResizeError::Busy(Usage { mappings: 2, extent: 2 * page }))
        );
        assert_eq!(stat(fd).unwrap().size, 4 * page, "nothing changed");
        resize_checked(fd, 2 * page, true).unwrap();
        drop(map);
        assert_eq!(resize_checked(fd, page - 1, true), Err(ResizeError::Busy(Usage { mappings: 1, extent: page })));
        drop(map2);
        resize_checked(fd, 0, true).unwrap();
        resize_checked(fd, page, true).unwrap();
        unlink(&name).unwrap();
    }

    #[test]
    fn resize_without_reserve_grows_sparse() {
        let blocks = |fd: RawFd| {
            // SAFETY: all-zero is a valid `struct stat`; fd is live.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: st is a writable stat buffer.
            assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
            st.st_blocks as u64 * 512
        };
        let name = unique("s");
        let made = open(&name, opts(true, true)).unwrap();
        let fd = made.fd.as_raw_fd();
        resize(fd, 64 << 20, false).unwrap();
        assert_eq!(stat(fd).unwrap().size, 64 << 20);
        assert!(blocks(fd) < 1 << 20, "a sparse object holds no pages yet");
        resize(fd, 128 << 20, true).unwrap();
        assert!(blocks(fd) >= 128 << 20, "a reserved one holds all of them");
        unlink(&name).unwrap();
    }

    #[test]
    fn mode_ignores_umask() {
        let name = unique("m");
        let made = open(&name, OpenOptions { create: true, exclusive: true, read_only: false, mode: 0o666 }).unwrap();
        assert_eq!(stat(made.fd.as_raw_fd()).unwrap().mode, 0o666);
        unlink(&name).unwrap();
    }
}
