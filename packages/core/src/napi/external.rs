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
    /// When creation fails, `on_collect` may still run later or never:
    /// Node builds the buffer with `node::Buffer::New`, which on refusing it
    /// (more than [`Env::max_arraybuffer_len`] bytes) schedules the finalizer
    /// itself. So the closure is left to Node and must be harmless to run for
    /// a buffer that never existed; at worst it leaks with its captures.
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
        // On failure `hint` is not freed here: Node may still finalize it
        // (see above), and freeing it twice is what crashed the process.
        result
    }

    /// A Buffer that takes over `bytes` (freed when V8 collects it). More
    /// than [`Env::max_arraybuffer_len`] bytes fail with Node's
    /// ERR_BUFFER_TOO_LARGE.
    pub fn buffer_from_vec(self, bytes: Vec<u8>) -> JsResult<Value> {
        unsafe extern "C" fn free_vec(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
            // SAFETY: `hint` is the Box<Vec<u8>> leaked below, finalized once.
            drop(unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) });
        }
        if bytes.len() > self.max_arraybuffer_len() {
            return Err(super::Error::Range {
                code: "ERR_BUFFER_TOO_LARGE",
                message: format!("Cannot create a Buffer larger than {} bytes", self.max_arraybuffer_len()),
            });
        }
        let mut bytes = Box::new(bytes);
        let (data, len) = (bytes.as_mut_ptr(), bytes.len());
        let hint = Box::into_raw(bytes);
        // Like external_arraybuffer, a failed creation leaves `hint` to
        // Node's finalizer (or leaks it): never freed here.
        out_value!(self.0, |v| sys::napi_create_external_buffer(
            self.0,
            len,
            data.cast(),
            Some(free_vec),
            hint.cast(),
            &mut v
        ))
    }

    /// The largest ArrayBuffer [`Env::external_arraybuffer`] can make:
    /// Node's `buffer.constants.MAX_LENGTH`, which is 2^32 bytes on 64-bit
    /// Node 20 and 21 and 2^53 - 1 from Node 22 (nodejs/node#52465).
    pub fn max_arraybuffer_len(self) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CACHED: AtomicUsize = AtomicUsize::new(0);
        let cached = CACHED.load(Ordering::Relaxed);
        if cached != 0 {
            return cached;
        }
        let mut version: *const sys::napi_node_version = std::ptr::null();
        // SAFETY: env is live; Node points `version` at a static struct.
        let major = unsafe {
            if sys::napi_get_node_version(self.0, &mut version) == sys::napi_ok && !version.is_null() {
                (*version).major
            } else {
                0
            }
        };
        let max = if cfg!(target_pointer_width = "32") {
            (1usize << 30) - 1
        } else if major >= 22 {
            ((1u64 << 53) - 1) as usize
        } else {
            1usize << 32
        };
        CACHED.store(max, Ordering::Relaxed);
        max
    }
}

impl Value {
    /// Marks an object with `tag` (once per object), so that
    /// [`Value::has_tag`] can later tell this very object from any other.
    pub fn tag(self, tag: &sys::napi_type_tag) -> JsResult<()> {
        // SAFETY: env and value are live; Node copies the tag.
        check(self.env, unsafe { sys::napi_type_tag_object(self.env, self.raw, tag) })
    }

    /// True when the value is an object marked with exactly `tag`.
    pub fn has_tag(self, tag: &sys::napi_type_tag) -> JsResult<bool> {
        if !matches!(self.value_type()?, ValueType::Object | ValueType::Function) {
            return Ok(false);
        }
        let mut ok = false;
        // SAFETY: env and value are live; the value is an object.
        check(self.env, unsafe { sys::napi_check_object_type_tag(self.env, self.raw, tag, &mut ok) })?;
        Ok(ok)
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
