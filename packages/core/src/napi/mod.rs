//! A small, safe layer over Node-API, in the spirit of napi-rs.
//!
//! Everything that touches `napi_*` lives under this module, so moving to the
//! napi crates later replaces this folder and the bindings' signatures only.
//! It knows nothing of shmkit: no `crate::os`, no `crate::bind`, no shmkit
//! error codes (the addon names its internal-error code in
//! [`napi_module!`](crate::napi_module)).
//! `Env` and `Value` are plain copies of the raw handles: they are valid for
//! the duration of the native call (or finalizer) that produced them, which is
//! how every binding uses them.

pub mod sys;

mod args;
mod cleanup;
mod error;
mod external;
mod hooks;
mod instance;
mod reference;
mod scope;
mod system_errors;
mod task;
mod uv;

pub use args::{format_number, Arg, ArgKind, CallInfo, TypedArrayKind, TypedArrayView, MAX_SAFE_INTEGER};
pub use cleanup::{AsyncCleanupHook, CleanupHook, TeardownDone};
#[doc(hidden)]
pub use error::set_internal_code;
pub use error::{Error, JsResult, Property, SystemError};
pub use external::{type_tag, Tagged};
pub use reference::{Reference, WeakRef};
pub use scope::{AsyncContext, Deferred};
pub use system_errors::{set_system_error_texts, system_error_text};
pub use task::{spawn_on_pool, spawn_on_thread};
pub use uv::{AsyncSender, UvHandle};

use std::ffi::{c_char, c_void, CString};
use std::ptr;

/// The environment of the current Node-API call.
#[derive(Clone, Copy)]
pub struct Env(pub(crate) sys::napi_env);

/// A JS value, valid while the call that produced it runs.
#[derive(Clone, Copy)]
pub struct Value {
    pub(crate) env: sys::napi_env,
    pub(crate) raw: sys::napi_value,
}

/// A binding function item: `fn(Env, &CallInfo) -> JsResult<Value>` named
/// directly. Fn items are zero-sized types, one per function, which is what
/// lets [`Env::function`] give each its own trampoline.
pub trait Binding: Fn(Env, &CallInfo) -> JsResult<Value> + Copy + 'static {}
impl<F: Fn(Env, &CallInfo) -> JsResult<Value> + Copy + 'static> Binding for F {}

/// Checks a napi_status. A failing call either left a JS exception pending
/// (then we propagate that) or is a bug in the glue.
// Every Node-API call goes through here, so the success test is inlined and
// the error path kept out of line: on the hot path this is one compare.
#[inline(always)]
pub(crate) fn check(env: sys::napi_env, status: sys::napi_status) -> JsResult<()> {
    if status == sys::napi_ok {
        Ok(())
    } else {
        check_failed(env, status)
    }
}

#[cold]
#[inline(never)]
fn check_failed(env: sys::napi_env, status: sys::napi_status) -> JsResult<()> {
    if status == sys::napi_pending_exception || exception_pending(env) {
        return Err(Error::Pending);
    }
    let mut info: *const sys::napi_extended_error_info = ptr::null();
    // SAFETY: env is live; napi_get_last_error_info only reads env state.
    let message = unsafe {
        if sys::napi_get_last_error_info(env, &mut info) == sys::napi_ok
            && !info.is_null()
            && !(*info).error_message.is_null()
        {
            std::ffi::CStr::from_ptr((*info).error_message).to_string_lossy().into_owned()
        } else {
            format!("Node-API call failed with status {status}")
        }
    };
    Err(Error::internal(message))
}

/// Whether JS code the failed call ran (a getter, a Proxy trap, a
/// `valueOf`) threw. Some Node-API calls then report a generic failure
/// rather than `napi_pending_exception`; the user's exception must win over
/// an "internal error" of ours.
fn exception_pending(env: sys::napi_env) -> bool {
    let mut pending = false;
    // SAFETY: env is the live env of this call; the out-pointer is a local.
    let status = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    status == sys::napi_ok && pending
}

/// Calls a `napi_create_*`-style function that writes one napi_value.
macro_rules! out_value {
    ($env:expr, |$out:ident| $call:expr) => {{
        let mut $out: sys::napi_value = ::std::ptr::null_mut();
        // SAFETY: env is the live env of this call and $out is a valid slot.
        let status = unsafe { $call };
        $crate::napi::check($env, status).map(|()| $crate::napi::Value { env: $env, raw: $out })
    }};
}
pub(crate) use out_value;

fn c_name(name: &str) -> CString {
    CString::new(name).unwrap_or_else(|_| CString::new("anonymous").unwrap())
}

impl Env {
    pub fn raw(self) -> sys::napi_env {
        self.0
    }

    pub fn undefined(self) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_get_undefined(self.0, &mut v))
    }

    pub fn null(self) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_get_null(self.0, &mut v))
    }

    pub fn boolean(self, b: bool) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_get_boolean(self.0, b, &mut v))
    }

    pub fn number(self, n: f64) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_double(self.0, n, &mut v))
    }

    pub fn int32(self, n: i32) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_int32(self.0, n, &mut v))
    }

    pub fn uint32(self, n: u32) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_uint32(self.0, n, &mut v))
    }

    /// A whole number that the caller knows is at most 2^53 - 1.
    pub fn int64(self, n: i64) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_int64(self.0, n, &mut v))
    }

    pub fn bigint_u64(self, n: u64) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_bigint_uint64(self.0, n, &mut v))
    }

    pub fn bigint_i64(self, n: i64) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_bigint_int64(self.0, n, &mut v))
    }

    pub fn string(self, s: &str) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_string_utf8(self.0, s.as_ptr().cast::<c_char>(), s.len(), &mut v))
    }

    /// A Date from milliseconds since the epoch.
    pub fn date(self, epoch_ms: f64) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_date(self.0, epoch_ms, &mut v))
    }

    pub fn object(self) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_object(self.0, &mut v))
    }

    pub fn array(self, len: usize) -> JsResult<Value> {
        out_value!(self.0, |v| sys::napi_create_array_with_length(self.0, len, &mut v))
    }

    /// An array holding `items`, each turned into a JS value by `f`.
    pub fn array_from<T>(
        self,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(T) -> JsResult<Value>,
    ) -> JsResult<Value> {
        let array = self.array(0)?;
        for (index, item) in items.into_iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| Error::internal("array too long"))?;
            array.set_index(index, f(item)?)?;
        }
        Ok(array)
    }

    /// A Buffer holding a copy of `bytes`.
    ///
    /// The copy is allocated here, fallibly, and handed to Node: Node's own
    /// copying constructor aborts the process when the allocation fails, so a
    /// large copy under memory pressure would crash instead of throwing.
    pub fn buffer_copy(self, bytes: &[u8]) -> JsResult<Value> {
        if bytes.is_empty() {
            let mut data: *mut c_void = ptr::null_mut();
            return out_value!(self.0, |v| sys::napi_create_buffer_copy(
                self.0,
                0,
                bytes.as_ptr().cast(),
                &mut data,
                &mut v
            ));
        }
        if bytes.len() > self.max_arraybuffer_len() {
            return Err(Error::Range {
                code: "ERR_BUFFER_TOO_LARGE",
                message: format!("Cannot create a Buffer larger than {} bytes", self.max_arraybuffer_len()),
            });
        }
        let mut copy = Vec::new();
        copy.try_reserve_exact(bytes.len()).map_err(|_| Error::Range {
            code: "ERR_MEMORY_ALLOCATION_FAILED",
            message: format!("Failed to allocate memory for a copy of {} bytes", bytes.len()),
        })?;
        copy.extend_from_slice(bytes);
        self.buffer_from_vec(copy)
    }

    /// A JS function that calls `callback`.
    ///
    /// `callback` must be a function item (a `fn` named directly, not a
    /// pointer): each one gets its own monomorphized trampoline, so a call
    /// dispatches without asking Node for a data pointer.
    pub fn function<F: Binding>(self, name: &str, _callback: F) -> JsResult<Value> {
        const { assert!(std::mem::size_of::<F>() == 0, "pass a fn item, not a fn pointer") };
        let cname = c_name(name);
        out_value!(self.0, |v| sys::napi_create_function(
            self.0,
            cname.as_ptr(),
            name.len(),
            Some(trampoline::<F>),
            ptr::null_mut(),
            &mut v
        ))
    }

    /// Tells V8 how much memory outside its heap JS objects keep alive, so
    /// the GC weighs a large mapping as what it is.
    pub fn adjust_external_memory(self, delta: i64) {
        let mut total = 0i64;
        // SAFETY: env is live; the call only updates V8's counter.
        unsafe { sys::napi_adjust_external_memory(self.0, delta, &mut total) };
    }

    /// Throws `error` into JS. Used by the trampoline and finalizer paths.
    pub fn throw(self, error: Error) {
        if matches!(error, Error::Pending) {
            return;
        }
        if let Ok(value) = error.to_js(self) {
            // SAFETY: env is live and value is an error object made in it.
            unsafe { sys::napi_throw(self.0, value.raw) };
        }
    }
}

/// The C entry point of one exported Rust function `F`: runs it, and turns
/// errors and panics into JS exceptions.
unsafe extern "C" fn trampoline<F: Binding>(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let env = Env(env);
    // SAFETY: F is a zero-sized fn item (asserted in Env::function), so any
    // well-aligned pointer reads a valid value of it.
    let callback: F = unsafe { ptr::NonNull::<F>::dangling().as_ptr().read() };
    // A fn item holds no state a panic could leave half-updated.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(env, &CallInfo::new(env, info))));
    match result {
        Ok(Ok(value)) => value.raw,
        Ok(Err(error)) => {
            env.throw(error);
            ptr::null_mut()
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            env.throw(Error::internal(format!("native panic: {what}")));
            ptr::null_mut()
        }
    }
}

/// The kind of a JS value, as `typeof` sees it (null apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Symbol,
    Object,
    Function,
    External,
    BigInt,
}

impl Value {
    pub fn env(self) -> Env {
        Env(self.env)
    }

    pub fn raw(self) -> sys::napi_value {
        self.raw
    }

    pub fn value_type(self) -> JsResult<ValueType> {
        let mut t: sys::napi_valuetype = 0;
        // SAFETY: env and value are live for this call.
        check(self.env, unsafe { sys::napi_typeof(self.env, self.raw, &mut t) })?;
        Ok(match t {
            sys::napi_undefined => ValueType::Undefined,
            sys::napi_null => ValueType::Null,
            sys::napi_boolean => ValueType::Boolean,
            sys::napi_number => ValueType::Number,
            sys::napi_string => ValueType::String,
            sys::napi_symbol => ValueType::Symbol,
            sys::napi_object => ValueType::Object,
            sys::napi_function => ValueType::Function,
            sys::napi_external => ValueType::External,
            sys::napi_bigint => ValueType::BigInt,
            _ => return Err(Error::internal("unknown napi_valuetype")),
        })
    }

    pub fn is_nullish(self) -> JsResult<bool> {
        Ok(matches!(self.value_type()?, ValueType::Undefined | ValueType::Null))
    }

    pub fn set(self, key: &str, value: Value) -> JsResult<()> {
        let ckey = c_name(key);
        // SAFETY: env, object and value are live; ckey is NUL-terminated.
        check(self.env, unsafe { sys::napi_set_named_property(self.env, self.raw, ckey.as_ptr(), value.raw) })
    }

    pub fn get(self, key: &str) -> JsResult<Value> {
        let ckey = c_name(key);
        out_value!(self.env, |v| sys::napi_get_named_property(self.env, self.raw, ckey.as_ptr(), &mut v))
    }

    pub fn set_index(self, index: u32, value: Value) -> JsResult<()> {
        // SAFETY: env, array and value are live.
        check(self.env, unsafe { sys::napi_set_element(self.env, self.raw, index, value.raw) })
    }

    /// Calls `self` as a function with `this` undefined.
    pub fn call(self, args: &[Value]) -> JsResult<Value> {
        let env = self.env();
        let this = env.undefined()?;
        let raw: Vec<sys::napi_value> = args.iter().map(|a| a.raw).collect();
        out_value!(self.env, |v| sys::napi_call_function(self.env, this.raw, self.raw, raw.len(), raw.as_ptr(), &mut v))
    }

    /// For an ArrayBuffer: its data pointer and length (0 once detached).
    pub fn arraybuffer_info(self) -> JsResult<(*mut u8, usize)> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: env and value are live; Node checks the value's type.
        check(self.env, unsafe { sys::napi_get_arraybuffer_info(self.env, self.raw, &mut data, &mut len) })?;
        Ok((data.cast(), len))
    }

    /// Detaches an ArrayBuffer: every view over it reads as length 0 from now
    /// on, and JS can no longer reach its memory.
    pub fn detach_arraybuffer(self) -> JsResult<()> {
        // SAFETY: env and value are live; Node rejects non-detachable values.
        check(self.env, unsafe { sys::napi_detach_arraybuffer(self.env, self.raw) })
    }
}

/// The builder `register` functions fill: named functions and values on the
/// module's exports object.
pub struct Exports {
    env: Env,
    object: Value,
}

impl Exports {
    pub(crate) fn new(env: Env, object: Value) -> Self {
        Exports { env, object }
    }

    pub fn env(&self) -> Env {
        self.env
    }

    pub fn function<F: Binding>(&self, name: &str, callback: F) -> JsResult<&Self> {
        let f = self.env.function(name, callback)?;
        self.object.set(name, f)?;
        Ok(self)
    }

    pub fn value(&self, name: &str, value: Value) -> JsResult<&Self> {
        self.object.set(name, value)?;
        Ok(self)
    }
}

/// Declares the addon's entry points. `$register` fills the exports;
/// `$internal_code` is the `code` of [`Error::internal`] errors (bugs in the
/// glue), which belongs to the addon, not to this layer.
#[macro_export]
macro_rules! napi_module {
    ($register:path, internal_code = $internal_code:expr) => {
        /// Node-API's module entry point.
        ///
        /// # Safety
        /// Called by Node with a live env and exports object.
        #[no_mangle]
        pub unsafe extern "C" fn napi_register_module_v1(
            env: $crate::napi::sys::napi_env,
            exports: $crate::napi::sys::napi_value,
        ) -> $crate::napi::sys::napi_value {
            $crate::napi::set_internal_code($internal_code);
            let env = $crate::napi::Env(env);
            let target = $crate::napi::Exports::new(env, $crate::napi::Value { env: env.0, raw: exports });
            match std::panic::catch_unwind(|| $register(&target)) {
                Ok(Ok(())) => exports,
                Ok(Err(error)) => {
                    env.throw(error);
                    std::ptr::null_mut()
                }
                Err(_) => {
                    env.throw($crate::napi::Error::internal("native panic during module init"));
                    std::ptr::null_mut()
                }
            }
        }

        /// The Node-API version this addon is built against (8: type tags,
        /// detachable ArrayBuffers). Node >= 20 provides it.
        #[no_mangle]
        pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
            8
        }
    };
}
