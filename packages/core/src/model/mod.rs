//! Pure logic the bindings rely on: no system calls, no Node-API, so all of
//! it is unit tested with `cargo test` (the bindings themselves are not:
//! their symbols live in the Node binary).

pub mod extent;
pub mod lock_registry;
