//! One line's verdict, shared by batches, plain text and the format's self-check: a given format
//! decides alone; without one, the command line's guesses are tried in turn.

use serde_json::Value;

use crate::detect::access_log::{LogFormat, Scratch};
use crate::detect::flag::Origin;
use crate::detect::json::{scan_json, scan_json_given};
use crate::detect::split::scan_split;
use crate::detect::unstructured::scan_unstructured;
use crate::model::finding::{LineVerdict, MAX_LINE_BYTES};
use crate::model::tokens::ACCESS_NEEDLES;

/// Decides one line.
pub fn scan_line(line: &str, format: &LogFormat) -> LineVerdict {
    scan_line_with(line, format, &mut Scratch::default())
}

/// Decides one line with buffers kept across lines.
fn scan_line_with(line: &str, format: &LogFormat, scratch: &mut Scratch) -> LineVerdict {
    // Almost every line lacks the token and the messages; this check is the whole cost for them.
    if !ACCESS_NEEDLES.is_in(line.as_bytes()) {
        return LineVerdict::Clean;
    }
    scan_candidate(line, format, &Origin::default(), scratch)
}

/// Decides a line already known to hold the token somewhere.
///
/// With a format given, only its rules count: a line that does not follow it is unmatched, never
/// read another way. Without one (the command line's guess), a JSON line is read by its key names,
/// then the default format is tried, then the quote rule.
pub(super) fn scan_candidate(
    line: &str,
    format: &LogFormat,
    origin: &Origin,
    scratch: &mut Scratch,
) -> LineVerdict {
    read_candidate(line, format, origin, scratch)
}

/// A verdict of the command line's heuristics (a JSON line's key names, the quote rule): a
/// finding there is one a client's text could have made.
fn unverified(mut verdict: LineVerdict) -> LineVerdict {
    if let LineVerdict::Flagged(f) = &mut verdict {
        f.verified = false;
    }
    verdict
}

fn read_candidate(
    line: &str,
    format: &LogFormat,
    origin: &Origin,
    scratch: &mut Scratch,
) -> LineVerdict {
    let trimmed = line.trim();
    if trimmed.len() > MAX_LINE_BYTES {
        // No access-log line is that long, whatever a client sends; splitting one would cost
        // memory for nothing.
        return if format.is_given() {
            LineVerdict::Drifted
        } else {
            unverified(scan_unstructured(trimmed, origin))
        };
    }
    if format.is_given() {
        let verdict = if format.is_json() {
            scan_json_given(trimmed, format, origin)
        } else {
            scan_split(trimmed, format, origin, scratch)
        };
        return match verdict {
            LineVerdict::Unmatched if !format.keeps_layout(line, scratch) => LineVerdict::Drifted,
            verdict => verdict,
        };
    }
    if trimmed.starts_with('{') {
        // A preset's keys first: a client's `"` may have added a key named like an error's.
        if let Some(verdict) = scan_preset(trimmed, origin, scratch) {
            return verdict;
        }
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            return unverified(scan_json(&map, format, origin));
        }
    }
    // The default format first, read as the function reads it when no format is set.
    match scan_split(trimmed, format, origin, scratch) {
        LineVerdict::Unmatched => scan_preset(trimmed, origin, scratch)
            .unwrap_or_else(|| unverified(scan_unstructured(trimmed, origin))),
        verdict => verdict,
    }
}

/// A line in one of the console's preset formats, read by it: none has an error variable, so a
/// token there is a client's (a path, a user agent, an IAM caller's session name). `None` when the
/// line follows no preset.
fn scan_preset(line: &str, origin: &Origin, scratch: &mut Scratch) -> Option<LineVerdict> {
    crate::detect::access_log::PRESET_FORMATS
        .iter()
        .find_map(|preset| {
            let verdict = if preset.format.is_json() {
                scan_json_given(line, &preset.format, origin)
            } else {
                scan_split(line, &preset.format, origin, scratch)
            };
            match verdict {
                LineVerdict::Unmatched if preset.frames(line) => Some(LineVerdict::Ignored),
                LineVerdict::Unmatched => None,
                verdict => Some(verdict),
            }
        })
}
