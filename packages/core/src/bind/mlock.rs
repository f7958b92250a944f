//! Bindings for memory locking: mlock/mlock2/munlock on a Mapping or on the
//! bytes of an ArrayBuffer, mlockall/munlockall, and the limits around them.
//!
//! Locks do not nest in the kernel, so every live lock is recorded in one
//! process-wide registry (`model::lock_registry`) that munlocks only the
//! pages no other live lock still covers. A lock on a Mapping holds only a
//! weak reference to its memory: closing the Mapping unmaps it, which drops
//! the kernel's lock, and the registry forgets the entry as soon as it
//! notices.

use super::error::{ShmkitError, Subject, SyscallError};
use super::RegionHandle;
use crate::model::lock_registry::{self, LockRegistry};
use crate::model::region::RangeNames;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::{
    self,
    mlock::{self as oslock, LockAll},
    mman::MmapRaw,
};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// What keeps the locked memory mapped.
enum Owner {
    /// A Mapping: alive while the weak reference upgrades.
    Mapping(Weak<MmapRaw>),
    /// Bytes of an ArrayBuffer: the JS side holds the buffer while locked.
    Bytes,
}

impl lock_registry::Owner for Owner {
    type Pin = Option<Arc<MmapRaw>>;

    fn pin(&self) -> Option<Self::Pin> {
        match self {
            Owner::Mapping(memory) => memory.upgrade().map(Some),
            Owner::Bytes => Some(None),
        }
    }
}

/// One registry for the process: workers share the address space, so they
/// share its locks too.
static REGISTRY: Mutex<LockRegistry<Owner>> = Mutex::new(LockRegistry::new());

fn registry() -> MutexGuard<'static, LockRegistry<Owner>> {
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    registry.forget_unmapped();
    registry
}

fn lock_span(span: (usize, usize), owner: Owner, on_fault: bool) -> os::Result<u64> {
    registry().lock(span, owner, |(start, end)| oslock::lock(start, end - start, on_fault))
}

fn release(id: u64) -> os::Result<bool> {
    registry().release(id, |(start, end)| match oslock::unlock(start, end - start) {
        // Part of it is not mapped any more (a transferred or freed
        // buffer): nothing is locked there.
        Err(e) if e.errno() == libc::ENOMEM => Ok(()),
        other => other,
    })
}

/// A live lock, as JS holds it. Collected only after the JS side let go of
/// it, which it does once unlocked; if it is collected while still live (a
/// worker exiting with locks held), it unlocks, so no lock outlives its owner.
struct LockHandle {
    id: u64,
}

impl Tagged for LockHandle {
    const NAME: &'static str = "MemoryLock";
}

impl Drop for LockHandle {
    fn drop(&mut self) {
        let _ = release(self.id);
    }
}

/// "65536 bytes (64 KiB)": bytes for precision, a unit for the eye.
fn human(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{bytes} bytes ({:.1} GiB)", b / KIB / KIB / KIB)
    } else if b >= KIB * KIB {
        format!("{bytes} bytes ({:.1} MiB)", b / KIB / KIB)
    } else if b >= KIB {
        format!("{bytes} bytes ({:.1} KiB)", b / KIB)
    } else {
        format!("{bytes} bytes")
    }
    .replace(".0 ", " ")
}

const RAISE: &str =
    "raise the limit (`ulimit -l <KiB>` before starting node, `prlimit --memlock=<bytes>`, LimitMEMLOCK= for a systemd \
service), give the process CAP_IPC_LOCK";

/// The hint for a refused lock of `request` bytes, given what the kernel
/// counts against the limit at the time of the failure.
fn limit_hint(err: os::Error, request: u64, what: &str) -> Option<String> {
    let limit = oslock::memlock_limit().ok()?;
    let status = oslock::status().ok()?;
    let soft = limit.soft?;
    if status.ipc_lock {
        return None;
    }
    match err.errno() {
        libc::EPERM => Some(format!(
            "RLIMIT_MEMLOCK is 0 and the process lacks CAP_IPC_LOCK, so it may lock nothing ({what} needs {}); {RAISE}",
            human(request)
        )),
        libc::ENOMEM if status.locked.saturating_add(request) > soft => Some(format!(
            "RLIMIT_MEMLOCK is {}, {} are locked already (VmLck) and {what} needs {}; {RAISE}, or lock less",
            human(soft),
            human(status.locked),
            human(request),
        )),
        _ => None,
    }
}

fn lock_error(err: os::Error, span: (usize, usize)) -> Error {
    let request = (span.1 - span.0) as u64;
    let subject = Subject::Detail(format!("{} at 0x{:x}", human(request), span.0));
    let hint = match err.errno() {
        libc::EPERM | libc::ENOMEM => limit_hint(err, request, "this lock").or_else(|| {
            (err.errno() == libc::ENOMEM)
                .then(|| "part of the range is not mapped (was the memory unmapped?)".to_string())
        }),
        libc::EAGAIN => Some("some of the pages could not be locked right now; try again, or lock less".into()),
        libc::ENOSYS => Some("this kernel has no mlock2 (Linux 4.4+ needed for onFault); lock without onFault".into()),
        libc::EINVAL if err.syscall() == "mlock2" => {
            Some("this kernel does not support MLOCK_ONFAULT (Linux 4.4+); lock without onFault".into())
        }
        libc::EINVAL => Some("the range wraps around the address space".into()),
        _ => None,
    };
    let error = SyscallError::from(err).with(subject);
    Error::from(match hint {
        Some(hint) => error.hint(hint),
        None => error,
    })
}

fn lock_result(env: Env, id: u64, span: (usize, usize)) -> JsResult<Value> {
    let result = env.object()?;
    result.set("handle", env.external(LockHandle { id })?)?;
    result.set("address", env.bigint_u64(span.0 as u64)?)?;
    result.set("byteLength", env.number((span.1 - span.0) as f64)?)?;
    Ok(result)
}

fn require_length(length: usize, name: &'static str) -> JsResult<()> {
    if length == 0 {
        return Err(Error::out_of_range(name, ">= 1 (a lock must cover at least one byte)", "0"));
    }
    Ok(())
}

/// mlockLockMapping(mapping, offset, length | undefined, onFault)
fn lock_mapping(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = &call.handle::<RegionHandle>(0, "mapping")?.0;
    let memory = region.memory()?;
    let offset = call.arg(1, "options.offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = call.arg(2, "options.length")?.optional()?.map(|a| a.offset()).transpose()?;
    let on_fault = call.arg(3, "options.onFault")?.boolean_or(false)?;
    let (offset, length) = region.check_range(offset, length, RangeNames::OPTIONS)?;
    require_length(length, "options.length")?;
    let span = oslock::page_span(memory.address() + offset, length);
    let locked = lock_span(span, Owner::Mapping(Arc::downgrade(&memory)), on_fault);
    let id = locked.map_err(|e| lock_error(e, span))?;
    lock_result(env, id, span)
}

/// mlockLockBytes(bytes, offset, length | undefined, onFault)
///
/// The caller (the TS layer) keeps `bytes` reachable until it unlocks.
fn lock_bytes(env: Env, call: &CallInfo) -> JsResult<Value> {
    let target = call.arg(0, "target")?;
    let view = target.bytes()?;
    let offset = call.arg(1, "options.offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = call.arg(2, "options.length")?.optional()?.map(|a| a.offset()).transpose()?;
    let on_fault = call.arg(3, "options.onFault")?.boolean_or(false)?;
    if view.byte_length == 0 || view.data.is_null() {
        return Err(Error::invalid_arg_value("target", "is empty or detached: there is no memory to lock", "0 bytes"));
    }
    let total = view.byte_length as u64;
    if offset > total {
        return Err(Error::out_of_range("options.offset", &format!(">= 0 && <= {total}"), &offset.to_string()));
    }
    let length = length.unwrap_or(total - offset);
    if length > total - offset {
        return Err(Error::out_of_range(
            "options.length",
            &format!(">= 1 && <= {} (the bytes after offset {offset})", total - offset),
            &length.to_string(),
        ));
    }
    require_length(length as usize, "options.length")?;
    let span = oslock::page_span(view.data as usize + offset as usize, length as usize);
    let locked = lock_span(span, Owner::Bytes, on_fault);
    let id = locked.map_err(|e| lock_error(e, span))?;
    lock_result(env, id, span)
}

/// mlockUnlock(lock): true if it was live.
fn unlock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let lock = call.handle::<LockHandle>(0, "lock")?;
    let released = release(lock.id)?;
    env.boolean(released)
}

/// mlockIsLocked(lock): false once unlocked, after unlockAll, or once the
/// locked Mapping's memory is unmapped.
fn is_locked(env: Env, call: &CallInfo) -> JsResult<Value> {
    let lock = call.handle::<LockHandle>(0, "lock")?;
    // The guard must be gone before any call into Node: a finalizer that
    // runs during that call may need the registry.
    let live = registry().is_live(lock.id);
    env.boolean(live)
}

/// mlockLockAll(current, future, onFault)
fn lock_all(env: Env, call: &CallInfo) -> JsResult<Value> {
    let what = LockAll {
        current: call.arg(0, "options.current")?.boolean_or(false)?,
        future: call.arg(1, "options.future")?.boolean_or(false)?,
        on_fault: call.arg(2, "options.onFault")?.boolean_or(false)?,
    };
    if !what.current && !what.future {
        return Err(Error::invalid_arg_value("options", "must set current, future or both", "neither"));
    }
    oslock::lock_all(what).map_err(|err| {
        let mut flags = Vec::new();
        if what.current {
            flags.push("MCL_CURRENT");
        }
        if what.future {
            flags.push("MCL_FUTURE");
        }
        if what.on_fault {
            flags.push("MCL_ONFAULT");
        }
        let mapped = oslock::status().map(|s| s.mapped).unwrap_or(0);
        let hint = match err.errno() {
            libc::EINVAL if what.on_fault => {
                Some("this kernel does not support MCL_ONFAULT (Linux 4.4+); lock without onFault".to_string())
            }
            libc::EPERM | libc::ENOMEM => limit_hint(err, mapped, "locking every mapping (VmSize)"),
            libc::EAGAIN => Some("some of the pages could not be locked right now; try again".into()),
            _ => None,
        };
        let error = SyscallError::from(err).with(Subject::Detail(format!("flags {}", flags.join("|"))));
        Error::from(match hint {
            Some(hint) => error.hint(hint),
            None => error,
        })
    })?;
    env.undefined()
}

/// mlockUnlockAll(): munlockall, which also ends every range lock.
fn unlock_all(env: Env, _call: &CallInfo) -> JsResult<Value> {
    {
        let mut registry = registry();
        oslock::unlock_all()?;
        registry.clear();
    }
    env.undefined()
}

fn limit_value(env: Env, limit: Option<u64>) -> JsResult<Value> {
    env.number(limit.map_or(f64::INFINITY, |v| v as f64))
}

/// mlockLimits(): { soft, hard } in bytes, Infinity for unlimited.
fn limits(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let limit = oslock::memlock_limit()?;
    let result = env.object()?;
    result.set("soft", limit_value(env, limit.soft)?)?;
    result.set("hard", limit_value(env, limit.hard)?)?;
    Ok(result)
}

/// mlockStatus(): { locked, resident, mapped, ipcLock } from /proc/self/status.
fn status(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let status = oslock::status().map_err(|e| Error::sys(e, Subject::Path("/proc/self/status".into())))?;
    let result = env.object()?;
    result.set("locked", env.number(status.locked as f64)?)?;
    result.set("resident", env.number(status.resident as f64)?)?;
    result.set("mapped", env.number(status.mapped as f64)?)?;
    result.set("ipcLock", env.boolean(status.ipc_lock)?)?;
    Ok(result)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("mlockLockMapping", lock_mapping)?
        .function("mlockLockBytes", lock_bytes)?
        .function("mlockUnlock", unlock)?
        .function("mlockIsLocked", is_locked)?
        .function("mlockLockAll", lock_all)?
        .function("mlockUnlockAll", unlock_all)?
        .function("mlockLimits", limits)?
        .function("mlockStatus", status)?;
    Ok(())
}
