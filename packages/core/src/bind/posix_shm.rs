//! Bindings for POSIX shared memory objects (`posixShm*`).
//!
//! An open object is a native handle owning its descriptor: it is closed by
//! `posixShmClose` or, failing that, when V8 collects the handle, so a
//! forgotten object never leaks its fd.

use super::error::{Code, ShmkitError, Subject, SyscallError};
use super::{check_page_offset, expose, file_map_error, hints, not_regular, FdMapOptions};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::file::{self, OpenError};
use crate::os::map_registry::{self, ObjectId};
use crate::os::mman::FileMapError;
use crate::os::posix_shm::{self, ResizeError};
use std::ffi::CString;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

struct ShmObject {
    fd: Mutex<Option<OwnedFd>>,
    /// The object the descriptor was opened on. JS can see (and close) the
    /// descriptor number; if it was closed and the number reused for some
    /// other file, every call would act on that file (resize would truncate
    /// it). Each use checks the descriptor still names this object.
    object: ObjectId,
    name: String,
    read_only: bool,
}

impl Tagged for ShmObject {
    const NAME: &'static str = "PosixShm";
}

impl ShmObject {
    /// Runs `f` with the live descriptor, or fails with ERR_SHMKIT_CLOSED
    /// (also when the descriptor no longer names the object: see `object`).
    fn with_fd<T>(&self, f: impl FnOnce(RawFd) -> JsResult<T>) -> JsResult<T> {
        let guard = self.fd.lock().unwrap_or_else(|p| p.into_inner());
        let fd = guard.as_ref().ok_or_else(|| Error::closed("PosixShm"))?.as_raw_fd();
        if !self.still_ours(fd) {
            return Err(self.stolen(fd));
        }
        f(fd)
    }

    fn still_ours(&self, fd: RawFd) -> bool {
        file::fstat(fd).is_ok_and(|st| ObjectId { dev: st.dev, ino: st.ino } == self.object)
    }

    fn stolen(&self, fd: RawFd) -> Error {
        Error::coded(
            Code::Closed,
            format!(
                "PosixShm '{}' is closed: its descriptor {fd} was closed behind its back (fs.closeSync(shm.fd)?) and no longer names the object",
                self.name
            ),
        )
    }

    fn subject(&self) -> Subject {
        Subject::Name(self.name.clone())
    }
}

impl Drop for ShmObject {
    /// Collected without close(): the descriptor goes too, unless it is no
    /// longer ours (see `close`).
    fn drop(&mut self) {
        let taken = self.fd.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(fd) = taken {
            if !self.still_ours(fd.as_raw_fd()) {
                let _ = fd.into_raw_fd();
            }
        }
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
    let opened = posix_shm::open(&c_name, options).map_err(|e| match e {
        OpenError::Sys(e) => {
            let mut err = SyscallError::from(e).with(Subject::Name(name.clone()));
            if e.errno() == libc::EINVAL || e.errno() == libc::ENOENT && create {
                err = err.hint("POSIX shared memory needs /dev/shm mounted as tmpfs");
            }
            Error::from(hints::on_exists(err, hints::Kind::PosixShm, &name))
        }
        OpenError::WrongType(kind) => not_regular(&format!("{}{name}", posix_shm::SHM_DIR), kind),
    })?;
    let fd = opened.fd.as_raw_fd();
    let st = file::fstat(fd).map_err(|e| Error::sys(e, Subject::Name(name.clone())))?;
    let object = ObjectId { dev: st.dev, ino: st.ino };
    let result = env.object()?;
    result.set("fd", env.int32(fd)?)?;
    result.set("created", env.boolean(opened.created)?)?;
    result.set("handle", env.external(ShmObject { fd: Mutex::new(Some(opened.fd)), object, name, read_only })?)?;
    Ok(result)
}

/// posixShmResize(handle, size, reserve = true): ftruncate, allocating the
/// pages it adds (fallocate) unless `reserve` is false; refused with
/// ERR_SHMKIT_BUSY when it would cut under a live mapping anywhere in this
/// process.
fn resize(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let size = call.arg(1, "size")?.integer(0, (1i64 << 53) - 1)? as u64;
    let reserve = call.arg(2, "reserve")?.boolean_or(true)?;
    object.with_fd(|fd| {
        posix_shm::resize_checked(fd, size, reserve).map_err(|e| match e {
            ResizeError::Busy(usage) => Error::coded(
                Code::Busy,
                format!(
                    "cannot shrink PosixShm '{}' to {size} bytes: this process still maps it up to byte {} ({} mapping{}, counting closed ones whose memory native code still uses), and touching a page past the new end would raise SIGBUS. Close those mappings first",
                    object.name,
                    usage.extent,
                    usage.mappings,
                    if usage.mappings == 1 { "" } else { "s" },
                ),
            ),
            ResizeError::Sys(e) => {
                let mut err = SyscallError::from(e).with(object.subject());
                if e.errno() == libc::ENOSPC {
                    err = err.hint("/dev/shm is full: free space there or mount it with a larger size=");
                } else if e.errno() == libc::EBADF || e.errno() == libc::EINVAL && object.read_only {
                    err = err.hint("the object was opened read-only");
                }
                Error::from(err)
            }
        })
    })?;
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
        let length = length.map(|l| l as usize);
        let what = format!("The POSIX shared memory object '{}'", object.name);
        options.map(&mut map_registry::lock(), fd, offset, length, &what, "resize() it before mapping").map_err(|e| match e {
            FileMapError::Sys(e) => {
                let mut err = SyscallError::from(e).with(object.subject());
                if e.errno() == libc::EACCES && object.read_only {
                    err = err.hint("the object was opened read-only: map it with { readOnly: true }");
                } else if e.errno() == libc::ENOSPC {
                    err = err.hint("/dev/shm is full: the object has unallocated pages (holes) that a writable mapping must reserve first, or a write to one would raise SIGBUS");
                }
                Error::from(err)
            }
            other => file_map_error(other, object.subject(), &what),
        })
    })?;
    expose(env, memory, options.init())
}

/// posixShmClose(handle) -> true if it was open. A descriptor that no
/// longer names the object (closed behind our back, its number reused) is
/// forgotten, never closed: it belongs to someone else now.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let taken = object.fd.lock().unwrap_or_else(|p| p.into_inner()).take();
    let was_open = taken.is_some();
    if let Some(fd) = taken {
        if !object.still_ours(fd.as_raw_fd()) {
            let _ = fd.into_raw_fd();
        }
    }
    env.boolean(was_open)
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
    let st = file::fstat(fd.as_raw_fd()).map_err(|e| Error::sys(e, Subject::Name(name.clone())))?;
    let object = ObjectId { dev: st.dev, ino: st.ino };
    let result = env.object()?;
    result.set("fd", env.int32(fd.as_raw_fd())?)?;
    result.set("created", env.boolean(true)?)?;
    result.set("handle", env.external(ShmObject { fd: Mutex::new(Some(fd)), object, name, read_only: false })?)?;
    Ok(result)
}

/// posixShmPublish(handle): gives an object from posixShmCreateUnnamed its
/// name, atomically; EEXIST if the name is taken.
fn publish(env: Env, call: &CallInfo) -> JsResult<Value> {
    let object = object(call)?;
    let c_name = posix_shm::validate_name(&object.name)
        .map_err(|e| Error::invalid_arg_value("name", e.reason(), &quoted(&object.name)))?;
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
