//! Native objects owned by JS: type-tagged externals and external
//! ArrayBuffers, each freed by a finalizer when V8 collects it.

use super::{check, out_value, sys, Env, JsResult, Value, ValueType};
use std::ffi::c_void;

/// A Rust type that JS may hold as an opaque handle.
///
/// The tag is checked on every use, so a handle of another type (or one
/// forged by user code) is rejected with a TypeError instead of being cast.
pub trait Tagged: 'static {
    /// Shown in "must be a <NAME> handle"; also what the tag is derived
    /// from, so it must be unique among the addon's handle types.
    const NAME: &'static str;
    /// Derived from the crate and [`Tagged::NAME`], so no two types of this
    /// addon share one and nobody hand-picks (or copies) 128 bits.
    const TAG: sys::napi_type_tag = type_tag(env!("CARGO_PKG_NAME"), Self::NAME);
}

/// A 128-bit type tag for the handle type `name` of crate `namespace`: the
/// FNV-1a hash of `namespace`, a NUL, then `name`. Stable across builds,
/// so handles keep their tag for as long as their name.
pub const fn type_tag(namespace: &str, name: &str) -> sys::napi_type_tag {
    const OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    const fn feed(mut hash: u128, bytes: &[u8]) -> u128 {
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u128;
            hash = hash.wrapping_mul(PRIME);
            i += 1;
        }
        hash
    }
    let hash = feed(feed(feed(OFFSET_BASIS, namespace.as_bytes()), &[0]), name.as_bytes());
    sys::napi_type_tag { lower: hash as u64, upper: (hash >> 64) as u64 }
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
