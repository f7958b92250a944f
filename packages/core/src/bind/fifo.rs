//! Bindings for the fifo area (filled in by its package's work).

use crate::napi::{Exports, JsResult};

pub fn register(_exports: &Exports) -> JsResult<()> {
    Ok(())
}
