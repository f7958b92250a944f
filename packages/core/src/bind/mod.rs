//! The functions JS calls, one module per area. Each module's `register`
//! adds its functions to the addon's exports; names are camelCase and carry
//! the area as a prefix (`sysvShmGet`, `posixShmOpen`...).

mod codes;
mod error;
mod extent;
mod fifo;
mod hints;
mod mapping;
mod mapping_copy;
mod mlock;
mod mmap;
mod mqueue;
mod msg;
mod posix_shm;
mod sem;
mod sync;
mod sysv;
mod sysv_sem;
mod users;
pub mod wait;

// Used by the area modules that create mappings (sysv, posix_shm, mmap) and
// those that operate on them (mlock).
#[allow(unused_imports)]
pub use mapping::{
    check_page_offset, expose, file_map_error, not_regular, FdMapOptions, MappingInit, Region, RegionHandle, RegionPin,
};

use crate::napi::{Env, Exports, JsResult, Value};

/// A System V IPC_STAT time (seconds since the epoch) as a Date; 0, which
/// the kernel stores for "never", as null.
fn ipc_time(env: Env, seconds: i64) -> JsResult<Value> {
    if seconds == 0 {
        env.null()
    } else {
        env.date(seconds as f64 * 1000.0)
    }
}

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
    mqueue::register(exports)?;
    msg::register(exports)?;
    users::register(exports)?;
    Ok(())
}
