//! shmkit's errors, as the bindings build them: what a failed system call
//! was about ([`Subject`]), a hint on what to do, and shmkit's own codes
//! ([`Code`], generated from error-codes.json).
//!
//! System error messages read as node:fs words them:
//! `ENOENT: no such file or directory, open '/x'`, then, for what only
//! shmkit's calls are about, `EACCES: permission denied, shmget key
//! 0x01020304`. The name and text of each errno are Node's own
//! (`util.getSystemErrorMap()`, handed over by the loader through
//! [`setup`]) wherever Node has them: messages then match node:fs's and
//! `util.getSystemErrorName(err.errno) === err.code` holds by construction.
//! Node's map comes from libuv, which names only the errno values its own
//! calls meet; for the rest (EIDRM, EOWNERDEAD...) and where there is no
//! Node at all (`cargo test`), `os::Error` gives the name from its table
//! and the text from the C library.

pub use super::codes::Code;
use crate::napi::{self, system_error_text, CallInfo, Env, Error, Exports, JsResult, Property, Value};
use crate::os;
use std::borrow::Cow;

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

impl Subject {
    /// The words after the syscall in the message, and the property that
    /// names the subject on the error object.
    fn words(&self) -> (String, Option<(&'static str, Property)>) {
        match self {
            Subject::Key(key) => (format!("key 0x{key:08x}"), Some(("key", Property::Number(f64::from(*key))))),
            Subject::Id(id) => (format!("id {id}"), Some(("id", Property::Number(f64::from(*id))))),
            // Not "name": that would shadow Error.prototype.name.
            Subject::Name(name) => (format!("'{name}'"), Some(("ipcName", Property::String(name.clone())))),
            Subject::Path(path) => (format!("'{path}'"), Some(("path", Property::String(path.clone())))),
            Subject::Detail(text) => (text.clone(), None),
        }
    }
}

/// A failed system call together with what it was about.
#[derive(Debug, Clone)]
pub struct SyscallError {
    pub error: os::Error,
    pub subject: Option<Subject>,
    /// A sentence that tells the user what to do about it.
    pub hint: Option<String>,
}

impl SyscallError {
    pub fn with(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<os::Error> for SyscallError {
    fn from(error: os::Error) -> Self {
        SyscallError { error, subject: None, hint: None }
    }
}

/// The name and text of `error`'s errno: Node's where it has them (see the
/// module documentation), else the OS layer's.
fn name_and_text(error: os::Error) -> (&'static str, Cow<'static, str>) {
    match system_error_text(error.errno()) {
        Some((code, text)) => (code, Cow::Borrowed(text)),
        None => (error.code(), Cow::Owned(error.description())),
    }
}

impl From<SyscallError> for Error {
    fn from(failure: SyscallError) -> Self {
        let os = failure.error;
        let (code, text) = name_and_text(os);
        let mut error = napi::SystemError::new(os.errno(), code, &text, os.syscall());
        if let Some(subject) = &failure.subject {
            let (words, property) = subject.words();
            error = error.about(&words);
            if let Some((name, value)) = property {
                error = error.property(name, value);
            }
        }
        if let Some(hint) = failure.hint {
            error = error.remark(&hint).property("hint", Property::String(hint));
        }
        error.into()
    }
}

impl From<os::Error> for Error {
    fn from(error: os::Error) -> Self {
        SyscallError::from(error).into()
    }
}

/// The errors only shmkit throws, as constructors on [`Error`]. A trait so
/// that `napi` stays free of them and bindings still write `Error::closed`.
pub trait ShmkitError {
    /// A failed system call about `subject`.
    fn sys(error: os::Error, subject: Subject) -> Self;
    /// `ERR_SHMKIT_CLOSED`: `what` was used after `close()`.
    fn closed(what: &str) -> Self;
    /// One of shmkit's codes, thrown as the class error-codes.json gives it.
    fn coded(code: Code, message: impl Into<String>) -> Self;
}

impl ShmkitError for Error {
    fn sys(error: os::Error, subject: Subject) -> Self {
        SyscallError::from(error).with(subject).into()
    }

    fn closed(what: &str) -> Self {
        Error::coded(Code::Closed, format!("{what} is closed"))
    }

    fn coded(code: Code, message: impl Into<String>) -> Self {
        let message = message.into();
        match code.class() {
            "RangeError" => Error::Range { code: code.as_str(), message },
            "TypeError" => Error::Type { code: code.as_str(), message },
            _ => Error::Plain { code: code.as_str(), message },
        }
    }
}

/// errorsSetup(describe, finish, systemErrors): called once per env by the
/// loader, before anything else. `describe(value)` words "Received ..." in
/// argument errors, `finish(error)` sees every error before it is thrown,
/// and `systemErrors` is `Array.from(util.getSystemErrorMap())`.
fn setup(env: Env, call: &CallInfo) -> JsResult<Value> {
    let describe = call.arg(0, "describe")?.function()?;
    let finish = call.arg(1, "finish")?.function()?;
    napi::set_system_error_texts(call.arg(2, "systemErrors")?.value)?;
    env.set_error_hooks(describe, finish)?;
    env.undefined()
}

/// errorsErrno(name): [errno, description] of the errno named `name`
/// ("ENOTRECOVERABLE"), worded as native system errors are; undefined for
/// a name Linux does not have. For system errors made in TypeScript.
fn errno(env: Env, call: &CallInfo) -> JsResult<Value> {
    let name = call.arg(0, "name")?.string()?;
    let Some(error) = os::Error::named(&name, "") else { return env.undefined() };
    let (_, text) = name_and_text(error);
    let pair = env.array(2)?;
    pair.set_index(0, env.int32(error.errno())?)?;
    pair.set_index(1, env.string(&text)?)?;
    Ok(pair)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("errorsSetup", setup)?.function("errorsErrno", errno)?;
    Ok(())
}
