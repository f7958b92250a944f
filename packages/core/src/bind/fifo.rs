//! Bindings for FIFOs (`fifo*`): only creation is native; Node's own
//! non-blocking I/O opens, reads and writes them.

use super::error::{ShmkitError, Subject, SyscallError};
use super::hints;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::fifo;

/// fifoCreate(path, mode, reuse) -> true if this call created it.
fn create(env: Env, call: &CallInfo) -> JsResult<Value> {
    let path = call.arg(0, "path")?.string()?;
    let mode = call.arg(1, "mode")?.integer(0, 0o7777)? as u32;
    let reuse = call.arg(2, "reuse")?.boolean()?;
    if path.is_empty() || path.contains('\0') {
        return Err(Error::invalid_arg_value("path", "must be a non-empty string without null bytes", &format!("'{path}'")));
    }
    let c_path = fifo::c_path(&path).map_err(|e| Error::sys(e, Subject::Path(path.clone())))?;
    let created = fifo::create(&c_path, mode, reuse)
        .map_err(|e| Error::from(hints::on_exists(SyscallError::from(e).with(Subject::Path(path.clone())), hints::Kind::Fifo, &path)))?;
    env.boolean(created)
}

fn pipe_buf(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.uint32(fifo::PIPE_BUF as u32)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("fifoCreate", create)?.function("fifoPipeBuf", pipe_buf)?;
    Ok(())
}
