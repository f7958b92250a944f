//! Named POSIX semaphores, opened and mapped here instead of by glibc's
//! `sem_open`, so that a hostile or broken file cannot crash us.
//!
//! glibc keeps the semaphore "/NAME" as the file /dev/shm/sem.NAME, exactly
//! one `sem_t` long (32 bytes on 64-bit), and maps it MAP_SHARED. Its
//! layout (glibc >= 2.21, 64-bit) is `struct new_sem { uint64_t data; int
//! private; int pad; }` padded with zeros to `sizeof(sem_t)`: `data` holds
//! the value in its low 32 bits and the number of waiters in its high 32,
//! `private` is FUTEX_SHARED (128) for every semaphore sem_open makes.
//!
//! `sem_open` trusts that file blindly: it maps `sizeof(sem_t)` bytes of
//! whatever is there, so an empty or short file (anyone may create one in
//! /dev/shm) makes the first access a SIGBUS, and a FIFO there blocks the
//! opener forever. Here the file is opened through [`file::open`]
//! (non-blocking, no symlinks, regular files only), its size checked on the
//! very descriptor that is then mapped, and the mapping recorded in the
//! process-wide registry (so no shrink through this process can cut it).
//!
//! New semaphores are made as glibc makes them: the initial bytes (from
//! `sem_init(pshared = 1)`, so the layout is glibc's own) are written to a
//! uniquely named temporary file, which is then hard-linked to the final
//! name (failing with EEXIST if it exists) and unlinked. A semaphore is thus
//! never visible half-written, and C programs using `sem_open` on the same
//! name see the same semaphore. Unlike `sem_open`, the mode is applied
//! exactly (no umask), as for every object shmkit creates.
//!
//! What remains unguardable: another process truncating the file while it
//! is mapped (SIGBUS on the next access, as with any shared file), or
//! rewriting its bytes (every operation checks `private` before glibc sees
//! it; see [`RawSem::check`]).

use super::file::{self, FileType, OpenError, OpenOptions};
use super::map_registry;
use super::mman::{FileMapError, MapFlags, MapOptions, MmapRaw, Protection};
use super::sem::{RawSem, SEM_T_SIZE};
use super::{cvt_retry, Error};
use std::ffi::{CStr, CString};
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// Where glibc keeps named semaphores, and the prefix of their file names.
const SEM_PREFIX: &str = "/dev/shm/sem.";

/// How [`NamedSem::open`] creates a semaphore that does not exist yet.
#[derive(Debug, Clone, Copy)]
pub struct Create {
    /// O_EXCL: fail with EEXIST if the name is taken.
    pub exclusive: bool,
    pub mode: libc::mode_t,
    pub value: u32,
}

/// Why [`NamedSem::open`] gave no semaphore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenSemError {
    /// A system call failed (ENOENT, EEXIST, EACCES, EINVAL for a bad name...).
    Sys(Error),
    /// /dev/shm/sem.NAME is not a regular file (a FIFO, a directory, a
    /// symlink...); it was not used.
    WrongType(FileType),
    /// The file is shorter than a `sem_t`: mapping it would raise SIGBUS.
    TooShort { size: u64 },
    /// The bytes are not a process-shared `sem_t` (its `private` word is
    /// not FUTEX_SHARED): glibc would abort on them.
    NotASemaphore,
}

impl From<Error> for OpenSemError {
    fn from(e: Error) -> Self {
        OpenSemError::Sys(e)
    }
}

impl From<OpenError> for OpenSemError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Sys(e) => OpenSemError::Sys(relabel(e)),
            OpenError::WrongType(kind) => OpenSemError::WrongType(kind),
        }
    }
}

/// A failed open or link reported as sem_open's, as a C caller would see it.
fn relabel(e: Error) -> Error {
    Error::new(e.errno(), "sem_open")
}

/// /dev/shm/sem.NAME for "/NAME", refusing (EINVAL, as glibc) names that
/// could reach outside /dev/shm or that glibc would rewrite.
fn file_path(name: &CStr) -> Result<CString, Error> {
    let bytes = name.to_bytes();
    let rest = bytes.strip_prefix(b"/").ok_or(Error::new(libc::EINVAL, "sem_open"))?;
    // NAME_MAX (255) for the file name, "sem." included.
    let bad = rest.is_empty() || rest.contains(&b'/') || rest == b"." || rest == b".." || rest.len() > 251;
    if bad {
        return Err(Error::new(libc::EINVAL, "sem_open"));
    }
    let mut path = SEM_PREFIX.as_bytes().to_vec();
    path.extend_from_slice(rest);
    Ok(CString::new(path).expect("no NUL in a CStr"))
}

/// An open named semaphore: our own MAP_SHARED mapping of its file,
/// unmapped on drop (what `sem_close` does).
#[derive(Debug)]
pub struct NamedSem {
    sem: RawSem,
    /// Keeps the `sem_t` mapped for as long as `sem` is used.
    _memory: MmapRaw,
}

impl NamedSem {
    /// Opens `name` ("/name"), creating it when `create` says how.
    pub fn open(name: &CStr, create: Option<Create>) -> Result<Self, OpenSemError> {
        let path = file_path(name)?;
        let existing = OpenOptions::regular(true, false);
        // A concurrent unlink between EEXIST and the open of the existing
        // file makes the open fail with ENOENT; a few rounds settle it.
        let exclusive = create.is_some_and(|c| c.exclusive);
        for _ in 0..8 {
            if !exclusive {
                match file::open(&path, existing) {
                    Ok(opened) => return Self::map(opened),
                    Err(OpenError::Sys(e)) if e.errno() == libc::ENOENT => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let Some(how) = create else { return Err(OpenSemError::Sys(Error::new(libc::ENOENT, "sem_open"))) };
            match make(&path, how) {
                Ok(opened) => return Self::map(opened),
                Err(OpenSemError::Sys(e)) if e.errno() == libc::EEXIST && !how.exclusive => continue,
                Err(e) => return Err(e),
            }
        }
        Err(OpenSemError::Sys(Error::new(libc::EAGAIN, "sem_open")))
    }

    /// Checks the opened file and maps its `sem_t`.
    fn map(opened: file::Opened) -> Result<Self, OpenSemError> {
        let rw = MapOptions { protection: Protection::READ_WRITE, flags: MapFlags::SHARED, reserve: true };
        let mut registry = map_registry::lock();
        // The size is checked on this very descriptor, under the registry
        // lock, right before the mmap.
        let memory = MmapRaw::map_file(&mut registry, opened.fd.as_raw_fd(), 0, rw, |st| {
            if st.size < SEM_T_SIZE as u64 {
                Err(st.size)
            } else {
                Ok(SEM_T_SIZE)
            }
        })
        .map_err(|e| match e {
            FileMapError::Sys(e) => OpenSemError::Sys(e),
            FileMapError::NotRegular(kind) => OpenSemError::WrongType(kind),
            FileMapError::Refused(size) => OpenSemError::TooShort { size },
        })?;
        drop(registry);
        // A semaphore over private zeros would count on its own: crash as
        // before rather than let a truncation fake its value.
        memory.keep_truncation_fatal();
        let ptr = NonNull::new(memory.as_ptr().cast::<libc::sem_t>()).ok_or(Error::new(libc::EINVAL, "mmap"))?;
        // SAFETY: the mapping is page-aligned, SEM_T_SIZE bytes long and
        // stays mapped as long as `_memory`, which lives beside `sem`.
        let sem = unsafe { RawSem::from_ptr(ptr) };
        if sem.check().is_err() {
            return Err(OpenSemError::NotASemaphore);
        }
        Ok(NamedSem { sem, _memory: memory })
    }

    pub fn sem(&self) -> &RawSem {
        &self.sem
    }
}

/// A new semaphore at `path`, as glibc's sem_open makes one: written whole
/// to a temporary file, then linked into place. EEXIST if `path` exists.
fn make(path: &CStr, how: Create) -> Result<file::Opened, OpenSemError> {
    let temp = temp_path()?;
    let new = OpenOptions { create: Some(how.mode as u32), exclusive: true, ..OpenOptions::regular(true, false) };
    let opened = file::open(&temp, new)?;
    let result = (|| {
        file::fchmod(opened.fd.as_raw_fd(), how.mode as u32)?;
        let bytes = initial_bytes(how.value)?;
        let mut written = 0;
        while written < bytes.len() {
            // SAFETY: the buffer is valid for the remaining length.
            let n = cvt_retry(
                || unsafe {
                    libc::write(opened.fd.as_raw_fd(), bytes[written..].as_ptr().cast(), bytes.len() - written)
                        as libc::c_int
                },
                "write",
            )?;
            written += n as usize;
        }
        // SAFETY: both paths are NUL-terminated; link never follows or
        // replaces an existing name.
        cvt_retry(|| unsafe { libc::link(temp.as_ptr(), path.as_ptr()) }, "link").map_err(relabel)?;
        Ok::<(), Error>(())
    })();
    // SAFETY: temp is NUL-terminated; it is our own temporary name.
    unsafe { libc::unlink(temp.as_ptr()) };
    result?;
    Ok(file::Opened { created: true, ..opened })
}

/// A unique temporary name in /dev/shm for [`make`].
fn temp_path() -> Result<CString, Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 8];
    // SAFETY: the buffer is valid for 8 bytes; getrandom never blocks once
    // the pool is initialised, and a failure just leaves zeros (the pid and
    // counter keep the name unique, O_EXCL catches the rest).
    unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), libc::GRND_NONBLOCK) };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("/dev/shm/.shmkit-sem-{}-{n}-{:016x}", std::process::id(), u64::from_ne_bytes(random));
    Ok(CString::new(name).expect("no NUL"))
}

/// The `SEM_T_SIZE` bytes of a new process-shared semaphore of `value`,
/// laid out by glibc's own `sem_init`.
fn initial_bytes(value: u32) -> Result<[u8; SEM_T_SIZE], Error> {
    let mut sem = std::mem::MaybeUninit::<libc::sem_t>::zeroed();
    // SAFETY: a zeroed, aligned, local sem_t; sem_init only writes its fields.
    super::cvt(unsafe { libc::sem_init(sem.as_mut_ptr(), 1, value) }, "sem_init")?;
    // SAFETY: sem_t is plain bytes, fully initialised (zeroed, then set).
    Ok(unsafe { std::mem::transmute::<libc::sem_t, [u8; SEM_T_SIZE]>(sem.assume_init()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unique() -> (CString, String) {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("shmkit-rs-nsem-{}-{n}", std::process::id());
        (CString::new(format!("/{name}")).unwrap(), format!("/dev/shm/sem.{name}"))
    }

    fn create(value: u32) -> Option<Create> {
        Some(Create { exclusive: true, mode: 0o640, value })
    }

    #[test]
    fn interoperates_with_glibc_sem_open() {
        let (name, path) = unique();
        let ours = NamedSem::open(&name, create(2)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.len(), meta.permissions().mode() & 0o7777), (SEM_T_SIZE as u64, 0o640));
        // SAFETY: name is NUL-terminated; without O_CREAT no more arguments.
        let theirs = unsafe { libc::sem_open(name.as_ptr(), 0) };
        assert_ne!(theirs, libc::SEM_FAILED);
        // SAFETY: theirs is a live sem_t from sem_open.
        assert_eq!(unsafe { libc::sem_trywait(theirs) }, 0);
        assert_eq!(ours.sem().value(), 1);
        ours.sem().post().unwrap();
        let mut value = 0;
        // SAFETY: as above.
        unsafe { libc::sem_getvalue(theirs, &mut value) };
        assert_eq!(value, 2);
        // SAFETY: opened above, closed once.
        unsafe { libc::sem_close(theirs) };
        assert_eq!(
            NamedSem::open(&name, create(0)).unwrap_err(),
            OpenSemError::Sys(Error::new(libc::EEXIST, "sem_open"))
        );
        let again = NamedSem::open(&name, Some(Create { exclusive: false, mode: 0o600, value: 9 })).unwrap();
        assert_eq!(again.sem().value(), 2, "opening an existing one keeps its value");
        super::super::sem::unlink(&name).unwrap();
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::Sys(Error::new(libc::ENOENT, "sem_open")));
        let leftovers: Vec<_> = std::fs::read_dir("/dev/shm")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&format!(".shmkit-sem-{}-", std::process::id())))
            .collect();
        assert!(leftovers.is_empty(), "temporary files are removed");
    }

    #[test]
    fn hostile_files_are_refused_without_mapping_them() {
        let (name, path) = unique();
        std::fs::write(&path, b"").unwrap();
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::TooShort { size: 0 });
        std::fs::write(&path, [0u8; 7]).unwrap();
        assert_eq!(
            NamedSem::open(&name, create(1).map(|c| Create { exclusive: false, ..c })).unwrap_err(),
            OpenSemError::TooShort { size: 7 }
        );
        std::fs::write(&path, [0xffu8; SEM_T_SIZE]).unwrap();
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::NotASemaphore);
        std::fs::remove_file(&path).unwrap();

        let cpath = CString::new(path.clone()).unwrap();
        // SAFETY: cpath is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::WrongType(FileType::Fifo));
        std::fs::remove_file(&path).unwrap();

        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::WrongType(FileType::Symlink));
        std::fs::remove_file(&path).unwrap();

        std::fs::create_dir(&path).unwrap();
        assert_eq!(NamedSem::open(&name, None).unwrap_err(), OpenSemError::Sys(Error::new(libc::EISDIR, "sem_open")));
        std::fs::remove_dir(&path).unwrap();
    }

    #[test]
    fn names_that_escape_dev_shm_are_einval() {
        for bad in ["x", "/", "/a/b", "/..", "/."] {
            let name = CString::new(bad).unwrap();
            assert_eq!(
                NamedSem::open(&name, None).unwrap_err(),
                OpenSemError::Sys(Error::new(libc::EINVAL, "sem_open")),
                "{bad}"
            );
        }
        let long = CString::new(format!("/{}", "x".repeat(252))).unwrap();
        assert_eq!(NamedSem::open(&long, None).unwrap_err(), OpenSemError::Sys(Error::new(libc::EINVAL, "sem_open")));
    }
}
