//! Just enough io_uring for waits: one ring, futex waits, fd polls and
//! cancellation, driven by the thread that created it.
//!
//! Why io_uring at all: a futex wait submitted here sleeps in the kernel
//! without a thread, and its completion makes the ring's descriptor
//! readable, so an event loop polling that descriptor wakes exactly when the
//! futex is woken. An async wait then costs one wake-up, like a sync one,
//! instead of waking a helper thread that wakes the loop.
//!
//! Only what shmkit needs is here: IORING_OP_FUTEX_WAIT (Linux 6.7),
//! IORING_OP_POLL_ADD and IORING_OP_ASYNC_CANCEL, no SQPOLL, no registered
//! buffers. [`IoUring::supports`] tells whether the running kernel (and its
//! seccomp policy) allows an opcode at all.

use super::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Opcodes (include/uapi/linux/io_uring.h).
pub const OP_POLL_ADD: u8 = 6;
pub const OP_ASYNC_CANCEL: u8 = 14;
pub const OP_FUTEX_WAIT: u8 = 51;

/// FUTEX2 flags of a futex SQE: a 32-bit futex, shared between processes
/// (no FUTEX2_PRIVATE), so waiters and wakers in any process meet.
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;

const IORING_SETUP_CQSIZE: u32 = 1 << 3;
const IORING_SETUP_CLAMP: u32 = 1 << 4;
const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
const IORING_FEAT_NODROP: u32 = 1 << 1;
const IORING_OFF_SQ_RING: libc::off_t = 0;
const IORING_OFF_CQ_RING: libc::off_t = 0x800_0000;
const IORING_OFF_SQES: libc::off_t = 0x1000_0000;
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;
const IORING_REGISTER_PROBE: u32 = 8;
const IO_URING_OP_SUPPORTED: u16 = 1;

#[repr(C)]
#[derive(Default)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    resv2: u64,
}

#[repr(C)]
#[derive(Default)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    resv2: u64,
}

#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

/// A submission queue entry, with the union fields shmkit uses named for
/// what they hold (`off` is also `addr2`, `op_flags` also `poll32_events`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sqe {
    opcode: u8,
    flags: u8,
    ioprio: u16,
    fd: i32,
    off: u64,
    addr: u64,
    len: u32,
    op_flags: u32,
    user_data: u64,
    buf_index: u16,
    personality: u16,
    file_index: i32,
    addr3: u64,
    pad: u64,
}

const _: () = assert!(std::mem::size_of::<Sqe>() == 64);

/// A completion: the `user_data` of its submission and the result (>= 0,
/// or a negated errno).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: u32,
}

#[repr(C)]
struct ProbeOp {
    op: u8,
    resv: u8,
    flags: u16,
    resv2: u32,
}

#[repr(C)]
struct Probe {
    last_op: u8,
    ops_len: u8,
    resv: u16,
    resv2: [u32; 3],
    ops: [ProbeOp; 256],
}

/// One mmap of the ring's memory; unmapped on drop.
struct RingMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl RingMap {
    fn new(fd: RawFd, len: usize, offset: libc::off_t) -> Result<RingMap> {
        // SAFETY: a fresh shared mapping of the ring fd; the kernel checks
        // the offset and length against the ring it set up.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap"));
        }
        // mmap never returns null on success for a non-fixed mapping.
        Ok(RingMap { ptr: NonNull::new(ptr.cast()).ok_or(Error::new(libc::ENOMEM, "mmap"))?, len })
    }

    /// A pointer `offset` bytes in, as the kernel laid the ring out.
    fn at<T>(&self, offset: u32) -> *mut T {
        debug_assert!((offset as usize) < self.len);
        // SAFETY: offsets come from the kernel's io_uring_params for this
        // very mapping, so they lie inside it.
        unsafe { self.ptr.as_ptr().add(offset as usize).cast() }
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range and nothing else unmaps it.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// An io_uring instance. Not `Sync`: one thread submits and reaps.
pub struct IoUring {
    fd: OwnedFd,
    _sq_map: RingMap,
    cq_map: Option<RingMap>,
    _sqe_map: RingMap,
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_flags: *const AtomicU32,
    sq_mask: u32,
    sq_entries: u32,
    sq_array: *mut u32,
    sqes: *mut Sqe,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const Cqe,
    /// SQEs written but not yet handed to the kernel.
    unsubmitted: u32,
}

// SAFETY: the raw pointers all point into mappings this value owns; moving
// it to another thread moves the ownership with it (it is never shared).
unsafe impl Send for IoUring {}

fn enter(fd: RawFd, to_submit: u32, min_complete: u32, flags: u32) -> Result<u32> {
    loop {
        // SAFETY: io_uring_enter only reads the rings of `fd`; no sigset.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                to_submit,
                min_complete,
                flags,
                std::ptr::null::<libc::c_void>(),
                0usize,
            )
        };
        if ret >= 0 {
            return Ok(ret as u32);
        }
        let err = Error::last("io_uring_enter");
        if err.errno() != libc::EINTR {
            return Err(err);
        }
    }
}

impl IoUring {
    /// A ring with room for `entries` submissions per batch and
    /// `cq_entries` completions (the kernel rounds both up to powers of
    /// two and clamps them to its limits).
    pub fn new(entries: u32, cq_entries: u32) -> Result<IoUring> {
        let mut params = Params { flags: IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, cq_entries, ..Params::default() };
        // SAFETY: params is a valid, zero-initialised io_uring_params.
        let ret = unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, &mut params as *mut Params) };
        if ret < 0 {
            return Err(Error::last("io_uring_setup"));
        }
        // SAFETY: io_uring_setup returned a new descriptor that we own.
        let fd = unsafe { OwnedFd::from_raw_fd(ret as RawFd) };
        // NODROP (5.5): completions beyond the CQ wait in an overflow list
        // instead of being lost; waits depend on every completion arriving.
        if params.features & IORING_FEAT_NODROP == 0 {
            return Err(Error::new(libc::ENOSYS, "io_uring_setup"));
        }
        let raw = fd.as_raw_fd();
        let sq_len = params.sq_off.array as usize + params.sq_entries as usize * 4;
        let cq_len = params.cq_off.cqes as usize + params.cq_entries as usize * std::mem::size_of::<Cqe>();
        let single = params.features & IORING_FEAT_SINGLE_MMAP != 0;
        let sq_map = RingMap::new(raw, if single { sq_len.max(cq_len) } else { sq_len }, IORING_OFF_SQ_RING)?;
        let cq_map = if single { None } else { Some(RingMap::new(raw, cq_len, IORING_OFF_CQ_RING)?) };
        let sqe_map = RingMap::new(raw, params.sq_entries as usize * std::mem::size_of::<Sqe>(), IORING_OFF_SQES)?;
        let cq = cq_map.as_ref().unwrap_or(&sq_map);
        // SAFETY: ring_mask and ring_entries are plain u32s inside the ring
        // the kernel initialised; they never change afterwards.
        let (sq_mask, sq_entries, cq_mask) = unsafe {
            (
                *sq_map.at::<u32>(params.sq_off.ring_mask),
                *sq_map.at::<u32>(params.sq_off.ring_entries),
                *cq.at::<u32>(params.cq_off.ring_mask),
            )
        };
        Ok(IoUring {
            sq_head: sq_map.at(params.sq_off.head),
            sq_tail: sq_map.at(params.sq_off.tail),
            sq_flags: sq_map.at(params.sq_off.flags),
            sq_array: sq_map.at(params.sq_off.array),
            sq_mask,
            sq_entries,
            sqes: sqe_map.at(0),
            cq_head: cq.at(params.cq_off.head),
            cq_tail: cq.at(params.cq_off.tail),
            cq_mask,
            cqes: cq.at(params.cq_off.cqes),
            fd,
            _sq_map: sq_map,
            cq_map,
            _sqe_map: sqe_map,
            unsubmitted: 0,
        })
    }

    /// The descriptor an event loop polls: readable while completions wait.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Whether the kernel accepts `opcode` (IORING_REGISTER_PROBE, 5.6).
    pub fn supports(&self, opcode: u8) -> bool {
        // SAFETY: Probe is plain old data; all-zero is what the kernel wants.
        let mut probe: Box<Probe> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: the probe buffer holds 256 ops, which is what we declare.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                self.fd(),
                IORING_REGISTER_PROBE,
                &mut *probe as *mut Probe,
                256u32,
            )
        };
        ret >= 0 && opcode <= probe.last_op && probe.ops[opcode as usize].flags & IO_URING_OP_SUPPORTED != 0
    }

    fn push(&mut self, sqe: Sqe) -> Result<()> {
        // SAFETY: sq_head is the kernel's consumer index in our mapping.
        let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
        // SAFETY: sq_tail is ours to write; the kernel only reads it.
        let tail = unsafe { (*self.sq_tail).load(Ordering::Relaxed) };
        if tail.wrapping_sub(head) >= self.sq_entries {
            self.submit()?;
            // SAFETY: as above.
            let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
            if tail.wrapping_sub(head) >= self.sq_entries {
                return Err(Error::new(libc::EBUSY, "io_uring_enter"));
            }
        }
        let index = tail & self.sq_mask;
        // SAFETY: index < sq_entries, inside the SQE array and the index
        // array; the slot is free because tail - head < entries.
        unsafe {
            self.sqes.add(index as usize).write(sqe);
            self.sq_array.add(index as usize).write(index);
            (*self.sq_tail).store(tail.wrapping_add(1), Ordering::Release);
        }
        self.unsubmitted += 1;
        Ok(())
    }

    /// Queues a wait until the 32-bit shared futex at `addr` no longer holds
    /// `expected` and is woken. Completes with 0 when woken, -EAGAIN when the
    /// word differed at submission, -ECANCELED when cancelled, -EFAULT for
    /// an unmapped address.
    pub fn futex_wait(&mut self, user_data: u64, addr: usize, expected: u32) -> Result<()> {
        self.push(Sqe {
            opcode: OP_FUTEX_WAIT,
            fd: FUTEX2_SIZE_U32 as i32,
            addr: addr as u64,
            off: u64::from(expected),
            addr3: FUTEX_BITSET_MATCH_ANY,
            user_data,
            ..Sqe::default()
        })
    }

    /// Queues a one-shot poll of `fd` for `events` (POLLIN...); completes
    /// with the events that fired.
    pub fn poll(&mut self, user_data: u64, fd: RawFd, events: u32) -> Result<()> {
        self.push(Sqe { opcode: OP_POLL_ADD, fd, op_flags: events, user_data, ..Sqe::default() })
    }

    /// Queues the cancellation of the request submitted with `target`. Its
    /// own completion carries `user_data`; the target completes -ECANCELED
    /// if it was still pending, or with its own result if it had finished.
    pub fn cancel(&mut self, user_data: u64, target: u64) -> Result<()> {
        self.push(Sqe { opcode: OP_ASYNC_CANCEL, fd: -1, addr: target, user_data, ..Sqe::default() })
    }

    /// Hands every queued SQE to the kernel.
    pub fn submit(&mut self) -> Result<()> {
        while self.unsubmitted > 0 {
            let done = enter(self.fd(), self.unsubmitted, 0, 0)?;
            if done == 0 {
                return Err(Error::new(libc::EBUSY, "io_uring_enter"));
            }
            self.unsubmitted -= done.min(self.unsubmitted);
        }
        Ok(())
    }

    /// Whether submissions are queued but not yet handed to the kernel.
    pub fn has_unsubmitted(&self) -> bool {
        self.unsubmitted > 0
    }

    /// Moves every available completion into `out`, including those the
    /// kernel kept in its overflow list when the CQ was full.
    pub fn reap(&mut self, out: &mut Vec<Cqe>) -> Result<()> {
        loop {
            // SAFETY: cq_tail is the kernel's producer index in our mapping;
            // cq_head is ours.
            let tail = unsafe { (*self.cq_tail).load(Ordering::Acquire) };
            // SAFETY: as above.
            let mut head = unsafe { (*self.cq_head).load(Ordering::Relaxed) };
            while head != tail {
                // SAFETY: head & mask indexes the CQE array; entries between
                // head and tail are published by the kernel (acquire above).
                out.push(unsafe { self.cqes.add((head & self.cq_mask) as usize).read() });
                head = head.wrapping_add(1);
            }
            // SAFETY: releasing the entries we copied back to the kernel.
            unsafe { (*self.cq_head).store(head, Ordering::Release) };
            // SAFETY: sq_flags is a u32 the kernel updates in our mapping.
            let overflowed = unsafe { (*self.sq_flags).load(Ordering::Acquire) } & IORING_SQ_CQ_OVERFLOW != 0;
            if !overflowed {
                return Ok(());
            }
            // Flushes the overflow list into the now empty CQ.
            enter(self.fd(), 0, 0, IORING_ENTER_GETEVENTS)?;
        }
    }

    /// Blocks until at least one completion is available (tests only: an
    /// event loop polls [`IoUring::fd`] instead).
    pub fn wait_for_completion(&mut self) -> Result<()> {
        enter(self.fd(), self.unsubmitted, 1, IORING_ENTER_GETEVENTS)
            .map(|done| self.unsubmitted -= done.min(self.unsubmitted))
    }
}

impl std::fmt::Debug for IoUring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoUring").field("fd", &self.fd()).field("separate_cq_map", &self.cq_map.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// This machine's kernel (6.18) has io_uring futex waits; a kernel
    /// without them fails here on purpose: the engine then runs on its
    /// thread backends, whose tests force them explicitly.
    fn ring() -> IoUring {
        let ring = IoUring::new(8, 64).expect("io_uring_setup");
        assert!(ring.supports(OP_FUTEX_WAIT), "IORING_OP_FUTEX_WAIT (Linux 6.7+) is not available");
        ring
    }

    fn addr(word: &AtomicU32) -> usize {
        word as *const AtomicU32 as usize
    }

    fn reap_one(ring: &mut IoUring) -> Cqe {
        let mut out = Vec::new();
        while out.is_empty() {
            ring.wait_for_completion().unwrap();
            ring.reap(&mut out).unwrap();
        }
        assert_eq!(out.len(), 1, "{out:?}");
        out[0]
    }

    #[test]
    fn futex_wait_completes_on_wake_and_on_mismatch() {
        let mut ring = ring();
        let word = Arc::new(AtomicU32::new(7));
        ring.futex_wait(1, addr(&word), 6).unwrap();
        ring.submit().unwrap();
        assert_eq!(reap_one(&mut ring), Cqe { user_data: 1, res: -libc::EAGAIN, flags: 0 });

        ring.futex_wait(2, addr(&word), 7).unwrap();
        ring.submit().unwrap();
        let w = Arc::clone(&word);
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w.store(8, Ordering::SeqCst);
            crate::os::futex::wake(addr(&w), 1).unwrap()
        });
        assert_eq!(reap_one(&mut ring).res, 0);
        assert_eq!(waker.join().unwrap(), 1);
    }

    #[test]
    fn cancel_ends_a_pending_wait() {
        let mut ring = ring();
        let word = AtomicU32::new(0);
        ring.futex_wait(5, addr(&word), 0).unwrap();
        ring.cancel(6, 5).unwrap();
        ring.submit().unwrap();
        let mut out = Vec::new();
        while out.len() < 2 {
            ring.wait_for_completion().unwrap();
            ring.reap(&mut out).unwrap();
        }
        out.sort_by_key(|c| c.user_data);
        assert_eq!((out[0].user_data, out[0].res), (5, -libc::ECANCELED));
        // The cancel itself succeeds (this kernel reports how many it found).
        assert_eq!(out[1].user_data, 6);
        assert!(out[1].res >= 0, "{}", out[1].res);
    }

    #[test]
    fn poll_reports_readiness() {
        let mut ring = ring();
        let mut fds = [0; 2];
        // SAFETY: fds is a valid out-array of two ints.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: pipe() gave us both descriptors.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        ring.poll(9, r.as_raw_fd(), libc::POLLIN as u32).unwrap();
        ring.submit().unwrap();
        // SAFETY: writing one byte from a live buffer to our pipe.
        assert_eq!(unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) }, 1);
        let cqe = reap_one(&mut ring);
        assert_eq!(cqe.user_data, 9);
        assert_ne!(cqe.res & libc::POLLIN as i32, 0);
    }

    #[test]
    fn many_completions_survive_a_full_cq() {
        let mut ring = ring();
        // 300 waits on a 64-entry CQ (and an 8-entry SQ): the overflow list
        // must hand every completion over.
        let words: Vec<AtomicU32> = (0..300).map(|_| AtomicU32::new(1)).collect();
        for (i, word) in words.iter().enumerate() {
            ring.futex_wait(i as u64, addr(word), 0).unwrap();
        }
        ring.submit().unwrap();
        let mut out = Vec::new();
        while out.len() < words.len() {
            ring.wait_for_completion().unwrap();
            ring.reap(&mut out).unwrap();
        }
        assert!(out.iter().all(|c| c.res == -libc::EAGAIN));
        let mut ids: Vec<u64> = out.iter().map(|c| c.user_data).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..300).collect::<Vec<u64>>());
    }
}
