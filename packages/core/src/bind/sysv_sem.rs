//! Bindings for System V semaphore sets (`semget`, `semop`, `semctl`).
//! A blocked `semop` can only be interrupted by a signal, so async ones run
//! on the wait engine's pool in short steps, and sync ones in a worker
//! sleep in slices too (to notice a terminate).

use super::error::{ShmkitError, Subject};
use super::wait::{self, Resolve};
use crate::engine::blocking::INTERRUPT_SLICE_MS;
use crate::engine::{Job, Op, Outcome, Step};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::deadline::Deadline;
use crate::os::sysv_sem as sysv;

fn id_arg(call: &CallInfo) -> JsResult<i32> {
    Ok(call.arg(0, "id")?.integer(0, i32::MAX as i64)? as i32)
}

fn index_arg(call: &CallInfo, at: usize) -> JsResult<u16> {
    Ok(call.arg(at, "index")?.integer(0, u16::MAX as i64)? as u16)
}

fn id_error(id: i32) -> impl Fn(crate::os::Error) -> Error {
    move |e| Error::sys(e, Subject::Id(id))
}

/// sysvSemGet(key, count, create, exclusive, mode): semget.
fn sysv_get(env: Env, call: &CallInfo) -> JsResult<Value> {
    let key = call.arg(0, "key")?.u32()?;
    let count = call.arg(1, "count")?.integer(0, u16::MAX as i64)? as i32;
    let create = call.arg(2, "create")?.boolean_or(false)?;
    let exclusive = call.arg(3, "exclusive")?.boolean_or(false)?;
    let mode =
        call.arg(4, "mode")?.optional()?.map(|a| a.integer(0, 0o777)).transpose()?.unwrap_or(0o600) as libc::c_int;
    // Without IPC_CREAT the low bits are the access we ask for: read and
    // write, so a set we may not use fails here with EACCES, not later.
    let mut flags = 0o600;
    if create {
        flags = 0;
        flags |= libc::IPC_CREAT | mode;
        if exclusive {
            flags |= libc::IPC_EXCL;
        }
    }
    // key_t is a C int: keys above 2^31 are the same bits read as negative.
    let id = sysv::get(key as i32, count, flags).map_err(|e| {
        let failure = super::error::SyscallError::from(e).with(Subject::Key(key));
        Error::from(super::hints::on_exists(failure, super::hints::Kind::SysvSem, &super::hints::key_target(key)))
    })?;
    env.int32(id)
}

/// Ops arrive as an Int32Array of (index, op, flags) triples.
fn ops_arg(call: &CallInfo, at: usize) -> JsResult<Vec<libc::sembuf>> {
    let arg = call.arg(at, "ops")?;
    let view = arg.int32_array()?;
    if view.length == 0 || view.length % 3 != 0 {
        return Err(Error::invalid_arg_value(
            "ops",
            "must hold (index, op, flags) triples",
            &format!("{} numbers", view.length),
        ));
    }
    // SAFETY: an Int32Array's data is valid for `length` i32s during the call.
    let words = unsafe { std::slice::from_raw_parts(view.data.cast::<i32>(), view.length) };
    words
        .chunks_exact(3)
        .map(|t| {
            let index = u16::try_from(t[0])
                .map_err(|_| Error::out_of_range("ops.index", ">= 0 && <= 65535", &t[0].to_string()))?;
            let op = i16::try_from(t[1])
                .map_err(|_| Error::out_of_range("ops.op", ">= -32768 && <= 32767", &t[1].to_string()))?;
            let flags = (t[2] as i16) & (sysv::SEM_UNDO | sysv::IPC_NOWAIT);
            Ok(sysv::op(index, op, flags))
        })
        .collect()
}

/// sysvSemOp(id, ops, timeoutMs): semop/semtimedop; false on timeout.
fn sysv_op(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let mut ops = ops_arg(call, 1)?;
    let deadline = wait::timeout(call, 2)?;
    let done = wait::with_interrupt(env, |interrupted| {
        let Some(interrupted) = interrupted else { return sysv::semop(id, &mut ops, deadline) };
        loop {
            let slice = Deadline::min(deadline, Deadline::after_ms(INTERRUPT_SLICE_MS));
            if sysv::semop(id, &mut ops, slice)? {
                return Ok(true);
            }
            if deadline.is_some_and(Deadline::passed) || interrupted() {
                return Ok(false);
            }
        }
    })?
    .map_err(id_error(id))?;
    env.boolean(done)
}

/// One semop on the pool, a step at a time.
struct Semop {
    id: i32,
    ops: Vec<libc::sembuf>,
}

// SAFETY: sembuf is plain old data.
unsafe impl Send for Semop {}

impl Job for Semop {
    fn step(&mut self, until: Deadline) -> Step {
        match sysv::semop(self.id, &mut self.ops, Some(until)) {
            Ok(true) => Step::Done(Outcome::Acquired),
            Ok(false) => Step::Again,
            Err(e) => Step::Done(Outcome::Failed(e)),
        }
    }

    /// The operations went through after the wait was aborted: nobody will
    /// see them, so they are undone (units taken are always given back).
    fn undo(&mut self, outcome: &Outcome) {
        if *outcome == Outcome::Acquired {
            let _ = sysv::revert(self.id, &self.ops);
        }
    }
}

/// sysvSemOpAsync(id, ops, timeoutMs, group, flags) -> Promise<boolean>.
fn sysv_op_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let ops = ops_arg(call, 1)?;
    let common = wait::common(call, 2)?;
    wait::submit(env, Op::Job(Box::new(Semop { id, ops })), common, None, Resolve::Taken, Some(Subject::Id(id)))
}

fn sysv_get_value(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    env.int32(sysv::get_value(id, index_arg(call, 1)?).map_err(id_error(id))?)
}

fn sysv_set_value(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let index = index_arg(call, 1)?;
    let value = call.arg(2, "value")?.integer(0, sysv::SEMVMX.into())? as u16;
    sysv::set_value(id, index, value).map_err(id_error(id))?;
    env.undefined()
}

fn sysv_last_pid(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    env.int32(sysv::last_pid(id, index_arg(call, 1)?).map_err(id_error(id))?)
}

fn sysv_waiting_count(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    env.int32(sysv::waiting_count(id, index_arg(call, 1)?).map_err(id_error(id))?)
}

fn sysv_zero_waiting_count(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    env.int32(sysv::zero_waiting_count(id, index_arg(call, 1)?).map_err(id_error(id))?)
}

fn sysv_get_all(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let values = sysv::get_all(id).map_err(id_error(id))?;
    env.array_from(values, |v| env.uint32(v.into()))
}

/// sysvSemSetAll(id, Int32Array of values).
fn sysv_set_all(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let view = call.arg(1, "values")?.int32_array()?;
    // SAFETY: an Int32Array's data is valid for `length` i32s during the call.
    let words = unsafe { std::slice::from_raw_parts(view.data.cast::<i32>(), view.length) };
    let values = words
        .iter()
        .map(|&v| {
            u16::try_from(v)
                .ok()
                .filter(|&v| v <= sysv::SEMVMX)
                .ok_or_else(|| Error::out_of_range("values", &format!(">= 0 && <= {}", sysv::SEMVMX), &v.to_string()))
        })
        .collect::<JsResult<Vec<u16>>>()?;
    sysv::set_all(id, &values).map_err(id_error(id))?;
    env.undefined()
}

/// sysvSemStat(id): IPC_STAT as a plain object.
fn sysv_stat(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let ds = sysv::stat(id).map_err(id_error(id))?;
    let o = env.object()?;
    o.set("key", env.uint32(ds.sem_perm.__key as u32)?)?;
    o.set("uid", env.uint32(ds.sem_perm.uid)?)?;
    o.set("gid", env.uint32(ds.sem_perm.gid)?)?;
    o.set("cuid", env.uint32(ds.sem_perm.cuid)?)?;
    o.set("cgid", env.uint32(ds.sem_perm.cgid)?)?;
    o.set("mode", env.uint32((ds.sem_perm.mode & 0o777).into())?)?;
    o.set("count", env.int64(ds.sem_nsems as i64)?)?;
    o.set("otime", super::ipc_time(env, ds.sem_otime as i64)?)?;
    o.set("ctime", env.date(ds.sem_ctime as f64 * 1000.0)?)?;
    Ok(o)
}

/// sysvSemSetPermissions(id, { uid, gid, mode }): IPC_SET.
fn sysv_set_permissions(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let options = call.arg(1, "options")?;
    let uid = options.property("uid", "options.uid")?.optional()?.map(|a| a.u32()).transpose()?;
    let gid = options.property("gid", "options.gid")?.optional()?.map(|a| a.u32()).transpose()?;
    let mode = options
        .property("mode", "options.mode")?
        .optional()?
        .map(|a| a.integer(0, 0o777))
        .transpose()?
        .map(|m| m as u16);
    sysv::set_permissions(id, uid, gid, mode).map_err(id_error(id))?;
    env.undefined()
}

fn sysv_remove(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    sysv::remove(id).map_err(id_error(id))?;
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("sysvSemGet", sysv_get)?
        .function("sysvSemOp", sysv_op)?
        .function("sysvSemOpAsync", sysv_op_async)?
        .function("sysvSemGetValue", sysv_get_value)?
        .function("sysvSemSetValue", sysv_set_value)?
        .function("sysvSemLastPid", sysv_last_pid)?
        .function("sysvSemWaitingCount", sysv_waiting_count)?
        .function("sysvSemZeroWaitingCount", sysv_zero_waiting_count)?
        .function("sysvSemGetAll", sysv_get_all)?
        .function("sysvSemSetAll", sysv_set_all)?
        .function("sysvSemStat", sysv_stat)?
        .function("sysvSemSetPermissions", sysv_set_permissions)?
        .function("sysvSemRemove", sysv_remove)?;
    Ok(())
}
