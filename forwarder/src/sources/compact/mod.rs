//! Reading a payload in CloudWatch Logs' own compact layout without building every event.
//!
//! CloudWatch Logs writes a `DATA_MESSAGE` payload as
//! `{"messageType":"DATA_MESSAGE","owner":"…","logGroup":"…","logStream":"…","subscriptionFilters":[…],"logEvents":[{"id":"…","timestamp":N,"message":"…"},…]}`:
//! one key order, no whitespace. A batch holds the token in a handful of its events, so this walks
//! the events in step with a search for the token and builds only those that can hold it; the
//! others are checked and counted.
//!
//! The walk is a recogniser, not a parser: it returns `None` on anything it does not fully check
//! (another key order, whitespace, a control message, an extra or missing field, a number that is
//! not a plain non-negative integer, an escaped header string, an unknown escape, a raw control
//! byte, trailing bytes), and the caller runs the full parser, which gives the batch or the error.
//! So it only ever gives a batch the full parser would give too, with the same header, the same
//! events (those it leaves out could not hold the token) and the same count of events.

use std::borrow::Cow;

use crate::model::tokens::Needles;

use super::batch::{LogBatch, LogEvent, Message, MessageRepr, MessageType};

/// The payload's header up to the owner's value.
const HEAD: &[u8] = br#"{"messageType":"DATA_MESSAGE","owner":""#;

/// Reads `json` if it is in the compact layout, keeping only the events whose bytes hold what the
/// finder `finder_for` gives for the batch's log group finds, or whose message has a `\u` escape
/// (which may spell it); `None` otherwise.
pub(super) fn parse<'a, 'f>(
    json: &'a str,
    finder_for: impl Fn(&str) -> &'f Needles,
) -> Option<LogBatch<'a>> {
    let b = json.as_bytes();
    // The layout has no whitespace, so no byte below 0x20 belongs anywhere in it; JSON forbids them
    // raw inside strings. One branch-free pass, instead of a test on every byte of the walk.
    if has_control_byte(b) {
        return None;
    }
    let at = expect(b, 0, HEAD)?;
    let (owner, at) = plain_string(json, at)?;
    let at = expect(b, at, br#","logGroup":""#)?;
    let (log_group, at) = plain_string(json, at)?;
    let at = expect(b, at, br#","logStream":""#)?;
    let (log_stream, at) = plain_string(json, at)?;
    let mut at = expect(b, at, br#","subscriptionFilters":["#)?;
    let mut subscription_filters = Vec::new();
    if b.get(at) != Some(&b']') {
        loop {
            at = expect(b, at, b"\"")?;
            let (filter, next) = plain_string(json, at)?;
            subscription_filters.push(Cow::Borrowed(filter));
            at = next;
            match b.get(at)? {
                b',' => at += 1,
                b']' => break,
                _ => return None,
            }
        }
    }
    let mut at = expect(b, at, br#"],"logEvents":["#)?;
    let mut walk = finder_for(log_group).walk(b);
    let mut find_from = |from: usize| walk.next_from(from);
    let mut next_token = find_from(at);
    let mut log_events = Vec::new();
    let mut omitted_events = 0;
    if b.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let start = at;
            at = expect(b, at, br#"{"id":""#)?;
            let (id, next) = plain_string(json, at)?;
            at = expect(b, next, br#","timestamp":"#)?;
            let (timestamp, next) = integer(b, at)?;
            at = expect(b, next, br#","message":""#)?;
            let (close, escapes) = string_end(b, at)?;
            let inner = &json[at..close];
            at = expect(b, close + 1, b"}")?;
            if escapes == Escapes::Unicode {
                // `\u` escapes are decoded, and checked, by the parser: of this event alone, which
                // starts and ends where the walk found it, so the result is the full parser's.
                log_events.push(serde_json::from_str::<LogEvent>(&json[start..at]).ok()?);
                if next_token < at {
                    next_token = find_from(at);
                }
            } else if next_token < at {
                let message = match escapes {
                    Escapes::None => MessageRepr::Text(Cow::Borrowed(inner)),
                    _ => MessageRepr::Escaped(inner),
                };
                log_events.push(LogEvent {
                    id: Cow::Borrowed(id),
                    timestamp,
                    message: Message(message),
                });
                next_token = find_from(at);
            } else {
                omitted_events += 1;
            }
            match b.get(at)? {
                b',' => at += 1,
                b']' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (&b[at..] == b"}").then_some(LogBatch {
        message_type: MessageType::DataMessage,
        owner: Cow::Borrowed(owner),
        log_group: Cow::Borrowed(log_group),
        log_stream: Cow::Borrowed(log_stream),
        subscription_filters,
        log_events,
        omitted_events,
    })
}

/// Whether any byte is below 0x20.
fn has_control_byte(b: &[u8]) -> bool {
    crate::text::any_byte(b, |x| x < 0x20)
}

/// The position after `literal` if `b` holds it at `at`.
fn expect(b: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    let end = at.checked_add(literal.len())?;
    (b.get(at..end)? == literal).then_some(end)
}

/// A string's inside from `at` (just after its opening quote) when it holds no escape, and the
/// position after its closing quote.
fn plain_string(json: &str, at: usize) -> Option<(&str, usize)> {
    let b = json.as_bytes();
    let end = at + memchr::memchr2(b'"', b'\\', b.get(at..)?)?;
    (b[end] == b'"').then(|| (&json[at..end], end + 1))
}

/// A timestamp: `0` or up to 18 digits without a leading zero, which always fits an `i64`. Signs,
/// fractions and exponents are left to the full parser.
fn integer(b: &[u8], at: usize) -> Option<(i64, usize)> {
    let digits = b
        .get(at..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 || digits > 18 || (digits > 1 && b[at] == b'0') {
        return None;
    }
    let value = b[at..at + digits]
        .iter()
        .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
    Some((value, at + digits))
}

/// Which escapes a string holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escapes {
    None,
    /// Only the two-character ones, which [`Message`] keeps escaped.
    Simple,
    /// At least one `\u`, whose four digits are the parser's to check.
    Unicode,
}

/// The position of the closing quote of the string whose inside starts at `at`, and which escapes
/// it holds; `None` for an escape JSON does not know, or no closing quote.
///
/// A JSON-format line escapes a `"` around every key and value, so a call per escape would cost
/// more than the bytes do. As simdjson's first stage does, each 64 bytes give one bit mask of their
/// quotes and backslashes (compares the compiler turns into vector instructions on x86-64 and
/// arm64 alike), and the escapes are read from the mask.
fn string_end(b: &[u8], at: usize) -> Option<(usize, Escapes)> {
    let mut escapes = Escapes::None;
    let mut base = at;
    loop {
        let Some(chunk) = b.get(base..).and_then(|rest| rest.first_chunk::<64>()) else {
            return string_end_from(b, base, escapes);
        };
        let mut special = specials(chunk);
        let mut next = base + 64;
        while special != 0 {
            let hit = base + special.trailing_zeros() as usize;
            if b[hit] == b'"' {
                return Some((hit, escapes));
            }
            escapes = escapes.with(*b.get(hit + 1)?)?;
            // The escaped byte is skipped, in this block or the next.
            let after = hit + 2;
            if after >= base + 64 {
                next = after;
                break;
            }
            special &= !0u64 << (after - base);
        }
        base = next;
    }
}

/// One bit per quote or backslash of `chunk`: eight vector compares.
#[inline(always)]
fn specials(chunk: &[u8; 64]) -> u64 {
    use wide::u8x16;
    let (quote, backslash) = (u8x16::splat(b'"'), u8x16::splat(b'\\'));
    chunk
        .chunks_exact(16)
        .enumerate()
        .fold(0u64, |bits, (i, part)| {
            let part = u8x16::from(<[u8; 16]>::try_from(part).expect("16 bytes"));
            let hits = part.simd_eq(quote) | part.simd_eq(backslash);
            bits | (u64::from(hits.to_bitmask()) << (16 * i))
        })
}

/// [`string_end`] from `from` on, one `memchr2` per escape: for the last bytes of a payload, and
/// the reference the block-wise reading is tested against.
fn string_end_from(b: &[u8], from: usize, mut escapes: Escapes) -> Option<(usize, Escapes)> {
    let mut from = from;
    loop {
        let hit = from + memchr::memchr2(b'"', b'\\', b.get(from..)?)?;
        if b[hit] == b'"' {
            return Some((hit, escapes));
        }
        escapes = escapes.with(*b.get(hit + 1)?)?;
        from = hit + 2;
    }
}

impl Escapes {
    /// The escapes of a string with one more, whose letter is `after`; `None` when JSON has no
    /// such escape.
    fn with(self, after: u8) -> Option<Self> {
        match after {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(match self {
                Escapes::None => Escapes::Simple,
                other => other,
            }),
            b'u' => Some(Escapes::Unicode),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
