//! Bindings for FIFOs (`fifo*`): creation and opening are native (so that
//! neither blocks nor follows a planted symlink); Node's own non-blocking
//! I/O reads and writes them.

use super::error::{ShmkitError, Subject, SyscallError};
use super::hints;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::fifo::{self, End};
use crate::os::file::OpenError;
use std::os::fd::IntoRawFd;

fn path_arg(call: &CallInfo) -> JsResult<String> {
    let path = call.arg(0, "path")?.string()?;
    if path.is_empty() || path.contains('\0') {
        return Err(Error::invalid_arg_value(
            "path",
            "must be a non-empty string without null bytes",
            &format!("'{path}'"),
        ));
    }
    Ok(path)
}

/// fifoCreate(path, mode, reuse) -> true if this call created it.
fn create(env: Env, call: &CallInfo) -> JsResult<Value> {
    let path = path_arg(call)?;
    let mode = call.arg(1, "mode")?.integer(0, 0o7777)? as u32;
    let reuse = call.arg(2, "reuse")?.boolean()?;
    let c_path = fifo::c_path(&path).map_err(|e| Error::sys(e, Subject::Path(path.clone())))?;
    let created = fifo::create(&c_path, mode, reuse).map_err(|e| {
        Error::from(hints::on_exists(SyscallError::from(e).with(Subject::Path(path.clone())), hints::Kind::Fifo, &path))
    })?;
    env.boolean(created)
}

/// fifoOpen(path, write) -> fd: one end, O_NONBLOCK, refusing anything that
/// is not a FIFO (ERR_INVALID_ARG_VALUE) before opening it for real. The
/// caller owns the descriptor.
fn open(env: Env, call: &CallInfo) -> JsResult<Value> {
    let path = path_arg(call)?;
    let end = if call.arg(1, "write")?.boolean()? { End::Write } else { End::Read };
    let c_path = fifo::c_path(&path).map_err(|e| Error::sys(e, Subject::Path(path.clone())))?;
    let fd = fifo::open(&c_path, end).map_err(|e| match e {
        OpenError::Sys(e) => Error::sys(e, Subject::Path(path.clone())),
        OpenError::WrongType(kind) => {
            Error::invalid_arg_value("path", &format!("is not a FIFO ({})", kind.described()), &format!("'{path}'"))
        }
    })?;
    env.int32(fd.into_raw_fd())
}

fn pipe_buf(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.uint32(fifo::PIPE_BUF as u32)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("fifoCreate", create)?.function("fifoOpen", open)?.function("fifoPipeBuf", pipe_buf)?;
    Ok(())
}
