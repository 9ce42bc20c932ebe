//! A REST or WebSocket API's execution log, `API-Gateway-Execution-Logs_{apiId}/{stage}`.
//!
//! API Gateway writes one event per step of a request, each prefixed with the request id in
//! parentheses: a UUID on a REST API, an id such as `PDS1PEC4oAMFpyA=` on a WebSocket API. A broken
//! authorizer reads
//! `(REQUEST_ID) Execution failed due to configuration error: Invalid permissions on Lambda function`
//! (or `Could not parse policy`, `Invalid JSON in response: ...`, or the generic `Authorizer error`,
//! alone or after another reason), then a line
//! naming the error the client got: `(REQUEST_ID) AuthorizerConfigurationException` on a REST API
//! (<https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors>),
//! `(REQUEST_ID) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500` on a
//! WebSocket API (a `$connect` whose authorizer lacked the invoke permission, quoted in the
//! crosscut.io post "Troubleshooting Pesky API ApiGatewayV2 Authorizer permissions").
//!
//! The same words follow a Lambda *integration* API Gateway cannot invoke, without either closing
//! line, so only an authorizer's reasons count alone (see `authorizer_findings`).
//!
//! With full request logging, the same log also holds the client's headers and body, so the words
//! count only as a whole event that API Gateway wrote: the request id prefix, then exactly the
//! message, on one line. A header or body is always logged after a label of API Gateway's own
//! (`Method request headers: {...}`), and a body that carries a line break of its own stays inside
//! its event, which then is not one line.

use std::sync::Arc;

use crate::model::cause::{Cause, classify};
use crate::model::finding::Finding;
use crate::model::finding::FindingText;
use crate::model::finding::LineVerdict;
use crate::model::finding::Scan;
use crate::model::finding::format_millis;
use crate::model::tokens::FAILURE_TOKEN;
use crate::model::tokens::TOKEN;
use crate::sources::LogBatch;

/// What every execution-log group's name starts with.
pub const GROUP_PREFIX: &str = "API-Gateway-Execution-Logs_";

/// The message API Gateway writes before the reason.
pub const FAILED: &str = "Execution failed due to configuration error: ";

/// The line API Gateway writes after it, naming the error the client got.
pub const EXCEPTION: &str = "AuthorizerConfigurationException";

/// What a gateway response line starts with, before the response type.
pub const GATEWAY_RESPONSE: &str = "Gateway response type: ";

/// The longest reason kept: API Gateway's are a few words.
const MAX_REASON_BYTES: usize = 512;

pub fn is_execution_log_group(log_group: &str) -> bool {
    group_place(log_group).is_some()
}

/// The API id and stage an execution-log group's name holds, when the name is exactly one API
/// Gateway gives: `API-Gateway-Execution-Logs_{apiId}/{stage}`, an API id, one `/`, and a stage
/// name (1 to 128 letters, digits, `-` and `_`, as API Gateway allows them). A lookalike is
/// some other group, read as [`crate::config::Config::log_kind`] says.
pub fn group_place(log_group: &str) -> Option<(&str, &str)> {
    let rest = log_group.strip_prefix(GROUP_PREFIX)?;
    let (api_id, stage) = rest.split_once('/')?;
    let stage_ok = (1..=128).contains(&stage.len())
        && stage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (api_id.len() == 10 && crate::text::shape::is_api_id(api_id) && stage_ok)
        .then_some((api_id, stage))
}

/// What one execution-log event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `(id) Execution failed due to configuration error: REASON`.
    Failed {
        request_id: &'a str,
        reason: &'a str,
    },
    /// `(id) AuthorizerConfigurationException`.
    Exception { request_id: &'a str },
    /// `(id) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500`, or
    /// `AUTHORIZER_FAILURE`: the response the client got for the authorizer's failure.
    GatewayResponse {
        request_id: &'a str,
        token: &'static str,
        status: u16,
    },
    /// Either text where a client could have put it: inside a logged header or body, or in an
    /// event of several lines.
    Quoted,
    /// Neither text.
    Other,
}

/// Reads one event's message.
pub fn read(message: &str) -> Line<'_> {
    let mentions = message.contains(FAILED.trim_end())
        || message.contains(EXCEPTION)
        || message.contains(GATEWAY_RESPONSE);
    if !mentions {
        return Line::Other;
    }
    let message = message.strip_suffix('\n').unwrap_or(message);
    let message = message.strip_suffix('\r').unwrap_or(message);
    let Some((request_id, said)) = split_prefix(message) else {
        return Line::Quoted;
    };
    if said.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Line::Quoted;
    }
    if said == EXCEPTION {
        return Line::Exception { request_id };
    }
    if let Some(rest) = said.strip_prefix(GATEWAY_RESPONSE) {
        return gateway_response(rest).map_or(Line::Quoted, |(token, status)| {
            Line::GatewayResponse {
                request_id,
                token,
                status,
            }
        });
    }
    match said.strip_prefix(FAILED) {
        Some(reason) if !reason.trim().is_empty() && reason.len() <= MAX_REASON_BYTES => {
            Line::Failed {
                request_id,
                reason: reason.trim(),
            }
        }
        _ => Line::Quoted,
    }
}

/// `AUTHORIZER_CONFIGURATION_ERROR with status code: 500`: the token and the status, when the
/// response is one of a broken authorizer's and the line is exactly API Gateway's.
fn gateway_response(rest: &str) -> Option<(&'static str, u16)> {
    let (response_type, status) = rest.split_once(" with status code: ")?;
    let token = [TOKEN, FAILURE_TOKEN]
        .into_iter()
        .find(|t| *t == response_type)?;
    let digits = status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| (token, status.parse().expect("three digits")))
}

/// `(REQUEST_ID) ` and what follows. The id must have the shape of API Gateway's own: a UUID (REST
/// APIs) or 15 base64url characters and `=` (WebSocket APIs). A REST API lets a client override
/// `$context.requestId`, and an id of the client's choosing could carry
/// `) Execution failed due to configuration error: ...` into the prefix of every line of its
/// request; neither shape can hold a space or a parenthesis. A request whose client chose another
/// id is not read; the others the same broken authorizer fails still are.
fn split_prefix(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('(')?;
    let close = rest.find(") ")?;
    let (id, said) = (&rest[..close], &rest[close + 2..]);
    (is_uuid(id) || is_websocket_request_id(id)).then_some((id, said))
}

/// Whether a request id is a WebSocket API's (REST APIs use UUIDs): 15 base64url characters, then
/// `=`, such as `PDS1PEC4oAMFpyA=` (an HTTP API's `$context.requestId` has the same shape).
pub fn is_websocket_request_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 16
        && b[15] == b'='
        && b[..15]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether a text file is an execution log: most non-empty lines start with a request id in
/// parentheses (a saved event of several lines adds lines without one). An access-log format that
/// started so would have to log nothing else first.
pub fn looks_like_execution_log(text: &str) -> bool {
    let (mut lines, mut prefixed) = (0usize, 0usize);
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        prefixed += usize::from(split_prefix(l.trim_end()).is_some());
    }
    lines > 0 && prefixed * 2 > lines
}

/// Where a finding came from.
#[derive(Default)]
struct Origin<'a> {
    api_id: Option<&'a str>,
    stage: Option<&'a str>,
    event_id: Option<&'a str>,
    timestamp: Option<i64>,
    account_id: Option<&'a str>,
}

/// How the text reached the scan: a whole event as CloudWatch Logs delivered it, or a line of a
/// saved file, which may be the inside of a logged body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Event,
    Line,
}

/// What is left of a message that holds a needle but no failure of API Gateway's: a token inside
/// a logged header or body (after API Gateway's `(id) ` prefix) is a client's and ignored; a whole
/// event without the prefix is no execution-log event at all, such as an access-log line in a
/// group named as an execution log, and is unmatched so it is counted, never clean.
fn leftover(message: &str, unit: Unit) -> LineVerdict {
    if unit == Unit::Event && !message.starts_with('(') {
        LineVerdict::Unmatched
    } else {
        LineVerdict::Ignored
    }
}

fn verdict(message: &str, origin: &Origin, unit: Unit) -> LineVerdict {
    let mut status = None;
    let (request_id, cause, error) = match read(message) {
        Line::Failed { request_id, reason } => (request_id, classify(reason), reason),
        Line::Exception { request_id } => (request_id, Cause::Unknown, EXCEPTION),
        Line::GatewayResponse {
            request_id,
            token,
            status: code,
        } => {
            status = Some(code);
            let cause = if token == FAILURE_TOKEN {
                Cause::AuthorizerFailure
            } else {
                Cause::Unknown
            };
            (request_id, cause, token)
        }
        Line::Quoted => return leftover(message, unit),
        Line::Other if crate::model::tokens::ACCESS_NEEDLES.is_in(message.as_bytes()) => {
            return leftover(message, unit);
        }
        Line::Other => return LineVerdict::Clean,
    };
    let time = origin.timestamp.map(format_millis);
    let mut finding = Finding::new(
        cause,
        FindingText {
            request_id: Some(request_id),
            time: time.as_deref(),
            error,
            api_id: origin.api_id,
            stage: origin.stage,
            event_id: origin.event_id,
            account_id: origin.account_id,
            ..FindingText::default()
        },
    );
    finding.timestamp = origin.timestamp;
    finding.status = status;
    LineVerdict::Flagged(finding)
}

/// Scans a batch of an execution-log group into `scan`, with the group, stream and owner
/// [`crate::detect::scan_batch`] already read from it.
pub(crate) fn scan_events(
    batch: &LogBatch,
    log_group: Option<Arc<str>>,
    log_stream: Option<Arc<str>>,
    account_id: Option<&str>,
    scan: &mut Scan,
) {
    let (api_id, stage) = group_place(&batch.log_group).unzip();
    let mut text = String::new();
    scan.lines += batch.omitted_events;
    for event in &batch.log_events {
        if !event
            .message
            .escaped_contains(&crate::model::tokens::CANDIDATE_NEEDLES)
        {
            scan.lines += 1;
            continue;
        }
        let origin = Origin {
            api_id,
            stage,
            event_id: Some(&*event.id).filter(|id| !id.is_empty()),
            timestamp: Some(event.timestamp),
            account_id,
        };
        let line = event.message.read(&mut text);
        let mut verdict = verdict(line, &origin, Unit::Event);
        if let LineVerdict::Flagged(f) = &mut verdict {
            f.log_group = log_group.clone();
            f.log_stream = log_stream.clone();
        }
        scan.add(verdict, line);
    }
    authorizer_findings(scan);
}

/// Scans an execution log saved as text, one event per line. A saved file has lost where events
/// ended, so a logged body's line breaks can no longer be told from API Gateway's own.
pub fn scan_text(text: &str) -> Scan {
    let mut scan = Scan::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut verdict = verdict(line, &Origin::default(), Unit::Line);
        if let LineVerdict::Flagged(f) = &mut verdict {
            f.verified = false;
        }
        scan.add(verdict, line);
    }
    authorizer_findings(&mut scan);
    scan
}

/// Reasons only an authorizer gives: a policy or an authorizer's response API Gateway could not
/// read, or its generic `Authorizer error`. The others ("Invalid permissions on Lambda function")
/// read the same when API Gateway cannot invoke a Lambda *integration*, and "Malformed Lambda proxy
/// response" is an integration's alone.
const AUTHORIZER_REASONS: [&str; 4] = [
    "Authorizer error",
    "Could not parse policy",
    "Invalid JSON in response",
    "Unable to parse given polic",
];

fn names_an_authorizer(reason: &str) -> bool {
    AUTHORIZER_REASONS.iter().any(|r| reason.starts_with(r))
}

/// Whether a finding is a closing line: the error the client got, not a reason.
fn is_closing(f: &Finding) -> bool {
    [EXCEPTION, TOKEN, FAILURE_TOKEN].contains(&f.error())
}

/// How much a line of a failed request says, to pick the one its finding shows: a reason over
/// the closing line, and a cause of its own over none (`Authorizer error`, which follows a missing
/// invoke permission as well as a function that failed, names none).
fn rank(f: &Finding) -> u8 {
    2 * u8::from(!is_closing(f)) + u8::from(f.cause != Cause::Unknown)
}

/// Keeps the authorizer's failures, one per request. API Gateway follows an authorizer's failure
/// with a closing line for the same request, naming the error the client got
/// (`AuthorizerConfigurationException`, or a gateway response of either token). A request is an
/// authorizer's when that line is in the batch or one of its reasons is an authorizer's own; its
/// finding is the line that says most ([`rank`]: `Invalid permissions on Lambda function` over the
/// `Authorizer error` logged with it, in either order), with the status and, when it names no
/// cause, the cause the closing line gives. A closing line whose reasons are not in the batch is
/// the request's finding, so a reason delivered in another batch loses no alert; and a reason that
/// says nothing specific claims no cause, so the two halves of a request never name different ones.
fn authorizer_findings(scan: &mut Scan) {
    use std::collections::hash_map::Entry;
    use std::collections::{HashMap, HashSet};
    let mut closed: HashMap<&str, (Option<u16>, Cause)> = HashMap::new();
    for f in scan.findings.iter().filter(|f| is_closing(f)) {
        if let Some(id) = f.request_id() {
            let (status, cause) = closed.entry(id).or_insert((None, Cause::Unknown));
            *status = status.or(f.status);
            if *cause == Cause::Unknown {
                *cause = f.cause;
            }
        }
    }
    let authorizers: HashSet<&str> = scan
        .findings
        .iter()
        .filter(|f| is_closing(f) || names_an_authorizer(f.error()))
        .filter_map(Finding::request_id)
        .collect();
    // Per request of an authorizer, the index of its line that says most; the first on a tie.
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (i, f) in scan.findings.iter().enumerate() {
        let Some(id) = f.request_id().filter(|id| authorizers.contains(id)) else {
            tracing::debug!(request_id = ?f.request_id(), "a configuration error of no authorizer");
            continue;
        };
        match best.entry(id) {
            Entry::Vacant(e) => {
                e.insert(i);
            }
            Entry::Occupied(mut e) => {
                if rank(f) > rank(&scan.findings[*e.get()]) {
                    e.insert(i);
                }
            }
        }
    }
    let folds: HashMap<usize, (Option<u16>, Cause)> = best
        .iter()
        .map(|(id, &i)| (i, closed.get(id).copied().unwrap_or((None, Cause::Unknown))))
        .collect();
    let mut index = 0;
    scan.findings.retain_mut(|f| {
        let fold = folds.get(&index);
        index += 1;
        let Some(&(status, cause)) = fold else {
            return false;
        };
        f.status = f.status.or(status);
        if f.cause == Cause::Unknown {
            f.cause = cause;
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f";
    /// A WebSocket API's request id, as its execution log prefixes lines.
    const WS: &str = "PDS1PEC4oAMFpyA=";

    #[test]
    fn lines_table() {
        let failed = |reason: &str| format!("({ID}) {FAILED}{reason}");
        let cases: Vec<(String, Line)> = vec![
            (
                failed("Invalid permissions on Lambda function"),
                Line::Failed {
                    request_id: ID,
                    reason: "Invalid permissions on Lambda function",
                },
            ),
            (
                format!("{}\n", failed("Authorizer error")),
                Line::Failed {
                    request_id: ID,
                    reason: "Authorizer error",
                },
            ),
            (
                format!("({ID}) {EXCEPTION}"),
                Line::Exception { request_id: ID },
            ),
            (
                format!("({ID}) Method completed with status: 500"),
                Line::Other,
            ),
            // A client's header, logged by full request logging.
            (
                format!(
                    "({ID}) Method request headers: {{X-A={FAILED}Invalid permissions on Lambda function}}"
                ),
                Line::Quoted,
            ),
            // A body with a line break of its own: one event, several lines.
            (
                format!(
                    "({ID}) Method request body before transformations: x\n({ID}) {FAILED}Could not parse policy"
                ),
                Line::Quoted,
            ),
            (format!("{FAILED}Authorizer error"), Line::Quoted),
            (format!("(a b) {FAILED}Authorizer error"), Line::Quoted),
            // A client's own request id carrying a whole failure into the prefix.
            (
                format!("(x) {FAILED}Authorizer error) Starting execution for request: x"),
                Line::Quoted,
            ),
            (
                format!("(6F1C1B2E-3D4A-4B5C-8D9E-0A1B2C3D4E5F) {FAILED}Authorizer error"),
                Line::Failed {
                    request_id: "6F1C1B2E-3D4A-4B5C-8D9E-0A1B2C3D4E5F",
                    reason: "Authorizer error",
                },
            ),
            (
                format!("(6f1c1b2e3d4a4b5c8d9e0a1b2c3d4e5f0000) {FAILED}Authorizer error"),
                Line::Quoted,
            ),
            (format!("({ID}) {FAILED}"), Line::Quoted),
            (format!("({ID}) {FAILED}{}", "x".repeat(600)), Line::Quoted),
            (format!("({ID}) {EXCEPTION} and more"), Line::Quoted),
            // A WebSocket API's id and closing line.
            (
                format!("({WS}) {FAILED}Invalid permissions on Lambda function"),
                Line::Failed {
                    request_id: WS,
                    reason: "Invalid permissions on Lambda function",
                },
            ),
            (
                format!(
                    "({WS}) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500"
                ),
                Line::GatewayResponse {
                    request_id: WS,
                    token: crate::model::tokens::TOKEN,
                    status: 500,
                },
            ),
            (
                format!("({ID}) Gateway response type: AUTHORIZER_FAILURE with status code: 503"),
                Line::GatewayResponse {
                    request_id: ID,
                    token: FAILURE_TOKEN,
                    status: 503,
                },
            ),
            // Other gateway responses are not an authorizer's; a changed shape is not API Gateway's.
            (
                format!("({WS}) Gateway response type: UNAUTHORIZED with status code: 401"),
                Line::Quoted,
            ),
            (
                format!(
                    "({WS}) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500 x"
                ),
                Line::Quoted,
            ),
            (
                format!(
                    "({WS}) Gateway response type: AUTHORIZER_CONFIGURATION_ERRORS with status code: 500"
                ),
                Line::Quoted,
            ),
            // Ids of neither shape: too short, a space, a parenthesis, no `=`.
            (
                format!("(PDS1PEC4oAMFpy=) {FAILED}Authorizer error"),
                Line::Quoted,
            ),
            (
                format!("(PDS1PEC4 AMFpyA=) {FAILED}Authorizer error"),
                Line::Quoted,
            ),
            (
                format!("(PDS1PEC4oAMFpyAA) {FAILED}Authorizer error"),
                Line::Quoted,
            ),
            (
                format!("(PDS1PEC4o)AMFpyA=) {FAILED}Authorizer error"),
                Line::Quoted,
            ),
        ];
        for (message, want) in cases {
            assert_eq!(read(&message), want, "{message:?}");
        }
    }

    #[test]
    fn reasons_name_their_causes_and_one_request_is_one_finding() {
        // An authorizer's reason counts beside its AuthorizerConfigurationException, or alone when
        // only an authorizer writes it.
        let other = "0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e";
        let log = format!(
            "({ID}) Starting execution for request: {ID}\n\
             ({ID}) {FAILED}Invalid permissions on Lambda function\n\
             ({ID}) {EXCEPTION}\n\
             ({other}) {FAILED}Could not parse policy\n\
             ({other}) {EXCEPTION}\n\
             (1b1b1b1b-0000-0000-0000-000000000000) {FAILED}Authorizer error\n\
             (1b1b1b1b-0000-0000-0000-000000000000) {FAILED}Authorizer error\n\
             (2c2c2c2c-0000-0000-0000-000000000000) {EXCEPTION}\n\
             (3d3d3d3d-0000-0000-0000-000000000000) {FAILED}Invalid permissions on Lambda function\n\
             (4e4e4e4e-0000-0000-0000-000000000000) {FAILED}Malformed Lambda proxy response\n"
        );
        assert!(looks_like_execution_log(&log));
        let scan = crate::detect::scan_text(&log, &crate::detect::access_log::LogFormat::guess());
        let got: Vec<(Option<&str>, Cause)> = scan
            .findings
            .iter()
            .map(|f| (f.request_id(), f.cause))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(ID), Cause::MissingInvokePermission),
                (Some(other), Cause::InvalidResponseFormat),
                // The generic reason alone says that the authorizer failed, not why.
                (Some("1b1b1b1b-0000-0000-0000-000000000000"), Cause::Unknown),
                (Some("2c2c2c2c-0000-0000-0000-000000000000"), Cause::Unknown),
            ]
        );
        // The last two are a Lambda integration's failures, not an authorizer's; a line repeated
        // for one request is one finding.
        assert_eq!(scan.lines, 10);
    }

    /// A WebSocket `$connect` whose authorizer function lacks the invoke permission, as the
    /// crosscut.io post quotes it; a REST authorizer that crashed (the function's error object
    /// parsed as a policy); a gateway response whose reason came in another batch; an integration's
    /// failure with no closing line.
    #[test]
    fn websocket_and_crashed_authorizers() {
        let log = format!(
            "({WS}) Execution failed due to configuration error: Invalid permissions on Lambda function\n\
             ({WS}) Execution failed due to configuration error: Authorizer error\n\
             ({WS}) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500\n\
             ({ID}) Authorizer result body before parsing: {{\"errorType\":\"Runtime.ImportModuleError\",\"errorMessage\":\"Error: Cannot find module\"}}\n\
             ({ID}) Execution failed due to configuration error: Invalid JSON in response: Unrecognized field \"errorType\" , not marked as ignorable\n\
             ({ID}) AuthorizerConfigurationException\n\
             (Qx9aBc2dIAMEbZw=) Gateway response type: AUTHORIZER_FAILURE with status code: 500\n\
             (Rz0bCd3eIAMEbXy=) Execution failed due to configuration error: Invalid permissions on Lambda function\n"
        );
        assert!(looks_like_execution_log(&log));
        let scan = crate::detect::scan_text(&log, &crate::detect::access_log::LogFormat::guess());
        let got: Vec<(Option<&str>, Cause, Option<u16>)> = scan
            .findings
            .iter()
            .map(|f| (f.request_id(), f.cause, f.status))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(WS), Cause::MissingInvokePermission, Some(500)),
                (Some(ID), Cause::AuthorizerFailure, None),
                (
                    Some("Qx9aBc2dIAMEbZw="),
                    Cause::AuthorizerFailure,
                    Some(500)
                ),
            ]
        );
        assert_eq!((scan.lines, scan.ignored, scan.unmatched), (8, 0, 0));
    }

    /// A request's most specific reason wins over the generic `Authorizer error`, in whatever
    /// order they come, with or without the closing line; a reason only an authorizer gives counts
    /// alone.
    #[test]
    fn the_most_specific_reason_of_a_request_wins() {
        let reason = |id: &str, r: &str| format!("({id}) {FAILED}{r}");
        let generic = |id: &str| reason(id, "Authorizer error");
        let perm = |id: &str| reason(id, "Invalid permissions on Lambda function");
        let role = |id: &str| {
            reason(
                id,
                "API Gateway does not have permission to assume the provided role arn:aws:iam::123456789012:role/invoke",
            )
        };
        let closing = |id: &str| format!("({id}) {EXCEPTION}");
        let ws_closing = |id: &str| {
            format!(
                "({id}) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500"
            )
        };
        let cases: Vec<(&str, Vec<String>, Vec<Cause>)> = vec![
            (
                "generic first",
                vec![generic(ID), perm(ID), closing(ID)],
                vec![Cause::MissingInvokePermission],
            ),
            (
                "generic last",
                vec![perm(ID), generic(ID), closing(ID)],
                vec![Cause::MissingInvokePermission],
            ),
            (
                "no closing line: the generic reason says it is an authorizer's",
                vec![generic(ID), perm(ID)],
                vec![Cause::MissingInvokePermission],
            ),
            (
                "an invoke role API Gateway may not assume",
                vec![generic(WS), role(WS), ws_closing(WS)],
                vec![Cause::MissingInvokePermission],
            ),
            (
                "the generic reason alone",
                vec![generic(ID), closing(ID)],
                vec![Cause::Unknown],
            ),
            (
                "the generic reason, then AUTHORIZER_FAILURE",
                vec![
                    generic(WS),
                    format!(
                        "({WS}) Gateway response type: AUTHORIZER_FAILURE with status code: 500"
                    ),
                ],
                vec![Cause::AuthorizerFailure],
            ),
            (
                "both closing lines, the second naming AUTHORIZER_FAILURE",
                vec![
                    closing(ID),
                    format!(
                        "({ID}) Gateway response type: AUTHORIZER_FAILURE with status code: 500"
                    ),
                ],
                vec![Cause::AuthorizerFailure],
            ),
            (
                "a response API Gateway could not read, alone",
                vec![reason(
                    ID,
                    "Invalid JSON in response: Can not deserialize instance of java.lang.String out of START_ARRAY token",
                )],
                vec![Cause::InvalidResponseFormat],
            ),
            (
                "Lambda's error object where a response should be",
                vec![
                    generic(ID),
                    reason(
                        ID,
                        "Invalid JSON in response: Unrecognized field \"errorType\" , not marked as ignorable",
                    ),
                ],
                vec![Cause::AuthorizerFailure],
            ),
        ];
        for (name, lines, want) in cases {
            let scan = crate::detect::scan_text(
                &lines.join("\n"),
                &crate::detect::access_log::LogFormat::guess(),
            );
            let got: Vec<Cause> = scan.findings.iter().map(|f| f.cause).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    /// One request's lines delivered in two batches, cut anywhere: the two halves never name
    /// different causes, and the specific one, when either half has it, is the one named.
    #[test]
    fn a_request_split_across_batches_never_names_two_causes() {
        let requests: [(&str, [String; 3]); 3] = [
            (
                "a REST API whose authorizer lacks the invoke permission (serverless/serverless#1784)",
                [
                    format!("({ID}) {FAILED}Invalid permissions on Lambda function"),
                    format!("({ID}) {FAILED}Authorizer error"),
                    format!("({ID}) {EXCEPTION}"),
                ],
            ),
            (
                "a WebSocket $connect, as the crosscut.io post quotes it",
                [
                    format!("({WS}) {FAILED}Invalid permissions on Lambda function"),
                    format!("({WS}) {FAILED}Authorizer error"),
                    format!(
                        "({WS}) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 500"
                    ),
                ],
            ),
            (
                "the generic reason first",
                [
                    format!("({ID}) {FAILED}Authorizer error"),
                    format!("({ID}) {FAILED}Could not parse policy"),
                    format!("({ID}) {EXCEPTION}"),
                ],
            ),
        ];
        let format = crate::detect::access_log::LogFormat::guess();
        for (name, lines) in &requests {
            for cut in 0..=lines.len() {
                let (a, b) = lines.split_at(cut);
                let causes: Vec<Cause> = [a, b]
                    .iter()
                    .flat_map(|half| crate::detect::scan_text(&half.join("\n"), &format).findings)
                    .map(|f| f.cause)
                    .filter(|c| *c != Cause::Unknown)
                    .collect();
                assert!(
                    causes.windows(2).all(|w| w[0] == w[1]),
                    "{name}, cut at {cut}: {causes:?}"
                );
            }
        }
    }

    #[test]
    fn group_names() {
        assert_eq!(
            group_place("API-Gateway-Execution-Logs_a1b2c3d4e5/prod"),
            Some(("a1b2c3d4e5", "prod"))
        );
        for not in [
            "/aws/vendedlogs/apigateway/a",
            "API-Gateway-Execution-Logs_a1b2c3d4e5",
            "API-Gateway-Execution-Logs_a1b2c3d4e5/",
            "API-Gateway-Execution-Logs_A\"B/prod",
            "x-API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
        ] {
            assert!(group_place(not).is_none(), "{not}");
        }
    }

    #[test]
    fn access_logs_are_not_execution_logs() {
        assert!(!looks_like_execution_log(
            "203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] \"GET / HTTP/1.1\" 500 35 r AUTHORIZER_CONFIGURATION_ERROR"
        ));
        assert!(!looks_like_execution_log(&format!(
            "({ID}) {EXCEPTION}\n203.0.113.9 - x"
        )));
        assert!(!looks_like_execution_log("\n\n"));
        // A saved event of several lines is still an execution log.
        assert!(looks_like_execution_log(&format!(
            "({ID}) Method request body before transformations: a\nb\n({ID}) {EXCEPTION}\n({ID}) x"
        )));
    }
}
