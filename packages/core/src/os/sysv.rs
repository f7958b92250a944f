//! System V shared memory: shmget, shmat/shmdt (through [`MmapRaw`]),
//! shmctl and ftok.
//!
//! Keys are handled as `u32` (the bits of a `key_t`), so a key reads the same
//! here, in `ipcs` (hex) and in JS (0..2^32-1).

use super::mman::{MmapRaw, Release};
use super::{cvt, cvt_retry, Error, Result};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// The key that always makes a new segment nobody else can find by key.
pub const IPC_PRIVATE: u32 = 0;

/// `shm_perm.mode` bit: the segment is marked for removal (IPC_RMID) and
/// disappears when the last attachment goes. Not exported by the libc crate.
pub const SHM_DEST: u32 = 0o1000;
/// `shm_perm.mode` bit: the segment's pages are locked (SHM_LOCK).
pub const SHM_LOCKED: u32 = 0o2000;

/// How [`get`] finds or makes a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetOptions {
    /// IPC_CREAT: make the segment if the key has none.
    pub create: bool,
    /// IPC_EXCL (with `create`): fail with EEXIST if the key has one.
    pub exclusive: bool,
    /// Permission bits of a new segment (0..=0o777).
    pub mode: u32,
    /// SHM_HUGETLB: back a new segment with huge pages.
    pub huge_pages: bool,
    /// SHM_NORESERVE: reserve no swap for a new segment.
    pub no_reserve: bool,
}

/// shmget: the id of the segment for `key`, made if `options` say so.
///
/// `size` is the minimum size wanted: 0 opens a segment of any size, a size
/// larger than the existing segment fails with EINVAL.
pub fn get(key: u32, size: usize, options: GetOptions) -> Result<i32> {
    let mut flags = (options.mode & 0o777) as libc::c_int;
    if options.create {
        flags |= libc::IPC_CREAT;
        if options.exclusive {
            flags |= libc::IPC_EXCL;
        }
        if options.huge_pages {
            flags |= libc::SHM_HUGETLB;
        }
        if options.no_reserve {
            flags |= libc::SHM_NORESERVE;
        }
    }
    // SAFETY: shmget takes plain integers and reports failure through errno.
    cvt(unsafe { libc::shmget(key as libc::key_t, size, flags) }, "shmget")
}

/// ftok: the key glibc derives from a file's inode and device and a project
/// id. Computed here from stat(2) with glibc's formula, because ftok's own
/// "-1 means error" return is also the valid key 0xffffffff.
pub fn ftok(path: &CStr, proj_id: u8) -> Result<u32> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: path is NUL-terminated and st has room for a struct stat.
    cvt(unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) }, "ftok")?;
    // SAFETY: stat succeeded, so it filled st.
    let st = unsafe { st.assume_init() };
    Ok((st.st_ino as u32 & 0xffff) | ((st.st_dev as u32 & 0xff) << 16) | ((proj_id as u32) << 24))
}

/// shmat: attaches segment `id` at an address the kernel picks.
///
/// The mapping is as long as the segment (`shm_segsz`, read after the attach
/// so a permission error comes from shmat itself) and is released with shmdt
/// when dropped. `read_only` attaches with SHM_RDONLY: any write faults.
pub fn attach(id: i32, read_only: bool) -> Result<MmapRaw> {
    let flags = if read_only { libc::SHM_RDONLY } else { 0 };
    // SAFETY: a null address lets the kernel choose a free range, so no
    // existing memory is replaced.
    let ptr = cvt(unsafe { libc::shmat(id, std::ptr::null(), flags) }, "shmat")?;
    let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(Error::new(libc::EINVAL, "shmat"))?;
    // SAFETY: ptr is a fresh shmat attachment that nothing else owns. This
    // guard detaches it if reading the size fails below.
    let guard = unsafe { MmapRaw::from_raw_parts(ptr, 1, Release::Shmdt) };
    let size = stat(id)?.size;
    if size == 0 {
        return Err(Error::new(libc::EINVAL, "shmat"));
    }
    std::mem::forget(guard);
    // SAFETY: the attachment spans the whole segment, shm_segsz bytes (the
    // kernel maps it rounded up to pages); ownership moves from the guard.
    Ok(unsafe { MmapRaw::from_raw_parts(ptr, size, Release::Shmdt) })
}

/// What IPC_STAT reports about a segment (`struct shmid_ds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentStat {
    pub key: u32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// `shm_perm.mode` as the kernel keeps it: permission bits plus
    /// [`SHM_DEST`] and [`SHM_LOCKED`].
    pub mode: u32,
    pub seq: u16,
    pub size: usize,
    /// Seconds since the epoch; 0 means never.
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
}

fn ctl(id: i32, cmd: libc::c_int, buf: *mut libc::shmid_ds) -> Result<()> {
    // SAFETY: buf is null or points to a shmid_ds the caller owns; commands
    // that take no buffer ignore it.
    cvt_retry(|| unsafe { libc::shmctl(id, cmd, buf) }, "shmctl").map(drop)
}

/// shmctl(IPC_STAT).
pub fn stat(id: i32) -> Result<SegmentStat> {
    let mut ds = MaybeUninit::<libc::shmid_ds>::zeroed();
    ctl(id, libc::IPC_STAT, ds.as_mut_ptr())?;
    // SAFETY: IPC_STAT filled the struct (and it started zeroed anyway).
    let ds = unsafe { ds.assume_init() };
    let perm = &ds.shm_perm;
    Ok(SegmentStat {
        key: perm.__key as u32,
        uid: perm.uid,
        gid: perm.gid,
        cuid: perm.cuid,
        cgid: perm.cgid,
        mode: perm.mode as u32,
        seq: perm.__seq,
        size: ds.shm_segsz,
        atime: ds.shm_atime,
        dtime: ds.shm_dtime,
        ctime: ds.shm_ctime,
        cpid: ds.shm_cpid,
        lpid: ds.shm_lpid,
        nattch: ds.shm_nattch,
    })
}

/// shmctl(IPC_SET): the owner and the permission bits. The kernel takes only
/// these three fields of the struct.
pub fn set(id: i32, uid: u32, gid: u32, mode: u32) -> Result<()> {
    // SAFETY: an all-zero shmid_ds is a valid value (plain integers).
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    ds.shm_perm.uid = uid;
    ds.shm_perm.gid = gid;
    ds.shm_perm.mode = (mode & 0o777) as libc::c_ushort;
    ctl(id, libc::IPC_SET, &mut ds)
}

/// shmctl(SHM_LOCK / SHM_UNLOCK): keep the segment's pages out of swap.
pub fn lock(id: i32, locked: bool) -> Result<()> {
    let cmd = if locked { libc::SHM_LOCK } else { libc::SHM_UNLOCK };
    ctl(id, cmd, std::ptr::null_mut())
}

/// shmctl(IPC_RMID): mark for removal. Attachments keep working; the segment
/// goes when the last one is detached, and its key is free at once.
pub fn remove(id: i32) -> Result<()> {
    ctl(id, libc::IPC_RMID, std::ptr::null_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// Makes a private segment and removes it when dropped.
    struct Seg(i32);

    impl Seg {
        fn new(size: usize) -> Seg {
            Seg(get(
                IPC_PRIVATE,
                size,
                GetOptions { create: true, exclusive: true, mode: 0o600, ..GetOptions::default() },
            )
            .unwrap())
        }
    }

    impl Drop for Seg {
        fn drop(&mut self) {
            let _ = remove(self.0);
        }
    }

    fn test_key(n: u32) -> u32 {
        0x5b00_0000 | ((std::process::id() & 0xffff) << 8) | n
    }

    #[test]
    fn create_stat_attach_and_share() {
        let seg = Seg::new(10_000);
        let st = stat(seg.0).unwrap();
        assert_eq!(st.size, 10_000);
        assert_eq!(st.mode & 0o777, 0o600);
        assert_eq!(st.mode & SHM_DEST, 0);
        assert_eq!(st.nattch, 0);
        assert_eq!(st.cpid, std::process::id() as i32);
        assert_eq!(st.atime, 0);
        assert!(st.ctime > 0);

        let a = attach(seg.0, false).unwrap();
        let b = attach(seg.0, true).unwrap();
        assert_eq!(a.len(), 10_000);
        assert_ne!(a.address(), b.address());
        assert_eq!(stat(seg.0).unwrap().nattch, 2);
        // SAFETY: both attachments are live and 10_000 bytes long.
        unsafe {
            a.as_ptr().add(9_999).write_volatile(42);
            assert_eq!(b.as_ptr().add(9_999).read_volatile(), 42);
        }
        drop(a);
        drop(b);
        let st = stat(seg.0).unwrap();
        assert_eq!(st.nattch, 0);
        assert!(st.atime > 0 && st.dtime > 0);
    }

    #[test]
    fn keyed_create_open_and_errors() {
        let key = test_key(1);
        let opts = GetOptions { create: true, exclusive: true, mode: 0o640, ..GetOptions::default() };
        let id = get(key, 4096, opts).unwrap();
        let seg = Seg(id);
        assert_eq!(get(key, 4096, opts).unwrap_err().code(), "EEXIST");
        let open = GetOptions::default();
        assert_eq!(get(key, 0, open).unwrap(), id);
        assert_eq!(get(key, 4096, open).unwrap(), id);
        let err = get(key, 8192, open).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("EINVAL", "shmget"));
        assert_eq!(stat(id).unwrap().key, key);
        assert_eq!(stat(id).unwrap().mode & 0o777, 0o640);
        drop(seg);
        assert_eq!(get(key, 0, open).unwrap_err().code(), "ENOENT");
    }

    #[test]
    fn remove_keeps_attachments_alive() {
        let seg = Seg::new(4096);
        let a = attach(seg.0, false).unwrap();
        remove(seg.0).unwrap();
        let st = stat(seg.0).unwrap();
        assert_ne!(st.mode & SHM_DEST, 0);
        assert_eq!(st.key, IPC_PRIVATE);
        // SAFETY: the attachment is live.
        unsafe { a.as_ptr().write_volatile(7) };
        drop(a);
        let err = stat(seg.0).unwrap_err();
        assert!(matches!(err.code(), "EINVAL" | "EIDRM"), "{err}");
        assert!(matches!(attach(seg.0, false).unwrap_err().code(), "EINVAL" | "EIDRM"));
    }

    #[test]
    fn set_and_lock() {
        let seg = Seg::new(4096);
        let st = stat(seg.0).unwrap();
        set(seg.0, st.uid, st.gid, 0o644).unwrap();
        let after = stat(seg.0).unwrap();
        assert_eq!(after.mode & 0o777, 0o644);
        assert!(after.ctime >= st.ctime);
        // Locking needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK; only check it when
        // it is allowed, and that unlock undoes it.
        if lock(seg.0, true).is_ok() {
            assert_ne!(stat(seg.0).unwrap().mode & SHM_LOCKED, 0);
            lock(seg.0, false).unwrap();
            assert_eq!(stat(seg.0).unwrap().mode & SHM_LOCKED, 0);
        }
    }

    #[test]
    fn ftok_matches_libc() {
        let path = CString::new("/").unwrap();
        for proj in [1u8, 0x41, 255] {
            // SAFETY: path is NUL-terminated.
            let expected = unsafe { libc::ftok(path.as_ptr(), proj as libc::c_int) } as u32;
            assert_eq!(ftok(&path, proj).unwrap(), expected);
        }
        let missing = CString::new("/nonexistent/shmkit").unwrap();
        let err = ftok(&missing, 1).unwrap_err();
        assert_eq!((err.code(), err.syscall()), ("ENOENT", "ftok"));
    }
}
