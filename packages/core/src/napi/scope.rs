//! Running JS-facing work from the event loop, as Node runs its own
//! callbacks: inside a handle scope (for the values made) and a callback
//! scope, which drains the microtask queue when it closes, so promises
//! settled from a libuv callback run their reactions at once instead of
//! whenever some other callback happens to run.

use super::{check, sys, Env, JsResult, Value};
use std::ptr;

/// The async context of one kind of native callback (its name shows in
/// async_hooks); one per env.
pub struct AsyncContext {
    resource: sys::napi_ref,
    context: sys::napi_async_context,
}

impl AsyncContext {
    pub fn new(env: Env, name: &str) -> JsResult<AsyncContext> {
        let resource = env.object()?;
        let name = env.string(name)?;
        let mut context = ptr::null_mut();
        // SAFETY: env is live; resource and name are values of this call.
        check(env.0, unsafe { sys::napi_async_init(env.0, resource.raw, name.raw, &mut context) })?;
        let mut reference = ptr::null_mut();
        // SAFETY: as above; the reference keeps the resource alive.
        let made = check(env.0, unsafe { sys::napi_create_reference(env.0, resource.raw, 1, &mut reference) });
        if let Err(e) = made {
            // SAFETY: the context was made above and is destroyed once.
            unsafe { sys::napi_async_destroy(env.0, context) };
            return Err(e);
        }
        Ok(AsyncContext { resource: reference, context })
    }

    /// Runs `f` from a libuv callback on `env`'s thread, then lets Node run
    /// the microtasks it queued. Errors opening the scopes (the env is being
    /// torn down) skip `f`.
    pub fn run(&self, env: Env, f: impl FnOnce()) {
        let mut handles = ptr::null_mut();
        // SAFETY: on the env's own thread, outside any other Node-API call.
        if unsafe { sys::napi_open_handle_scope(env.0, &mut handles) } != sys::napi_ok {
            return;
        }
        let mut resource = ptr::null_mut();
        let mut scope = ptr::null_mut();
        // SAFETY: the reference is live until `destroy`; the scope is closed
        // below before the handle scope.
        let opened = unsafe {
            sys::napi_get_reference_value(env.0, self.resource, &mut resource) == sys::napi_ok
                && sys::napi_open_callback_scope(env.0, resource, self.context, &mut scope) == sys::napi_ok
        };
        if opened {
            f();
            // SAFETY: the scope opened above, closed once.
            unsafe { sys::napi_close_callback_scope(env.0, scope) };
        }
        // SAFETY: the handle scope opened above, closed once.
        unsafe { sys::napi_close_handle_scope(env.0, handles) };
    }

    /// Releases the context (env teardown).
    pub fn destroy(self, env: Env) {
        // SAFETY: both were made in `new` for this env and are released once.
        unsafe {
            sys::napi_async_destroy(env.0, self.context);
            sys::napi_delete_reference(env.0, self.resource);
        }
    }
}

/// The resolving end of a promise made by [`Env::promise`].
pub struct Deferred(sys::napi_deferred);

impl Env {
    /// A new promise and the deferred that settles it.
    pub fn promise(self) -> JsResult<(Deferred, Value)> {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: env is live; both out-pointers are valid.
        check(self.0, unsafe { sys::napi_create_promise(self.0, &mut deferred, &mut promise) })?;
        Ok((Deferred(deferred), Value { env: self.0, raw: promise }))
    }
}

impl Deferred {
    pub fn resolve(self, env: Env, value: Value) {
        // SAFETY: a deferred is settled exactly once (self is consumed), on
        // its env's thread.
        unsafe { sys::napi_resolve_deferred(env.0, self.0, value.raw) };
    }

    pub fn reject(self, env: Env, error: Value) {
        // SAFETY: as for resolve.
        unsafe { sys::napi_reject_deferred(env.0, self.0, error.raw) };
    }

    /// Forgets a deferred whose env is gone (nothing can settle it and
    /// Node frees it with the env).
    pub fn abandon(self) {}
}
