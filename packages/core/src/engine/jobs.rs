//! The pool's stand-ins for what io_uring and futex_waitv do without a
//! thread: a futex wait and an fd poll, one step at a time.

use super::pool::{Job, Step};
use super::Outcome;
use crate::os::deadline::Deadline;
use crate::os::futex::{self, WaitOutcome};
use crate::os::Error;
use std::os::fd::RawFd;

/// FUTEX_WAIT on a pool thread (kernels without futex_waitv).
pub struct Futex {
    pub addr: usize,
    pub expected: u32,
}

impl Job for Futex {
    fn step(&mut self, until: Deadline) -> Step {
        match futex::wait(self.addr, self.expected, Some(until)) {
            Ok(WaitOutcome::Woken) => Step::Done(Outcome::Woken),
            Ok(WaitOutcome::NotEqual) => Step::Done(Outcome::NotEqual),
            Ok(WaitOutcome::TimedOut) => Step::Again,
            Err(e) => Step::Done(Outcome::Failed(e)),
        }
    }

    /// A wake taken by a wait nobody waits for any more goes on.
    fn undo(&mut self, outcome: &Outcome) {
        if *outcome == Outcome::Woken {
            let _ = futex::wake(self.addr, 1);
        }
    }
}

/// poll(2) on a pool thread (no io_uring).
pub struct Poll {
    pub fd: RawFd,
    pub events: u32,
}

impl Job for Poll {
    fn step(&mut self, until: Deadline) -> Step {
        let mut pollfd = libc::pollfd { fd: self.fd, events: self.events as libc::c_short, revents: 0 };
        let ms = until.remaining_ms_ceil().min(i32::MAX as u64) as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        let ret = unsafe { libc::poll(&mut pollfd, 1, ms) };
        match ret {
            1.. => Step::Done(Outcome::Done(i64::from(pollfd.revents))),
            0 => Step::Again,
            _ => {
                let e = Error::last("poll");
                if e.errno() == libc::EINTR {
                    Step::Again
                } else {
                    Step::Done(Outcome::Failed(e))
                }
            }
        }
    }
}

/// What an entry holds once its job went to the pool.
pub struct Spent;

impl Job for Spent {
    fn step(&mut self, _until: Deadline) -> Step {
        Step::Done(Outcome::Failed(Error::new(libc::EINVAL, "shmkit wait")))
    }
}
