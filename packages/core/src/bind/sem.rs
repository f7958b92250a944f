//! Bindings for semaphores: `sem_t` in a Mapping, named semaphores and
//! System V semaphore sets.
//!
//! Async waits run on a dedicated thread each (`spawn_on_thread`), never on
//! libuv's pool. Cancellation goes through a [`WaitToken`]: the thread sleeps
//! in bounded slices and checks the token between them, and the token's one
//! atomic state decides the race between "the wait went through" and "JS
//! aborted": exactly one side wins, and a unit taken after JS already
//! rejected is given back.

use super::{Region, RegionHandle, RegionPin};
use crate::napi::{spawn_on_thread, sys, Arg, CallInfo, Env, Error, Exports, JsResult, Subject, Tagged, Value};
use crate::os::mman::MmapRaw;
use crate::os::sem::{self as os_sem, sysv, Create, Deadline, NamedSem, Outcome, RawSem, WAIT_SLICE};
use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Cancellation

const PENDING: u8 = 0;
const CANCELLED: u8 = 1;
const SETTLED: u8 = 2;

/// Shared between JS (which may cancel) and the waiting thread (which may
/// settle). Whoever moves it off PENDING first wins.
pub struct WaitToken(Arc<AtomicU8>);

impl Tagged for WaitToken {
    const NAME: &'static str = "WaitToken";
    const TAG: sys::napi_type_tag = sys::napi_type_tag { lower: 0x4d1e_8a37_c2b9_06f5, upper: 0x9e60_13d4_7ab8_52c1 };
}

/// What the waiting thread does with one token (or none).
#[derive(Clone)]
struct Cancel(Option<Arc<AtomicU8>>);

impl Cancel {
    fn requested(&self) -> bool {
        self.0.as_ref().map_or(false, |s| s.load(Ordering::Acquire) == CANCELLED)
    }

    /// Claims the result for JS. False means JS cancelled first, so nobody
    /// will see the result and it must be undone.
    fn settle(&self) -> bool {
        match &self.0 {
            None => true,
            Some(s) => s.compare_exchange(PENDING, SETTLED, Ordering::AcqRel, Ordering::Acquire).is_ok(),
        }
    }

    /// What a finished async wait resolves to: its error as it is, or else
    /// whether JS gets the unit. A unit taken after JS cancelled (or after
    /// the env went away) would be seen by nobody, so `give_back` undoes it.
    fn resolve(
        &self,
        outcome: crate::os::Result<Outcome>,
        fail: impl Fn(crate::os::Error) -> Error,
        give_back: impl FnOnce() -> crate::os::Result<()>,
    ) -> JsResult<bool> {
        let outcome = outcome.map_err(&fail)?;
        let settled = self.settle();
        match outcome {
            Outcome::Acquired if settled => Ok(true),
            Outcome::Acquired => give_back().map(|()| false).map_err(fail),
            Outcome::TimedOut | Outcome::Stopped => Ok(false),
        }
    }
}

fn token_arg(call: &CallInfo, index: usize) -> JsResult<Cancel> {
    Ok(Cancel(match call.arg(index, "token")?.optional()? {
        None => None,
        Some(arg) => Some(Arc::clone(&arg.external::<WaitToken>()?.0)),
    }))
}

/// semWaitToken(): a fresh cancellation token for one async wait.
fn wait_token(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.external(WaitToken(Arc::new(AtomicU8::new(PENDING))))
}

/// semWaitCancel(token): true if the wait is now cancelled (JS rejects),
/// false if it already went through or ended (JS takes its result).
fn wait_cancel(env: Env, call: &CallInfo) -> JsResult<Value> {
    let token = call.handle::<WaitToken>(0, "token")?;
    let won = token.0.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok();
    env.boolean(won)
}

unsafe extern "C" fn cancel_on_teardown(arg: *mut std::ffi::c_void) {
    // SAFETY: `arg` is the Arc leaked by TeardownGuard::register; the hook
    // runs at most once and only if the guard was not removed, so this is
    // the one place that reclaims it.
    let state = unsafe { Arc::from_raw(arg.cast_const().cast::<AtomicU8>()) };
    let _ = state.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire);
}

/// Cancels a pending wait if its env (a worker thread) goes away first, so
/// the waiting thread gives back a unit nobody could receive any more.
struct TeardownGuard {
    env: sys::napi_env,
    arg: *mut std::ffi::c_void,
}

impl TeardownGuard {
    fn register(env: Env, state: &Arc<AtomicU8>) -> JsResult<Self> {
        let arg = Arc::into_raw(Arc::clone(state)).cast_mut().cast::<std::ffi::c_void>();
        // SAFETY: env is live; `arg` stays valid until the hook or remove().
        let status = unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(cancel_on_teardown), arg) };
        if status != sys::napi_ok {
            // SAFETY: not registered, so we still own the leaked Arc.
            drop(unsafe { Arc::from_raw(arg.cast_const().cast::<AtomicU8>()) });
            return Err(Error::internal("napi_add_env_cleanup_hook failed"));
        }
        Ok(TeardownGuard { env: env.raw(), arg })
    }

    /// On the JS thread, once the wait has settled.
    fn remove(self) {
        // SAFETY: same env, hook and arg as registered; the env is live
        // because we run inside one of its callbacks.
        unsafe { sys::napi_remove_env_cleanup_hook(self.env, Some(cancel_on_teardown), self.arg) };
        // SAFETY: the hook can no longer run, so the Arc is ours to reclaim.
        drop(unsafe { Arc::from_raw(self.arg.cast_const().cast::<AtomicU8>()) });
    }
}

/// The cancellation state of one async wait: the caller's token if there is
/// one (then the wait sleeps in slices so it notices a cancel), else a
/// private one only env teardown can cancel.
fn wait_state(env: Env, call: &CallInfo, index: usize) -> JsResult<(Cancel, bool, TeardownGuard)> {
    let token = token_arg(call, index)?;
    let sliced = token.0.is_some();
    let state = token.0.unwrap_or_else(|| Arc::new(AtomicU8::new(PENDING)));
    let guard = TeardownGuard::register(env, &state)?;
    Ok((Cancel(Some(state)), sliced, guard))
}

/// A timeout in ms: Infinity (or undefined) waits forever.
fn deadline_arg(arg: Arg) -> JsResult<Option<Deadline>> {
    let Some(arg) = arg.optional()? else { return Ok(None) };
    let ms = arg.number()?;
    if ms.is_nan() || ms < 0.0 {
        return Err(Error::out_of_range(arg.name, ">= 0", &format!("{ms}")));
    }
    if !ms.is_finite() || ms > 1e15 {
        return Ok(None);
    }
    Ok(Some(Deadline::after(Duration::from_secs_f64(ms / 1000.0))))
}

// ---------------------------------------------------------------------------
// sem_t: in a Mapping or named

enum Source {
    /// A sem_t at `offset` in a Mapping. The region is asked for its memory
    /// on every call, so a closed Mapping gives ERR_SHMKIT_CLOSED instead of
    /// a dangling pointer; waits hold the memory until they return.
    Memory { region: Arc<Region>, offset: usize },
    Named { sem: Mutex<Option<Arc<NamedSem>>>, name: String },
}

pub struct SemHandle {
    source: Source,
}

impl Tagged for SemHandle {
    const NAME: &'static str = "Semaphore";
    const TAG: sys::napi_type_tag = sys::napi_type_tag { lower: 0x27c4_f9a0_5b13_e8d6, upper: 0x61fa_0c3e_94d7_2b85 };
}

/// A live reference to the semaphore that keeps its memory mapped.
enum Live {
    /// The pin keeps `protect` from revoking access while this is alive.
    Memory(Arc<MmapRaw>, usize, RegionPin),
    Named(Arc<NamedSem>),
}

impl Live {
    fn with<R>(&self, f: impl FnOnce(&RawSem) -> R) -> R {
        match self {
            Live::Memory(memory, offset, _pin) => {
                // SAFETY: the offset was checked to leave SEM_T_SIZE bytes,
                // aligned, inside this mapping, which `memory` keeps mapped.
                let sem = unsafe {
                    RawSem::from_ptr(NonNull::new_unchecked(memory.as_ptr().add(*offset).cast::<libc::sem_t>()))
                };
                f(&sem)
            }
            Live::Named(named) => f(named.sem()),
        }
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
    Error::plain(
        "ERR_SHMKIT_NOT_INITIALIZED",
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
        return Err(Error::out_of_range("offset", &format!(">= 0 && <= {max} (room for a {}-byte sem_t)", os_sem::SEM_T_SIZE), &offset.to_string()));
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
    unsafe { RawSem::init(ptr, value) }.map_err(|e| Error::sys(e, Subject::Detail(format!("sem_t at offset {offset}"))))?;
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
    CString::new(name).map_err(|_| Error::invalid_arg_value("name", "must not contain null bytes", &format!("'{name}'")))
}

/// semOpen(name, create, exclusive, mode, value): sem_open.
fn open(env: Env, call: &CallInfo) -> JsResult<Value> {
    let name = call.arg(0, "name")?.string()?;
    let create = call.arg(1, "create")?.boolean_or(false)?;
    let exclusive = call.arg(2, "exclusive")?.boolean_or(false)?;
    let mode = call.arg(3, "mode")?.optional()?.map(|a| a.integer(0, 0o7777)).transpose()?.unwrap_or(0o600) as libc::mode_t;
    let value = call.arg(4, "value")?.optional()?.map(|a| a.integer(0, os_sem::SEM_VALUE_MAX as i64)).transpose()?.unwrap_or(0) as u32;
    let cname = c_name(&name)?;
    let how = create.then_some(Create { exclusive, mode, value });
    let sem = NamedSem::open(&cname, how)
        .map_err(|e| super::hints::on_exists(Error::sys(e, Subject::Name(name.clone())), super::hints::Kind::PosixSem, &name))?;
    env.external(SemHandle { source: Source::Named { sem: Mutex::new(Some(Arc::new(sem))), name } })
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
    let taken = h.live()?.with(|s| s.try_wait()).map_err(|e| h.fail(e))?;
    env.boolean(taken)
}

fn spin_arg(call: &CallInfo, index: usize) -> JsResult<u32> {
    Ok(call.arg(index, "spin")?.optional()?.map(|a| a.u32()).transpose()?.unwrap_or(0))
}

/// semWait(handle, timeoutMs, spin): blocks this thread; false on timeout.
fn wait(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let deadline = deadline_arg(call.arg(1, "timeout")?)?;
    let spin = spin_arg(call, 2)?;
    let live = h.live()?;
    let taken = live
        .with(|s| {
            if s.try_wait()? || s.spin(spin)? {
                return Ok(true);
            }
            if deadline.map_or(false, |d| d.passed()) {
                return Ok(false);
            }
            s.wait(deadline)
        })
        .map_err(|e| h.fail(e))?;
    env.boolean(taken)
}

/// semWaitAsync(handle, timeoutMs, spin, token?): the wait on its own
/// thread. Resolves true (taken) or false (timed out, or cancelled: JS has
/// already rejected then and ignores it).
fn wait_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let deadline = deadline_arg(call.arg(1, "timeout")?)?;
    let spin = spin_arg(call, 2)?;
    let live = h.live()?;
    let subject = h.subject();
    let (cancel, sliced, guard) = wait_state(env, call, 3)?;
    spawn_on_thread(
        env,
        "shmkit.semWait",
        move || {
            let outcome = live.with(|s| -> crate::os::Result<Outcome> {
                if s.spin(spin)? {
                    return Ok(Outcome::Acquired);
                }
                if sliced {
                    s.wait_sliced(deadline, WAIT_SLICE, &|| cancel.requested())
                } else {
                    Ok(if s.wait(deadline)? { Outcome::Acquired } else { Outcome::TimedOut })
                }
            });
            Ok(cancel.resolve(outcome, |e| sem_error(e, subject.clone()), || live.with(|s| s.post())))
        },
        move |env, taken: JsResult<bool>| {
            guard.remove();
            env.boolean(taken?)
        },
    )
}

/// semValue(handle): sem_getvalue.
fn value(env: Env, call: &CallInfo) -> JsResult<Value> {
    let h = handle(call)?;
    let value = h.live()?.with(|s| s.value()).map_err(|e| h.fail(e))?;
    env.int32(value)
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
    o.set("sysvValueMax", env.uint32(sysv::SEMVMX.into())?)?;
    Ok(o)
}

// ---------------------------------------------------------------------------
// System V sets

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
    let mode = call.arg(4, "mode")?.optional()?.map(|a| a.integer(0, 0o777)).transpose()?.unwrap_or(0o600) as libc::c_int;
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
    let id = sysv::get(key as i32, count, flags)
        .map_err(|e| super::hints::on_exists(Error::sys(e, Subject::Key(key)), super::hints::Kind::SysvSem, &super::hints::key_target(key)))?;
    env.int32(id)
}

/// Ops arrive as an Int32Array of (index, op, flags) triples.
fn ops_arg(call: &CallInfo, at: usize) -> JsResult<Vec<libc::sembuf>> {
    let arg = call.arg(at, "ops")?;
    let view = arg.int32_array()?;
    if view.length == 0 || view.length % 3 != 0 {
        return Err(Error::invalid_arg_value("ops", "must hold (index, op, flags) triples", &format!("{} numbers", view.length)));
    }
    // SAFETY: an Int32Array's data is valid for `length` i32s during the call.
    let words = unsafe { std::slice::from_raw_parts(view.data.cast::<i32>(), view.length) };
    words
        .chunks_exact(3)
        .map(|t| {
            let index = u16::try_from(t[0]).map_err(|_| Error::out_of_range("ops.index", ">= 0 && <= 65535", &t[0].to_string()))?;
            let op = i16::try_from(t[1]).map_err(|_| Error::out_of_range("ops.op", ">= -32768 && <= 32767", &t[1].to_string()))?;
            let flags = (t[2] as i16) & (sysv::SEM_UNDO | sysv::IPC_NOWAIT);
            Ok(sysv::op(index, op, flags))
        })
        .collect()
}

/// sysvSemOp(id, ops, timeoutMs): semop/semtimedop; false on timeout.
fn sysv_op(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let mut ops = ops_arg(call, 1)?;
    let deadline = deadline_arg(call.arg(2, "timeout")?)?;
    let done = sysv::semop(id, &mut ops, deadline).map_err(id_error(id))?;
    env.boolean(done)
}

/// sysvSemOpAsync(id, ops, timeoutMs, token?): the same on its own thread.
fn sysv_op_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let mut ops = ops_arg(call, 1)?;
    let deadline = deadline_arg(call.arg(2, "timeout")?)?;
    let (cancel, sliced, guard) = wait_state(env, call, 3)?;
    spawn_on_thread(
        env,
        "shmkit.semop",
        move || {
            let outcome = if sliced {
                sysv::semop_sliced(id, &mut ops, deadline, WAIT_SLICE, &|| cancel.requested())
            } else {
                sysv::semop(id, &mut ops, deadline).map(|done| if done { Outcome::Acquired } else { Outcome::TimedOut })
            };
            Ok(cancel.resolve(outcome, id_error(id), || sysv::revert(id, &ops)))
        },
        move |env, done: JsResult<bool>| {
            guard.remove();
            env.boolean(done?)
        },
    )
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
    o.set("otime", if ds.sem_otime == 0 { env.null()? } else { env.date(ds.sem_otime as f64 * 1000.0)? })?;
    o.set("ctime", env.date(ds.sem_ctime as f64 * 1000.0)?)?;
    Ok(o)
}

/// sysvSemSetPermissions(id, { uid, gid, mode }): IPC_SET.
fn sysv_set_permissions(env: Env, call: &CallInfo) -> JsResult<Value> {
    let id = id_arg(call)?;
    let options = call.arg(1, "options")?;
    let uid = options.property("uid", "options.uid")?.optional()?.map(|a| a.u32()).transpose()?;
    let gid = options.property("gid", "options.gid")?.optional()?.map(|a| a.u32()).transpose()?;
    let mode = options.property("mode", "options.mode")?.optional()?.map(|a| a.integer(0, 0o777)).transpose()?.map(|m| m as u16);
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
        .function("semLayout", layout)?
        .function("semWaitToken", wait_token)?
        .function("semWaitCancel", wait_cancel)?
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
        .function("semDestroy", destroy)?
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
