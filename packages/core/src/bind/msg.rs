//! Bindings for System V message queues (`msg*`). Queues are plain ids, as
//! in C, so a queue made by another process, `ipcmk -Q` or Python's
//! `sysv_ipc` is used the same way as our own.
//!
//! Message types are numbers or bigints (a C `long`). Sizes are checked
//! before the call: a text longer than kernel.msgmax fails with EMSGSIZE
//! (the kernel would say EINVAL), and so does one longer than the queue's
//! msg_qbytes, which the kernel would leave blocked forever.
//!
//! Async waits are jobs on the wait engine's pool that look without taking
//! (`os::msg::probe`, `os::msg::fits`, one try per step and a growing pause
//! between steps); once a message or room is there, JS receives or sends on
//! its own thread, so a wait that is aborted or times out has taken and
//! sent nothing. The exceptions are where the kernel leaves no choice: a
//! message with no text is received whole by the probe (it goes back to the
//! queue if nobody will get it), and a queue this process may write but not
//! read cannot be looked at, so the job sends the message itself.

use super::error::{ShmkitError, Subject, SyscallError};
use super::wait::{self, Resolve};
use crate::engine::blocking::INTERRUPT_SLICE_MS;
use crate::engine::{Job, Op, Outcome, Payload, Step};
use crate::napi::{Arg, ArgKind, CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os;
use crate::os::deadline::Deadline;
use crate::os::msg::{self, Backoff, GetOptions, MsgBuf, Polled, Probe, Selector, SetOptions};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// 2^53 - 1: types up to this travel as numbers.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The largest receive buffer kept between calls; larger ones are freed.
const KEEP_BUFFER: usize = 1 << 20;

/// receive flags as JS passes them.
const RECEIVE_EXCEPT: i64 = 1;
const RECEIVE_TRUNCATE: i64 = 2;
const RECEIVE_BIGINT: i64 = 4;

thread_local! {
    /// The JS thread's message buffer for sync calls (each env runs on its
    /// own thread, so workers never share one).
    static BUFFER: RefCell<MsgBuf> = RefCell::new(MsgBuf::new());
}

fn id_arg(call: &CallInfo) -> JsResult<i32> {
    Ok(call.arg(0, "id")?.integer(0, i32::MAX as i64)? as i32)
}

/// A system error about queue `id`, with a hint where the errno alone says
/// little.
fn id_error(error: os::Error, id: i32) -> Error {
    let hint = match error.errno() {
        libc::EINVAL => Some("no queue has this id: it was removed, or never existed"),
        libc::EIDRM => Some("the queue was removed while this call waited"),
        libc::EPERM => Some("only the queue's owner, its creator or a process with CAP_SYS_ADMIN may do this"),
        libc::EACCES => Some("the queue's mode does not grant this process the access the call needs"),
        libc::E2BIG => Some("the message is longer than maxSize: pass a larger maxSize, or truncate: true to cut it"),
        libc::EMSGSIZE => {
            Some("the queue's maxBytes was lowered below the message while this call waited: it could never be sent")
        }
        _ => None,
    };
    let mut err = SyscallError::from(error).with(Subject::Id(id));
    if let Some(hint) = hint {
        err = err.hint(hint);
    }
    err.into()
}

fn too_long(syscall: &'static str, id: i32, hint: String) -> Error {
    SyscallError::from(os::Error::new(libc::EMSGSIZE, syscall)).with(Subject::Id(id)).hint(hint).into()
}

/// kernel.msgmax, read once and again whenever a size check would fail on
/// it (the sysctl may have been raised since).
fn msgmax(refresh: bool) -> os::Result<usize> {
    static CACHED: AtomicU32 = AtomicU32::new(0);
    let cached = CACHED.load(Ordering::Relaxed);
    if cached != 0 && !refresh {
        return Ok(cached as usize);
    }
    let max = msg::limits()?.msgmax;
    CACHED.store(max, Ordering::Relaxed);
    Ok(max as usize)
}

fn check_length(id: i32, len: usize) -> JsResult<()> {
    let fail = |e| Error::sys(e, Subject::Id(id));
    if len <= msgmax(false).map_err(fail)? {
        return Ok(());
    }
    let max = msgmax(true).map_err(fail)?;
    if len <= max {
        return Ok(());
    }
    Err(too_long(
        "msgsnd",
        id,
        format!("the message is {len} bytes; System V messages are at most {max} bytes (kernel.msgmax)"),
    ))
}

/// A queue that can never hold `len` bytes would block a send forever. A
/// queue we may write but not read cannot tell: then the send just waits.
fn check_fits(id: i32, len: usize) -> JsResult<()> {
    let max_bytes = match msg::stat(id) {
        Ok(st) => st.max_bytes,
        Err(e) if e.errno() == libc::EACCES => return Ok(()),
        Err(e) => return Err(id_error(e, id)),
    };
    if len as u64 > max_bytes {
        return Err(too_long(
            "msgsnd",
            id,
            format!("the message is {len} bytes but the queue holds at most {max_bytes} (its maxBytes, msg_qbytes): it could never be sent"),
        ));
    }
    Ok(())
}

/// Between the tries of a waiting send: EMSGSIZE once the queue's maxBytes
/// is below the message (it could never be sent). A queue we may write but
/// not read cannot tell, and is waited on.
fn still_fits(id: i32, len: usize) -> os::Result<()> {
    match msg::stat(id) {
        Ok(st) if len as u64 > st.max_bytes => Err(os::Error::new(libc::EMSGSIZE, "msgsnd")),
        Err(e) if e.errno() != libc::EACCES => Err(e),
        _ => Ok(()),
    }
}

/// A message type (a C long): a whole number within ±(2^53 - 1) or a
/// bigint within ±(2^63 - 1), at least `min`.
fn type_arg(arg: Arg, min: i64) -> JsResult<i64> {
    let range = if min > 0 { ">= 1 && <= 2n ** 63n - 1n" } else { ">= -(2n ** 63n - 1n) && <= 2n ** 63n - 1n" };
    let value = match arg.kind()? {
        ArgKind::Number => arg.integer(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)?,
        ArgKind::BigInt => match arg.bigint_i64()? {
            Some(n) if n != i64::MIN => n,
            _ => return Err(Error::out_of_range(arg.name, range, "a bigint outside that range")),
        },
        _ => return Err(arg.type_error("of type number or bigint")),
    };
    if value < min {
        return Err(Error::out_of_range(arg.name, range, &value.to_string()));
    }
    Ok(value)
}

fn bytes_arg(call: &CallInfo, index: usize) -> JsResult<&[u8]> {
    let view = call.arg(index, "data")?.bytes()?;
    if view.byte_length == 0 {
        return Ok(&[]);
    }
    // SAFETY: the view's memory is valid for byte_length bytes during this
    // call, and nothing here runs JS.
    Ok(unsafe { std::slice::from_raw_parts(view.data, view.byte_length) })
}

/// msgGet(key, create, exclusive, mode, access): msgget, the id. `access`
/// (0 read, 1 write, 2 both) is what an existing queue must grant.
fn get(env: Env, call: &CallInfo) -> JsResult<Value> {
    let key = call.arg(0, "key")?.u32()?;
    let create = call.arg(1, "create")?.boolean()?;
    let exclusive = call.arg(2, "exclusive")?.boolean()?;
    let mode = call.arg(3, "mode")?.integer(0, 0o777)? as u32;
    let access = match call.arg(4, "access")?.integer(0, 2)? {
        0 => 0o400,
        1 => 0o200,
        _ => 0o600,
    };
    let id = msg::get(key, GetOptions { create, exclusive, mode, access }).map_err(|e| {
        let hint = match e.errno() {
            libc::ENOSPC => Some("the system's limit on message queues (kernel.msgmni) is reached"),
            libc::EACCES => Some("the queue's mode does not grant this process the access asked for"),
            _ => None,
        };
        let mut err = SyscallError::from(e).with(Subject::Key(key));
        if let Some(hint) = hint {
            err = err.hint(hint);
        }
        Error::from(err)
    })?;
    env.int32(id)
}

/// The wait of a sync send or receive whose first IPC_NOWAIT try found no
/// room or no message. On the main thread without a deadline it blocks in
/// the kernel (`block`); otherwise it retries `attempt` until the deadline
/// (None when it passed first), and in a worker it asks between pauses
/// (every [`INTERRUPT_SLICE_MS`]) whether the worker is being terminated,
/// since nothing can wake a thread asleep in msgrcv then.
fn wait_after_try<S, T>(
    env: Env,
    state: &mut S,
    deadline: Option<Deadline>,
    mut attempt: impl FnMut(&mut S) -> os::Result<Option<T>>,
    block: impl FnOnce(&mut S) -> os::Result<T>,
) -> JsResult<os::Result<Option<T>>> {
    wait::with_interrupt(env, |interrupted| {
        if deadline.is_none() && interrupted.is_none() {
            return block(state).map(Some);
        }
        if deadline.is_some_and(Deadline::passed) {
            return Ok(None);
        }
        let mut next_check = Deadline::after_ms(INTERRUPT_SLICE_MS);
        let pause = |step: Duration| {
            msg::sleep(step);
            match interrupted {
                Some(interrupted) if next_check.is_some_and(Deadline::passed) => {
                    next_check = Deadline::after_ms(INTERRUPT_SLICE_MS);
                    !interrupted()
                }
                _ => true,
            }
        };
        Ok(match msg::retry(deadline, true, || attempt(state), pause)? {
            Polled::Done(done) => Some(done),
            Polled::TimedOut | Polled::Stopped => None,
        })
    })
}

/// msgSend(id, type, data, timeout) -> true when sent, false when the queue
/// stayed full until the timeout (0: never waits).
fn send(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let mtype = type_arg(call.arg(1, "type")?, 1)?;
    let text = bytes_arg(call, 2)?;
    let deadline = wait::timeout(call, 3)?;
    check_length(id, text.len())?;
    BUFFER.with(|cell| {
        let mut buf = cell.borrow_mut();
        buf.fill(mtype, text).map_err(|e| id_error(e, id))?;
        if msg::send(id, &buf, true).map_err(|e| id_error(e, id))? {
            return env.boolean(true);
        }
        check_fits(id, text.len())?;
        let sent = wait_after_try(
            env,
            &mut *buf,
            deadline,
            |buf| match msg::send(id, buf, true)? {
                true => Ok(Some(())),
                // The kernel says EAGAIN, not EMSGSIZE, to a message that no
                // longer fits at all: another process lowered maxBytes.
                false => still_fits(id, buf.text().len()).map(|()| None),
            },
            // Untimed on the main thread: one blocking msgsnd, as in C.
            |buf| msg::send(id, buf, false).map(drop),
        )?
        .map_err(|e| id_error(e, id))?;
        env.boolean(sent.is_some())
    })
}

struct Receive {
    selector: Selector,
    max_len: usize,
    bigint: bool,
}

/// type, flags and maxSize at `index`, `index + 1`, `index + 2`.
fn receive_args(call: &CallInfo, id: i32, index: usize) -> JsResult<Receive> {
    let msgtyp = type_arg(call.arg(index, "type")?, -i64::MAX)?;
    let flags = call.arg(index + 1, "flags")?.integer(0, 7)?;
    let max_len = match call.arg(index + 2, "maxSize")?.optional()? {
        Some(arg) => arg.integer(0, i32::MAX as i64)? as usize,
        None => msgmax(false).map_err(|e| Error::sys(e, Subject::Id(id)))?,
    };
    let selector = Selector { msgtyp, except: flags & RECEIVE_EXCEPT != 0, truncate: flags & RECEIVE_TRUNCATE != 0 };
    Ok(Receive { selector, max_len, bigint: flags & RECEIVE_BIGINT != 0 })
}

fn message_object(env: Env, buf: &MsgBuf, bigint: bool) -> JsResult<Value> {
    let o = env.object()?;
    let mtype = buf.mtype();
    o.set("type", if bigint { env.bigint_i64(mtype)? } else { env.number(mtype as f64)? })?;
    o.set("data", env.buffer_copy(buf.text())?)?;
    Ok(o)
}

/// msgReceive(id, type, flags, maxSize, timeout) -> { type, data }, or
/// undefined when no message came before the timeout (0: never waits).
/// flags: 1 MSG_EXCEPT, 2 MSG_NOERROR, 4 type as a bigint.
fn receive(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let r = receive_args(call, id, 1)?;
    let deadline = wait::timeout(call, 4)?;
    BUFFER.with(|cell| {
        let mut buf = cell.borrow_mut();
        buf.reserve(r.max_len).map_err(|e| id_error(e, id))?;
        let (max_len, selector) = (r.max_len, r.selector);
        let got = match msg::receive(id, &mut buf, max_len, selector, true) {
            Ok(Some(n)) => Ok(Some(n)),
            Ok(None) => wait_after_try(
                env,
                &mut *buf,
                deadline,
                |buf| msg::receive(id, buf, max_len, selector, true),
                |buf| msg::receive(id, buf, max_len, selector, false).map(|n| n.unwrap_or(0)),
            )?,
            Err(e) => Err(e),
        };
        let result = match got {
            Ok(Some(_)) => message_object(env, &buf, r.bigint),
            Ok(None) => env.undefined(),
            Err(e) => Err(id_error(e, id)),
        };
        buf.shrink(KEEP_BUFFER);
        result
    })
}

/// What an async wait found, for JS: every System V wait resolves through
/// [`found_value`], so its errors carry the hints of [`id_error`].
enum Found {
    /// There is room for the message: send it now (nothing was sent).
    Room,
    /// The wait sent the message itself (a queue we may not read).
    Sent,
    /// A message is queued: receive it now (nothing was taken).
    Ready,
    /// The probe took a message with no text.
    Taken(Taken),
    Failed(os::Error),
}

struct Arrival {
    id: i32,
    found: Found,
}

impl Arrival {
    fn outcome(id: i32, found: Found) -> Outcome {
        Outcome::Value(Payload::new(Arrival { id, found }))
    }
}

/// An [`Arrival`] as JS sees it: 1 room, 2 sent, true ready, the message
/// with no text, or a rejection.
fn found_value(env: Env, payload: &Payload) -> JsResult<Value> {
    let Some(Arrival { id, found }) = payload.get::<Arrival>() else {
        return Err(Error::internal("a System V queue wait got the payload of another wait"));
    };
    match found {
        Found::Room => env.int32(1),
        Found::Sent => env.int32(2),
        Found::Ready => env.boolean(true),
        Found::Taken(taken) => {
            let o = env.object()?;
            o.set("type", if taken.bigint { env.bigint_i64(taken.mtype)? } else { env.number(taken.mtype as f64)? })?;
            o.set("data", env.buffer_copy(&[])?)?;
            taken.delivered.store(true, Ordering::Release);
            Ok(o)
        }
        Found::Failed(e) => Err(id_error(*e, *id)),
    }
}

/// Takes one pause of `backoff`, never past `until`, and asks for another step.
fn pause(backoff: &mut Backoff, until: Deadline) -> Step {
    if let Some(step) = backoff.pause(Some(until)) {
        msg::sleep(step);
    }
    Step::Again
}

/// The promise of an async wait that was decided before it started.
fn settled(env: Env, id: i32, found: Found) -> JsResult<Value> {
    let (deferred, promise) = env.promise()?;
    match found_value(env, &Payload::new(Arrival { id, found })) {
        Ok(value) => deferred.resolve(env, value),
        Err(e) => deferred.reject(env, e.to_js(env)?),
    }
    Ok(promise)
}

/// A removed queue answers EINVAL ("no such id"); a wait that saw it before
/// reports what a blocked call would have: EIDRM.
fn removed_meanwhile(e: os::Error) -> os::Error {
    if e.errno() == libc::EINVAL {
        os::Error::new(libc::EIDRM, e.syscall())
    } else {
        e
    }
}

/// An async send waiting for room: looks at IPC_STAT's counts each step and
/// says when the message would fit, for JS to send it. On a queue this
/// process may not read (EACCES), it sends the message itself instead.
struct SendWait {
    id: i32,
    buf: MsgBuf,
    readable: bool,
    backoff: Backoff,
}

impl SendWait {
    /// One look (or, unreadable, one try): None while there is no room.
    fn look(&mut self) -> os::Result<Option<Found>> {
        let len = self.buf.text().len();
        if self.readable {
            match msg::stat(self.id) {
                Ok(st) if len as u64 > st.max_bytes => return Err(os::Error::new(libc::EMSGSIZE, "msgsnd")),
                Ok(st) => return Ok(msg::fits(&st, len).then_some(Found::Room)),
                Err(e) if e.errno() == libc::EACCES => self.readable = false,
                Err(e) => return Err(os::Error::new(e.errno(), "msgsnd")),
            }
        }
        Ok(msg::send(self.id, &self.buf, true)?.then_some(Found::Sent))
    }
}

impl Job for SendWait {
    fn step(&mut self, until: Deadline) -> Step {
        match self.look() {
            Ok(Some(found)) => Step::Done(Arrival::outcome(self.id, found)),
            Ok(None) => pause(&mut self.backoff, until),
            Err(e) => Step::Done(Arrival::outcome(self.id, Found::Failed(removed_meanwhile(e)))),
        }
    }
}

/// msgSendAsync(id, type, data, timeoutMs, group, flags) -> Promise of 1
/// once the message would fit (send it now: nothing was sent), 2 when the
/// wait sent it itself (a queue this process may not read), undefined on
/// timeout. Rejects with EMSGSIZE for a message the queue can never hold,
/// EIDRM when the queue is removed meanwhile.
fn send_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let mtype = type_arg(call.arg(1, "type")?, 1)?;
    let text = bytes_arg(call, 2)?;
    let common = wait::common(call, 3)?;
    check_length(id, text.len())?;
    let mut buf = MsgBuf::new();
    buf.fill(mtype, text).map_err(|e| id_error(e, id))?;
    let mut job = SendWait { id, buf, readable: true, backoff: Backoff::new() };
    match job.look() {
        Ok(None) => {}
        Ok(Some(found)) => return settled(env, id, found),
        Err(e) => return settled(env, id, Found::Failed(e)),
    }
    wait::submit(env, Op::Job(Box::new(job)), common, None, Resolve::Custom(found_value), Some(Subject::Id(id)))
}

/// A message with no text that an async receive's probe took whole. If it
/// never reaches JS (the wait was aborted as it was taken, or its worker
/// went away), it goes back to the queue, at its end.
struct Taken {
    id: i32,
    mtype: i64,
    bigint: bool,
    delivered: AtomicBool,
}

impl Taken {
    fn put_back(&self) {
        if self.delivered.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut buf = MsgBuf::new();
        // Never blocks: the message just left, so its room is there unless
        // another sender took it meanwhile, and then it is lost.
        if buf.fill(self.mtype, &[]).is_ok() {
            let _ = msg::send(self.id, &buf, true);
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.put_back();
    }
}

/// An async receive waiting for a message `selector` takes, one probe per step.
struct ReceiveWait {
    id: i32,
    selector: Selector,
    bigint: bool,
    backoff: Backoff,
}

impl ReceiveWait {
    fn look(&self) -> os::Result<Option<Found>> {
        Ok(match msg::probe(self.id, self.selector)? {
            Probe::Empty => None,
            Probe::Ready => Some(Found::Ready),
            Probe::Took(mtype) => {
                Some(Found::Taken(Taken { id: self.id, mtype, bigint: self.bigint, delivered: AtomicBool::new(false) }))
            }
        })
    }
}

impl Job for ReceiveWait {
    fn step(&mut self, until: Deadline) -> Step {
        match self.look() {
            Ok(Some(found)) => Step::Done(Arrival::outcome(self.id, found)),
            Ok(None) => pause(&mut self.backoff, until),
            Err(e) => Step::Done(Arrival::outcome(self.id, Found::Failed(removed_meanwhile(e)))),
        }
    }

    /// Taken as the wait was aborted: nobody will receive it.
    fn undo(&mut self, outcome: &Outcome) {
        if let Outcome::Value(payload) = outcome {
            if let Some(Arrival { found: Found::Taken(taken), .. }) = payload.get::<Arrival>() {
                taken.put_back();
            }
        }
    }
}

/// msgReceiveAsync(id, type, flags, timeoutMs, group, waitFlags) -> Promise
/// of true once a message `type` selects is queued (receive it now: nothing
/// was taken), of the message itself when it has no text (the probe took
/// it), or of undefined on timeout. flags as for msgReceive (MSG_NOERROR
/// does not matter here). Rejects with EIDRM when the queue is removed
/// meanwhile.
fn receive_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let msgtyp = type_arg(call.arg(1, "type")?, -i64::MAX)?;
    let flags = call.arg(2, "flags")?.integer(0, 7)?;
    let common = wait::common(call, 3)?;
    let selector = Selector { msgtyp, except: flags & RECEIVE_EXCEPT != 0, truncate: false };
    let job = ReceiveWait { id, selector, bigint: flags & RECEIVE_BIGINT != 0, backoff: Backoff::new() };
    match job.look() {
        Ok(None) => {}
        Ok(Some(found)) => return settled(env, id, found),
        Err(e) => return settled(env, id, Found::Failed(e)),
    }
    wait::submit(env, Op::Job(Box::new(job)), common, None, Resolve::Custom(found_value), Some(Subject::Id(id)))
}

/// msgStat(id): every field of IPC_STAT's msqid_ds.
fn stat(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let st = msg::stat(id).map_err(|e| id_error(e, id))?;
    let o = env.object()?;
    o.set("id", env.int32(id)?)?;
    o.set("key", env.uint32(st.key)?)?;
    o.set("mode", env.uint32(st.mode)?)?;
    o.set("uid", env.uint32(st.uid)?)?;
    o.set("gid", env.uint32(st.gid)?)?;
    o.set("cuid", env.uint32(st.cuid)?)?;
    o.set("cgid", env.uint32(st.cgid)?)?;
    o.set("messages", env.number(st.messages as f64)?)?;
    o.set("bytes", env.number(st.bytes as f64)?)?;
    o.set("maxBytes", env.number(st.max_bytes as f64)?)?;
    o.set("lspid", env.int32(st.lspid)?)?;
    o.set("lrpid", env.int32(st.lrpid)?)?;
    o.set("stime", super::ipc_time(env, st.stime)?)?;
    o.set("rtime", super::ipc_time(env, st.rtime)?)?;
    o.set("ctime", super::ipc_time(env, st.ctime)?)?;
    Ok(o)
}

/// msgSet(id, uid?, gid?, mode?, maxBytes?): IPC_SET of what is given.
fn set(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let uid = call.arg(1, "uid")?.optional()?.map(|a| a.u32()).transpose()?;
    let gid = call.arg(2, "gid")?.optional()?.map(|a| a.u32()).transpose()?;
    let mode = call.arg(3, "mode")?.optional()?.map(|a| a.integer(0, 0o777)).transpose()?.map(|m| m as u32);
    let max_bytes =
        call.arg(4, "maxBytes")?.optional()?.map(|a| a.integer(0, u32::MAX as i64)).transpose()?.map(|b| b as u64);
    msg::set(id, SetOptions { uid, gid, mode, max_bytes }).map_err(|e| {
        if e.errno() == libc::EPERM && max_bytes.is_some() {
            SyscallError::from(e)
                .with(Subject::Id(id))
                .hint("only the owner, the creator or CAP_SYS_ADMIN may change a queue, and raising maxBytes above kernel.msgmnb needs CAP_SYS_RESOURCE")
                .into()
        } else {
            id_error(e, id)
        }
    })?;
    env.undefined()
}

/// msgRemove(id): IPC_RMID.
fn remove(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    msg::remove(id).map_err(|e| id_error(e, id))?;
    env.undefined()
}

/// msgLimits() -> { msgmax, msgmnb, msgmni } (IPC_INFO).
fn limits(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let l = msg::limits().map_err(Error::from)?;
    let o = env.object()?;
    o.set("msgmax", env.uint32(l.msgmax)?)?;
    o.set("msgmnb", env.uint32(l.msgmnb)?)?;
    o.set("msgmni", env.uint32(l.msgmni)?)?;
    Ok(o)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("msgGet", get)?
        .function("msgSend", send)?
        .function("msgReceive", receive)?
        .function("msgSendAsync", send_async)?
        .function("msgReceiveAsync", receive_async)?
        .function("msgStat", stat)?
        .function("msgSet", set)?
        .function("msgRemove", remove)?
        .function("msgLimits", limits)?;
    Ok(())
}
