//! The last guess for a line in no known shape: only what stands outside its quotes counts.

use crate::detect::access_log::Fields;
use crate::detect::flag::{Origin, flagged, flagged_message};
use crate::detect::marks::{after_token, message_marks};
use crate::model::finding::LineVerdict;

/// A line in no known shape: the token, or a failure message, counts only outside double-quoted
/// segments. A client can put a `"` inside a quoted value and shift which segments look quoted, so
/// a segment counts as outside only if it is outside when quotes are paired from the start and from
/// the end alike.
pub(super) fn scan_unstructured(line: &str, origin: &Origin) -> LineVerdict {
    let segments: Vec<&str> = line.split('"').collect();
    let last = segments.len() - 1;
    let outside = || {
        segments
            .iter()
            .enumerate()
            .filter(|(i, _)| i.is_multiple_of(2) && (last - i).is_multiple_of(2))
            .map(|(_, s)| *s)
    };
    if let Some((token, after)) = outside().find_map(after_token) {
        return flagged(&Fields::default(), token, after, origin);
    }
    let message = outside().find_map(|segment| {
        message_marks(segment)
            .first()
            .map(|&(at, _, message)| (message, &segment[at..]))
    });
    match message {
        Some((m, text)) => flagged_message(&Fields::default(), m, text, origin),
        None => LineVerdict::Ignored,
    }
}
