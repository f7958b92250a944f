//! The functions JS calls, one module per area. Each module's `register`
//! adds its functions to the addon's exports; names are camelCase and carry
//! the area as a prefix (`sysvShmGet`, `posixShmOpen`...).

mod codes;
mod error;
mod extent;
mod fifo;
mod mapping;
mod mapping_copy;
mod mlock;
mod mmap;
mod posix_shm;
mod sem;
mod sync;
mod sysv;
mod sysv_sem;
pub mod wait;

// Used by the area modules that create mappings (sysv, posix_shm, mmap) and
// those that operate on them (mlock).
#[allow(unused_imports)]
pub use mapping::{check_page_offset, expose, FdMapOptions, MappingInit, Region, RegionHandle, RegionPin};

use crate::napi::{Exports, JsResult};

/// The `code` of errors that are bugs in the native glue.
pub const INTERNAL_ERROR_CODE: &str = error::Code::Internal.as_str();

pub fn register(exports: &Exports) -> JsResult<()> {
    error::register(exports)?;
    mapping::register(exports)?;
    mapping_copy::register(exports)?;
    sysv::register(exports)?;
    posix_shm::register(exports)?;
    mmap::register(exports)?;
    mlock::register(exports)?;
    sync::register(exports)?;
    wait::register(exports)?;
    sem::register(exports)?;
    sysv_sem::register(exports)?;
    fifo::register(exports)?;
    Ok(())
}
