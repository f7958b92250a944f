//! Bindings for POSIX shared memory objects (`posixShm*`).
//!
//! An open object is a native handle owning its descriptor: it is closed by
//! `posixShmClose` or, failing that, when V8 collects the handle, so a
//! forgotten object never leaks its fd.

use super::error::{ShmkitError, Subject, SyscallError};
use super::extent::mappable_length;
use super::{check_page_offset, expose, FdMapOptions};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::posix_shm;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

struct ShmObject {
    fd: Mutex<Option<OwnedFd>>,
    name: String,
    read_only: bool,
}

impl Tagged for ShmObject {
    const NAME: &'static str = "PosixShm";
}

impl ShmObject {
    /// Runs `f` with the live descriptor, or fails with ERR_SHMKIT_CLOSED.
    fn with_fd<T>(&self, f: impl FnOnce(RawFd) -> JsResult<T>) -> JsResult<T> {
        let guard = self.fd.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(fd) => f(fd.as_raw_fd()),
            None => Err(Error::closed("PosixShm")),
        }
    }

    fn subject(&self) -> Subject {
        Subject::Name(self.name.clone())
    }
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "\\'"))
}

fn name_arg(call: &CallInfo, index: usize) -> JsResult<(String, CString)> {
    let name = call.arg(index, "name")?.string()?;
    match posix_shm::validate_name(&name) {
        Ok(c) => Ok((name, c)),
        Err(e) => Err(Error::invalid_arg_value("name", e.reason(), &quoted(&name))),
    }
}

fn object(call: &CallInfo) -> JsResult<&ShmObject> {
    call.handle::<ShmObject>(0, "handle")
}

/// posixShmOpen(name, create, exclusive, readOnly, mode) -> { handle, fd, created }
fn open(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (name, c_name) = name_arg(call, 0)?;
    let create = call.arg(1, "create")?.boolean()?;
    let exclusive = call.arg(2, "exclusive")?.boolean()?;
    let read_only = call.arg(3, "readOnly")?.boolean()?;
    let mode = call.arg(4, "mode")?.integer(0, 0o7777)? as u32;
    let options = posix_shm::OpenOptions { create, exclusive, read_only, mode };
    let opened = posix_shm::open(&c_name, options).map_err(|e| {
        let mut err = SyscallError::from(e).with(Subject::Name(name.clone()));
        if e.errno() == libc::EINVAL {
            err = err.hint("POSIX shared memory needs /dev/shm mounted as tmpfs");
        }
        Error::from(err)
    })?;
    let fd = opened.fd.as_raw_fd();
    let result = env.object()?;
    result.set("fd", env.int32(fd)?)?;
    result.set("created", env.boolean(opened.created)?)?;
    result.set("handle", env.external(ShmObject { fd: Mutex::new(Some(opened.fd)), name, read_only })?)?;
    Ok(result)
}

/// posixShmResize(handle, size, reserve = true): ftruncate, allocating the
/// pages it adds (fallocate) unless `reserve` is false.
fn resize(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let size = call.arg(1, "size")?.integer(0, (1i64 << 53) - 1)? as u64;
    let reserve = call.arg(2, "reserve")?.boolean_or(true)?;
    object.with_fd(|fd| posix_shm::resize(fd, size, reserve).map_err(|e| {
        let mut err = SyscallError::from(e).with(object.subject());
        if e.errno() == libc::ENOSPC {
            err = err.hint("/dev/shm is full: free space there or mount it with a larger size=");
        } else if e.errno() == libc::EBADF || e.errno() == libc::EINVAL && object.read_only {
            err = err.hint("the object was opened read-only");
        }
        Error::from(err)
    }))?;
    env.undefined()
}

/// posixShmStat(handle) -> { size, mode, uid, gid }
fn stat(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let st = object.with_fd(|fd| posix_shm::stat(fd).map_err(|e| Error::sys(e, object.subject())))?;
    let result = env.object()?;
    result.set("size", env.number(st.size as f64)?)?;
    result.set("mode", env.uint32(st.mode)?)?;
    result.set("uid", env.uint32(st.uid)?)?;
    result.set("gid", env.uint32(st.gid)?)?;
    Ok(result)
}

/// posixShmMap(handle, offset, length?, { shared, readOnly, populate }) -> NativeMapping
///
/// The range is checked against the object's current size: pages past the
/// end would raise SIGBUS when touched. Read-only shared mappings are
/// PROT_READ without a buffer; private ones are copy-on-write.
fn map(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let offset = call.arg(1, "offset")?.offset()?;
    let length = call.arg(2, "length")?.optional()?.map(|a| a.size()).transpose()?;
    let options = FdMapOptions::read(&call.arg(3, "options")?)?;
    check_page_offset("options.offset", offset)?;
    let memory = object.with_fd(|fd| {
        let size = posix_shm::stat(fd).map_err(|e| Error::sys(e, object.subject()))?.size;
        let what = format!("The POSIX shared memory object '{}'", object.name);
        let length = mappable_length(&what, "resize() it before mapping", size, offset, length)?;
        options.map(fd, offset, length).map_err(|e| {
            let mut err = SyscallError::from(e).with(object.subject());
            if e.errno() == libc::EACCES && object.read_only {
                err = err.hint("the object was opened read-only: map it with { readOnly: true }");
            }
            Error::from(err)
        })
    })?;
    expose(env, memory, options.init())
}

/// posixShmClose(handle) -> true if it was open.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let taken = object.fd.lock().unwrap_or_else(|p| p.into_inner()).take();
    env.boolean(taken.is_some())
}

/// posixShmUnlink(name)
fn unlink(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (name, c_name) = name_arg(call, 0)?;
    posix_shm::unlink(&c_name).map_err(|e| Error::sys(e, Subject::Name(name)))?;
    env.undefined()
}

/// posixShmCreateUnnamed(name, mode) -> { handle, fd, created: true }
///
/// An object with no name yet (O_TMPFILE in /dev/shm), to be initialised
/// and then given `name` with posixShmPublish. If the process dies first,
/// nothing is left behind.
fn create_unnamed(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (name, _) = name_arg(call, 0)?;
    let mode = call.arg(1, "mode")?.integer(0, 0o7777)? as u32;
    let fd = posix_shm::create_unnamed(mode).map_err(|e| {
        let mut err = SyscallError::from(e).with(Subject::Name(name.clone()));
        if matches!(e.errno(), libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) {
            err = err.hint("publish: false needs /dev/shm on tmpfs and Linux 3.11 or later (O_TMPFILE)");
        }
        Error::from(err)
    })?;
    let result = env.object()?;
    result.set("fd", env.int32(fd.as_raw_fd())?)?;
    result.set("created", env.boolean(true)?)?;
    result.set("handle", env.external(ShmObject { fd: Mutex::new(Some(fd)), name, read_only: false })?)?;
    Ok(result)
}

/// posixShmPublish(handle): gives an object from posixShmCreateUnnamed its
/// name, atomically; EEXIST if the name is taken.
fn publish(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let c_name = posix_shm::validate_name(&object.name).map_err(|e| Error::invalid_arg_value("name", e.reason(), &quoted(&object.name)))?;
    object.with_fd(|fd| posix_shm::publish(fd, &c_name).map_err(|e| Error::sys(e, object.subject())))?;
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("posixShmCreateUnnamed", create_unnamed)?
        .function("posixShmPublish", publish)?
        .function("posixShmOpen", open)?
        .function("posixShmResize", resize)?
        .function("posixShmStat", stat)?
        .function("posixShmMap", map)?
        .function("posixShmClose", close)?
        .function("posixShmUnlink", unlink)?;
    Ok(())
}
