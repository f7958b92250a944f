//! Who maps what: every live file-backed mapping of this process, keyed by
//! the object it maps (device + inode).
//!
//! Shrinking a file that is mapped makes the next touch of a page past the
//! new end raise SIGBUS. Within one process that is avoidable: the registry
//! knows every mapping of an object, however it was made (a POSIX shm
//! object's `map`, `mapFile` of the same /dev/shm path, a descriptor passed
//! to `mapFd`, from any thread or worker), and for as long as the memory is
//! really mapped: an entry lives inside the [`MmapRaw`](super::mman::MmapRaw)
//! and goes when its munmap has run, which may be long after the JS object
//! was closed (a pending native wait, a held lock, a collected Mapping whose
//! views are still reachable). Shrinks consult it under the same lock that
//! every new mapping takes between its fstat and its mmap, so a mapping
//! cannot appear between the check and the ftruncate.
//!
//! Other processes are out of reach: a peer that truncates an object we map
//! still makes our next touch past its new end a SIGBUS.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A file or shared memory object, as the kernel identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    pub dev: u64,
    pub ino: u64,
}

/// Bytes `offset..offset+len` of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
}

impl Span {
    pub fn end(self) -> u64 {
        self.offset.saturating_add(self.len)
    }
}

/// The table itself; reach it through [`lock`].
#[derive(Debug, Default)]
pub struct Registry {
    objects: HashMap<ObjectId, HashMap<u64, Span>>,
    next_id: u64,
}

/// What the registry holds about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Live mappings of the object.
    pub mappings: usize,
    /// The end of the furthest of them (bytes from the object's start).
    pub extent: u64,
}

impl Registry {
    /// Records a live mapping; the returned token removes it when dropped.
    #[must_use]
    pub fn register(&mut self, object: ObjectId, span: Span) -> Registration {
        self.next_id += 1;
        let id = self.next_id;
        self.objects.entry(object).or_default().insert(id, span);
        Registration { object, id }
    }

    /// The live mappings of `object`, or None when nothing maps it.
    pub fn usage(&self, object: ObjectId) -> Option<Usage> {
        let spans = self.objects.get(&object)?;
        let extent = spans.values().map(|s| s.end()).max()?;
        Some(Usage { mappings: spans.len(), extent })
    }

    fn remove(&mut self, object: ObjectId, id: u64) {
        if let Some(spans) = self.objects.get_mut(&object) {
            spans.remove(&id);
            if spans.is_empty() {
                self.objects.remove(&object);
            }
        }
    }
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Removals from registrations dropped while the registry was locked (by
/// this thread, say a mapping that failed half-way, or by another); the next
/// [`lock`] applies them. Until then the registry over-counts, which only
/// ever makes a shrink refuse.
static PENDING: Mutex<Vec<(ObjectId, u64)>> = Mutex::new(Vec::new());

/// The registry, locked. Hold it across a fstat-check-mmap-register or a
/// fstat-check-truncate sequence so that the two never interleave.
pub fn lock() -> Locked {
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let registry = guard.get_or_insert_with(Registry::default);
    for (object, id) in PENDING.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        registry.remove(object, id);
    }
    Locked(guard)
}

/// A held lock on the registry.
pub struct Locked(MutexGuard<'static, Option<Registry>>);

impl std::ops::Deref for Locked {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        self.0.as_ref().expect("initialised by lock()")
    }
}

impl std::ops::DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Registry {
        self.0.as_mut().expect("initialised by lock()")
    }
}

/// One live mapping in the registry; dropping it removes the entry.
#[derive(Debug)]
pub struct Registration {
    object: ObjectId,
    id: u64,
}

impl Registration {
    pub fn object(&self) -> ObjectId {
        self.object
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Never wait here: the registry may be locked by this very thread.
        match REGISTRY.try_lock() {
            Ok(mut guard) => {
                if let Some(registry) = guard.as_mut() {
                    registry.remove(self.object, self.id);
                }
            }
            Err(_) => PENDING.lock().unwrap_or_else(|p| p.into_inner()).push((self.object, self.id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(ino: u64) -> ObjectId {
        // A device number no real file system uses, so parallel tests that
        // map real files never collide with these.
        ObjectId { dev: u64::MAX, ino }
    }

    #[test]
    fn counts_every_mapping_until_its_token_drops() {
        let a = object(1);
        assert_eq!(lock().usage(a), None);
        let first = lock().register(a, Span { offset: 0, len: 4096 });
        let second = lock().register(a, Span { offset: 8192, len: 100 });
        let other = lock().register(object(2), Span { offset: 0, len: 1 << 40 });
        assert_eq!(lock().usage(a), Some(Usage { mappings: 2, extent: 8292 }));
        drop(second);
        assert_eq!(lock().usage(a), Some(Usage { mappings: 1, extent: 4096 }));
        drop(first);
        assert_eq!(lock().usage(a), None);
        assert_eq!(lock().usage(object(2)).unwrap().extent, 1 << 40);
        drop(other);
        assert_eq!(lock().usage(object(2)), None);
    }

    #[test]
    fn tokens_from_many_threads() {
        let id = object(3);
        let tokens: Vec<Registration> = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..8).map(|i| s.spawn(move || lock().register(id, Span { offset: i * 4096, len: 4096 }))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(lock().usage(id), Some(Usage { mappings: 8, extent: 8 * 4096 }));
        std::thread::scope(|s| {
            for token in tokens {
                s.spawn(move || drop(token));
            }
        });
        assert_eq!(lock().usage(id), None);
    }

    #[test]
    fn a_token_dropped_while_the_registry_is_locked_is_applied_by_the_next_lock() {
        let id = object(4);
        let mut held = lock();
        let token = held.register(id, Span { offset: 0, len: 1 });
        drop(token);
        assert_eq!(held.usage(id).map(|u| u.mappings), Some(1), "over-counts while locked");
        drop(held);
        assert_eq!(lock().usage(id), None);
    }

    #[test]
    fn span_end_saturates() {
        assert_eq!(Span { offset: u64::MAX, len: 10 }.end(), u64::MAX);
    }
}
