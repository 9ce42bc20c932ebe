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
mod flag;
mod json;
mod line;
mod marks;
mod split;
mod unstructured;

pub use line::scan_line;

use std::sync::Arc;

use crate::detect::access_log::{LogFormat, Scratch};
use crate::detect::flag::Origin;
use crate::detect::line::scan_candidate;
use crate::model::finding::{LineVerdict, Scan};
use crate::model::tokens::{ACCESS_NEEDLES, CANDIDATE_NEEDLES};
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

#[cfg(test)]
mod tests;
