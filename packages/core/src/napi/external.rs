//! Native objects owned by JS: type-tagged externals and external
//! ArrayBuffers, each freed by a finalizer when V8 collects it.

use super::{check, out_value, sys, Env, JsResult, Value, ValueType};
use std::ffi::c_void;

/// A Rust type that JS may hold as an opaque handle.
///
/// The tag is checked on every use, so a handle of another type (or one
/// forged by user code) is rejected with a TypeError instead of being cast.
pub trait Tagged: 'static {
    /// Shown in "must be a <NAME> handle".
    const NAME: &'static str;
    /// Unique per type: pick 128 random bits.
    const TAG: sys::napi_type_tag;
}

unsafe extern "C" fn drop_box<T>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Box<T> leaked by Env::external, finalized once.
    drop(unsafe { Box::from_raw(data.cast::<T>()) });
}

impl Env {
    /// Moves `value` into a JS external; it is dropped when V8 collects it.
    pub fn external<T: Tagged>(self, value: T) -> JsResult<Value> {
        let data = Box::into_raw(Box::new(value));
        let result = out_value!(self.0, |v| sys::napi_create_external(
            self.0,
            data.cast(),
            Some(drop_box::<T>),
            std::ptr::null_mut(),
            &mut v
        ));
        let external = match result {
            Ok(v) => v,
            Err(e) => {
                // SAFETY: creation failed, so no finalizer owns `data`.
                drop(unsafe { Box::from_raw(data) });
                return Err(e);
            }
        };
        // SAFETY: env and external are live; the tag outlives the call.
        check(self.0, unsafe { sys::napi_type_tag_object(self.0, external.raw, &T::TAG) })?;
        Ok(external)
    }

    /// An ArrayBuffer over `len` bytes at `data`, which JS reads and writes in
    /// place. `on_collect` runs on the JS thread once V8 frees the buffer
    /// (also after it is detached).
    ///
    /// # Safety
    /// `data..data+len` must stay valid and writable until the buffer is
    /// detached or `on_collect` runs.
    pub unsafe fn external_arraybuffer<F: FnOnce(Env) + 'static>(
        self,
        data: *mut u8,
        len: usize,
        on_collect: F,
    ) -> JsResult<Value> {
        unsafe extern "C" fn finalize<F: FnOnce(Env)>(env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
            // SAFETY: `hint` is the Box<F> leaked below, finalized once.
            let f = unsafe { Box::from_raw(hint.cast::<F>()) };
            // A panic must not unwind into V8.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(Env(env))));
        }
        let hint = Box::into_raw(Box::new(on_collect));
        let result = out_value!(self.0, |v| sys::napi_create_external_arraybuffer(
            self.0,
            data.cast(),
            len,
            Some(finalize::<F>),
            hint.cast(),
            &mut v
        ));
        if result.is_err() {
            // SAFETY: creation failed, so no finalizer owns `hint`.
            drop(unsafe { Box::from_raw(hint) });
        }
        result
    }
}

/// The `T` behind a tagged external, or None for any other value.
pub(crate) fn unwrap<'a, T: Tagged>(value: Value) -> Option<&'a T> {
    if value.value_type().ok()? != ValueType::External {
        return None;
    }
    let mut ok = false;
    // SAFETY: env and value are live.
    let status = unsafe { sys::napi_check_object_type_tag(value.env, value.raw, &T::TAG, &mut ok) };
    if status != sys::napi_ok || !ok {
        return None;
    }
    let mut data: *mut c_void = std::ptr::null_mut();
    // SAFETY: the value is an external carrying T's tag, so its data is the
    // Box<T> made by Env::external. It lives while the JS value does, which
    // is at least the current call, and is only shared (&T) from here.
    unsafe {
        if sys::napi_get_value_external(value.env, value.raw, &mut data) != sys::napi_ok || data.is_null() {
            return None;
        }
        Some(&*data.cast::<T>())
    }
}
