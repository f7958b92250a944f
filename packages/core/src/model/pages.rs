//! The protection of each page of a mapping, as `protect()` left it.

/// What a page lets JS and native code do: read, and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

impl Access {
    pub const NONE: Access = Access { read: false, write: false };
    pub const READ: Access = Access { read: true, write: false };
    pub const READ_WRITE: Access = Access { read: true, write: true };

    pub fn readable(self) -> bool {
        self.read
    }

    pub fn writable(self) -> bool {
        self.write
    }
}

/// The protection of every page of a mapping, kept as runs so that a huge
/// mapping costs a few entries, not one per page.
///
/// Mappings handed to JS use it to know, without asking the kernel, whether
/// a range can be read (copy out) or whether a writable buffer is safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageProtections {
    page_size: usize,
    pages: usize,
    /// (first page, protection) sorted by page; each run lasts until the next.
    runs: Vec<(usize, Access)>,
}

impl PageProtections {
    /// `len` bytes (rounded up to pages of `page_size` bytes, a power of
    /// two) that all have `protection`.
    pub fn new(len: usize, page_size: usize, protection: Access) -> Self {
        PageProtections { page_size, pages: len.div_ceil(page_size), runs: vec![(0, protection)] }
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Sets pages `first..first+count`, merging equal neighbours.
    pub fn set(&mut self, first: usize, count: usize, protection: Access) {
        let end = first.saturating_add(count).min(self.pages);
        if first >= end {
            return;
        }
        let after = self.at(end);
        let mut runs: Vec<(usize, Access)> = self.runs.iter().copied().filter(|&(start, _)| start < first).collect();
        runs.push((first, protection));
        if end < self.pages {
            runs.push((end, after));
        }
        runs.extend(self.runs.iter().copied().filter(|&(start, _)| start > end));
        runs.dedup_by(|next, prev| next.1 == prev.1);
        self.runs = runs;
    }

    /// The protection of one page.
    pub fn at(&self, page: usize) -> Access {
        let index = self.runs.partition_point(|&(start, _)| start <= page);
        self.runs[index.saturating_sub(1)].1
    }

    /// True when every page of `first..first+count` satisfies `ok`.
    pub fn all(&self, first: usize, count: usize, ok: impl Fn(Access) -> bool) -> bool {
        let end = first.saturating_add(count).min(self.pages);
        if first >= end {
            return true;
        }
        let start_index = self.runs.partition_point(|&(start, _)| start <= first).saturating_sub(1);
        self.runs[start_index..].iter().take_while(|&&(start, _)| start < end).all(|&(_, p)| ok(p))
    }

    /// True when the whole mapping is readable and writable.
    pub fn all_read_write(&self) -> bool {
        self.all(0, self.pages, |p| p == Access::READ_WRITE)
    }

    /// True when bytes `offset..offset+len` are all on readable pages.
    pub fn readable(&self, offset: usize, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        let first = offset / self.page_size;
        let last = (offset + len - 1) / self.page_size;
        self.all(first, last - first + 1, Access::readable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_protections_track_runs() {
        let page = 4096;
        let mut p = PageProtections::new(page * 10 - 1, page, Access::READ_WRITE);
        assert!(p.all_read_write());
        p.set(2, 3, Access::NONE);
        assert_eq!(p.at(1), Access::READ_WRITE);
        assert_eq!(p.at(2), Access::NONE);
        assert_eq!(p.at(4), Access::NONE);
        assert_eq!(p.at(5), Access::READ_WRITE);
        assert!(!p.all_read_write());
        assert!(p.readable(0, page * 2));
        assert!(!p.readable(page * 2 - 1, 2));
        assert!(p.readable(page * 5, page * 5 - 1));
        p.set(3, 1, Access::READ);
        assert!(!p.readable(page * 2, page));
        assert!(p.readable(page * 3, page));
        p.set(0, 100, Access::READ_WRITE);
        assert!(p.all_read_write());
        assert_eq!(p.runs.len(), 1);
        p.set(9, 1, Access::READ);
        assert_eq!(p.at(9), Access::READ);
        assert_eq!(p.at(8), Access::READ_WRITE);
        p.set(9, 1, Access::READ_WRITE);
        assert_eq!(p, PageProtections::new(page * 10, page, Access::READ_WRITE));
    }
}
