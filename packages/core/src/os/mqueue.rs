//! POSIX message queues: `mq_open`, `mq_send`/`mq_receive`, `mq_getattr`/
//! `mq_setattr`, `mq_unlink`.
//!
//! On Linux a queue descriptor is a file descriptor that poll(2) reports
//! readable while a message is queued and writable while there is room. Every
//! wait here is "poll for readiness, then try": a try is a timed call with a
//! deadline already in the past, so it never sleeps whatever the descriptor's
//! O_NONBLOCK flag says, and a wait that is given up has taken nothing. The
//! same readiness is what the wait engine polls for async waits.

use super::deadline::Deadline;
use super::posix_shm::{self, NameError};
use super::{cvt, cvt_retry, Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, RawFd};

/// Priorities run from 0 to MQ_PRIO_MAX - 1; higher ones are received first.
pub const MQ_PRIO_MAX: u32 = 32768;
/// HARD_MSGMAX: no sysctl and no privilege makes a queue hold more messages.
pub const HARD_MSGMAX: i64 = 65536;
/// HARD_MSGSIZEMAX: the largest `mq_msgsize` the kernel ever accepts (16 MiB).
pub const HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
/// A queue name is '/' and at most NAME_MAX (255) bytes: one directory entry
/// of the mqueue file system.
pub const NAME_MAX: usize = 255;

/// Checks a queue name with the rules of POSIX shared memory names (one
/// leading '/', no other '/', not '/.' or '/..', no NUL), except that the
/// part after the '/' may be a full NAME_MAX bytes: glibc passes it to the
/// kernel as is, without a /dev/shm prefix to make room for.
pub fn validate_name(name: &str) -> std::result::Result<CString, NameError> {
    match posix_shm::validate_ipc_name(name) {
        Err(NameError::TooLong) if name.len() <= NAME_MAX + 1 => CString::new(name).map_err(|_| NameError::Nul),
        other => other,
    }
}

/// Which directions a descriptor is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    fn flags(self) -> libc::c_int {
        match self {
            Access::Read => libc::O_RDONLY,
            Access::Write => libc::O_WRONLY,
            Access::ReadWrite => libc::O_RDWR,
        }
    }
}

/// The size of a new queue: `mq_maxmsg` and `mq_msgsize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub max_messages: i64,
    pub message_size: i64,
}

/// How [`open`] finds or makes a queue.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// O_CREAT: make the queue if the name has none.
    pub create: bool,
    /// O_EXCL (with `create`): fail with EEXIST if the name is taken.
    pub exclusive: bool,
    pub access: Access,
    /// Permission bits of a new queue, applied exactly (no umask).
    pub mode: u32,
    /// The size of a new queue; None takes the system defaults
    /// (fs.mqueue.msg_default and msgsize_default).
    pub capacity: Option<Capacity>,
}

/// What `mq_getattr` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// O_NONBLOCK on this descriptor (it only matters to plain mq_send and
    /// mq_receive calls on it, never to the calls of this module).
    pub non_blocking: bool,
    pub max_messages: i64,
    pub message_size: i64,
    pub current_messages: i64,
}

/// An open queue descriptor; `mq_close` on drop.
#[derive(Debug)]
pub struct MessageQueue(libc::mqd_t);

/// What [`open`] returns: the descriptor and whether this call made the queue.
#[derive(Debug)]
pub struct Opened {
    pub queue: MessageQueue,
    pub created: bool,
}

fn mq_open_raw(name: &CStr, flags: libc::c_int, mode: u32, attr: Option<&libc::mq_attr>) -> Result<MessageQueue> {
    let attr_ptr = attr.map_or(std::ptr::null(), |a| a as *const libc::mq_attr);
    // SAFETY: name is NUL-terminated; with O_CREAT mq_open reads a mode_t
    // (promoted to an unsigned int through varargs) and an attribute pointer,
    // null or pointing to a live mq_attr. Without O_CREAT they are ignored.
    let fd = cvt_retry(|| unsafe { libc::mq_open(name.as_ptr(), flags, mode as libc::c_uint, attr_ptr) }, "mq_open")?;
    Ok(MessageQueue(fd))
}

/// mq_open with create / exclusive / open-or-create semantics.
///
/// Open-or-create first tries an exclusive create, so that it knows whether
/// it made the queue and may set its exact mode.
pub fn open(name: &CStr, options: OpenOptions) -> Result<Opened> {
    let access = options.access.flags();
    if !options.create {
        return Ok(Opened { queue: mq_open_raw(name, access, 0, None)?, created: false });
    }
    // SAFETY: an all-zero mq_attr is a valid value (plain integers).
    let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
    if let Some(c) = options.capacity {
        attr.mq_maxmsg = c.max_messages as _;
        attr.mq_msgsize = c.message_size as _;
    }
    let attr = options.capacity.map(|_| &attr);
    // A concurrent unlink between our EEXIST and the plain open makes the
    // plain open fail with ENOENT; a few rounds settle it.
    for _ in 0..8 {
        match mq_open_raw(name, access | libc::O_CREAT | libc::O_EXCL, options.mode, attr) {
            Ok(queue) => {
                // mq_open applies the umask; the caller asked for this mode.
                // SAFETY: the descriptor is live and ours.
                cvt_retry(|| unsafe { libc::fchmod(queue.0, options.mode as libc::mode_t) }, "fchmod")?;
                return Ok(Opened { queue, created: true });
            }
            Err(e) if e.errno() == libc::EEXIST && !options.exclusive => match mq_open_raw(name, access, 0, None) {
                Ok(queue) => return Ok(Opened { queue, created: false }),
                Err(e) if e.errno() == libc::ENOENT => continue,
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(libc::EAGAIN, "mq_open"))
}

/// mq_unlink: removes the name; open descriptors keep the queue alive.
pub fn unlink(name: &CStr) -> Result<()> {
    // SAFETY: name is NUL-terminated.
    cvt(unsafe { libc::mq_unlink(name.as_ptr()) }, "mq_unlink").map(drop)
}

/// A deadline already in the past (the epoch on CLOCK_REALTIME, which the
/// mq_timed* calls use): the call fails with ETIMEDOUT at once instead of
/// sleeping, on blocking and non-blocking descriptors alike.
const NOW: libc::timespec = libc::timespec { tv_sec: 0, tv_nsec: 0 };

/// The two ways a try reports "not now": ETIMEDOUT on a blocking
/// descriptor, EAGAIN on a non-blocking one.
fn is_not_now(e: &Error) -> bool {
    e.errno() == libc::ETIMEDOUT || e.errno() == libc::EAGAIN
}

/// Which readiness a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// A message to receive.
    Readable,
    /// Room to send.
    Writable,
}

impl Interest {
    /// The poll(2) events that announce it.
    pub fn events(self) -> libc::c_short {
        match self {
            Interest::Readable => libc::POLLIN,
            Interest::Writable => libc::POLLOUT,
        }
    }
}

impl MessageQueue {
    /// mq_getattr.
    pub fn attributes(&self) -> Result<Attributes> {
        // SAFETY: an all-zero mq_attr is a valid value.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is live; attr is a writable mq_attr.
        cvt(unsafe { libc::mq_getattr(self.0, &mut attr) }, "mq_getattr")?;
        Ok(Attributes {
            non_blocking: attr.mq_flags as libc::c_int & libc::O_NONBLOCK != 0,
            max_messages: attr.mq_maxmsg as i64,
            message_size: attr.mq_msgsize as i64,
            current_messages: attr.mq_curmsgs as i64,
        })
    }

    /// mq_setattr: sets or clears O_NONBLOCK (the only attribute it can
    /// change) and returns the attributes from before.
    pub fn set_non_blocking(&self, non_blocking: bool) -> Result<Attributes> {
        // SAFETY: all-zero mq_attr values are valid.
        let mut new: libc::mq_attr = unsafe { std::mem::zeroed() };
        new.mq_flags = if non_blocking { libc::O_NONBLOCK as _ } else { 0 };
        // SAFETY: as above.
        let mut old: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is live; both pointers are to live mq_attrs.
        cvt(unsafe { libc::mq_setattr(self.0, &new, &mut old) }, "mq_setattr")?;
        Ok(Attributes {
            non_blocking: old.mq_flags as libc::c_int & libc::O_NONBLOCK != 0,
            max_messages: old.mq_maxmsg as i64,
            message_size: old.mq_msgsize as i64,
            current_messages: old.mq_curmsgs as i64,
        })
    }

    /// Sends `message` if there is room right now; false if the queue is full.
    pub fn try_send(&self, message: &[u8], priority: u32) -> Result<bool> {
        // SAFETY: the descriptor is live; message is valid for its length;
        // NOW is a valid timespec.
        let ret = cvt_retry(
            || unsafe { libc::mq_timedsend(self.0, message.as_ptr().cast(), message.len(), priority, &NOW) },
            "mq_send",
        );
        match ret {
            Ok(_) => Ok(true),
            Err(e) if is_not_now(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Receives the oldest message of the highest priority if there is one:
    /// its length and priority. `buffer` must hold `mq_msgsize` bytes.
    pub fn try_receive(&self, buffer: &mut [u8]) -> Result<Option<(usize, u32)>> {
        let mut priority: libc::c_uint = 0;
        loop {
            // SAFETY: the descriptor is live; buffer is writable for its
            // length; priority and NOW are valid pointers.
            let n =
                unsafe { libc::mq_timedreceive(self.0, buffer.as_mut_ptr().cast(), buffer.len(), &mut priority, &NOW) };
            if n >= 0 {
                return Ok(Some((n as usize, priority)));
            }
            let e = Error::last("mq_receive");
            match e.errno() {
                libc::EINTR => continue,
                _ if is_not_now(&e) => return Ok(None),
                _ => return Err(e),
            }
        }
    }

    /// Sleeps until the queue is ready for `interest` (true) or `deadline`
    /// passes (false). Takes nothing from the queue; someone else may take
    /// what readiness announced before we try.
    pub fn wait_ready(&self, interest: Interest, deadline: Option<Deadline>) -> Result<bool> {
        loop {
            let mut pollfd = libc::pollfd { fd: self.0, events: interest.events(), revents: 0 };
            let timeout = deadline.map(Deadline::relative_timespec);
            let timeout_ptr = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: one initialised pollfd; timeout_ptr is null or points to
            // a timespec that outlives the call; a null sigmask keeps the
            // thread's mask.
            let ret = unsafe { libc::ppoll(&mut pollfd, 1, timeout_ptr, std::ptr::null()) };
            match cvt(ret, "ppoll") {
                Ok(0) => {}
                // POLLERR or POLLHUP never happen on a queue; whatever
                // fired, the try that follows tells.
                Ok(_) if pollfd.revents & libc::POLLNVAL == 0 => return Ok(true),
                Ok(_) => return Err(Error::new(libc::EBADF, "ppoll")),
                Err(e) if e.errno() == libc::EINTR => {}
                Err(e) => return Err(e),
            }
            if deadline.is_some_and(Deadline::passed) {
                return Ok(false);
            }
        }
    }

    /// Sends, waiting for room until `deadline` (forever without one).
    /// False when the deadline passed first.
    pub fn send(&self, message: &[u8], priority: u32, deadline: Option<Deadline>) -> Result<bool> {
        loop {
            if self.try_send(message, priority)? {
                return Ok(true);
            }
            // A try (a deadline already passed) needs no poll to say no.
            if deadline.is_some_and(Deadline::passed) || !self.wait_ready(Interest::Writable, deadline)? {
                return Ok(false);
            }
        }
    }

    /// Receives, waiting for a message until `deadline` (forever without
    /// one). None when the deadline passed first.
    pub fn receive(&self, buffer: &mut [u8], deadline: Option<Deadline>) -> Result<Option<(usize, u32)>> {
        loop {
            if let Some(got) = self.try_receive(buffer)? {
                return Ok(Some(got));
            }
            if deadline.is_some_and(Deadline::passed) || !self.wait_ready(Interest::Readable, deadline)? {
                return Ok(None);
            }
        }
    }
}

impl AsRawFd for MessageQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor and close it once. EINTR on close
        // leaves it closed on Linux, so there is nothing to retry.
        unsafe { libc::mq_close(self.0) };
    }
}

/// The system's limits for POSIX queues (/proc/sys/fs/mqueue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Queues all users together may have (root is exempt).
    pub queues_max: i64,
    /// The largest `mq_maxmsg` an unprivileged process may ask for.
    pub msg_max: i64,
    /// The largest `mq_msgsize` an unprivileged process may ask for.
    pub msgsize_max: i64,
    /// `mq_maxmsg` of a queue created without attributes.
    pub msg_default: i64,
    /// `mq_msgsize` of a queue created without attributes.
    pub msgsize_default: i64,
}

fn read_limit(file: &'static str) -> Result<i64> {
    let path = format!("/proc/sys/fs/mqueue/{file}");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EIO), "open"))?;
    text.trim().parse().map_err(|_| Error::new(libc::EINVAL, "read"))
}

/// Reads /proc/sys/fs/mqueue. Kernels older than 3.5 have no
/// msg_default/msgsize_default; their fixed defaults (10, 8192) stand in.
pub fn limits() -> Result<Limits> {
    Ok(Limits {
        queues_max: read_limit("queues_max")?,
        msg_max: read_limit("msg_max")?,
        msgsize_max: read_limit("msgsize_max")?,
        msg_default: read_limit("msg_default").unwrap_or(10),
        msgsize_default: read_limit("msgsize_default").unwrap_or(8192),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    fn unique(tag: &str) -> CString {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        CString::new(format!("/shmkit-rs-mq-{tag}-{}-{n}", std::process::id())).unwrap()
    }

    /// Unlinks the name when dropped, so a failing test leaves nothing behind.
    struct Name(CString);

    impl Drop for Name {
        fn drop(&mut self) {
            let _ = unlink(&self.0);
        }
    }

    fn create(tag: &str, max_messages: i64, message_size: i64) -> (Name, MessageQueue) {
        let name = Name(unique(tag));
        let opened = open(
            &name.0,
            OpenOptions {
                create: true,
                exclusive: true,
                access: Access::ReadWrite,
                mode: 0o600,
                capacity: Some(Capacity { max_messages, message_size }),
            },
        )
        .unwrap();
        assert!(opened.created);
        (name, opened.queue)
    }

    fn mode_of(fd: RawFd) -> u32 {
        // SAFETY: all-zero is a valid struct stat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is live; st is writable.
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
        st.st_mode & 0o7777
    }

    #[test]
    fn names() {
        assert!(validate_name("/q").is_ok());
        assert!(validate_name("/sem.q").is_ok(), "queues live in /dev/mqueue: no semaphore there");
        assert_eq!(validate_name("q"), Err(NameError::NoLeadingSlash));
        assert_eq!(validate_name("/a/b"), Err(NameError::InnerSlash));
        assert_eq!(validate_name("/.."), Err(NameError::Dots));
        assert_eq!(validate_name("/a\0"), Err(NameError::Nul));
        let full = format!("/{}", "q".repeat(NAME_MAX));
        assert!(validate_name(&full).is_ok());
        assert_eq!(validate_name(&format!("{full}q")), Err(NameError::TooLong));
        assert_eq!(validate_name(&format!("/{}\0", "q".repeat(NAME_MAX - 1))), Err(NameError::Nul));
    }

    #[test]
    fn create_open_exclusive_mode_and_unlink() {
        let (name, q) = create("a", 3, 100);
        assert_eq!(mode_of(q.as_raw_fd()), 0o600);
        let attr = q.attributes().unwrap();
        assert_eq!(attr, Attributes { non_blocking: false, max_messages: 3, message_size: 100, current_messages: 0 });
        let again =
            OpenOptions { create: true, exclusive: true, access: Access::ReadWrite, mode: 0o644, capacity: None };
        assert_eq!(open(&name.0, again).unwrap_err().code(), "EEXIST");
        let shared = open(&name.0, OpenOptions { exclusive: false, ..again }).unwrap();
        assert!(!shared.created);
        assert_eq!(mode_of(shared.queue.as_raw_fd()), 0o600, "an existing queue keeps its mode");
        unlink(&name.0).unwrap();
        assert_eq!(unlink(&name.0).unwrap_err().code(), "ENOENT");
        let plain = OpenOptions { create: false, ..again };
        let err = open(&name.0, plain).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("ENOENT", "mq_open"));
        // The unlinked queue lives on for its open descriptors.
        assert!(q.try_send(b"still here", 1).unwrap());
        let mut buf = [0u8; 100];
        assert_eq!(shared.queue.try_receive(&mut buf).unwrap(), Some((10, 1)));
    }

    #[test]
    fn exact_mode_despite_the_umask() {
        let name = Name(unique("m"));
        let options =
            OpenOptions { create: true, exclusive: true, access: Access::ReadWrite, mode: 0o666, capacity: None };
        let opened = open(&name.0, options).unwrap();
        assert_eq!(mode_of(opened.queue.as_raw_fd()), 0o666);
        let attr = opened.queue.attributes().unwrap();
        let limits = limits().unwrap();
        assert_eq!((attr.max_messages, attr.message_size), (limits.msg_default, limits.msgsize_default));
    }

    #[test]
    fn priorities_order_and_full_queue() {
        let (_name, q) = create("p", 3, 16);
        let mut buf = [0u8; 16];
        assert_eq!(q.try_receive(&mut buf).unwrap(), None, "empty");
        assert!(q.try_send(b"low", 1).unwrap());
        assert!(q.try_send(b"high", 9).unwrap());
        assert!(q.try_send(b"low2", 1).unwrap());
        assert!(!q.try_send(b"full", 5).unwrap(), "a full queue refuses at once");
        assert_eq!(q.attributes().unwrap().current_messages, 3);
        let mut got = Vec::new();
        while let Some((n, prio)) = q.try_receive(&mut buf).unwrap() {
            got.push((String::from_utf8(buf[..n].to_vec()).unwrap(), prio));
        }
        assert_eq!(got, [("high".to_string(), 9), ("low".to_string(), 1), ("low2".to_string(), 1)]);
        let err = q.try_send(&[0; 17], 0).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EMSGSIZE", "mq_send"));
        let err = q.try_send(b"x", MQ_PRIO_MAX).unwrap_err();
        assert_eq!(err.code(), "EINVAL");
        let mut small = [0u8; 15];
        assert!(q.try_send(b"x", 0).unwrap());
        assert_eq!(q.try_receive(&mut small).unwrap_err().code(), "EMSGSIZE");
    }

    #[test]
    fn tries_never_block_whatever_o_nonblock_says() {
        let (_name, q) = create("nb", 1, 8);
        let old = q.set_non_blocking(true).unwrap();
        assert!(!old.non_blocking);
        assert!(q.attributes().unwrap().non_blocking);
        let mut buf = [0u8; 8];
        assert_eq!(q.try_receive(&mut buf).unwrap(), None);
        assert!(q.try_send(b"1", 0).unwrap());
        assert!(!q.try_send(b"2", 0).unwrap());
        assert!(q.set_non_blocking(false).unwrap().non_blocking);
        assert!(!q.try_send(b"2", 0).unwrap());
        assert_eq!(q.try_receive(&mut buf).unwrap(), Some((1, 0)));
        assert_eq!(q.try_receive(&mut buf).unwrap(), None);
    }

    #[test]
    fn timed_waits_and_readiness() {
        let (_name, q) = create("w", 1, 8);
        let mut buf = [0u8; 8];
        let started = Instant::now();
        assert_eq!(q.receive(&mut buf, Deadline::after(Duration::from_millis(30))).unwrap(), None);
        assert!(started.elapsed() >= Duration::from_millis(25));
        assert!(q.wait_ready(Interest::Writable, Deadline::after(Duration::ZERO)).unwrap());
        assert!(q.send(b"a", 0, None).unwrap());
        assert!(!q.send(b"b", 0, Deadline::after(Duration::from_millis(20))).unwrap());
        assert!(!q.wait_ready(Interest::Writable, Deadline::after(Duration::from_millis(5))).unwrap());
        assert!(q.wait_ready(Interest::Readable, None).unwrap());
        assert!(q.wait_ready(Interest::Readable, None).unwrap(), "readiness takes nothing");
        assert_eq!(q.attributes().unwrap().current_messages, 1);
        assert_eq!((Interest::Readable.events(), Interest::Writable.events()), (libc::POLLIN, libc::POLLOUT));
    }

    #[test]
    fn a_blocked_receive_wakes_for_a_send_from_another_thread() {
        let (name, q) = create("t", 2, 32);
        let sender = {
            let name = name.0.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                let options =
                    OpenOptions { create: false, exclusive: false, access: Access::Write, mode: 0, capacity: None };
                let q = open(&name, options).unwrap().queue;
                assert!(q.send(b"wake", 3, None).unwrap());
                // A write-only descriptor cannot receive.
                let mut buf = [0u8; 32];
                assert_eq!(q.try_receive(&mut buf).unwrap_err().code(), "EBADF");
            })
        };
        let mut buf = [0u8; 32];
        assert_eq!(q.receive(&mut buf, Deadline::after(Duration::from_secs(30))).unwrap(), Some((4, 3)));
        assert_eq!(&buf[..4], b"wake");
        sender.join().unwrap();
    }

    #[test]
    fn kernel_limits_come_back_as_errors() {
        let name = Name(unique("l"));
        let too_big = OpenOptions {
            create: true,
            exclusive: true,
            access: Access::ReadWrite,
            mode: 0o600,
            capacity: Some(Capacity { max_messages: 0, message_size: 8 }),
        };
        let err = open(&name.0, too_big).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EINVAL", "mq_open"));
        let limits = limits().unwrap();
        assert!(limits.msg_max >= 1 && limits.msgsize_max >= 128 && limits.queues_max >= 0);
        // The descriptor is an ordinary close-on-exec fd.
        let (_n, q) = create("fd", 1, 8);
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let flags = unsafe { libc::fcntl(q.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
    }
}
