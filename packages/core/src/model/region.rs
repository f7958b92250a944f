//! One mapped region as JS sees it, and the rules that keep every buffer
//! JS holds over it valid (design.md, principle 1).
//!
//! JS reaches the memory only through external ArrayBuffers the bindings
//! create over it: the *main* buffer (the whole mapping, `mapping.buffer`)
//! and *windows* (`mapping.window(offset, length)`, for mappings larger than
//! one ArrayBuffer can be, or any part of one). The region records every
//! buffer it granted that JS may still hold undetached, and:
//!
//! - grants a buffer only while the memory is mapped and every page under it
//!   is read+write, checked under the region's lock at the moment of the
//!   grant (so an argument getter that closed the mapping earlier in the
//!   call leaves nothing to grant);
//! - closes only after the caller has detached every recorded buffer: the
//!   main one must be handed over (only JS holds it), windows are returned
//!   for the caller to detach (it keeps weak references to them);
//! - revokes access to pages (`protect`) only after the buffers covering
//!   them are taken back, and never while native code has the region pinned
//!   (a pending semaphore wait reading it from another thread).
//!
//! `M` is the mapped memory (the bindings' `MmapRaw`, whose drop is the
//! munmap), `W` what the bindings keep per window to find it again (a weak
//! reference); the region only holds them.

use super::pages::{Access, PageProtections};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Mapped memory as the region sees it: where it is and how long.
pub trait Memory {
    fn as_ptr(&self) -> *mut u8;
    fn len(&self) -> usize;
}

/// Windows start at a multiple of this: the largest TypedArray element, so
/// every view and every `Atomics` call on a window is as aligned in memory
/// as it is within the buffer (misaligned atomics fault on arm64).
pub const WINDOW_ALIGN: usize = 8;

/// Names one granted buffer, unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BufferId(u64);

impl BufferId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        BufferId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// Permission to create one ArrayBuffer over `len` bytes at `ptr`. The
/// memory stays mapped until the buffer is detached: the region refuses to
/// close before it is (main) or detaches it itself (windows).
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub id: BufferId,
    pub ptr: *mut u8,
    pub len: usize,
}

/// How a range's offset and length are named in errors: as a call's own
/// arguments, or as the `offset` and `length` of its options object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeNames {
    pub offset: &'static str,
    pub length: &'static str,
}

impl RangeNames {
    pub const ARGS: RangeNames = RangeNames { offset: "offset", length: "length" };
    pub const OPTIONS: RangeNames = RangeNames { offset: "options.offset", length: "options.length" };
}

/// Why the region refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionError {
    /// The mapping was closed.
    Closed,
    /// `received` is not within `range` for argument `name`.
    OutOfRange { name: &'static str, range: String, received: u64 },
    /// `name` must be a multiple of `multiple`.
    Misaligned { name: &'static str, multiple: usize, received: u64 },
    /// Bytes `start..end` are not readable (or not read+write).
    Protected { start: usize, end: usize, write: bool },
    /// The pages are mapped read-only: no buffer can ever cover them.
    ReadOnly,
    /// More bytes than one ArrayBuffer can hold in this runtime.
    TooLarge { len: u64, max: usize },
    /// Native code is using the memory; revoking access would crash it.
    Busy,
    /// JS may hold the main buffer undetached but did not hand it over.
    MustHandOver,
}

/// What [`Region::close`] leaves the caller to do: detach these buffers,
/// then drop `memory` (the munmap, unless native work still holds it).
pub struct Closing<M, W> {
    pub main: Option<BufferId>,
    pub windows: Vec<W>,
    pub memory: Arc<M>,
}

/// What [`Region::commit_protect`] leaves the caller to detach.
pub struct Revoked<W> {
    pub main: Option<BufferId>,
    pub windows: Vec<W>,
}

struct Window<W> {
    offset: usize,
    len: usize,
    token: W,
}

struct State<M, W> {
    memory: Option<Arc<M>>,
    pages: PageProtections,
    main: Option<BufferId>,
    /// By id: a program may make (and V8 collect) a great many windows.
    windows: HashMap<BufferId, Window<W>>,
}

/// The shared state behind one Mapping.
pub struct Region<M, W> {
    address: usize,
    len: usize,
    /// False for memory mapped without PROT_WRITE: JS then only gets copies.
    writable: bool,
    /// The largest ArrayBuffer the runtime accepts (Node's Buffer kMaxLength).
    max_buffer: usize,
    pins: AtomicUsize,
    state: Mutex<State<M, W>>,
}

/// Keeps `protect` from revoking access while native code uses the memory.
pub struct RegionPin<M, W>(Arc<Region<M, W>>);

impl<M, W> Drop for RegionPin<M, W> {
    fn drop(&mut self) {
        self.0.pins.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<M: Memory, W> Region<M, W> {
    /// Takes over freshly mapped memory of pages of `page_size` bytes.
    /// `writable`: its pages are read+write (else read-only, and no buffer
    /// is ever granted). `max_buffer`: the largest ArrayBuffer the runtime
    /// can make.
    pub fn new(memory: M, writable: bool, max_buffer: usize, page_size: usize) -> Self {
        let initial = if writable { Access::READ_WRITE } else { Access::READ };
        let (address, len) = (memory.as_ptr() as usize, memory.len());
        Region {
            address,
            len,
            writable,
            max_buffer,
            pins: AtomicUsize::new(0),
            state: Mutex::new(State {
                memory: Some(Arc::new(memory)),
                pages: PageProtections::new(len, page_size, initial),
                main: None,
                windows: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<M, W>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn address(&self) -> usize {
        self.address
    }

    pub fn is_open(&self) -> bool {
        self.state().memory.is_some()
    }

    /// True when the whole mapping can be one ArrayBuffer (`mapping.buffer`).
    pub fn fits_one_buffer(&self) -> bool {
        self.writable && self.len <= self.max_buffer
    }

    /// The live memory, or [`RegionError::Closed`]. Holding the Arc keeps it
    /// mapped, even across a close.
    pub fn memory(&self) -> Result<Arc<M>, RegionError> {
        self.state().memory.clone().ok_or(RegionError::Closed)
    }

    /// Marks the memory as in use by native code until the pin drops.
    pub fn pin(self: &Arc<Self>) -> RegionPin<M, W> {
        self.pins.fetch_add(1, Ordering::AcqRel);
        RegionPin(Arc::clone(self))
    }

    /// Checks that `offset..offset+length` (default: to the end) lies inside
    /// the region; errors name the two as `names` says.
    pub fn check_range(
        &self,
        offset: u64,
        length: Option<u64>,
        names: RangeNames,
    ) -> Result<(usize, usize), RegionError> {
        let len = self.len as u64;
        if offset > len {
            return Err(RegionError::OutOfRange {
                name: names.offset,
                range: format!(">= 0 && <= {len}"),
                received: offset,
            });
        }
        let length = length.unwrap_or(len - offset);
        if length > len - offset {
            return Err(RegionError::OutOfRange {
                name: names.length,
                range: format!(">= 0 && <= {} (the bytes after offset {offset})", len - offset),
                received: length,
            });
        }
        Ok((offset as usize, length as usize))
    }

    /// [`RegionError::Protected`] unless every page under `offset..offset+len`
    /// is readable (and writable, when `write`). Bindings that touch the
    /// memory from native code call this first: protect may have revoked it.
    pub fn check_access(&self, offset: usize, len: usize, write: bool) -> Result<(), RegionError> {
        let state = self.state();
        Self::access(&state.pages, offset, len, write)
    }

    fn access(pages: &PageProtections, offset: usize, len: usize, write: bool) -> Result<(), RegionError> {
        let ok = if write {
            len == 0 || {
                let page = pages.page_size();
                let first = offset / page;
                pages.all(first, (offset + len - 1) / page - first + 1, |p| p.readable() && p.writable())
            }
        } else {
            pages.readable(offset, len)
        };
        if ok {
            Ok(())
        } else {
            Err(RegionError::Protected { start: offset, end: offset + len, write })
        }
    }

    /// The main buffer JS may hold undetached, if any.
    pub fn main(&self) -> Option<BufferId> {
        self.state().main
    }

    /// Grants the main buffer over the whole mapping, unless there must be
    /// none: closed, read-only, some page not read+write, too large for one
    /// ArrayBuffer, or one is live already.
    pub fn grant_main(&self) -> Option<Grant> {
        let mut state = self.state();
        let memory = state.memory.as_ref()?;
        if !self.fits_one_buffer() || state.main.is_some() || !state.pages.all_read_write() {
            return None;
        }
        let grant = Grant { id: BufferId::next(), ptr: memory.as_ptr(), len: self.len };
        state.main = Some(grant.id);
        Some(grant)
    }

    /// The main buffer `id` was detached or collected (or never made).
    pub fn main_gone(&self, id: BufferId) {
        let mut state = self.state();
        if state.main == Some(id) {
            state.main = None;
        }
    }

    /// Grants a window over `offset..offset+length` (default: to the end).
    pub fn grant_window(&self, offset: u64, length: Option<u64>) -> Result<Grant, RegionError> {
        let state = self.state();
        let memory = state.memory.as_ref().ok_or(RegionError::Closed)?;
        if !self.writable {
            return Err(RegionError::ReadOnly);
        }
        if offset % WINDOW_ALIGN as u64 != 0 {
            return Err(RegionError::Misaligned { name: "offset", multiple: WINDOW_ALIGN, received: offset });
        }
        let (offset, len) = self.check_range(offset, length, RangeNames::ARGS)?;
        if len > self.max_buffer {
            return Err(RegionError::TooLarge { len: len as u64, max: self.max_buffer });
        }
        Self::access(&state.pages, offset, len, true)?;
        // SAFETY: offset <= self.len, so the pointer stays inside (or one
        // past the end of) the mapping.
        let ptr = unsafe { memory.as_ptr().add(offset) };
        Ok(Grant { id: BufferId::next(), ptr, len })
    }

    /// Records the window made from `grant`. Hands `token` back when the
    /// region closed meanwhile: the caller must then detach the window itself.
    pub fn add_window(&self, grant: Grant, token: W) -> Result<(), W> {
        let mut state = self.state();
        let Some(memory) = state.memory.as_ref() else { return Err(token) };
        let offset = grant.ptr as usize - memory.as_ptr() as usize;
        state.windows.insert(grant.id, Window { offset, len: grant.len, token });
        Ok(())
    }

    /// Window `id` was collected: forget it, returning its token if the
    /// region still had it.
    pub fn window_gone(&self, id: BufferId) -> Option<W> {
        self.state().windows.remove(&id).map(|w| w.token)
    }

    /// How many windows JS may still hold.
    pub fn window_count(&self) -> usize {
        self.state().windows.len()
    }

    /// Closes the region: from now on it reads as closed and grants nothing.
    /// `handed` is the main buffer JS gave back for detaching (None if it
    /// gave none, or one that is not the live main buffer). Ok(None) when
    /// already closed; [`RegionError::MustHandOver`] (and nothing changes)
    /// when JS may hold the main buffer but did not hand it over.
    pub fn close(&self, handed: Option<BufferId>) -> Result<Option<Closing<M, W>>, RegionError> {
        let mut state = self.state();
        if state.memory.is_none() {
            return Ok(None);
        }
        if state.main.is_some() && handed != state.main {
            return Err(RegionError::MustHandOver);
        }
        let main = state.main.take();
        let windows = state.windows.drain().map(|(_, w)| w.token).collect();
        let memory = state.memory.take().expect("checked above");
        Ok(Some(Closing { main, windows, memory }))
    }

    /// Checks that `protection` may be applied to `len` bytes and returns
    /// the memory to call mprotect on. `handed` as for [`close`](Self::close).
    pub fn begin_protect(
        &self,
        len: usize,
        protection: Access,
        handed: Option<BufferId>,
    ) -> Result<Arc<M>, RegionError> {
        let state = self.state();
        let memory = state.memory.clone().ok_or(RegionError::Closed)?;
        if state.main.is_some() && handed != state.main {
            return Err(RegionError::MustHandOver);
        }
        if protection != Access::READ_WRITE && len > 0 && self.pins.load(Ordering::Acquire) > 0 {
            return Err(RegionError::Busy);
        }
        Ok(memory)
    }

    /// Records that mprotect gave `offset..offset+len` `protection` and
    /// takes back the buffers that may no longer exist: the main buffer
    /// unless every page is read+write, and the windows over any page that
    /// is not. The caller detaches them before any JS runs.
    pub fn commit_protect(&self, offset: usize, len: usize, protection: Access) -> Revoked<W> {
        let mut state = self.state();
        let page = state.pages.page_size();
        let first = offset / page;
        let count = len.div_ceil(page);
        state.pages.set(first, count, protection);
        let main = if state.pages.all_read_write() { None } else { state.main.take() };
        let mut windows = Vec::new();
        if protection != Access::READ_WRITE && count > 0 {
            let (start, end) = (first * page, (first + count) * page);
            let over: Vec<BufferId> = state
                .windows
                .iter()
                .filter(|(_, w)| w.len > 0 && w.offset < end && w.offset + w.len > start)
                .map(|(&id, _)| id)
                .collect();
            windows = over.into_iter().filter_map(|id| state.windows.remove(&id)).map(|w| w.token).collect();
        }
        Revoked { main, windows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 4096;

    /// Memory for the tests: the region never touches the bytes itself.
    #[derive(Debug)]
    struct Bytes(Vec<u8>);

    impl Memory for Bytes {
        fn as_ptr(&self) -> *mut u8 {
            self.0.as_ptr().cast_mut()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    fn page_size() -> usize {
        PAGE
    }

    fn region(pages: usize, writable: bool) -> Arc<Region<Bytes, u32>> {
        Arc::new(Region::new(Bytes(vec![0; pages * PAGE]), writable, usize::MAX, PAGE))
    }

    #[test]
    fn main_buffer_is_granted_once_and_must_be_handed_over_to_close() {
        let r = region(2, true);
        let grant = r.grant_main().unwrap();
        assert_eq!((grant.ptr as usize, grant.len), (r.address(), 2 * page_size()));
        assert!(r.grant_main().is_none(), "one main buffer at a time");
        assert_eq!(r.close(None).err(), Some(RegionError::MustHandOver));
        let other = BufferId::next();
        assert_eq!(r.close(Some(other)).err(), Some(RegionError::MustHandOver));
        assert!(r.is_open(), "a refused close changes nothing");
        let closing = r.close(Some(grant.id)).unwrap().unwrap();
        assert_eq!(closing.main, Some(grant.id));
        assert!(!r.is_open());
        assert_eq!(r.memory().unwrap_err(), RegionError::Closed);
        assert!(r.grant_main().is_none(), "nothing is granted once closed");
        assert!(r.close(None).unwrap().is_none(), "second close is a no-op");
    }

    #[test]
    fn a_collected_main_buffer_needs_no_hand_over() {
        let r = region(1, true);
        let grant = r.grant_main().unwrap();
        r.main_gone(BufferId::next());
        assert_eq!(r.main(), Some(grant.id), "another id changes nothing");
        r.main_gone(grant.id);
        assert!(r.close(None).unwrap().is_some());
    }

    #[test]
    fn close_keeps_memory_mapped_while_native_work_holds_it() {
        let r = region(1, true);
        let held = r.memory().unwrap();
        let closing = r.close(None).unwrap().unwrap();
        assert_eq!(Arc::strong_count(&held), 2);
        drop(closing);
        assert_eq!(Arc::strong_count(&held), 1, "only the native holder keeps it now");
    }

    #[test]
    fn read_only_and_oversized_regions_get_no_buffers() {
        let ro = region(1, false);
        assert!(ro.grant_main().is_none());
        assert_eq!(ro.grant_window(0, None).unwrap_err(), RegionError::ReadOnly);
        assert_eq!(ro.check_access(0, 1, true).unwrap_err(), RegionError::Protected { start: 0, end: 1, write: true });
        ro.check_access(0, page_size(), false).unwrap();

        let big: Region<Bytes, u32> = Region::new(Bytes(vec![0; 4 * PAGE]), true, 2 * PAGE, PAGE);
        assert!(!big.fits_one_buffer());
        assert!(big.grant_main().is_none());
        assert_eq!(
            big.grant_window(0, None).unwrap_err(),
            RegionError::TooLarge { len: 4 * page_size() as u64, max: 2 * page_size() }
        );
        let w = big.grant_window(2 * page_size() as u64, None).unwrap();
        assert_eq!(w.len, 2 * page_size());
    }

    #[test]
    fn windows_check_alignment_range_and_pages() {
        let r = region(4, true);
        let page = page_size() as u64;
        assert_eq!(
            r.grant_window(4, Some(8)).unwrap_err(),
            RegionError::Misaligned { name: "offset", multiple: 8, received: 4 }
        );
        assert!(matches!(r.grant_window(5 * page, None).unwrap_err(), RegionError::OutOfRange { name: "offset", .. }));
        assert!(matches!(
            r.grant_window(8, Some(4 * page)).unwrap_err(),
            RegionError::OutOfRange { name: "length", .. }
        ));
        let w = r.grant_window(8, Some(16)).unwrap();
        assert_eq!(w.ptr as usize, r.address() + 8);
        let empty = r.grant_window(4 * page, None).unwrap();
        assert_eq!(empty.len, 0);
        r.commit_protect(page as usize, page as usize, Access::NONE);
        assert!(matches!(r.grant_window(page, Some(1)).unwrap_err(), RegionError::Protected { .. }));
        r.grant_window(2 * page, Some(page)).unwrap();
    }

    #[test]
    fn close_returns_every_window_and_collected_windows_are_forgotten() {
        let r = region(2, true);
        let a = r.grant_window(0, Some(8)).unwrap();
        let b = r.grant_window(8, Some(8)).unwrap();
        r.add_window(a, 1).unwrap();
        r.add_window(b, 2).unwrap();
        assert_eq!(r.window_count(), 2);
        assert_eq!(r.window_gone(a.id), Some(1));
        assert_eq!(r.window_gone(a.id), None);
        let closing = r.close(None).unwrap().unwrap();
        assert_eq!(closing.windows, vec![2]);
        let late = Grant { id: BufferId::next(), ptr: closing.memory.as_ptr(), len: 8 };
        assert_eq!(r.add_window(late, 3), Err(3), "a closed region hands the token back");
        assert_eq!(r.grant_window(0, Some(8)).unwrap_err(), RegionError::Closed);
    }

    #[test]
    fn protect_takes_back_the_buffers_over_revoked_pages() {
        let r = region(4, true);
        let page = page_size();
        let main = r.grant_main().unwrap();
        for (token, offset) in [(10u32, 0), (11, page), (12, 3 * page)] {
            let g = r.grant_window(offset as u64, Some(page as u64)).unwrap();
            r.add_window(g, token).unwrap();
        }
        assert_eq!(r.begin_protect(page, Access::READ, None).err(), Some(RegionError::MustHandOver));
        r.begin_protect(page, Access::READ, Some(main.id)).unwrap();
        let revoked = r.commit_protect(page, page, Access::READ);
        assert_eq!(revoked.main, Some(main.id));
        assert_eq!(revoked.windows, vec![11]);
        assert_eq!(r.window_count(), 2);
        assert!(r.grant_main().is_none(), "no main buffer while a page is read-only");
        r.check_access(page, page, false).unwrap();
        assert!(r.check_access(page, 1, true).is_err());
        let restored = r.commit_protect(page, page, Access::READ_WRITE);
        assert!(restored.main.is_none() && restored.windows.is_empty());
        assert!(r.grant_main().is_some(), "all read+write again: a fresh main buffer");
    }

    #[test]
    fn pins_block_revoking_access_but_not_restoring_it() {
        let r = region(1, true);
        let pin = r.pin();
        assert_eq!(r.begin_protect(page_size(), Access::NONE, None).err(), Some(RegionError::Busy));
        r.begin_protect(page_size(), Access::READ_WRITE, None).unwrap();
        r.begin_protect(0, Access::NONE, None).unwrap();
        drop(pin);
        r.begin_protect(page_size(), Access::NONE, None).unwrap();
    }

    #[test]
    fn ranges() {
        let r = region(1, true);
        let len = page_size() as u64;
        assert_eq!(r.check_range(0, None, RangeNames::ARGS).unwrap(), (0, page_size()));
        assert_eq!(r.check_range(len, None, RangeNames::ARGS).unwrap(), (page_size(), 0));
        assert!(matches!(
            r.check_range(len + 1, None, RangeNames::OPTIONS),
            Err(RegionError::OutOfRange { name: "options.offset", .. })
        ));
        assert!(matches!(
            r.check_range(1, Some(len), RangeNames::ARGS),
            Err(RegionError::OutOfRange { name: "length", .. })
        ));
        assert!(matches!(
            r.check_range(1, Some(len), RangeNames::OPTIONS),
            Err(RegionError::OutOfRange { name: "options.length", .. })
        ));
        assert!(matches!(
            r.check_range(u64::MAX, Some(u64::MAX), RangeNames::ARGS),
            Err(RegionError::OutOfRange { .. })
        ));
    }
}
