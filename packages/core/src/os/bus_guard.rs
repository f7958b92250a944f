//! Surviving a truncation by another process.
//!
//! A page of a file mapping that lies past the file's end raises SIGBUS
//! when touched, and the default action kills the process. Any process that
//! may write a shared object may also shrink it, so without a handler a
//! peer could kill every process that maps the object at will. This module
//! installs one SIGBUS handler for the process. A fault with `BUS_ADRERR` at
//! an address inside a guarded mapping gets private zero pages mapped over
//! the rest of that mapping (`MAP_FIXED`), and the faulting access is run
//! again, and this time it succeeds. The guard notes the fault, and a global
//! counter goes up, so the callers can find out and stop trusting the
//! memory. Every other SIGBUS goes to the handler that was there before, or
//! gets the default action as before.
//!
//! The handler is async-signal-safe: it reads a fixed table of atomics and
//! makes one `mmap` system call. A guard is dropped *before* its mapping is
//! unmapped, and the drop waits for any handler that is running, so the
//! handler never maps over an address range that has been handed to someone
//! else.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Guarded mappings at once; past this many, a new mapping goes unguarded.
const SLOTS: usize = 4096;

struct Slot {
    /// The first byte; 0 while the slot is free.
    start: AtomicUsize,
    /// One past the last byte.
    end: AtomicUsize,
    /// A fault was caught here.
    hit: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot { start: AtomicUsize::new(0), end: AtomicUsize::new(0), hit: AtomicBool::new(false) };
static TABLE: [Slot; SLOTS] = [FREE; SLOTS];
/// Handlers running now (see [`Guard`]'s drop).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
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

/// A guarded mapping's slot: releases it when dropped.
#[derive(Debug)]
pub struct Guard {
    slot: usize,
}

impl Guard {
    /// Whether a fault in this mapping was caught: from that page on, it
    /// holds private zero pages instead of the file's.
    pub fn hit(&self) -> bool {
        TABLE[self.slot].hit.load(Ordering::Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let slot = &TABLE[self.slot];
        slot.hit.store(false, Ordering::Relaxed);
        slot.end.store(0, Ordering::Relaxed);
        slot.start.store(0, Ordering::SeqCst);
        // A handler that read this slot before it was freed may still be
        // about to map over the range: the caller unmaps only after it is
        // done. A handler makes one system call, so this wait is short.
        while ACTIVE.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }
}

/// Guards `start..start + len`, a live mapping of a file, installing the
/// handler the first time. None when the table is full or the handler
/// could not be installed: the mapping is then as unguarded as before.
pub fn guard(start: usize, len: usize) -> Option<Guard> {
    if start == 0 || len == 0 || !installed() {
        return None;
    }
    let end = start.checked_add(len)?;
    for (index, slot) in TABLE.iter().enumerate() {
        if slot.start.load(Ordering::Relaxed) != 0 {
            continue;
        }
        // Claimed with a placeholder start, so that the handler never sees
        // a real start with a stale end.
        if slot.start.compare_exchange(0, usize::MAX, Ordering::Acquire, Ordering::Relaxed).is_err() {
            continue;
        }
        slot.hit.store(false, Ordering::Relaxed);
        slot.end.store(end, Ordering::Relaxed);
        slot.start.store(start, Ordering::Release);
        return Some(Guard { slot: index });
    }
    None
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

fn install() -> bool {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let Ok(page) = usize::try_from(page) else { return false };
    if !page.is_power_of_two() {
        return false;
    }
    PAGE_MASK.store(!(page - 1), Ordering::Relaxed);
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `old`.
    if unsafe { libc::sigaction(libc::SIGBUS, std::ptr::null(), old.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaction filled it in.
    let _ = PREVIOUS.set(Disposition(unsafe { old.assume_init() }));
    let mut action = MaybeUninit::<libc::sigaction>::zeroed();
    let action = action.as_mut_ptr();
    // SAFETY: `action` is a zeroed sigaction we own; the handler has the
    // SA_SIGINFO signature and stays loaded (Node never unloads addons).
    unsafe {
        (*action).sa_sigaction =
            on_sigbus as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
        (*action).sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut (*action).sa_mask);
        libc::sigaction(libc::SIGBUS, action, std::ptr::null_mut()) == 0
    }
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: errno is thread-local; the mmap below may change it and the
    // interrupted code must find it as it left it.
    let errno = unsafe { *libc::__errno_location() };
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let handled = unsafe { (*info).si_code == libc::BUS_ADRERR && cover((*info).si_addr() as usize) };
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
    if !handled {
        pass_on(signal, info, context);
    }
}

/// Maps zero pages over the guarded mapping holding `addr`, from its page
/// to the mapping's end. True when the access can be run again.
fn cover(addr: usize) -> bool {
    for slot in TABLE.iter() {
        let start = slot.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX || addr < start {
            continue;
        }
        let end = slot.end.load(Ordering::Acquire);
        if addr >= end {
            continue;
        }
        let page = (addr & PAGE_MASK.load(Ordering::Relaxed)).max(start);
        // SAFETY: page..end lies inside a live mapping of ours (its guard
        // is still in the table, and a guard's drop waits for this handler
        // before the mapping goes). Replacing those pages loses only what
        // the truncation already took from this process's view.
        let mapped = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return false;
        }
        slot.hit.store(true, Ordering::Release);
        FAULTS.fetch_add(1, Ordering::SeqCst);
        return true;
    }
    false
}

/// A SIGBUS that is not ours: the previous handler's, or the default
/// action (the process dies of SIGBUS, as it would have without us).
fn pass_on(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    if let Some(Disposition(old)) = PREVIOUS.get() {
        let handler = old.sa_sigaction;
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            if old.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: an SA_SIGINFO handler has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(handler) };
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
    // runs again on return and now kills; a signal sent with kill() does
    // not repeat, so it is raised again (pending until this returns).
    unsafe {
        libc::sigaction(libc::SIGBUS, default.as_mut_ptr(), std::ptr::null_mut());
        if (*info).si_code <= 0 {
            libc::raise(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_mapping_reads_zeros_and_says_so() {
        let page = 4096;
        let path = std::env::temp_dir().join(format!("shmkit-bus-guard-{}", std::process::id()));
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len(2 * page as u64).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of a file we own.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        let bytes = ptr.cast::<u8>();
        let guard = guard(ptr as usize, 2 * page).expect("a free slot");
        // SAFETY: inside the mapping, and the file is 2 pages long.
        unsafe { bytes.add(page).write_volatile(7) };
        let before = faults().load(Ordering::SeqCst);
        file.set_len(page as u64).unwrap();
        // SAFETY: the second page is now past the end: the guard catches it.
        let read = unsafe { bytes.add(page).read_volatile() };
        assert_eq!(read, 0);
        assert!(guard.hit());
        assert_eq!(faults().load(Ordering::SeqCst), before.wrapping_add(1));
        // SAFETY: the first page is still the file's.
        unsafe { bytes.write_volatile(1) };
        drop(guard);
        // SAFETY: ours, unmapped once.
        unsafe { libc::munmap(ptr, 2 * page) };
        std::fs::remove_file(path).unwrap();
    }
}
