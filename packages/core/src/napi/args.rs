//! Decoding and validating call arguments.
//!
//! Every check happens here, before a binding makes any system call, and
//! fails with the TypeError/RangeError Node itself would throw.

use super::{check, external, sys, Env, Error, JsResult, Tagged, Value, ValueType};
use std::cell::OnceCell;
use std::ffi::c_void;
use std::ptr;

/// The most arguments any binding reads; Node copies (or pads with
/// undefined) this many when a binding first reads one, so it is kept tight.
pub(crate) const MAX_ARGS: usize = 6;

/// The largest integer a JS number holds exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The arguments of one call, fetched from Node on first use: a binding
/// that reads none (a noop, a getter) pays for no `napi_get_cb_info`.
pub struct CallInfo {
    env: Env,
    info: sys::napi_callback_info,
    args: OnceCell<Args>,
}

struct Args {
    argc: usize,
    argv: [sys::napi_value; MAX_ARGS],
    this: sys::napi_value,
}

impl CallInfo {
    pub(crate) fn new(env: Env, info: sys::napi_callback_info) -> Self {
        CallInfo { env, info, args: OnceCell::new() }
    }

    fn args(&self) -> JsResult<&Args> {
        if let Some(args) = self.args.get() {
            return Ok(args);
        }
        let mut argc = MAX_ARGS;
        let mut argv = [ptr::null_mut(); MAX_ARGS];
        let mut this = ptr::null_mut();
        // SAFETY: argv has room for argc values; the other out-pointers are
        // valid or null (data is not needed: each function has its own
        // trampoline).
        check(self.env.0, unsafe {
            sys::napi_get_cb_info(self.env.0, self.info, &mut argc, argv.as_mut_ptr(), &mut this, ptr::null_mut())
        })?;
        Ok(self.args.get_or_init(|| Args { argc: argc.min(MAX_ARGS), argv, this }))
    }

    /// How many arguments the caller passed (up to MAX_ARGS).
    pub fn len(&self) -> JsResult<usize> {
        Ok(self.args()?.argc)
    }

    pub fn is_empty(&self) -> JsResult<bool> {
        Ok(self.len()? == 0)
    }

    pub fn this(&self) -> JsResult<Value> {
        Ok(Value { env: self.env.0, raw: self.args()?.this })
    }

    /// The native handle passed as argument `index`: a tagged external made
    /// for `T`. The reference lives as long as this call.
    pub fn handle<T: Tagged>(&self, index: usize, name: &'static str) -> JsResult<&T> {
        self.arg(index, name)?.external::<T>()
    }

    /// Argument `index`, named `name` in error messages. Missing arguments
    /// read as `undefined`.
    pub fn arg(&self, index: usize, name: &'static str) -> JsResult<Arg> {
        let args = self.args()?;
        let value =
            if index < args.argc { Value { env: self.env.0, raw: args.argv[index] } } else { self.env.undefined()? };
        Ok(Arg { value, name })
    }
}

/// One argument with the name used to report it.
#[derive(Clone, Copy)]
pub struct Arg {
    pub value: Value,
    pub name: &'static str,
}

/// What a value is, for "Received ..." in `ERR_INVALID_ARG_TYPE` messages.
///
/// The wording comes from the env's describe hook (see [`super::hooks`]),
/// the one implementation JS errors use too. Without a hook only the type
/// is named.
pub fn describe(value: Value) -> String {
    let described = super::hooks::describe_with_hook(value);
    if let Some(text) =
        described.filter(|t| t.value_type().ok() == Some(ValueType::String)).and_then(|t| value_string(t).ok())
    {
        return text;
    }
    match value.value_type() {
        Ok(ValueType::Undefined) => "undefined".into(),
        Ok(ValueType::Null) => "null".into(),
        Ok(ValueType::Object) => "an object".into(),
        Ok(ValueType::Function) => "a function".into(),
        Ok(kind) => format!("type {}", format!("{kind:?}").to_lowercase()),
        Err(_) => "an unknown value".into(),
    }
}

/// Formats a number as Node's `ERR_OUT_OF_RANGE` shows it: as JS prints
/// it, with `_` between thousands for integers beyond ±2^32.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 && n.is_sign_negative() {
        return "-0".into();
    }
    if n.fract() != 0.0 || n.abs() >= 1e21 {
        return format!("{n}");
    }
    let digits = format!("{}", n as i128);
    if n.abs() <= 4_294_967_296.0 {
        return digits;
    }
    let (sign, digits) = digits.split_at(usize::from(n < 0.0));
    let mut grouped = String::with_capacity(digits.len() * 4 / 3 + 1);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('_');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}")
}

fn value_f64(value: Value) -> JsResult<f64> {
    let mut n = 0f64;
    // SAFETY: env and value are live; Node checks the type.
    check(value.env, unsafe { sys::napi_get_value_double(value.env, value.raw, &mut n) })?;
    Ok(n)
}

fn value_bool(value: Value) -> JsResult<bool> {
    let mut b = false;
    // SAFETY: env and value are live; Node checks the type.
    check(value.env, unsafe { sys::napi_get_value_bool(value.env, value.raw, &mut b) })?;
    Ok(b)
}

pub(crate) fn value_string(value: Value) -> JsResult<String> {
    let mut len = 0usize;
    // SAFETY: a null buffer asks only for the length in bytes.
    check(value.env, unsafe { sys::napi_get_value_string_utf8(value.env, value.raw, ptr::null_mut(), 0, &mut len) })?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    // SAFETY: buf has len + 1 bytes, room for the string and its NUL.
    check(value.env, unsafe {
        sys::napi_get_value_string_utf8(value.env, value.raw, buf.as_mut_ptr().cast(), buf.len(), &mut written)
    })?;
    buf.truncate(written);
    String::from_utf8(buf).map_err(|_| Error::internal("Node returned invalid UTF-8"))
}

/// What the argument holds, for bindings that accept several types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Missing,
    Number,
    BigInt,
    Other,
}

/// The element type of a TypedArray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedArrayKind {
    Int8,
    Uint8,
    Uint8Clamped,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Float32,
    Float64,
    BigInt64,
    BigUint64,
}

impl TypedArrayKind {
    fn from_raw(raw: sys::napi_typedarray_type) -> Option<Self> {
        use TypedArrayKind::*;
        Some(match raw {
            sys::napi_int8_array => Int8,
            sys::napi_uint8_array => Uint8,
            sys::napi_uint8_clamped_array => Uint8Clamped,
            sys::napi_int16_array => Int16,
            sys::napi_uint16_array => Uint16,
            sys::napi_int32_array => Int32,
            sys::napi_uint32_array => Uint32,
            sys::napi_float32_array => Float32,
            sys::napi_float64_array => Float64,
            sys::napi_bigint64_array => BigInt64,
            sys::napi_biguint64_array => BigUint64,
            _ => return None,
        })
    }

    pub fn element_size(self) -> usize {
        use TypedArrayKind::*;
        match self {
            Int8 | Uint8 | Uint8Clamped => 1,
            Int16 | Uint16 => 2,
            Int32 | Uint32 | Float32 => 4,
            Float64 | BigInt64 | BigUint64 => 8,
        }
    }
}

/// The memory behind a TypedArray, DataView, Buffer or ArrayBuffer.
#[derive(Clone, Copy)]
pub struct TypedArrayView {
    /// None for ArrayBuffer and DataView.
    pub kind: Option<TypedArrayKind>,
    /// Element count for a TypedArray; byte length otherwise.
    pub length: usize,
    pub byte_length: usize,
    pub data: *mut u8,
    /// The ArrayBuffer that owns the memory.
    pub buffer: Value,
    pub byte_offset: usize,
}

impl Arg {
    pub fn type_error(&self, expected: &str) -> Error {
        Error::invalid_arg_type(self.name, expected, &describe(self.value))
    }

    pub fn is_missing(&self) -> JsResult<bool> {
        self.value.is_nullish()
    }

    pub fn kind(&self) -> JsResult<ArgKind> {
        Ok(match self.value.value_type()? {
            ValueType::Undefined | ValueType::Null => ArgKind::Missing,
            ValueType::Number => ArgKind::Number,
            ValueType::BigInt => ArgKind::BigInt,
            _ => ArgKind::Other,
        })
    }

    /// `None` when undefined or null, else the argument.
    pub fn optional(self) -> JsResult<Option<Arg>> {
        Ok(if self.is_missing()? { None } else { Some(self) })
    }

    pub fn number(&self) -> JsResult<f64> {
        if self.value.value_type()? != ValueType::Number {
            return Err(self.type_error("of type number"));
        }
        value_f64(self.value)
    }

    /// A whole number in `min..=max` (both within ±2^53).
    pub fn integer(&self, min: i64, max: i64) -> JsResult<i64> {
        let n = self.number()?;
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(Error::out_of_range(self.name, "an integer", &format_number(n)));
        }
        if n < min as f64 || n > max as f64 {
            return Err(Error::out_of_range(self.name, &format!(">= {min} && <= {max}"), &format_number(n)));
        }
        Ok(n as i64)
    }

    /// A byte count from 1 to 2^53 - 1.
    pub fn size(&self) -> JsResult<usize> {
        self.integer(1, MAX_SAFE_INTEGER as i64).map(|n| n as usize)
    }

    pub fn u32(&self) -> JsResult<u32> {
        self.integer(0, u32::MAX as i64).map(|n| n as u32)
    }

    pub fn i32(&self) -> JsResult<i32> {
        self.integer(i32::MIN as i64, i32::MAX as i64).map(|n| n as i32)
    }

    /// A non-negative 64-bit offset: a whole number up to 2^53 - 1 or a
    /// bigint up to 2^63 - 1 (off_t's range).
    pub fn offset(&self) -> JsResult<u64> {
        match self.kind()? {
            ArgKind::BigInt => match self.bigint_i64()? {
                Some(n) if n >= 0 => Ok(n as u64),
                _ => Err(Error::out_of_range(self.name, ">= 0n && <= 2n ** 63n - 1n", "a bigint outside that range")),
            },
            ArgKind::Number => self.integer(0, MAX_SAFE_INTEGER as i64).map(|n| n as u64),
            _ => Err(self.type_error("of type number or bigint")),
        }
    }

    /// A bigint's value; None when it does not fit an i64.
    pub fn bigint_i64(&self) -> JsResult<Option<i64>> {
        if self.value.value_type()? != ValueType::BigInt {
            return Err(self.type_error("of type bigint"));
        }
        let mut n = 0i64;
        let mut lossless = false;
        // SAFETY: env and value are live and the value is a bigint.
        check(self.value.env, unsafe {
            sys::napi_get_value_bigint_int64(self.value.env, self.value.raw, &mut n, &mut lossless)
        })?;
        Ok(lossless.then_some(n))
    }

    pub fn boolean(&self) -> JsResult<bool> {
        if self.value.value_type()? != ValueType::Boolean {
            return Err(self.type_error("of type boolean"));
        }
        value_bool(self.value)
    }

    /// An optional boolean, `default` when undefined or null.
    pub fn boolean_or(&self, default: bool) -> JsResult<bool> {
        if self.is_missing()? {
            Ok(default)
        } else {
            self.boolean()
        }
    }

    pub fn string(&self) -> JsResult<String> {
        if self.value.value_type()? != ValueType::String {
            return Err(self.type_error("of type string"));
        }
        value_string(self.value)
    }

    pub fn function(&self) -> JsResult<Value> {
        if self.value.value_type()? != ValueType::Function {
            return Err(self.type_error("of type function"));
        }
        Ok(self.value)
    }

    /// A native handle made by [`Env::external`](super::Env::external) for `T`.
    ///
    /// The returned reference must not outlive the native call: the external
    /// is only known to be alive while the JS value is an argument on the
    /// stack. Prefer [`CallInfo::handle`], which ties the lifetime to the call.
    pub fn external<'call, T: Tagged>(&self) -> JsResult<&'call T> {
        external::unwrap::<T>(self.value).ok_or_else(|| self.type_error(&format!("a {} handle", T::NAME)))
    }

    /// An ArrayBuffer, TypedArray, DataView or Buffer: the bytes it spans.
    pub fn bytes(&self) -> JsResult<TypedArrayView> {
        let v = self.value;
        let env = v.env;
        let mut is = false;
        // SAFETY (all three probes): env and value are live.
        check(env, unsafe { sys::napi_is_typedarray(env, v.raw, &mut is) })?;
        if is {
            return self.typed_array();
        }
        check(env, unsafe { sys::napi_is_dataview(env, v.raw, &mut is) })?;
        if is {
            let mut len = 0usize;
            let mut data: *mut c_void = ptr::null_mut();
            let mut buffer = ptr::null_mut();
            let mut offset = 0usize;
            // SAFETY: the value is a DataView; all out-pointers are valid.
            check(env, unsafe {
                sys::napi_get_dataview_info(env, v.raw, &mut len, &mut data, &mut buffer, &mut offset)
            })?;
            return Ok(TypedArrayView {
                kind: None,
                length: len,
                byte_length: len,
                data: data.cast(),
                buffer: Value { env, raw: buffer },
                byte_offset: offset,
            });
        }
        check(env, unsafe { sys::napi_is_arraybuffer(env, v.raw, &mut is) })?;
        if is {
            let (data, len) = v.arraybuffer_info()?;
            return Ok(TypedArrayView { kind: None, length: len, byte_length: len, data, buffer: v, byte_offset: 0 });
        }
        Err(self.type_error("an instance of ArrayBuffer, Buffer, TypedArray or DataView"))
    }

    /// A TypedArray (Buffer included).
    pub fn typed_array(&self) -> JsResult<TypedArrayView> {
        let v = self.value;
        let env = v.env;
        let mut is = false;
        // SAFETY: env and value are live.
        check(env, unsafe { sys::napi_is_typedarray(env, v.raw, &mut is) })?;
        if !is {
            return Err(self.type_error("an instance of TypedArray"));
        }
        let mut raw_kind = 0;
        let mut length = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: the value is a TypedArray; all out-pointers are valid.
        check(env, unsafe {
            sys::napi_get_typedarray_info(env, v.raw, &mut raw_kind, &mut length, &mut data, &mut buffer, &mut offset)
        })?;
        let kind = TypedArrayKind::from_raw(raw_kind).ok_or_else(|| Error::internal("unknown TypedArray type"))?;
        Ok(TypedArrayView {
            kind: Some(kind),
            length,
            byte_length: length * kind.element_size(),
            data: data.cast(),
            buffer: Value { env, raw: buffer },
            byte_offset: offset,
        })
    }

    /// An Int32Array whose data is 4-byte aligned (futex words).
    pub fn int32_array(&self) -> JsResult<TypedArrayView> {
        let view = self.typed_array().map_err(|_| self.type_error("an instance of Int32Array"))?;
        if view.kind != Some(TypedArrayKind::Int32) {
            return Err(self.type_error("an instance of Int32Array"));
        }
        Ok(view)
    }

    /// A property of an options object, named `object.key` in errors.
    /// A missing options object reads as all properties undefined.
    pub fn property(&self, key: &'static str, full_name: &'static str) -> JsResult<Arg> {
        match self.value.value_type()? {
            ValueType::Undefined | ValueType::Null => Ok(Arg { value: self.value.env().undefined()?, name: full_name }),
            ValueType::Object | ValueType::Function => Ok(Arg { value: self.value.get(key)?, name: full_name }),
            _ => Err(self.type_error("of type object")),
        }
    }
}

impl Env {
    /// An Arg wrapper for a value not taken from the call's arguments.
    pub fn arg(self, value: Value, name: &'static str) -> Arg {
        let _ = self;
        Arg { value, name }
    }
}
