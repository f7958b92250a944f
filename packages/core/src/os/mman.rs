//! Owned memory mappings: `mmap`/`shmat` in, `munmap`/`shmdt` on drop.

use super::bus_guard;
use super::file::{self, FileType};
use super::map_registry::{self, ObjectId, Registration, Span};
use super::{cvt, page_floor, page_size, Error, Result};
use std::os::fd::RawFd;
use std::ptr::NonNull;

/// How a mapping is released when its owner drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// `munmap(addr, len)`.
    Munmap,
    /// `shmdt(addr)`: a System V attachment.
    Shmdt,
}

/// Memory protection, as `PROT_*` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection(libc::c_int);

impl Protection {
    pub const NONE: Protection = Protection(libc::PROT_NONE);
    pub const READ: Protection = Protection(libc::PROT_READ);
    pub const READ_WRITE: Protection = Protection(libc::PROT_READ | libc::PROT_WRITE);

    pub fn from_bits(read: bool, write: bool, exec: bool) -> Self {
        let mut bits = libc::PROT_NONE;
        if read {
            bits |= libc::PROT_READ;
        }
        if write {
            bits |= libc::PROT_WRITE;
        }
        if exec {
            bits |= libc::PROT_EXEC;
        }
        Protection(bits)
    }

    pub fn bits(self) -> libc::c_int {
        self.0
    }

    pub fn readable(self) -> bool {
        self.0 & libc::PROT_READ != 0
    }

    pub fn writable(self) -> bool {
        self.0 & libc::PROT_WRITE != 0
    }
}

/// Defines a set of C flag bits with named members and `|`, as nix's
/// bitflags types do for these calls.
macro_rules! flag_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $flag:ident = $value:expr;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(libc::c_int);

        impl $name {
            $($(#[$fdoc])* pub const $flag: $name = $name($value);)*

            pub const fn bits(self) -> libc::c_int {
                self.0
            }

            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }
    };
}

flag_set! {
    /// `mmap` flags.
    MapFlags {
        /// Writes reach the file and every process that maps it.
        SHARED = libc::MAP_SHARED;
        /// Copy on write: writes stay in this process.
        PRIVATE = libc::MAP_PRIVATE;
        /// Fault every page in up front.
        POPULATE = libc::MAP_POPULATE;
    }
}

impl MapFlags {
    /// MAP_SHARED or MAP_PRIVATE.
    pub const fn sharing(shared: bool) -> MapFlags {
        if shared {
            MapFlags::SHARED
        } else {
            MapFlags::PRIVATE
        }
    }
}

flag_set! {
    /// `msync` flags: [`MsFlags::SYNC`] or [`MsFlags::ASYNC`], optionally
    /// with [`MsFlags::INVALIDATE`].
    MsFlags {
        /// Wait until the pages are written.
        SYNC = libc::MS_SYNC;
        /// Schedule the write and return.
        ASYNC = libc::MS_ASYNC;
        /// Drop other mappings' cached copies of the file's pages.
        INVALIDATE = libc::MS_INVALIDATE;
    }
}

/// Options for mapping a file descriptor.
#[derive(Debug, Clone, Copy)]
pub struct MapOptions {
    pub protection: Protection,
    /// [`MapFlags::SHARED`] or [`MapFlags::PRIVATE`], maybe with
    /// [`MapFlags::POPULATE`].
    pub flags: MapFlags,
    /// For a shared writable mapping of a file with holes: allocate them
    /// first (fallocate, keeping the size), so that a full file system
    /// fails here with ENOSPC instead of with SIGBUS at the first write to a
    /// hole. Meant for memory-backed files (tmpfs), where a hole costs
    /// nothing until written and a write that finds no memory is SIGBUS.
    pub reserve: bool,
}

/// One mapped region, released when dropped.
///
/// The memory is plain shared or private memory: other threads and processes
/// may write it at any time, so it is only ever handed out as raw pointers and
/// JS ArrayBuffers, never as Rust references.
#[derive(Debug)]
pub struct MmapRaw {
    ptr: NonNull<u8>,
    len: usize,
    release: Release,
    /// The file-backed mapping's entry in the process-wide registry, removed
    /// (as a field, after `drop` has unmapped) only once the memory is gone.
    registration: Option<Registration>,
    /// A file mapping's SIGBUS guard: released in `drop` before the munmap.
    guard: Option<bus_guard::Guard>,
}

// SAFETY: MmapRaw only owns the address range; access to the bytes is through
// raw pointers whose synchronisation is the user's business, exactly as with
// the memory of another process. Unmapping is a syscall safe from any thread.
unsafe impl Send for MmapRaw {}
// SAFETY: see Send; &MmapRaw hands out nothing but the address and length.
unsafe impl Sync for MmapRaw {}

impl MmapRaw {
    /// Maps `len` bytes of zeroed anonymous memory, shared with children that
    /// inherit it (MAP_SHARED) or private to this process.
    pub fn anonymous(len: usize, shared: bool) -> Result<Self> {
        let flags = MapFlags::sharing(shared).bits() | libc::MAP_ANONYMOUS;
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // cannot alias any memory Rust knows about.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, Protection::READ_WRITE.bits(), flags, -1, 0) };
        Self::from_mmap_result(ptr, len)
    }

    /// Maps `len` bytes of `fd` starting at the page-aligned `offset`.
    pub fn map_fd(fd: RawFd, offset: u64, len: usize, options: MapOptions) -> Result<Self> {
        if len == 0 || offset % page_size() as u64 != 0 {
            return Err(Error::new(libc::EINVAL, "mmap"));
        }
        let offset = libc::off_t::try_from(offset).map_err(|_| Error::new(libc::EOVERFLOW, "mmap"))?;
        // SAFETY: the kernel picks the address, so no existing memory is
        // replaced; an invalid fd or range is reported through errno.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, options.protection.bits(), options.flags.bits(), fd, offset)
        };
        Self::from_mmap_result(ptr, len)
    }

    fn from_mmap_result(ptr: *mut libc::c_void, len: usize) -> Result<Self> {
        let ptr = cvt(ptr, "mmap")?;
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(Error::new(libc::EINVAL, "mmap"))?;
        Ok(MmapRaw { ptr, len, release: Release::Munmap, registration: None, guard: None })
    }

    /// Maps part of the regular file behind `fd` from the page-aligned
    /// `offset` and records the mapping in the registry. `length` sees what
    /// fstat says about the file right before the mmap and decides how many
    /// bytes to map, or refuses: it is where the caller keeps the whole range
    /// inside the file (a page past its end would raise SIGBUS when touched).
    ///
    /// `registry` must be held from before the caller last changed the
    /// file's size, so the size checked is the size mapped.
    pub fn map_file<E>(
        registry: &mut map_registry::Locked,
        fd: RawFd,
        offset: u64,
        options: MapOptions,
        length: impl FnOnce(&file::Stat) -> std::result::Result<usize, E>,
    ) -> std::result::Result<Self, FileMapError<E>> {
        let stat = file::fstat(fd)?;
        if stat.kind != FileType::Regular {
            return Err(FileMapError::NotRegular(stat.kind));
        }
        let len = length(&stat).map_err(FileMapError::Refused)?;
        if options.reserve
            && options.flags.contains(MapFlags::SHARED)
            && options.protection.writable()
            && stat.allocated < stat.size
        {
            reserve_range(fd, offset, len as u64)?;
        }
        let mut memory = Self::map_fd(fd, offset, len, options)?;
        let object = ObjectId { dev: stat.dev, ino: stat.ino };
        memory.registration = Some(registry.register(object, Span { offset, len: len as u64 }));
        // Another process may truncate the file: survive it (bus_guard.rs).
        memory.guard = bus_guard::guard(bus_guard::Mapped {
            fd,
            offset,
            start: memory.address(),
            len,
            protection: options.protection.bits(),
        });
        Ok(memory)
    }

    /// Whether a page of this mapping was found cut off by a truncation of
    /// its file: from there on it holds private zero pages (bus_guard.rs).
    pub fn truncated(&self) -> bool {
        self.guard.as_ref().is_some_and(bus_guard::Guard::hit)
    }

    /// Leaves a truncation of the file fatal for this mapping (SIGBUS, as
    /// without the guard): for memory holding primitives whose callers
    /// could not be told that their words turned into private zeros.
    pub fn keep_truncation_fatal(&self) {
        if let Some(guard) = &self.guard {
            guard.keep_fatal();
        }
    }

    /// The object this mapping maps, when it came from [`MmapRaw::map_file`].
    pub fn object(&self) -> Option<ObjectId> {
        self.registration.as_ref().map(Registration::object)
    }

    /// Takes ownership of a region some other call mapped.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be a live mapping that nothing else will release,
    /// created by the call that `release` undoes (mmap for Munmap, shmat for
    /// Shmdt).
    pub unsafe fn from_raw_parts(ptr: NonNull<u8>, len: usize, release: Release) -> Self {
        MmapRaw { ptr, len, release, registration: None, guard: None }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn address(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub fn release_kind(&self) -> Release {
        self.release
    }

    /// The page-aligned span covering `offset..offset+len`, as (address, length).
    fn page_span(&self, offset: usize, len: usize) -> Result<(*mut libc::c_void, usize)> {
        let end = offset.checked_add(len).filter(|&end| end <= self.len);
        let end = end.ok_or(Error::new(libc::EINVAL, "range"))?;
        let start = page_floor(offset);
        // SAFETY: start <= offset <= self.len, so the pointer stays inside
        // (or one past) the mapping.
        let addr = unsafe { self.ptr.as_ptr().add(start) };
        Ok((addr.cast(), end - start))
    }

    /// msync over `offset..offset+len`, widened to whole pages.
    pub fn flush(&self, offset: usize, len: usize, flags: MsFlags) -> Result<()> {
        let (addr, span) = self.page_span(offset, len).map_err(|e| Error::new(e.errno(), "msync"))?;
        // SAFETY: addr..addr+span lies inside this live mapping.
        cvt(unsafe { libc::msync(addr, span, flags.bits()) }, "msync").map(drop)
    }

    /// mprotect over `offset..offset+len`, widened to whole pages.
    pub fn protect(&self, offset: usize, len: usize, protection: Protection) -> Result<()> {
        let (addr, span) = self.page_span(offset, len).map_err(|e| Error::new(e.errno(), "mprotect"))?;
        // SAFETY: addr..addr+span lies inside this live mapping; callers that
        // expose it to JS make sure no view can touch it while unreadable.
        cvt(unsafe { libc::mprotect(addr, span, protection.bits()) }, "mprotect").map(drop)
    }

    /// madvise over `offset..offset+len`, widened to whole pages.
    pub fn advise(&self, offset: usize, len: usize, advice: Advice) -> Result<()> {
        let (addr, span) = self.page_span(offset, len).map_err(|e| Error::new(e.errno(), "madvise"))?;
        // SAFETY: addr..addr+span lies inside this live mapping; the advice
        // values the glue accepts never discard data that a view relies on
        // except MADV_DONTNEED, whose effect (re-reading the backing store or
        // zero pages) is documented.
        cvt(unsafe { libc::madvise(addr, span, advice.as_raw()) }, "madvise").map(drop)
    }

    /// mincore over `offset..offset+len`, widened to whole pages: one entry
    /// per page, true when the page is resident in memory right now.
    pub fn residency(&self, offset: usize, len: usize) -> Result<Vec<bool>> {
        let (addr, span) = self.page_span(offset, len).map_err(|e| Error::new(e.errno(), "mincore"))?;
        let mut vec = vec![0u8; span.div_ceil(page_size())];
        if span > 0 {
            // SAFETY: addr..addr+span lies inside this live mapping, and `vec`
            // has one byte for each of its pages, as mincore writes.
            cvt(unsafe { libc::mincore(addr, span, vec.as_mut_ptr()) }, "mincore")?;
        }
        // Only the lowest bit is defined; the others are reserved.
        Ok(vec.into_iter().map(|b| b & 1 != 0).collect())
    }
}

/// Allocates the holes of `offset..offset+len` without changing the file's
/// size. File systems that cannot (EOPNOTSUPP) are left as they are.
fn reserve_range(fd: RawFd, offset: u64, len: u64) -> Result<()> {
    let (Ok(from), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(Error::new(libc::EFBIG, "fallocate"));
    };
    // SAFETY: fallocate only touches the file behind fd.
    match super::cvt_retry(|| unsafe { libc::fallocate(fd, libc::FALLOC_FL_KEEP_SIZE, from, len) }, "fallocate") {
        Ok(_) => Ok(()),
        Err(e) if e.errno() == libc::EOPNOTSUPP => Ok(()),
        Err(e) => Err(e),
    }
}

/// Why [`MmapRaw::map_file`] did not map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMapError<E> {
    /// fstat, fallocate or mmap failed.
    Sys(Error),
    /// Not a regular file: only those have a size that keeps a mapping
    /// safe from SIGBUS.
    NotRegular(FileType),
    /// The caller's `length` refused the range.
    Refused(E),
}

impl<E> From<Error> for FileMapError<E> {
    fn from(e: Error) -> Self {
        FileMapError::Sys(e)
    }
}

impl Drop for MmapRaw {
    fn drop(&mut self) {
        // First: the guard's drop waits out a SIGBUS handler that may be
        // mapping over this range, which must not happen once it is unmapped.
        drop(self.guard.take());
        let (ret, call) = match self.release {
            // SAFETY: we own this mapping, and nothing uses it after drop.
            Release::Munmap => (unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) }, "munmap"),
            // SAFETY: as above; ptr is the address shmat returned.
            Release::Shmdt => (unsafe { libc::shmdt(self.ptr.as_ptr().cast()) }, "shmdt"),
        };
        debug_assert_eq!(ret, 0, "releasing a mapping failed: {}", Error::last(call));
    }
}

/// The `madvise` advice shmkit accepts (nix: `MmapAdvise`).
///
/// Only advice that can neither lose data another process relies on nor make
/// a later access fault is listed. Left out on purpose: MADV_REMOVE (punches
/// a hole in the backing file or shm object for every process), MADV_FREE
/// (private pages may turn to zeros at any later moment: a silent race),
/// MADV_HWPOISON/MADV_SOFT_OFFLINE (poison pages; the next touch is SIGBUS),
/// MADV_GUARD_INSTALL (the next touch is SIGSEGV), MADV_WIPEONFORK and
/// MADV_DONTNEED_LOCKED (anonymous-only variants of what is here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
    HugePage,
    NoHugePage,
    DontFork,
    DoFork,
    DontDump,
    DoDump,
    Mergeable,
    Unmergeable,
    Cold,
    PageOut,
    PopulateRead,
    PopulateWrite,
}

// Linux UAPI values (asm-generic/mman-common.h); newer than the libc crate
// this builds against. Older kernels answer EINVAL, which is reported.
const MADV_COLD: libc::c_int = 20;
const MADV_PAGEOUT: libc::c_int = 21;
const MADV_POPULATE_READ: libc::c_int = 22;
const MADV_POPULATE_WRITE: libc::c_int = 23;

impl Advice {
    /// Every advice with the name JS gives it.
    pub const ALL: &'static [(&'static str, Advice)] = &[
        ("normal", Advice::Normal),
        ("random", Advice::Random),
        ("sequential", Advice::Sequential),
        ("willneed", Advice::WillNeed),
        ("dontneed", Advice::DontNeed),
        ("hugepage", Advice::HugePage),
        ("nohugepage", Advice::NoHugePage),
        ("dontfork", Advice::DontFork),
        ("dofork", Advice::DoFork),
        ("dontdump", Advice::DontDump),
        ("dodump", Advice::DoDump),
        ("mergeable", Advice::Mergeable),
        ("unmergeable", Advice::Unmergeable),
        ("cold", Advice::Cold),
        ("pageout", Advice::PageOut),
        ("populate-read", Advice::PopulateRead),
        ("populate-write", Advice::PopulateWrite),
    ];

    /// The advice JS names `name`.
    pub fn from_name(name: &str) -> Option<Advice> {
        Advice::ALL.iter().find(|(n, _)| *n == name).map(|&(_, a)| a)
    }

    pub const fn as_raw(self) -> libc::c_int {
        match self {
            Advice::Normal => libc::MADV_NORMAL,
            Advice::Random => libc::MADV_RANDOM,
            Advice::Sequential => libc::MADV_SEQUENTIAL,
            Advice::WillNeed => libc::MADV_WILLNEED,
            Advice::DontNeed => libc::MADV_DONTNEED,
            Advice::HugePage => libc::MADV_HUGEPAGE,
            Advice::NoHugePage => libc::MADV_NOHUGEPAGE,
            Advice::DontFork => libc::MADV_DONTFORK,
            Advice::DoFork => libc::MADV_DOFORK,
            Advice::DontDump => libc::MADV_DONTDUMP,
            Advice::DoDump => libc::MADV_DODUMP,
            Advice::Mergeable => libc::MADV_MERGEABLE,
            Advice::Unmergeable => libc::MADV_UNMERGEABLE,
            Advice::Cold => MADV_COLD,
            Advice::PageOut => MADV_PAGEOUT,
            Advice::PopulateRead => MADV_POPULATE_READ,
            Advice::PopulateWrite => MADV_POPULATE_WRITE,
        }
    }
}

/// True when `fd` lives on tmpfs (/dev/shm, often /tmp): memory-backed, so
/// running out of space there shows up as SIGBUS on first write.
pub fn on_tmpfs(fd: RawFd) -> Result<bool> {
    const TMPFS_MAGIC: libc::c_long = 0x0102_1994;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: st is a valid out pointer; an invalid fd is reported via errno.
    cvt(unsafe { libc::fstatfs(fd, st.as_mut_ptr()) }, "fstatfs")?;
    // SAFETY: fstatfs succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() }.f_type as libc::c_long == TMPFS_MAGIC)
}

/// Grows the file to `size` bytes if it is shorter. Never shrinks it:
/// cutting a file that someone has mapped makes their next touch past the
/// new end a SIGBUS.
///
/// With `reserve`, the new bytes are allocated up front (fallocate), so a
/// full file system fails here with ENOSPC instead of with SIGBUS when a
/// page is first written. Without it the file grows sparse (ftruncate),
/// which costs nothing until written. File systems that cannot fallocate
/// (EOPNOTSUPP) grow sparse either way.
pub fn extend_file(fd: RawFd, size: u64, reserve: bool) -> Result<file::Stat> {
    let stat = file::fstat(fd)?;
    if stat.size >= size {
        return Ok(stat);
    }
    let len = libc::off_t::try_from(size).map_err(|_| Error::new(libc::EFBIG, "ftruncate"))?;
    if reserve && stat.kind == FileType::Regular {
        let from = stat.size as libc::off_t;
        // SAFETY: fallocate only touches the file behind fd; mode 0 also
        // extends its size, and fails without changing it on ENOSPC.
        match super::cvt_retry(|| unsafe { libc::fallocate(fd, 0, from, len - from) }, "fallocate") {
            Ok(_) => return Ok(file::Stat { size, ..stat }),
            Err(e) if e.errno() == libc::EOPNOTSUPP => {}
            Err(e) => return Err(e),
        }
    }
    // SAFETY: ftruncate only touches the file behind fd.
    super::cvt_retry(|| unsafe { libc::ftruncate(fd, len) }, "ftruncate")?;
    Ok(file::Stat { size, ..stat })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::AsRawFd;

    fn is_mapped(addr: usize) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().any(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            (lo..hi).contains(&addr)
        })
    }

    /// Whether `addr` lies in a mapping of the file with inode `ino`. Unlike
    /// `is_mapped`, another test thread mapping the freed range meanwhile
    /// (tests run in parallel) does not count.
    fn maps_file_at(addr: usize, ino: u64) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().any(|line| {
            let mut fields = line.split_whitespace();
            let (lo, hi) = fields.next().unwrap().split_once('-').unwrap();
            let inode = fields.nth(3).and_then(|f| f.parse::<u64>().ok());
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            (lo..hi).contains(&addr) && inode == Some(ino)
        })
    }

    fn temp_file(len: u64) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("shmkit-mman-{}-{}", std::process::id(), rand_suffix()));
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file.set_len(len).unwrap();
        file
    }

    #[test]
    fn residency_reports_touched_pages_only() {
        let page = page_size();
        let m = MmapRaw::anonymous(4 * page, false).unwrap();
        assert_eq!(m.residency(0, 4 * page).unwrap(), vec![false; 4]);
        // SAFETY: pages 1 and 3 lie inside the mapping, which is read+write.
        unsafe {
            m.as_ptr().add(page).write(1);
            m.as_ptr().add(3 * page + 10).write(1);
        }
        assert_eq!(m.residency(0, 4 * page).unwrap(), vec![false, true, false, true]);
        // Widened to whole pages: one byte of page 3 is all of page 3.
        assert_eq!(m.residency(3 * page + 1, 1).unwrap(), vec![true]);
        assert_eq!(m.residency(page, 0).unwrap(), Vec::<bool>::new());
        assert_eq!(m.residency(0, 5 * page).unwrap_err().errno(), libc::EINVAL);
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn anonymous_mapping_is_zeroed_writable_and_unmapped_on_drop() {
        let len = page_size() * 3;
        let map = MmapRaw::anonymous(len, false).unwrap();
        let addr = map.address();
        assert_eq!(map.len(), len);
        // SAFETY: the mapping is live and private to this test.
        unsafe {
            assert_eq!(*map.as_ptr().add(len - 1), 0);
            *map.as_ptr().add(10) = 42;
            assert_eq!(*map.as_ptr().add(10), 42);
        }
        assert!(is_mapped(addr));
        drop(map);
        assert!(!is_mapped(addr));
    }

    #[test]
    fn anonymous_zero_length_is_einval() {
        let err = MmapRaw::anonymous(0, true).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EINVAL", "mmap"));
    }

    #[test]
    fn shared_file_mapping_writes_through_private_does_not() {
        let mut file = temp_file(page_size() as u64 * 2);
        let shared = MapOptions { protection: Protection::READ_WRITE, flags: MapFlags::SHARED, reserve: false };
        let private = MapOptions { flags: MapFlags::PRIVATE, ..shared };
        let a = MmapRaw::map_fd(file.as_raw_fd(), 0, page_size() * 2, shared).unwrap();
        let b = MmapRaw::map_fd(file.as_raw_fd(), page_size() as u64, page_size(), private).unwrap();
        // SAFETY: both mappings are live; offsets are in range.
        unsafe {
            *a.as_ptr().add(page_size()) = b'S';
            *b.as_ptr().add(1) = b'P';
        }
        a.flush(0, a.len(), MsFlags::SYNC).unwrap();
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(page_size() as u64)).unwrap();
        file.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes[0], b'S');
        assert_eq!(bytes[1], 0, "MAP_PRIVATE writes never reach the file");
        file.write_all(b"x").unwrap();
    }

    #[test]
    fn map_fd_rejects_unaligned_offsets_and_bad_fds() {
        let opts =
            MapOptions { protection: Protection::READ, flags: MapFlags::SHARED | MapFlags::POPULATE, reserve: false };
        assert_eq!(MmapRaw::map_fd(-1, 0, 4096, opts).unwrap_err().code(), "EBADF");
        let file = temp_file(8192);
        assert_eq!(MmapRaw::map_fd(file.as_raw_fd(), 1, 4096, opts).unwrap_err().code(), "EINVAL");
    }

    #[test]
    fn flush_protect_advise_check_ranges() {
        let map = MmapRaw::anonymous(page_size() * 2, true).unwrap();
        map.flush(1, 10, MsFlags::ASYNC | MsFlags::INVALIDATE).unwrap();
        map.advise(0, map.len(), Advice::WillNeed).unwrap();
        map.protect(0, page_size(), Protection::READ).unwrap();
        map.protect(0, page_size(), Protection::READ_WRITE).unwrap();
        let err = map.flush(page_size(), page_size() + 1, MsFlags::SYNC).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EINVAL", "msync"));
        // Both at once is a contradiction the kernel refuses.
        assert_eq!(map.flush(0, 1, MsFlags::SYNC | MsFlags::ASYNC).unwrap_err().code(), "EINVAL");
    }

    #[test]
    fn advice_names_map_to_values_and_exclude_destructive_ones() {
        assert_eq!(Advice::from_name("dontneed").map(Advice::as_raw), Some(libc::MADV_DONTNEED));
        assert_eq!(Advice::from_name("remove"), None);
        assert_eq!(Advice::from_name("free"), None);
        let map = MmapRaw::anonymous(page_size() * 4, false).unwrap();
        for &(name, advice) in Advice::ALL {
            match map.advise(0, map.len(), advice) {
                Ok(()) => {}
                // Kernels without THP or KSM refuse those names.
                Err(e) => assert_eq!(e.code(), "EINVAL", "{name}"),
            }
        }
    }

    #[test]
    fn extend_file_grows_but_never_shrinks() {
        let file = temp_file(100);
        let fd = file.as_raw_fd();
        let stat = extend_file(fd, 50, false).unwrap();
        assert_eq!((stat.size, stat.kind), (100, FileType::Regular));
        assert_eq!(extend_file(fd, 5 << 30, false).unwrap().size, 5 << 30);
        assert_eq!(file::fstat(fd).unwrap().size, 5 << 30);
        assert_eq!(file::fstat(-1).unwrap_err().code(), "EBADF");
    }

    fn allocated_bytes(fd: RawFd) -> u64 {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: valid out pointer; fd is open.
        assert_eq!(unsafe { libc::fstat(fd, st.as_mut_ptr()) }, 0);
        // SAFETY: fstat filled it.
        unsafe { st.assume_init() }.st_blocks as u64 * 512
    }

    #[test]
    fn extend_file_with_reserve_allocates_the_new_bytes() {
        let file = temp_file(0);
        let fd = file.as_raw_fd();
        assert_eq!(extend_file(fd, 1 << 20, true).unwrap().size, 1 << 20);
        assert_eq!(file::fstat(fd).unwrap().size, 1 << 20);
        assert!(allocated_bytes(fd) >= 1 << 20, "fallocate reserved the space");
        let sparse = temp_file(0);
        extend_file(sparse.as_raw_fd(), 1 << 20, false).unwrap();
        assert!(allocated_bytes(sparse.as_raw_fd()) < 1 << 20, "ftruncate leaves it sparse");
        assert!(on_tmpfs(std::fs::File::open("/dev/shm").unwrap().as_raw_fd()).unwrap());
    }

    fn rw_shared() -> MapOptions {
        MapOptions { protection: Protection::READ_WRITE, flags: MapFlags::SHARED, reserve: false }
    }

    /// Why `within` refused (the callers' real check is bind's, over
    /// model::extent; os/ knows nothing of either).
    #[derive(Debug, PartialEq, Eq)]
    enum Refusal {
        OffsetPastEnd,
        LengthPastEnd { available: u64 },
    }

    /// A caller's check: `length` or the rest of the file, never past its end.
    fn within(offset: u64, length: Option<usize>) -> impl FnOnce(&file::Stat) -> std::result::Result<usize, Refusal> {
        move |st| {
            if offset >= st.size {
                return Err(Refusal::OffsetPastEnd);
            }
            let available = st.size - offset;
            match length {
                Some(l) if l as u64 > available => Err(Refusal::LengthPastEnd { available }),
                Some(l) => Ok(l),
                None => Ok(available as usize),
            }
        }
    }

    #[test]
    fn map_file_reserves_the_holes_of_a_sparse_tmpfs_file() {
        let path = format!("/dev/shm/shmkit-mman-holes-{}", std::process::id());
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let page = page_size();
        file.set_len(page as u64 * 8).unwrap();
        assert_eq!(file::fstat(file.as_raw_fd()).unwrap().allocated, 0);
        let reserve = MapOptions { reserve: true, ..rw_shared() };
        let m = MmapRaw::map_file(
            &mut map_registry::lock(),
            file.as_raw_fd(),
            page as u64,
            reserve,
            within(page as u64, Some(page * 2)),
        )
        .unwrap();
        assert_eq!(file::fstat(file.as_raw_fd()).unwrap().allocated, page as u64 * 2, "only the mapped range");
        assert_eq!(file::fstat(file.as_raw_fd()).unwrap().size, page as u64 * 8, "size kept");
        drop(m);
    }

    #[test]
    fn map_file_maps_what_its_caller_allows_and_registers_it() {
        let page = page_size();
        let file = temp_file(page as u64 * 2 + 10);
        let fd = file.as_raw_fd();
        let stat = file::fstat(fd).unwrap();
        let id = ObjectId { dev: stat.dev, ino: stat.ino };
        let size = page as u64 * 2 + 10;
        let mut reg = map_registry::lock();
        let past = MmapRaw::map_file(&mut reg, fd, 3 * page as u64, rw_shared(), within(3 * page as u64, None));
        assert_eq!(past.unwrap_err(), FileMapError::Refused(Refusal::OffsetPastEnd));
        let long = MmapRaw::map_file(&mut reg, fd, page as u64, rw_shared(), within(page as u64, Some(page + 11)));
        assert_eq!(long.unwrap_err(), FileMapError::Refused(Refusal::LengthPastEnd { available: page as u64 + 10 }));
        let whole = MmapRaw::map_file(&mut reg, fd, 0, rw_shared(), within(0, None)).unwrap();
        assert_eq!(whole.len(), page * 2 + 10);
        let tail =
            MmapRaw::map_file(&mut reg, fd, page as u64 * 2, rw_shared(), within(page as u64 * 2, Some(10))).unwrap();
        assert_eq!(whole.object(), Some(id));
        assert_eq!(reg.usage(id), Some(map_registry::Usage { mappings: 2, extent: size }));
        drop(reg);
        let addr = whole.address();
        assert!(maps_file_at(addr, stat.ino));
        drop(whole);
        assert!(!maps_file_at(addr, stat.ino));
        assert_eq!(map_registry::lock().usage(id).unwrap().mappings, 1);
        drop(tail);
        assert_eq!(map_registry::lock().usage(id), None);
    }

    #[test]
    fn map_file_refuses_other_kinds_of_file_before_asking_its_caller() {
        let mut reg = map_registry::lock();
        let null = std::fs::File::open("/dev/null").unwrap();
        let asked = std::cell::Cell::new(false);
        let refused = MmapRaw::map_file(&mut reg, null.as_raw_fd(), 0, rw_shared(), |_| {
            asked.set(true);
            Ok::<usize, ()>(4096)
        });
        assert_eq!(refused.unwrap_err(), FileMapError::NotRegular(FileType::CharDevice));
        assert!(!asked.get());
        let bad = MmapRaw::map_file(&mut reg, -1, 0, rw_shared(), |_| Ok::<usize, ()>(4096));
        assert_eq!(bad.unwrap_err(), FileMapError::Sys(Error::new(libc::EBADF, "fstat")));
    }
}
