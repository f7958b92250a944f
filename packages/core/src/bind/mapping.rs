//! Mapping: one mapped region exposed to JS as one external ArrayBuffer.
//!
//! Lifetime rules (design.md, principle 1):
//! - `close` detaches the buffer first, so every view reads as length 0,
//!   then releases the memory (munmap/shmdt). A second close does nothing.
//! - Otherwise the memory is released once V8 has collected both the handle
//!   and the buffer, so a view that outlives its Mapping object stays valid.
//! - Background work (msync) holds its own reference to the memory; closing
//!   during it defers the munmap until that work is done.

use super::error::{Code, ShmkitError, Subject};
use crate::napi::{spawn_on_pool, Arg, CallInfo, Env, Error, Exports, JsResult, Tagged, Value};
use crate::os::{
    self,
    mman::{Advice, MapFlags, MapOptions, MmapRaw, MsFlags, PageProtections, Protection},
};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The shared state behind one Mapping.
pub struct Region {
    memory: Mutex<Option<Arc<MmapRaw>>>,
    address: usize,
    len: usize,
    /// What `protect` has made of each page. JS holds a buffer only while
    /// every page is read+write; `read` copies only from readable pages.
    protection: Mutex<PageProtections>,
    /// Native work in flight that reads or writes the memory from Rust (a
    /// semaphore wait on its own thread). `protect` may not revoke access
    /// while any is pending: that code would fault.
    pins: AtomicUsize,
    /// Which ArrayBuffer over the memory JS may still hold undetached (a
    /// number from NEXT_BUFFER, 0 for none). `close` and `protect` refuse to
    /// unmap or revoke access unless they are handed that buffer to detach,
    /// so not even a caller of the internal binding can keep a live view
    /// over unmapped or protected memory.
    live_buffer: AtomicU64,
}

static NEXT_BUFFER: AtomicU64 = AtomicU64::new(1);

/// Keeps `protect` from revoking access to a region while native code uses it.
pub struct RegionPin(Arc<Region>);

impl Drop for RegionPin {
    fn drop(&mut self) {
        self.0.pins.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Region {
    /// Marks the memory as in use by native code until the pin drops.
    pub fn pin(self: &Arc<Self>) -> RegionPin {
        self.pins.fetch_add(1, Ordering::AcqRel);
        RegionPin(Arc::clone(self))
    }

    /// The live memory, or ERR_SHMKIT_CLOSED.
    pub fn memory(&self) -> JsResult<Arc<MmapRaw>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| Error::closed("Mapping"))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn address(&self) -> usize {
        self.address
    }

    /// ERR_SHMKIT_PROTECTED unless every page under `offset..offset+len` is
    /// readable (and writable, when `write`). Bindings that touch the memory
    /// from native code call this first: mprotect may have revoked access.
    pub fn check_access(&self, offset: usize, len: usize, write: bool) -> JsResult<()> {
        let pages = self.protection.lock().unwrap_or_else(|p| p.into_inner());
        let ok = if write {
            let page = os::page_size();
            len == 0 || {
                let first = offset / page;
                pages.all(first, (offset + len - 1) / page - first + 1, |p| p.readable() && p.writable())
            }
        } else {
            pages.readable(offset, len)
        };
        if ok {
            return Ok(());
        }
        let needed = if write { "read+write" } else { "readable" };
        Err(Error::coded(Code::Protected,
            format!("bytes {offset}..{} of this mapping are not {needed}: protect() changed them", offset + len),
        ))
    }

    /// Drops our reference to the memory; true if it was still open.
    fn release(&self, env: Env) -> bool {
        let taken = self.memory.lock().unwrap_or_else(|p| p.into_inner()).take();
        if taken.is_some() {
            env.adjust_external_memory(-(self.len as i64));
        }
        taken.is_some()
    }

    /// Checks that `offset..offset+length` lies inside the region.
    pub fn check_range(&self, offset: u64, length: Option<u64>, what: &'static str) -> JsResult<(usize, usize)> {
        let len = self.len as u64;
        if offset > len {
            return Err(Error::out_of_range(what, &format!(">= 0 && <= {len}"), &offset.to_string()));
        }
        let length = length.unwrap_or(len - offset);
        if length > len - offset {
            return Err(Error::out_of_range(
                "length",
                &format!(">= 0 && <= {} (the bytes after offset {offset})", len - offset),
                &length.to_string(),
            ));
        }
        Ok((offset as usize, length as usize))
    }
}

/// The JS-held handle to a Region.
pub struct RegionHandle(pub Arc<Region>);

impl Tagged for RegionHandle {
    const NAME: &'static str = "Mapping";
}

/// What the caller of [`expose`] decides about the new mapping.
pub struct MappingInit {
    /// Hand out a writable ArrayBuffer. False for memory mapped read-only,
    /// whose writes would fault: JS then only gets copies (`read`).
    pub buffer: bool,
}

/// Wraps freshly mapped memory for JS: `[handle, buffer, address, byteLength]`,
/// which the `Mapping` class in TypeScript takes over.
pub fn expose(env: Env, memory: MmapRaw, init: MappingInit) -> JsResult<Value> {
    let len = memory.len();
    let address = memory.address();
    let data = memory.as_ptr();
    // Memory without a buffer is mapped PROT_READ (see MappingInit::buffer).
    let initial = if init.buffer { Protection::READ_WRITE } else { Protection::READ };
    let protection = Mutex::new(PageProtections::new(len, initial));
    let region =
        Arc::new(Region { memory: Mutex::new(Some(Arc::new(memory))), address, len, protection, pins: AtomicUsize::new(0), live_buffer: AtomicU64::new(0) });
    env.adjust_external_memory(len as i64);

    // An array, not an object: four element stores cost far less than four
    // named-property stores (each of which interns its key), and map+close
    // latency is dominated by this glue.
    let handle = env.external(RegionHandle(Arc::clone(&region)))?;
    let buffer = if init.buffer { new_buffer(env, &region, data)? } else { env.undefined()? };
    let result = env.array(4)?;
    result.set_index(0, handle)?;
    result.set_index(1, buffer)?;
    result.set_index(2, env.bigint_u64(address as u64)?)?;
    result.set_index(3, env.int64(len as i64)?)?;
    Ok(result)
}

/// One external ArrayBuffer over the whole region. Every buffer holds the
/// region, so the memory is released only after the last of them and the
/// handle are gone (or by `close`).
fn new_buffer(env: Env, region: &Arc<Region>, data: *mut u8) -> JsResult<Value> {
    let held = Arc::clone(region);
    let id = NEXT_BUFFER.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the memory stays mapped while `region` holds it; `close` and
    // `protect` detach this buffer before releasing the memory or revoking
    // access to any page (they refuse to go on without it while
    // `live_buffer` names it), and otherwise the release happens only after
    // V8 collected the buffer (this closure runs).
    let buffer = unsafe {
        env.external_arraybuffer(data, region.len, move |env| {
            // Collected: no view can reach the memory through it any more.
            let _ = held.live_buffer.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire);
            if Arc::strong_count(&held) == 1 {
                held.release(env);
            }
        })?
    };
    region.live_buffer.store(id, Ordering::Release);
    Ok(buffer)
}

/// The mapping's live buffer from argument `arg`: it must be passed (so it
/// can be detached) whenever JS may still hold it undetached.
fn buffer_arg(region: &Region, arg: Arg) -> JsResult<Option<Value>> {
    let ours = match arg.optional()? {
        Some(buffer) => {
            let (data, len) = buffer.value.arraybuffer_info().map_err(|_| buffer.type_error("an instance of ArrayBuffer"))?;
            let ours = data as usize == region.address() && len == region.len();
            if !ours && len != 0 {
                return Err(Error::invalid_arg_value("buffer", "is not this mapping's buffer", "another ArrayBuffer"));
            }
            ours.then_some(buffer.value)
        }
        None => None,
    };
    if ours.is_none() && region.live_buffer.load(Ordering::Acquire) != 0 {
        return Err(Error::invalid_arg_value(
            "buffer",
            "must be this mapping's live ArrayBuffer, so it can be detached first",
            "a detached or missing buffer",
        ));
    }
    Ok(ours)
}

/// Detaches the mapping's live buffer; views over it read as length 0.
fn detach(region: &Region, buffer: Value) -> JsResult<()> {
    buffer.detach_arraybuffer()?;
    region.live_buffer.store(0, Ordering::Release);
    Ok(())
}

/// The handle finalizer: the last JS reference to the region is gone when the
/// handle is collected with no buffer alive (read-only mappings, or after
/// close).
impl Drop for RegionHandle {
    fn drop(&mut self) {
        // Without an env here we cannot report the external memory change;
        // the memory itself is released when the last Arc goes.
        if Arc::strong_count(&self.0) == 1 {
            self.0.memory.lock().unwrap_or_else(|p| p.into_inner()).take();
        }
    }
}

fn region(call: &CallInfo) -> JsResult<&Region> {
    Ok(&call.handle::<RegionHandle>(0, "handle")?.0)
}

/// mappingClose(handle, buffer?): detach, then release. Idempotent.
fn close(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    if region.memory.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
        return env.boolean(false);
    }
    if let Some(buffer) = buffer_arg(region, call.arg(1, "buffer")?)? {
        detach(region, buffer)?;
    }
    // Waits on this memory end now (ERR_SHMKIT_CLOSED) instead of never.
    super::wait::region_closed(env, region);
    env.boolean(region.release(env))
}

/// mappingRead(handle, offset, length): a Buffer copy of the bytes.
fn read(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let memory = region.memory()?;
    let offset = call.arg(1, "offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = call.arg(2, "length")?.optional()?.map(|a| a.offset()).transpose()?;
    let (offset, length) = region.check_range(offset, length, "offset")?;
    region.check_access(offset, length, false)?;
    // SAFETY: the range was checked against the live mapping and its pages, which `memory`
    // keeps mapped for the duration of the copy. Other processes may write
    // concurrently; a byte copy of shared memory is what the user asked for.
    let bytes = unsafe { std::slice::from_raw_parts(memory.as_ptr().add(offset), length) };
    env.buffer_copy(bytes)
}

fn sync_flags(call: &CallInfo, index: usize) -> JsResult<MsFlags> {
    let options = call.arg(index, "options")?;
    let asynchronous = options.property("async", "options.async")?.boolean_or(false)?;
    let invalidate = options.property("invalidate", "options.invalidate")?.boolean_or(false)?;
    let flags = if asynchronous { MsFlags::ASYNC } else { MsFlags::SYNC };
    Ok(if invalidate { flags | MsFlags::INVALIDATE } else { flags })
}

/// The (offset, length) range of options at `index`, checked against the region.
fn options_range(call: &CallInfo, region: &Region, index: usize) -> JsResult<(usize, usize)> {
    let options = call.arg(index, "options")?;
    let offset = options.property("offset", "options.offset")?.optional()?.map(|a| a.offset()).transpose()?.unwrap_or(0);
    let length = options.property("length", "options.length")?.optional()?.map(|a| a.offset()).transpose()?;
    region.check_range(offset, length, "options.offset")
}

/// mappingSync(handle, { offset, length, async, invalidate }): msync.
fn sync(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let memory = region.memory()?;
    let (offset, length) = options_range(call, region, 1)?;
    let flags = sync_flags(call, 1)?;
    if length > 0 {
        memory.flush(offset, length, flags).map_err(|e| Error::sys(e, address_subject(&memory)))?;
    }
    env.undefined()
}

/// mappingSyncAsync(handle, options): msync on the thread pool.
fn sync_async(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let memory = region.memory()?;
    let (offset, length) = options_range(call, region, 1)?;
    let flags = sync_flags(call, 1)?;
    spawn_on_pool(
        env,
        "shmkit.msync",
        move || {
            if length > 0 {
                memory.flush(offset, length, flags).map_err(|e| Error::sys(e, address_subject(&memory)))?;
            }
            Ok(())
        },
        |env, ()| env.undefined(),
    )
}

fn address_subject(memory: &MmapRaw) -> Subject {
    Subject::Detail(format!("{} bytes at 0x{:x}", memory.len(), memory.address()))
}

/// The page-aligned (offset, length) of a protect/advise range. Unlike msync,
/// these must not silently widen to the start of the page: `dontneed` or
/// `none` would then reach bytes the caller did not name.
pub(super) fn page_range(call: &CallInfo, region: &Region, index: usize) -> JsResult<(usize, usize)> {
    let (offset, length) = options_range(call, region, index)?;
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

/// mappingProtect(handle, buffer, protection, { offset, length }) -> buffer | undefined
///
/// mprotect, keeping principle 1: as soon as any page is not read+write the
/// current buffer is detached (its views read as length 0), and when every
/// page is read+write again a fresh buffer is returned. No JS runs between
/// the mprotect and the detach, so no view ever sees a revoked page.
fn protect(env: Env, call: &CallInfo) -> JsResult<Value> {
    let handle = call.handle::<RegionHandle>(0, "handle")?;
    let region = &handle.0;
    let memory = region.memory()?;
    let buffer = call.arg(1, "buffer")?;
    let name = call.arg(2, "protection")?.string()?;
    let protection = match name.as_str() {
        "none" => Protection::NONE,
        "read" => Protection::READ,
        "read-write" => Protection::READ_WRITE,
        _ => {
            return Err(Error::invalid_arg_value(
                "protection",
                "must be one of 'none', 'read', 'read-write'",
                &format!("'{name}'"),
            ))
        }
    };
    let (offset, length) = page_range(call, region, 3)?;
    if protection != Protection::READ_WRITE && length > 0 && region.pins.load(Ordering::Acquire) > 0 {
        return Err(Error::coded(Code::Busy,
            "native code is using this mapping's memory (a pending semaphore wait, or a PthreadMutex this thread holds); revoking access now would crash the process",
        ));
    }
    let live_buffer = buffer_arg(region, buffer)?;
    if length > 0 {
        memory.protect(offset, length, protection).map_err(|e| Error::sys(e, address_subject(&memory)))?;
    }
    let page = os::page_size();
    let all_read_write = {
        let mut pages = region.protection.lock().unwrap_or_else(|p| p.into_inner());
        pages.set(offset / page, os::page_ceil(length) / page, protection);
        pages.all_read_write()
    };
    match (all_read_write, live_buffer) {
        (true, Some(live)) => Ok(live),
        (true, None) => new_buffer(env, region, memory.as_ptr()),
        (false, Some(live)) => {
            detach(region, live)?;
            env.undefined()
        }
        (false, None) => env.undefined(),
    }
}

/// mappingAdvise(handle, advice, { offset, length }): madvise with a named advice.
fn advise(env: Env, call: &CallInfo) -> JsResult<Value> {
    let region = region(call)?;
    let memory = region.memory()?;
    let name = call.arg(1, "advice")?.string()?;
    let advice = Advice::from_name(&name).ok_or_else(|| {
        let names: Vec<String> = Advice::ALL.iter().map(|(n, _)| format!("'{n}'")).collect();
        Error::invalid_arg_value("advice", &format!("must be one of {}", names.join(", ")), &format!("'{name}'"))
    })?;
    let (offset, length) = page_range(call, region, 2)?;
    if length > 0 {
        memory.advise(offset, length, advice).map_err(|e| Error::sys(e, address_subject(&memory)))?;
    }
    env.undefined()
}

/// mapAnonymous(size, shared): zeroed anonymous memory.
fn map_anonymous(env: Env, call: &CallInfo) -> JsResult<Value> {
    let size = call.arg(0, "size")?.size()?;
    let shared = call.arg(1, "shared")?.boolean_or(true)?;
    let memory = MmapRaw::anonymous(size, shared).map_err(|e| Error::sys(e, Subject::Detail(format!("{size} bytes"))))?;
    expose(env, memory, MappingInit { buffer: true })
}

/// mapFd(fd, offset, length, { shared = true, readOnly = false, populate = false }):
/// maps part of an open file descriptor.
///
/// Read-only shared mappings are PROT_READ and get no buffer (a JS write
/// would fault); read-only private mappings are mapped copy-on-write, so the
/// buffer is safe to write and the writes never reach the file.
fn map_fd(env: Env, call: &CallInfo) -> JsResult<Value> {
    let fd = call.arg(0, "fd")?.integer(0, i32::MAX as i64)? as i32;
    let offset = call.arg(1, "offset")?.offset()?;
    let length = call.arg(2, "length")?.size()?;
    let options = FdMapOptions::read(&call.arg(3, "options")?)?;
    check_page_offset("offset", offset)?;
    let memory = options
        .map(fd, offset, length)
        .map_err(|e| Error::sys(e, Subject::Detail(format!("fd {fd}, {length} bytes at offset {offset}"))))?;
    expose(env, memory, options.init())
}

/// The `{ shared = true, readOnly = false, populate = false }` options every
/// binding that maps a descriptor takes (mapFd, mmapMapFile, posixShmMap).
#[derive(Clone, Copy)]
pub struct FdMapOptions {
    pub shared: bool,
    pub read_only: bool,
    pub populate: bool,
}

impl FdMapOptions {
    /// Reads the three options, in this order, from an options object.
    pub fn read(options: &Arg) -> JsResult<Self> {
        Ok(FdMapOptions {
            shared: options.property("shared", "options.shared")?.boolean_or(true)?,
            read_only: options.property("readOnly", "options.readOnly")?.boolean_or(false)?,
            populate: options.property("populate", "options.populate")?.boolean_or(false)?,
        })
    }

    /// Read-only shared mappings are PROT_READ and get no buffer (a JS write
    /// would fault); read-only private ones are copy-on-write, so their
    /// buffer is safe to write and the writes never reach the file.
    pub fn writable_pages(self) -> bool {
        !self.read_only || !self.shared
    }

    /// mmap of `length` bytes of `fd` from `offset`, with the protection above.
    pub fn map(self, fd: RawFd, offset: u64, length: usize) -> Result<MmapRaw, os::Error> {
        let protection = if self.writable_pages() { Protection::READ_WRITE } else { Protection::READ };
        let mut flags = MapFlags::sharing(self.shared);
        if self.populate {
            flags = flags | MapFlags::POPULATE;
        }
        MmapRaw::map_fd(fd, offset, length, MapOptions { protection, flags })
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

/// The cheapest possible native call, for measuring call overhead.
fn noop(env: Env, _call: &CallInfo) -> JsResult<Value> {
    env.undefined()
}

pub fn register(exports: &Exports) -> JsResult<()> {
    exports
        .function("pageSize", page_size)?
        .function("noop", noop)?
        .function("mapAnonymous", map_anonymous)?
        .function("mapFd", map_fd)?
        .function("mappingClose", close)?
        .function("mappingRead", read)?
        .function("mappingSync", sync)?
        .function("mappingSyncAsync", sync_async)?
        .function("mappingProtect", protect)?
        .function("mappingAdvise", advise)?;
    Ok(())
}
