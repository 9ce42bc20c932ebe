//! What a scan found: one finding per flagged line, and the counts that account for every other
//! line that carried a token.

use std::sync::Arc;

use serde::Serialize;

use crate::model::cause::Cause;

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
    /// ([`LogFormat::keeps_layout`](crate::detect::access_log::LogFormat::keeps_layout)): no client value can do that, so the stage's format changed.
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

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z): humantime's formatter
/// fails past year 9999, and a failing `Display` panics in `to_string`.
pub(crate) const MAX_RFC3339_MILLIS: i64 = 253_402_300_799_999;

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
