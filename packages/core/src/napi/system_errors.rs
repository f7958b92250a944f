//! Node's own names and messages for errno values (`util.getSystemErrorMap()`),
//! handed over once by the loader, so a native system error reads exactly as
//! node:fs would word it: "no such file or directory", "file already exists".
//!
//! Process-wide: the map is the same in every env of the process, so the
//! first env to hand it over fills it for all.

use super::{check, sys, Error, JsResult, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// errno (positive) -> (name, message).
static TEXTS: OnceLock<HashMap<i32, (String, String)>> = OnceLock::new();

/// The name and message Node gives errno `errno` (positive), if it knows it.
/// libuv names a subset of the Linux errno values; for the rest, the caller
/// needs its own.
pub fn system_error_text(errno: i32) -> Option<(&'static str, &'static str)> {
    TEXTS.get()?.get(&errno).map(|(name, message)| (name.as_str(), message.as_str()))
}

fn element(array: Value, index: u32) -> JsResult<Value> {
    let mut v = std::ptr::null_mut();
    // SAFETY: env and array are live; Node checks the index.
    check(array.env, unsafe { sys::napi_get_element(array.env, array.raw, index, &mut v) })?;
    Ok(Value { env: array.env, raw: v })
}

fn length(array: Value) -> JsResult<u32> {
    let mut is = false;
    // SAFETY: env and value are live.
    check(array.env, unsafe { sys::napi_is_array(array.env, array.raw, &mut is) })?;
    if !is {
        return Err(Error::internal("the system error map must be an array of [errno, [name, message]]"));
    }
    let mut len = 0;
    // SAFETY: the value is an array.
    check(array.env, unsafe { sys::napi_get_array_length(array.env, array.raw, &mut len) })?;
    Ok(len)
}

/// Reads `Array.from(util.getSystemErrorMap())`: `[errno, [name, message]]`
/// pairs, errno negative as libuv has it. Only the first call in a process
/// fills the table; later ones are checked but change nothing.
pub fn set_system_error_texts(entries: Value) -> JsResult<()> {
    let mut texts = HashMap::new();
    for i in 0..length(entries)? {
        let entry = element(entries, i)?;
        if length(entry)? != 2 {
            return Err(Error::internal("a system error map entry must be [errno, [name, message]]"));
        }
        let errno = entry.env().arg(element(entry, 0)?, "errno").i32()?;
        let pair = element(entry, 1)?;
        if length(pair)? != 2 {
            return Err(Error::internal("a system error map entry must be [errno, [name, message]]"));
        }
        let name = entry.env().arg(element(pair, 0)?, "name").string()?;
        let message = entry.env().arg(element(pair, 1)?, "message").string()?;
        texts.insert(errno.saturating_neg(), (name, message));
    }
    let _ = TEXTS.set(texts);
    Ok(())
}
