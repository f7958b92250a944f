//! References to JS values across calls: strong ones that keep a value
//! alive, and weak ones that only find it again while V8 has not collected it.

use super::{check, out_value, sys, Env, JsResult, Value};

/// A JS value held beyond the call that produced it, until this is dropped.
///
/// Belongs to one env: it must be used and dropped on that env's thread
/// while the env lives (as [`Env::with_instance`] values are). Not `Send`.
pub struct Reference {
    env: sys::napi_env,
    raw: sys::napi_ref,
}

impl Reference {
    pub fn new(value: Value) -> JsResult<Reference> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: env and value are live; refcount 1 makes it strong.
        check(value.env, unsafe { sys::napi_create_reference(value.env, value.raw, 1, &mut raw) })?;
        Ok(Reference { env: value.env, raw })
    }

    /// The value, as a handle valid for the current call.
    pub fn value(&self, env: Env) -> JsResult<Value> {
        debug_assert_eq!(env.0, self.env, "a reference is used in its own env only");
        out_value!(env.0, |v| sys::napi_get_reference_value(env.0, self.raw, &mut v))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        // SAFETY: per the type's contract we are on the env's thread and the
        // env is live (or being torn down, which still allows deletion).
        unsafe { sys::napi_delete_reference(self.env, self.raw) };
    }
}

impl Env {
    /// Compiles and runs `source` (a constant the addon owns) in this env.
    pub fn run_script(self, source: &str) -> JsResult<Value> {
        let script = self.string(source)?;
        out_value!(self.0, |v| sys::napi_run_script(self.0, script.raw, &mut v))
    }

    /// A weak reference to `value`: it does not keep the value alive, and
    /// reads as None once V8 has collected it.
    pub fn weak_ref(self, value: Value) -> JsResult<WeakRef> {
        let mut raw: sys::napi_ref = std::ptr::null_mut();
        // SAFETY: env and value are live; refcount 0 makes the reference weak.
        check(self.0, unsafe { sys::napi_create_reference(self.0, value.raw, 0, &mut raw) })?;
        Ok(WeakRef { env: self.0, raw })
    }
}

/// A weak reference made by [`Env::weak_ref`]. It must be released with
/// [`WeakRef::delete`] on the JS thread of the env that made it; dropping it
/// without that leaks the reference until the env goes away.
#[derive(Debug)]
pub struct WeakRef {
    env: sys::napi_env,
    raw: sys::napi_ref,
}

// SAFETY: a WeakRef is only a token: it is dereferenced and deleted solely
// through `env` methods, which run on that env's JS thread. Other threads
// only move it around inside shared state.
unsafe impl Send for WeakRef {}
// SAFETY: as above; &WeakRef exposes nothing usable off the JS thread.
unsafe impl Sync for WeakRef {}

impl WeakRef {
    /// The value, if V8 has not collected it. None from another env.
    pub fn value(&self, env: Env) -> JsResult<Option<Value>> {
        if env.0 != self.env {
            return Ok(None);
        }
        let mut raw: sys::napi_value = std::ptr::null_mut();
        // SAFETY: the reference belongs to this live env.
        check(env.0, unsafe { sys::napi_get_reference_value(env.0, self.raw, &mut raw) })?;
        Ok((!raw.is_null()).then_some(Value { env: env.0, raw }))
    }

    /// Releases the reference.
    pub fn delete(self, env: Env) {
        if env.0 == self.env {
            // SAFETY: the reference belongs to this live env and is deleted once.
            unsafe { sys::napi_delete_reference(env.0, self.raw) };
        }
    }
}
