//! Bindings for the sync area: futex wait/wake on plain addresses, thread
//! identity and liveness, and cancellable waits on dedicated threads.
//!
//! The hot calls take the futex word as a number (its address), resolved
//! once from an Int32Array by `syncAddressOf`. An address is only ever passed
//! to the kernel, which rejects unmapped memory with EFAULT, so no value JS
//! passes can make these calls touch invalid memory.

use crate::napi::{spawn_on_thread, sys, CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::futex::{self, pthread, Cancel, Deadline};
use std::sync::Arc;

const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The cancel flag of one async wait.
struct Canceller(Arc<Cancel>);

impl Tagged for Canceller {
    const NAME: &'static str = "Canceller";
    const TAG: sys::napi_type_tag = sys::napi_type_tag { lower: 0x1d4e_93a7_c260_5bf1, upper: 0x8a07_e3f5_4c19_b26d };
}

fn gettid(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.int32(futex::gettid())
}

fn thread_alive(env: Env, call: &CallInfo) -> JsResult<Value> {
    let tid = call.arg(0, "tid")?.i32()?;
    let thorough = call.arg(1, "thorough")?.boolean_or(false)?;
    env.boolean(futex::thread_alive(tid, thorough))
}

fn address_of(env: Env, call: &CallInfo) -> JsResult<Value> {
    let view = call.arg(0, "array")?.int32_array()?;
    let index = call.arg(1, "index")?.integer(0, MAX_SAFE_INTEGER)? as usize;
    if index >= view.length {
        let range = if view.length == 0 { "a valid index (the array is empty)".to_string() } else { format!(">= 0 && <= {}", view.length - 1) };
        return Err(Error::out_of_range("index", &range, &index.to_string()));
    }
    let address = view.data as usize + index * 4;
    if address % 4 != 0 {
        return Err(Error::invalid_arg_value("array", "must be 4-byte aligned in memory", "an unaligned Int32Array"));
    }
    env.number(address as f64)
}

fn address(call: &CallInfo, index: usize) -> JsResult<usize> {
    let address = call.arg(index, "address")?.integer(4, MAX_SAFE_INTEGER)? as usize;
    if address % 4 != 0 {
        return Err(Error::invalid_arg_value("address", "must be a multiple of 4", &address.to_string()));
    }
    Ok(address)
}

/// A timeout in ms; negative, NaN or Infinity mean none.
fn deadline(call: &CallInfo, index: usize) -> JsResult<Option<Deadline>> {
    let ms = call.arg(index, "timeout")?.number()?;
    Ok(if ms.is_finite() && ms >= 0.0 { Some(Deadline::after_ms(ms)) } else { None })
}

fn watch(call: &CallInfo, index: usize) -> JsResult<Option<i32>> {
    let tid = call.arg(index, "watchTid")?.optional()?.map(|a| a.i32()).transpose()?.unwrap_or(0);
    Ok((tid > 0).then_some(tid))
}

/// syncFutexWait(address, expected, timeoutMs, watchTid?) -> outcome code.
fn wait(env: Env, call: &CallInfo) -> JsResult<Value> {
    let addr = address(call, 0)?;
    let expected = call.arg(1, "expected")?.i32()? as u32;
    let deadline = deadline(call, 2)?;
    let watch = watch(call, 3)?;
    let outcome = futex::wait(addr, expected, deadline, None, watch)?;
    env.int32(outcome as i32)
}

/// syncFutexWake(address, count) -> number woken.
fn wake(env: Env, call: &CallInfo) -> JsResult<Value> {
    let addr = address(call, 0)?;
    let count = call.arg(1, "count")?.u32()?;
    env.uint32(futex::wake(addr, count)?)
}

fn canceller(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.external(Canceller(Arc::new(Cancel::new())))
}

fn cancel(env: Env, call: &CallInfo) -> JsResult<Value> {
    call.handle::<Canceller>(0, "canceller")?.0.cancel();
    env.undefined()
}

/// syncFutexWaitAsync(canceller, address, expected, timeoutMs, watchTid?)
/// -> Promise<outcome code>, waited on a dedicated thread.
fn wait_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let cancel = call.handle::<Canceller>(0, "canceller")?.0.clone();
    let addr = address(call, 1)?;
    let expected = call.arg(2, "expected")?.i32()? as u32;
    let deadline = deadline(call, 3)?;
    let watch = watch(call, 4)?;
    spawn_on_thread(
        env,
        "shmkitFutexWait",
        move || Ok(futex::wait(addr, expected, deadline, Some(&cancel), watch)?),
        |env, outcome| env.int32(outcome as i32),
    )
}

fn has_waitv(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.boolean(futex::waitv_supported())
}

/// The pthread_mutex_t spanned by an Int32Array argument: it must cover
/// pthread::SIZE bytes at a pthread::ALIGN-aligned address. The memory stays
/// mapped for the call: the array is on the stack and JS is not running.
fn pthread_mutex(call: &CallInfo, index: usize) -> JsResult<*mut libc::pthread_mutex_t> {
    let view = call.arg(index, "array")?.int32_array()?;
    if view.byte_length < pthread::SIZE {
        return Err(Error::out_of_range("array.byteLength", &format!(">= {}", pthread::SIZE), &view.byte_length.to_string()));
    }
    if view.data as usize % pthread::ALIGN != 0 {
        return Err(Error::invalid_arg_value("array", &format!("must be {}-byte aligned in memory", pthread::ALIGN), "an unaligned Int32Array"));
    }
    Ok(view.data.cast())
}

/// A failed pthread call as a JS error; a kind word glibc may not be handed
/// (pthread::check_kind) becomes ERR_SHMKIT_NOT_INITIALIZED.
fn pthread_error(error: crate::os::Error) -> Error {
    if error.syscall() != pthread::NOT_A_MUTEX {
        return error.into();
    }
    Error::plain(
        "ERR_SHMKIT_NOT_INITIALIZED",
        "no robust process-shared pthread mutex there (its kind word is not robust + process-shared, or has the priority-inheritance/protect bits glibc would abort on): initialise it with PthreadMutex.init or with pthread_mutexattr_setrobust and PTHREAD_PROCESS_SHARED",
    )
}

fn acquired(env: Env, outcome: pthread::Acquired) -> JsResult<Value> {
    env.boolean(outcome == pthread::Acquired::OwnerDied)
}

fn pthread_layout(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let layout = env.object()?;
    layout.set("byteLength", env.number(pthread::SIZE as f64)?)?;
    layout.set("alignment", env.number(pthread::ALIGN as f64)?)?;
    Ok(layout)
}

fn pthread_init(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: pthread_mutex checked size, alignment and liveness.
    unsafe { pthread::init(mutex)? };
    env.undefined()
}

/// syncPthreadMutexLock(array, timeoutMs) -> ownerDied; blocks the caller.
fn pthread_lock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    let deadline = deadline(call, 1)?;
    // SAFETY: as in pthread_init.
    acquired(env, unsafe { pthread::lock(mutex, deadline) }.map_err(pthread_error)?)
}

/// syncPthreadMutexTryLock(array) -> ownerDied, or null when busy.
fn pthread_try_lock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    match unsafe { pthread::try_lock(mutex) }.map_err(pthread_error)? {
        Some(outcome) => acquired(env, outcome),
        None => env.null(),
    }
}

fn pthread_unlock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    unsafe { pthread::unlock(mutex) }.map_err(pthread_error)?;
    env.undefined()
}

fn pthread_consistent(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    unsafe { pthread::consistent(mutex) }.map_err(pthread_error)?;
    env.undefined()
}

/// syncPthreadMutexUnlockPinned(pin, offset): pthread_mutex_unlock at
/// `offset` of the memory a MappingPin keeps mapped, for a mutex held while
/// its Mapping was closed (JS has no view left, but glibc's robust list still
/// points there).
fn pthread_unlock_pinned(env: Env, call: &CallInfo) -> JsResult<Value> {
    let pin = call.handle::<crate::bind::MappingPin>(0, "pin")?;
    let offset = call.arg(1, "offset")?.integer(0, MAX_SAFE_INTEGER)? as usize;
    let memory = pin.memory().ok_or_else(|| Error::closed("Mapping"))?;
    if offset % pthread::ALIGN != 0 || offset > memory.len() || memory.len() - offset < pthread::SIZE {
        return Err(Error::out_of_range("offset", "the offset of a mutex inside the pinned mapping", &offset.to_string()));
    }
    // SAFETY: offset..offset + SIZE lies inside the mapping, aligned; the
    // pin keeps it mapped and protect() from revoking access.
    unsafe { pthread::unlock(memory.as_ptr().add(offset).cast()) }.map_err(pthread_error)?;
    env.undefined()
}

/// syncPthreadMutexCheck(array): throws ERR_SHMKIT_NOT_INITIALIZED unless
/// the kind word is one lock/unlock accept.
fn pthread_check(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    unsafe { pthread::check_kind(mutex) }.map_err(pthread_error)?;
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("syncPthreadMutexLayout", pthread_layout)?;
    exports.function("syncPthreadMutexInit", pthread_init)?;
    exports.function("syncPthreadMutexLock", pthread_lock)?;
    exports.function("syncPthreadMutexTryLock", pthread_try_lock)?;
    exports.function("syncPthreadMutexUnlock", pthread_unlock)?;
    exports.function("syncPthreadMutexConsistent", pthread_consistent)?;
    exports.function("syncPthreadMutexCheck", pthread_check)?;
    exports.function("syncPthreadMutexUnlockPinned", pthread_unlock_pinned)?;
    exports.function("syncGettid", gettid)?;
    exports.function("syncThreadAlive", thread_alive)?;
    exports.function("syncAddressOf", address_of)?;
    exports.function("syncFutexWait", wait)?;
    exports.function("syncFutexWake", wake)?;
    exports.function("syncCanceller", canceller)?;
    exports.function("syncCancel", cancel)?;
    exports.function("syncFutexWaitAsync", wait_async)?;
    exports.function("syncHasFutexWaitv", has_waitv)?;
    Ok(())
}
