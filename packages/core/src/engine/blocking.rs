//! Sync waits: on the calling thread, with the same deadlines, liveness
//! checks and semaphore protocol as the async ones.
//!
//! A sync wait may be asked to notice that it should stop (`interrupted`):
//! the addon passes a check that tells whether the worker thread it runs in
//! is being terminated, since nothing can wake a thread asleep in a futex
//! when Node terminates a worker. The wait then sleeps in slices of
//! [`INTERRUPT_SLICE_MS`] and asks between them.

use super::{Outcome, LIVENESS_SLICE_MS};
use crate::os::deadline::Deadline;
use crate::os::futex::{self, WaitOutcome};
use crate::os::sem::RawSem;
use crate::os::Result;

/// How often a sync wait that can be interrupted checks.
pub const INTERRUPT_SLICE_MS: f64 = 20.0;

/// When a blocked wait must look up from its sleep.
struct Slices<'a> {
    deadline: Option<Deadline>,
    watch: Option<(i32, Deadline)>,
    interrupted: Option<&'a dyn Fn() -> bool>,
}

impl Slices<'_> {
    fn next(&self) -> Option<Deadline> {
        let interrupt = self.interrupted.and_then(|_| Deadline::after_ms(INTERRUPT_SLICE_MS));
        Deadline::min(Deadline::min(self.deadline, self.watch.map(|(_, at)| at)), interrupt)
    }

    /// After a slice ran out: why the wait ends, if it does.
    fn check(&mut self) -> Option<Outcome> {
        if self.deadline.is_some_and(Deadline::passed) {
            return Some(Outcome::TimedOut);
        }
        if self.interrupted.is_some_and(|interrupted| interrupted()) {
            return Some(Outcome::Cancelled);
        }
        if let Some((tid, at)) = self.watch {
            if at.passed() {
                if !futex::thread_alive(tid, true) {
                    return Some(Outcome::OwnerDead);
                }
                self.watch = Deadline::after_ms(LIVENESS_SLICE_MS).map(|next| (tid, next));
            }
        }
        None
    }
}

/// Sleeps while the shared word at `addr` holds `expected`: Woken,
/// NotEqual, TimedOut, OwnerDead (thread `watch` died) or Cancelled
/// (`interrupted` said so).
pub fn futex(
    addr: usize,
    expected: u32,
    deadline: Option<Deadline>,
    watch: Option<i32>,
    interrupted: Option<&dyn Fn() -> bool>,
) -> Result<Outcome> {
    let watch = watch.and_then(|tid| Deadline::after_ms(LIVENESS_SLICE_MS).map(|at| (tid, at)));
    let mut slices = Slices { deadline, watch, interrupted };
    loop {
        match futex::wait(addr, expected, slices.next())? {
            WaitOutcome::Woken => return Ok(Outcome::Woken),
            WaitOutcome::NotEqual => return Ok(Outcome::NotEqual),
            WaitOutcome::TimedOut => {
                if let Some(outcome) = slices.check() {
                    return Ok(outcome);
                }
            }
        }
    }
}

/// Takes a unit of `sem`: Acquired, TimedOut or Cancelled.
pub fn sem(sem: &RawSem, deadline: Option<Deadline>, interrupted: Option<&dyn Fn() -> bool>) -> Result<Outcome> {
    if sem.try_take() {
        return Ok(Outcome::Acquired);
    }
    let mut slices = Slices { deadline, watch: None, interrupted };
    sem.register_waiter();
    let outcome = loop {
        if sem.try_take_registered() {
            return Ok(Outcome::Acquired);
        }
        match futex::wait(sem.value_addr(), 0, slices.next()) {
            Err(e) => {
                sem.unregister_waiter();
                return Err(e);
            }
            Ok(WaitOutcome::TimedOut) => {
                if let Some(outcome) = slices.check() {
                    break outcome;
                }
            }
            Ok(_) => {}
        }
    };
    // A unit posted as the deadline passed still counts.
    if sem.try_take_registered() {
        return Ok(Outcome::Acquired);
    }
    sem.unregister_waiter();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn interrupted_waits_stop_within_a_slice() {
        let word = AtomicU32::new(0);
        let stop = AtomicBool::new(false);
        let check = || stop.load(Ordering::SeqCst);
        let start = Instant::now();
        let outcome = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                stop.store(true, Ordering::SeqCst);
            });
            futex(&word as *const AtomicU32 as usize, 0, None, None, Some(&check)).unwrap()
        });
        assert_eq!(outcome, Outcome::Cancelled);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_dead_owner_ends_the_wait() {
        let word = AtomicU32::new(0);
        let outcome =
            futex(&word as *const AtomicU32 as usize, 0, Deadline::after_ms(5000.0), Some(0x3fff_fff0), None).unwrap();
        assert_eq!(outcome, Outcome::OwnerDead);
        let outcome = futex(
            &word as *const AtomicU32 as usize,
            0,
            Deadline::after_ms(1.5),
            Some(crate::os::futex::gettid()),
            None,
        )
        .unwrap();
        assert_eq!(outcome, Outcome::TimedOut);
    }
}
