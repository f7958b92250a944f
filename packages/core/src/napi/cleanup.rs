//! Running native teardown when an env (a worker thread, or the main
//! thread at exit) goes away.

use super::{check, sys, Env, JsResult};
use std::ffi::c_void;

/// The handle of an async cleanup hook that is running: Node keeps the env's
/// loop turning until [`AsyncCleanup::finish`] is called, so the hook may
/// close libuv handles and wait for their close callbacks.
pub struct AsyncCleanup(sys::napi_async_cleanup_hook_handle);

impl AsyncCleanup {
    /// Tells Node this hook is done.
    pub fn finish(self) {
        // SAFETY: the handle Node passed to the hook, removed once.
        unsafe { sys::napi_remove_async_cleanup_hook(self.0) };
    }
}

unsafe extern "C" fn run_async_hook(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
    // SAFETY: `arg` is the fn registered in on_teardown_async.
    let hook: fn(AsyncCleanup) = unsafe { std::mem::transmute::<*mut c_void, fn(AsyncCleanup)>(arg) };
    let cleanup = AsyncCleanup(handle);
    // A panic must not unwind into Node; the hook is then never finished,
    // which Node reports rather than freeing what the hook still uses.
    let _ = std::panic::catch_unwind(move || hook(cleanup));
}

impl Env {
    /// Runs `hook` on this env's thread when the env is torn down; the hook
    /// must eventually call [`AsyncCleanup::finish`].
    pub fn on_teardown_async(self, hook: fn(AsyncCleanup)) -> JsResult<()> {
        let mut handle = std::ptr::null_mut();
        // SAFETY: env is live; a fn pointer fits the hook's data pointer.
        check(self.0, unsafe { sys::napi_add_async_cleanup_hook(self.0, Some(run_async_hook), hook as *mut c_void, &mut handle) })
    }
}
