//! Bindings for the posix_shm area (filled in by its package's work).

use crate::napi::{Exports, JsResult};

pub fn register(_exports: &Exports) -> JsResult<()> {
    Ok(())
}
