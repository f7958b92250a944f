//! Mapping bindings (`mapping*`, `mapAnonymous`, `mapFd`): one mapped region
//! exposed to JS through external ArrayBuffers.
//!
//! The rules (which buffers may exist, when the memory may go) are
//! [`crate::model::region`]'s; this file carries them out with Node-API:
//! - `close` detaches every buffer the region granted, then unmaps. The main
//!   buffer is handed over by JS (only JS holds it; it is recognised by a
//!   tag carrying its id, never by its address); windows are found through
//!   weak references. A second close does nothing.
//! - Otherwise the memory goes once V8 has collected the handle and every
//!   buffer, so a view that outlives its Mapping object stays valid.
//! - Every binding decodes all its arguments (option getters and Proxies
//!   included) before it asks the region for anything, and the region checks
//!   liveness itself when asked: a getter that closes the mapping leaves the
//!   call nothing to act on but ERR_SHMKIT_CLOSED.
//! - Native work that outlives the call (msync on the pool, a semaphore
//!   wait) holds the memory itself; a close meanwhile defers the munmap.

use super::error::{Code, ShmkitError, Subject};
use super::extent::mappable_length;
use crate::model::pages::Access;
use crate::model::region::{self, BufferId, Memory, RangeNames, RegionError};
use crate::napi::{spawn_on_pool, sys, Arg, CallInfo, Env, Error, Exports, JsResult, Tagged, Value, WeakRef};
use crate::os::{
    self,
    file::FileType,
    map_registry,
    mman::{self as mm, Advice, FileMapError, MapFlags, MapOptions, MmapRaw, MsFlags, Protection},
};
use std::os::fd::RawFd;
use std::sync::Arc;

/// The region behind a Mapping; windows are remembered by weak reference.
pub type Region = region::Region<MmapRaw, WeakRef>;
/// Keeps `protect` from revoking access while native code uses the memory.
pub type RegionPin = region::RegionPin<MmapRaw, WeakRef>;

impl Memory for MmapRaw {
    fn as_ptr(&self) -> *mut u8 {
        MmapRaw::as_ptr(self)
    }
    fn len(&self) -> usize {
        MmapRaw::len(self)
    }
}

/// What a page protection lets JS do, in the region's terms.
fn access(protection: Protection) -> Access {
    Access { read: protection.readable(), write: protection.writable() }
}

/// The JS-held handle to a Region.
pub struct RegionHandle(pub Arc<Region>);

impl Tagged for RegionHandle {
    const NAME: &'static str = "Mapping";
}

/// Marks the main buffer with id `id`: only that exact ArrayBuffer carries
/// it, so one JS hands back is recognised even if a window (or any other
/// external buffer) spans the same bytes.
fn buffer_tag(id: BufferId) -> sys::napi_type_tag {
    sys::napi_type_tag { lower: 0x5348_4d4b_4954_4246, upper: id.get() }
}

impl From<RegionError> for Error {
    fn from(error: RegionError) -> Self {
        match error {
            RegionError::Closed => Error::closed("Mapping"),
            RegionError::OutOfRange { name, range, received } => Error::out_of_range(name, &range, &received.to_string()),
            RegionError::Misaligned { name, multiple, received } => {
                Error::invalid_arg_range(name, &format!("must be a multiple of {multiple}"), &received.to_string())
            }
            RegionError::Protected { start, end, write } => {
                let needed = if write { "read+write" } else { "readable" };
                Error::coded(Code::Protected, format!("bytes {start}..{end} of this mapping are not {needed}: protect() changed them"))
            }
            RegionError::ReadOnly => Error::coded(
                Code::ReadOnly,
                "this mapping is read-only: a buffer over it would let a write crash the process. Use read() to copy bytes out",
            ),
            RegionError::TooLarge { len, max } => Error::Range {
                code: "ERR_BUFFER_TOO_LARGE",
                message: format!("{len} bytes do not fit in one ArrayBuffer (at most {max} in this Node.js): ask for a smaller window"),
            },
            RegionError::Busy => Error::coded(
                Code::Busy,
                "native code is using this mapping's memory (a pending semaphore wait, or a PthreadMutex this thread holds); revoking access now would crash the process",
            ),
            RegionError::MustHandOver => Error::invalid_arg_value(
                "buffer",
                "must be this mapping's live ArrayBuffer, so it can be detached first",
                "a detached or missing buffer",
            ),
        }
    }
}

/// What the caller of [`expose`] decides about the new mapping.
pub struct MappingInit {
    /// The pages are writable, so JS may get ArrayBuffers over them. False
    /// for memory mapped read-only, whose writes would fault: JS then only
    /// gets copies (`read`).
    pub buffer: bool,
}

/// Wraps freshly mapped memory for JS: `[handle, buffer, address, byteLength]`,
/// which the `Mapping` class in TypeScript takes over. The buffer is
/// undefined for read-only memory and for mappings larger than one
/// ArrayBuffer can be (JS then asks for windows).
pub fn expose(env: Env, memory: MmapRaw, init: MappingInit) -> JsResult<Value> {
    let len = memory.len();
    let address = memory.address();
    let region = Arc::new(Region::new(memory, init.buffer, env.max_arraybuffer_len(), os::page_size()));
    env.adjust_external_memory(len as i64);

    // An array, not an object: four element stores cost far less than four
    // named-property stores (each of which interns its key), and map+close
    // latency is dominated by this glue.
    let handle = env.external(RegionHandle(Arc::clone(&region)))?;
    let buffer = match main_buffer(env, &region)? {
        Some(buffer) => buffer,
        None => env.undefined()?,
    };
    let result = env.array(4)?;
    result.set_index(0, handle)?;
    result.set_index(1, buffer)?;
    result.set_index(2, env.bigint_u64(address as u64)?)?;
    result.set_index(3, env.int64(len as i64)?)?;
    Ok(result)
}

/// When the collected buffer or window held the last reference to a region
/// nobody closed, the memory goes now (with an env to tell V8).
fn release_if_last(env: Env, region: &Arc<Region>) {
    if Arc::strong_count(region) == 1 {
        if let Ok(Some(closing)) = region.close(None) {
            drop(closing.memory);
            env.adjust_external_memory(-(region.len() as i64));
        }
    }
}

/// Leaves the memory mapped for the rest of the process: what is left when
/// a buffer the region granted could not be detached. A leak, never a
/// buffer over unmapped memory.
fn never_unmap(memory: Arc<MmapRaw>) {
    std::mem::forget(memory);
}

/// The main buffer over the whole region, if the region grants one.
fn main_buffer(env: Env, region: &Arc<Region>) -> JsResult<Option<Value>> {
    let Some(grant) = region.grant_main() else { return Ok(None) };
    let held = Arc::clone(region);
    let id = grant.id;
    // SAFETY: the grant keeps the memory mapped until this buffer is
    // detached: `close` refuses to go on without it being handed over (and
    // detaches it first), `protect` takes it back before revoking access,
    // and otherwise the memory goes only once V8 has collected it (this
    // closure runs). Running the closure for a buffer that failed to be
    // made is harmless: it only forgets an id nobody holds.
    let made = unsafe {
        env.external_arraybuffer(grant.ptr, grant.len, move |env| {
            held.main_gone(id);
            release_if_last(env, &held);
        })
    };
    let buffer = match made {
        Ok(buffer) => buffer,
        Err(e) => {
            region.main_gone(id);
            return Err(e);
        }
    };
    if let Err(e) = buffer.tag(&buffer_tag(id)) {
        // Untagged, it could never be handed back for close: take it back.
        if buffer.detach_arraybuffer().is_ok() {
            region.main_gone(id);
        } else if let Ok(memory) = region.memory() {
            never_unmap(memory);
        }
        return Err(e);
    }
    Ok(Some(buffer))
}

/// Which granted main buffer JS handed back in argument `arg` (and the
/// value, to detach it). A detached or empty buffer hands back nothing; any
/// other live buffer is refused.
fn handed_main(region: &Region, arg: Arg) -> JsResult<(Option<BufferId>, Option<Value>)> {
    let Some(buffer) = arg.optional()? else { return Ok((None, None)) };
    let (_, len) = buffer.value.arraybuffer_info().map_err(|_| buffer.type_error("an instance of ArrayBuffer"))?;
    if let Some(id) = region.main() {
        if buffer.value.has_tag(&buffer_tag(id))? {
            return Ok((Some(id), Some(buffer.value)));
        }
    }
    if len == 0 {
        return Ok((None, None));
    }
    Err(Error::invalid_arg_value("buffer", "is not this mapping's buffer", "another ArrayBuffer"))
}

/// Detaches what close or protect took back; false if any detach failed
/// (the caller must then keep the memory mapped).
fn detach_all(env: Env, main: Option<Value>, windows: Vec<WeakRef>) -> bool {
    let mut ok = main.map_or(true, |buffer| buffer.detach_arraybuffer().is_ok());
    for window in windows {
        match window.value(env) {
            Ok(Some(buffer)) => ok &= buffer.detach_arraybuffer().is_ok(),
            // Collected: nothing can reach it any more.
            Ok(None) => {}
            Err(_) => ok = false,
        }
        window.delete(env);
    }
    ok
}

/// The handle finalizer: the last JS reference to the region is gone when the
/// handle is collected with no buffer alive (read-only mappings, or after
/// close). Without an env here V8 is not told; the memory itself goes with
/// the last Arc.
impl Drop for RegionHandle {
    fn drop(&mut self) {
        if Arc::strong_count(&self.0) == 1 {
            if let Ok(Some(closing)) = self.0.close(None) {
                drop(closing);
            }
        }
    }
}

fn region(call: &CallInfo) -> JsResult<&Arc<Region>> {
    Ok(&call.handle::<RegionHandle>(0, "handle")?.0)
}

/// mappingClose(handle, buffer?): detach every buffer, then unmap. False
/// if it was closed already.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let (handed, buffer) = handed_main(region, call.arg(1, "buffer")?)?;
    let Some(closing) = region.close(handed)? else { return env.boolean(false) };
    let main = closing.main.and(buffer);
    if !detach_all(env, main, closing.windows) {
        never_unmap(closing.memory);
        return Err(Error::internal("a buffer over this mapping could not be detached; its memory stays mapped"));
    }
    drop(closing.memory);
    env.adjust_external_memory(-(region.len() as i64));
    // Waits on this memory end now (ERR_SHMKIT_CLOSED) instead of never.
    super::wait::region_closed(env, region);
    env.boolean(true)
}

/// mappingTruncated(handle): whether a page of the mapping was touched
/// after a truncation of its file had cut it off (os/bus_guard.rs).
fn truncated(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    env.boolean(region.memory().is_ok_and(|memory| memory.truncated()))
}

/// mappingKeepTruncationFatal(handle): a truncation of the mapped file
/// kills this process again (os/bus_guard.rs), for memory holding locks.
fn keep_truncation_fatal(env: Env, call: &CallInfo) -> JsResult<Value> {
    if let Ok(memory) = region(call)?.memory() {
        memory.keep_truncation_fatal();
    }
    env.undefined()
}

/// busFaults(): an ArrayBuffer over the process's count of SIGBUS faults
/// caught in guarded mappings (a u32), for hot paths to watch for a change.
fn bus_faults(env: Env, _call: &CallInfo) -> JsResult<Value> {
    let count = crate::os::bus_guard::faults();
    // SAFETY: a static, valid and writable for as long as the process
    // lives. A JS write to it can only make its own watchers check again.
    unsafe { env.external_arraybuffer(count.as_ptr().cast(), 4, |_| {}) }
}

fn optional_offset(call: &CallInfo, index: usize, name: &'static str) -> JsResult<Option<u64>> {
    call.arg(index, name)?.optional()?.map(|a| a.offset()).transpose()
}

/// mappingRead(handle, offset, length): a Buffer copy of the bytes.
fn read(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let offset = optional_offset(call, 1, "offset")?.unwrap_or(0);
    let length = optional_offset(call, 2, "length")?;
    let memory = region.memory()?;
    let (offset, length) = region.check_range(offset, length, RangeNames::ARGS)?;
    region.check_access(offset, length, false)?;
    // SAFETY: the range was checked against the live mapping and its pages, which `memory`
    // keeps mapped for the duration of the copy. Other processes may write
    // concurrently; a byte copy of shared memory is what the user asked for.
    let bytes = unsafe { std::slice::from_raw_parts(memory.as_ptr().add(offset), length) };
    env.buffer_copy(bytes)
}

/// mappingWindow(handle, offset = 0, length?): an ArrayBuffer over part of
/// the mapping, detached by close (or by protect revoking its pages).
fn window(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let offset = optional_offset(call, 1, "offset")?.unwrap_or(0);
    let length = optional_offset(call, 2, "length")?;
    let grant = region.grant_window(offset, length)?;
    let held = Arc::clone(region);
    let id = grant.id;
    // SAFETY: the grant keeps the memory mapped until this window is
    // detached: `close` and `protect` take it back (through the weak
    // reference recorded below) and detach it before unmapping or revoking
    // access; otherwise the memory goes only once this closure has run.
    let buffer = unsafe {
        env.external_arraybuffer(grant.ptr, grant.len, move |env| {
            if let Some(weak) = held.window_gone(id) {
                weak.delete(env);
            }
            release_if_last(env, &held);
        })
    }?;
    // Record it, or take it back at once: close would not find it.
    let weak = match env.weak_ref(buffer) {
        Ok(weak) => weak,
        Err(error) => return Err(take_back(region, buffer, error)),
    };
    if let Err(weak) = region.add_window(grant, weak) {
        weak.delete(env);
        return Err(take_back(region, buffer, Error::closed("Mapping")));
    }
    Ok(buffer)
}

/// Detaches a window the region does not know of, keeping the memory
/// mapped for good if even that fails; returns `error`.
fn take_back(region: &Region, buffer: Value, error: Error) -> Error {
    if buffer.detach_arraybuffer().is_err() {
        if let Ok(memory) = region.memory() {
            never_unmap(memory);
        }
    }
    error
}

/// The msync flags of options at `index`.
fn sync_flags(call: &CallInfo, index: usize) -> JsResult<MsFlags> {
    let options = call.arg(index, "options")?;
    let asynchronous = options.property("async", "options.async")?.boolean_or(false)?;
    let invalidate = options.property("invalidate", "options.invalidate")?.boolean_or(false)?;
    let flags = if asynchronous { MsFlags::ASYNC } else { MsFlags::SYNC };
    Ok(if invalidate { flags | MsFlags::INVALIDATE } else { flags })
}

/// The raw (offset, length) of options at `index`; checked later against
/// the region, once every option has been read.
fn options_range(call: &CallInfo, index: usize) -> JsResult<(u64, Option<u64>)> {
    let options = call.arg(index, "options")?;
    let offset =
        options.property("offset", "options.offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = options.property("length", "options.length")?.optional()?.map(|a| a.offset()).transpose()?;
    Ok((offset, length))
}

/// msync's decoded arguments.
struct SyncArgs {
    offset: usize,
    length: usize,
    flags: MsFlags,
    memory: Arc<MmapRaw>,
}

fn sync_args(call: &CallInfo) -> JsResult<SyncArgs> {
    let region = region(call)?;
    let (offset, length) = options_range(call, 1)?;
    let flags = sync_flags(call, 1)?;
    let memory = region.memory()?;
    let (offset, length) = region.check_range(offset, length, RangeNames::OPTIONS)?;
    Ok(SyncArgs { offset, length, flags, memory })
}

fn flush(args: &SyncArgs) -> JsResult<()> {
    if args.length > 0 {
        args.memory
            .flush(args.offset, args.length, args.flags)
            .map_err(|e| Error::sys(e, address_subject(&args.memory)))?;
    }
    Ok(())
}

/// mappingSync(handle, { offset, length, async, invalidate }): msync.
fn sync(env: Env, call: &CallInfo) -> JsResult<Value> {
    flush(&sync_args(call)?)?;
    env.undefined()
}

/// mappingSyncAsync(handle, options): msync on the thread pool.
fn sync_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let args = sync_args(call)?;
    spawn_on_pool(env, "shmkit.msync", move || flush(&args), |env, ()| env.undefined())
}

fn address_subject(memory: &MmapRaw) -> Subject {
    Subject::Detail(format!("{} bytes at 0x{:x}", memory.len(), memory.address()))
}

/// The page-aligned (offset, length) of a protect/advise range. Unlike msync,
/// these must not silently widen to the start of the page: `dontneed` or
/// `none` would then reach bytes the caller did not name.
fn page_range(region: &Region, offset: u64, length: Option<u64>) -> JsResult<(usize, usize)> {
    let (offset, length) = region.check_range(offset, length, RangeNames::OPTIONS)?;
    let page = os::page_size();
    if offset % page != 0 {
        return Err(Error::invalid_arg_range(
            "options.offset",
            &format!("must be a multiple of the page size ({page})"),
            &offset.to_string(),
        ));
    }
    Ok((offset, length))
}

/// The page-aligned range of the options at `index`, read (getters
/// included) and then checked against the region: for bindings of other
/// files that take `{ offset, length }`.
pub(super) fn options_page_range(call: &CallInfo, region: &Region, index: usize) -> JsResult<(usize, usize)> {
    let (offset, length) = options_range(call, index)?;
    page_range(region, offset, length)
}

fn protection_arg(call: &CallInfo, index: usize) -> JsResult<Protection> {
    let name = call.arg(index, "protection")?.string()?;
    match name.as_str() {
        "none" => Ok(Protection::NONE),
        "read" => Ok(Protection::READ),
        "read-write" => Ok(Protection::READ_WRITE),
        _ => Err(Error::invalid_arg_value(
            "protection",
            "must be one of 'none', 'read', 'read-write'",
            &format!("'{name}'"),
        )),
    }
}

/// mappingProtect(handle, buffer, protection, { offset, length }) -> buffer | undefined
///
/// mprotect, keeping principle 1: the buffers over pages that stop being
/// read+write are detached (the main buffer as soon as any page is not),
/// and when every page is read+write again a fresh main buffer is returned.
/// No JS runs between the mprotect and the detach, so no view ever sees a
/// revoked page.
fn protect(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let buffer = call.arg(1, "buffer")?;
    let protection = protection_arg(call, 2)?;
    let (offset, length) = options_range(call, 3)?;
    // Every argument is read: from here on no JS runs until we return.
    let (offset, length) = page_range(region, offset, length)?;
    let (handed, buffer) = handed_main(region, buffer)?;
    let memory = region.begin_protect(length, access(protection), handed)?;
    if length > 0 {
        memory.protect(offset, length, protection).map_err(|e| Error::sys(e, address_subject(&memory)))?;
    }
    let revoked = region.commit_protect(offset, length, access(protection));
    let detach_main = revoked.main.and(buffer);
    if !detach_all(env, detach_main, revoked.windows) {
        never_unmap(memory);
        return Err(Error::internal("a buffer over revoked pages could not be detached; the mapping stays mapped"));
    }
    match (revoked.main, buffer) {
        (None, Some(live)) if handed.is_some() => Ok(live),
        _ => match main_buffer(env, region)? {
            Some(fresh) => Ok(fresh),
            None => env.undefined(),
        },
    }
}

/// mappingAdvise(handle, advice, { offset, length }): madvise with a named advice.
fn advise(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let name = call.arg(1, "advice")?.string()?;
    let advice = Advice::from_name(&name).ok_or_else(|| {
        let names: Vec<String> = Advice::ALL.iter().map(|(n, _)| format!("'{n}'")).collect();
        Error::invalid_arg_value("advice", &format!("must be one of {}", names.join(", ")), &format!("'{name}'"))
    })?;
    let (offset, length) = options_range(call, 2)?;
    let (offset, length) = page_range(region, offset, length)?;
    let memory = region.memory()?;
    if length > 0 {
        memory.advise(offset, length, advice).map_err(|e| Error::sys(e, address_subject(&memory)))?;
    }
    env.undefined()
}

/// mapAnonymous(size, shared): zeroed anonymous memory.
fn map_anonymous(env: Env, call: &CallInfo) -> JsResult<Value> {
    let size = call.arg(0, "size")?.size()?;
    let shared = call.arg(1, "shared")?.boolean_or(true)?;
    let memory =
        MmapRaw::anonymous(size, shared).map_err(|e| Error::sys(e, Subject::Detail(format!("{size} bytes"))))?;
    expose(env, memory, MappingInit { buffer: true })
}

/// mapFd(fd, offset, length, { shared = true, readOnly = false, populate = false }):
/// maps part of an open file descriptor, refusing what is not a regular
/// file and ranges past its end (ERR_SHMKIT_NOT_REGULAR_FILE,
/// ERR_SHMKIT_EMPTY, ERR_SHMKIT_BEYOND_EOF, as `mmapMapFile`).
fn map_fd(env: Env, call: &CallInfo) -> JsResult<Value> {
    let fd = call.arg(0, "fd")?.integer(0, i32::MAX as i64)? as i32;
    let offset = call.arg(1, "offset")?.offset()?;
    let length = call.arg(2, "length")?.size()?;
    let options = FdMapOptions::read(&call.arg(3, "options")?)?;
    check_page_offset("offset", offset)?;
    let what = format!("fd {fd}");
    let memory = options
        .map(&mut map_registry::lock(), fd, offset, Some(length), &what, "Grow the file first")
        .map_err(|e| file_map_error(e, Subject::Detail(what.clone()), &what))?;
    expose(env, memory, options.init())
}

/// A [`FileMapError`] as the JS error: the refusal `FdMapOptions::map`
/// made, ERR_SHMKIT_NOT_REGULAR_FILE, or the failed system call about
/// `subject`. `what` names the file in messages ("'path'", "fd 3").
pub fn file_map_error(error: FileMapError<Error>, subject: Subject, what: &str) -> Error {
    match error {
        FileMapError::Sys(e) => Error::sys(e, subject),
        FileMapError::NotRegular(kind) => not_regular(what, kind),
        FileMapError::Refused(refusal) => refusal,
    }
}

/// ERR_SHMKIT_NOT_REGULAR_FILE: `what` is a FIFO, a directory... and was
/// not used.
pub fn not_regular(what: &str, kind: FileType) -> Error {
    Error::coded(
        Code::NotRegularFile,
        format!(
            "{what} is {}, not a regular file: only regular files have a size that keeps a mapping safe from SIGBUS",
            kind.described()
        ),
    )
}

/// The `{ shared = true, readOnly = false, populate = false }` options every
/// binding that maps a descriptor takes (mapFd, mmapMapFile, posixShmMap).
#[derive(Clone, Copy)]
pub struct FdMapOptions {
    pub shared: bool,
    pub read_only: bool,
    pub populate: bool,
    /// Allocate the holes of a writable shared mapping first (see
    /// [`MapOptions::reserve`]). None: only on tmpfs, where a write to a
    /// hole that finds no memory is SIGBUS.
    pub reserve: Option<bool>,
}

impl FdMapOptions {
    /// Reads the three options, in this order, from an options object.
    pub fn read(options: &Arg) -> JsResult<Self> {
        Ok(FdMapOptions {
            shared: options.property("shared", "options.shared")?.boolean_or(true)?,
            read_only: options.property("readOnly", "options.readOnly")?.boolean_or(false)?,
            populate: options.property("populate", "options.populate")?.boolean_or(false)?,
            reserve: None,
        })
    }

    /// Read-only shared mappings are PROT_READ and get no buffer (a JS write
    /// would fault); read-only private ones are copy-on-write, so their
    /// buffer is safe to write and the writes never reach the file.
    pub fn writable_pages(self) -> bool {
        !self.read_only || !self.shared
    }

    /// mmap of `length` bytes (default: to the end) of the regular file
    /// behind `fd` from `offset`, checked against its size right before the
    /// mmap (ranges past the end are refused with the codes of
    /// [`mappable_length`], `what` and `grow` wording the message) and
    /// recorded in the registry (see [`MmapRaw::map_file`]).
    pub fn map(
        self,
        registry: &mut map_registry::Locked,
        fd: RawFd,
        offset: u64,
        length: Option<usize>,
        what: &str,
        grow: &str,
    ) -> Result<MmapRaw, FileMapError<Error>> {
        let protection = if self.writable_pages() { Protection::READ_WRITE } else { Protection::READ };
        let mut flags = MapFlags::sharing(self.shared);
        if self.populate {
            flags = flags | MapFlags::POPULATE;
        }
        let reserve = match self.reserve {
            Some(reserve) => reserve,
            None => mm::on_tmpfs(fd).unwrap_or(false),
        };
        let options = MapOptions { protection, flags, reserve };
        MmapRaw::map_file(registry, fd, offset, options, |st| mappable_length(what, grow, st.size, offset, length))
    }

    /// How [`expose`] should hand the mapping to JS.
    pub fn init(self) -> MappingInit {
        MappingInit { buffer: self.writable_pages() }
    }
}

/// Refuses a file offset that is not a multiple of the page size before
/// mmap would, with an error that says why. `name` is the argument's name.
pub fn check_page_offset(name: &'static str, offset: u64) -> JsResult<()> {
    let page = os::page_size() as u64;
    if offset % page != 0 {
        return Err(Error::invalid_arg_range(
            name,
            &format!("must be a multiple of the page size ({page})"),
            &offset.to_string(),
        ));
    }
    Ok(())
}

fn page_size(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.int64(os::page_size() as i64)
}

/// The largest ArrayBuffer (main buffer or window) this Node.js can make.
fn max_buffer_length(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.number(env.max_arraybuffer_len() as f64)
}

/// The cheapest possible native call, for measuring call overhead.
fn noop(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("pageSize", page_size)?
        .function("maxBufferLength", max_buffer_length)?
        .function("noop", noop)?
        .function("mapAnonymous", map_anonymous)?
        .function("mapFd", map_fd)?
        .function("mappingClose", close)?
        .function("mappingRead", read)?
        .function("mappingWindow", window)?
        .function("mappingSync", sync)?
        .function("mappingSyncAsync", sync_async)?
        .function("mappingProtect", protect)?
        .function("mappingAdvise", advise)?
        .function("mappingTruncated", truncated)?
        .function("mappingKeepTruncationFatal", keep_truncation_fatal)?
        .function("busFaults", bus_faults)?;
    Ok(())
}
