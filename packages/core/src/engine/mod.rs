//! The wait engine: every wait shmkit offers, sync and async, goes through
//! here. Plain Rust, no Node: the addon's glue (bind/wait.rs) owns one
//! [`Engine`] per JS thread, feeds it the event loop's callbacks and turns
//! what settles into promise resolutions.
//!
//! An async wait is an entry in the engine plus one of:
//! - an io_uring futex wait or poll ([`uring`]): no thread at all; the ring's
//!   descriptor is polled by the event loop, so a wake-up costs what a sync
//!   wait's does (Linux 6.7+);
//! - a slot in a shared futex_waitv thread ([`waitv`]), up to 127 waits per
//!   thread (Linux 5.16+, or io_uring unavailable);
//! - a job on a bounded pool of reusable threads ([`pool`]) for what the
//!   kernel cannot multiplex (System V semop, msgrcv) or for futex waits on
//!   kernels without futex_waitv.
//!
//! Deadlines, owner-liveness checks and cancellation (AbortSignal, a closed
//! Mapping, env teardown) are handled here, the same for every backend: the
//! wait settles at once, and if the kernel had meanwhile handed the
//! cancelled wait a FUTEX_WAKE meant for someone, the wake is passed on.
//! Semaphore units are taken only on the owning thread, so a unit is never
//! lost to a racing cancel.

pub mod blocking;
mod jobs;
pub mod pool;
pub mod queue;
mod uring;
pub mod waitv;

use crate::os::deadline::Deadline;
use crate::os::futex;
use crate::os::sem::RawSem;
use crate::os::Error;
use queue::CompletionQueue;
use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::os::fd::RawFd;
use std::sync::Arc;

pub use pool::{Job, JobState, Step};

/// How often a wait that watches an owner thread checks that it lives.
pub const LIVENESS_SLICE_MS: f64 = 100.0;

/// What a wait waits for.
pub enum Op {
    /// The shared futex at `addr` to be woken while it holds `expected`.
    Futex { addr: usize, expected: u32 },
    /// A unit of a glibc `sem_t`, taken with glibc's own protocol on the
    /// semaphore's words (never through glibc, which aborts the process on
    /// words a peer corrupted). `keep` holds the memory mapped meanwhile.
    Sem { sem: RawSem, keep: Box<dyn Any + Send> },
    /// `fd` to be ready for `events` (POLLIN, POLLOUT).
    Fd { fd: RawFd, events: u32 },
    /// A blocking call run on the pool.
    Job(Box<dyn Job>),
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Woken (possibly spuriously): re-check the word.
    Woken,
    /// The word did not hold the expected value.
    NotEqual,
    TimedOut,
    /// Aborted (an AbortSignal).
    Cancelled,
    /// The watched owner thread no longer exists.
    OwnerDead,
    /// The memory the wait was on was closed (or made inaccessible).
    Closed,
    /// A semaphore unit was taken.
    Acquired,
    /// A job (or an fd wait) finished with this value (fd: the revents).
    Done(i64),
    /// A job finished with something richer than a number (a message).
    Value(Payload),
    /// A system call failed.
    Failed(Error),
}

/// What a pool job hands back when a number is not enough; the binding that
/// started the job knows its type and downcasts it.
#[derive(Clone)]
pub struct Payload(pub Arc<dyn Any + Send + Sync>);

impl Payload {
    pub fn new<T: Any + Send + Sync>(value: T) -> Payload {
        Payload(Arc::new(value))
    }

    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Payload(..)")
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Payload {}

/// A raw completion from a backend, before the engine interprets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub id: u64,
    pub outcome: Outcome,
}

/// Everything about one wait but the token that settles it.
pub struct Wait {
    pub op: Op,
    pub deadline: Option<Deadline>,
    /// A thread id whose death ends the wait with [`Outcome::OwnerDead`].
    pub watch: Option<i32>,
    /// The abort group (one per AbortSignal), 0 for none.
    pub group: u32,
    /// Whether the wait keeps the event loop alive.
    pub referenced: bool,
}

impl Wait {
    pub fn new(op: Op) -> Wait {
        Wait { op, deadline: None, watch: None, group: 0, referenced: true }
    }
}

/// Where an entry's backend request lives, to cancel it.
enum Handle {
    /// Settled or never submitted.
    None,
    /// An io_uring request with the entry's id.
    Uring,
    Waitv(waitv::Ticket),
    /// A pool job; `passive` for pure waits (futex, poll), whose result is
    /// only "look again" and can be passed on, as opposed to calls that
    /// consume something (a semop) and keep their result once done.
    Job {
        state: Arc<JobState>,
        passive: bool,
    },
}

struct Entry<T> {
    token: T,
    op: Op,
    deadline: Option<Deadline>,
    watch: Option<i32>,
    group: u32,
    referenced: bool,
    /// For semaphores: counted among the sem_t's waiters.
    registered: bool,
    handle: Handle,
}

impl<T> Entry<T> {
    /// The futex word the backend sleeps on, if any: where a wake consumed
    /// by a cancelled wait must be passed on.
    fn futex_addr(&self) -> Option<usize> {
        match &self.op {
            Op::Futex { addr, .. } => Some(*addr),
            Op::Sem { sem, .. } => Some(sem.value_addr()),
            Op::Fd { .. } | Op::Job(_) => None,
        }
    }

    /// Whether a futex wait's word no longer holds the value it sleeps on: a
    /// peer changed it without waking anyone. The kernel compares, so a word
    /// whose page was protected or unmapped meanwhile is an error here,
    /// never a fault; and it never queues as a waiter (a zero-timeout wait
    /// would, and could swallow a wake meant for the real one).
    fn word_moved(&self) -> bool {
        match &self.op {
            Op::Futex { addr, expected } => matches!(futex::compare(*addr, *expected), Ok(false)),
            Op::Sem { .. } | Op::Fd { .. } | Op::Job(_) => false,
        }
    }
}

/// Which kernel mechanism carries futex and fd waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Uring,
    Waitv,
    Pool,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Uring => "io_uring",
            BackendKind::Waitv => "futex_waitv",
            BackendKind::Pool => "pool",
        }
    }

    /// The best backend this kernel offers, unless `SHMKIT_WAIT_BACKEND`
    /// (io_uring, futex_waitv or pool) asks for a lesser one: the tests run
    /// every backend on one machine that way.
    pub fn choose() -> BackendKind {
        let best = if uring::available() {
            BackendKind::Uring
        } else if futex::waitv_supported() {
            BackendKind::Waitv
        } else {
            BackendKind::Pool
        };
        let forced = match std::env::var("SHMKIT_WAIT_BACKEND").as_deref() {
            Ok("pool") => BackendKind::Pool,
            Ok("futex_waitv") => BackendKind::Waitv,
            _ => return best,
        };
        if best == BackendKind::Pool || (best == BackendKind::Waitv && forced == BackendKind::Uring) {
            best
        } else {
            forced
        }
    }
}

enum Backend {
    Uring(uring::Uring),
    Waitv,
    Pool,
}

/// The waits of one thread (one Node env), of every kind. Not `Sync`: only
/// the owning thread calls it; other threads reach it through the queue.
pub struct Engine<T> {
    backend: Backend,
    queue: Arc<CompletionQueue>,
    entries: HashMap<u64, Entry<T>>,
    /// Cancelled waits whose backend request may still complete.
    ghosts: HashMap<u64, Option<usize>>,
    next_id: u64,
    timers: BinaryHeap<Reverse<(Deadline, u64)>>,
    groups: HashMap<u32, HashSet<u64>>,
    referenced: usize,
    settled: Vec<(T, Outcome)>,
    scratch: Vec<Completion>,
}

/// How starting a wait went.
enum Start {
    Pending,
    Now(Outcome),
}

impl<T> Engine<T> {
    /// An engine on `kind`; `queue` carries completions from threads (the
    /// futex_waitv and pool backends) back to this engine's thread.
    pub fn new(kind: BackendKind, queue: Arc<CompletionQueue>) -> crate::os::Result<Engine<T>> {
        let backend = match kind {
            BackendKind::Uring => Backend::Uring(uring::Uring::new()?),
            BackendKind::Waitv => Backend::Waitv,
            BackendKind::Pool => Backend::Pool,
        };
        Ok(Engine {
            backend,
            queue,
            entries: HashMap::new(),
            ghosts: HashMap::new(),
            next_id: 1,
            timers: BinaryHeap::new(),
            groups: HashMap::new(),
            referenced: 0,
            settled: Vec::new(),
            scratch: Vec::new(),
        })
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Uring(_) => BackendKind::Uring,
            Backend::Waitv => BackendKind::Waitv,
            Backend::Pool => BackendKind::Pool,
        }
    }

    /// The descriptor the event loop must poll for readability (io_uring's
    /// ring), if any; thread backends notify through the queue instead.
    pub fn poll_fd(&self) -> Option<RawFd> {
        match &self.backend {
            Backend::Uring(ring) => Some(ring.fd()),
            _ => None,
        }
    }

    /// Waits pending.
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// Pending waits that keep the event loop alive.
    pub fn referenced(&self) -> usize {
        self.referenced
    }

    /// What settled since the last call, to resolve on the JS side.
    pub fn take_settled(&mut self) -> Vec<(T, Outcome)> {
        std::mem::take(&mut self.settled)
    }

    /// Whether anything settled since the last `take_settled`.
    pub fn has_settled(&self) -> bool {
        !self.settled.is_empty()
    }

    /// The earliest deadline or liveness check, for the event loop's timer.
    pub fn next_timer(&mut self) -> Option<Deadline> {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if self.entries.contains_key(&id) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// Starts a wait. What is decided at once (a semaphore unit was there,
    /// the deadline already passed) settles at once: see `take_settled`.
    /// On error nothing was started and the token comes back.
    pub fn submit(&mut self, wait: Wait, token: T) -> Result<(), (T, Error)> {
        let id = self.next_id;
        self.next_id += 1;
        let Wait { op, deadline, watch, group, referenced } = wait;
        let mut entry =
            Entry { token, op, deadline, watch, group, referenced, registered: false, handle: Handle::None };
        if let Op::Sem { sem, .. } = &entry.op {
            if sem.try_take() {
                self.settled.push((entry.token, Outcome::Acquired));
                return Ok(());
            }
        }
        if deadline.is_some_and(Deadline::passed) {
            self.settled.push((entry.token, Outcome::TimedOut));
            return Ok(());
        }
        match self.start(id, &mut entry) {
            Err(e) => {
                Self::unregister(&mut entry);
                Err((entry.token, e))
            }
            Ok(Start::Now(outcome)) => {
                self.settled.push((entry.token, outcome));
                Ok(())
            }
            Ok(Start::Pending) => {
                if let Some(at) = deadline {
                    self.timers.push(Reverse((at, id)));
                }
                if watch.is_some() {
                    self.push_liveness_check(id);
                }
                if group != 0 {
                    self.groups.entry(group).or_default().insert(id);
                }
                if referenced {
                    self.referenced += 1;
                }
                self.entries.insert(id, entry);
                Ok(())
            }
        }
    }

    fn push_liveness_check(&mut self, id: u64) {
        if let Some(at) = Deadline::after_ms(LIVENESS_SLICE_MS) {
            self.timers.push(Reverse((at, id)));
        }
    }

    /// Hands the entry's wait to the backend.
    fn start(&mut self, id: u64, entry: &mut Entry<T>) -> crate::os::Result<Start> {
        match &mut entry.op {
            Op::Futex { addr, expected } => {
                entry.handle = self.futex_wait(id, *addr, *expected)?;
            }
            Op::Sem { sem, .. } => {
                if !entry.registered {
                    sem.register_waiter();
                    entry.registered = true;
                }
                if sem.try_take_registered() {
                    entry.registered = false;
                    return Ok(Start::Now(Outcome::Acquired));
                }
                let addr = sem.value_addr();
                entry.handle = self.futex_wait(id, addr, 0)?;
            }
            Op::Fd { fd, events } => {
                entry.handle = match &mut self.backend {
                    Backend::Uring(ring) => {
                        ring.poll(id, *fd, *events)?;
                        Handle::Uring
                    }
                    Backend::Waitv | Backend::Pool => {
                        let state = pool::submit(
                            id,
                            Box::new(jobs::Poll { fd: *fd, events: *events }),
                            Arc::clone(&self.queue),
                        )?;
                        Handle::Job { state, passive: true }
                    }
                };
            }
            Op::Job(_) => {
                let Op::Job(job) = std::mem::replace(&mut entry.op, Op::Job(Box::new(jobs::Spent))) else {
                    unreachable!()
                };
                entry.handle = Handle::Job { state: pool::submit(id, job, Arc::clone(&self.queue))?, passive: false };
            }
        }
        Ok(Start::Pending)
    }

    fn futex_wait(&mut self, id: u64, addr: usize, expected: u32) -> crate::os::Result<Handle> {
        Ok(match &mut self.backend {
            Backend::Uring(ring) => {
                ring.futex_wait(id, addr, expected)?;
                Handle::Uring
            }
            Backend::Waitv => Handle::Waitv(waitv::register(id, addr, expected, &self.queue)?),
            Backend::Pool => {
                let state = pool::submit(id, Box::new(jobs::Futex { addr, expected }), Arc::clone(&self.queue))?;
                Handle::Job { state, passive: true }
            }
        })
    }

    /// Leaves a semaphore's waiter count, if the entry is in it.
    fn unregister(entry: &mut Entry<T>) {
        if entry.registered {
            if let Op::Sem { sem, .. } = &entry.op {
                sem.unregister_waiter();
            }
            entry.registered = false;
        }
    }

    /// Takes whatever completed (io_uring's ring and the thread queue) and
    /// settles or re-arms the waits it concerns.
    pub fn process(&mut self) {
        let mut raw = std::mem::take(&mut self.scratch);
        if let Backend::Uring(ring) = &mut self.backend {
            if let Err(e) = ring.reap(&mut raw) {
                // The ring itself failed: nothing pending can complete.
                self.fail_all(e);
            }
        }
        self.queue.drain_into(&mut raw);
        for completion in raw.drain(..) {
            self.complete(completion);
        }
        self.scratch = raw;
    }

    fn complete(&mut self, Completion { id, outcome }: Completion) {
        if let Some(addr) = self.ghosts.remove(&id) {
            // A cancelled wait took a wake meant for a live waiter.
            if let (Outcome::Woken, Some(addr)) = (&outcome, addr) {
                let _ = futex::wake(addr, 1);
            }
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else { return };
        entry.handle = Handle::None;
        if let Op::Sem { sem, .. } = &entry.op {
            if !matches!(outcome, Outcome::Failed(_)) {
                if sem.try_take_registered() {
                    entry.registered = false;
                    self.finish(id, Outcome::Acquired);
                    return;
                }
                // Woken but beaten to the unit (or spuriously): sleep again.
                let mut entry = self.entries.remove(&id).expect("entry present");
                match self.start(id, &mut entry) {
                    Ok(Start::Pending) => {
                        self.entries.insert(id, entry);
                    }
                    Ok(Start::Now(outcome)) => {
                        self.entries.insert(id, entry);
                        self.finish(id, outcome);
                    }
                    Err(e) => {
                        self.entries.insert(id, entry);
                        self.finish(id, Outcome::Failed(e));
                    }
                }
                return;
            }
        }
        self.finish(id, outcome);
    }

    /// Settles entry `id` with `outcome` and forgets it.
    fn finish(&mut self, id: u64, outcome: Outcome) {
        let Some(mut entry) = self.entries.remove(&id) else { return };
        Self::unregister(&mut entry);
        if entry.group != 0 {
            if let Some(set) = self.groups.get_mut(&entry.group) {
                set.remove(&id);
                if set.is_empty() {
                    self.groups.remove(&entry.group);
                }
            }
        }
        if entry.referenced {
            self.referenced -= 1;
        }
        self.settled.push((entry.token, outcome));
    }

    /// Ends wait `id` with `outcome` (Cancelled, TimedOut, OwnerDead,
    /// Closed) unless it already went through: a pool job that finished
    /// keeps its result, which is on its way. True if it ended now.
    pub fn cancel(&mut self, id: u64, outcome: Outcome) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else { return false };
        let handle = std::mem::replace(&mut entry.handle, Handle::None);
        let addr = entry.futex_addr();
        let poll = matches!(entry.op, Op::Fd { .. });
        match handle {
            Handle::None => {}
            Handle::Uring => {
                if let Backend::Uring(ring) = &mut self.backend {
                    // If the cancel cannot even be queued, the ring is
                    // broken and the request will never complete either.
                    if ring.cancel(id, poll).is_ok() {
                        self.ghosts.insert(id, addr);
                    }
                }
            }
            Handle::Waitv(ticket) => {
                if !waitv::unregister(&ticket) {
                    // Its wake is already queued for us: pass it on then.
                    self.ghosts.insert(id, addr);
                }
            }
            Handle::Job { state, passive } => {
                if !state.cancel() {
                    if !passive {
                        entry.handle = Handle::Job { state, passive };
                        return false;
                    }
                    // Its wake is already queued for us: pass it on then.
                    self.ghosts.insert(id, addr);
                }
            }
        }
        self.finish(id, outcome);
        true
    }

    /// Ends every wait for the readiness of `fd` (its owner is closing it)
    /// with `outcome`: a poll of a closed descriptor would never complete.
    pub fn cancel_fd(&mut self, fd: RawFd, outcome: Outcome) {
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.op, Op::Fd { fd: f, .. } if f == fd))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.cancel(id, outcome.clone());
        }
    }

    /// Aborts every wait of group `group` (an AbortSignal fired).
    pub fn cancel_group(&mut self, group: u32) {
        for id in self.groups.remove(&group).unwrap_or_default() {
            self.cancel(id, Outcome::Cancelled);
        }
    }

    /// Ends every wait whose word lies in `start..end` (a Mapping being
    /// closed) with `outcome`. Rare, so a scan.
    pub fn cancel_range(&mut self, start: usize, end: usize, outcome: Outcome) {
        let ids: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.futex_addr().is_some_and(|addr| (start..end).contains(&addr)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.cancel(id, outcome.clone());
        }
    }

    /// Handles every deadline and liveness check that is due.
    pub fn on_timer(&mut self) {
        let now = Deadline::now();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(entry) = self.entries.get_mut(&id) else { continue };
            if entry.deadline.is_some_and(|d| d <= now) {
                // A unit posted just now still counts, as with sem_timedwait
                // racing sem_post.
                let last_chance = match &entry.op {
                    Op::Sem { sem, .. } => entry.registered && sem.try_take_registered(),
                    _ => false,
                };
                if last_chance {
                    entry.registered = false;
                    self.cancel(id, Outcome::Acquired);
                } else {
                    self.cancel(id, Outcome::TimedOut);
                }
            } else if let Some(tid) = entry.watch {
                if !futex::thread_alive(tid, true) {
                    self.cancel(id, Outcome::OwnerDead);
                } else if entry.word_moved() {
                    // As a sync wait finds at the end of each slice: the
                    // caller looks at the word again (a robust mutex's owner
                    // that released it without waking, or a scribbler).
                    self.cancel(id, Outcome::NotEqual);
                } else {
                    self.push_liveness_check(id);
                }
            }
        }
    }

    fn fail_all(&mut self, error: Error) {
        let ids: Vec<u64> = self.entries.keys().copied().collect();
        for id in ids {
            self.cancel(id, Outcome::Failed(error));
        }
    }

    /// The env is going away: stops every wait without settling it (there
    /// is no JS left to tell) and hands the tokens back to be dropped.
    /// Nothing this engine started runs or touches memory afterwards.
    pub fn teardown(&mut self) -> Vec<T> {
        self.queue.close();
        let mut tokens = Vec::with_capacity(self.entries.len());
        for (_, mut entry) in self.entries.drain() {
            match std::mem::replace(&mut entry.handle, Handle::None) {
                Handle::Waitv(ticket) => {
                    waitv::unregister(&ticket);
                }
                Handle::Job { state, .. } => {
                    state.cancel();
                }
                Handle::Uring | Handle::None => {}
            }
            Self::unregister(&mut entry);
            tokens.push(entry.token);
        }
        // Closing the ring cancels its requests in the kernel.
        self.backend = Backend::Pool;
        self.ghosts.clear();
        self.timers.clear();
        self.groups.clear();
        self.referenced = 0;
        tokens.extend(self.settled.drain(..).map(|(token, _)| token));
        tokens
    }
}

#[cfg(test)]
mod tests;
