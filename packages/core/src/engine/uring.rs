//! The io_uring backend: one ring per engine (per JS thread). Futex waits
//! and fd polls are submitted as requests; the ring's descriptor is polled
//! by the event loop, so the JS thread wakes directly when a futex is
//! woken, with no thread in between.

use super::{Completion, Outcome};
use crate::os::io_uring::{Cqe, IoUring, OP_ASYNC_CANCEL, OP_FUTEX_WAIT, OP_POLL_ADD};
use crate::os::{Error, Result};
use std::os::fd::RawFd;
use std::sync::OnceLock;

/// Tags in the high bits of user_data: what kind of request completed.
/// Engine ids stay below 2^53 (they are JS-safe integers).
const POLL: u64 = 1 << 62;
const CANCEL: u64 = 1 << 63;
const ID_MASK: u64 = (1 << 62) - 1;

/// Submissions per io_uring_enter and completions the CQ holds before the
/// kernel's overflow list takes over (which costs, but loses nothing).
const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 16_384;

/// Whether this kernel (and its seccomp policy) lets io_uring wait on
/// futexes and poll: probed once per process.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        IoUring::new(2, 2)
            .is_ok_and(|ring| [OP_FUTEX_WAIT, OP_POLL_ADD, OP_ASYNC_CANCEL].iter().all(|&op| ring.supports(op)))
    })
}

pub struct Uring {
    ring: IoUring,
    cqes: Vec<Cqe>,
}

impl Uring {
    pub fn new() -> Result<Uring> {
        Ok(Uring { ring: IoUring::new(SQ_ENTRIES, CQ_ENTRIES)?, cqes: Vec::new() })
    }

    pub fn fd(&self) -> RawFd {
        self.ring.fd()
    }

    pub fn futex_wait(&mut self, id: u64, addr: usize, expected: u32) -> Result<()> {
        self.ring.futex_wait(id, addr, expected)?;
        self.ring.submit()
    }

    pub fn poll(&mut self, id: u64, fd: RawFd, events: u32) -> Result<()> {
        self.ring.poll(id | POLL, fd, events)?;
        self.ring.submit()
    }

    /// Cancels request `id` (a futex wait or a poll: `poll` says which). Its
    /// completion still arrives: -ECANCELED, or its result if it had
    /// finished first.
    pub fn cancel(&mut self, id: u64, poll: bool) -> Result<()> {
        let target = if poll { id | POLL } else { id };
        self.ring.cancel(id | CANCEL, target)?;
        self.ring.submit()
    }

    /// The completions available now, as the engine reads them.
    pub fn reap(&mut self, out: &mut Vec<Completion>) -> Result<()> {
        self.ring.reap(&mut self.cqes)?;
        for cqe in self.cqes.drain(..) {
            if cqe.user_data & CANCEL != 0 {
                continue;
            }
            let id = cqe.user_data & ID_MASK;
            let outcome = if cqe.user_data & POLL != 0 {
                match cqe.res {
                    res if res >= 0 => Outcome::Done(i64::from(res)),
                    res if res == -libc::ECANCELED => Outcome::Cancelled,
                    res => Outcome::Failed(Error::new(-res, "poll")),
                }
            } else {
                match cqe.res {
                    0 => Outcome::Woken,
                    res if res == -libc::EAGAIN => Outcome::NotEqual,
                    res if res == -libc::ECANCELED => Outcome::Cancelled,
                    res => Outcome::Failed(Error::new(-res, "futex")),
                }
            };
            out.push(Completion { id, outcome });
        }
        Ok(())
    }
}
