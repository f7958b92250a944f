//! The futex_waitv backend: a few long-lived threads per process, each
//! asleep in one futex_waitv call on up to 127 waits (of any env) plus a
//! control word. Registering or cancelling a wait edits a thread's set
//! under its lock and wakes the control word, so the thread re-arms with
//! the new set; a woken wait goes back to its env through its queue.
//!
//! Used where io_uring cannot wait on futexes (Linux 5.16 to 6.6, or
//! io_uring disabled by policy). It costs one more wake-up per wait than
//! io_uring (the waiter thread's), which the README's figures show.

use super::queue::CompletionQueue;
use super::{Completion, Outcome};
use crate::os::deadline::Deadline;
use crate::os::futex::{self, FutexWaitv, WAITV_MAX};
use crate::os::{Error, Result};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// User waits per thread: futex_waitv's 128 words minus the control word.
pub const SLOTS: usize = WAITV_MAX - 1;
/// Threads at most: 130,048 pending waits.
const MAX_THREADS: usize = 1024;
/// A thread with nothing to wait for exits after this long.
const IDLE_EXIT: Duration = Duration::from_secs(5);
const STACK: usize = 256 * 1024;

struct Slot {
    key: u64,
    id: u64,
    addr: usize,
    expected: u32,
    queue: Arc<CompletionQueue>,
}

struct Thread {
    /// Bumped and woken whenever the slots change.
    ctrl: AtomicU32,
    slots: Mutex<Vec<Slot>>,
}

impl Thread {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn poke(&self) {
        self.ctrl.fetch_add(1, Ordering::SeqCst);
        futex::wake_private(&self.ctrl, 1);
    }
}

/// A registered wait, to cancel it.
pub struct Ticket {
    thread: Arc<Thread>,
    key: u64,
}

static THREADS: Mutex<Vec<Arc<Thread>>> = Mutex::new(Vec::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn threads_lock() -> std::sync::MutexGuard<'static, Vec<Arc<Thread>>> {
    THREADS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Threads alive, for the tests and the benchmark.
pub fn threads() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts waiting on the futex at `addr` while it holds `expected`; the
/// wake arrives on `queue` as completion `id`.
pub fn register(id: u64, addr: usize, expected: u32, queue: &Arc<CompletionQueue>) -> Result<Ticket> {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let slot = Slot { key, id, addr, expected, queue: Arc::clone(queue) };
    let mut threads = threads_lock();
    for thread in threads.iter() {
        let mut slots = thread.lock();
        if slots.len() < SLOTS {
            slots.push(slot);
            drop(slots);
            thread.poke();
            return Ok(Ticket { thread: Arc::clone(thread), key });
        }
    }
    if threads.len() >= MAX_THREADS {
        return Err(Error::new(libc::EAGAIN, "futex_waitv"));
    }
    let thread = Arc::new(Thread { ctrl: AtomicU32::new(0), slots: Mutex::new(vec![slot]) });
    let runner = Arc::clone(&thread);
    std::thread::Builder::new()
        .name("shmkit-waitv".into())
        .stack_size(STACK)
        .spawn(move || run(runner))
        .map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EAGAIN), "pthread_create"))?;
    LIVE.fetch_add(1, Ordering::Relaxed);
    threads.push(Arc::clone(&thread));
    Ok(Ticket { thread, key })
}

/// Stops the wait. True if it was still registered; false if its wake was
/// already taken (the completion is on its way to the queue). Once this
/// returns, the thread no longer touches the wait's address.
pub fn unregister(ticket: &Ticket) -> bool {
    let mut slots = ticket.thread.lock();
    let Some(at) = slots.iter().position(|s| s.key == ticket.key) else { return false };
    slots.swap_remove(at);
    drop(slots);
    ticket.thread.poke();
    true
}

/// What one futex_waitv call was armed with.
struct Armed {
    key: u64,
    addr: usize,
}

fn run(thread: Arc<Thread>) {
    let mut words: Vec<FutexWaitv> = Vec::with_capacity(WAITV_MAX);
    let mut armed: Vec<Armed> = Vec::with_capacity(SLOTS);
    loop {
        let seen = thread.ctrl.load(Ordering::SeqCst);
        words.clear();
        armed.clear();
        words.push(FutexWaitv::private(&thread.ctrl, seen));
        let idle = {
            let slots = thread.lock();
            for slot in slots.iter() {
                words.push(FutexWaitv::shared(slot.addr, slot.expected));
                armed.push(Armed { key: slot.key, addr: slot.addr });
            }
            slots.is_empty()
        };
        let deadline = if idle { Deadline::after(IDLE_EXIT) } else { None };
        match futex::waitv(&words, deadline) {
            // Only the control word: the set changed, re-arm.
            Ok(0) => {}
            // Word `i` woke; those before it may have been woken as well
            // (the kernel reports the highest), later ones were not.
            Ok(i) => settle(&thread, &armed[..i], Some(armed[i - 1].key)),
            Err(e) if e.errno() == libc::ETIMEDOUT => {
                if idle && retire(&thread) {
                    return;
                }
            }
            // A word differed when armed, or an address was bad: look at all.
            Err(e) if e.errno() == libc::EAGAIN || e.errno() == libc::EFAULT => settle(&thread, &armed, None),
            Err(e) => fail_all(&thread, e),
        }
    }
}

/// Completes the waits among `candidates` whose word changed or that the
/// kernel reported `woken`. A reported wake for a wait cancelled meanwhile
/// is passed on to another waiter of the word.
fn settle(thread: &Thread, candidates: &[Armed], woken: Option<u64>) {
    let mut done: Vec<(Arc<CompletionQueue>, Completion)> = Vec::new();
    let mut slots = thread.lock();
    for candidate in candidates {
        let Some(at) = slots.iter().position(|s| s.key == candidate.key) else {
            if woken == Some(candidate.key) {
                // Cancelled after the kernel woke it: the wake belongs to
                // another waiter of the word. One of ours is not asleep in
                // the kernel right now (this thread is awake), so hand it
                // over directly; else wake one elsewhere.
                match slots.iter().position(|s| s.addr == candidate.addr) {
                    Some(other) => {
                        let slot = slots.swap_remove(other);
                        done.push((slot.queue, Completion { id: slot.id, outcome: Outcome::Woken }));
                    }
                    None => {
                        let _ = futex::wake(candidate.addr, 1);
                    }
                }
            }
            continue;
        };
        let slot = &slots[at];
        let outcome = if woken == Some(slot.key) {
            Outcome::Woken
        } else {
            match futex::compare(slot.addr, slot.expected) {
                Ok(true) => continue,
                Ok(false) => Outcome::Woken,
                Err(e) => Outcome::Failed(e),
            }
        };
        let slot = slots.swap_remove(at);
        done.push((slot.queue, Completion { id: slot.id, outcome }));
    }
    drop(slots);
    deliver(done);
}

fn fail_all(thread: &Thread, error: Error) {
    let taken: Vec<Slot> = std::mem::take(&mut *thread.lock());
    deliver(taken.into_iter().map(|s| (s.queue, Completion { id: s.id, outcome: Outcome::Failed(error) })).collect());
}

/// Pushes completions, one push (and at most one notification) per queue.
fn deliver(mut done: Vec<(Arc<CompletionQueue>, Completion)>) {
    while let Some((queue, first)) = done.pop() {
        let mut batch = vec![first];
        done.retain(|(q, c)| {
            if Arc::ptr_eq(q, &queue) {
                batch.push(c.clone());
                false
            } else {
                true
            }
        });
        queue.push_all(batch);
    }
}

/// Removes an idle thread from the set; false if work arrived meanwhile.
fn retire(thread: &Arc<Thread>) -> bool {
    let mut threads = threads_lock();
    if !thread.lock().is_empty() {
        return false;
    }
    threads.retain(|t| !Arc::ptr_eq(t, thread));
    LIVE.fetch_sub(1, Ordering::Relaxed);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::queue::tests::Counter;

    fn drain(queue: &CompletionQueue, want: usize) -> Vec<Completion> {
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        while out.len() < want && start.elapsed() < Duration::from_secs(20) {
            queue.drain_into(&mut out);
            std::thread::sleep(Duration::from_millis(1));
        }
        out
    }

    #[test]
    fn hundreds_of_waits_share_few_threads_and_all_wake() {
        let counter = Arc::new(Counter::default());
        let queue = CompletionQueue::new(Box::new(Arc::clone(&counter)));
        let words: Arc<Vec<AtomicU32>> = Arc::new((0..300).map(|_| AtomicU32::new(0)).collect());
        let tickets: Vec<Ticket> = words
            .iter()
            .enumerate()
            .map(|(i, w)| register(i as u64, w as *const AtomicU32 as usize, 0, &queue).unwrap())
            .collect();
        assert!(threads() >= 3);
        // Cancel every third; wake the rest by changing their words.
        for t in tickets.iter().step_by(3) {
            assert!(unregister(t));
        }
        for (i, w) in words.iter().enumerate() {
            if i % 3 != 0 {
                w.store(1, Ordering::SeqCst);
                futex::wake(w as *const AtomicU32 as usize, 1).unwrap();
            }
        }
        let done = drain(&queue, 200);
        assert_eq!(done.len(), 200);
        assert!(done.iter().all(|c| c.id % 3 != 0 && c.outcome == Outcome::Woken));
        for t in tickets.iter().skip(1).step_by(3) {
            assert!(!unregister(t), "already completed");
        }
    }

    #[test]
    fn a_changed_word_completes_without_a_wake() {
        let counter = Arc::new(Counter::default());
        let queue = CompletionQueue::new(Box::new(Arc::clone(&counter)));
        let word = AtomicU32::new(3);
        // Armed on a value the word no longer holds: EAGAIN, then settled.
        let _ticket = register(7, &word as *const AtomicU32 as usize, 2, &queue).unwrap();
        let done = drain(&queue, 1);
        assert_eq!(done, vec![Completion { id: 7, outcome: Outcome::Woken }]);
    }
}
