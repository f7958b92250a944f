//! The error a binding returns, and how it becomes a JS exception.
//!
//! Argument errors mirror Node's own validators (`TypeError` with
//! `ERR_INVALID_ARG_TYPE`, `RangeError` with `ERR_OUT_OF_RANGE`...). A
//! [`SystemError`] is shaped like the errors node:fs throws: the addon says
//! what the message is and which properties to set; this layer only builds
//! the object, in Node's property order (`errno`, `code`, `syscall`, then the
//! rest).
//!
//! Nothing here knows what the addon does: the codes of its own errors, what
//! its system calls were about and how it words them are the bindings' job.

use super::hooks::finish_error;
use super::{out_value, sys, Env, Value};
use std::borrow::Cow;
use std::sync::OnceLock;

pub type JsResult<T> = Result<T, Error>;

#[derive(Debug, Clone)]
pub enum Error {
    /// TypeError with a Node `ERR_*` code.
    Type { code: &'static str, message: String },
    /// RangeError with a Node `ERR_*` code.
    Range { code: &'static str, message: String },
    /// A plain Error with a code.
    Plain { code: &'static str, message: String },
    /// A failed system call. Boxed: errors are rare, and a small `Err` keeps
    /// every `JsResult` small on the hot paths.
    System(Box<SystemError>),
    /// A JS exception is already pending; let it propagate untouched.
    Pending,
}

/// A failed system call, as Node reports one: the message reads
/// `ENOENT: no such file or directory, open '/x'` (code, description,
/// syscall, then what the call was about), and the object carries `errno`
/// (negated, as libuv's), `code`, `syscall` and any further properties.
#[derive(Debug, Clone)]
pub struct SystemError {
    message: String,
    errno: i32,
    code: Cow<'static, str>,
    syscall: Cow<'static, str>,
    properties: Vec<(&'static str, Property)>,
}

impl SystemError {
    /// `errno` is positive; `code` and `description` are its name and text
    /// (see [`super::system_error_text`] for Node's).
    pub fn new(
        errno: i32,
        code: impl Into<Cow<'static, str>>,
        description: &str,
        syscall: impl Into<Cow<'static, str>>,
    ) -> Self {
        let (code, syscall) = (code.into(), syscall.into());
        SystemError {
            message: format!("{code}: {description}, {syscall}"),
            errno,
            code,
            syscall,
            properties: Vec::new(),
        }
    }

    /// With Node's name and text for `errno`, or libuv's `UNKNOWN: unknown
    /// error` for one Node has none for.
    pub fn from_errno(errno: i32, syscall: impl Into<Cow<'static, str>>) -> Self {
        let (code, description) = super::system_error_text(errno).unwrap_or(("UNKNOWN", "unknown error"));
        SystemError::new(errno, code, description, syscall)
    }

    /// Appends what the call was about: ` '/x'`, ` key 0x01020304`.
    pub fn about(mut self, words: &str) -> Self {
        self.message.push(' ');
        self.message.push_str(words);
        self
    }

    /// Appends a remark in parentheses: ` (mount /dev/shm first)`.
    pub fn remark(mut self, words: &str) -> Self {
        self.message.push_str(" (");
        self.message.push_str(words);
        self.message.push(')');
        self
    }

    /// Sets one more property on the error, after `syscall`.
    pub fn property(mut self, name: &'static str, value: Property) -> Self {
        self.properties.push((name, value));
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn code(&self) -> &str {
        &self.code
    }
}

/// The value of one extra property of a [`SystemError`].
#[derive(Debug, Clone)]
pub enum Property {
    String(String),
    Number(f64),
}

impl From<SystemError> for Error {
    fn from(error: SystemError) -> Self {
        Error::System(Box::new(error))
    }
}

/// The code of [`Error::internal`], set once by [`crate::napi_module!`].
static INTERNAL_CODE: OnceLock<&'static str> = OnceLock::new();

#[doc(hidden)]
pub fn set_internal_code(code: &'static str) {
    let _ = INTERNAL_CODE.set(code);
}

fn kind(name: &str) -> &'static str {
    if name.contains('.') {
        "property"
    } else {
        "argument"
    }
}

impl Error {
    /// A bug in the glue or a Node-API call that should not fail.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Plain { code: INTERNAL_CODE.get().copied().unwrap_or("ERR_INTERNAL"), message: message.into() }
    }

    /// `ERR_INVALID_ARG_TYPE`: `The "size" argument must be of type number. Received ...`
    pub fn invalid_arg_type(name: &str, expected: &str, received: &str) -> Self {
        Error::Type {
            code: "ERR_INVALID_ARG_TYPE",
            message: format!("The \"{name}\" {} must be {expected}. Received {received}", kind(name)),
        }
    }

    /// `ERR_OUT_OF_RANGE`: `The value of "size" is out of range. It must be ... Received ...`
    pub fn out_of_range(name: &str, range: &str, received: &str) -> Self {
        Error::Range {
            code: "ERR_OUT_OF_RANGE",
            message: format!("The value of \"{name}\" is out of range. It must be {range}. Received {received}"),
        }
    }

    /// `ERR_INVALID_ARG_VALUE`: `The argument 'name' is invalid: reason. Received ...`
    pub fn invalid_arg_value(name: &str, reason: &str, received: &str) -> Self {
        Error::Type {
            code: "ERR_INVALID_ARG_VALUE",
            message: format!("The {} '{name}' {reason}. Received {received}", kind(name)),
        }
    }

    /// The same as [`Error::invalid_arg_value`] but thrown as a RangeError,
    /// for values of the right type outside what the call accepts.
    pub fn invalid_arg_range(name: &str, reason: &str, received: &str) -> Self {
        Error::Range {
            code: "ERR_INVALID_ARG_VALUE",
            message: format!("The {} '{name}' {reason}. Received {received}", kind(name)),
        }
    }

    pub fn plain(code: &'static str, message: impl Into<String>) -> Self {
        Error::Plain { code, message: message.into() }
    }

    /// Builds the JS error object (without throwing it), then hands it to
    /// the env's finishing hook, if one is set (see [`Env::set_error_hooks`]).
    pub fn to_js(&self, env: Env) -> JsResult<Value> {
        let error = self.build(env)?;
        finish_error(env, error);
        Ok(error)
    }

    fn build(&self, env: Env) -> JsResult<Value> {
        type Ctor = unsafe extern "C" fn(
            sys::napi_env,
            sys::napi_value,
            sys::napi_value,
            *mut sys::napi_value,
        ) -> sys::napi_status;
        let raw = env.0;
        let make = |ctor: Ctor, code: Option<&str>, message: &str| -> JsResult<Value> {
            let code = code.map(|c| env.string(c)).transpose()?.map_or(std::ptr::null_mut(), |c| c.raw);
            let message = env.string(message)?;
            out_value!(raw, |v| ctor(raw, code, message.raw, &mut v))
        };
        match self {
            Error::Pending => Err(Error::Pending),
            Error::Type { code, message } => make(sys::napi_create_type_error, Some(code), message),
            Error::Range { code, message } => make(sys::napi_create_range_error, Some(code), message),
            Error::Plain { code, message } => make(sys::napi_create_error, Some(code), message),
            Error::System(system) => {
                // No code at creation: set in Node's order below.
                let error = make(sys::napi_create_error, None, &system.message)?;
                error.set("errno", env.int32(-system.errno)?)?;
                error.set("code", env.string(&system.code)?)?;
                error.set("syscall", env.string(&system.syscall)?)?;
                for (name, value) in &system.properties {
                    let value = match value {
                        Property::String(s) => env.string(s)?,
                        Property::Number(n) => env.number(*n)?,
                    };
                    error.set(name, value)?;
                }
                Ok(error)
            }
        }
    }
}
