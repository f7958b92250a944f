//! Memory locking: mlock, mlock2, munlock, mlockall, munlockall, and the
//! numbers that decide whether they succeed (RLIMIT_MEMLOCK, VmLck,
//! CAP_IPC_LOCK).
//!
//! The kernel locks whole pages, so every range is widened to the pages it
//! touches ([`page_span`]). The calls here never dereference the memory
//! themselves: the kernel validates the range (ENOMEM for unmapped parts), so
//! they are safe functions over plain addresses.

use super::{cvt, page_ceil, page_floor, Error, Result};

/// `MCL_ONFAULT` (Linux 4.4+): missing from the pinned libc, and its value
/// differs by architecture (it follows MCL_CURRENT/MCL_FUTURE's encoding).
#[cfg(any(target_arch = "powerpc", target_arch = "powerpc64", target_arch = "sparc", target_arch = "sparc64"))]
pub const MCL_ONFAULT: libc::c_int = 0x8000;
#[cfg(not(any(target_arch = "powerpc", target_arch = "powerpc64", target_arch = "sparc", target_arch = "sparc64")))]
pub const MCL_ONFAULT: libc::c_int = 4;

/// `CAP_IPC_LOCK`: exempts a process from RLIMIT_MEMLOCK.
const CAP_IPC_LOCK: u32 = 14;

/// The page-aligned range `[start, end)` covering every byte of
/// `address..address + len`. Empty for `len == 0`.
pub fn page_span(address: usize, len: usize) -> (usize, usize) {
    if len == 0 {
        let start = page_floor(address);
        return (start, start);
    }
    let end = address.saturating_add(len);
    (page_floor(address), page_ceil(end))
}

/// Locks the pages of `address..address + len` into RAM.
///
/// Plain locking (`on_fault == false`) is `mlock`: every page is faulted in
/// now. With `on_fault`, `mlock2(MLOCK_ONFAULT)` locks pages as they are
/// first touched. mlock2 goes through `syscall(2)` so that a libc without the
/// wrapper (glibc < 2.27, old musl) still works; a kernel without it (< 4.4)
/// answers ENOSYS.
pub fn lock(address: usize, len: usize, on_fault: bool) -> Result<()> {
    if on_fault {
        // SAFETY: mlock2 only changes page attributes; the kernel checks the
        // range and reports unmapped parts as ENOMEM. Arguments match
        // mlock2(void *addr, size_t len, unsigned flags).
        cvt(unsafe { libc::syscall(libc::SYS_mlock2, address, len, libc::MLOCK_ONFAULT) }, "mlock2").map(drop)
    } else {
        // SAFETY: as above; mlock touches no memory on our behalf.
        cvt(unsafe { libc::mlock(address as *const libc::c_void, len) }, "mlock").map(drop)
    }
}

/// Unlocks the pages of `address..address + len` (`munlock`). Pages need not
/// be locked; unmapped parts give ENOMEM.
pub fn unlock(address: usize, len: usize) -> Result<()> {
    // SAFETY: munlock only changes page attributes of the given range.
    cvt(unsafe { libc::munlock(address as *const libc::c_void, len) }, "munlock").map(drop)
}

/// What `mlockall` should lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockAll {
    /// MCL_CURRENT: everything mapped now.
    pub current: bool,
    /// MCL_FUTURE: everything mapped from now on.
    pub future: bool,
    /// MCL_ONFAULT: lock pages as they are touched instead of populating.
    pub on_fault: bool,
}

impl LockAll {
    pub fn flags(self) -> libc::c_int {
        let mut flags = 0;
        if self.current {
            flags |= libc::MCL_CURRENT;
        }
        if self.future {
            flags |= libc::MCL_FUTURE;
        }
        if self.on_fault {
            flags |= MCL_ONFAULT;
        }
        flags
    }
}

/// `mlockall`. At least one of `current`/`future` must be set (EINVAL
/// otherwise, as the kernel says).
pub fn lock_all(what: LockAll) -> Result<()> {
    // SAFETY: mlockall takes only flags.
    cvt(unsafe { libc::mlockall(what.flags()) }, "mlockall").map(drop)
}

/// `munlockall`: unlocks every page of the process and cancels MCL_FUTURE.
pub fn unlock_all() -> Result<()> {
    // SAFETY: munlockall takes no arguments.
    cvt(unsafe { libc::munlockall() }, "munlockall").map(drop)
}

/// RLIMIT_MEMLOCK in bytes; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemlockLimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

pub fn memlock_limit() -> Result<MemlockLimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid out-pointer for getrlimit.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) }, "getrlimit")?;
    let bytes = |v: libc::rlim_t| if v == libc::RLIM_INFINITY { None } else { Some(v as u64) };
    Ok(MemlockLimit { soft: bytes(limit.rlim_cur), hard: bytes(limit.rlim_max) })
}

/// The lines of /proc/self/status that matter for locking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockStatus {
    /// VmLck: bytes the kernel counts against RLIMIT_MEMLOCK.
    pub locked: u64,
    /// VmRSS: bytes resident in RAM.
    pub resident: u64,
    /// VmSize: bytes mapped; what mlockall(MCL_CURRENT) asks to lock.
    pub mapped: u64,
    /// CAP_IPC_LOCK is in the effective set: the limit does not apply.
    pub ipc_lock: bool,
}

/// Reads VmLck, VmRSS, VmSize and CapEff of this process.
pub fn status() -> Result<LockStatus> {
    let text = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EIO), "open"))?;
    Ok(parse_status(&text))
}

/// Parses the text of /proc/<pid>/status. Missing lines read as 0/false.
pub fn parse_status(text: &str) -> LockStatus {
    let mut status = LockStatus::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "VmLck" => status.locked = kilobytes(value),
            "VmRSS" => status.resident = kilobytes(value),
            "VmSize" => status.mapped = kilobytes(value),
            "CapEff" => {
                let caps = u64::from_str_radix(value, 16).unwrap_or(0);
                status.ipc_lock = caps & (1 << CAP_IPC_LOCK) != 0;
            }
            _ => {}
        }
    }
    status
}

/// "1234 kB" -> 1234 * 1024 (the kernel's kB are KiB).
fn kilobytes(value: &str) -> u64 {
    let number = value.split_whitespace().next().unwrap_or("0");
    number.parse::<u64>().unwrap_or(0).saturating_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::{mman::MmapRaw, page_size};

    #[test]
    fn spans_round_out_to_pages() {
        let p = page_size();
        assert_eq!(page_span(0, 0), (0, 0));
        assert_eq!(page_span(p, 1), (p, 2 * p));
        assert_eq!(page_span(p + 10, p), (p, 3 * p));
        assert_eq!(page_span(2 * p - 1, 2), (p, 3 * p));
        assert_eq!(page_span(p, p), (p, 2 * p));
    }

    #[test]
    fn parses_status() {
        let text = "Name:\tnode\nVmSize:\t 100 kB\nVmLck:\t      8 kB\nVmRSS:\t  40960 kB\nCapEff:\t0000000000004000\n";
        let status = parse_status(text);
        assert_eq!(status.locked, 8192);
        assert_eq!(status.resident, 40960 * 1024);
        assert_eq!(status.mapped, 100 * 1024);
        assert!(status.ipc_lock);
        assert!(!parse_status("CapEff:\t0000000000000001\n").ipc_lock);
        assert_eq!(parse_status(""), LockStatus::default());
    }

    #[test]
    fn lock_all_flags() {
        assert_eq!(LockAll::default().flags(), 0);
        let all = LockAll { current: true, future: true, on_fault: true };
        assert_eq!(all.flags(), libc::MCL_CURRENT | libc::MCL_FUTURE | MCL_ONFAULT);
    }

    #[test]
    fn limit_is_readable() {
        let limit = memlock_limit().unwrap();
        if let (Some(soft), Some(hard)) = (limit.soft, limit.hard) {
            assert!(soft <= hard);
        }
    }

    // VmLck is per process and tests run on parallel threads: the tests
    // that lock take this first so their before/after readings are theirs.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    // Locking needs CAP_IPC_LOCK or room under RLIMIT_MEMLOCK; a few pages
    // fit under every default limit (64 KiB or 8 MiB).
    #[test]
    fn lock_and_unlock_raise_and_restore_vmlck() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let p = page_size();
        let memory = MmapRaw::anonymous(4 * p, false).unwrap();
        let before = status().unwrap().locked;
        lock(memory.address(), 4 * p, false).unwrap();
        let during = status().unwrap().locked;
        unlock(memory.address(), 4 * p).unwrap();
        let after = status().unwrap().locked;
        assert_eq!(during, before + 4 * p as u64);
        assert_eq!(after, before);
    }

    #[test]
    fn on_fault_lock_counts_the_range() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let p = page_size();
        let memory = MmapRaw::anonymous(2 * p, false).unwrap();
        let before = status().unwrap().locked;
        lock(memory.address(), 2 * p, true).unwrap();
        assert_eq!(status().unwrap().locked, before + 2 * p as u64);
        unlock(memory.address(), 2 * p).unwrap();
        assert_eq!(status().unwrap().locked, before);
    }

    #[test]
    fn unmapped_range_is_enomem() {
        let p = page_size();
        // SAFETY: a fresh private anonymous mapping we own; the second page
        // is unmapped at once and the first at the end.
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                2 * p,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            assert_eq!(libc::munmap(base.cast::<u8>().add(p).cast(), p), 0);
            let err = unlock(base as usize, 2 * p).unwrap_err();
            assert_eq!((err.code(), err.syscall()), ("ENOMEM", "munlock"));
            let err = lock(base as usize, 2 * p, false).unwrap_err();
            assert_eq!((err.code(), err.syscall()), ("ENOMEM", "mlock"));
            libc::munmap(base, p);
        }
    }
}
