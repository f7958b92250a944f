//! The wait engine's glue: one [`Engine`] per JS thread (main or worker),
//! driven by that thread's event loop.
//!
//! - io_uring's ring descriptor is polled by a libuv poll handle, so a woken
//!   futex wakes the JS thread directly;
//! - completions from the futex_waitv and pool threads arrive through one
//!   queue and one libuv async handle per env: a burst of them costs one
//!   loop wake-up;
//! - one libuv timer per env fires at the earliest deadline or liveness
//!   check;
//! - the handles keep the loop alive only while a referenced wait is
//!   pending, and an async cleanup hook stops every wait (without settling
//!   it) and closes the handles when the env (a worker) goes away.
//!
//! Promises are settled inside a callback scope, so their reactions run as
//! soon as the loop callback ends.

use super::error::{ShmkitError, Subject};
use super::Region;
use crate::engine::blocking;
use crate::engine::queue::{CompletionQueue, Notify};
use crate::engine::{pool, waitv, BackendKind, Engine, Op, Outcome, Payload, Wait};
use crate::napi::{
    AsyncCleanupHook, AsyncContext, AsyncSender, CallInfo, Deferred, Env, Error, Exports, JsResult, Reference,
    TeardownDone, UvHandle, Value,
};
use crate::os::deadline::Deadline;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

/// How a settled wait becomes a JS value.
#[derive(Clone, Copy)]
pub enum Resolve {
    /// A futex outcome code: 0 woken, 1 not-equal, 2 timed-out, 4 owner dead.
    Futex,
    /// true when a unit (or a semop) went through, false on timeout.
    Taken,
    /// The number a job or an fd wait finished with; -1 on timeout.
    Number,
    /// A job's [`Payload`], made a JS value by the binding that started it;
    /// `undefined` on timeout.
    Custom(fn(Env, &Payload) -> JsResult<Value>),
}

pub struct Token {
    deferred: Deferred,
    resolve: Resolve,
    /// What a failed system call was about, for its error.
    subject: Option<Subject>,
}

/// Wakes the env's async handle when thread backends queue completions.
struct UvNotify(AsyncSender);

impl Notify for UvNotify {
    fn notify(&self) {
        // SAFETY: the queue calls this under its lock and never after
        // `close`; teardown closes the queue before the async handle.
        unsafe { self.0.send() };
    }
}

/// Everything one env's waits need.
struct Loop {
    env: Env,
    engine: Engine<Token>,
    ring: Option<UvHandle>,
    wake: UvHandle,
    timer: UvHandle,
    timer_at: Option<Deadline>,
    referenced: bool,
    context: Rc<AsyncContext>,
    next_group: u32,
    /// For sync waits in a worker: a JS function whose call fails once the
    /// worker is being terminated.
    probe: Option<Rc<Reference>>,
    worker: bool,
    /// Keeps the teardown hook registered while the env lives.
    _teardown: AsyncCleanupHook,
}

thread_local! {
    /// One env per JS thread in Node: the main thread's, or a worker's.
    static LOOP: RefCell<Option<Box<Loop>>> = const { RefCell::new(None) };
}

/// The backend, chosen once per process.
fn backend() -> BackendKind {
    static KIND: OnceLock<BackendKind> = OnceLock::new();
    *KIND.get_or_init(BackendKind::choose)
}

impl Loop {
    fn new(env: Env) -> JsResult<Box<Loop>> {
        let wake = UvHandle::async_handle(env, on_wake)?;
        wake.set_ref(false);
        let queue = CompletionQueue::new(Box::new(UvNotify(wake.sender())));
        // A ring this env cannot have (too many open files, memlock
        // limits) falls back to the threads rather than failing waits.
        let engine = Engine::new(backend(), Arc::clone(&queue))
            .or_else(|_| {
                Engine::new(
                    if crate::os::futex::waitv_supported() { BackendKind::Waitv } else { BackendKind::Pool },
                    queue,
                )
            })
            .map_err(Error::from);
        let engine = match engine {
            Ok(engine) => engine,
            Err(e) => {
                wake.close(None);
                return Err(e);
            }
        };
        let ring = match engine.poll_fd() {
            Some(fd) => {
                let handle = UvHandle::poll_readable(env, fd, on_ring)?;
                handle.set_ref(false);
                Some(handle)
            }
            None => None,
        };
        let timer = UvHandle::timer(env, on_timer)?;
        timer.set_ref(false);
        let context = Rc::new(AsyncContext::new(env, "shmkit.wait")?);
        let teardown = env.on_teardown_async(teardown)?;
        Ok(Box::new(Loop {
            env,
            engine,
            ring,
            wake,
            timer,
            timer_at: None,
            referenced: false,
            context,
            next_group: 1,
            probe: None,
            worker: !env.is_main_thread()?,
            _teardown: teardown,
        }))
    }

    /// After the engine changed: the timer follows the earliest deadline and
    /// the handles keep the loop alive only while referenced waits pend.
    fn sync_handles(&mut self) {
        let next = self.engine.next_timer();
        if next != self.timer_at {
            match next {
                Some(at) => self.timer.start_timer(at.remaining_ms_ceil()),
                None => self.timer.stop_timer(),
            }
            self.timer_at = next;
        }
        let referenced = self.engine.referenced() > 0;
        if referenced != self.referenced {
            if let Some(ring) = &self.ring {
                ring.set_ref(referenced);
            }
            self.wake.set_ref(referenced);
            self.timer.set_ref(referenced);
            self.referenced = referenced;
        }
    }
}

/// Runs `f` on this thread's engine (made on first use), then settles what
/// it settled. For bindings: JS is running, so no scope is needed.
fn with_engine<R>(
    env: Env,
    abort_reason: Option<Value>,
    f: impl FnOnce(&mut Engine<Token>) -> JsResult<R>,
) -> JsResult<R> {
    let (result, settled) = LOOP.with(|cell| -> JsResult<_> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Loop::new(env)?);
        }
        let lp = slot.as_mut().expect("made above");
        let result = f(&mut lp.engine);
        lp.sync_handles();
        Ok((result, lp.engine.take_settled()))
    })?;
    for (token, outcome) in settled {
        settle(env, token, outcome, abort_reason);
    }
    result
}

/// A loop callback: lets the loop's engine act, then settles what it
/// settled in a callback scope.
fn from_loop(act: fn(&mut Loop)) {
    let Some((env, context, settled)) = LOOP.with(|cell| {
        let mut slot = cell.borrow_mut();
        let lp = slot.as_mut()?;
        act(lp);
        lp.sync_handles();
        Some((lp.env, Rc::clone(&lp.context), lp.engine.take_settled()))
    }) else {
        return;
    };
    if settled.is_empty() {
        return;
    }
    context.run(env, || {
        for (token, outcome) in settled {
            settle(env, token, outcome, None);
        }
    });
}

fn on_ring() {
    from_loop(|lp| lp.engine.process());
}

fn on_wake() {
    from_loop(|lp| lp.engine.process());
}

fn on_timer() {
    from_loop(|lp| {
        // One-shot: sync_handles re-arms it for whatever is due next.
        lp.timer_at = None;
        lp.engine.on_timer();
    });
}

/// The env is going away: stop every wait, drop its promise unsettled (no
/// JS is left to see it) and close the handles; Node waits for the close.
fn teardown(done: TeardownDone) {
    let Some(mut lp) = LOOP.with(|cell| cell.borrow_mut().take()) else { return };
    for token in lp.engine.teardown() {
        token.deferred.abandon();
    }
    lp.probe = None;
    let Loop { env, ring, wake, timer, context, .. } = *lp;
    if let Ok(context) = Rc::try_unwrap(context) {
        context.destroy(env);
    }
    PENDING_CLOSES.with(|pending| pending.set((ring.is_some() as u32) + 2));
    CLEANUP.with(|cleanup| *cleanup.borrow_mut() = Some(done));
    if let Some(ring) = ring {
        ring.close(Some(handle_closed));
    }
    wake.close(Some(handle_closed));
    timer.close(Some(handle_closed));
}

thread_local! {
    static PENDING_CLOSES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static CLEANUP: RefCell<Option<TeardownDone>> = const { RefCell::new(None) };
}

fn handle_closed() {
    let left = PENDING_CLOSES.with(|pending| {
        let left = pending.get().saturating_sub(1);
        pending.set(left);
        left
    });
    if left == 0 {
        // Dropping it lets Node finish the env's teardown.
        drop(CLEANUP.with(|cleanup| cleanup.borrow_mut().take()));
    }
}

fn abort_error(env: Env, reason: Option<Value>) -> JsResult<Value> {
    // Node's own AbortError shape (code ABORT_ERR, name AbortError, cause).
    let error = Error::plain("ABORT_ERR", "The operation was aborted").to_js(env)?;
    error.set("name", env.string("AbortError")?)?;
    if let Some(reason) = reason {
        error.set("cause", reason)?;
    }
    Ok(error)
}

fn settle(env: Env, token: Token, outcome: Outcome, abort_reason: Option<Value>) {
    let value = match (token.resolve, outcome) {
        (_, Outcome::Cancelled) => Err(abort_error(env, abort_reason)),
        (_, Outcome::Closed) => Err(Error::closed("Mapping").to_js(env)),
        (_, Outcome::Failed(e)) => Err(match token.subject {
            Some(subject) => Error::sys(e, subject),
            None => Error::from(e),
        }
        .to_js(env)),
        (Resolve::Futex, Outcome::Woken) => Ok(env.int32(0)),
        (Resolve::Futex, Outcome::NotEqual) => Ok(env.int32(1)),
        (Resolve::Futex, Outcome::TimedOut) => Ok(env.int32(2)),
        (Resolve::Futex, Outcome::OwnerDead) => Ok(env.int32(4)),
        (Resolve::Taken, Outcome::Acquired | Outcome::Done(_)) => Ok(env.boolean(true)),
        (Resolve::Taken, Outcome::TimedOut) => Ok(env.boolean(false)),
        (Resolve::Number, Outcome::Done(n)) => Ok(env.number(n as f64)),
        (Resolve::Number, Outcome::TimedOut) => Ok(env.int32(-1)),
        (Resolve::Custom(make), Outcome::Value(payload)) => Ok(make(env, &payload)),
        (Resolve::Custom(_), Outcome::TimedOut) => Ok(env.undefined()),
        (_, other) => Err(Error::internal(format!("unexpected wait outcome {other:?}")).to_js(env)),
    };
    match value {
        Ok(Ok(v)) => token.deferred.resolve(env, v),
        Ok(Err(e)) | Err(Err(e)) => {
            // Could not even build the value: reject with a plain error if
            // that much works, else leave the promise for the env to drop.
            if let Ok(error) = e.to_js(env) {
                token.deferred.reject(env, error);
            }
        }
        Err(Ok(error)) => token.deferred.reject(env, error),
    }
}

/// Options every async wait binding takes after its own arguments:
/// `timeoutMs` (Infinity for none), `group` (0 for none, else from
/// waitGroup) and `flags` (bit 0: the wait does not keep the loop alive).
pub struct Common {
    pub deadline: Option<Deadline>,
    pub group: u32,
    pub referenced: bool,
}

const UNREF: u32 = 1;

/// Reads the timeout at `at`, the group and flags after it.
pub fn common(call: &CallInfo, at: usize) -> JsResult<Common> {
    let deadline = timeout(call, at)?;
    let group = call.arg(at + 1, "group")?.optional()?.map(|a| a.u32()).transpose()?.unwrap_or(0);
    let flags = call.arg(at + 2, "flags")?.optional()?.map(|a| a.u32()).transpose()?.unwrap_or(0);
    Ok(Common { deadline, group, referenced: flags & UNREF == 0 })
}

/// A timeout in ms: Infinity or anything too large to matter waits forever;
/// negative and NaN are refused.
pub fn timeout(call: &CallInfo, at: usize) -> JsResult<Option<Deadline>> {
    let Some(arg) = call.arg(at, "timeout")?.optional()? else { return Ok(None) };
    let ms = arg.number()?;
    if ms.is_nan() || ms < 0.0 {
        return Err(Error::out_of_range("timeout", ">= 0", &crate::napi::format_number(ms)));
    }
    Ok(Deadline::after_ms(ms))
}

/// Starts an async wait; the promise settles as `resolve` says. A wait
/// that cannot even start rejects (async calls never throw for it).
pub fn submit(
    env: Env,
    op: Op,
    common: Common,
    watch: Option<i32>,
    resolve: Resolve,
    subject: Option<Subject>,
) -> JsResult<Value> {
    let (deferred, promise) = env.promise()?;
    let wait = Wait { op, deadline: common.deadline, watch, group: common.group, referenced: common.referenced };
    let failed = with_engine(env, None, |engine| Ok(engine.submit(wait, Token { deferred, resolve, subject }).err()))?;
    if let Some((token, e)) = failed {
        let error = match token.subject {
            Some(subject) => Error::sys(e, subject),
            None => Error::from(e),
        };
        token.deferred.reject(env, error.to_js(env)?);
    }
    Ok(promise)
}

/// A Mapping is closing: waits on its memory reject with
/// ERR_SHMKIT_CLOSED now, instead of sleeping on memory nobody can reach.
pub fn region_closed(env: Env, region: &Region) {
    if LOOP.with(|cell| cell.borrow().is_some()) {
        let (start, len) = (region.address(), region.len());
        let _ = with_engine(env, None, |engine| {
            engine.cancel_range(start, start + len, Outcome::Closed);
            Ok(())
        });
    }
}

/// A descriptor is being closed: waits for its readiness reject with
/// ERR_SHMKIT_CLOSED now (a poll of a closed descriptor never completes).
pub fn fd_closed(env: Env, fd: std::os::fd::RawFd) {
    if LOOP.with(|cell| cell.borrow().is_some()) {
        let _ = with_engine(env, None, |engine| {
            engine.cancel_fd(fd, Outcome::Closed);
            Ok(())
        });
    }
}

/// For a sync wait: a check that says whether this worker is being
/// terminated (Node gives no other signal to a thread blocked in native
/// code). On the main thread there is nothing to check.
pub fn with_interrupt<R>(env: Env, f: impl FnOnce(Option<&dyn Fn() -> bool>) -> R) -> JsResult<R> {
    let probe = LOOP.with(|cell| -> JsResult<Option<Rc<Reference>>> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            // The main thread is never terminated under a wait: no engine
            // needed for its sync waits.
            if env.is_main_thread()? {
                return Ok(None);
            }
            *slot = Some(Loop::new(env)?);
        }
        let lp = slot.as_mut().expect("made above");
        if !lp.worker {
            return Ok(None);
        }
        if lp.probe.is_none() {
            lp.probe = Some(Rc::new(Reference::new(env.run_script("(function shmkitProbe() {})")?)?));
        }
        Ok(lp.probe.clone())
    })?;
    Ok(match probe {
        None => f(None),
        Some(probe) => {
            // A termination request makes every entry into JS fail at once.
            let interrupted = || probe.value(env).and_then(|f| f.call(&[])).is_err();
            f(Some(&interrupted))
        }
    })
}

/// A futex word's address argument: a non-null, 4-byte aligned number (the
/// JS side took it from `addressOf` of a live mapping).
pub(super) fn address(call: &CallInfo, index: usize) -> JsResult<usize> {
    let address = call.arg(index, "address")?.integer(4, crate::napi::MAX_SAFE_INTEGER as i64)? as usize;
    if address % 4 != 0 {
        return Err(Error::invalid_arg_value("address", "must be a multiple of 4", &address.to_string()));
    }
    Ok(address)
}

/// The optional owner thread a wait watches (a robust mutex's holder): its
/// death ends the wait.
pub(super) fn watch(call: &CallInfo, index: usize) -> JsResult<Option<i32>> {
    let tid = call.arg(index, "watchTid")?.optional()?.map(|a| a.i32()).transpose()?.unwrap_or(0);
    Ok((tid > 0).then_some(tid))
}

/// waitFutex(address, expected, timeoutMs, watchTid): a sync wait; the
/// outcome code as for async waits (3 when the worker is terminating).
fn wait_futex(env: Env, call: &CallInfo) -> JsResult<Value> {
    let addr = address(call, 0)?;
    let expected = call.arg(1, "expected")?.i32()? as u32;
    let deadline = timeout(call, 2)?;
    let watch = watch(call, 3)?;
    let outcome = with_interrupt(env, |interrupted| blocking::futex(addr, expected, deadline, watch, interrupted))?
        .map_err(Error::from)?;
    env.int32(match outcome {
        Outcome::Woken => 0,
        Outcome::NotEqual => 1,
        Outcome::TimedOut => 2,
        Outcome::OwnerDead => 4,
        _ => 3,
    })
}

/// waitFutexAsync(address, expected, timeoutMs, group, flags, watchTid)
/// -> Promise<outcome code>. A Mapping closed under the word rejects it
/// with ERR_SHMKIT_CLOSED.
fn wait_futex_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let addr = address(call, 0)?;
    let expected = call.arg(1, "expected")?.i32()? as u32;
    let common = common(call, 2)?;
    let watch = watch(call, 5)?;
    submit(env, Op::Futex { addr, expected }, common, watch, Resolve::Futex, None)
}

/// waitFdAsync(fd, events, timeoutMs, group, flags) -> Promise<revents>:
/// resolves with the poll events that fired (POLLIN 1, POLLOUT 4...), -1
/// on timeout. The descriptor must stay open while the wait pends.
fn wait_fd_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let fd = call.arg(0, "fd")?.integer(0, i32::MAX as i64)? as i32;
    let events = call.arg(1, "events")?.integer(1, 0xffff)? as u32;
    let common = common(call, 2)?;
    submit(env, Op::Fd { fd, events }, common, None, Resolve::Number, None)
}

/// waitGroup(): a new abort group, for one AbortSignal.
fn wait_group(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let group = LOOP.with(|cell| -> JsResult<u32> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Loop::new(env)?);
        }
        let lp = slot.as_mut().expect("made above");
        let group = lp.next_group;
        lp.next_group = lp.next_group.checked_add(1).unwrap_or(1);
        Ok(group)
    })?;
    env.uint32(group)
}

/// waitAbort(group, reason): rejects every pending wait of the group with
/// an AbortError whose cause is `reason`.
fn wait_abort(env: Env, call: &CallInfo) -> JsResult<Value> {
    let group = call.arg(0, "group")?.u32()?;
    let reason = call.arg(1, "reason")?.value;
    with_engine(env, Some(reason), |engine| {
        engine.cancel_group(group);
        Ok(())
    })?;
    env.undefined()
}

/// waitInfo(): { backend, pending, referenced, waitvThreads, poolThreads },
/// for the tests and the benchmark.
fn wait_info(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let (pending, referenced) =
        LOOP.with(|cell| cell.borrow().as_ref().map_or((0, 0), |lp| (lp.engine.pending(), lp.engine.referenced())));
    let info = env.object()?;
    info.set("backend", env.string(backend().name())?)?;
    info.set("pending", env.number(pending as f64)?)?;
    info.set("referenced", env.number(referenced as f64)?)?;
    info.set("waitvThreads", env.number(waitv::threads() as f64)?)?;
    info.set("poolThreads", env.number(pool::threads() as f64)?)?;
    Ok(info)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("waitFutex", wait_futex)?
        .function("waitFutexAsync", wait_futex_async)?
        .function("waitFdAsync", wait_fd_async)?
        .function("waitGroup", wait_group)?
        .function("waitAbort", wait_abort)?
        .function("waitInfo", wait_info)?;
    Ok(())
}
