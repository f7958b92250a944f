//! Surviving a truncation by another process.
//!
//! A page of a file mapping that lies past the file's end raises SIGBUS
//! when touched, and the default action kills the process. Any process that
//! may write a shared object may also shrink it, so without a handler a
//! peer could kill every process that maps the object at will. This module
//! installs one SIGBUS handler for the process. A fault with `BUS_ADRERR`
//! inside a guarded mapping, at a page that `fstat` of the mapped file
//! confirms lies past its end, gets private zero pages mapped from that page
//! to the mapping's end (`MAP_FIXED`; every page there is past the end too),
//! and the faulting access runs again and succeeds. The guard notes the
//! catch, and a global counter goes up, so callers can find out and stop
//! trusting the memory. Every other SIGBUS (a write to a hole on a full
//! disk or tmpfs, an I/O error, a signal sent with `kill`) goes to the
//! handler that was there before, or gets the default action, as before.
//!
//! A fault at a page the file still has is run again (a peer may have grown
//! the file back meanwhile), and passed on only when it keeps coming: a
//! fault the handler turns down resets SIGBUS to the default action, which
//! must never happen for one it could have caught.
//!
//! The handler is async-signal-safe: it reads lock-free tables of atomics
//! and makes the `fstat`, `mmap` and `clock_gettime` system calls. A guard
//! is retired (skipped by the handler, not yet reusable) *before* its
//! mapping is unmapped, and the retiring waits for the handlers working on
//! that mapping, so the handler never maps over an address range that has
//! been handed to someone else, nor pairs one mapping's start with
//! another's end.

use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Slots per table; tables are chained as more mappings need guarding.
const SLOTS: usize = 256;
/// A slot's `start` while it is claimed but not filled in, or retiring.
const BUSY: usize = usize::MAX;

struct Slot {
    /// The first byte; 0 while the slot is free, [`BUSY`] while it changes.
    start: AtomicUsize,
    /// One past the last byte.
    end: AtomicUsize,
    /// Where the zero pages begin (`end` until a catch).
    covered: AtomicUsize,
    /// The file's offset at `start`.
    offset: AtomicU64,
    /// A descriptor of the mapped file, owned by the slot, for `fstat`.
    fd: AtomicI32,
    /// The mapping's protection, given to the zero pages.
    protection: AtomicI32,
    /// A fault was caught here.
    hit: AtomicBool,
    /// Left to the default action (see [`Guard::keep_fatal`]).
    fatal: AtomicBool,
    /// Handlers working on this slot now (see [`Guard`]'s drop).
    inflight: AtomicUsize,
    /// Faults in this mapping at pages the file still had, in a row, and
    /// when the last was (ns, CLOCK_MONOTONIC): see [`cover_in`].
    refused: AtomicU32,
    refused_at: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            covered: AtomicUsize::new(0),
            offset: AtomicU64::new(0),
            fd: AtomicI32::new(-1),
            protection: AtomicI32::new(0),
            hit: AtomicBool::new(false),
            fatal: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            refused: AtomicU32::new(0),
            refused_at: AtomicU64::new(0),
        }
    }
}

struct Table {
    slots: [Slot; SLOTS],
    /// The next table, once this one was found full; never freed.
    next: AtomicPtr<Table>,
}

impl Table {
    const fn new() -> Self {
        Table { slots: [const { Slot::new() }; SLOTS], next: AtomicPtr::new(ptr::null_mut()) }
    }
}

static FIRST: Table = Table::new();
/// Faults caught in this process, ever. JS reads it through a view.
static FAULTS: AtomicU32 = AtomicU32::new(0);
static PAGE_MASK: AtomicUsize = AtomicUsize::new(0);
/// The SIGBUS disposition from before ours, once ours is installed.
static PREVIOUS: OnceLock<Disposition> = OnceLock::new();

struct Disposition(libc::sigaction);
// SAFETY: a sigaction is plain data (a handler address, flags, a mask);
// it is written once, before the handler can read it.
unsafe impl Sync for Disposition {}
// SAFETY: as above.
unsafe impl Send for Disposition {}

/// Every table, from the first: each one's `next` is only ever set once.
fn tables() -> impl Iterator<Item = &'static Table> {
    std::iter::successors(Some(&FIRST), |table| {
        // SAFETY: a non-null `next` is a leaked Box<Table>, never freed.
        unsafe { table.next.load(Ordering::Acquire).as_ref() }
    })
}

/// What [`guard`] needs to know about a fresh file mapping.
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    pub fd: RawFd,
    /// The file offset mapped at `start`.
    pub offset: u64,
    pub start: usize,
    pub len: usize,
    /// The `PROT_*` bits it was mapped with.
    pub protection: libc::c_int,
}

/// A guarded mapping's slot: retires it when dropped.
pub struct Guard {
    slot: &'static Slot,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("hit", &self.hit()).finish()
    }
}

impl Guard {
    /// Whether a fault in this mapping was caught: from that page on, it
    /// holds private zero pages instead of the file's.
    pub fn hit(&self) -> bool {
        self.slot.hit.load(Ordering::Acquire)
    }

    /// Leaves a truncation of this mapping fatal, as without the guard:
    /// for memory whose users cannot be told (a lock that went on working
    /// on a private copy would let two processes hold it at once).
    pub fn keep_fatal(&self) {
        self.slot.fatal.store(true, Ordering::Release);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let slot = self.slot;
        // Retired first: the handler skips the slot and no guard() can
        // claim it. A handler that pinned it before this may still be about
        // to map over the range: the caller unmaps only after every such
        // handler is done. A handler makes two system calls, so this wait
        // is short, and only handlers of this very mapping are waited for.
        slot.start.store(BUSY, Ordering::SeqCst);
        while slot.inflight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        let fd = slot.fd.swap(-1, Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: the slot's own descriptor (guard() made it), taken out
            // of the slot above, so it is closed once.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        slot.hit.store(false, Ordering::Relaxed);
        slot.start.store(0, Ordering::Release);
    }
}

/// Guards a live mapping of the file behind `mapped.fd`, installing the
/// handler the first time. None when the handler could not be installed
/// or was replaced since (someone installed a SIGBUS handler of their
/// own), or no descriptor could be spared: the mapping is then as
/// unguarded as it would be without shmkit.
pub fn guard(mapped: Mapped) -> Option<Guard> {
    let end = mapped.start.checked_add(mapped.len)?;
    if mapped.start == 0 || mapped.len == 0 || !installed() || !still_ours() {
        return None;
    }
    // SAFETY: the caller's descriptor is open for the length of this call.
    let fd = unsafe { BorrowedFd::borrow_raw(mapped.fd) }.try_clone_to_owned().ok()?.into_raw_fd();
    let slot = claim();
    slot.end.store(end, Ordering::Relaxed);
    slot.covered.store(end, Ordering::Relaxed);
    slot.offset.store(mapped.offset, Ordering::Relaxed);
    slot.fd.store(fd, Ordering::Relaxed);
    slot.protection.store(mapped.protection, Ordering::Relaxed);
    slot.hit.store(false, Ordering::Relaxed);
    slot.fatal.store(false, Ordering::Relaxed);
    slot.refused.store(0, Ordering::Relaxed);
    // Published last: a handler that sees this start sees the rest.
    slot.start.store(mapped.start, Ordering::Release);
    Some(Guard { slot })
}

/// A free slot, marked [`BUSY`]; a new table is chained when all are taken.
fn claim() -> &'static Slot {
    let mut last = &FIRST;
    loop {
        for table in tables() {
            for slot in &table.slots {
                if slot.start.load(Ordering::Relaxed) == 0
                    && slot.start.compare_exchange(0, BUSY, Ordering::Acquire, Ordering::Relaxed).is_ok()
                {
                    return slot;
                }
            }
            last = table;
        }
        let fresh = Box::into_raw(Box::new(Table::new()));
        if last.next.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // Another thread chained one first: use that, drop ours.
            // SAFETY: `fresh` was never shared.
            drop(unsafe { Box::from_raw(fresh) });
        }
    }
}

/// Faults caught in this process so far (wrapping). Its address is stable,
/// so JS can watch it through an external ArrayBuffer.
pub fn faults() -> &'static AtomicU32 {
    &FAULTS
}

fn installed() -> bool {
    static RESULT: OnceLock<bool> = OnceLock::new();
    *RESULT.get_or_init(install)
}

type Handler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Whether SIGBUS still goes to our handler.
fn still_ours() -> bool {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one.
    if unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), current.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaction filled it in.
    unsafe { current.assume_init() }.sa_sigaction == on_sigbus as Handler as usize
}

extern "C" fn after_fork_in_child() {
    // Only the forking thread lives on in the child, and it runs no handler.
    for table in tables() {
        for slot in &table.slots {
            slot.inflight.store(0, Ordering::SeqCst);
        }
    }
}

fn install() -> bool {
    let page = super::page_size();
    if !page.is_power_of_two() {
        return false;
    }
    PAGE_MASK.store(!(page - 1), Ordering::Relaxed);
    // SAFETY: registers a plain function for the child side of fork().
    if unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) } != 0 {
        return false;
    }
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `old`.
    if unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), old.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaction filled it in.
    let _ = PREVIOUS.set(Disposition(unsafe { old.assume_init() }));
    let mut action = MaybeUninit::<libc::sigaction>::zeroed();
    let action = action.as_mut_ptr();
    // SAFETY: `action` is a zeroed sigaction we own; the handler has the
    // SA_SIGINFO signature and stays loaded (Node never unloads addons).
    unsafe {
        (*action).sa_sigaction = on_sigbus as Handler as usize;
        (*action).sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut (*action).sa_mask);
        libc::sigaction(libc::SIGBUS, action, ptr::null_mut()) == 0
    }
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: errno is thread-local; the calls below may change it and the
    // interrupted code must find it as it left it.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let handled = unsafe { (*info).si_code == libc::BUS_ADRERR && cover((*info).si_addr() as usize) };
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
    if !handled {
        pass_on(signal, info, context);
    }
}

/// Maps zero pages over the guarded mapping holding `addr`, from its page
/// up to the pages covered already (or the end), when the file really ends
/// before that page. True when the access can be run again.
fn cover(addr: usize) -> bool {
    for table in tables() {
        for slot in &table.slots {
            let start = slot.start.load(Ordering::SeqCst);
            if start == 0 || start == BUSY || addr < start {
                continue;
            }
            // Pinned, if it is still that mapping: a drop stores BUSY before
            // it waits for `inflight`, so either it waits for us or we see
            // a start other than ours. The end is read only once pinned.
            slot.inflight.fetch_add(1, Ordering::SeqCst);
            let handled = (slot.start.load(Ordering::SeqCst) == start && addr < slot.end.load(Ordering::Acquire))
                .then(|| cover_in(slot, start, addr));
            slot.inflight.fetch_sub(1, Ordering::SeqCst);
            if let Some(handled) = handled {
                return handled;
            }
        }
    }
    false
}

/// Faults at pages the file has, in a row within [`REFUSAL_WINDOW_NS`],
/// after which one is passed on (see [`cover_in`]).
const REFUSALS: u32 = 16;
const REFUSAL_WINDOW_NS: u64 = 100_000_000;

fn cover_in(slot: &Slot, start: usize, addr: usize) -> bool {
    if slot.fatal.load(Ordering::Acquire) {
        return false;
    }
    let mask = PAGE_MASK.load(Ordering::Relaxed);
    let page = (addr & mask).max(start);
    let until = slot.covered.load(Ordering::Acquire);
    if page >= until {
        // Another thread's catch mapped zero pages here meanwhile.
        return true;
    }
    let mut stat = MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat is async-signal-safe; the descriptor is the slot's own,
    // open until the slot is retired, which waits for this handler.
    if unsafe { libc::fstat(slot.fd.load(Ordering::Relaxed), stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat filled it in.
    let size = u64::try_from(unsafe { stat.assume_init() }.st_size).unwrap_or(0);
    let file_end = size.saturating_add(!mask as u64) & (mask as u64);
    let at = slot.offset.load(Ordering::Relaxed).saturating_add((page - start) as u64);
    if at < file_end {
        // The file has the page now. Either it grew back since the fault
        // (a peer truncating and growing it): the access runs again and
        // finds the page. Or the fault is something else (a write to a hole
        // on a full file system, an I/O error), which zeros must not hide:
        // it faults again at once, and after a few in a row it is passed on.
        let now = super::deadline::monotonic_nanos();
        let last = slot.refused_at.swap(now, Ordering::Relaxed);
        if now.saturating_sub(last) > REFUSAL_WINDOW_NS {
            slot.refused.store(0, Ordering::Relaxed);
        }
        return slot.refused.fetch_add(1, Ordering::Relaxed) < REFUSALS;
    }
    // SAFETY: page..until lies inside a live mapping of ours (its slot is
    // still published, and retiring it waits for this handler before the
    // mapping goes), and all of it lies past the file's end, so replacing it
    // loses nothing the file still holds.
    let mapped = unsafe {
        libc::mmap(
            page as *mut libc::c_void,
            until - page,
            slot.protection.load(Ordering::Relaxed),
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return false;
    }
    slot.covered.fetch_min(page, Ordering::AcqRel);
    slot.refused.store(0, Ordering::Relaxed);
    slot.hit.store(true, Ordering::Release);
    FAULTS.fetch_add(1, Ordering::SeqCst);
    true
}

/// Whether a SIGBUS with this code comes from the faulting instruction,
/// which runs again (and faults again) when the handler returns.
fn is_fault(code: libc::c_int) -> bool {
    // BUS_ADRALN, BUS_ADRERR, BUS_OBJERR, BUS_MCEERR_AR.
    (1..=4).contains(&code)
}

/// A SIGBUS that is not ours: what would have happened without us. The
/// previous handler runs; an ignored signal stays ignored unless it is a
/// fault (which the kernel never lets a process ignore); otherwise the
/// default action, with a fault re-run and any other signal raised again.
fn pass_on(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let fault = is_fault(unsafe { (*info).si_code });
    if let Some(Disposition(old)) = PREVIOUS.get() {
        let handler = old.sa_sigaction;
        if handler == libc::SIG_IGN && !fault {
            return;
        }
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            if old.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: an SA_SIGINFO handler has this signature.
                let f: Handler = unsafe { std::mem::transmute(handler) };
                f(signal, info, context);
            } else {
                // SAFETY: a plain handler takes the signal number.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
                f(signal);
            }
            return;
        }
    }
    let mut default = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask. A fault
    // runs again on return and now kills; any other signal does not repeat,
    // so it is raised again (pending until this handler returns).
    unsafe {
        libc::sigaction(libc::SIGBUS, default.as_mut_ptr(), ptr::null_mut());
        if !fault {
            libc::raise(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    struct Mapping {
        file: std::fs::File,
        ptr: *mut u8,
        len: usize,
        path: std::path::PathBuf,
    }

    fn map(name: &str, pages: usize) -> Mapping {
        let page = 4096;
        let path = std::env::temp_dir().join(format!("shmkit-bus-guard-{}-{name}", std::process::id()));
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len((pages * page) as u64).unwrap();
        let len = pages * page;
        // SAFETY: a fresh shared mapping of a file we own.
        let ptr = unsafe {
            libc::mmap(ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, file.as_raw_fd(), 0)
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        Mapping { file, ptr: ptr.cast(), len, path }
    }

    fn guard_of(m: &Mapping) -> Guard {
        guard(Mapped {
            fd: m.file.as_raw_fd(),
            offset: 0,
            start: m.ptr as usize,
            len: m.len,
            protection: libc::PROT_READ | libc::PROT_WRITE,
        })
        .expect("a guard")
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: ours, unmapped once, after its guard (dropped first).
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
            let _ = std::fs::remove_file(&self.path);
        }
    }

    #[test]
    fn a_truncated_mapping_reads_zeros_and_says_so() {
        let page = 4096;
        let m = map("cut", 3);
        let guard = guard_of(&m);
        // SAFETY: inside the mapping, and the file is 3 pages long.
        unsafe { m.ptr.add(2 * page).write_volatile(7) };
        let before = faults().load(Ordering::SeqCst);
        m.file.set_len(page as u64).unwrap();
        // SAFETY: past the end now: the guard catches it.
        assert_eq!(unsafe { m.ptr.add(2 * page).read_volatile() }, 0);
        assert!(guard.hit());
        // Other tests fault meanwhile: at least this one counted.
        let after = faults().load(Ordering::SeqCst);
        assert_ne!(after, before);
        // SAFETY: the page below is past the end too: a catch of its own,
        // which covers up to the zero pages already there.
        assert_eq!(unsafe { m.ptr.add(page).read_volatile() }, 0);
        assert_ne!(faults().load(Ordering::SeqCst), after);
        // SAFETY: the first page is still the file's.
        unsafe { m.ptr.write_volatile(1) };
        drop(guard);
    }

    #[test]
    fn two_threads_caught_on_one_cut_page_both_go_on_and_the_guard_stays() {
        for _ in 0..500 {
            let m = map("twice", 1);
            let guard = guard_of(&m);
            m.file.set_len(0).unwrap();
            let at = m.ptr as usize;
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let other = {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    // SAFETY: inside the live mapping; the guard catches it.
                    unsafe { (at as *const u8).read_volatile() }
                })
            };
            barrier.wait();
            // SAFETY: as above.
            let here = unsafe { m.ptr.read_volatile() };
            assert_eq!((here, other.join().unwrap()), (0, 0));
            assert!(guard.hit());
            assert!(still_ours(), "a caught fault must never give SIGBUS back to the default");
        }
    }

    #[test]
    fn a_file_shrinking_and_growing_back_under_reads_never_disarms_the_guard() {
        let m = map("flip", 1);
        let guard = guard_of(&m);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let peer = {
            let (file, stop) = (m.file.try_clone().unwrap(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    file.set_len(0).unwrap();
                    file.set_len(4096).unwrap();
                }
            })
        };
        for _ in 0..200_000 {
            // SAFETY: inside the live mapping: the file's page, or zeros.
            let _ = unsafe { m.ptr.read_volatile() };
        }
        stop.store(true, Ordering::Relaxed);
        peer.join().unwrap();
        assert!(still_ours());
        drop(guard);
    }

    #[test]
    fn a_retired_slot_is_reused_and_tables_grow() {
        let m = map("many", 1);
        let guards: Vec<Guard> = (0..SLOTS + 10).map(|_| guard_of(&m)).collect();
        let distinct: std::collections::HashSet<usize> =
            guards.iter().map(|g| g.slot as *const Slot as usize).collect();
        assert_eq!(distinct.len(), SLOTS + 10);
        let grown = tables().count();
        assert!(grown >= 2);
        drop(guards);
        // Freed slots are taken again before any table is added.
        let again: Vec<Guard> = (0..SLOTS).map(|_| guard_of(&m)).collect();
        assert_eq!(tables().count(), grown);
        drop(again);
    }
}
