//! The one error factory every binding uses.
//!
//! Argument errors mirror Node's own (`TypeError` with
//! `ERR_INVALID_ARG_TYPE`, `RangeError` with `ERR_OUT_OF_RANGE`...). System
//! errors mirror Node's fs errors: `code`, a negative `errno` (as libuv and
//! `util.getSystemErrorName` expect), `syscall`, and the key, id, name or path
//! involved, with a message like
//! `shmget EACCES: permission denied, key 0x01020304`.

use super::{out_value, sys, Env, Value};
use crate::os;

pub type JsResult<T> = Result<T, Error>;

/// What a system error was about; shown in the message and set as a property.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A System V IPC key, shown in hex.
    Key(u32),
    /// A System V IPC identifier.
    Id(i32),
    /// A POSIX IPC name ("/name").
    Name(String),
    /// A file system path.
    Path(String),
    /// Free text, appended as is ("4096 bytes at 0x7f...").
    Detail(String),
}

/// A failed system call together with what it was about.
#[derive(Debug, Clone)]
pub struct SystemError {
    pub error: os::Error,
    pub subject: Option<Subject>,
    /// A sentence that tells the user what to do about it.
    pub hint: Option<String>,
}

impl SystemError {
    pub fn with(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<os::Error> for SystemError {
    fn from(error: os::Error) -> Self {
        SystemError { error, subject: None, hint: None }
    }
}

#[derive(Debug, Clone)]
pub enum Error {
    /// TypeError with a Node `ERR_*` code.
    Type { code: &'static str, message: String },
    /// RangeError with a Node `ERR_*` code.
    Range { code: &'static str, message: String },
    /// A plain Error with a code (ERR_SHMKIT_CLOSED...).
    Plain { code: &'static str, message: String },
    /// A failed system call.
    System(SystemError),
    /// A JS exception is already pending; let it propagate untouched.
    Pending,
}

impl From<os::Error> for Error {
    fn from(error: os::Error) -> Self {
        Error::System(error.into())
    }
}

impl From<SystemError> for Error {
    fn from(error: SystemError) -> Self {
        Error::System(error)
    }
}

impl Error {
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Plain { code: "ERR_SHMKIT_INTERNAL", message: message.into() }
    }

    /// `ERR_INVALID_ARG_TYPE`: `The "size" argument must be of type number. Received ...`
    pub fn invalid_arg_type(name: &str, expected: &str, received: &str) -> Self {
        let what = if name.contains('.') { "property" } else { "argument" };
        Error::Type {
            code: "ERR_INVALID_ARG_TYPE",
            message: format!("The \"{name}\" {what} must be {expected}. Received {received}"),
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
        let what = if name.contains('.') { "property" } else { "argument" };
        Error::Type {
            code: "ERR_INVALID_ARG_VALUE",
            message: format!("The {what} '{name}' {reason}. Received {received}"),
        }
    }

    /// The same as [`Error::invalid_arg_value`] but thrown as a RangeError,
    /// for values of the right type outside what the call accepts.
    pub fn invalid_arg_range(name: &str, reason: &str, received: &str) -> Self {
        let what = if name.contains('.') { "property" } else { "argument" };
        Error::Range {
            code: "ERR_INVALID_ARG_VALUE",
            message: format!("The {what} '{name}' {reason}. Received {received}"),
        }
    }

    /// Use of an object after `close()`.
    pub fn closed(what: &str) -> Self {
        Error::Plain { code: "ERR_SHMKIT_CLOSED", message: format!("{what} is closed") }
    }

    pub fn plain(code: &'static str, message: impl Into<String>) -> Self {
        Error::Plain { code, message: message.into() }
    }

    pub fn sys(error: os::Error, subject: Subject) -> Self {
        Error::System(SystemError::from(error).with(subject))
    }

    /// Builds the JS error object (without throwing it).
    pub fn to_js(&self, env: Env) -> JsResult<Value> {
        let raw = env.0;
        let make = |ctor: unsafe extern "C" fn(sys::napi_env, sys::napi_value, sys::napi_value, *mut sys::napi_value) -> sys::napi_status,
                    code: &str,
                    message: &str|
         -> JsResult<Value> {
            let code = env.string(code)?;
            let message = env.string(message)?;
            out_value!(raw, |v| ctor(raw, code.raw, message.raw, &mut v))
        };
        match self {
            Error::Pending => Err(Error::Pending),
            Error::Type { code, message } => make(sys::napi_create_type_error, code, message),
            Error::Range { code, message } => make(sys::napi_create_range_error, code, message),
            Error::Plain { code, message } => make(sys::napi_create_error, code, message),
            Error::System(sys_err) => {
                let os = sys_err.error;
                let mut message = format!("{} {}: {}", os.syscall(), os.code(), os.description());
                match &sys_err.subject {
                    Some(Subject::Key(key)) => message.push_str(&format!(", key 0x{key:08x}")),
                    Some(Subject::Id(id)) => message.push_str(&format!(", id {id}")),
                    Some(Subject::Name(name)) => message.push_str(&format!(", name '{name}'")),
                    Some(Subject::Path(path)) => message.push_str(&format!(", path '{path}'")),
                    Some(Subject::Detail(text)) => message.push_str(&format!(", {text}")),
                    None => {}
                }
                if let Some(hint) = &sys_err.hint {
                    message.push_str(&format!(" ({hint})"));
                }
                let error = make(sys::napi_create_error, os.code(), &message)?;
                error.set("errno", env.int32(-os.errno())?)?;
                error.set("syscall", env.string(os.syscall())?)?;
                match &sys_err.subject {
                    Some(Subject::Key(key)) => error.set("key", env.uint32(*key)?)?,
                    Some(Subject::Id(id)) => error.set("id", env.int32(*id)?)?,
                    // Not "name": that would shadow Error.prototype.name.
                    Some(Subject::Name(name)) => error.set("ipcName", env.string(name)?)?,
                    Some(Subject::Path(path)) => error.set("path", env.string(path)?)?,
                    Some(Subject::Detail(_)) | None => {}
                }
                if let Some(hint) = &sys_err.hint {
                    error.set("hint", env.string(hint)?)?;
                }
                Ok(error)
            }
        }
    }
}
