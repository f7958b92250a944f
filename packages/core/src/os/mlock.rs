//! mlock: OS wrappers (filled in by its package's work).
