//! Finding an authorizer failure where API Gateway wrote it: `AUTHORIZER_CONFIGURATION_ERROR` (and a
//! REST or WebSocket API's `AUTHORIZER_FAILURE`), or one of the messages an HTTP API writes in
//! `$context.authorizer.error` without a token ([`crate::model::cause::FAILURE_MESSAGES`]).
//!
//! Paths, query strings and headers are client input, so a client can send the token or the
//! message in a URL or a user agent. A line is flagged only when it is in a field API Gateway
//! writes: the error variables of the configured format (a message only at the start of
//! `$context.authorizer.error` or `$context.authorize.error`), an error-named key of a JSON line, or
//! (for lines that follow no known format) outside every double-quoted segment.
//!
//! A REST or WebSocket API's execution log says the same in words; its batches are told apart by
//! their log group's name and read by [`crate::detect::execution_log`].

pub mod access_log;
pub mod execution_log;

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use crate::detect::access_log::{
    Fields, LogFormat, Place, Scratch, Split, guess_var_for_key, is_error_name,
};
use crate::model::cause::{Cause, classify, classify_failure};
use crate::model::finding::{
    Finding, FindingText, LineVerdict, MAX_LINE_BYTES, Scan, format_millis,
};
use crate::model::tokens::{ACCESS_NEEDLES, CANDIDATE_NEEDLES, FAILURE_TOKEN, TOKEN, TOKEN_FINDER};
use crate::sources::{LogBatch, LogEvent};

/// Which log a batch comes from. Told by the log group's name, which API Gateway chooses for
/// execution logs and no client writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// A stage's access log, in the format its owner chose.
    Access,
    /// A REST API's execution log, `API-Gateway-Execution-Logs_{restApiId}/{stage}`.
    Execution,
}

impl LogKind {
    pub fn of_group(log_group: &str) -> Self {
        if crate::detect::execution_log::is_execution_log_group(log_group) {
            LogKind::Execution
        } else {
            LogKind::Access
        }
    }

    /// The subscription filter pattern that delivers this log's candidate lines: CloudWatch Logs'
    /// term match narrows, the scan decides
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>:
    /// terms are case-sensitive and match anywhere in the event, `?` makes them alternatives, and a
    /// term with characters other than letters, digits and `_` is quoted). Access logs: either token,
    /// or a phrase of API Gateway's failure messages ([`crate::model::cause::FAILURE_MESSAGES`]); execution
    /// logs: the failure line, the exception line, and a gateway response line naming either token
    /// (a WebSocket API's).
    pub const fn filter_pattern(self) -> &'static str {
        match self {
            LogKind::Access => ACCESS_FILTER_PATTERN,
            LogKind::Execution => EXECUTION_FILTER_PATTERN,
        }
    }
}

/// See [`LogKind::filter_pattern`]; `tests/tests/filter_patterns.rs` checks that they deliver every
/// sample line the scan counts, with CloudWatch Logs' matching rules.
const ACCESS_FILTER_PATTERN: &str = "?AUTHORIZER_CONFIGURATION_ERROR ?AUTHORIZER_FAILURE ?\"permissions to call the authorizer\" ?\"Lambda Authorizer function doesn't match\"";
const EXECUTION_FILTER_PATTERN: &str = "?\"Execution failed due to configuration error\" ?AuthorizerConfigurationException ?\"Gateway response type: AUTHORIZER_\"";

/// Scans every event of a batch, its log told by its group's name alone (see
/// [`scan_batch_as`]).
pub fn scan_batch(batch: &LogBatch, format: &LogFormat) -> Scan {
    scan_batch_as(batch, format, LogKind::of_group(&batch.log_group))
}

/// A batch that is not read at all (the forwarder's own log, [`crate::config::Config::own_log_group`]):
/// each line that carries a candidate needle is counted ignored, so every such line is accounted
/// for, and nothing is flagged.
pub fn ignore_batch(batch: &LogBatch) -> Scan {
    let mut scan = Scan::default();
    if batch.is_control() {
        return scan;
    }
    scan.lines = batch.line_count();
    scan.ignored = batch
        .log_events
        .iter()
        .filter(|event| event.message.escaped_contains(&CANDIDATE_NEEDLES))
        .count();
    scan.log_group = (!batch.log_group.is_empty()).then(|| Arc::<str>::from(&*batch.log_group));
    scan
}

/// Scans every event of a batch as `kind` of log ([`crate::config::Config::log_kind`]). Control
/// messages carry no lines.
pub fn scan_batch_as(batch: &LogBatch, format: &LogFormat, kind: LogKind) -> Scan {
    let mut scan = Scan::default();
    if batch.is_control() {
        return scan;
    }
    let shared = |s: &str| (!s.is_empty()).then(|| Arc::<str>::from(s));
    let (log_group, log_stream) = (shared(&batch.log_group), shared(&batch.log_stream));
    let account_id = crate::text::shape::is_account_id(&batch.owner).then_some(&*batch.owner);
    scan.log_group = log_group.clone();
    scan.account_id = account_id.map(str::to_owned);
    if kind == LogKind::Execution {
        crate::detect::execution_log::scan_events(
            batch, log_group, log_stream, account_id, &mut scan,
        );
        return scan;
    }
    let mut text = String::new();
    let mut scratch = Scratch::default();
    // Checked on the escaped text, so the 99% of lines without the token are never copied. The
    // candidates are found first so the findings list is sized once: growing it would copy a fully
    // flagged batch's findings about twice over.
    let candidates: Vec<&LogEvent> = batch
        .log_events
        .iter()
        .filter(|event| event.message.escaped_contains(&CANDIDATE_NEEDLES))
        .collect();
    scan.lines = batch.line_count() - candidates.len();
    scan.findings.reserve_exact(candidates.len());
    for event in candidates {
        let origin = Origin {
            event_id: Some(&*event.id).filter(|id| !id.is_empty()),
            timestamp: Some(event.timestamp),
            account_id,
        };
        let line = event.message.read(&mut text);
        let mut verdict = access_candidate(line, format, &origin, &mut scratch);
        match &mut verdict {
            LineVerdict::Flagged(f) => {
                f.log_group = log_group.clone();
                f.log_stream = log_stream.clone();
            }
            LineVerdict::Ignored => {
                tracing::debug!(event_id = %event.id, "token only in client-controlled text; ignored")
            }
            LineVerdict::Unmatched => {
                tracing::debug!(event_id = %event.id, "line does not follow the access-log format")
            }
            LineVerdict::Drifted => {
                tracing::debug!(event_id = %event.id, "line lacks the access-log format's layout")
            }
            LineVerdict::Clean => {}
        }
        scan.add(verdict, line);
    }
    scan
}

/// Decides an access-log line that holds a candidate needle: by the format when it holds an
/// access-log needle, else as an execution log's line found here. Shared by batches and text.
fn access_candidate(
    line: &str,
    format: &LogFormat,
    origin: &Origin,
    scratch: &mut Scratch,
) -> LineVerdict {
    if ACCESS_NEEDLES.is_in(line.as_bytes()) {
        scan_candidate(line, format, origin, scratch)
    } else {
        execution_line_here(line, format, scratch)
    }
}

/// An access-log candidate that holds no access-log needle, only an execution log's words: an
/// execution-log failure line here means execution logs reach a group not known to hold them
/// (`EXECUTION_LOG_GROUPS`), which is unmatched so it is counted, and drifted when it lacks the
/// format's layout (no client value can write a whole line), so the format alert says so;
/// anything else is clean.
fn execution_line_here(line: &str, format: &LogFormat, scratch: &mut Scratch) -> LineVerdict {
    use crate::detect::execution_log::{Line, read};
    match read(line) {
        Line::Failed { .. } | Line::Exception { .. } | Line::GatewayResponse { .. } => {
            if format.is_given() && !format.keeps_layout(line, scratch) {
                LineVerdict::Drifted
            } else {
                LineVerdict::Unmatched
            }
        }
        Line::Quoted | Line::Other => LineVerdict::Clean,
    }
}

/// Scans plain log lines (one per line of `text`): with a format given, access-log lines in it;
/// without one, a REST API's execution log when most lines have its shape, else access-log lines.
pub fn scan_text(text: &str, format: &LogFormat) -> Scan {
    let kind = if !format.is_given() && crate::detect::execution_log::looks_like_execution_log(text)
    {
        LogKind::Execution
    } else {
        LogKind::Access
    };
    scan_text_as(text, format, kind)
}

/// Scans plain log lines as `kind` of log.
pub fn scan_text_as(text: &str, format: &LogFormat, kind: LogKind) -> Scan {
    if kind == LogKind::Execution {
        return crate::detect::execution_log::scan_text(text);
    }
    let mut scan = Scan::default();
    let mut scratch = Scratch::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let verdict = if CANDIDATE_NEEDLES.is_in(line.as_bytes()) {
            access_candidate(line, format, &Origin::default(), &mut scratch)
        } else {
            LineVerdict::Clean
        };
        scan.add(verdict, line);
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
fn scan_candidate(
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

/// Where a token stands as a whole word in `s`.
fn token_spans(s: &str) -> Vec<(usize, usize)> {
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

/// The cause a token and the reason beside it name.
fn cause_of(token: &str, reason: &str) -> Cause {
    if token == FAILURE_TOKEN {
        classify_failure(reason)
    } else {
        classify(reason)
    }
}

/// Whether another error variable's value says something: API Gateway writes `-` for an empty
/// value, and `$context.error.message` holds only the body the client got (`null` on a REST API,
/// `Internal server error` on a WebSocket API).
fn says_something(value: &str) -> bool {
    // `$context.error.messageString` is the message in quotes.
    let v = value.trim().trim_matches('"');
    !v.is_empty()
        && v != "-"
        && v != "null"
        && !v.eq_ignore_ascii_case("internal server error")
        && token_spans(v).is_empty()
}

/// Where the first sentences of API Gateway's failure messages stand in `s`.
fn message_marks(s: &str) -> Vec<(usize, usize, &'static crate::model::cause::FailureMessage)> {
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

/// A text line against the format: a token counts only where every split of the line puts it in
/// an error variable; a failure message only where every split puts it at the start of
/// `$context.authorizer.error` or `$context.authorize.error`, the variables API Gateway writes it in.
///
/// The tokens are placed first: a line with a token of API Gateway's (every line of an outage on
/// a REST API) is decided by one split. The messages are placed, by a second split, only when no
/// token decides.
fn scan_split(
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

/// A line flagged by a failure message: `value` is what API Gateway wrote, from the message on. Its
/// cause is the message's, unless the rest of the value shows Lambda's error object (a function
/// that crashed).
fn flagged_message(
    fields: &Fields,
    message: &crate::model::cause::FailureMessage,
    value: &str,
    origin: &Origin,
) -> LineVerdict {
    let value = value.trim();
    let cause = if crate::model::cause::shows_lambda_error(value) {
        Cause::AuthorizerFailure
    } else {
        message.cause
    };
    flagged_as(fields, cause, value, origin)
}

/// Every variable's value in the split last made, as the fields of a finding.
fn split_fields<'l>(line: &'l str, format: &LogFormat, scratch: &Scratch) -> Fields<'l> {
    let mut fields = Fields::default();
    for i in 0..format.vars().len() {
        fields.put(format.slot(i), scratch.value(line, i));
    }
    fields
}

/// The reason API Gateway wrote after the token, without the separator it puts there.
fn reason(after: &str) -> &str {
    after
        .trim_start_matches([',', ':', ';', ' ', '\t', '-'])
        .trim_end()
}

/// A JSON line against a JSON format: the line must have exactly the format's keys, each once,
/// and only the keys the format maps to an error variable count. A key the format does not list,
/// or a second copy of one it does, can only come from a client value that broke out of its
/// string, so the line is unmatched.
fn scan_json_given(line: &str, format: &LogFormat, origin: &Origin) -> LineVerdict {
    let Some(entries) = json_entries(line) else {
        return LineVerdict::Unmatched;
    };
    let keys = format.json_keys();
    let mut seen = vec![false; keys.len()];
    let mut vars = Vec::with_capacity(entries.len());
    for (path, _) in &entries {
        match keys.iter().position(|(k, _)| k == path) {
            Some(i) if !seen[i] => {
                seen[i] = true;
                vars.push(&keys[i].1);
            }
            _ => return LineVerdict::Unmatched,
        }
    }
    if seen.contains(&false) {
        return LineVerdict::Unmatched;
    }
    let mut fields = Fields::default();
    let mut error: Option<(&str, &str)> = None;
    let mut message = None;
    for ((_, leaf), var) in entries.iter().zip(&vars) {
        match leaf {
            JsonLeaf::Str(s) => {
                fields.set(&var.0, &**s);
                if var.is_error()
                    && error.is_none()
                    && let Some(&(start, end)) = token_spans(s).first()
                {
                    error = Some((&s[start..end], reason(&s[end..])));
                }
                if message.is_none() && var.holds_authorizer_message() {
                    message = crate::model::cause::failure_message(s).map(|m| (m, &**s));
                }
            }
            JsonLeaf::Number(n) => fields.set(&var.0, n.as_str()),
            JsonLeaf::Other => {}
        }
    }
    match error {
        // The reason may sit in another error variable (`$context.error.message`,
        // `$context.authorizer.error`) rather than after the token: read only then. The token's
        // own value says nothing more, as it holds the token.
        Some((token, "")) => {
            let text = entries
                .iter()
                .zip(&vars)
                .filter_map(|((_, leaf), var)| match leaf {
                    JsonLeaf::Str(s) if var.is_error() && says_something(s) => Some(s.trim()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(" ");
            flagged(&fields, token, &text, origin)
        }
        Some((token, text)) => flagged(&fields, token, text, origin),
        // No token of API Gateway's: a failure message alone, where it writes one.
        None => match message {
            Some((m, value)) => flagged_message(&fields, m, value, origin),
            None => LineVerdict::Ignored,
        },
    }
}

/// A JSON value at a key path of a line.
#[derive(Debug, PartialEq, Eq)]
enum JsonLeaf<'a> {
    Str(Cow<'a, str>),
    Number(String),
    /// `null`, a boolean or an array: no variable of a JSON format is written as one.
    Other,
}

/// Every key path of a JSON object line with its value, in order, duplicates kept (a map would
/// keep only one of them). `None` when the line is not one JSON object.
fn json_entries(line: &str) -> Option<Vec<(String, JsonLeaf<'_>)>> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Collect<'p, 'a> {
        prefix: &'p str,
        out: &'p mut Vec<(String, JsonLeaf<'a>)>,
    }
    impl<'p, 'de> Collect<'p, 'de> {
        fn push<E>(self, leaf: JsonLeaf<'de>) -> Result<(), E> {
            self.out.push((self.prefix.to_owned(), leaf));
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Collect<'_, 'de> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Collect<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let path = if self.prefix.is_empty() {
                    key.into_owned()
                } else {
                    format!("{}.{key}", self.prefix)
                };
                map.next_value_seed(Collect {
                    prefix: &path,
                    out: &mut *self.out,
                })?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.push(JsonLeaf::Other)
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Owned(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            self.push(JsonLeaf::Other)
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            self.push(JsonLeaf::Other)
        }
    }

    if !line.starts_with('{') {
        return None;
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(line);
    Collect {
        prefix: "",
        out: &mut out,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(out)
}

/// A JSON line read without its format: only string values under error-named keys count.
fn scan_json(
    map: &serde_json::Map<String, Value>,
    format: &LogFormat,
    origin: &Origin,
) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error: Option<(&str, &str)> = None;
    let mut other_errors: Vec<&str> = Vec::new();
    let mut message = None;
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
                if leaf_is_error && message.is_none() {
                    message = crate::model::cause::failure_message(s).map(|m| (m, &**s));
                }
                let token = if leaf_is_error { after_token(s) } else { None };
                match token {
                    Some(found) if error.is_none() => error = Some(found),
                    Some(_) => {}
                    None if (leaf_is_error || leaf.to_ascii_lowercase().contains("message"))
                        && says_something(s) =>
                    {
                        other_errors.push(s.trim())
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
        Some((token, "")) if !other_errors.is_empty() => {
            let text = other_errors.join(" ");
            flagged(&fields, token, &text, origin)
        }
        Some((token, text)) => flagged(&fields, token, text, origin),
        None => match message {
            Some((m, value)) => flagged_message(&fields, m, value, origin),
            None => LineVerdict::Ignored,
        },
    }
}

/// A line in no known shape: the token, or a failure message, counts only outside double-quoted
/// segments. A client can put a `"` inside a quoted value and shift which segments look quoted, so
/// a segment counts as outside only if it is outside when quotes are paired from the start and from
/// the end alike.
fn scan_unstructured(line: &str, origin: &Origin) -> LineVerdict {
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

/// A flagged line: `error` is the reason beside `token`; when API Gateway wrote the token alone,
/// the token is what the alert shows it wrote.
fn flagged(fields: &Fields, token: &str, error: &str, origin: &Origin) -> LineVerdict {
    let cause = cause_of(token, error);
    let error = if error.is_empty() { token } else { error };
    flagged_as(fields, cause, error, origin)
}

/// A flagged line whose cause is known: `error` is what API Gateway wrote.
fn flagged_as(fields: &Fields, cause: Cause, error: &str, origin: &Origin) -> LineVerdict {
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
        cause,
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

/// The first whole-word token in `s` and the text after it, without the separator API Gateway
/// puts there.
fn after_token(s: &str) -> Option<(&str, &str)> {
    token_spans(s)
        .first()
        .map(|&(start, end)| (&s[start..end], reason(&s[end..])))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests;
