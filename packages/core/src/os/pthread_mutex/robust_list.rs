//! The robust mutexes this thread holds through this module, and the
//! links glibc keeps between them. glibc (64-bit) chains every robust
//! mutex a thread holds into a doubly linked list through
//! `__list.{__prev,__next}` inside the mutex, headed by the thread's
//! `robust_head`; each link holds the address of the neighbour's
//! `__next` field (or of `robust_head`). Unlocking writes through both
//! links of the mutex without checking them, so links rewritten by
//! anyone (JS writing into a SharedArrayBuffer, another process) would
//! make it write to arbitrary addresses.

use crate::os::{Error, Result};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Offset of `__list.__next` in glibc's 64-bit pthread_mutex_t; its
/// `__prev` is the word before.
#[cfg(target_pointer_width = "64")]
const NEXT_OFFSET: usize = 32;

thread_local! {
    /// (held mutex address, lock count): a thread holds few mutexes,
    /// so a scanned Vec beats hashing.
    static HELD: RefCell<Vec<(usize, u32)>> = const { RefCell::new(Vec::new()) };
    static HEAD: Cell<usize> = const { Cell::new(0) };
}

pub fn acquired(mutex: usize) {
    HELD.with(|h| {
        let mut held = h.borrow_mut();
        match held.iter_mut().find(|(m, _)| *m == mutex) {
            Some((_, count)) => *count += 1,
            None => held.push((mutex, 1)),
        }
    });
}

pub fn holds(mutex: usize) -> bool {
    HELD.with(|h| h.borrow().iter().any(|(m, _)| *m == mutex))
}

pub fn released(mutex: usize) {
    HELD.with(|h| {
        let mut held = h.borrow_mut();
        if let Some(at) = held.iter().position(|(m, _)| *m == mutex) {
            held[at].1 -= 1;
            if held[at].1 == 0 {
                held.swap_remove(at);
            }
        }
    });
}

/// The address of this thread's `robust_head` (glibc registered it
/// with set_robust_list when the thread started).
fn head() -> usize {
    HEAD.with(|cached| {
        if cached.get() == 0 {
            let mut head: usize = 0;
            let mut len: usize = 0;
            // SAFETY: pid 0 is the calling thread; both out-pointers are live.
            let ret =
                unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &mut head as *mut usize, &mut len as *mut usize) };
            if ret == 0 {
                cached.set(head);
            }
        }
        cached.get()
    })
}

fn word(address: usize) -> &'static AtomicUsize {
    // SAFETY: only called on the link words of held mutexes (mapped,
    // per unlock's contract) or on this thread's robust_head and the
    // word before it (glibc's robust_prev, in the live thread
    // descriptor); all are 8-byte aligned.
    unsafe { &*(address as *const AtomicUsize) }
}

/// Whether `link` may be the target of one of `mutex`'s links: this
/// thread's robust_head or another held mutex's `__next` field.
#[cfg(target_pointer_width = "64")]
fn known(link: usize, mutex: usize, head: usize) -> bool {
    link == head || (link != mutex + NEXT_OFFSET && link >= NEXT_OFFSET && holds(link - NEXT_OFFSET))
}

/// The `__next` fields `mutex` may link to: the other held mutexes'
/// and the robust head.
#[cfg(target_pointer_width = "64")]
fn candidates(mutex: usize, head: usize) -> Vec<usize> {
    let mut all: Vec<usize> =
        HELD.with(|h| h.borrow().iter().filter(|(m, _)| *m != mutex).map(|(m, _)| m + NEXT_OFFSET).collect());
    all.push(head);
    all
}

/// Checks `mutex`'s links before glibc unlinks it; rewrites a link
/// that points elsewhere from the neighbour that points back to
/// the mutex, and refuses (EINVAL) when there is none.
///
/// A link is sound when it points at the robust head or at another
/// held mutex, and that one points back: then glibc's writes land
/// there, and nothing is left pointing at this mutex afterwards (its
/// memory may be unmapped once unlocked).
///
/// # Safety
/// `mutex` and every held mutex are mapped (see `unlock`).
#[cfg(target_pointer_width = "64")]
pub unsafe fn check_links(mutex: usize) -> Result<()> {
    let head = head();
    if head == 0 {
        return Ok(());
    }
    let me = mutex + NEXT_OFFSET;
    let next = word(me);
    let prev = word(me - 8);
    let n = next.load(Ordering::Relaxed) & !1;
    if !(known(n, mutex, head) && word(n - 8).load(Ordering::Relaxed) & !1 == me) {
        // The successor is the one whose __prev points at us.
        match candidates(mutex, head).into_iter().find(|&c| word(c - 8).load(Ordering::Relaxed) & !1 == me) {
            Some(c) => next.store(c, Ordering::Relaxed),
            None => return Err(Error::new(libc::EINVAL, "pthread_mutex_unlock")),
        }
    }
    let p = prev.load(Ordering::Relaxed) & !1;
    if !(known(p, mutex, head) && word(p).load(Ordering::Relaxed) & !1 == me) {
        // The predecessor is the one whose __next points at us.
        match candidates(mutex, head).into_iter().find(|&c| word(c).load(Ordering::Relaxed) & !1 == me) {
            Some(c) => prev.store(c, Ordering::Relaxed),
            None => return Err(Error::new(libc::EINVAL, "pthread_mutex_unlock")),
        }
    }
    Ok(())
}

#[cfg(not(target_pointer_width = "64"))]
pub unsafe fn check_links(_mutex: usize) -> Result<()> {
    Ok(())
}
