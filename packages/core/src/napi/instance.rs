//! Per-env state: one value of each type, made on first use and dropped
//! when the env is torn down (the main thread's at exit, a worker's when it
//! ends).
//!
//! Node-API gives each env one instance-data slot. This module owns it, so
//! every per-env value of the addon goes through [`Env::with_instance`] and
//! nobody calls `napi_set_instance_data` behind its back.

use super::{check, sys, Env, JsResult};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::ffi::c_void;

/// What the slot holds: the values by type. Few types ever live here, so a
/// scanned Vec beats hashing. Each value is boxed, so its address stays put
/// while the Vec grows.
#[derive(Default)]
struct Slots(RefCell<Vec<(TypeId, Box<dyn Any>)>>);

unsafe extern "C" fn drop_slots(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Box<Slots> leaked by `slots`, finalized once,
    // by Node, on the env's thread.
    drop(unsafe { Box::from_raw(data.cast::<Slots>()) });
}

impl Env {
    fn slots(self) -> JsResult<&'static Slots> {
        let mut data: *mut c_void = std::ptr::null_mut();
        // SAFETY: env is live; the out-pointer is valid.
        check(self.0, unsafe { sys::napi_get_instance_data(self.0, &mut data) })?;
        if data.is_null() {
            let fresh = Box::into_raw(Box::<Slots>::default());
            // SAFETY: env is live; Node owns `fresh` from here and frees it
            // through drop_slots at teardown.
            let set = check(self.0, unsafe {
                sys::napi_set_instance_data(self.0, fresh.cast(), Some(drop_slots), std::ptr::null_mut())
            });
            if let Err(e) = set {
                // SAFETY: not handed over, so still ours.
                drop(unsafe { Box::from_raw(fresh) });
                return Err(e);
            }
            data = fresh.cast();
        }
        // SAFETY: the slot holds our Slots until the env is torn down, after
        // which no call runs in it; callers use the reference within a call.
        Ok(unsafe { &*data.cast::<Slots>() })
    }

    /// Runs `f` with this env's `T`, made with `T::default()` on first use.
    ///
    /// `T` lives on the env's thread only; it needs interior mutability to
    /// change. `f` may itself use other instance values.
    pub fn with_instance<T: Default + 'static, R>(self, f: impl FnOnce(&T) -> R) -> JsResult<R> {
        let slots = self.slots()?;
        let found =
            slots.0.borrow().iter().find(|(id, _)| *id == TypeId::of::<T>()).map(|(_, v)| v.as_ref() as *const dyn Any);
        let value = match found {
            Some(value) => value,
            None => {
                let boxed: Box<dyn Any> = Box::new(T::default());
                let value = boxed.as_ref() as *const dyn Any;
                slots.0.borrow_mut().push((TypeId::of::<T>(), boxed));
                value
            }
        };
        // SAFETY: the box is only dropped with the Slots at teardown, so it
        // outlives this call; no RefCell borrow is held while `f` runs; the
        // TypeId matched, so the downcast succeeds.
        let value = unsafe { &*value }.downcast_ref::<T>().expect("instance value of another type");
        Ok(f(value))
    }
}
