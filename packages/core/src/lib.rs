//! shmkit's native core: one Node-API addon for every @shmkit package.
//!
//! - [`os`]: safe wrappers over the Linux calls, plain Rust, unit tested.
//! - `napi`: a small safe layer over Node-API (the glue).
//! - `bind`: the functions JS calls, each decoding arguments with `napi` and
//!   doing the work with `os`.
//!
//! The glue is left out of `cargo test` builds: its symbols live in the Node
//! binary, which a test executable does not link against.

pub mod engine;
pub mod os;

mod model;

#[cfg(not(test))]
pub mod napi;

#[cfg(not(test))]
mod bind;

#[cfg(not(test))]
napi_module!(bind::register, internal_code = bind::INTERNAL_ERROR_CODE);
