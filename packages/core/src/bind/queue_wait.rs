//! The async waits of the kernel message queues, kept in one place so the
//! wait engine can take them over: [`mq_ready`] for POSIX queues and
//! [`msg_retry`] for System V queues are the only two functions that start
//! one. Until the engine lands, each pending wait parks a thread of its own
//! (`spawn_on_thread`) in ppoll(2).
//!
//! - POSIX: the thread only waits for the descriptor to become readable or
//!   writable; JS then sends or receives itself, on its own thread, so a wait
//!   that is aborted has taken nothing (a received message cannot be put
//!   back in its place).
//! - System V: the queue is not pollable, so the thread retries IPC_NOWAIT
//!   calls (`os::msg::retry`), sleeping in ppoll on the cancel flag between
//!   tries. A message it takes is always delivered to JS, even when an
//!   abort raced with the take (the abort then comes too late; JS resolves).
//!
//! Cancelling is one eventfd per wait ([`Cancel`]): set by
//! `queueWaitCancel(token)` or, if the env (a worker) goes away first, by a
//! cleanup hook. Every ppoll of the wait includes it, so a cancelled wait
//! ends at once and its thread exits.

use crate::napi::{spawn_on_thread, sys, CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::eventfd::EventFd;
use crate::os::mqueue::{Interest, MessageQueue, Wake};
use crate::os::msg::Polled;
use crate::os::sem::Deadline;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The cancel flag of one pending wait.
pub struct Cancel {
    flag: EventFd,
    /// Set (before `flag`) when the env went away: a System V message taken
    /// after that has nobody to go to and is put back.
    torn_down: AtomicBool,
}

impl Cancel {
    fn new() -> JsResult<Arc<Self>> {
        Ok(Arc::new(Cancel { flag: EventFd::new()?, torn_down: AtomicBool::new(false) }))
    }

    fn fd(&self) -> RawFd {
        self.flag.as_raw_fd()
    }

    /// Sleeps up to `step`; false once the wait is cancelled.
    fn pause(&self, step: Duration) -> bool {
        match self.flag.wait(step) {
            Ok(set) => !set,
            // ppoll cannot fail on our own eventfd; if it ever did, sleep so
            // the caller's loop does not spin, and keep honouring a cancel.
            Err(_) => {
                std::thread::sleep(step);
                !self.flag.is_set()
            }
        }
    }
}

/// `queueWaitToken()`: what JS holds to cancel one async wait.
pub struct QueueWaitToken(Arc<Cancel>);

impl Tagged for QueueWaitToken {
    const NAME: &'static str = "QueueWaitToken";
    const TAG: sys::napi_type_tag = sys::napi_type_tag { lower: 0x6b2f_d01e_93a4_7c58, upper: 0xa3c9_5e17_f08b_d264 };
}

fn wait_token(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.external(QueueWaitToken(Cancel::new()?))
}

/// `queueWaitCancel(token)`: ends the wait as soon as its thread wakes.
fn wait_cancel(env: Env, call: &CallInfo) -> JsResult<Value> {
    call.handle::<QueueWaitToken>(0, "token")?.0.flag.set();
    env.undefined()
}

unsafe extern "C" fn cancel_on_teardown(arg: *mut std::ffi::c_void) {
    // SAFETY: `arg` is the Box leaked by Teardown::register; the hook runs
    // at most once and only while registered, so this is the one reclaim.
    let cancel = unsafe { Box::from_raw(arg.cast::<Arc<Cancel>>()) };
    cancel.torn_down.store(true, Ordering::Release);
    cancel.flag.set();
}

/// Cancels the wait if its env is torn down before it settles.
struct Teardown {
    env: sys::napi_env,
    arg: *mut std::ffi::c_void,
}

impl Teardown {
    fn register(env: Env, cancel: &Arc<Cancel>) -> JsResult<Self> {
        // A box of its own for every wait: Node aborts the process when the
        // same hook and argument are added twice, and one token may be
        // given to several waits.
        let arg = Box::into_raw(Box::new(Arc::clone(cancel))).cast::<std::ffi::c_void>();
        // SAFETY: env is live; `arg` stays valid until the hook or remove().
        let status = unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(cancel_on_teardown), arg) };
        if status != sys::napi_ok {
            // SAFETY: not registered, so the box is still ours.
            drop(unsafe { Box::from_raw(arg.cast::<Arc<Cancel>>()) });
            return Err(Error::internal("napi_add_env_cleanup_hook failed"));
        }
        Ok(Teardown { env: env.raw(), arg })
    }

    /// On the JS thread, once the wait settled.
    fn remove(self) {
        // SAFETY: the same env, hook and arg as registered; the env is live
        // because this runs inside one of its callbacks.
        unsafe { sys::napi_remove_env_cleanup_hook(self.env, Some(cancel_on_teardown), self.arg) };
        // SAFETY: the hook can no longer run, so the box is ours again.
        drop(unsafe { Box::from_raw(self.arg.cast::<Arc<Cancel>>()) });
    }
}

/// The cancel side of one pending wait: its flag, and the hook that sets it
/// if the env goes away first.
pub(super) struct Pending {
    cancel: Arc<Cancel>,
    teardown: Teardown,
}

/// The cancel side of a new wait: the caller's token (argument `index`) if
/// JS passed one, else a private flag only env teardown sets.
pub(super) fn pending(env: Env, call: &CallInfo, index: usize) -> JsResult<Pending> {
    let cancel = match call.arg(index, "token")?.optional()? {
        Some(arg) => Arc::clone(&arg.external::<QueueWaitToken>()?.0),
        None => Cancel::new()?,
    };
    let teardown = Teardown::register(env, &cancel)?;
    Ok(Pending { cancel, teardown })
}

/// What a POSIX queue wait needs of its handle: the descriptor, kept open
/// by the holder until the wait returns, and a flag set by `close()`.
pub(super) trait ReadyTarget: Send + Sync + 'static {
    fn queue(&self) -> &MessageQueue;
    fn closed_fd(&self) -> RawFd;
}

/// How a POSIX readiness wait ended.
pub(super) enum Readiness {
    Ready,
    TimedOut,
    Cancelled,
    Closed,
}

/// THE async wait of a POSIX queue: a promise of the descriptor becoming
/// ready for `interest`, settled by `settle` on the JS thread. Takes nothing
/// from the queue. Rewire this one function to the engine's fd wait.
pub(super) fn mq_ready<Q: ReadyTarget>(
    env: Env,
    target: Arc<Q>,
    interest: Interest,
    deadline: Option<Deadline>,
    Pending { cancel, teardown }: Pending,
    settle: impl FnOnce(Env, Readiness) -> JsResult<Value> + 'static,
) -> JsResult<Value> {
    spawn_on_thread(
        env,
        "shmkit.mqWaitReady",
        // The outer Ok: settle must run even on an error, to remove the hook.
        move || {
            let stop = [cancel.fd(), target.closed_fd()];
            Ok(target.queue().wait_ready(interest, deadline, &stop).map_err(Error::from).map(|wake| match wake {
                Wake::Ready => Readiness::Ready,
                Wake::TimedOut => Readiness::TimedOut,
                Wake::Stopped(0) => Readiness::Cancelled,
                Wake::Stopped(_) => Readiness::Closed,
            }))
        },
        move |env, ready: JsResult<Readiness>| {
            teardown.remove();
            settle(env, ready?)
        },
    )
}

/// THE async call of a System V queue: `work` retries its IPC_NOWAIT call
/// with the pause it is given (false: cancelled) and returns how it ended;
/// `settle` turns that into the promise's value on the JS thread. If the env
/// goes away with a result in hand, `undo` gives it back (a received
/// message is sent back to the queue). Rewire this one function to the
/// engine's thread pool.
pub(super) fn msg_retry<T: Send + 'static>(
    env: Env,
    name: &str,
    Pending { cancel, teardown }: Pending,
    work: impl FnOnce(&mut dyn FnMut(Duration) -> bool) -> JsResult<Polled<T>> + Send + 'static,
    undo: impl FnOnce(T) + Send + 'static,
    settle: impl FnOnce(Env, Polled<T>) -> JsResult<Value> + 'static,
) -> JsResult<Value> {
    spawn_on_thread(
        env,
        name,
        // The outer Ok: settle must run even on an error, to remove the hook.
        move || {
            Ok(work(&mut |step| cancel.pause(step)).map(|polled| match polled {
                Polled::Done(result) if cancel.torn_down.load(Ordering::Acquire) => {
                    undo(result);
                    Polled::Stopped
                }
                other => other,
            }))
        },
        move |env, polled: JsResult<Polled<T>>| {
            teardown.remove();
            settle(env, polled?)
        },
    )
}

/// A timeout in ms: Infinity (or undefined) waits forever, 0 tries once.
pub(super) fn deadline_arg(call: &CallInfo, index: usize) -> JsResult<Option<Deadline>> {
    let Some(arg) = call.arg(index, "timeout")?.optional()? else { return Ok(None) };
    let ms = arg.number()?;
    if ms.is_nan() || ms < 0.0 {
        let shown = if ms.is_infinite() { "-Infinity".to_string() } else { ms.to_string() };
        return Err(Error::out_of_range(arg.name, ">= 0", &shown));
    }
    // Past 1e15 ms (31,000 years) a deadline cannot be told from none.
    if !ms.is_finite() || ms > 1e15 {
        return Ok(None);
    }
    Ok(Some(Deadline::after(Duration::from_secs_f64(ms / 1000.0))))
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("queueWaitToken", wait_token)?.function("queueWaitCancel", wait_cancel)?;
    Ok(())
}
