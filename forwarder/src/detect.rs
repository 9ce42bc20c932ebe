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
use crate::decode::LogBatch;

/// The token API Gateway writes before the reason.
pub const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

/// One searcher for the token, built once: every line is searched with it.
static TOKEN_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(TOKEN));

/// One flagged log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub cause: Cause,
    pub request_id: Option<String>,
    pub status: Option<u16>,
    /// `$context.requestTime` when logged, else the log event's timestamp.
    pub time: Option<String>,
    /// The text API Gateway wrote after the token.
    pub error: String,
    pub route: Option<String>,
    pub api_id: Option<String>,
    pub stage: Option<String>,
    pub source_ip: Option<String>,
    /// Shared by every finding of a batch.
    pub log_group: Option<Arc<str>>,
    pub log_stream: Option<Arc<str>>,
    pub event_id: Option<String>,
    /// Milliseconds since the epoch, from the log event.
    pub timestamp: Option<i64>,
    #[serde(skip)]
    pub account_id: Option<String>,
}

/// What one line holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineVerdict {
    /// No token anywhere.
    Clean,
    /// The token only where a client could have put it.
    Ignored,
    /// The token where API Gateway wrote it.
    Flagged(Box<Finding>),
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
            LineVerdict::Flagged(f) => self.findings.push(*f),
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
    for event in &batch.log_events {
        // Checked on the escaped text, so the 99% of lines without the token are never copied.
        if !event.message.escaped_contains(&TOKEN_FINDER) {
            scan.add(LineVerdict::Clean);
            continue;
        }
        let mut verdict = scan_line(&event.message.text(), format);
        if let LineVerdict::Flagged(f) = &mut verdict {
            f.log_group = log_group.clone();
            f.log_stream = log_stream.clone();
            f.event_id = Some(event.id.to_string()).filter(|s| !s.is_empty());
            f.timestamp = Some(event.timestamp);
            if f.time.is_none() {
                f.time = Some(format_millis(event.timestamp));
            }
            if f.account_id.is_none() && is_account_id(&batch.owner) {
                f.account_id = Some(batch.owner.to_string());
            }
        }
        if verdict == LineVerdict::Ignored {
            tracing::debug!(event_id = %event.id, "token only in client-controlled text; ignored");
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

/// Decides one line.
pub fn scan_line(line: &str, format: &LogFormat) -> LineVerdict {
    // Almost every line lacks the token; this check is the whole cost for them.
    if TOKEN_FINDER.find(line.as_bytes()).is_none() {
        return LineVerdict::Clean;
    }
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
    {
        return scan_json(&map, format);
    }
    if let Some(parts) = format.split(trimmed) {
        return scan_split(format, &parts);
    }
    scan_unstructured(trimmed)
}

/// A line that follows the configured format: only its error variables count.
fn scan_split(format: &LogFormat, parts: &[(&crate::access_log::Var, &str)]) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error = None;
    for (i, (_, value)) in parts.iter().enumerate() {
        fields.put(format.slot(i), value);
        if error.is_none()
            && format.is_error_var(i)
            && let Some(after) = after_token(value)
        {
            error = Some(after);
        }
    }
    match error {
        Some(text) => flagged(fields, text),
        None => LineVerdict::Ignored,
    }
}

/// A JSON line: only string values under error-named keys count.
fn scan_json(map: &serde_json::Map<String, Value>, format: &LogFormat) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error: Option<String> = None;
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
                    Some(var) => fields.set(&var.0, s),
                    None => {
                        if let Some(var) = guess_var_for_key(&path) {
                            fields.set(var, s);
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
                    fields.set(var, &n.to_string());
                }
            }
            _ => {}
        }
    }
    match error {
        // The reason may sit in a sibling field such as `error.message` rather than after the token.
        Some(text) if text.is_empty() && !other_errors.is_empty() => {
            flagged(fields, other_errors.join(" "))
        }
        Some(text) => flagged(fields, text),
        None => LineVerdict::Ignored,
    }
}

/// A line in no known shape: the token counts only outside double-quoted segments. A client can
/// put a `"` inside a quoted value and shift which segments look quoted, so a segment counts as
/// outside only if it is outside when quotes are paired from the start and from the end alike.
fn scan_unstructured(line: &str) -> LineVerdict {
    let segments: Vec<&str> = line.split('"').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        if i.is_multiple_of(2)
            && (last - i).is_multiple_of(2)
            && let Some(after) = after_token(segment)
        {
            return flagged(Fields::default(), after);
        }
    }
    LineVerdict::Ignored
}

fn flagged(mut fields: Fields, error: String) -> LineVerdict {
    LineVerdict::Flagged(Box::new(Finding {
        cause: classify(&error),
        route: fields.take_route(),
        request_id: fields.request_id,
        status: fields.status,
        time: fields.time,
        error,
        api_id: fields.api_id,
        stage: fields.stage,
        source_ip: fields.source_ip,
        account_id: fields.account_id,
        log_group: None,
        log_stream: None,
        event_id: None,
        timestamp: None,
    }))
}

/// The text after the first whole-word token in `s`, without the separator API Gateway puts there.
pub fn after_token(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(pos) = TOKEN_FINDER.find(&bytes[from..]) {
        let at = from + pos;
        let end = at + TOKEN.len();
        let word_before = at > 0 && is_word_byte(bytes[at - 1]);
        let word_after = end < bytes.len() && is_word_byte(bytes[end]);
        if !word_before && !word_after {
            let rest = s[end..].trim_start_matches([',', ':', ';', ' ', '\t', '-']);
            return Some(rest.trim_end().to_owned());
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
        assert_eq!(f.request_id.as_deref(), Some("req-1="));
        assert_eq!(f.status, Some(500));
        assert_eq!(f.time.as_deref(), Some("10/Oct/2023:01:01:01 +0000"));
        assert_eq!(f.route.as_deref(), Some("GET /orders"));
        assert_eq!(f.error, PERMISSION);
    }

    #[test]
    fn json_line_fields_and_sibling_message() {
        let line = r#"{"requestId":"abc","status":500,"routeKey":"GET /pets","apiId":"a1b2c3","error":{"responseType":"AUTHORIZER_CONFIGURATION_ERROR","message":"Authorizer timed out"}}"#;
        let LineVerdict::Flagged(f) = scan_line(line, &LogFormat::default()) else {
            panic!("not flagged")
        };
        assert_eq!(f.cause, Cause::AuthorizerTimeout);
        assert_eq!(f.request_id.as_deref(), Some("abc"));
        assert_eq!(f.status, Some(500));
        assert_eq!(f.route.as_deref(), Some("GET /pets"));
        assert_eq!(f.api_id.as_deref(), Some("a1b2c3"));
    }

    #[test]
    fn batch_fills_origin() {
        let lines = format!(
            "{}\n{}\n",
            default_line("/", 200, "-"),
            default_line("/", 500, "AUTHORIZER_CONFIGURATION_ERROR,weird")
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
        assert_eq!(scan.lines, 2);
        assert_eq!(scan.findings.len(), 1);
        let f = &scan.findings[0];
        assert_eq!(f.cause, Cause::Unknown);
        assert_eq!(f.log_group.as_deref(), Some("/aws/http-api/prod"));
        assert_eq!(f.log_stream.as_deref(), Some("s1"));
        assert_eq!(f.timestamp, Some(1_700_000_000_001));
        assert_eq!(f.account_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn after_token_skips_partial_words() {
        assert_eq!(
            after_token("AUTHORIZER_CONFIGURATION_ERRORX AUTHORIZER_CONFIGURATION_ERROR: y")
                .as_deref(),
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
