//! Bindings for the mmap area: mapping files by path or descriptor.
//!
//! The SIGBUS guard is [`MmapRaw::map_file`](crate::os::mman::MmapRaw::map_file):
//! the file is fstat'ed right before mmap and a range that reaches past its
//! end is refused, because touching a mapped page wholly beyond EOF raises
//! SIGBUS, which would kill the process.

use super::error::{ShmkitError, Subject};
use super::{check_page_offset, expose, file_map_error, not_regular, FdMapOptions};
use crate::napi::{ArgKind, CallInfo, Env, Error, Exports, JsResult, Value, ValueType};
use crate::os::file::{self, CreatedFile, FileType, OpenError, OpenOptions};
use crate::os::{map_registry, mman};
use std::ffi::CString;
use std::os::fd::AsRawFd;

/// mmapMapFile(pathOrFd, offset, length | undefined,
///             { shared = true, readOnly = false, populate = false, size, mode = 0o600, reserve })
///
/// - `size` opens with O_CREAT and grows the file to at least `size` bytes
///   (ftruncate or fallocate) before mapping; it never shrinks a file.
/// - read-only + shared: O_RDONLY, PROT_READ, no buffer (JS copies with
///   `read`), so no JS write can fault. read-only + private: O_RDONLY,
///   copy-on-write, with a buffer whose writes never reach the file.
/// - a path is opened without blocking and refused unless it is a regular
///   file (a FIFO would otherwise block the event loop in open).
fn map_file(env: Env, call: &CallInfo) -> JsResult<Value> {
    let target = call.arg(0, "pathOrFd")?;
    let offset = call.arg(1, "offset")?.offset()?;
    let length = call.arg(2, "length")?.optional()?.map(|a| a.size()).transpose()?;
    let options = call.arg(3, "options")?;
    let mut map_options = FdMapOptions::read(&options)?;
    let FdMapOptions { shared, read_only, .. } = map_options;
    let size = options.property("size", "options.size")?.optional()?.map(|a| a.offset()).transpose()?;
    let mode = options.property("mode", "options.mode")?.optional()?.map(|a| a.integer(0, 0o7777)).transpose()?;
    let mode = mode.unwrap_or(0o600) as u32;
    let reserve = options.property("reserve", "options.reserve")?.optional()?.map(|a| a.boolean()).transpose()?;
    map_options.reserve = reserve;
    let target = match target.kind()? {
        ArgKind::Other if target.value.value_type()? == ValueType::String => Target::Path(target.string()?),
        ArgKind::Number => Target::Fd(target.integer(0, i32::MAX as i64)? as i32),
        _ => return Err(target.type_error("of type string or number")),
    };
    // Every argument is read: no JS runs from here on.

    check_page_offset("options.offset", offset)?;
    if size.is_some() && read_only {
        return Err(Error::Type {
            code: "ERR_INCOMPATIBLE_OPTION_PAIR",
            message: "Option \"size\" cannot be used in combination with option \"readOnly\"".into(),
        });
    }

    // Keeps the file open until the mapping exists; the mapping then holds
    // its own reference to the file, so ours is closed on return.
    let opened;
    let c_path;
    // A file this call creates is removed again if growing or mapping it fails.
    let mut created = None;
    let (fd, subject, shown) = match target {
        Target::Path(path) => {
            c_path = CString::new(path.as_str()).map_err(|_| {
                Error::invalid_arg_value("pathOrFd", "must be a string without null bytes", &format!("'{path}'"))
            })?;
            let write = size.is_some() || (shared && !read_only);
            let how = OpenOptions { create: size.map(|_| mode), ..OpenOptions::regular(write, true) };
            let shown = format!("'{path}'");
            opened = file::open(&c_path, how).map_err(|e| match e {
                OpenError::Sys(e) => Error::sys(e, Subject::Path(path.clone())),
                OpenError::WrongType(kind) => not_regular(&shown, kind),
            })?;
            created = CreatedFile::guard(&c_path, &opened);
            (opened.fd.as_raw_fd(), Subject::Path(path), shown)
        }
        Target::Fd(fd) => (fd, Subject::Detail(format!("fd {fd}")), format!("fd {fd}")),
    };

    // The registry stays locked from the size change to the mmap, so a
    // concurrent shrink elsewhere in the process cannot slip in between.
    let mut registry = map_registry::lock();
    if let Some(size) = size {
        // Reserve by default where running out of space means SIGBUS for
        // memory-backed files: tmpfs.
        let stat = file::fstat(fd).map_err(|e| Error::sys(e, subject.clone()))?;
        if stat.kind != FileType::Regular {
            return Err(not_regular(&shown, stat.kind));
        }
        let reserve = match reserve {
            Some(reserve) => Ok(reserve),
            None => mman::on_tmpfs(fd),
        };
        reserve.and_then(|reserve| mman::extend_file(fd, size, reserve)).map_err(|e| Error::sys(e, subject.clone()))?;
    }
    let memory = map_options
        .map(&mut registry, fd, offset, length, &shown, "Pass options.size to grow it first")
        .map_err(|e| file_map_error(e, subject, &shown))?;
    drop(registry);
    let exposed = expose(env, memory, map_options.init())?;
    if let Some(created) = created {
        created.keep();
    }
    Ok(exposed)
}

enum Target {
    Path(String),
    Fd(i32),
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("mmapMapFile", map_file)?;
    Ok(())
}
