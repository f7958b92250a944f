//! The bookkeeping of memory locks: which ranges are locked by whom, and
//! which pages may be unlocked when one lock ends.
//!
//! Locks do not nest in the kernel: one munlock undoes every mlock of a
//! page. So every live lock is recorded here, and ending one munlocks only
//! the pages no other live lock still covers. The kernel calls themselves
//! are passed in, so this logic is tested without locking anything.

use std::collections::BTreeMap;

/// What keeps a lock's memory mapped.
pub trait Owner {
    /// Held while the lock's pages are unlocked, so the memory cannot be
    /// unmapped (and its addresses reused) meanwhile.
    type Pin;
    /// None once the memory is gone: its unmapping dropped the kernel's
    /// lock already, so there is nothing left to unlock.
    fn pin(&self) -> Option<Self::Pin>;
}

struct Entry<O> {
    span: (usize, usize),
    owner: O,
}

/// Every live lock of the process, by id.
pub struct LockRegistry<O> {
    next_id: u64,
    entries: BTreeMap<u64, Entry<O>>,
}

impl<O: Owner> Default for LockRegistry<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O: Owner> LockRegistry<O> {
    pub const fn new() -> Self {
        LockRegistry { next_id: 1, entries: BTreeMap::new() }
    }

    /// Drops the locks whose memory is gone. Their pages are not locked any
    /// more, and keeping them would stop a later lock at a reused address
    /// from ever being unlocked.
    pub fn forget_unmapped(&mut self) {
        self.entries.retain(|_, entry| entry.owner.pin().is_some());
    }

    /// Locks `span` with `lock` and records it; the id names the lock from
    /// now on. Nothing is recorded if `lock` fails.
    pub fn lock<E>(
        &mut self,
        span: (usize, usize),
        owner: O,
        lock: impl FnOnce((usize, usize)) -> Result<(), E>,
    ) -> Result<u64, E> {
        lock(span)?;
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, Entry { span, owner });
        Ok(id)
    }

    pub fn is_live(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    /// Forgets lock `id` and calls `unlock` on each range of its pages that
    /// no other live lock covers. False if it was not live (released
    /// already, cleared, or its memory is gone).
    pub fn release<E>(&mut self, id: u64, mut unlock: impl FnMut((usize, usize)) -> Result<(), E>) -> Result<bool, E> {
        let Some(entry) = self.entries.remove(&id) else { return Ok(false) };
        let Some(_pin) = entry.owner.pin() else { return Ok(false) };
        for span in uncovered(entry.span, self.entries.values().map(|e| e.span)) {
            unlock(span)?;
        }
        Ok(true)
    }

    /// Forgets every lock (after munlockall, which ended them all).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The parts of `span` that none of `others` covers, in address order.
pub fn uncovered(span: (usize, usize), others: impl IntoIterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let (start, end) = span;
    let mut covering: Vec<(usize, usize)> =
        others.into_iter().filter(|&(s, e)| s < end && e > start && s < e).collect();
    covering.sort_unstable();
    let mut free = Vec::new();
    let mut at = start;
    for (s, e) in covering {
        if s > at {
            free.push((at, s.min(end)));
        }
        at = at.max(e);
        if at >= end {
            break;
        }
    }
    if at < end {
        free.push((at, end));
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Memory that lives while the test holds its Rc.
    struct Memory(std::rc::Weak<()>);

    impl Owner for Memory {
        type Pin = Rc<()>;
        fn pin(&self) -> Option<Rc<()>> {
            self.0.upgrade()
        }
    }

    fn unlocks(registry: &mut LockRegistry<Memory>, id: u64) -> (bool, Vec<(usize, usize)>) {
        let mut spans = Vec::new();
        let live = registry
            .release(id, |span| {
                spans.push(span);
                Ok::<(), ()>(())
            })
            .unwrap();
        (live, spans)
    }

    #[test]
    fn uncovered_parts() {
        assert_eq!(uncovered((0, 100), []), vec![(0, 100)]);
        assert_eq!(uncovered((0, 100), [(0, 100)]), vec![]);
        assert_eq!(uncovered((0, 100), [(20, 30), (50, 60)]), vec![(0, 20), (30, 50), (60, 100)]);
        assert_eq!(uncovered((10, 100), [(0, 20), (90, 200)]), vec![(20, 90)]);
        assert_eq!(uncovered((0, 100), [(50, 60), (20, 55)]), vec![(0, 20), (60, 100)]);
        assert_eq!(uncovered((0, 100), [(200, 300), (5, 5)]), vec![(0, 100)]);
    }

    #[test]
    fn overlapping_locks_unlock_only_what_no_other_lock_covers() {
        let memory = Rc::new(());
        let mut registry = LockRegistry::new();
        let owner = || Memory(Rc::downgrade(&memory));
        let a = registry.lock((0, 300), owner(), |_| Ok::<(), ()>(())).unwrap();
        let b = registry.lock((100, 200), owner(), |_| Ok::<(), ()>(())).unwrap();
        assert_ne!(a, b);
        assert_eq!(unlocks(&mut registry, a), (true, vec![(0, 100), (200, 300)]));
        assert_eq!(unlocks(&mut registry, a), (false, vec![]), "releasing twice does nothing");
        assert_eq!(unlocks(&mut registry, b), (true, vec![(100, 200)]));
    }

    #[test]
    fn a_failed_lock_is_not_recorded() {
        let memory = Rc::new(());
        let mut registry = LockRegistry::new();
        assert_eq!(registry.lock((0, 100), Memory(Rc::downgrade(&memory)), |_| Err("ENOMEM")), Err("ENOMEM"));
        let id = registry.lock((0, 100), Memory(Rc::downgrade(&memory)), |_| Ok::<(), ()>(())).unwrap();
        assert_eq!(unlocks(&mut registry, id), (true, vec![(0, 100)]), "the failed lock covers nothing");
    }

    #[test]
    fn locks_of_unmapped_memory_are_forgotten_not_unlocked() {
        let (kept, gone) = (Rc::new(()), Rc::new(()));
        let mut registry = LockRegistry::new();
        let a = registry.lock((0, 100), Memory(Rc::downgrade(&gone)), |_| Ok::<(), ()>(())).unwrap();
        let b = registry.lock((0, 100), Memory(Rc::downgrade(&kept)), |_| Ok::<(), ()>(())).unwrap();
        drop(gone);
        assert!(registry.is_live(a), "noticed only when asked");
        registry.forget_unmapped();
        assert!(!registry.is_live(a));
        // With a's entry gone, b unlocks its whole range (a reused address
        // would otherwise stay locked forever).
        assert_eq!(unlocks(&mut registry, b), (true, vec![(0, 100)]));
    }

    #[test]
    fn an_unlock_error_is_returned_after_forgetting_the_lock() {
        let memory = Rc::new(());
        let mut registry = LockRegistry::new();
        let id = registry.lock((0, 100), Memory(Rc::downgrade(&memory)), |_| Ok::<(), ()>(())).unwrap();
        assert_eq!(registry.release(id, |_| Err("EINVAL")), Err("EINVAL"));
        assert!(!registry.is_live(id));
    }

    #[test]
    fn clear_forgets_everything() {
        let memory = Rc::new(());
        let mut registry = LockRegistry::new();
        let id = registry.lock((0, 100), Memory(Rc::downgrade(&memory)), |_| Ok::<(), ()>(())).unwrap();
        registry.clear();
        assert_eq!(unlocks(&mut registry, id), (false, vec![]));
    }
}
