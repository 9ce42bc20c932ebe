//! A text line read by the splits of its format: where they put the tokens, then the failure
//! messages, decides whether API Gateway or a client wrote them.

use crate::detect::access_log::{Fields, LogFormat, Place, Scratch, Split};
use crate::detect::flag::{Origin, flagged, flagged_message};
use crate::detect::marks::{message_marks, reason, says_something, token_spans};
use crate::model::finding::LineVerdict;

/// A text line against the format: a token counts only where every split of the line puts it in
/// an error variable; a failure message only where every split puts it at the start of
/// `$context.authorizer.error` or `$context.authorize.error`, the variables API Gateway writes it in.
///
/// The tokens are placed first: a line with a token of API Gateway's (every line of an outage on
/// a REST API) is decided by one split. The messages are placed, by a second split, only when no
/// token decides.
pub(super) fn scan_split(
    line: &str,
    format: &LogFormat,
    origin: &Origin,
    scratch: &mut Scratch,
) -> LineVerdict {
    let spans = token_spans(line);
    let Split::Parsed { places } = format.split(line, &spans, scratch) else {
        return LineVerdict::Unmatched;
    };
    let Some(at) = places.iter().position(|p| matches!(p, Place::Error { .. })) else {
        return scan_messages(line, format, origin, scratch, &places);
    };
    let (token_start, token_end) = spans[at];
    let token = &line[token_start..token_end];
    let fields = split_fields(line, format, scratch);
    let error_var = (0..format.vars().len()).rev().find(|&i| {
        let (start, end) = scratch.bounds(i);
        format.is_error_var(i) && start <= token_start && token_end <= end
    });
    let error_end = error_var.map_or(token_end, |i| scratch.bounds(i).1);
    let error = reason(line.get(token_end..error_end).unwrap_or_default());
    // A REST API logs the token alone in `$context.error.responseType`; the reason, if any, is in
    // the other error variables, read only then.
    let joined;
    let error = if error.is_empty() {
        joined = (0..format.vars().len())
            .filter(|&i| format.is_error_var(i) && Some(i) != error_var)
            .map(|i| scratch.value(line, i))
            .filter(|v| says_something(v))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        joined.as_str()
    } else {
        error
    };
    flagged(&fields, token, error, origin)
}

/// A line that follows the format with no token of API Gateway's (`token_places` says where its
/// tokens stand): flagged when a failure message stands where API Gateway writes one, else ignored,
/// or unmatched when a client value decides where a token or message falls.
fn scan_messages(
    line: &str,
    format: &LogFormat,
    origin: &Origin,
    scratch: &mut Scratch,
    token_places: &[Place],
) -> LineVerdict {
    let marks = message_marks(line);
    let places = if marks.is_empty() {
        Vec::new()
    } else {
        let spans: Vec<(usize, usize)> =
            marks.iter().map(|&(start, end, _)| (start, end)).collect();
        match format.split(line, &spans, scratch) {
            Split::Parsed { places } => places,
            // Whether a line follows the format does not depend on the spans asked about.
            Split::NoMatch => return LineVerdict::Unmatched,
        }
    };
    let found = marks
        .iter()
        .zip(&places)
        .find_map(|(&(at, _, message), place)| {
            let Place::Error { var } = *place else {
                return None;
            };
            let (start, end) = scratch.bounds(var);
            let value = line.get(start..end)?;
            let starts_there = start + (value.len() - value.trim_start().len()) == at;
            (format.vars()[var].holds_authorizer_message() && starts_there)
                .then_some((message, var))
        });
    if let Some((message, var)) = found {
        let fields = split_fields(line, format, scratch);
        return flagged_message(&fields, message, scratch.value(line, var), origin);
    }
    if token_places.contains(&Place::Ambiguous) || places.contains(&Place::Ambiguous) {
        LineVerdict::Unmatched
    } else {
        LineVerdict::Ignored
    }
}

/// Every variable's value in the split last made, as the fields of a finding.
fn split_fields<'l>(line: &'l str, format: &LogFormat, scratch: &Scratch) -> Fields<'l> {
    let mut fields = Fields::default();
    for i in 0..format.vars().len() {
        fields.put(format.slot(i), scratch.value(line, i));
    }
    fields
}
