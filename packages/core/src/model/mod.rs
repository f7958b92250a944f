//! State that the bindings drive but that knows nothing of Node: which
//! buffers JS holds over a mapping, which pages are protected, which native
//! work pins the memory. Plain Rust over [`crate::os`], unit tested with
//! `cargo test`; `bind/` turns its answers into Node-API calls.

pub mod pages;
pub mod region;
