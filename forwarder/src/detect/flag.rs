//! Every way of reading a line makes its finding alike: the cause, what API Gateway wrote, and
//! the fields of the line and of the event around it.

use crate::detect::access_log::Fields;
use crate::model::cause::{Cause, classify, classify_failure};
use crate::model::finding::{Finding, FindingText, LineVerdict, format_millis};
use crate::model::tokens::FAILURE_TOKEN;

/// What the log event around a line adds to its finding.
#[derive(Default)]
pub(super) struct Origin<'a> {
    pub(super) event_id: Option<&'a str>,
    pub(super) timestamp: Option<i64>,
    /// The batch's owner, when it is an account id.
    pub(super) account_id: Option<&'a str>,
}

/// The cause a token and the reason beside it name.
fn cause_of(token: &str, reason: &str) -> Cause {
    if token == FAILURE_TOKEN {
        classify_failure(reason)
    } else {
        classify(reason)
    }
}

/// A line flagged by a failure message: `value` is what API Gateway wrote, from the message on. Its
/// cause is the message's, unless the rest of the value shows Lambda's error object (a function
/// that crashed).
pub(super) fn flagged_message(
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

/// A flagged line: `error` is the reason beside `token`; when API Gateway wrote the token alone,
/// the token is what the alert shows it wrote.
pub(super) fn flagged(fields: &Fields, token: &str, error: &str, origin: &Origin) -> LineVerdict {
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
