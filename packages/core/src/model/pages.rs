//! The protection of each page of a mapping, as `protect()` left it.

use crate::os::mman::Protection;
use crate::os::{page_ceil, page_size};

/// The protection of every page of a mapping, kept as runs so that a huge
/// mapping costs a few entries, not one per page.
///
/// Mappings handed to JS use it to know, without asking the kernel, whether
/// a range can be read (copy out) or whether a writable buffer is safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageProtections {
    pages: usize,
    /// (first page, protection) sorted by page; each run lasts until the next.
    runs: Vec<(usize, Protection)>,
}

impl PageProtections {
    /// `len` bytes (rounded up to pages) that all have `protection`.
    pub fn new(len: usize, protection: Protection) -> Self {
        PageProtections { pages: page_ceil(len) / page_size(), runs: vec![(0, protection)] }
    }

    /// Sets pages `first..first+count`, merging equal neighbours.
    pub fn set(&mut self, first: usize, count: usize, protection: Protection) {
        let end = first.saturating_add(count).min(self.pages);
        if first >= end {
            return;
        }
        let after = self.at(end);
        let mut runs: Vec<(usize, Protection)> = self.runs.iter().copied().filter(|&(start, _)| start < first).collect();
        runs.push((first, protection));
        if end < self.pages {
            runs.push((end, after));
        }
        runs.extend(self.runs.iter().copied().filter(|&(start, _)| start > end));
        runs.dedup_by(|next, prev| next.1 == prev.1);
        self.runs = runs;
    }

    /// The protection of one page.
    pub fn at(&self, page: usize) -> Protection {
        let index = self.runs.partition_point(|&(start, _)| start <= page);
        self.runs[index.saturating_sub(1)].1
    }

    /// True when every page of `first..first+count` satisfies `ok`.
    pub fn all(&self, first: usize, count: usize, ok: impl Fn(Protection) -> bool) -> bool {
        let end = first.saturating_add(count).min(self.pages);
        if first >= end {
            return true;
        }
        let start_index = self.runs.partition_point(|&(start, _)| start <= first).saturating_sub(1);
        self.runs[start_index..].iter().take_while(|&&(start, _)| start < end).all(|&(_, p)| ok(p))
    }

    /// True when the whole mapping is readable and writable.
    pub fn all_read_write(&self) -> bool {
        self.all(0, self.pages, |p| p == Protection::READ_WRITE)
    }

    /// True when bytes `offset..offset+len` are all on readable pages.
    pub fn readable(&self, offset: usize, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        let first = offset / page_size();
        let last = (offset + len - 1) / page_size();
        self.all(first, last - first + 1, Protection::readable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_protections_track_runs() {
        let page = page_size();
        let mut p = PageProtections::new(page * 10 - 1, Protection::READ_WRITE);
        assert!(p.all_read_write());
        p.set(2, 3, Protection::NONE);
        assert_eq!(p.at(1), Protection::READ_WRITE);
        assert_eq!(p.at(2), Protection::NONE);
        assert_eq!(p.at(4), Protection::NONE);
        assert_eq!(p.at(5), Protection::READ_WRITE);
        assert!(!p.all_read_write());
        assert!(p.readable(0, page * 2));
        assert!(!p.readable(page * 2 - 1, 2));
        assert!(p.readable(page * 5, page * 5 - 1));
        p.set(3, 1, Protection::READ);
        assert!(!p.readable(page * 2, page));
        assert!(p.readable(page * 3, page));
        p.set(0, 100, Protection::READ_WRITE);
        assert!(p.all_read_write());
        assert_eq!(p.runs.len(), 1);
        p.set(9, 1, Protection::READ);
        assert_eq!(p.at(9), Protection::READ);
        assert_eq!(p.at(8), Protection::READ_WRITE);
        p.set(9, 1, Protection::READ_WRITE);
        assert_eq!(p, PageProtections::new(page * 10, Protection::READ_WRITE));
    }

}
