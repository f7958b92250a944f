//! Which part of a file (or POSIX shared memory object) may be mapped.
//!
//! Touching a mapped page wholly past the end of the file raises SIGBUS,
//! which kills the process, so a range that reaches past the end is
//! refused before mmap, against the size fstat reports right then.

/// Why a range cannot be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file has no bytes at all.
    Empty,
    /// The offset is at or past the end.
    OffsetPastEnd,
    /// The range starts inside the file but its length reaches past the end.
    LengthPastEnd { available: u64 },
    /// No length was given, and the rest of the file after the offset is
    /// more bytes than the caller can take (`limit`).
    TooLong { available: u64 },
}

/// The number of bytes to map: `length`, or the rest of the file after
/// `offset` when there is none.
pub fn mappable(size: u64, offset: u64, length: Option<u64>, limit: u64) -> Result<u64, Refusal> {
    if size == 0 {
        return Err(Refusal::Empty);
    }
    if offset >= size {
        return Err(Refusal::OffsetPastEnd);
    }
    let available = size - offset;
    match length {
        Some(length) if length > available => Err(Refusal::LengthPastEnd { available }),
        Some(length) => Ok(length),
        None if available > limit => Err(Refusal::TooLong { available }),
        None => Ok(available),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_inside_the_file_is_mapped_as_asked() {
        assert_eq!(mappable(8192, 0, None, u64::MAX), Ok(8192));
        assert_eq!(mappable(8192, 4096, None, u64::MAX), Ok(4096));
        assert_eq!(mappable(8192, 4096, Some(10), u64::MAX), Ok(10));
        assert_eq!(mappable(8192, 0, Some(8192), u64::MAX), Ok(8192));
    }

    #[test]
    fn ranges_past_the_end_are_refused() {
        assert_eq!(mappable(0, 0, None, u64::MAX), Err(Refusal::Empty));
        assert_eq!(mappable(0, 0, Some(1), u64::MAX), Err(Refusal::Empty));
        assert_eq!(mappable(4096, 4096, None, u64::MAX), Err(Refusal::OffsetPastEnd));
        assert_eq!(mappable(4096, 8192, Some(1), u64::MAX), Err(Refusal::OffsetPastEnd));
        assert_eq!(mappable(8192, 4096, Some(4097), u64::MAX), Err(Refusal::LengthPastEnd { available: 4096 }));
        assert_eq!(mappable(u64::MAX, 0, None, 1 << 53), Err(Refusal::TooLong { available: u64::MAX }));
        assert_eq!(mappable(u64::MAX, 0, Some(1 << 20), 1 << 53), Ok(1 << 20));
    }
}
