//! libuv handles on an env's event loop: a poll (a descriptor became
//! readable), an async (another thread asks the loop to run something) and
//! a timer.
//!
//! Node-API hands out the env's `uv_loop_t` (napi_get_uv_event_loop) for
//! exactly this; the uv_* symbols are exported by the Node binary, and
//! libuv's ABI is stable across the 1.x versions every Node >= 20 ships.
//! Handles are allocated with `uv_handle_size`, so nothing here depends on
//! libuv's struct layouts. A handle runs a plain `fn()` when it fires: the
//! state it acts on belongs to the loop's thread, which is where the
//! callback runs.

use super::{check, sys, Env, Error, JsResult};
use std::ffi::{c_int, c_void};
use std::os::fd::RawFd;
use std::ptr::NonNull;

type UvHandleType = c_int;
const UV_ASYNC: UvHandleType = 1;
const UV_POLL: UvHandleType = 8;
const UV_TIMER: UvHandleType = 13;
const UV_READABLE: c_int = 1;

type UvCloseCb = Option<unsafe extern "C" fn(*mut c_void)>;

extern "C" {
    fn uv_default_loop() -> *mut sys::uv_loop_s;
    fn uv_handle_size(kind: UvHandleType) -> usize;
    fn uv_handle_set_data(handle: *mut c_void, data: *mut c_void);
    fn uv_handle_get_data(handle: *const c_void) -> *mut c_void;
    fn uv_close(handle: *mut c_void, close_cb: UvCloseCb);
    fn uv_ref(handle: *mut c_void);
    fn uv_unref(handle: *mut c_void);
    fn uv_poll_init(lp: *mut sys::uv_loop_s, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(
        handle: *mut c_void,
        events: c_int,
        cb: Option<unsafe extern "C" fn(*mut c_void, c_int, c_int)>,
    ) -> c_int;
    fn uv_async_init(
        lp: *mut sys::uv_loop_s,
        handle: *mut c_void,
        cb: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> c_int;
    fn uv_async_send(handle: *mut c_void) -> c_int;
    fn uv_timer_init(lp: *mut sys::uv_loop_s, handle: *mut c_void) -> c_int;
    fn uv_timer_start(
        handle: *mut c_void,
        cb: Option<unsafe extern "C" fn(*mut c_void)>,
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    fn uv_timer_stop(handle: *mut c_void) -> c_int;
}

impl Env {
    fn uv_loop(self) -> JsResult<*mut sys::uv_loop_s> {
        let mut lp = std::ptr::null_mut();
        // SAFETY: env is live; the out-pointer is valid.
        check(self.0, unsafe { sys::napi_get_uv_event_loop(self.0, &mut lp) })?;
        Ok(lp)
    }

    /// Whether this env runs on the main thread (its loop is libuv's
    /// default loop; every worker thread has a loop of its own).
    pub fn is_main_thread(self) -> JsResult<bool> {
        // SAFETY: uv_default_loop only returns libuv's static loop.
        Ok(self.uv_loop()? == unsafe { uv_default_loop() })
    }
}

fn uv_error(code: c_int, call: &str) -> Error {
    Error::internal(format!("{call} failed with libuv error {code}"))
}

/// A libuv handle owned by Rust until [`UvHandle::close`] gives it back to
/// the loop. Dropping one without closing it leaks it on purpose: freeing a
/// handle libuv still links would corrupt the loop.
pub struct UvHandle {
    raw: NonNull<c_void>,
}

unsafe extern "C" fn run_callback(handle: *mut c_void) {
    // SAFETY: the data of every handle made here is the fn() it fires.
    let callback: fn() = unsafe { std::mem::transmute::<*mut c_void, fn()>(uv_handle_get_data(handle)) };
    // A panic must not unwind into libuv's C frames.
    let _ = std::panic::catch_unwind(callback);
}

unsafe extern "C" fn run_poll_callback(handle: *mut c_void, _status: c_int, _events: c_int) {
    // SAFETY: as for run_callback; errors and readiness alike mean "look".
    unsafe { run_callback(handle) };
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: `close` stored the done callback (or null) as the data.
    let done = unsafe { uv_handle_get_data(handle) };
    // SAFETY: the handle was calloc'ed in UvHandle::alloc and libuv is done
    // with it (this is its close callback).
    unsafe { libc::free(handle) };
    if !done.is_null() {
        // SAFETY: a fn() stored by `close`.
        let done: fn() = unsafe { std::mem::transmute::<*mut c_void, fn()>(done) };
        let _ = std::panic::catch_unwind(done);
    }
}

impl UvHandle {
    fn alloc(kind: UvHandleType, callback: fn()) -> JsResult<UvHandle> {
        // SAFETY: uv_handle_size only reads a table.
        let size = unsafe { uv_handle_size(kind) };
        // SAFETY: plain allocation; libuv initialises the handle.
        let raw = NonNull::new(unsafe { libc::calloc(1, size) })
            .ok_or_else(|| Error::internal("out of memory for a libuv handle"))?;
        // SAFETY: the handle's user data is ours; fn pointers fit in a data
        // pointer on every platform Node runs on.
        unsafe { uv_handle_set_data(raw.as_ptr(), callback as *mut c_void) };
        Ok(UvHandle { raw })
    }

    /// Frees a handle that libuv never initialised.
    fn discard(self) {
        // SAFETY: not initialised, so libuv holds no reference to it.
        unsafe { libc::free(self.raw.as_ptr()) };
        std::mem::forget(self);
    }

    /// Calls `callback` on the loop's thread whenever `fd` is readable.
    pub fn poll_readable(env: Env, fd: RawFd, callback: fn()) -> JsResult<UvHandle> {
        let lp = env.uv_loop()?;
        let handle = UvHandle::alloc(UV_POLL, callback)?;
        // SAFETY: a fresh, zeroed handle of uv_handle_size(UV_POLL) bytes.
        let ret = unsafe { uv_poll_init(lp, handle.raw.as_ptr(), fd) };
        if ret != 0 {
            handle.discard();
            return Err(uv_error(ret, "uv_poll_init"));
        }
        // SAFETY: an initialised poll handle.
        let ret = unsafe { uv_poll_start(handle.raw.as_ptr(), UV_READABLE, Some(run_poll_callback)) };
        if ret != 0 {
            handle.close(None);
            return Err(uv_error(ret, "uv_poll_start"));
        }
        Ok(handle)
    }

    /// Calls `callback` on the loop's thread after [`AsyncSender::send`].
    pub fn async_handle(env: Env, callback: fn()) -> JsResult<UvHandle> {
        let lp = env.uv_loop()?;
        let handle = UvHandle::alloc(UV_ASYNC, callback)?;
        // SAFETY: a fresh, zeroed handle of uv_handle_size(UV_ASYNC) bytes.
        let ret = unsafe { uv_async_init(lp, handle.raw.as_ptr(), Some(run_callback)) };
        if ret != 0 {
            handle.discard();
            return Err(uv_error(ret, "uv_async_init"));
        }
        Ok(handle)
    }

    /// A timer that calls `callback` once started and due.
    pub fn timer(env: Env, callback: fn()) -> JsResult<UvHandle> {
        let lp = env.uv_loop()?;
        let handle = UvHandle::alloc(UV_TIMER, callback)?;
        // SAFETY: a fresh, zeroed handle of uv_handle_size(UV_TIMER) bytes.
        let ret = unsafe { uv_timer_init(lp, handle.raw.as_ptr()) };
        if ret != 0 {
            handle.discard();
            return Err(uv_error(ret, "uv_timer_init"));
        }
        Ok(handle)
    }

    /// (Re)starts a timer handle to fire once in `ms` milliseconds.
    pub fn start_timer(&self, ms: u64) {
        // SAFETY: an initialised timer handle (only `timer` makes those
        // callers use this on).
        unsafe { uv_timer_start(self.raw.as_ptr(), Some(run_callback), ms, 0) };
    }

    pub fn stop_timer(&self) {
        // SAFETY: as for start_timer.
        unsafe { uv_timer_stop(self.raw.as_ptr()) };
    }

    /// Whether the handle keeps the event loop alive.
    pub fn set_ref(&self, referenced: bool) {
        // SAFETY: an initialised handle.
        unsafe {
            if referenced {
                uv_ref(self.raw.as_ptr())
            } else {
                uv_unref(self.raw.as_ptr())
            }
        }
    }

    /// What another thread uses to wake an async handle.
    pub fn sender(&self) -> AsyncSender {
        AsyncSender(self.raw)
    }

    /// Gives the handle back to libuv, which frees it once closed; `done`
    /// (if any) then runs on the loop's thread.
    pub fn close(self, done: Option<fn()>) {
        let data = done.map_or(std::ptr::null_mut(), |f| f as *mut c_void);
        // SAFETY: an initialised handle, closed once (self is consumed); the
        // data now names the close callback's follow-up.
        unsafe {
            uv_handle_set_data(self.raw.as_ptr(), data);
            uv_close(self.raw.as_ptr(), Some(free_handle));
        }
        std::mem::forget(self);
    }
}

impl Drop for UvHandle {
    fn drop(&mut self) {
        // Not closed: leaked rather than freed under libuv (see the type).
    }
}

/// Wakes an async handle from any thread.
#[derive(Clone, Copy)]
pub struct AsyncSender(NonNull<c_void>);

// SAFETY: uv_async_send is the one libuv call documented as safe from any
// thread.
unsafe impl Send for AsyncSender {}
// SAFETY: as above.
unsafe impl Sync for AsyncSender {}

impl AsyncSender {
    /// # Safety
    /// The handle must not have been closed yet; callers guarantee it with
    /// a lock that `close` also takes (see engine/queue.rs).
    pub unsafe fn send(&self) {
        // SAFETY: per the contract the handle is live.
        unsafe { uv_async_send(self.0.as_ptr()) };
    }
}
