//! System V message queues: msgget, msgsnd, msgrcv, msgctl.
//!
//! The kernel has no timed and no cancellable form of msgsnd/msgrcv, and
//! their queues cannot be polled: a blocked call ends only when it goes
//! through, when the queue is removed (EIDRM) or on a signal, and shmkit
//! installs no signal handlers. So only a wait with neither deadline nor
//! cancel blocks in the kernel; every other one retries IPC_NOWAIT calls,
//! at once for the first [`Backoff::SPIN`], then pausing between tries for
//! a time that doubles from [`Backoff::FIRST`] to [`Backoff::MAX`]. A try either takes a message whole or takes nothing,
//! so a wait that is given up between tries has taken nothing.
//!
//! A waiter that must not take anything until it is sure someone will
//! receive it (an async wait, which an abort may end at any moment) looks
//! without taking: [`probe`] is a msgrcv into a 0-byte buffer without
//! MSG_NOERROR, which fails with E2BIG, leaving the message queued, as soon
//! as one matches; [`fits`] reads IPC_STAT to learn whether a send would
//! go through. The blocking form of the probe (no IPC_NOWAIT) would sleep
//! in the kernel until a message comes, but nothing could wake it for an
//! abort short of a signal, so it is not used.

use super::deadline::Deadline;
use super::{cvt, cvt_retry, Error, Result};
use std::mem::MaybeUninit;
use std::time::Duration;

pub const IPC_NOWAIT: libc::c_int = libc::IPC_NOWAIT;
/// msgrcv: truncate a message longer than the buffer instead of failing with E2BIG.
pub const MSG_NOERROR: libc::c_int = libc::MSG_NOERROR;
/// msgrcv with a positive type: take the first message of any *other* type.
pub const MSG_EXCEPT: libc::c_int = libc::MSG_EXCEPT;

/// The bytes of `mtype` in front of every message (a C `long`).
pub const TYPE_SIZE: usize = std::mem::size_of::<libc::c_long>();

/// How [`get`] finds or makes a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetOptions {
    /// IPC_CREAT: make the queue if the key has none.
    pub create: bool,
    /// IPC_EXCL (with `create`): fail with EEXIST if the key has one.
    pub exclusive: bool,
    /// Permission bits of a new queue (0..=0o777).
    pub mode: u32,
    /// Access an existing queue must grant us (0o400 read, 0o200 write), so
    /// that a queue we may not use fails here with EACCES rather than later.
    pub access: u32,
}

/// msgget: the id of the queue for `key`, made if `options` say so.
pub fn get(key: u32, options: GetOptions) -> Result<i32> {
    let mut flags = (options.access & 0o600) as libc::c_int;
    if options.create {
        flags = (options.mode & 0o777) as libc::c_int | libc::IPC_CREAT;
        if options.exclusive {
            flags |= libc::IPC_EXCL;
        }
    }
    // SAFETY: msgget takes plain integers; key_t is the key's 32 bits.
    cvt(unsafe { libc::msgget(key as libc::key_t, flags) }, "msgget")
}

/// A `struct msgbuf` (the mtype, then the text), reused between calls so
/// the hot path does not allocate. The kernel needs no alignment for it.
#[derive(Debug, Default)]
pub struct MsgBuf {
    bytes: Vec<u8>,
}

impl MsgBuf {
    pub fn new() -> Self {
        MsgBuf { bytes: Vec::new() }
    }

    /// Empties the buffer and makes room for a text of `len` bytes, without
    /// touching that memory: a large buffer costs address space only, until
    /// a message fills it. ENOMEM (never an abort) when it cannot be had.
    pub fn reserve(&mut self, len: usize) -> Result<()> {
        let total = len.checked_add(TYPE_SIZE).ok_or(Error::new(libc::ENOMEM, "msgrcv"))?;
        self.bytes.clear();
        if self.bytes.capacity() < total {
            self.bytes = Vec::new();
            self.bytes.try_reserve_exact(total).map_err(|_| Error::new(libc::ENOMEM, "msgrcv"))?;
        }
        Ok(())
    }

    /// Room for a text, in bytes.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity().saturating_sub(TYPE_SIZE)
    }

    /// Lets go of the memory if it holds more than `bytes` of room.
    pub fn shrink(&mut self, bytes: usize) {
        if self.bytes.capacity() > bytes {
            self.bytes = Vec::new();
        }
    }

    /// Makes the buffer hold one message.
    pub fn fill(&mut self, mtype: i64, text: &[u8]) -> Result<()> {
        self.reserve(text.len())?;
        self.bytes.extend_from_slice(&(mtype as libc::c_long).to_ne_bytes());
        self.bytes.extend_from_slice(text);
        Ok(())
    }

    /// The type of the message the buffer holds.
    // A C long is an i64 on the 64-bit targets and an i32 elsewhere.
    #[allow(clippy::useless_conversion)]
    pub fn mtype(&self) -> i64 {
        let mut raw = [0u8; TYPE_SIZE];
        raw.copy_from_slice(&self.bytes[..TYPE_SIZE]);
        libc::c_long::from_ne_bytes(raw).into()
    }

    /// The text of the message the buffer holds.
    pub fn text(&self) -> &[u8] {
        &self.bytes[TYPE_SIZE..]
    }
}

/// msgsnd of the message in `buf` (see [`MsgBuf::fill`]). With `nowait`,
/// false instead of waiting for room.
pub fn send(id: i32, buf: &MsgBuf, nowait: bool) -> Result<bool> {
    let flags = if nowait { IPC_NOWAIT } else { 0 };
    let len = buf.text().len();
    let ptr = buf.bytes.as_ptr().cast::<libc::c_void>();
    // SAFETY: ptr points to an mtype followed by `len` text bytes.
    match cvt_retry(|| unsafe { libc::msgsnd(id, ptr, len, flags) }, "msgsnd") {
        Ok(_) => Ok(true),
        Err(e) if nowait && e.errno() == libc::EAGAIN => Ok(false),
        Err(e) => Err(e),
    }
}

/// What a receive asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selector {
    /// 0: any message; > 0: the first of this type (or, with `except`, of
    /// any other); < 0: the first of the lowest type <= -msgtyp.
    pub msgtyp: i64,
    /// MSG_EXCEPT.
    pub except: bool,
    /// MSG_NOERROR: truncate a longer message instead of failing with E2BIG.
    pub truncate: bool,
}

impl Selector {
    fn flags(self) -> libc::c_int {
        (if self.except { MSG_EXCEPT } else { 0 }) | if self.truncate { MSG_NOERROR } else { 0 }
    }
}

/// msgrcv of a message of at most `max_len` text bytes (at most
/// `buf.capacity()`) into `buf`: its text length (`buf.mtype()` and
/// `buf.text()` read it). With `nowait`, None instead of waiting.
pub fn receive(id: i32, buf: &mut MsgBuf, max_len: usize, selector: Selector, nowait: bool) -> Result<Option<usize>> {
    assert!(max_len <= buf.capacity(), "MsgBuf::reserve first");
    let flags = selector.flags() | if nowait { IPC_NOWAIT } else { 0 };
    buf.bytes.clear();
    let ptr = buf.bytes.as_mut_ptr().cast::<libc::c_void>();
    loop {
        // SAFETY: ptr points to TYPE_SIZE + max_len bytes of capacity.
        let n = unsafe { libc::msgrcv(id, ptr, max_len, selector.msgtyp as libc::c_long, flags) };
        if n >= 0 {
            let n = n as usize;
            // SAFETY: the kernel wrote the mtype and n <= max_len text bytes.
            unsafe { buf.bytes.set_len(TYPE_SIZE + n) };
            return Ok(Some(n));
        }
        let e = Error::last("msgrcv");
        match e.errno() {
            libc::EINTR => continue,
            libc::ENOMSG if nowait => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// What [`probe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// No message matches.
    Empty,
    /// A message matches; it is still queued.
    Ready,
    /// The first match had no text, so the probe received it whole: its type.
    Took(i64),
}

/// Looks for a message `selector` would receive, without taking it (but see
/// [`Probe::Took`]). Never waits. `selector.truncate` is ignored: with
/// MSG_NOERROR the 0-byte receive would take any message.
pub fn probe(id: i32, selector: Selector) -> Result<Probe> {
    let flags = IPC_NOWAIT | if selector.except { MSG_EXCEPT } else { 0 };
    let mut raw = [0u8; TYPE_SIZE];
    loop {
        // SAFETY: raw holds an mtype and the text is 0 bytes long.
        let n = unsafe { libc::msgrcv(id, raw.as_mut_ptr().cast(), 0, selector.msgtyp as libc::c_long, flags) };
        if n >= 0 {
            // A C long is an i64 on the 64-bit targets and an i32 elsewhere.
            #[allow(clippy::useless_conversion)]
            return Ok(Probe::Took(libc::c_long::from_ne_bytes(raw).into()));
        }
        let e = Error::last("msgrcv");
        match e.errno() {
            libc::EINTR => continue,
            libc::E2BIG => return Ok(Probe::Ready),
            libc::ENOMSG => return Ok(Probe::Empty),
            _ => return Err(e),
        }
    }
}

/// Whether a message of `len` bytes would be taken by a msgsnd now: the
/// kernel's own test (msg_fits_inqueue), on IPC_STAT's counts, which needs
/// read permission. Another sender may fill the room before we send.
pub fn fits(stat: &QueueStat, len: usize) -> bool {
    // The kernel: msgsz + q_cbytes <= q_qbytes && 1 + q_qnum <= q_qbytes.
    len as u64 + stat.bytes <= stat.max_bytes && stat.messages < stat.max_bytes
}

/// The pauses between the tries of a timed or cancellable wait.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    next: Duration,
    /// Until then, pauses are zero: yield the CPU and look again.
    spin_until: Option<Deadline>,
}

impl Backoff {
    /// How long a wait looks again at once (yielding the CPU in between)
    /// before it starts to sleep: a reply that comes within microseconds is
    /// seen without a sleep's latency (tens of microseconds at least, with
    /// the kernel's default timer slack).
    pub const SPIN: Duration = Duration::from_micros(50);
    /// The first sleep: short, so a reply that comes soon is seen soon.
    pub const FIRST: Duration = Duration::from_micros(20);
    /// The longest pause: the most a message waits for an idle waiter to
    /// notice it, and 500 tries a second per waiter at most.
    pub const MAX: Duration = Duration::from_millis(2);

    pub fn new() -> Self {
        Backoff { next: Self::FIRST, spin_until: Deadline::after(Self::SPIN) }
    }

    /// The next pause (zero while spinning), cut to what is left before
    /// `deadline`; None once it has passed.
    pub fn pause(&mut self, deadline: Option<Deadline>) -> Option<Duration> {
        let step = if self.spin_until.is_some_and(|until| !until.passed()) {
            Duration::ZERO
        } else {
            self.spin_until = None;
            let step = self.next;
            self.next = (self.next * 2).min(Self::MAX);
            step
        };
        match deadline {
            None => Some(step),
            Some(d) => {
                let left = d.remaining();
                (!left.is_zero()).then(|| step.min(left))
            }
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

/// How a retried call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled<T> {
    Done(T),
    TimedOut,
    /// `pause` said to stop.
    Stopped,
}

/// Repeats `attempt` (an IPC_NOWAIT call: Some when it went through) until
/// it goes through, `deadline` passes, or `pause(d)` (which sleeps up to `d`:
/// see [`sleep`]) returns false. A queue that disappears between tries (EINVAL after a try
/// found it, or from the start when the caller says it `existed`) is
/// reported as EIDRM, as a blocked call would see it.
pub fn retry<T>(
    deadline: Option<Deadline>,
    existed: bool,
    mut attempt: impl FnMut() -> Result<Option<T>>,
    mut pause: impl FnMut(Duration) -> bool,
) -> Result<Polled<T>> {
    let mut backoff = Backoff::new();
    let mut found = existed;
    loop {
        match attempt() {
            Ok(Some(done)) => return Ok(Polled::Done(done)),
            Ok(None) => found = true,
            Err(e) if found && e.errno() == libc::EINVAL => return Err(Error::new(libc::EIDRM, e.syscall())),
            Err(e) => return Err(e),
        }
        let Some(step) = backoff.pause(deadline) else { return Ok(Polled::TimedOut) };
        if !pause(step) {
            return Ok(Polled::Stopped);
        }
    }
}

/// One pause of a [`Backoff`]: a sleep, or for a zero pause a yield of
/// the CPU. True (a `pause` for [`retry`] that never stops it).
pub fn sleep(step: Duration) -> bool {
    if step.is_zero() {
        std::thread::yield_now();
    } else {
        std::thread::sleep(step);
    }
    true
}

/// What IPC_STAT reports about a queue (`struct msqid_ds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStat {
    pub key: u32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Messages in the queue (msg_qnum).
    pub messages: u64,
    /// Bytes of text in the queue (msg_cbytes, what `ipcs -q` calls used-bytes).
    pub bytes: u64,
    /// The most bytes the queue holds (msg_qbytes); also the most messages.
    pub max_bytes: u64,
    /// The last sender and receiver (0: none yet).
    pub lspid: i32,
    pub lrpid: i32,
    /// Seconds since the epoch; 0 means never.
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
}

/// glibc and musl on 64-bit targets keep msg_cbytes, which the libc crate
/// does not make public, in the 8 bytes between msg_ctime and msg_qnum.
#[cfg(target_pointer_width = "64")]
const CBYTES_OFFSET: usize = std::mem::offset_of!(libc::msqid_ds, msg_ctime) + std::mem::size_of::<libc::time_t>();
#[cfg(target_pointer_width = "64")]
const _: () = assert!(CBYTES_OFFSET + 8 == std::mem::offset_of!(libc::msqid_ds, msg_qnum));

fn cbytes(ds: &libc::msqid_ds) -> u64 {
    #[cfg(target_pointer_width = "64")]
    {
        // SAFETY: the assertion above pins an 8-byte field at this offset
        // inside the struct; read_unaligned needs no alignment.
        unsafe { (ds as *const libc::msqid_ds).cast::<u8>().add(CBYTES_OFFSET).cast::<u64>().read_unaligned() }
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        // Elsewhere the field's place varies; count what the queue holds no
        // better than "unknown".
        let _ = ds;
        0
    }
}

fn ctl(id: i32, cmd: libc::c_int, buf: *mut libc::msqid_ds) -> Result<libc::c_int> {
    // SAFETY: buf is null or points to a msqid_ds (or, for IPC_INFO, a
    // msginfo) the caller owns; commands without a buffer ignore it.
    cvt_retry(|| unsafe { libc::msgctl(id, cmd, buf) }, "msgctl")
}

fn stat_raw(id: i32) -> Result<libc::msqid_ds> {
    let mut ds = MaybeUninit::<libc::msqid_ds>::zeroed();
    ctl(id, libc::IPC_STAT, ds.as_mut_ptr())?;
    // SAFETY: IPC_STAT filled the struct (and it started zeroed anyway).
    Ok(unsafe { ds.assume_init() })
}

/// msgctl(IPC_STAT).
pub fn stat(id: i32) -> Result<QueueStat> {
    let ds = stat_raw(id)?;
    let perm = &ds.msg_perm;
    Ok(QueueStat {
        key: perm.__key as u32,
        uid: perm.uid,
        gid: perm.gid,
        cuid: perm.cuid,
        cgid: perm.cgid,
        mode: perm.mode as u32 & 0o777,
        messages: ds.msg_qnum as u64,
        bytes: cbytes(&ds),
        max_bytes: ds.msg_qbytes as u64,
        lspid: ds.msg_lspid,
        lrpid: ds.msg_lrpid,
        stime: ds.msg_stime,
        rtime: ds.msg_rtime,
        ctime: ds.msg_ctime,
    })
}

/// What IPC_SET changes; None keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
    /// msg_qbytes. Above msgmnb needs CAP_SYS_RESOURCE.
    pub max_bytes: Option<u64>,
}

/// msgctl(IPC_SET). The kernel takes all four fields at once, so unless all
/// are given the others are read first with IPC_STAT (which needs read
/// permission).
pub fn set(id: i32, options: SetOptions) -> Result<()> {
    let complete =
        options.uid.is_some() && options.gid.is_some() && options.mode.is_some() && options.max_bytes.is_some();
    let mut ds = if complete {
        // SAFETY: an all-zero msqid_ds is a valid value (plain integers).
        unsafe { std::mem::zeroed() }
    } else {
        stat_raw(id)?
    };
    if let Some(uid) = options.uid {
        ds.msg_perm.uid = uid;
    }
    if let Some(gid) = options.gid {
        ds.msg_perm.gid = gid;
    }
    if let Some(mode) = options.mode {
        ds.msg_perm.mode = (mode & 0o777) as _;
    }
    if let Some(max_bytes) = options.max_bytes {
        ds.msg_qbytes = max_bytes as _;
    }
    ctl(id, libc::IPC_SET, &mut ds).map(drop)
}

/// msgctl(IPC_RMID): the queue and its messages go at once; blocked senders
/// and receivers wake with EIDRM.
pub fn remove(id: i32) -> Result<()> {
    ctl(id, libc::IPC_RMID, std::ptr::null_mut()).map(drop)
}

/// The system's limits (msgctl IPC_INFO, the kernel.msg* sysctls of this
/// IPC namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest message text (kernel.msgmax).
    pub msgmax: u32,
    /// The default msg_qbytes of a new queue (kernel.msgmnb).
    pub msgmnb: u32,
    /// The most queues (kernel.msgmni).
    pub msgmni: u32,
}

pub fn limits() -> Result<Limits> {
    let mut info = MaybeUninit::<libc::msginfo>::zeroed();
    ctl(0, libc::IPC_INFO, info.as_mut_ptr().cast())?;
    // SAFETY: IPC_INFO filled the struct (and it started zeroed anyway).
    let info = unsafe { info.assume_init() };
    Ok(Limits { msgmax: info.msgmax as u32, msgmnb: info.msgmnb as u32, msgmni: info.msgmni as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Makes a private queue and removes it when dropped.
    struct Queue(i32);

    impl Queue {
        fn new() -> Queue {
            Queue(get(0, GetOptions { create: true, exclusive: true, mode: 0o600, access: 0 }).unwrap())
        }
    }

    impl Drop for Queue {
        fn drop(&mut self) {
            let _ = remove(self.0);
        }
    }

    fn put(id: i32, mtype: i64, text: &[u8]) -> bool {
        let mut buf = MsgBuf::new();
        buf.fill(mtype, text).unwrap();
        send(id, &buf, true).unwrap()
    }

    fn take(id: i32, msgtyp: i64, except: bool) -> Option<(i64, Vec<u8>)> {
        let mut buf = MsgBuf::new();
        buf.reserve(64).unwrap();
        let n = receive(id, &mut buf, 64, Selector { msgtyp, except, truncate: false }, true).unwrap()?;
        assert_eq!(n, buf.text().len());
        Some((buf.mtype(), buf.text().to_vec()))
    }

    fn test_key(n: u32) -> u32 {
        0x5c00_0000 | ((std::process::id() & 0xffff) << 8) | n
    }

    #[test]
    fn keyed_get_exclusive_open_and_remove() {
        let key = test_key(1);
        let create = GetOptions { create: true, exclusive: true, mode: 0o640, access: 0 };
        let q = Queue(get(key, create).unwrap());
        assert_eq!(get(key, create).unwrap_err().code(), "EEXIST");
        let open = GetOptions { access: 0o600, ..GetOptions::default() };
        assert_eq!(get(key, open).unwrap(), q.0);
        let st = stat(q.0).unwrap();
        assert_eq!((st.key, st.mode, st.messages, st.bytes, st.lspid, st.stime), (key, 0o640, 0, 0, 0, 0));
        assert_eq!(st.max_bytes, limits().unwrap().msgmnb as u64);
        assert!(st.ctime > 0);
        remove(q.0).unwrap();
        let err = get(key, open).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("ENOENT", "msgget"));
        assert!(matches!(stat(q.0).unwrap_err().code(), "EINVAL" | "EIDRM"));
    }

    #[test]
    fn types_select_messages() {
        let q = Queue::new();
        for (t, text) in [(3, "c1"), (1, "a1"), (2, "b1"), (1, "a2"), (3, "c2")] {
            assert!(put(q.0, t, text.as_bytes()));
        }
        let st = stat(q.0).unwrap();
        assert_eq!((st.messages, st.bytes, st.lspid), (5, 10, std::process::id() as i32));
        assert_eq!(take(q.0, 2, false), Some((2, b"b1".to_vec())), "exactly type 2");
        assert_eq!(take(q.0, 2, false), None);
        assert_eq!(take(q.0, 3, true), Some((1, b"a1".to_vec())), "the first not of type 3");
        assert_eq!(take(q.0, -3, false), Some((1, b"a2".to_vec())), "the lowest type <= 3");
        assert_eq!(take(q.0, 0, false), Some((3, b"c1".to_vec())), "the first of any type");
        assert_eq!(take(q.0, -2, false), None, "none of type <= 2 left");
        assert_eq!(take(q.0, 0, false), Some((3, b"c2".to_vec())));
        assert_eq!(take(q.0, 0, false), None);
        assert_eq!(stat(q.0).unwrap().lrpid, std::process::id() as i32);
    }

    #[test]
    fn long_messages_fail_or_truncate() {
        let q = Queue::new();
        assert!(put(q.0, 7, b"0123456789"));
        let strict = Selector { msgtyp: 0, except: false, truncate: false };
        let mut tiny = MsgBuf::new();
        tiny.reserve(8).unwrap();
        assert!(tiny.capacity() >= 8);
        assert_eq!(receive(q.0, &mut tiny, 8, strict, true).unwrap_err().code(), "E2BIG");
        assert_eq!(stat(q.0).unwrap().messages, 1, "E2BIG takes nothing");
        let n = receive(q.0, &mut tiny, 8, Selector { truncate: true, ..strict }, true).unwrap();
        assert_eq!(n, Some(8));
        assert_eq!((tiny.mtype(), tiny.text()), (7, &b"01234567"[..]));
        assert_eq!(stat(q.0).unwrap().messages, 0, "a truncated message is gone");
    }

    #[test]
    fn errors_of_bad_calls() {
        let q = Queue::new();
        let mut buf = MsgBuf::new();
        buf.fill(0, b"x").unwrap();
        let err = send(q.0, &buf, true).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EINVAL", "msgsnd"), "type 0 is refused");
        let msgmax = limits().unwrap().msgmax as usize;
        let mut big = MsgBuf::new();
        big.fill(1, &vec![0; msgmax + 1]).unwrap();
        assert_eq!(send(q.0, &big, true).unwrap_err().code(), "EINVAL");
        assert!(matches!(send(i32::MAX, &buf, true).unwrap_err().code(), "EINVAL" | "EIDRM"));
    }

    #[test]
    fn a_full_queue_refuses_then_takes_after_a_receive() {
        let q = Queue::new();
        set(q.0, SetOptions { max_bytes: Some(16), ..SetOptions::default() }).unwrap();
        assert_eq!(stat(q.0).unwrap().max_bytes, 16);
        assert!(put(q.0, 1, &[1; 10]));
        assert!(!put(q.0, 1, &[2; 10]), "10 + 10 > 16");
        let deadline = Deadline::after(Duration::from_millis(30));
        let mut buf = MsgBuf::new();
        buf.fill(1, &[2; 10]).unwrap();
        let started = Instant::now();
        let polled = retry(deadline, false, || send(q.0, &buf, true).map(|sent| sent.then_some(())), sleep).unwrap();
        assert_eq!(polled, Polled::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(25));
        assert!(take(q.0, 0, false).is_some());
        assert!(put(q.0, 1, &[2; 10]));
    }

    #[test]
    fn retry_stops_when_asked_and_sees_removal_as_eidrm() {
        let q = Queue::new();
        let mut buf = MsgBuf::new();
        buf.reserve(8).unwrap();
        let any = Selector { msgtyp: 0, except: false, truncate: false };
        let mut pauses = 0;
        let polled = retry(
            None,
            false,
            || receive(q.0, &mut buf, 8, any, true),
            |_| {
                pauses += 1;
                pauses < 3
            },
        );
        assert_eq!(polled.unwrap(), Polled::Stopped);
        assert_eq!(pauses, 3);
        let id = q.0;
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            remove(id).unwrap();
        });
        let deadline = Deadline::after(Duration::from_secs(30));
        let err = retry(deadline, false, || receive(id, &mut buf, 8, any, true), sleep).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EIDRM", "msgrcv"));
        remover.join().unwrap();
        // A queue not known to have existed stays EINVAL; one that did is EIDRM.
        let err = retry(None, false, || receive(id, &mut buf, 8, any, true), sleep).unwrap_err();
        assert_eq!(err.code(), "EINVAL");
        let err = retry(None, true, || receive(id, &mut buf, 8, any, true), sleep).unwrap_err();
        assert_eq!(err.code(), "EIDRM");
    }

    #[test]
    fn a_blocked_receive_wakes_with_eidrm_on_removal() {
        let q = Queue::new();
        let id = q.0;
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            remove(id).unwrap();
        });
        let mut buf = MsgBuf::new();
        buf.reserve(8).unwrap();
        let err = receive(id, &mut buf, 8, Selector { msgtyp: 0, except: false, truncate: false }, false).unwrap_err();
        assert_eq!(err.code(), "EIDRM");
        remover.join().unwrap();
    }

    #[test]
    fn probes_look_without_taking() {
        let q = Queue::new();
        let any = Selector { msgtyp: 0, except: false, truncate: false };
        assert_eq!(probe(q.0, any).unwrap(), Probe::Empty);
        assert!(put(q.0, 4, b"text"));
        assert_eq!(probe(q.0, any).unwrap(), Probe::Ready);
        assert_eq!(probe(q.0, Selector { truncate: true, ..any }).unwrap(), Probe::Ready, "MSG_NOERROR is left out");
        assert_eq!(probe(q.0, Selector { msgtyp: 3, ..any }).unwrap(), Probe::Empty);
        assert_eq!(probe(q.0, Selector { msgtyp: 4, except: true, truncate: false }).unwrap(), Probe::Empty);
        assert_eq!(stat(q.0).unwrap().messages, 1, "nothing was taken");
        // An empty message is received whole by the 0-byte buffer.
        assert!(put(q.0, 9, b""));
        assert_eq!(probe(q.0, Selector { msgtyp: 9, ..any }).unwrap(), Probe::Took(9));
        assert_eq!(stat(q.0).unwrap().messages, 1);
        let st = stat(q.0).unwrap();
        assert!(fits(&st, 100));
        set(q.0, SetOptions { max_bytes: Some(6), ..SetOptions::default() }).unwrap();
        let st = stat(q.0).unwrap();
        assert!(fits(&st, 2) && !fits(&st, 3), "4 + 2 <= 6 < 4 + 3");
        remove(q.0).unwrap();
        assert_eq!(probe(q.0, any).unwrap_err().code(), "EINVAL");
    }

    #[test]
    fn backoff_spins_then_doubles_to_its_cap_and_respects_the_deadline() {
        let mut spinning = Backoff::new();
        assert_eq!(spinning.pause(None), Some(Duration::ZERO), "looks again at once at first");
        std::thread::sleep(Backoff::SPIN);
        assert_eq!(spinning.pause(None), Some(Backoff::FIRST), "then sleeps");
        let mut b = Backoff { next: Backoff::FIRST, spin_until: None };
        let steps: Vec<Duration> = (0..12).map(|_| b.pause(None).unwrap()).collect();
        assert_eq!(steps[0], Backoff::FIRST);
        assert_eq!(steps[1], Backoff::FIRST * 2);
        assert_eq!(*steps.last().unwrap(), Backoff::MAX);
        assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(Backoff::new().pause(Deadline::after(Duration::ZERO)), None);
        let cut = Backoff { next: Duration::from_secs(10), spin_until: None }
            .pause(Deadline::after(Duration::from_millis(5)))
            .unwrap();
        assert!(cut <= Duration::from_millis(5));
    }

    #[test]
    fn limits_are_sane() {
        let l = limits().unwrap();
        assert!(l.msgmax > 0 && l.msgmnb > 0 && l.msgmni > 0);
        let read =
            |f: &str| std::fs::read_to_string(format!("/proc/sys/kernel/{f}")).unwrap().trim().parse::<u32>().unwrap();
        assert_eq!((l.msgmax, l.msgmnb, l.msgmni), (read("msgmax"), read("msgmnb"), read("msgmni")));
    }
}
