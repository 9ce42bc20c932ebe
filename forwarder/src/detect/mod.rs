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
use std::sync::{Arc, LazyLock};

use memchr::memmem;
use serde::Serialize;
use serde_json::Value;

use crate::detect::access_log::{
    Fields, LogFormat, Place, Scratch, Split, guess_var_for_key, is_error_name,
};
use crate::model::cause::{Cause, classify, classify_failure};
use crate::sources::{LogBatch, LogEvent};

/// The token API Gateway writes before the reason.
pub const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

/// The gateway response of an authorizer that ran and failed (REST and WebSocket APIs), logged by
/// `$context.error.responseType`.
pub const FAILURE_TOKEN: &str = "AUTHORIZER_FAILURE";

/// Both tokens start with it, so one search finds either.
const TOKEN_PREFIX: &str = "AUTHORIZER_";

/// One searcher for the tokens' prefix, built once: the tokens' positions in a candidate line.
static TOKEN_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(TOKEN_PREFIX));

/// What a line must hold somewhere to be worth reading: any of a few needles. One `memmem` searcher
/// each: they pick a needle's rarest bytes to skip ahead, which a shared automaton over the needles'
/// first bytes (common lower-case letters) cannot, and that keeps the 99% of lines without any
/// needle at the cost of the token search alone.
pub struct Needles(Vec<memmem::Finder<'static>>);

impl Needles {
    pub(crate) fn new(needles: &[&str]) -> Self {
        Needles(
            needles
                .iter()
                .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
                .collect(),
        )
    }

    /// Whether any needle is in `haystack`. No needle holds a character JSON escapes, so a
    /// message still escaped reads the same (see [`crate::sources::Message::escaped_contains`]).
    pub fn is_in(&self, haystack: &[u8]) -> bool {
        self.0.iter().any(|f| f.find(haystack).is_some())
    }

    /// A walk over `haystack` that finds the next needle from a position on, searching each
    /// needle's text only once however often it is asked.
    pub fn walk<'h>(&'h self, haystack: &'h [u8]) -> NeedleWalk<'h> {
        NeedleWalk {
            needles: self,
            haystack,
            next: vec![None; self.0.len()],
        }
    }
}

/// See [`Needles::walk`].
pub struct NeedleWalk<'h> {
    needles: &'h Needles,
    haystack: &'h [u8],
    /// Per needle: where its last search started, and where it found the needle (`usize::MAX`
    /// when nowhere after); `None` before the first search.
    next: Vec<Option<(usize, usize)>>,
}

impl NeedleWalk<'_> {
    /// Where the first needle at or after `from` starts, or `usize::MAX`.
    pub fn next_from(&mut self, from: usize) -> usize {
        let mut first = usize::MAX;
        for (finder, next) in self.needles.0.iter().zip(&mut self.next) {
            let at = match *next {
                // Nothing between `searched` and `at` holds the needle, so it still answers.
                Some((searched, at)) if searched <= from && at >= from => at,
                _ => {
                    let found = self
                        .haystack
                        .get(from..)
                        .and_then(|rest| finder.find(rest))
                        .map_or(usize::MAX, |p| p + from);
                    *next = Some((from, found));
                    found
                }
            };
            first = first.min(at);
        }
        first
    }
}

/// Access-log candidates: a line with either token, or a phrase of one of API Gateway's failure
/// messages, which an HTTP API writes without a token. Every access-log line, and every payload
/// walked by [`crate::sources::Payload::parse_candidates`], is searched with it.
pub(crate) static ACCESS_NEEDLES: LazyLock<Needles> = LazyLock::new(|| {
    let mut needles = vec![TOKEN_PREFIX];
    needles.extend(
        crate::model::cause::FAILURE_MESSAGES
            .iter()
            .map(|m| m.phrase),
    );
    Needles::new(&needles)
});

/// What a batch's events are searched for before anything is read, in either log: the access
/// log's needles, and the execution log's failure and exception lines ("configuration error" and
/// "ConfigurationException" share `onfiguration`). One search for both means a line of either
/// log in a group of the other is read and counted, never passed over as clean.
pub(crate) static CANDIDATE_NEEDLES: LazyLock<Needles> = LazyLock::new(|| {
    let mut needles = vec![TOKEN_PREFIX, "onfiguration"];
    needles.extend(
        crate::model::cause::FAILURE_MESSAGES
            .iter()
            .map(|m| m.phrase),
    );
    Needles::new(&needles)
});

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
    /// Whether the line was read by what the operator or AWS wrote: a format (the stage's, or
    /// the default the function reads when none is set), or an execution log's whole event. A
    /// line the command line read by a heuristic (a JSON line's key names, the quote rule), or a
    /// saved execution log's line, which has lost where its event ended, is not: a client's text
    /// could have made it, so its alert is never above a warning.
    pub verified: bool,
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
                let field = crate::text::escape::truncate(field, room);
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
            verified: true,
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
        let mut s = serializer.serialize_struct("Finding", 14)?;
        s.serialize_field("cause", &self.cause)?;
        s.serialize_field("request_id", &self.request_id())?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("verified", &self.verified)?;
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
    /// The token, in a line that does not follow the configured format or that it cannot split
    /// without a client value deciding where the token falls.
    Unmatched,
    /// Unmatched, in a line that lacks the configured format's layout
    /// ([`LogFormat::keeps_layout`]): no client value can do that, so the stage's format changed.
    Drifted,
    /// The token where API Gateway wrote it.
    Flagged(Finding),
}

/// CloudWatch Logs' largest event (1 MiB): a longer line did not come from an access log.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of a line that did not follow the format is kept to show what such lines look like.
pub const UNMATCHED_SAMPLE_BYTES: usize = 2048;

/// The result of scanning many lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub lines: usize,
    pub findings: Vec<Finding>,
    /// Lines carrying the token only in client-controlled parts.
    pub ignored: usize,
    /// Lines carrying the token that do not follow the configured format (see
    /// [`LineVerdict::Unmatched`]). Lines without the token are not checked: nothing broke there.
    pub unmatched: usize,
    /// Unmatched lines that lack the format's layout ([`LineVerdict::Drifted`]): the only ones a
    /// client cannot bring about, so the only ones that say the format changed.
    pub drifted: usize,
    /// The first unmatched line, a drifted one when there is one, cut to
    /// [`UNMATCHED_SAMPLE_BYTES`].
    pub unmatched_sample: Option<String>,
    /// The log group of the batch, for the alert saying lines do not follow the format.
    pub log_group: Option<Arc<str>>,
    /// The batch's owner, when it is an account id.
    pub account_id: Option<String>,
}

impl Scan {
    /// Lines read from a file name no log group; the one the operator says they came from names
    /// the alert's group, its console link and its attribute.
    pub fn in_log_group(mut self, group: &str) -> Self {
        let group: Arc<str> = Arc::from(group);
        for f in &mut self.findings {
            f.log_group.get_or_insert_with(|| Arc::clone(&group));
        }
        self.log_group.get_or_insert(group);
        self
    }

    pub(crate) fn add(&mut self, verdict: LineVerdict, line: &str) {
        self.lines += 1;
        match verdict {
            LineVerdict::Clean => {}
            LineVerdict::Ignored => self.ignored += 1,
            LineVerdict::Unmatched => self.add_unmatched(line, false),
            LineVerdict::Drifted => self.add_unmatched(line, true),
            LineVerdict::Flagged(f) => self.findings.push(f),
        }
    }

    fn add_unmatched(&mut self, line: &str, drifted: bool) {
        // The drift alert shows the sample: a line no client could have made, when there is one.
        if self.unmatched_sample.is_none() || (drifted && self.drifted == 0) {
            self.unmatched_sample = Some(
                crate::text::escape::truncate(line.trim(), UNMATCHED_SAMPLE_BYTES).into_owned(),
            );
        }
        self.unmatched += 1;
        self.drifted += usize::from(drifted);
    }

    pub fn merge(&mut self, other: Scan) {
        self.lines += other.lines;
        self.ignored += other.ignored;
        if self.unmatched_sample.is_none() || (self.drifted == 0 && other.drifted > 0) {
            self.unmatched_sample = other.unmatched_sample.or(self.unmatched_sample.take());
        }
        self.unmatched += other.unmatched;
        self.drifted += other.drifted;
        self.log_group = self.log_group.take().or(other.log_group);
        self.account_id = self.account_id.take().or(other.account_id);
        self.findings.extend(other.findings);
    }

    /// Lines that carried the token: every line a subscription filter on it delivers.
    pub fn with_token(&self) -> usize {
        self.findings.len() + self.ignored + self.unmatched
    }

    /// Whether most lines API Gateway wrote with an authorizer error lack the configured format's
    /// layout: detection is blind, which must be said rather than be silence. Only drifted lines
    /// and findings count: a client can make ignored and unmatched lines at will, so they can
    /// neither raise this nor hide it.
    pub fn format_drift(&self) -> bool {
        self.drifted > 0 && self.drifted * 2 > self.drifted + self.findings.len()
    }
}

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

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z): humantime's formatter
/// fails past year 9999, and a failing `Display` panics in `to_string`.
const MAX_RFC3339_MILLIS: i64 = 253_402_300_799_999;

/// RFC 3339 in UTC with milliseconds, or the raw number when out of range: an event's timestamp
/// is whatever the payload says, so a number before 1970 or after 9999 is shown as it came.
pub fn format_millis(ms: i64) -> String {
    u64::try_from(ms)
        .ok()
        .filter(|_| ms <= MAX_RFC3339_MILLIS)
        .and_then(|ms| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms)))
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests;
