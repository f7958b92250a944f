//! Strong references that keep a JS value alive across calls.

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
}
