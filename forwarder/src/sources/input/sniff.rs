//! Reading a file whatever it holds: gzip layers, UTF-16, a byte-order mark, `tail` output,
//! JSON documents one after another, or plain lines.

use std::borrow::Cow;

use super::part::{Content, Part, part};
use crate::sources::error::DecodeError;
use crate::sources::gzip::{GZIP_MAGIC, MAX_DECOMPRESSED_BYTES, inflate};
use serde_json::value::RawValue;

use super::shape::{Object, Shape, is_event, not_an_event, shape};
use super::unwrap::expand;

/// Gzip layers read: a gzip of an event file is common, a gzip of that again is not.
pub(super) const MAX_GZIP_LAYERS: usize = 2;

/// Recognises what an input is, by its bytes: gzip, a byte-order mark, plain or JSON access-log
/// lines, or JSON documents that are or wrap events (one, JSON Lines, back to back, an array).
/// An error is about the whole input; a part's error is about that part alone.
pub fn sniff(bytes: &[u8]) -> Result<Vec<Part<'_>>, DecodeError> {
    sniff_bytes(Cow::Borrowed(bytes), 0)
}

pub(super) const OTHER_COMPRESSIONS: [(&[u8], &str); 4] = [
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    (b"BZh", "bzip2"),
    (b"PK\x03\x04", "zip"),
];

pub(super) fn sniff_bytes(
    bytes: Cow<'_, [u8]>,
    layers: usize,
) -> Result<Vec<Part<'_>>, DecodeError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        if layers == MAX_GZIP_LAYERS {
            return Err(DecodeError::GzipLayers);
        }
        let inflated = inflate(&bytes, MAX_DECOMPRESSED_BYTES)?;
        return sniff_bytes(Cow::Owned(inflated), layers + 1);
    }
    if let Some((_, name)) = OTHER_COMPRESSIONS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
    {
        return Err(DecodeError::Compressed(name));
    }
    let text = match bytes.get(..2) {
        Some([0xff, 0xfe]) => Cow::Owned(utf16(&bytes, u16::from_le_bytes)?),
        Some([0xfe, 0xff]) => Cow::Owned(utf16(&bytes, u16::from_be_bytes)?),
        _ => utf8(bytes)?,
    };
    let text = strip_bom(text);
    if let Some(offset) = memchr::memchr(0, text.as_bytes()) {
        return Err(DecodeError::NulByte { offset });
    }
    sniff_text(text)
}

pub(super) fn utf8(bytes: Cow<'_, [u8]>) -> Result<Cow<'_, str>, DecodeError> {
    let not_utf8 = |e: std::str::Utf8Error| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    };
    match bytes {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(not_utf8),
        Cow::Owned(b) => String::from_utf8(b)
            .map(Cow::Owned)
            .map_err(|e| not_utf8(e.utf8_error())),
    }
}

/// Decodes UTF-16 after its byte-order mark (PowerShell's `>` writes it).
pub(super) fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    let body = &bytes[2..];
    if body.len() % 2 == 1 {
        return Err(DecodeError::Utf16 {
            offset: bytes.len() - 1,
        });
    }
    let units = body.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(body.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.push(c),
            Err(_) => {
                let done: usize = out.chars().map(char::len_utf16).sum();
                return Err(DecodeError::Utf16 {
                    offset: 2 + 2 * done,
                });
            }
        }
    }
    Ok(out)
}

/// Drops a leading byte-order mark, which editors on Windows write and JSON parsers refuse.
pub(super) fn strip_bom(text: Cow<'_, str>) -> Cow<'_, str> {
    const BOM: char = '\u{feff}';
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.strip_prefix(BOM).unwrap_or(t)),
        Cow::Owned(mut t) if t.starts_with(BOM) => {
            t.drain(..BOM.len_utf8());
            Cow::Owned(t)
        }
        owned => owned,
    }
}

pub(super) fn sniff_text(text: Cow<'_, str>) -> Result<Vec<Part<'_>>, DecodeError> {
    let text = line_ends(text);
    let body = text.trim_start();
    if body.is_empty() {
        return Err(if text.is_empty() {
            DecodeError::InputEmpty
        } else {
            DecodeError::InputBlank
        });
    }
    if (body.starts_with('{') || body.starts_with('['))
        && !json_access_lines(&text)?
        && let Some(parts) = documents(&text)?
    {
        return Ok(parts);
    }
    if is_tail_output(body) {
        return Err(DecodeError::TailOutput);
    }
    // `aws logs filter-log-events --output text` (or get-log-events): one tab-separated row per
    // event, a message's line breaks printed as they are.
    if body.starts_with("EVENTS\t") {
        return Err(DecodeError::TextOutput);
    }
    Ok(vec![part(String::new(), Ok(Content::Lines(text)))])
}

/// Whether text is `aws logs tail` output: its first line starts with the time tail prints, an
/// ISO 8601 UTC time (`2026-12-07T09:45:51.123000+00:00`, or to the second in `--format short`),
/// possibly coloured. No API Gateway variable is written that way, so no access-log line starts
/// so. Tail prints a message's line breaks as they are, so events cannot be told apart.
pub(super) fn is_tail_output(body: &str) -> bool {
    let first = body.lines().next().unwrap_or_default();
    // `--color on` wraps the time in an ANSI colour.
    let first = first.strip_prefix("\u{1b}[32m").unwrap_or(first);
    let b = first.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = |at: usize, c: u8| b.get(at) == Some(&c);
    let second = digits(0..4)
        && shape(4, b'-')
        && digits(5..7)
        && shape(7, b'-')
        && digits(8..10)
        && shape(10, b'T')
        && digits(11..13)
        && shape(13, b':')
        && digits(14..16)
        && shape(16, b':')
        && digits(17..19);
    if !second {
        return false;
    }
    let mut rest = &first[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    rest = rest.strip_prefix("+00:00").unwrap_or(rest);
    rest = rest.strip_prefix("\u{1b}[0m").unwrap_or(rest);
    rest.starts_with(' ')
}

/// Makes a lone `\r` (classic Mac line ends) a `\n`; `\n` and `\r\n` are what `str::lines` splits.
pub(super) fn line_ends<'a>(text: Cow<'a, str>) -> Cow<'a, str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', bytes).any(lone) {
        return text;
    }
    let mut out = text.into_owned().into_bytes();
    for i in 0..out.len() {
        if out[i] == b'\r' && out.get(i + 1) != Some(&b'\n') {
            out[i] = b'\n';
        }
    }
    Cow::Owned(String::from_utf8(out).expect("swapping one ASCII byte for another keeps UTF-8"))
}

/// Whether the text is JSON-format access-log lines: its first line is a JSON object on its own
/// of no event's shape. A client value cannot make a line one: the line keeps its format's own
/// keys, and no event has those. An event on a later line is refused rather than read as a line.
pub(super) fn json_access_lines(text: &str) -> Result<bool, DecodeError> {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Ok(false);
    };
    let Ok(object) = serde_json::from_str::<Object>(first) else {
        return Ok(false);
    };
    if shape(&object) != Shape::Unknown {
        return Ok(false);
    }
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.starts_with('{')
            && serde_json::from_str::<Object>(line).is_ok_and(|o| shape(&o) != Shape::Unknown)
        {
            return Err(DecodeError::EventAmongLines { line: i + 1 });
        }
    }
    Ok(true)
}

/// The first key of the text's first object (after an opening `[`), read without parsing the
/// rest: what a broken document was meant to be. An access-log line's first key is its format's,
/// which no client value comes before.
pub(super) fn first_key(text: &str) -> Option<&str> {
    let rest = text.trim_start();
    let rest = rest.strip_prefix('[').map_or(rest, str::trim_start);
    let rest = rest.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    Some(&rest[..end])
}

/// Reads JSON documents: one, several back to back (JSON Lines, or with no space between), or
/// an array. `None` when the text is lines that happen to start with `{` or `[`: its first value
/// does not parse and its first key is no event's.
pub(super) fn documents(text: &str) -> Result<Option<Vec<Part<'static>>>, DecodeError> {
    let mut values = Vec::new();
    let mut failure = None;
    for value in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        match value {
            Ok(v) => values.push(v),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let Some(first) = values.first() else {
        let e = failure.expect("text that is not blank holds a value or an error");
        let names_an_event = first_key(text).is_some_and(|k| Shape::of_key(k).is_some());
        if e.is_eof() || names_an_event {
            return Err(DecodeError::EventJson(e));
        }
        return Ok(None);
    };
    // A first document that is no event makes the input something else: say what it is once.
    // Unless it ends inside its line: that is a JSON-format access-log line whose client value
    // held `"}` (API Gateway does not escape it), read as the lines it is.
    if !is_event(first.get()) {
        if ends_inside_its_line(text, first.get()) {
            return Ok(None);
        }
        return Err(DecodeError::NotAnEvent(not_an_event(first.get())));
    }
    let several = values.len() > 1 || failure.is_some();
    let mut parts = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let at = if several {
            format!("#{}", i + 1)
        } else {
            String::new()
        };
        expand(value.get(), at, 0, &mut parts);
    }
    if let Some(e) = failure {
        let at = format!("#{}", values.len() + 1);
        parts.push(part(at, Err(DecodeError::EventJson(e))));
    }
    Ok(Some(parts))
}

/// Whether more than white space follows `value`, a slice of `text`, on the line it ends on.
pub(super) fn ends_inside_its_line(text: &str, value: &str) -> bool {
    let end = (value.as_ptr() as usize - text.as_ptr() as usize) + value.len();
    let rest = text.get(end..).unwrap_or_default();
    let line = rest.split('\n').next().unwrap_or_default();
    !line.trim().is_empty()
}
