//! Bindings for the sync area: futex wake on plain addresses, thread
//! identity and liveness, and glibc's pthread mutexes. Every wait goes
//! through the wait engine (bind/wait.rs).
//!
//! The hot calls take the futex word as a number (its address), resolved
//! once from an Int32Array by `syncAddressOf`. An address is only ever passed
//! to the kernel, which rejects unmapped memory with EFAULT, so no value JS
//! passes can make these calls touch invalid memory.

use super::error::{Code, ShmkitError};
use super::{RegionHandle, RegionPin};
use crate::engine::blocking;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};
use crate::os::deadline::Deadline;
use crate::os::futex;
use crate::os::mman::MmapRaw;
use crate::os::pthread_mutex as pthread;
use std::cell::RefCell;
use std::sync::Arc;

const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

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
        let range = if view.length == 0 {
            "a valid index (the array is empty)".to_string()
        } else {
            format!(">= 0 && <= {}", view.length - 1)
        };
        return Err(Error::out_of_range("index", &range, &index.to_string()));
    }
    let address = view.data as usize + index * 4;
    if address % 4 != 0 {
        return Err(Error::invalid_arg_value("array", "must be 4-byte aligned in memory", "an unaligned Int32Array"));
    }
    env.number(address as f64)
}

/// syncFutexWake(address, count) -> number woken.
fn wake(env: Env, call: &CallInfo) -> JsResult<Value> {
    let addr = super::wait::address(call, 0)?;
    let count = call.arg(1, "count")?.u32()?;
    env.uint32(futex::wake(addr, count)?)
}

/// The pthread_mutex_t spanned by an Int32Array argument: it must cover
/// pthread::SIZE bytes at a pthread::ALIGN-aligned address. The memory stays
/// mapped for the call: the array is on the stack and JS is not running.
fn pthread_mutex(call: &CallInfo, index: usize) -> JsResult<*mut libc::pthread_mutex_t> {
    let view = call.arg(index, "array")?.int32_array()?;
    if view.byte_length < pthread::SIZE {
        return Err(Error::out_of_range(
            "array.byteLength",
            &format!(">= {}", pthread::SIZE),
            &view.byte_length.to_string(),
        ));
    }
    if view.data as usize % pthread::ALIGN != 0 {
        return Err(Error::invalid_arg_value(
            "array",
            &format!("must be {}-byte aligned in memory", pthread::ALIGN),
            "an unaligned Int32Array",
        ));
    }
    Ok(view.data.cast())
}

/// A failed pthread call as a JS error; a kind word glibc may not be handed
/// (pthread::check_kind) becomes ERR_SHMKIT_NOT_INITIALIZED.
fn pthread_error(error: crate::os::Error) -> Error {
    if error.syscall() != pthread::NOT_A_MUTEX {
        return error.into();
    }
    Error::coded(Code::NotInitialized,
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

/// The pin that keeps a held mutex's Mapping mapped and accessible.
struct HeldPin {
    mutex: usize,
    /// Locks not yet unlocked (recursive mutexes).
    count: u32,
    _pin: RegionPin,
    _memory: Arc<MmapRaw>,
}

thread_local! {
    /// The mutexes in Mappings this thread holds. glibc links every robust
    /// mutex a thread holds into the thread's robust list and writes through
    /// it on the next lock or unlock, so their memory must stay mapped and
    /// writable until unlocked: while pinned, protect() refuses to revoke
    /// access and close() defers the munmap. Per thread because the robust
    /// list is; dropped when the thread (a worker) ends. A thread holds few
    /// mutexes: a scanned Vec.
    static PINNED: RefCell<Pinned> = const { RefCell::new(Pinned(Vec::new())) };
}

/// The pins of one thread. A thread (a worker) that ends holding mutexes
/// leaks their pins on purpose: the kernel walks the thread's robust list
/// after the thread-local destructors ran, and only finds the mutexes (to
/// mark them owner-died for everyone else) if their memory is still mapped.
struct Pinned(Vec<HeldPin>);

impl Drop for Pinned {
    fn drop(&mut self) {
        std::mem::forget(std::mem::take(&mut self.0));
    }
}

/// Pins the Mapping (argument `index`, optional) that `mutex` lives in,
/// before it is locked; dropping the result releases the pin again.
fn pin_for(
    call: &CallInfo,
    index: usize,
    mutex: *mut libc::pthread_mutex_t,
) -> JsResult<Option<(RegionPin, Arc<MmapRaw>)>> {
    let Some(arg) = call.arg(index, "mapping")?.optional()? else { return Ok(None) };
    let region = &arg.external::<RegionHandle>()?.0;
    let memory = region.memory()?;
    let offset = (mutex as usize).wrapping_sub(memory.address());
    if offset > memory.len() || memory.len() - offset < pthread::SIZE {
        return Err(Error::invalid_arg_value("mapping", "must hold the mutex", "another Mapping"));
    }
    Ok(Some((region.pin(), memory)))
}

/// Records a lock just taken; the pin stays until the matching unlock.
fn hold(mutex: *mut libc::pthread_mutex_t, pin: Option<(RegionPin, Arc<MmapRaw>)>) {
    let Some((pin, memory)) = pin else { return };
    let mutex = mutex as usize;
    PINNED.with(|p| {
        let pinned = &mut p.borrow_mut().0;
        match pinned.iter_mut().find(|h| h.mutex == mutex) {
            Some(held) => held.count += 1,
            None => pinned.push(HeldPin { mutex, count: 1, _pin: pin, _memory: memory }),
        }
    });
}

fn pinned(mutex: usize) -> bool {
    PINNED.with(|p| p.borrow().0.iter().any(|h| h.mutex == mutex))
}

/// After an unlock went through: unpins once the last lock is undone.
fn release(mutex: *mut libc::pthread_mutex_t) {
    let mutex = mutex as usize;
    let unpinned = PINNED.with(|p| {
        let pinned = &mut p.borrow_mut().0;
        let at = pinned.iter().position(|h| h.mutex == mutex)?;
        pinned[at].count -= 1;
        (pinned[at].count == 0).then(|| pinned.swap_remove(at))
    });
    // The munmap a close() deferred happens here, outside the borrow.
    drop(unpinned);
}

/// syncPthreadMutexLock(array, timeoutMs, mapping?) -> ownerDied; blocks
/// the caller. With the Mapping the array lies in, it stays pinned while held.
fn pthread_lock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    let deadline = super::wait::timeout(call, 1)?;
    let pin = pin_for(call, 2, mutex)?;
    let outcome = super::wait::with_interrupt(env, |interrupted| {
        // In a worker, glibc's sleep is cut into slices so a terminate is
        // noticed: between them the worker asks whether it is ending.
        let Some(interrupted) = interrupted else {
            // SAFETY: as in pthread_init.
            return unsafe { pthread::lock(mutex, deadline) };
        };
        loop {
            let slice = Deadline::min(deadline, Deadline::after_ms(blocking::INTERRUPT_SLICE_MS));
            // SAFETY: as in pthread_init.
            match unsafe { pthread::lock(mutex, slice) } {
                Err(e) if e.errno() == libc::ETIMEDOUT && !deadline.is_some_and(Deadline::passed) => {
                    if interrupted() {
                        return Err(e);
                    }
                }
                other => return other,
            }
        }
    })?
    .map_err(pthread_error)?;
    hold(mutex, pin);
    acquired(env, outcome)
}

/// syncPthreadMutexTryLock(array, mapping?) -> ownerDied, or null when busy.
fn pthread_try_lock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    let pin = pin_for(call, 1, mutex)?;
    // SAFETY: as in pthread_init.
    match unsafe { pthread::try_lock(mutex) }.map_err(pthread_error)? {
        Some(outcome) => {
            hold(mutex, pin);
            acquired(env, outcome)
        }
        None => env.null(),
    }
}

/// syncPthreadMutexUnlock(array): unlocks, then unpins its Mapping.
fn pthread_unlock(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    unsafe { pthread::unlock(mutex) }.map_err(pthread_error)?;
    release(mutex);
    env.undefined()
}

fn pthread_consistent(env: Env, call: &CallInfo) -> JsResult<Value> {
    let mutex = pthread_mutex(call, 0)?;
    // SAFETY: as in pthread_init.
    unsafe { pthread::consistent(mutex) }.map_err(pthread_error)?;
    env.undefined()
}

/// syncPthreadMutexUnlockHeld(address): unlocks a mutex this thread holds
/// in a Mapping closed meanwhile (JS has no view left; the pin kept the
/// memory mapped). ERR_SHMKIT_CLOSED when no pinned mutex is held there.
fn pthread_unlock_held(env: Env, call: &CallInfo) -> JsResult<Value> {
    let address = call.arg(0, "address")?.integer(0, MAX_SAFE_INTEGER)? as usize;
    if !pinned(address) {
        return Err(Error::closed("Mapping"));
    }
    let mutex = address as *mut libc::pthread_mutex_t;
    // SAFETY: a held, pinned mutex: its Mapping checked it in bounds and
    // aligned when it was locked, and the pin keeps it mapped read+write.
    unsafe { pthread::unlock(mutex) }.map_err(pthread_error)?;
    release(mutex);
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
    exports.function("syncPthreadMutexUnlockHeld", pthread_unlock_held)?;
    exports.function("syncGettid", gettid)?;
    exports.function("syncThreadAlive", thread_alive)?;
    exports.function("syncAddressOf", address_of)?;
    exports.function("syncFutexWake", wake)?;
    Ok(())
}
