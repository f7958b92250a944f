//! Env teardown hooks, as guards: work to do if a worker thread (or the
//! main thread) ends before something it started has finished.
//!
//! - [`Env::on_teardown`]: a closure that runs during teardown unless its
//!   [`CleanupHook`] is dropped first (`napi_add_env_cleanup_hook`).
//! - [`Env::on_teardown_async`]: the same, for cleanup that has to finish
//!   later (closing a libuv handle, joining a thread): teardown waits until
//!   the hook's [`TeardownDone`] is dropped (`napi_add_async_cleanup_hook`,
//!   Node-API 8).
//!
//! Both guards are neither `Send` nor `Sync`: they are made and dropped on
//! the env's thread, while the env lives. A guard moved into a promise's
//! settle closure meets that rule, because those closures only run or drop
//! on the JS thread (or are leaked when the env is gone).

use super::{check, sys, Env, Error, JsResult};
use std::cell::RefCell;
use std::ffi::c_void;
use std::rc::Rc;

/// The closure a hook runs, shared by the hook and its guard: whichever
/// comes first takes it.
type Pending<A> = Rc<RefCell<Option<Box<dyn FnOnce(A)>>>>;

fn take<A>(pending: &Pending<A>) -> Option<Box<dyn FnOnce(A)>> {
    pending.borrow_mut().take()
}

/// Hands the hook's own reference to `pending` to Node as its argument.
fn leak<A>(pending: &Pending<A>) -> *mut c_void {
    Rc::into_raw(Rc::clone(pending)).cast_mut().cast()
}

/// # Safety
/// `arg` came from [`leak`] for this `A`, and Node will not pass it on again.
unsafe fn reclaim<A>(arg: *mut c_void) -> Pending<A> {
    // SAFETY: as the contract says.
    unsafe { Rc::from_raw(arg.cast_const().cast()) }
}

/// Unregisters its hook when dropped, unless the hook already ran.
#[must_use = "dropping the guard unregisters the hook at once"]
pub struct CleanupHook {
    env: sys::napi_env,
    pending: Pending<()>,
    arg: *mut c_void,
}

unsafe extern "C" fn run_hook(arg: *mut c_void) {
    // SAFETY: Node calls a hook at most once, with the arg it was added with.
    let pending = unsafe { reclaim::<()>(arg) };
    if let Some(f) = take(&pending) {
        // A panic must not unwind into Node.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(())));
    }
}

impl Env {
    /// Runs `f` once, during this env's teardown, unless the returned guard
    /// is dropped before. Hooks run in reverse order of registration.
    pub fn on_teardown(self, f: impl FnOnce() + 'static) -> JsResult<CleanupHook> {
        let pending: Pending<()> = Rc::new(RefCell::new(Some(Box::new(move |()| f()))));
        let arg = leak(&pending);
        // SAFETY: env is live; `arg` stays valid until the hook runs or the
        // guard unregisters it, whichever is first.
        let status = unsafe { sys::napi_add_env_cleanup_hook(self.0, Some(run_hook), arg) };
        if status != sys::napi_ok {
            // SAFETY: not registered, so Node never saw `arg`.
            drop(unsafe { reclaim::<()>(arg) });
            return Err(Error::internal("napi_add_env_cleanup_hook failed"));
        }
        Ok(CleanupHook { env: self.0, pending, arg })
    }
}

impl CleanupHook {
    /// The same as dropping the guard: the hook will not run.
    pub fn remove(self) {}
}

impl Drop for CleanupHook {
    fn drop(&mut self) {
        if take(&self.pending).is_none() {
            // The hook ran and dropped its own reference.
            return;
        }
        // SAFETY: on the env's thread while it lives (see the module
        // documentation); same hook and arg as added. Removing during
        // teardown is allowed and keeps the hook from running.
        unsafe { sys::napi_remove_env_cleanup_hook(self.env, Some(run_hook), self.arg) };
        // SAFETY: unregistered, so Node will not pass `arg` on again.
        drop(unsafe { reclaim::<()>(self.arg) });
    }
}

/// Lets the env's teardown go on. Dropping it (or calling
/// [`TeardownDone::done`]) tells Node the async cleanup has finished; it
/// must happen on the env's thread, possibly in a later callback.
pub struct TeardownDone {
    handle: sys::napi_async_cleanup_hook_handle,
}

impl TeardownDone {
    pub fn done(self) {}
}

impl Drop for TeardownDone {
    fn drop(&mut self) {
        // SAFETY: the handle of a hook that has started; removed once.
        unsafe { sys::napi_remove_async_cleanup_hook(self.handle) };
    }
}

/// Unregisters its async hook when dropped, unless the hook has started.
#[must_use = "dropping the guard unregisters the hook at once"]
pub struct AsyncCleanupHook {
    handle: sys::napi_async_cleanup_hook_handle,
    pending: Pending<TeardownDone>,
    arg: *mut c_void,
}

unsafe extern "C" fn run_async_hook(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
    // SAFETY: Node calls a hook at most once, with the arg it was added with.
    let pending = unsafe { reclaim::<TeardownDone>(arg) };
    let done = TeardownDone { handle };
    match take(&pending) {
        // If `f` panics, `done` is dropped while unwinding, so teardown
        // still goes on.
        Some(f) => {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || f(done)));
        }
        None => drop(done),
    }
}

impl Env {
    /// Runs `f` during this env's teardown, unless the returned guard is
    /// dropped before; teardown then waits until `f`'s [`TeardownDone`] is
    /// dropped, so `f` can hand it to whatever finishes the cleanup later.
    pub fn on_teardown_async(self, f: impl FnOnce(TeardownDone) + 'static) -> JsResult<AsyncCleanupHook> {
        let pending: Pending<TeardownDone> = Rc::new(RefCell::new(Some(Box::new(f))));
        let arg = leak(&pending);
        let mut handle = std::ptr::null_mut();
        // SAFETY: env is live; `arg` stays valid until the hook runs or the
        // guard unregisters it; `handle` is a valid out-pointer.
        let added =
            check(self.0, unsafe { sys::napi_add_async_cleanup_hook(self.0, Some(run_async_hook), arg, &mut handle) });
        if let Err(e) = added {
            // SAFETY: not registered, so Node never saw `arg`.
            drop(unsafe { reclaim::<TeardownDone>(arg) });
            return Err(e);
        }
        Ok(AsyncCleanupHook { handle, pending, arg })
    }
}

impl AsyncCleanupHook {
    /// The same as dropping the guard: the hook will not run.
    pub fn remove(self) {}
}

impl Drop for AsyncCleanupHook {
    fn drop(&mut self) {
        if take(&self.pending).is_none() {
            // The hook has started and owns the handle (its TeardownDone).
            return;
        }
        // SAFETY: on the env's thread while it lives; the hook has not run,
        // so the handle is still registered and removed once, here.
        unsafe { sys::napi_remove_async_cleanup_hook(self.handle) };
        // SAFETY: unregistered, so Node will not pass `arg` on again.
        drop(unsafe { reclaim::<TeardownDone>(self.arg) });
    }
}
