//! Bindings for POSIX message queues (`mq*`).
//!
//! An open queue is a native handle owning its descriptor: `mqClose` (or V8
//! collecting the handle) closes it. Async waits are readiness waits on the
//! descriptor in the wait engine (`mqWaitAsync`); JS then sends or receives
//! itself, so a wait that is aborted has taken nothing. `mqClose` ends the
//! waits still pending on the descriptor before closing it.

use super::error::{ShmkitError, Subject, SyscallError};
use super::wait::{self, Resolve};
use crate::engine::blocking::INTERRUPT_SLICE_MS;
use crate::engine::Op;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::deadline::Deadline;
use crate::os::mqueue::{self, Access, Capacity, Interest, MessageQueue, OpenOptions};
use crate::os::{self, posix_shm};
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

/// An open descriptor and what every call needs to know about it.
struct Live {
    queue: MessageQueue,
    /// mq_msgsize: fixed for the queue's life, so read once.
    message_size: usize,
    /// Receive buffer of `message_size` bytes, made on first use.
    scratch: Mutex<Vec<u8>>,
}

struct MqHandle {
    /// A call in progress holds its own reference, so a close() meanwhile
    /// (from a getter, say) cannot close the descriptor under it.
    live: Mutex<Option<Arc<Live>>>,
    name: String,
    access: Access,
}

impl Tagged for MqHandle {
    const NAME: &'static str = "PosixMessageQueue";
}

impl MqHandle {
    fn live(&self) -> JsResult<Arc<Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| Error::closed("PosixMessageQueue"))
    }

    fn subject(&self) -> Subject {
        Subject::Name(self.name.clone())
    }

    /// A failed call on this queue, with a hint for a descriptor opened
    /// without the access the call needs.
    fn fail(&self, error: os::Error) -> Error {
        let mut err = SyscallError::from(error).with(self.subject());
        if error.errno() == libc::EBADF {
            let access = match self.access {
                Access::Read => Some("'read'"),
                Access::Write => Some("'write'"),
                Access::ReadWrite => None,
            };
            if let Some(access) = access {
                err = err.hint(format!("the queue was opened with access {access}"));
            }
        }
        err.into()
    }
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "\\'"))
}

fn name_arg(call: &CallInfo, index: usize) -> JsResult<(String, CString)> {
    let name = call.arg(index, "name")?.string()?;
    match mqueue::validate_name(&name) {
        Ok(c) => Ok((name, c)),
        Err(posix_shm::NameError::TooLong) => {
            Err(Error::invalid_arg_value("name", "must have at most 255 bytes after the leading '/'", &quoted(&name)))
        }
        Err(e) => Err(Error::invalid_arg_value("name", e.reason(), &quoted(&name))),
    }
}

fn handle(call: &CallInfo) -> JsResult<&MqHandle> {
    call.handle::<MqHandle>(0, "handle")
}

fn open_error(error: os::Error, name: &str, create: bool) -> Error {
    let hint = match error.errno() {
        libc::EINVAL if create => {
            let limits = mqueue::limits().ok();
            Some(match limits {
                Some(l) => format!(
                    "maxMessages may be at most {} (fs.mqueue.msg_max) and messageSize at most {} (fs.mqueue.msgsize_max) without CAP_SYS_RESOURCE",
                    l.msg_max, l.msgsize_max
                ),
                None => "maxMessages or messageSize is above the system's limits (fs.mqueue.msg_max, msgsize_max)".into(),
            })
        }
        libc::EMFILE => Some(
            "this user's RLIMIT_MSGQUEUE (ulimit -q) has no room for the queue's memory, or the process has no free file descriptor".into(),
        ),
        libc::ENOSPC => Some("the system's limit on queues (fs.mqueue.queues_max) is reached".into()),
        libc::ENOSYS => Some("this kernel was built without POSIX message queues (CONFIG_POSIX_MQUEUE)".into()),
        _ => None,
    };
    let mut err = SyscallError::from(error).with(Subject::Name(name.to_string()));
    if let Some(hint) = hint {
        err = err.hint(hint);
    }
    err.into()
}

/// How mqOpen's `flags` say what to open: the access in the low two bits.
const OPEN_READ: i64 = 0;
const OPEN_WRITE: i64 = 1;
const OPEN_READ_WRITE: i64 = 2;
const OPEN_CREATE: i64 = 4;
const OPEN_EXCLUSIVE: i64 = 8;

/// mqOpen(name, flags, mode, maxMessages?, messageSize?)
/// -> { handle, fd, created, maxMessages, messageSize }
///
/// `flags`: access (0 read, 1 write, 2 both) | 4 create | 8 exclusive. A
/// capacity with only one of its two numbers takes the system default for
/// the other.
fn open(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (name, c_name) = name_arg(call, 0)?;
    let flags = call.arg(1, "flags")?.integer(0, 15)?;
    let access = match flags & 3 {
        OPEN_READ => Access::Read,
        OPEN_WRITE => Access::Write,
        OPEN_READ_WRITE => Access::ReadWrite,
        _ => return Err(Error::out_of_range("flags", "an access of 0, 1 or 2 in its low bits", &flags.to_string())),
    };
    let create = flags & OPEN_CREATE != 0;
    let exclusive = flags & OPEN_EXCLUSIVE != 0;
    let mode = call.arg(2, "mode")?.integer(0, 0o777)? as u32;
    let max_messages =
        call.arg(3, "maxMessages")?.optional()?.map(|a| a.integer(1, mqueue::HARD_MSGMAX)).transpose()?;
    let message_size =
        call.arg(4, "messageSize")?.optional()?.map(|a| a.integer(1, mqueue::HARD_MSGSIZEMAX)).transpose()?;
    let capacity = match (max_messages, message_size) {
        (None, None) => None,
        (m, s) => {
            let defaults = mqueue::limits().map_err(|e| Error::sys(e, Subject::Path("/proc/sys/fs/mqueue".into())))?;
            Some(Capacity {
                max_messages: m.unwrap_or(defaults.msg_default),
                message_size: s.unwrap_or(defaults.msgsize_default),
            })
        }
    };
    let options = OpenOptions { create, exclusive, access, mode, capacity };
    let opened = mqueue::open(&c_name, options).map_err(|e| open_error(e, &name, create))?;
    let attributes = opened.queue.attributes().map_err(|e| Error::sys(e, Subject::Name(name.clone())))?;
    let live =
        Live { message_size: attributes.message_size as usize, scratch: Mutex::new(Vec::new()), queue: opened.queue };
    let result = env.object()?;
    result.set("fd", env.int32(live.queue.as_raw_fd())?)?;
    result.set("created", env.boolean(opened.created)?)?;
    result.set("maxMessages", env.int64(attributes.max_messages)?)?;
    result.set("messageSize", env.int64(attributes.message_size)?)?;
    result.set("handle", env.external(MqHandle { live: Mutex::new(Some(Arc::new(live))), name, access })?)?;
    Ok(result)
}

/// mqClose(handle) -> true if it was open. Async waits pending on the
/// descriptor reject with ERR_SHMKIT_CLOSED first: a poll of a closed (or
/// reused) descriptor number would never be about this queue again.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let taken = handle(call)?.live.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(live) = &taken {
        wait::fd_closed(env, live.queue.as_raw_fd());
    }
    env.boolean(taken.is_some())
}

/// mqUnlink(name)
fn unlink(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (name, c_name) = name_arg(call, 0)?;
    mqueue::unlink(&c_name).map_err(|e| Error::sys(e, Subject::Name(name)))?;
    env.undefined()
}

fn attributes_object(env: Env, a: mqueue::Attributes) -> JsResult<Value> {
    let o = env.object()?;
    o.set("nonBlocking", env.boolean(a.non_blocking)?)?;
    o.set("maxMessages", env.int64(a.max_messages)?)?;
    o.set("messageSize", env.int64(a.message_size)?)?;
    o.set("currentMessages", env.int64(a.current_messages)?)?;
    Ok(o)
}

/// mqGetAttr(handle) -> { nonBlocking, maxMessages, messageSize, currentMessages }
fn get_attr(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let a = h.live()?.queue.attributes().map_err(|e| h.fail(e))?;
    attributes_object(env, a)
}

/// mqSetAttr(handle, nonBlocking) -> the attributes from before.
fn set_attr(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let non_blocking = call.arg(1, "nonBlocking")?.boolean()?;
    let old = h.live()?.queue.set_non_blocking(non_blocking).map_err(|e| h.fail(e))?;
    attributes_object(env, old)
}

/// mqStat(handle) -> { mode, uid, gid } (fstat of the descriptor).
fn stat(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let st = posix_shm::stat(h.live()?.queue.as_raw_fd()).map_err(|e| h.fail(e))?;
    let o = env.object()?;
    o.set("mode", env.uint32(st.mode & 0o777)?)?;
    o.set("uid", env.uint32(st.uid)?)?;
    o.set("gid", env.uint32(st.gid)?)?;
    Ok(o)
}

/// The message bytes of argument `index`, checked against mq_msgsize
/// before any call (EMSGSIZE, as the kernel would say, with the limit).
fn message_arg<'a>(call: &'a CallInfo, index: usize, h: &MqHandle, live: &Live) -> JsResult<&'a [u8]> {
    let view = call.arg(index, "data")?.bytes()?;
    if view.byte_length > live.message_size {
        let hint =
            format!("the message is {} bytes; this queue's messageSize is {}", view.byte_length, live.message_size);
        return Err(SyscallError::from(os::Error::new(libc::EMSGSIZE, "mq_send")).with(h.subject()).hint(hint).into());
    }
    if view.byte_length == 0 {
        return Ok(&[]);
    }
    // SAFETY: the view's memory is valid for byte_length bytes during this
    // call, and nothing in it runs JS.
    Ok(unsafe { std::slice::from_raw_parts(view.data, view.byte_length) })
}

/// Runs `transfer` (a send or receive that waits until the deadline it is
/// given) until `deadline`. In a worker the wait is cut into slices, and
/// between them the worker asks whether it is being terminated (then the
/// call ends as a timeout nobody will see): nothing else can wake a thread
/// asleep in ppoll when Node terminates a worker.
fn waiting<T>(
    env: Env,
    deadline: Option<Deadline>,
    mut transfer: impl FnMut(Option<Deadline>) -> os::Result<Option<T>>,
) -> JsResult<os::Result<Option<T>>> {
    wait::with_interrupt(env, |interrupted| {
        let Some(interrupted) = interrupted else { return transfer(deadline) };
        loop {
            let slice = Deadline::min(deadline, Deadline::after_ms(INTERRUPT_SLICE_MS));
            if let Some(done) = transfer(slice)? {
                return Ok(Some(done));
            }
            if deadline.is_some_and(Deadline::passed) || interrupted() {
                return Ok(None);
            }
        }
    })
}

/// mqSend(handle, data, priority, timeout) -> true when sent, false when
/// the queue stayed full until the timeout (0: never waits).
fn send(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let live = h.live()?;
    let message = message_arg(call, 1, h, &live)?;
    let priority = call.arg(2, "priority")?.integer(0, mqueue::MQ_PRIO_MAX as i64 - 1)? as u32;
    let deadline = wait::timeout(call, 3)?;
    let sent =
        waiting(env, deadline, |until| live.queue.send(message, priority, until).map(|sent| sent.then_some(())))?;
    env.boolean(sent.map_err(|e| h.fail(e))?.is_some())
}

/// mqReceive(handle, timeout) -> { data, priority }, or undefined when no
/// message came before the timeout (0: never waits).
fn receive(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let live = h.live()?;
    let deadline = wait::timeout(call, 1)?;
    let mut scratch = live.scratch.lock().unwrap_or_else(|p| p.into_inner());
    if scratch.len() < live.message_size {
        scratch.clear();
        scratch.try_reserve_exact(live.message_size).map_err(|_| h.fail(os::Error::new(libc::ENOMEM, "mq_receive")))?;
        scratch.resize(live.message_size, 0);
    }
    let buffer = &mut scratch[..live.message_size];
    let got = waiting(env, deadline, |until| live.queue.receive(buffer, until))?.map_err(|e| h.fail(e))?;
    let Some((len, priority)) = got else { return env.undefined() };
    let o = env.object()?;
    o.set("data", env.buffer_copy(&scratch[..len])?)?;
    o.set("priority", env.uint32(priority)?)?;
    Ok(o)
}

/// mqWaitAsync(handle, writable, timeoutMs, group, flags) -> Promise of the
/// poll events that fired once the queue has a message (or room, with
/// `writable`), -1 on timeout. Takes nothing from the queue. Rejects with
/// an AbortError when the group is aborted and with ERR_SHMKIT_CLOSED when
/// the handle is closed first.
fn wait_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let live = h.live()?;
    let interest = if call.arg(1, "writable")?.boolean()? { Interest::Writable } else { Interest::Readable };
    let common = wait::common(call, 2)?;
    let op = Op::Fd { fd: live.queue.as_raw_fd(), events: interest.events() as u32 };
    wait::submit(env, op, common, None, Resolve::Number, Some(h.subject()))
}

/// mqLimits() -> { queuesMax, msgMax, msgsizeMax, msgDefault, msgsizeDefault }
fn limits(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let l = mqueue::limits().map_err(|e| Error::sys(e, Subject::Path("/proc/sys/fs/mqueue".into())))?;
    let o = env.object()?;
    o.set("queuesMax", env.int64(l.queues_max)?)?;
    o.set("msgMax", env.int64(l.msg_max)?)?;
    o.set("msgsizeMax", env.int64(l.msgsize_max)?)?;
    o.set("msgDefault", env.int64(l.msg_default)?)?;
    o.set("msgsizeDefault", env.int64(l.msgsize_default)?)?;
    o.set("priorityMax", env.uint32(mqueue::MQ_PRIO_MAX - 1)?)?;
    Ok(o)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("mqOpen", open)?
        .function("mqClose", close)?
        .function("mqUnlink", unlink)?
        .function("mqGetAttr", get_attr)?
        .function("mqSetAttr", set_attr)?
        .function("mqStat", stat)?
        .function("mqSend", send)?
        .function("mqReceive", receive)?
        .function("mqWaitAsync", wait_async)?
        .function("mqLimits", limits)?;
    Ok(())
}
