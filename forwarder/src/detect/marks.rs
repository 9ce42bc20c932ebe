//! Every way of reading a line looks for API Gateway's words alike: its tokens as whole words, the
//! reason after one, and the sentences of its failure messages.

use crate::model::tokens::{FAILURE_TOKEN, TOKEN, TOKEN_FINDER};

/// Where a token stands as a whole word in `s`.
pub(super) fn token_spans(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    TOKEN_FINDER
        .find_iter(bytes)
        .filter_map(|at| {
            let token = [TOKEN, FAILURE_TOKEN]
                .into_iter()
                .find(|t| bytes[at..].starts_with(t.as_bytes()))?;
            Some((at, at + token.len()))
        })
        .filter(|&(at, end)| {
            let word_before = at > 0 && is_word_byte(bytes[at - 1]);
            let word_after = end < bytes.len() && is_word_byte(bytes[end]);
            !word_before && !word_after
        })
        .collect()
}

/// Whether another error variable's value says something: API Gateway writes `-` for an empty
/// value, and `$context.error.message` holds only the body the client got (`null` on a REST API,
/// `Internal server error` on a WebSocket API).
pub(super) fn says_something(value: &str) -> bool {
    // `$context.error.messageString` is the message in quotes.
    let v = value.trim().trim_matches('"');
    !v.is_empty()
        && v != "-"
        && v != "null"
        && !v.eq_ignore_ascii_case("internal server error")
        && token_spans(v).is_empty()
}

/// Where the first sentences of API Gateway's failure messages stand in `s`.
pub(super) fn message_marks(
    s: &str,
) -> Vec<(usize, usize, &'static crate::model::cause::FailureMessage)> {
    let mut marks = Vec::new();
    for message in &crate::model::cause::FAILURE_MESSAGES {
        if s.contains(message.phrase) {
            marks.extend(
                s.match_indices(message.sentence)
                    .map(|(at, m)| (at, at + m.len(), message)),
            );
        }
    }
    marks
}

/// The reason API Gateway wrote after the token, without the separator it puts there.
pub(super) fn reason(after: &str) -> &str {
    after
        .trim_start_matches([',', ':', ';', ' ', '\t', '-'])
        .trim_end()
}

/// The first whole-word token in `s` and the text after it, without the separator API Gateway
/// puts there.
pub(super) fn after_token(s: &str) -> Option<(&str, &str)> {
    token_spans(s)
        .first()
        .map(|&(start, end)| (&s[start..end], reason(&s[end..])))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
