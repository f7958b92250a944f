//! Persistent references to JS values, and compiling a script: what a
//! native object that outlives one call needs to keep a JS value.

use super::{check, out_value, sys, Env, JsResult, Value};
use std::ptr;

impl Env {
    /// A strong reference to `value`, valid until [`Env::delete_reference`].
    pub fn reference(self, value: Value) -> JsResult<sys::napi_ref> {
        let mut reference = ptr::null_mut();
        // SAFETY: env and value are live.
        check(self.0, unsafe { sys::napi_create_reference(self.0, value.raw, 1, &mut reference) })?;
        Ok(reference)
    }

    pub fn reference_value(self, reference: sys::napi_ref) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_get_reference_value(self.0, reference, &mut v))
    }

    pub fn delete_reference(self, reference: sys::napi_ref) {
        // SAFETY: a reference made by this env, deleted once by the caller.
        unsafe { sys::napi_delete_reference(self.0, reference) };
    }

    /// Compiles and runs `source` (a constant the addon owns) in this env.
    pub fn run_script(self, source: &str) -> JsResult<Value> {
        let script = self.string(source)?;
        out_value!(self.0, |v| sys::napi_run_script(self.0, script.raw, &mut v))
    }
}
