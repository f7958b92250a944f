//! Bindings for the mmap area: mapping files by path or descriptor.
//!
//! The SIGBUS guard lives here: the file is fstat'ed right before mmap and a
//! range that reaches past its end is refused, because touching a mapped
//! page wholly beyond EOF raises SIGBUS, which would kill the process.

use super::error::{Code, ShmkitError, Subject};
use super::extent::mappable_length;
use super::{check_page_offset, expose, FdMapOptions};
use crate::napi::{ArgKind, CallInfo, Env, Error, Exports, JsResult, Value, ValueType};
use crate::os::mman::{self, OpenOptions};
use std::os::fd::AsRawFd;

/// mmapMapFile(pathOrFd, offset, length | undefined,
///             { shared = true, readOnly = false, populate = false, size, mode = 0o600 })
///
/// - `size` opens with O_CREAT and grows the file to at least `size` bytes
///   (ftruncate) before mapping; it never shrinks a file.
/// - read-only + shared: O_RDONLY, PROT_READ, no buffer (JS copies with
///   `read`), so no JS write can fault. read-only + private: O_RDONLY,
///   copy-on-write, with a buffer whose writes never reach the file.
fn map_file(env: Env, call: &CallInfo) -> JsResult<Value> {
    let target = call.arg(0, "pathOrFd")?;
    let offset = call.arg(1, "offset")?.offset()?;
    let length = call.arg(2, "length")?.optional()?.map(|a| a.size()).transpose()?;
    let options = call.arg(3, "options")?;
    let map_options = FdMapOptions::read(&options)?;
    let FdMapOptions { shared, read_only, .. } = map_options;
    let size = options.property("size", "options.size")?.optional()?.map(|a| a.offset()).transpose()?;
    let mode = options.property("mode", "options.mode")?.optional()?.map(|a| a.integer(0, 0o7777)).transpose()?;
    let mode = mode.unwrap_or(0o600) as u32;
    let reserve = options.property("reserve", "options.reserve")?.optional()?.map(|a| a.boolean()).transpose()?;

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
    let (fd, subject) = match target.kind()? {
        ArgKind::Other if target.value.value_type()? == ValueType::String => {
            let path = target.string()?;
            let write = size.is_some() || (shared && !read_only);
            let create = size.map(|_| mode);
            opened = mman::open_file(&path, OpenOptions { write, create }).map_err(|e| Error::sys(e, Subject::Path(path.clone())))?;
            (opened.as_raw_fd(), Subject::Path(path))
        }
        ArgKind::Number => {
            let fd = target.integer(0, i32::MAX as i64)? as i32;
            (fd, Subject::Detail(format!("fd {fd}")))
        }
        _ => return Err(target.type_error("of type string or number")),
    };
    let what = match &subject {
        Subject::Path(p) => format!("'{p}'"),
        Subject::Detail(d) => d.clone(),
        _ => String::new(),
    };

    let stat = match size {
        Some(size) => {
            // Reserve by default where running out of space means SIGBUS
            // for memory-backed files: tmpfs.
            let reserve = match reserve {
                Some(reserve) => Ok(reserve),
                None => mman::on_tmpfs(fd),
            };
            reserve.and_then(|reserve| mman::extend_file(fd, size, reserve))
        }
        None => mman::fstat(fd),
    }
    .map_err(|e| Error::sys(e, subject.clone()))?;
    if !stat.regular {
        return Err(Error::coded(
            Code::NotRegularFile,
            format!("{what} is not a regular file: only regular files have a size that keeps a mapping safe from SIGBUS"),
        ));
    }
    let length = mappable_length(&what, "Pass options.size to grow it first", stat.size, offset, length)?;

    let memory = map_options.map(fd, offset, length).map_err(|e| Error::sys(e, subject.clone()))?;
    expose(env, memory, map_options.init())
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports.function("mmapMapFile", map_file)?;
    Ok(())
}
