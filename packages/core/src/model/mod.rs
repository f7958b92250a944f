//! Pure logic the bindings rely on: no Node-API, so all of it is unit tested
//! with `cargo test` (the bindings themselves are not: their symbols live in
//! the Node binary). The state bindings drive lives here too: which buffers
//! JS holds over a mapping, which pages are protected, which native work
//! pins the memory.

pub mod extent;
pub mod lock_registry;
pub mod pages;
pub mod region;
