//! Bindings for POSIX semaphores: a `sem_t` in a Mapping, and named
//! semaphores (`sem_open`). Waits, sync and async, go through the wait
//! engine, which speaks glibc's protocol on the semaphore's words itself.

use super::error::{Code, ShmkitError, Subject, SyscallError};
use super::hints;
use super::wait::{self, Resolve};
use super::{Region, RegionHandle, RegionPin};
use crate::engine::{blocking, Op, Outcome};
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::mman::MmapRaw;
use crate::os::sem::{self as os_sem, Create, NamedSem, OpenSemError, RawSem};
use crate::os::sysv_sem;
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

enum Source {
    /// A sem_t at `offset` in a Mapping. The region is asked for its memory
    /// on every call, so a closed Mapping gives ERR_SHMKIT_CLOSED instead of
    /// a dangling pointer; waits hold the memory until they return.
    Memory {
        region: Arc<Region>,
        offset: usize,
    },
    Named {
        sem: Mutex<Option<Arc<NamedSem>>>,
        name: String,
    },
}

pub struct SemHandle {
    source: Source,
}

impl Tagged for SemHandle {
    const NAME: &'static str = "Semaphore";
}

/// A live reference to the semaphore that keeps its memory mapped.
enum Live {
    /// The pin keeps `protect` from revoking access while this is alive.
    Memory(Arc<MmapRaw>, usize, RegionPin),
    Named(Arc<NamedSem>),
}

impl Live {
    /// The semaphore, valid while `self` lives.
    fn raw(&self) -> RawSem {
        match self {
            // SAFETY: the offset was checked to leave SEM_T_SIZE bytes,
            // aligned, inside this mapping, which `memory` keeps mapped.
            Live::Memory(memory, offset, _pin) => unsafe {
                RawSem::from_ptr(NonNull::new_unchecked(memory.as_ptr().add(*offset).cast::<libc::sem_t>()))
            },
            // SAFETY: the Arc keeps the semaphore open (and mapped).
            Live::Named(named) => unsafe { RawSem::from_ptr(NonNull::new_unchecked(named.sem().as_ptr())) },
        }
    }

    fn with<R>(&self, f: impl FnOnce(&RawSem) -> R) -> R {
        f(&self.raw())
    }
}

impl SemHandle {
    fn live(&self) -> JsResult<Live> {
        match &self.source {
            Source::Memory { region, offset } => {
                // protect() may have made the page unwritable since attach.
                region.check_access(*offset, os_sem::SEM_T_SIZE, true)?;
                Ok(Live::Memory(region.memory()?, *offset, region.pin()))
            }
            Source::Named { sem, .. } => sem
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .map(Live::Named)
                .ok_or_else(|| Error::closed("NamedSemaphore")),
        }
    }

    fn subject(&self) -> Subject {
        match &self.source {
            Source::Memory { offset, .. } => Subject::Detail(format!("sem_t at offset {offset}")),
            Source::Named { name, .. } => Subject::Name(name.clone()),
        }
    }

    fn fail(&self, error: crate::os::Error) -> Error {
        sem_error(error, self.subject())
    }
}

/// A failed sem_* call as a JS error. Bytes that are no process-shared
/// sem_t (RawSem::check) are refused before glibc sees them, with
/// ERR_SHMKIT_NOT_INITIALIZED: glibc would abort the process on them.
fn sem_error(error: crate::os::Error, subject: Subject) -> Error {
    if error.syscall() != os_sem::NOT_A_SEM {
        return Error::sys(error, subject);
    }
    let place = match subject {
        Subject::Name(name) => format!("the named semaphore '{name}'"),
        Subject::Detail(detail) => detail,
        _ => "these bytes".to_string(),
    };
    Error::coded(Code::NotInitialized,
        format!("{place} is not a process-shared sem_t (its 'private' word is not what sem_init(pshared = 1) writes): initialise it with Semaphore.init or sem_init(sem, 1, value)"),
    )
}

/// The mapping and checked offset for a sem_t.
fn memory_target(call: &CallInfo) -> JsResult<(Arc<Region>, usize, NonNull<libc::sem_t>)> {
    let region = Arc::clone(&call.handle::<RegionHandle>(0, "mapping")?.0);
    let offset = call.arg(1, "offset")?.offset()?;
    if offset % os_sem::SEM_T_ALIGN as u64 != 0 {
        return Err(Error::invalid_arg_range(
            "offset",
            &format!("must be a multiple of {} (the alignment of sem_t)", os_sem::SEM_T_ALIGN),
            &offset.to_string(),
        ));
    }
    let len = region.len() as u64;
    if len < os_sem::SEM_T_SIZE as u64 || offset > len - os_sem::SEM_T_SIZE as u64 {
        let max = len.saturating_sub(os_sem::SEM_T_SIZE as u64);
        return Err(Error::out_of_range(
            "offset",
            &format!(">= 0 && <= {max} (room for a {}-byte sem_t)", os_sem::SEM_T_SIZE),
            &offset.to_string(),
        ));
    }
    let memory = region.memory()?;
    // SAFETY: offset + SEM_T_SIZE <= len, so the pointer stays in the mapping.
    let ptr = unsafe { NonNull::new_unchecked(memory.as_ptr().add(offset as usize).cast::<libc::sem_t>()) };
    Ok((region, offset as usize, ptr))
}

/// semInit(mapping, offset, value): sem_init(pshared = 1) and a handle.
fn init(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (region, offset, ptr) = memory_target(call)?;
    let value = call.arg(2, "value")?.integer(0, os_sem::SEM_VALUE_MAX as i64)? as u32;
    region.check_access(offset, os_sem::SEM_T_SIZE, true)?;
    let memory = region.memory()?;
    // SAFETY: memory_target checked the bounds and alignment and `memory`
    // keeps the mapping alive during the call. Re-initializing a semaphore
    // others use is the caller's documented responsibility (as in C); it
    // cannot corrupt anything outside these 32 bytes.
    unsafe { RawSem::init(ptr, value) }
        .map_err(|e| Error::sys(e, Subject::Detail(format!("sem_t at offset {offset}"))))?;
    drop(memory);
    env.external(SemHandle { source: Source::Memory { region, offset } })
}

/// semAttach(mapping, offset): a handle to an existing sem_t, refused
/// (ERR_SHMKIT_NOT_INITIALIZED) unless the bytes look like a pshared one.
fn attach(env: Env, call: &CallInfo) -> JsResult<Value> {
    let (region, offset, _) = memory_target(call)?;
    let handle = SemHandle { source: Source::Memory { region, offset } };
    handle.live()?.with(|s| s.check()).map_err(|e| handle.fail(e))?;
    env.external(handle)
}

fn c_name(name: &str) -> JsResult<CString> {
    CString::new(name)
        .map_err(|_| Error::invalid_arg_value("name", "must not contain null bytes", &format!("'{name}'")))
}

/// semOpen(name, create, exclusive, mode, value): sem_open.
fn open(env: Env, call: &CallInfo) -> JsResult<Value> {
    let name = call.arg(0, "name")?.string()?;
    let create = call.arg(1, "create")?.boolean_or(false)?;
    let exclusive = call.arg(2, "exclusive")?.boolean_or(false)?;
    let mode =
        call.arg(3, "mode")?.optional()?.map(|a| a.integer(0, 0o7777)).transpose()?.unwrap_or(0o600) as libc::mode_t;
    let value =
        call.arg(4, "value")?.optional()?.map(|a| a.integer(0, os_sem::SEM_VALUE_MAX as i64)).transpose()?.unwrap_or(0)
            as u32;
    let cname = c_name(&name)?;
    let how = create.then_some(Create { exclusive, mode, value });
    let sem = NamedSem::open(&cname, how).map_err(|e| named_open_error(e, &name))?;
    env.external(SemHandle { source: Source::Named { sem: Mutex::new(Some(Arc::new(sem))), name } })
}

/// What a refused named semaphore file gives: the system error, or a coded
/// error saying why the file at /dev/shm/sem.NAME was not used.
fn named_open_error(error: OpenSemError, name: &str) -> Error {
    let file = format!("/dev/shm/sem.{}", name.trim_start_matches('/'));
    match error {
        OpenSemError::Sys(e) => {
            let failure = SyscallError::from(e).with(Subject::Name(name.to_string()));
            Error::from(hints::on_exists(failure, hints::Kind::PosixSem, name))
        }
        OpenSemError::WrongType(kind) => Error::coded(
            Code::NotRegularFile,
            format!("the named semaphore '{name}' is {} ({file}), not a regular file holding a sem_t", kind.described()),
        ),
        OpenSemError::TooShort { size } => Error::coded(
            Code::NotInitialized,
            format!(
                "{file} holds {size} bytes, fewer than a sem_t ({}): it is not a named semaphore, and mapping it would crash the process",
                os_sem::SEM_T_SIZE
            ),
        ),
        OpenSemError::NotASemaphore => sem_error(crate::os::Error::new(libc::EINVAL, os_sem::NOT_A_SEM), Subject::Name(name.to_string())),
    }
}

/// semClose(handle): sem_close once no wait uses it any more. Idempotent;
/// true if it was open.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let handle = call.handle::<SemHandle>(0, "handle")?;
    let was_open = match &handle.source {
        Source::Named { sem, .. } => sem.lock().unwrap_or_else(|p| p.into_inner()).take().is_some(),
        Source::Memory { .. } => false,
    };
    env.boolean(was_open)
}

/// semUnlink(name): sem_unlink.
fn unlink(env: Env, call: &CallInfo) -> JsResult<Value> {
    let name = call.arg(0, "name")?.string()?;
    let cname = c_name(&name)?;
    os_sem::unlink(&cname).map_err(|e| Error::sys(e, Subject::Name(name)))?;
    env.undefined()
}

fn handle(call: &CallInfo) -> JsResult<&SemHandle> {
    call.handle::<SemHandle>(0, "handle")
}

/// semPost(handle).
fn post(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    h.live()?.with(|s| s.post()).map_err(|e| h.fail(e))?;
    env.undefined()
}

/// semTryWait(handle): true if a unit was taken.
fn try_wait(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    env.boolean(h.live()?.with(|s| s.try_wait()))
}

fn spin_arg(call: &CallInfo, index: usize) -> JsResult<u32> {
    Ok(call.arg(index, "spin")?.optional()?.map(|a| a.u32()).transpose()?.unwrap_or(0))
}

/// semWait(handle, timeoutMs, spin): blocks this thread; false on timeout.
fn wait(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let deadline = wait::timeout(call, 1)?;
    let spin = spin_arg(call, 2)?;
    let live = h.live()?;
    let sem = live.raw();
    if sem.spin(spin) {
        return env.boolean(true);
    }
    let outcome =
        wait::with_interrupt(env, |interrupted| blocking::sem(&sem, deadline, interrupted))?.map_err(|e| h.fail(e))?;
    env.boolean(outcome == Outcome::Acquired)
}

/// semWaitAsync(handle, timeoutMs, group, flags, spin) -> Promise<boolean>:
/// true when a unit was taken, false on timeout; rejects with AbortError.
fn wait_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let common = wait::common(call, 1)?;
    let spin = spin_arg(call, 4)?;
    let live = h.live()?;
    let sem = live.raw();
    if sem.spin(spin) {
        let (deferred, promise) = env.promise()?;
        deferred.resolve(env, env.boolean(true)?);
        return Ok(promise);
    }
    wait::submit(env, Op::Sem { sem, keep: Box::new(live) }, common, None, Resolve::Taken, Some(h.subject()))
}

/// semValue(handle): sem_getvalue.
fn value(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    env.uint32(h.live()?.with(|s| s.value()))
}

/// semDestroy(handle): sem_destroy on a sem_t in a Mapping.
fn destroy(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    h.live()?.with(|s| s.destroy()).map_err(|e| h.fail(e))?;
    env.undefined()
}

/// semLayout(): { size, align, valueMax } of sem_t on this platform.
fn layout(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let o = env.object()?;
    o.set("size", env.uint32(os_sem::SEM_T_SIZE as u32)?)?;
    o.set("align", env.uint32(os_sem::SEM_T_ALIGN as u32)?)?;
    o.set("valueMax", env.uint32(os_sem::SEM_VALUE_MAX)?)?;
    o.set("sysvValueMax", env.uint32(sysv_sem::SEMVMX.into())?)?;
    Ok(o)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("semLayout", layout)?
        .function("semInit", init)?
        .function("semAttach", attach)?
        .function("semOpen", open)?
        .function("semClose", close)?
        .function("semUnlink", unlink)?
        .function("semPost", post)?
        .function("semTryWait", try_wait)?
        .function("semWait", wait)?
        .function("semWaitAsync", wait_async)?
        .function("semValue", value)?
        .function("semDestroy", destroy)?;
    Ok(())
}
