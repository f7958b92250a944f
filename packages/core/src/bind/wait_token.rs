//! Cancellation of async waits: the [`WaitToken`] JS holds, and what the
//! waiting thread does with it.
//!
//! Async waits run on a dedicated thread each (`spawn_on_thread`), never on
//! libuv's pool. The thread sleeps in bounded slices and checks the token
//! between them, and the token's one atomic state decides the race between
//! "the wait went through" and "JS aborted": exactly one side wins, and a
//! unit taken after JS already rejected is given back.

use crate::napi::{Arg, CallInfo, CleanupHook, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::sem::{Deadline, Outcome};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

const PENDING: u8 = 0;
const CANCELLED: u8 = 1;
const SETTLED: u8 = 2;

/// Shared between JS (which may cancel) and the waiting thread (which may
/// settle). Whoever moves it off PENDING first wins.
pub struct WaitToken(Arc<AtomicU8>);

impl Tagged for WaitToken {
    const NAME: &'static str = "WaitToken";
}

/// What the waiting thread does with one token (or none).
#[derive(Clone)]
pub(super) struct Cancel(Option<Arc<AtomicU8>>);

impl Cancel {
    pub(super) fn requested(&self) -> bool {
        self.0.as_ref().map_or(false, |s| s.load(Ordering::Acquire) == CANCELLED)
    }

    /// Claims the result for JS. False means JS cancelled first, so nobody
    /// will see the result and it must be undone.
    fn settle(&self) -> bool {
        match &self.0 {
            None => true,
            Some(s) => s.compare_exchange(PENDING, SETTLED, Ordering::AcqRel, Ordering::Acquire).is_ok(),
        }
    }

    /// What a finished async wait resolves to: its error as it is, or else
    /// whether JS gets the unit. A unit taken after JS cancelled (or after
    /// the env went away) would be seen by nobody, so `give_back` undoes it.
    pub(super) fn resolve(
        &self,
        outcome: crate::os::Result<Outcome>,
        fail: impl Fn(crate::os::Error) -> Error,
        give_back: impl FnOnce() -> crate::os::Result<()>,
    ) -> JsResult<bool> {
        let outcome = outcome.map_err(&fail)?;
        let settled = self.settle();
        match outcome {
            Outcome::Acquired if settled => Ok(true),
            Outcome::Acquired => give_back().map(|()| false).map_err(fail),
            Outcome::TimedOut | Outcome::Stopped => Ok(false),
        }
    }
}

pub(super) fn token_arg(call: &CallInfo, index: usize) -> JsResult<Cancel> {
    Ok(Cancel(match call.arg(index, "token")?.optional()? {
        None => None,
        Some(arg) => Some(Arc::clone(&arg.external::<WaitToken>()?.0)),
    }))
}

/// semWaitToken(): a fresh cancellation token for one async wait.
fn wait_token(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.external(WaitToken(Arc::new(AtomicU8::new(PENDING))))
}

/// semWaitCancel(token): true if the wait is now cancelled (JS rejects),
/// false if it already went through or ended (JS takes its result).
fn wait_cancel(env: Env, call: &CallInfo) -> JsResult<Value> {
    let token = call.handle::<WaitToken>(0, "token")?;
    let won = token.0.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok();
    env.boolean(won)
}

/// The cancellation state of one async wait: the caller's token if there is
/// one (then the wait sleeps in slices so it notices a cancel), else a
/// private one only env teardown can cancel. The guard cancels the wait if
/// its env (a worker thread) goes away first, so the waiting thread gives
/// back a unit nobody could receive any more; drop it once the wait settled.
pub(super) fn wait_state(env: Env, call: &CallInfo, index: usize) -> JsResult<(Cancel, bool, CleanupHook)> {
    let token = token_arg(call, index)?;
    let sliced = token.0.is_some();
    let state = token.0.unwrap_or_else(|| Arc::new(AtomicU8::new(PENDING)));
    let on_teardown = Arc::clone(&state);
    let guard = env.on_teardown(move || {
        let _ = on_teardown.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire);
    })?;
    Ok((Cancel(Some(state)), sliced, guard))
}

/// A timeout in ms: Infinity (or undefined) waits forever.
pub(super) fn deadline_arg(arg: Arg) -> JsResult<Option<Deadline>> {
    let Some(arg) = arg.optional()? else { return Ok(None) };
    let ms = arg.number()?;
    if ms.is_nan() || ms < 0.0 {
        return Err(Error::out_of_range(arg.name, ">= 0", &format!("{ms}")));
    }
    if !ms.is_finite() || ms > 1e15 {
        return Ok(None);
    }
    Ok(Some(Deadline::after(Duration::from_secs_f64(ms / 1000.0))))
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("semWaitToken", wait_token)?
        .function("semWaitCancel", wait_cancel)?;
    Ok(())
}
