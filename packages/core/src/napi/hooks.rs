//! JS functions the addon's loader hands over once per env, so that errors
//! made natively read exactly like those made in JS:
//!
//! - `describe(value)`: how "Received ..." shows a value in an
//!   `ERR_INVALID_ARG_TYPE` message (one implementation, in JS, for both
//!   sides);
//! - `finish(error)`: called with every error object this layer builds,
//!   before it is thrown or rejected (the loader points the stack at the
//!   user's call there).
//!
//! Both are optional: without them an error is plain but still correct.
//! Either may throw or misbehave without harm: its exception is cleared and
//! the error goes on as built.

use super::reference::Reference;
use super::{sys, Env, JsResult, Value, ValueType};
use std::cell::RefCell;

#[derive(Default)]
struct ErrorHooks {
    describe: RefCell<Option<Reference>>,
    finish: RefCell<Option<Reference>>,
}

impl Env {
    /// Installs (or replaces) this env's error hooks; see the module docs.
    pub fn set_error_hooks(self, describe: Value, finish: Value) -> JsResult<()> {
        let describe = Reference::new(describe)?;
        let finish = Reference::new(finish)?;
        self.with_instance(|hooks: &ErrorHooks| {
            hooks.describe.replace(Some(describe));
            hooks.finish.replace(Some(finish));
        })
    }
}

/// Calls one hook with `arg`; None if it is not set or threw.
fn call_hook(env: Env, pick: fn(&ErrorHooks) -> &RefCell<Option<Reference>>, arg: Value) -> Option<Value> {
    // Take the function out of the cell before calling it, so a hook that
    // ends up here again (an error made inside it) finds no borrow held.
    let function =
        env.with_instance(|hooks: &ErrorHooks| pick(hooks).borrow().as_ref().map(|r| r.value(env))).ok()??.ok()?;
    if function.value_type().ok()? != ValueType::Function {
        return None;
    }
    match function.call(&[arg]) {
        Ok(result) => Some(result),
        Err(_) => {
            let mut thrown = std::ptr::null_mut();
            // SAFETY: env is live; clearing an exception the hook left is
            // what lets the caller go on building its own error.
            unsafe { sys::napi_get_and_clear_last_exception(env.0, &mut thrown) };
            None
        }
    }
}

/// What the describe hook answers for `value`, if a hook is set.
pub(crate) fn describe_with_hook(value: Value) -> Option<Value> {
    call_hook(value.env(), |h| &h.describe, value)
}

/// Hands a freshly built error to the finish hook, if one is set.
pub(crate) fn finish_error(env: Env, error: Value) {
    let _ = call_hook(env, |h| &h.finish, error);
}
