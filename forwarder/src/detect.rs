//! Finding `AUTHORIZER_CONFIGURATION_ERROR` where API Gateway wrote it.
//!
//! Paths, query strings and headers are client input, so a client can send the token in a URL or a
//! user agent. A line is flagged only when the token is in a field API Gateway writes: the error
//! variables of the configured format, an error-named key of a JSON line, or (for lines that follow
//! no known format) outside every double-quoted segment.

use std::sync::{Arc, LazyLock};

use memchr::memmem;
use serde::Serialize;
use serde_json::Value;

use crate::access_log::{Fields, LogFormat, guess_var_for_key, is_error_name};
use crate::cause::{Cause, classify};
use crate::decode::{LogBatch, LogEvent};

/// The token API Gateway writes before the reason.
pub const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

/// One searcher for the token, built once: every line is searched with it.
static TOKEN_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(TOKEN));

/// One flagged log line.
///
/// Its text fields share one buffer. A fully flagged batch (what a subscription filter pattern
/// delivers) makes one finding per line, and one allocation each instead of one per field is most
/// of what a finding costs.
#[derive(Clone, PartialEq, Eq)]
pub struct Finding {
    pub cause: Cause,
    pub status: Option<u16>,
    /// Shared by every finding of a batch.
    pub log_group: Option<Arc<str>>,
    pub log_stream: Option<Arc<str>>,
    /// Milliseconds since the epoch, from the log event.
    pub timestamp: Option<i64>,
    text: Box<str>,
    spans: [Span; TEXT_FIELDS],
}

/// The text fields of a finding, borrowed: how one is built and read whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FindingText<'a> {
    pub request_id: Option<&'a str>,
    /// `$context.requestTime` when logged, else the log event's timestamp.
    pub time: Option<&'a str>,
    /// The text API Gateway wrote after the token.
    pub error: &'a str,
    pub route: Option<&'a str>,
    pub api_id: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
}

const TEXT_FIELDS: usize = 9;

/// Where a text field sits in [`Finding::text`]; `start == u32::MAX` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const NONE: Span = Span {
        start: u32::MAX,
        end: 0,
    };
}

impl Finding {
    pub fn new(cause: Cause, text: FindingText<'_>) -> Self {
        let fields = [
            text.request_id,
            text.time,
            Some(text.error),
            text.route,
            text.api_id,
            text.stage,
            text.source_ip,
            text.event_id,
            text.account_id,
        ];
        let len: usize = fields.iter().flatten().map(|f| f.len()).sum();
        // Log lines are far below 2 GiB (CloudWatch caps an event at 256 KiB); cut rather than wrap.
        // Half the span range leaves room for the "..." each cut field may gain.
        let len = len.min((u32::MAX / 2) as usize);
        let mut buffer = String::with_capacity(len);
        let mut spans = [Span::NONE; TEXT_FIELDS];
        for (span, field) in spans.iter_mut().zip(fields) {
            if let Some(field) = field {
                let room = len.saturating_sub(buffer.len());
                let field = crate::escape::truncate(field, room);
                let start = buffer.len() as u32;
                buffer.push_str(&field);
                *span = Span {
                    start,
                    end: buffer.len() as u32,
                };
            }
        }
        Finding {
            cause,
            status: None,
            log_group: None,
            log_stream: None,
            timestamp: None,
            text: buffer.into_boxed_str(),
            spans,
        }
    }

    fn field(&self, i: usize) -> Option<&str> {
        let Span { start, end } = self.spans[i];
        (start != u32::MAX).then(|| &self.text[start as usize..end as usize])
    }

    /// Every text field, to read or to build a changed copy with [`Finding::new`].
    pub fn text(&self) -> FindingText<'_> {
        FindingText {
            request_id: self.request_id(),
            time: self.time(),
            error: self.error(),
            route: self.route(),
            api_id: self.api_id(),
            stage: self.stage(),
            source_ip: self.source_ip(),
            event_id: self.event_id(),
            account_id: self.account_id(),
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        self.field(0)
    }
    /// `$context.requestTime` when logged, else the log event's timestamp.
    pub fn time(&self) -> Option<&str> {
        self.field(1)
    }
    /// The text API Gateway wrote after the token.
    pub fn error(&self) -> &str {
        self.field(2).unwrap_or_default()
    }
    pub fn route(&self) -> Option<&str> {
        self.field(3)
    }
    pub fn api_id(&self) -> Option<&str> {
        self.field(4)
    }
    pub fn stage(&self) -> Option<&str> {
        self.field(5)
    }
    pub fn source_ip(&self) -> Option<&str> {
        self.field(6)
    }
    pub fn event_id(&self) -> Option<&str> {
        self.field(7)
    }
    /// Not serialised: the alert carries it once per group.
    pub fn account_id(&self) -> Option<&str> {
        self.field(8)
    }
}

impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("cause", &self.cause)
            .field("status", &self.status)
            .field("log_group", &self.log_group)
            .field("log_stream", &self.log_stream)
            .field("timestamp", &self.timestamp)
            .field("text", &self.text())
            .finish()
    }
}

/// The JSON shape `scan --json` has always printed: every field flat, absent ones `null`.
impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Finding", 13)?;
        s.serialize_field("cause", &self.cause)?;
        s.serialize_field("request_id", &self.request_id())?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("time", &self.time())?;
        s.serialize_field("error", self.error())?;
        s.serialize_field("route", &self.route())?;
        s.serialize_field("api_id", &self.api_id())?;
        s.serialize_field("stage", &self.stage())?;
        s.serialize_field("source_ip", &self.source_ip())?;
        s.serialize_field("log_group", &self.log_group)?;
        s.serialize_field("log_stream", &self.log_stream)?;
        s.serialize_field("event_id", &self.event_id())?;
        s.serialize_field("timestamp", &self.timestamp)?;
        s.end()
    }
}

/// What one line holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineVerdict {
    /// No token anywhere.
    Clean,
    /// The token only where a client could have put it.
    Ignored,
    /// The token where API Gateway wrote it.
    Flagged(Finding),
}

/// The result of scanning many lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub lines: usize,
    pub findings: Vec<Finding>,
    /// Lines carrying the token only in client-controlled parts.
    pub ignored: usize,
}

impl Scan {
    fn add(&mut self, verdict: LineVerdict) {
        self.lines += 1;
        match verdict {
            LineVerdict::Clean => {}
            LineVerdict::Ignored => self.ignored += 1,
            LineVerdict::Flagged(f) => self.findings.push(f),
        }
    }

    pub fn merge(&mut self, other: Scan) {
        self.lines += other.lines;
        self.ignored += other.ignored;
        self.findings.extend(other.findings);
    }
}

/// Scans every event of a batch. Control messages carry no access-log lines.
pub fn scan_batch(batch: &LogBatch, format: &LogFormat) -> Scan {
    let mut scan = Scan::default();
    if batch.is_control() {
        return scan;
    }
    let shared = |s: &str| (!s.is_empty()).then(|| Arc::<str>::from(s));
    let (log_group, log_stream) = (shared(&batch.log_group), shared(&batch.log_stream));
    let account_id = is_account_id(&batch.owner).then_some(&*batch.owner);
    let mut scratch = String::new();
    // Checked on the escaped text, so the 99% of lines without the token are never copied. The
    // candidates are found first so the findings list is sized once: growing it would copy a fully
    // flagged batch's findings about twice over.
    let candidates: Vec<&LogEvent> = batch
        .log_events
        .iter()
        .filter(|event| event.message.escaped_contains(&TOKEN_FINDER))
        .collect();
    scan.lines = batch.log_events.len() - candidates.len();
    scan.findings.reserve_exact(candidates.len());
    for event in candidates {
        let origin = Origin {
            event_id: Some(&*event.id).filter(|id| !id.is_empty()),
            timestamp: Some(event.timestamp),
            account_id,
        };
        let mut verdict = scan_candidate(event.message.read(&mut scratch), format, &origin);
        match &mut verdict {
            LineVerdict::Flagged(f) => {
                f.log_group = log_group.clone();
                f.log_stream = log_stream.clone();
            }
            LineVerdict::Ignored => {
                tracing::debug!(event_id = %event.id, "token only in client-controlled text; ignored")
            }
            LineVerdict::Clean => {}
        }
        scan.add(verdict);
    }
    scan
}

/// Scans plain access-log lines (one per line of `text`).
pub fn scan_text(text: &str, format: &LogFormat) -> Scan {
    let mut scan = Scan::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        scan.add(scan_line(line, format));
    }
    scan
}

/// What the log event around a line adds to its finding.
#[derive(Default)]
struct Origin<'a> {
    event_id: Option<&'a str>,
    timestamp: Option<i64>,
    /// The batch's owner, when it is an account id.
    account_id: Option<&'a str>,
}

/// Decides one line.
pub fn scan_line(line: &str, format: &LogFormat) -> LineVerdict {
    // Almost every line lacks the token; this check is the whole cost for them.
    if TOKEN_FINDER.find(line.as_bytes()).is_none() {
        return LineVerdict::Clean;
    }
    scan_candidate(line, format, &Origin::default())
}

/// Decides a line already known to hold the token somewhere.
fn scan_candidate(line: &str, format: &LogFormat, origin: &Origin) -> LineVerdict {
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
    {
        return scan_json(&map, format, origin);
    }
    if let Some(verdict) =
        format.split_with(trimmed, |ends| scan_split(format, trimmed, ends, origin))
    {
        return verdict;
    }
    scan_unstructured(trimmed, origin)
}

/// A line that follows the configured format: only its error variables count.
fn scan_split(format: &LogFormat, line: &str, ends: &[usize], origin: &Origin) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error = None;
    for i in 0..ends.len() {
        let value = format.value(line, ends, i);
        fields.put(format.slot(i), value);
        if error.is_none()
            && format.is_error_var(i)
            && let Some(after) = after_token(value)
        {
            error = Some(after);
        }
    }
    match error {
        Some(text) => flagged(&fields, text, origin),
        None => LineVerdict::Ignored,
    }
}

/// A JSON line: only string values under error-named keys count.
fn scan_json(
    map: &serde_json::Map<String, Value>,
    format: &LogFormat,
    origin: &Origin,
) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error: Option<&str> = None;
    let mut other_errors: Vec<&str> = Vec::new();
    let mut stack: Vec<(String, &Value)> = map.iter().map(|(k, v)| (k.clone(), v)).collect();
    stack.reverse();
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(inner) => {
                for (k, v) in inner.iter().rev() {
                    stack.push((format!("{path}.{k}"), v));
                }
            }
            Value::String(s) => {
                // Dotted and nested names count alike: `error.message`, `authorizer.error`.
                let leaf_is_error = is_error_name(&path);
                let leaf = path.rsplit('.').next().unwrap_or(&path);
                match format.var_for_json_key(&path) {
                    Some(var) => fields.set(&var.0, s.as_str()),
                    None => {
                        if let Some(var) = guess_var_for_key(&path) {
                            fields.set(var, s.as_str());
                        }
                    }
                }
                let token = if leaf_is_error { after_token(s) } else { None };
                match token {
                    Some(after) if error.is_none() => error = Some(after),
                    Some(_) => {}
                    None if (leaf_is_error || leaf.to_ascii_lowercase().contains("message"))
                        && !s.is_empty()
                        && s != "-" =>
                    {
                        other_errors.push(s)
                    }
                    None => {}
                }
            }
            Value::Number(n) => {
                if let Some(var) = format
                    .var_for_json_key(&path)
                    .map(|v| v.0.as_str())
                    .or_else(|| guess_var_for_key(&path))
                {
                    fields.set(var, n.to_string());
                }
            }
            _ => {}
        }
    }
    match error {
        // The reason may sit in a sibling field such as `error.message` rather than after the token.
        Some("") if !other_errors.is_empty() => flagged(&fields, &other_errors.join(" "), origin),
        Some(text) => flagged(&fields, text, origin),
        None => LineVerdict::Ignored,
    }
}

/// A line in no known shape: the token counts only outside double-quoted segments. A client can
/// put a `"` inside a quoted value and shift which segments look quoted, so a segment counts as
/// outside only if it is outside when quotes are paired from the start and from the end alike.
fn scan_unstructured(line: &str, origin: &Origin) -> LineVerdict {
    let segments: Vec<&str> = line.split('"').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        if i.is_multiple_of(2)
            && (last - i).is_multiple_of(2)
            && let Some(after) = after_token(segment)
        {
            return flagged(&Fields::default(), after, origin);
        }
    }
    LineVerdict::Ignored
}

fn flagged(fields: &Fields, error: &str, origin: &Origin) -> LineVerdict {
    let fallback_time;
    let time = match (&fields.time, origin.timestamp) {
        (Some(time), _) => Some(&**time),
        (None, Some(ms)) => {
            fallback_time = format_millis(ms);
            Some(fallback_time.as_str())
        }
        (None, None) => None,
    };
    let route = fields.route();
    let mut finding = Finding::new(
        classify(error),
        FindingText {
            request_id: fields.request_id.as_deref(),
            time,
            error,
            route: route.as_deref(),
            api_id: fields.api_id.as_deref(),
            stage: fields.stage.as_deref(),
            source_ip: fields.source_ip.as_deref(),
            event_id: origin.event_id,
            account_id: fields.account_id.as_deref().or(origin.account_id),
        },
    );
    finding.status = fields.status;
    finding.timestamp = origin.timestamp;
    LineVerdict::Flagged(finding)
}

/// The text after the first whole-word token in `s`, without the separator API Gateway puts there.
pub fn after_token(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(pos) = TOKEN_FINDER.find(&bytes[from..]) {
        let at = from + pos;
        let end = at + TOKEN.len();
        let word_before = at > 0 && is_word_byte(bytes[at - 1]);
        let word_after = end < bytes.len() && is_word_byte(bytes[end]);
        if !word_before && !word_after {
            let rest = s[end..].trim_start_matches([',', ':', ';', ' ', '\t', '-']);
            return Some(rest.trim_end());
        }
        from = end;
    }
    None
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// RFC 3339 in UTC with milliseconds, or the raw number when out of range.
pub fn format_millis(ms: i64) -> String {
    u64::try_from(ms)
        .ok()
        .and_then(|ms| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms)))
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERMISSION: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";

    fn default_line(path: &str, status: u16, error: &str) -> String {
        format!(
            r#"203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] "GET {path} HTTP/1.1" {status} 35 req-1= {error}"#
        )
    }

    fn verdict(line: &str) -> &'static str {
        match scan_line(line, &LogFormat::default()) {
            LineVerdict::Clean => "clean",
            LineVerdict::Ignored => "ignored",
            LineVerdict::Flagged(_) => "flagged",
        }
    }

    #[test]
    fn table_of_lines() {
        let perm = format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}");
        let cases: Vec<(String, &str)> = vec![
            (default_line("/", 200, "-"), "clean"),
            (default_line("/", 500, &perm), "flagged"),
            (
                default_line("/", 500, &format!("- Internal Server Error {perm}")),
                "flagged",
            ),
            // The client puts the token in the path: never alerted.
            (
                default_line("/AUTHORIZER_CONFIGURATION_ERROR", 200, "-"),
                "ignored",
            ),
            (
                default_line("/x?q=AUTHORIZER_CONFIGURATION_ERROR,denied", 200, "-"),
                "ignored",
            ),
            // Not a whole word.
            (
                default_line("/", 500, "XAUTHORIZER_CONFIGURATION_ERRORS"),
                "ignored",
            ),
            (
                default_line("/", 500, "authorizer_configuration_error"),
                "clean",
            ),
            // A line in no known format: quotes decide.
            (format!("custom {perm}"), "flagged"),
            (
                r#"custom "ua AUTHORIZER_CONFIGURATION_ERROR" -"#.to_owned(),
                "ignored",
            ),
            // JSON: only error-named keys.
            (
                r#"{"requestId":"r","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,x"}"#
                    .to_owned(),
                "flagged",
            ),
            (
                r#"{"requestId":"r","authorizer":{"error":"AUTHORIZER_CONFIGURATION_ERROR"}}"#
                    .to_owned(),
                "flagged",
            ),
            (
                r#"{"errorResponseType":"AUTHORIZER_CONFIGURATION_ERROR"}"#.to_owned(),
                "flagged",
            ),
            (
                r#"{"authorizer.error":"AUTHORIZER_CONFIGURATION_ERROR x"}"#.to_owned(),
                "flagged",
            ),
            (
                r#"{"userAgent":"AUTHORIZER_CONFIGURATION_ERROR","authorizerError":"-"}"#
                    .to_owned(),
                "ignored",
            ),
            (
                r#"{"path":"/AUTHORIZER_CONFIGURATION_ERROR"}"#.to_owned(),
                "ignored",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(verdict(&line), expected, "{line}");
        }
    }

    #[test]
    fn finding_carries_the_fields() {
        let line = default_line(
            "GET /orders",
            500,
            &format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}"),
        );
        let LineVerdict::Flagged(f) = scan_line(&line, &LogFormat::default()) else {
            panic!("not flagged")
        };
        assert_eq!(f.cause, Cause::MissingInvokePermission);
        assert_eq!(f.request_id(), Some("req-1="));
        assert_eq!(f.status, Some(500));
        assert_eq!(f.time(), Some("10/Oct/2023:01:01:01 +0000"));
        assert_eq!(f.route(), Some("GET /orders"));
        assert_eq!(f.error(), PERMISSION);
        assert_eq!(f.event_id(), None);
    }

    #[test]
    fn json_line_fields_and_sibling_message() {
        let line = r#"{"requestId":"abc","status":500,"routeKey":"GET /pets","apiId":"a1b2c3","error":{"responseType":"AUTHORIZER_CONFIGURATION_ERROR","message":"Authorizer timed out"}}"#;
        let LineVerdict::Flagged(f) = scan_line(line, &LogFormat::default()) else {
            panic!("not flagged")
        };
        assert_eq!(f.cause, Cause::AuthorizerTimeout);
        assert_eq!(f.request_id(), Some("abc"));
        assert_eq!(f.status, Some(500));
        assert_eq!(f.route(), Some("GET /pets"));
        assert_eq!(f.api_id(), Some("a1b2c3"));
    }

    #[test]
    fn batch_fills_origin() {
        let lines = format!(
            "{}\n{}\n{}\n",
            default_line("/", 200, "-"),
            default_line("/", 500, "AUTHORIZER_CONFIGURATION_ERROR,weird"),
            // No format and no time of its own: the event's timestamp stands in.
            "AUTHORIZER_CONFIGURATION_ERROR timed out"
        );
        let event = crate::decode::encode_event(
            &lines,
            "/aws/http-api/prod",
            "s1",
            "123456789012",
            1_700_000_000_000,
        );
        let payload = crate::decode::decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        let scan = scan_batch(&batch, &LogFormat::default());
        assert_eq!(scan.lines, 3);
        assert_eq!(scan.findings.len(), 2);
        let f = &scan.findings[0];
        assert_eq!(f.cause, Cause::Unknown);
        assert_eq!(f.log_group.as_deref(), Some("/aws/http-api/prod"));
        assert_eq!(f.log_stream.as_deref(), Some("s1"));
        assert_eq!(f.timestamp, Some(1_700_000_000_001));
        assert_eq!(f.time(), Some("10/Oct/2023:01:01:01 +0000"));
        assert_eq!(f.account_id(), Some("123456789012"));
        assert_eq!(f.event_id(), Some(&*batch.log_events[1].id));
        let g = &scan.findings[1];
        assert_eq!(g.cause, Cause::AuthorizerTimeout);
        assert_eq!(g.time(), Some("2023-11-14T22:13:20.002Z"));
        assert_eq!(g.error(), "timed out");
    }

    #[test]
    fn finding_text_round_trips_and_serialises_flat() {
        let text = FindingText {
            request_id: Some("r1"),
            error: "boom",
            route: Some(""),
            event_id: Some("e1"),
            account_id: Some("123456789012"),
            ..FindingText::default()
        };
        let mut f = Finding::new(Cause::Unknown, text);
        assert_eq!(f.text(), text);
        assert_eq!((f.time(), f.route(), f.error()), (None, Some(""), "boom"));
        f.status = Some(500);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"cause":"unknown","request_id":"r1","status":500,"time":null,"error":"boom","route":"","api_id":null,"stage":null,"source_ip":null,"log_group":null,"log_stream":null,"event_id":"e1","timestamp":null}"#
        );
    }

    #[test]
    fn after_token_skips_partial_words() {
        assert_eq!(
            after_token("AUTHORIZER_CONFIGURATION_ERRORX AUTHORIZER_CONFIGURATION_ERROR: y"),
            Some("y")
        );
        assert_eq!(after_token("none"), None);
    }

    #[test]
    fn formats_millis() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(-5), "-5");
    }
}
