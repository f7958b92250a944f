//! A bounded pool of reusable threads for waits the kernel cannot
//! multiplex: System V `semop`/`msgrcv`, and futex or fd waits on kernels
//! with neither io_uring futexes nor futex_waitv.
//!
//! A job runs in steps of at most [`SLICE`]: between steps the thread checks
//! whether the wait was cancelled (AbortSignal, timeout, env teardown),
//! since a thread asleep in `semop` can only be interrupted by a signal and
//! shmkit installs none. When more jobs wait than there are threads, a job
//! whose step ends without result goes to the back of the queue, so every
//! pending wait gets its turn and none starves the others; waits then react
//! more slowly (by up to one slice per job queued ahead), never not at all.

use super::queue::CompletionQueue;
use super::{Completion, Outcome};
use crate::os::deadline::Deadline;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Longest step of a job: how late a cancel is noticed.
pub const SLICE: Duration = Duration::from_millis(50);
/// Most threads the pool ever runs.
pub const MAX_THREADS: usize = 64;
/// An idle thread exits after this long without work.
const IDLE_EXIT: Duration = Duration::from_secs(5);
const STACK: usize = 256 * 1024;

/// What one step of a job came to.
pub enum Step {
    /// The call went through or failed for good.
    Done(Outcome),
    /// Nothing yet; run another step.
    Again,
}

/// A blocking call, cut into bounded steps.
pub trait Job: Send {
    /// Waits at most until `until` for the call to go through.
    fn step(&mut self, until: Deadline) -> Step;
    /// Undoes an outcome nobody will receive because the wait was cancelled
    /// after the call went through: gives back the units a semop took,
    /// passes on a consumed futex wake.
    fn undo(&mut self, _outcome: &Outcome) {}
}

const PENDING: u8 = 0;
const CANCELLED: u8 = 1;
const DONE: u8 = 2;

/// Who won the race between a job finishing and its wait being cancelled:
/// whoever moves it off PENDING first.
#[derive(Default)]
pub struct JobState(AtomicU8);

impl JobState {
    /// Cancels the job; false if it already finished (its result is on its
    /// way and must be taken).
    pub fn cancel(&self) -> bool {
        self.0.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    fn finish(&self) -> bool {
        self.0.compare_exchange(PENDING, DONE, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire) == CANCELLED
    }
}

struct Task {
    id: u64,
    job: Box<dyn Job>,
    state: Arc<JobState>,
    queue: Arc<CompletionQueue>,
}

struct Inner {
    tasks: VecDeque<Task>,
    threads: usize,
    idle: usize,
}

struct Pool {
    inner: Mutex<Inner>,
    work: Condvar,
}

static POOL: OnceLock<Pool> = OnceLock::new();
/// Threads alive, for the tests and the benchmark.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool {
        inner: Mutex::new(Inner { tasks: VecDeque::new(), threads: 0, idle: 0 }),
        work: Condvar::new(),
    })
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Threads the pool runs now.
pub fn threads() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Queues `job`; its outcome arrives on `queue` as completion `id` unless
/// the returned state is cancelled first.
pub fn submit(id: u64, job: Box<dyn Job>, queue: Arc<CompletionQueue>) -> crate::os::Result<Arc<JobState>> {
    let state = Arc::new(JobState::default());
    let shared = pool();
    let mut inner = shared.lock();
    inner.tasks.push_back(Task { id, job, state: Arc::clone(&state), queue });
    if inner.idle == 0 && inner.threads < MAX_THREADS {
        let spawned = std::thread::Builder::new().name("shmkit-wait".into()).stack_size(STACK).spawn(|| run(pool()));
        match spawned {
            Ok(_) => {
                inner.threads += 1;
                LIVE.fetch_add(1, Ordering::Relaxed);
            }
            // With no thread at all the job would never run.
            Err(e) if inner.threads == 0 => {
                inner.tasks.pop_back();
                return Err(crate::os::Error::new(e.raw_os_error().unwrap_or(libc::EAGAIN), "pthread_create"));
            }
            Err(_) => {}
        }
    }
    drop(inner);
    shared.work.notify_one();
    Ok(state)
}

fn run(pool: &'static Pool) {
    let mut inner = pool.lock();
    loop {
        let Some(mut task) = inner.tasks.pop_front() else {
            inner.idle += 1;
            let (guard, timeout) = pool.work.wait_timeout(inner, IDLE_EXIT).unwrap_or_else(|p| p.into_inner());
            inner = guard;
            inner.idle -= 1;
            if timeout.timed_out() && inner.tasks.is_empty() {
                inner.threads -= 1;
                LIVE.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            continue;
        };
        drop(inner);
        let requeue = run_task(&mut task, pool);
        inner = pool.lock();
        if requeue {
            inner.tasks.push_back(task);
        }
    }
}

/// Runs steps of `task` until it is done, cancelled, or others are waiting
/// for a thread (then true: put it back in the queue).
fn run_task(task: &mut Task, pool: &Pool) -> bool {
    loop {
        if task.state.cancelled() || task.queue.is_closed() {
            return false;
        }
        let until = Deadline::after(SLICE).unwrap_or_else(Deadline::now);
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.job.step(until)))
            .unwrap_or_else(|_| Step::Done(Outcome::Failed(crate::os::Error::new(libc::EIO, "shmkit wait"))));
        match step {
            Step::Done(outcome) => {
                if task.state.finish() {
                    task.queue.push(Completion { id: task.id, outcome });
                } else {
                    task.job.undo(&outcome);
                }
                return false;
            }
            Step::Again if !pool.lock().tasks.is_empty() => return true,
            Step::Again => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::queue::tests::Counter;
    use std::sync::atomic::AtomicBool;

    /// Done once `flag` is set; counts how often it finished and was undone.
    struct WaitFlag(Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>);

    impl Job for WaitFlag {
        fn step(&mut self, until: Deadline) -> Step {
            while !until.passed() {
                if self.0.load(Ordering::SeqCst) {
                    self.2.fetch_add(1, Ordering::SeqCst);
                    return Step::Done(Outcome::Done(1));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Step::Again
        }
        fn undo(&mut self, _outcome: &Outcome) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn drain(queue: &CompletionQueue, want: usize) -> Vec<Completion> {
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        while out.len() < want && start.elapsed() < Duration::from_secs(20) {
            queue.drain_into(&mut out);
            std::thread::sleep(Duration::from_millis(2));
        }
        out
    }

    #[test]
    fn more_jobs_than_threads_all_finish_and_cancels_are_undone() {
        let counter = Arc::new(Counter::default());
        let queue = CompletionQueue::new(Box::new(Arc::clone(&counter)));
        let flag = Arc::new(AtomicBool::new(false));
        let undone = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let jobs = MAX_THREADS * 2;
        let job = || Box::new(WaitFlag(Arc::clone(&flag), Arc::clone(&undone), Arc::clone(&finished)));
        let states: Vec<_> = (0..jobs as u64).map(|id| submit(id, job(), Arc::clone(&queue)).unwrap()).collect();
        assert!(threads() <= MAX_THREADS);
        // Half are cancelled before they can finish.
        for state in states.iter().step_by(2) {
            assert!(state.cancel());
        }
        flag.store(true, Ordering::SeqCst);
        let done = drain(&queue, jobs / 2);
        assert_eq!(done.len(), jobs / 2);
        assert!(done.iter().all(|c| c.id % 2 == 1 && c.outcome == Outcome::Done(1)));
        // A finished job can no longer be cancelled.
        assert!(!states[1].cancel());
        // A cancelled job caught mid-step finishes it, and is undone: every
        // finish either reached the queue or was undone, never both.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(finished.load(Ordering::SeqCst), done.len() + undone.load(Ordering::SeqCst));
    }
}
