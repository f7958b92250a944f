//! System V shared memory for JS: ftok, shmget, shmat (as a Mapping) and the
//! shmctl commands. Segments are plain ids (numbers), as in C, so a segment
//! made by another process or by `ipcmk` is used the same way as our own.

use super::error::{ShmkitError, Subject, SyscallError};
use super::{expose, hints, MappingInit};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::{self, sysv};
use std::ffi::CString;

fn id_arg(call: &CallInfo, index: usize) -> JsResult<i32> {
    Ok(call.arg(index, "id")?.integer(0, i32::MAX as i64)? as i32)
}

/// A system error about segment `id`, with a hint for the errors whose
/// meaning is not obvious from the errno alone.
fn id_error(error: os::Error, id: i32) -> Error {
    let hint = match error.code() {
        "EINVAL" | "EIDRM" => Some("no segment has this id: it was removed, or never existed"),
        _ => None,
    };
    let mut sys_err = SyscallError::from(error).with(Subject::Id(id));
    if let Some(hint) = hint {
        sys_err = sys_err.hint(hint);
    }
    Error::from(sys_err)
}

/// [`id_error`], unless the call has its own `hint` for this error.
fn hinted_id_error(error: os::Error, id: i32, hint: Option<&'static str>) -> Error {
    match hint {
        Some(hint) => Error::from(SyscallError::from(error).with(Subject::Id(id)).hint(hint)),
        None => id_error(error, id),
    }
}

/// sysvFtok(path, projId): the key ftok(3) makes for a file and project id.
fn ftok(env: Env, call: &CallInfo) -> JsResult<Value> {
    let path = call.arg(0, "path")?.string()?;
    let proj_id = call.arg(1, "projId")?.integer(1, 255)? as u8;
    let c_path = CString::new(path.as_str())
        .map_err(|_| Error::invalid_arg_value("path", "must not contain null bytes", "a string with a null byte"))?;
    let key = sysv::ftok(&c_path, proj_id).map_err(|e| Error::sys(e, Subject::Path(path)))?;
    env.uint32(key)
}

/// sysvShmGet(key, size, { create, exclusive, mode }): shmget, the id.
/// `size` 0 opens a segment of any size.
fn get(env: Env, call: &CallInfo) -> JsResult<Value> {
    let key = call.arg(0, "key")?.u32()?;
    let size = call.arg(1, "size")?.integer(0, (1i64 << 53) - 1)? as usize;
    let options = call.arg(2, "options")?;
    let create = options.property("create", "options.create")?.boolean_or(false)?;
    let exclusive = options.property("exclusive", "options.exclusive")?.boolean_or(false)?;
    let mode = match options.property("mode", "options.mode")?.optional()? {
        Some(mode) => mode.integer(0, 0o777)? as u32,
        None => 0o600,
    };
    let huge_pages = options.property("hugePages", "options.hugePages")?.boolean_or(false)?;
    let no_reserve = options.property("noReserve", "options.noReserve")?.boolean_or(false)?;
    if create && huge_pages && no_reserve {
        // Unreserved huge pages are taken from the pool on first touch; with
        // none free the kernel answers that touch with SIGBUS.
        return Err(Error::Type {
            code: "ERR_INCOMPATIBLE_OPTION_PAIR",
            message: "Option \"hugePages\" cannot be used in combination with option \"noReserve\": a segment of unreserved huge pages raises SIGBUS on the first write once no huge page is free".into(),
        });
    }
    let get_options = sysv::GetOptions { create, exclusive, mode, huge_pages, no_reserve };
    let id = sysv::get(key, size, get_options).map_err(|e| {
        let hint = match e.code() {
            "ENOMEM" | "EINVAL" if huge_pages => Some(
                "huge page segments need free huge pages (vm.nr_hugepages) and a size the kernel accepts for them".to_string(),
            ),
            "EPERM" if huge_pages => {
                Some("huge page segments need CAP_IPC_LOCK or membership of vm.hugetlb_shm_group".to_string())
            }
            "EINVAL" if create => Some(format!(
                "the size must be within the system's limits (see limits().shmmax), and a segment that already has this key must be at least {size} bytes"
            )),
            "EINVAL" => Some(format!("the segment with this key is smaller than the {size} bytes asked for")),
            "EEXIST" => Some(hints::name_taken(hints::Kind::SysvShm, &hints::key_target(key))),
            "ENOSPC" => Some("the system limit on segments (shmmni) or on shared pages (shmall) is reached".to_string()),
            "ENOMEM" => Some("the segment would be larger than the memory available".to_string()),
            _ => None,
        };
        let mut sys_err = SyscallError::from(e).with(Subject::Key(key));
        if let Some(hint) = hint {
            sys_err = sys_err.hint(hint);
        }
        Error::from(sys_err)
    })?;
    env.int32(id)
}

/// sysvShmAttach(id, readOnly): shmat as a Mapping over the whole segment.
///
/// A read-only attachment (SHM_RDONLY) gets no ArrayBuffer: its pages are
/// not writable and a JS write through a view would kill the process with
/// SIGSEGV. JS reads it by copying (`mapping.read()`).
fn attach(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call, 0)?;
    let read_only = call.arg(1, "readOnly")?.boolean_or(false)?;
    let memory = sysv::attach(id, read_only).map_err(|e| id_error(e, id))?;
    expose(env, memory, MappingInit { buffer: !read_only })
}

/// sysvShmStat(id): every field of IPC_STAT's shmid_ds.
fn stat(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call, 0)?;
    let st = sysv::stat(id).map_err(|e| id_error(e, id))?;
    let out = env.object()?;
    out.set("id", env.int32(id)?)?;
    out.set("key", env.uint32(st.key)?)?;
    out.set("size", env.int64(st.size as i64)?)?;
    out.set("mode", env.uint32(st.mode & 0o777)?)?;
    out.set("rawMode", env.uint32(st.mode)?)?;
    out.set("removed", env.boolean(st.mode & sysv::SHM_DEST != 0)?)?;
    out.set("locked", env.boolean(st.mode & sysv::SHM_LOCKED != 0)?)?;
    out.set("uid", env.uint32(st.uid)?)?;
    out.set("gid", env.uint32(st.gid)?)?;
    out.set("cuid", env.uint32(st.cuid)?)?;
    out.set("cgid", env.uint32(st.cgid)?)?;
    out.set("cpid", env.int32(st.cpid)?)?;
    out.set("lpid", env.int32(st.lpid)?)?;
    out.set("nattch", env.int64(st.nattch as i64)?)?;
    out.set("seq", env.uint32(st.seq as u32)?)?;
    out.set("atime", super::ipc_time(env, st.atime)?)?;
    out.set("dtime", super::ipc_time(env, st.dtime)?)?;
    out.set("ctime", super::ipc_time(env, st.ctime)?)?;
    Ok(out)
}

/// sysvShmSet(id, uid, gid, mode): IPC_SET.
fn set(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call, 0)?;
    let uid = call.arg(1, "uid")?.u32()?;
    let gid = call.arg(2, "gid")?.u32()?;
    let mode = call.arg(3, "mode")?.integer(0, 0o777)? as u32;
    sysv::set(id, uid, gid, mode).map_err(|e| {
        let hint = (e.code() == "EPERM")
            .then_some("only the owner, the creator or a process with CAP_SYS_ADMIN may change a segment");
        hinted_id_error(e, id, hint)
    })?;
    env.undefined()
}

/// sysvShmLock(id, lock): SHM_LOCK (true) or SHM_UNLOCK (false).
fn lock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call, 0)?;
    let locked = call.arg(1, "lock")?.boolean()?;
    sysv::lock(id, locked).map_err(|e| {
        let hint = match e.code() {
            "EPERM" => Some(
                "locking needs CAP_IPC_LOCK, or a non-zero RLIMIT_MEMLOCK (ulimit -l) and being the segment's owner or creator",
            ),
            "ENOMEM" => Some("the segment does not fit in what RLIMIT_MEMLOCK (ulimit -l) still allows; raise it or use CAP_IPC_LOCK"),
            _ => None,
        };
        hinted_id_error(e, id, hint)
    })?;
    env.undefined()
}

/// sysvShmRemove(id): IPC_RMID.
fn remove(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call, 0)?;
    sysv::remove(id).map_err(|e| {
        let hint = (e.code() == "EPERM")
            .then_some("only the owner, the creator or a process with CAP_SYS_ADMIN may remove a segment");
        hinted_id_error(e, id, hint)
    })?;
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("sysvFtok", ftok)?
        .function("sysvShmGet", get)?
        .function("sysvShmAttach", attach)?
        .function("sysvShmStat", stat)?
        .function("sysvShmSet", set)?
        .function("sysvShmLock", lock)?
        .function("sysvShmRemove", remove)?;
    Ok(())
}
