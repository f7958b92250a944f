//! Mapping methods that copy out of the memory or ask the kernel about it:
//! `readInto` (a copy into the caller's buffer) and `residency` (mincore).
//! Kept apart from mapping.rs, which owns the Region model.

use super::error::{ShmkitError, Subject};
use super::mapping::{options_page_range, RegionHandle};
use crate::model::region::RangeNames;
use crate::napi::{CallInfo, Env, Error, Exports, JsResult, Value};

/// mappingReadInto(handle, target, offset = 0, length?) -> bytes copied
///
/// Copies `length` bytes (default: as many as fit in `target` and remain
/// after `offset`) from the mapping into the start of `target`, an
/// ArrayBuffer, TypedArray, DataView or Buffer. Unlike mappingRead it
/// allocates nothing, and it works on read-only mappings that have no buffer.
fn read_into(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = &call.handle::<RegionHandle>(0, "handle")?.0;
    let memory = region.memory()?;
    let target = call.arg(1, "target")?.bytes()?;
    let offset = call.arg(2, "offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = match call.arg(3, "length")?.optional()? {
        Some(arg) => {
            let length = arg.integer(0, i64::MAX)? as usize;
            if length > target.byte_length {
                return Err(Error::out_of_range(
                    "length",
                    &format!(">= 0 && <= {} (the target's byteLength)", target.byte_length),
                    &length.to_string(),
                ));
            }
            Some(length as u64)
        }
        None => None,
    };
    let available = (region.len() as u64).saturating_sub(offset);
    let wanted = length.unwrap_or_else(|| available.min(target.byte_length as u64));
    let (offset, length) = region.check_range(offset, Some(wanted), RangeNames::ARGS)?;
    region.check_access(offset, length, false)?;
    if length > 0 {
        // SAFETY: the source range was checked against the live mapping and
        // its readable pages (`memory` keeps it mapped); the destination is
        // the attached memory of `target`, at least `length` bytes long. No
        // JS runs during the copy. The two may overlap (a view over this
        // mapping's own buffer), which `copy` allows.
        unsafe { std::ptr::copy(memory.as_ptr().add(offset), target.data, length) };
    }
    env.int64(length as i64)
}

/// mappingResidency(handle, { offset, length }) -> Buffer, one byte per page:
/// 1 when the page is resident in memory (mincore), else 0.
fn residency(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = &call.handle::<RegionHandle>(0, "handle")?.0;
    // The options first (a getter may close the mapping), then the memory.
    let (offset, length) = options_page_range(call, region, 1)?;
    let memory = region.memory()?;
    let pages = memory
        .residency(offset, length)
        .map_err(|e| Error::sys(e, Subject::Detail(format!("{length} bytes at offset {offset}"))))?;
    let bytes: Vec<u8> = pages.into_iter().map(u8::from).collect();
    env.buffer_copy(&bytes)
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("mappingReadInto", read_into)?.function("mappingResidency", residency)?;
    Ok(())
}
