//! The one SIGBUS guard of every file-backed mapping (`mapFile`,
//! `PosixShm.map`): the range is checked against the size fstat reports
//! right before mmap (see `model::extent`), and refused with the same codes
//! wherever it is mapped from.

use super::error::{Code, ShmkitError};
use crate::model::extent::{mappable, Refusal};
use crate::napi::{Error, JsResult, MAX_SAFE_INTEGER};

/// The length to map `offset..` (`length`, or to the end) of `what` (a
/// file or object of `size` bytes, named that way in messages). `grow` says
/// how to give an empty one bytes.
pub fn mappable_length(what: &str, grow: &str, size: u64, offset: u64, length: Option<usize>) -> JsResult<usize> {
    let refused = match mappable(size, offset, length.map(|l| l as u64), MAX_SAFE_INTEGER) {
        Ok(length) => {
            return usize::try_from(length)
                .map_err(|_| Error::out_of_range("options.length", &format!("<= {}", usize::MAX), &length.to_string()))
        }
        Err(refused) => refused,
    };
    Err(match refused {
        Refusal::Empty => Error::coded(Code::Empty, format!("{what} is empty: there is nothing to map. {grow}")),
        Refusal::OffsetPastEnd => {
            Error::coded(Code::BeyondEof, format!("options.offset {offset} is at or past the end of {what} ({size} bytes)"))
        }
        Refusal::LengthPastEnd { .. } => Error::coded(
            Code::BeyondEof,
            format!(
                "{} bytes from offset {offset} reach past the end of {what} ({size} bytes): touching them would raise SIGBUS",
                length.unwrap_or_default()
            ),
        ),
        Refusal::TooLong { available } => Error::out_of_range("options.length", &format!("<= {MAX_SAFE_INTEGER}"), &available.to_string()),
    })
}
