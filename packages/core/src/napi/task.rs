//! Promises for work that must not run on the JS thread.
//!
//! Two ways to run it:
//! - [`spawn_on_pool`]: libuv's thread pool, for short bounded work (msync).
//! - [`spawn_on_thread`]: a dedicated thread, for waits of unbounded length,
//!   so that many pending waits never starve the pool fs and dns rely on.
//!
//! In both, `work` runs off the JS thread and `settle` runs back on it to
//! turn the result into the value the promise resolves with.

use super::{check, sys, Env, Error, JsResult, SystemError, Value};
use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

type Work<T> = Box<dyn FnOnce() -> JsResult<T> + Send>;
type Settle<T> = Box<dyn FnOnce(Env, T) -> JsResult<Value>>;

struct Task<T> {
    deferred: sys::napi_deferred,
    work: Option<Work<T>>,
    settle: Option<Settle<T>>,
    result: Option<JsResult<T>>,
    async_work: sys::napi_async_work,
}

impl<T> Task<T> {
    fn run(&mut self) {
        if let Some(work) = self.work.take() {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            self.result = Some(outcome.unwrap_or_else(|_| Err(Error::internal("native panic in background work"))));
        }
    }

    /// Resolves or rejects the promise. Runs on the JS thread.
    fn finish(mut self, env: Env) {
        let result = self.result.take().unwrap_or_else(|| Err(Error::internal("background work did not run")));
        let settle = self.settle.take();
        let value = result.and_then(|t| match settle {
            Some(settle) => settle(env, t),
            None => env.undefined(),
        });
        // SAFETY: the deferred is settled exactly once, here, on the JS thread.
        unsafe {
            match value {
                Ok(v) => {
                    sys::napi_resolve_deferred(env.0, self.deferred, v.raw);
                }
                Err(e) => {
                    let rejection = e.to_js(env).or_else(|_| Error::internal("failed to build the error").to_js(env));
                    if let Ok(r) = rejection {
                        sys::napi_reject_deferred(env.0, self.deferred, r.raw);
                    }
                }
            }
        }
    }
}

fn create_promise(env: Env) -> JsResult<(sys::napi_deferred, Value)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: env is live; both out-pointers are valid.
    check(env.0, unsafe { sys::napi_create_promise(env.0, &mut deferred, &mut promise) })?;
    Ok((deferred, Value { env: env.0, raw: promise }))
}

/// Runs `work` on libuv's thread pool and returns a promise settled with
/// `settle(result)`.
pub fn spawn_on_pool<T: Send + 'static>(
    env: Env,
    name: &str,
    work: impl FnOnce() -> JsResult<T> + Send + 'static,
    settle: impl FnOnce(Env, T) -> JsResult<Value> + 'static,
) -> JsResult<Value> {
    unsafe extern "C" fn execute<T>(_env: sys::napi_env, data: *mut c_void) {
        // SAFETY: data is the Task<T> leaked below; the pool thread has it to
        // itself until `complete` runs.
        unsafe { (*data.cast::<Task<T>>()).run() };
    }
    unsafe extern "C" fn complete<T>(env: sys::napi_env, _status: sys::napi_status, data: *mut c_void) {
        // SAFETY: execute has finished (or was cancelled); we own the Task now.
        let task = unsafe { Box::from_raw(data.cast::<Task<T>>()) };
        let work = task.async_work;
        task.finish(Env(env));
        // SAFETY: the work item is done and deleted exactly once.
        unsafe { sys::napi_delete_async_work(env, work) };
    }

    let (deferred, promise) = create_promise(env)?;
    let task = Box::into_raw(Box::new(Task::<T> {
        deferred,
        work: Some(Box::new(work)),
        settle: Some(Box::new(settle)),
        result: None,
        async_work: ptr::null_mut(),
    }));
    let resource_name = env.string(name)?;
    // SAFETY: env is live; `task` stays valid until `complete` frees it.
    let created = check(env.0, unsafe {
        sys::napi_create_async_work(
            env.0,
            ptr::null_mut(),
            resource_name.raw,
            Some(execute::<T>),
            Some(complete::<T>),
            task.cast(),
            &mut (*task).async_work,
        )
    });
    // SAFETY: on success the work item is queued and will call `complete`.
    let queued = created.and_then(|()| check(env.0, unsafe { sys::napi_queue_async_work(env.0, (*task).async_work) }));
    if let Err(e) = queued {
        // SAFETY: nothing else references the task when queueing failed.
        let task = unsafe { Box::from_raw(task) };
        task.finish_with_error(env, e);
    }
    Ok(promise)
}

impl<T> Task<T> {
    fn finish_with_error(mut self, env: Env, error: Error) {
        self.work = None;
        self.result = Some(Err(error));
        if !self.async_work.is_null() {
            // SAFETY: created but never queued; deleted once.
            unsafe { sys::napi_delete_async_work(env.0, self.async_work) };
            self.async_work = ptr::null_mut();
        }
        self.finish(env);
    }
}

struct ThreadTask<T> {
    task: Task<T>,
    tsfn: sys::napi_threadsafe_function,
    gate: Arc<TsfnGate>,
}

/// Whether the threadsafe function may still be called. Node frees it when
/// its env is torn down (a worker terminated while a wait is pending); its
/// finalizer closes the gate first, and the worker thread calls it only with
/// the gate open and held, so it never touches freed memory.
struct TsfnGate(Mutex<bool>);

unsafe extern "C" fn close_gate(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Arc<TsfnGate> leaked in spawn_on_thread for this
    // finalizer, which Node runs once.
    let gate = unsafe { Arc::from_raw(data.cast_const().cast::<TsfnGate>()) };
    *gate.0.lock().unwrap_or_else(|p| p.into_inner()) = false;
}

struct SendPtr<P>(*mut P);
// SAFETY: the pointer is handed from the JS thread to one worker thread and
// back; only one side touches the pointee at a time.
unsafe impl<P> Send for SendPtr<P> {}

/// Stack for wait threads: they only sit in a syscall.
const WAIT_THREAD_STACK: usize = 256 * 1024;

/// Runs `work` on a dedicated thread and returns a promise settled with
/// `settle(result)` on the JS thread. Pending work keeps the event loop
/// alive, like a pending timer.
pub fn spawn_on_thread<T: Send + 'static>(
    env: Env,
    name: &str,
    work: impl FnOnce() -> JsResult<T> + Send + 'static,
    settle: impl FnOnce(Env, T) -> JsResult<Value> + 'static,
) -> JsResult<Value> {
    unsafe extern "C" fn call_js<T>(
        env: sys::napi_env,
        _js_cb: sys::napi_value,
        _context: *mut c_void,
        data: *mut c_void,
    ) {
        // SAFETY: data is the ThreadTask<T> the worker passed back, once.
        let task = unsafe { Box::from_raw(data.cast::<ThreadTask<T>>()) };
        let tsfn = task.tsfn;
        if !env.is_null() {
            task.task.finish(Env(env));
        }
        // SAFETY: one release per acquire (the initial thread count of 1).
        unsafe { sys::napi_release_threadsafe_function(tsfn, sys::napi_tsfn_release) };
    }

    let (deferred, promise) = create_promise(env)?;
    let resource_name = env.string(name)?;
    let mut tsfn = ptr::null_mut();
    let gate = Arc::new(TsfnGate(Mutex::new(true)));
    let gate_for_finalizer = Arc::into_raw(Arc::clone(&gate)).cast_mut().cast::<c_void>();
    // SAFETY: env is live; a null JS function is allowed with call_js.
    let created = check(env.0, unsafe {
        sys::napi_create_threadsafe_function(
            env.0,
            ptr::null_mut(),
            ptr::null_mut(),
            resource_name.raw,
            0,
            1,
            gate_for_finalizer,
            Some(close_gate),
            ptr::null_mut(),
            Some(call_js::<T>),
            &mut tsfn,
        )
    });
    if let Err(e) = created {
        // SAFETY: no tsfn, so no finalizer owns the leaked Arc.
        drop(unsafe { Arc::from_raw(gate_for_finalizer.cast_const().cast::<TsfnGate>()) });
        return Err(e);
    }
    let boxed = Box::into_raw(Box::new(ThreadTask {
        task: Task {
            deferred,
            work: Some(Box::new(work)),
            settle: Some(Box::new(settle)),
            result: None,
            async_work: ptr::null_mut(),
        },
        tsfn,
        gate,
    }));
    let handoff = SendPtr(boxed);
    let spawned =
        std::thread::Builder::new().name("shmkit-wait".into()).stack_size(WAIT_THREAD_STACK).spawn(move || {
            let handoff = handoff;
            let ptr = handoff.0;
            // SAFETY: this thread owns the task until it passes it back below.
            unsafe { (*ptr).task.run() };
            // SAFETY: the task is still ours; the gate outlives it (own Arc).
            let gate = unsafe { Arc::clone(&(*ptr).gate) };
            let open = gate.0.lock().unwrap_or_else(|p| p.into_inner());
            if *open {
                // SAFETY: the gate is open and held, so Node has not freed the
                // tsfn and cannot until we let go. The queue is unbounded, so a
                // nonblocking call only fails while the env is being torn down,
                // in which case the task is leaked rather than touched.
                unsafe { sys::napi_call_threadsafe_function((*ptr).tsfn, ptr.cast(), sys::napi_tsfn_nonblocking) };
            }
            // A closed gate: the env is gone and so is anyone to settle for; the
            // task is leaked rather than dropped off the JS thread.
        });
    if let Err(e) = spawned {
        // SAFETY: the thread never started, so we still own the task.
        let task = unsafe { Box::from_raw(boxed) };
        // SAFETY: release the tsfn we created; nothing else holds it.
        unsafe { sys::napi_release_threadsafe_function(task.tsfn, sys::napi_tsfn_release) };
        let error = SystemError::from_errno(e.raw_os_error().unwrap_or(libc::EAGAIN), "pthread_create");
        task.task.finish_with_error(env, error.into());
    }
    Ok(promise)
}
