//! The body for programs (`default`, `sqs`, `lambda`): the group as JSON, with the text people get.

use serde_json::json;

use crate::model::language::Language;

use super::view::View;

/// The group for programs, with the rendered text so a consumer can forward it as it is.
///
/// Log text stays as the log had it (bounded like the rest): programs match on it, and the
/// caller writes every character that could fake structure as a JSON `\uXXXX` escape
/// ([`json_safe`](crate::text::escape::json_safe)), so a parser gets the exact text and a person
/// reading the raw message sees nothing raw.
pub(super) fn machine_json(view: &View, subject: &str, text: &str) -> serde_json::Value {
    let g = view.group;
    json!({
        "type": "authorizer_configuration_error",
        "subject": subject,
        "label": view.label,
        "cause": g.cause,
        "severity": view.severity,
        "title": g.cause.title(Language::En),
        "count": g.count,
        "statuses": view.statuses.shown,
        "other_statuses": view.statuses.other,
        "first_seen": view.first_seen,
        "last_seen": view.last_seen,
        "log_group": view.log_group,
        "account_id": view.account_id,
        "region": view.region,
        "api_ids": view.api_ids,
        "stages": view.stages,
        "routes": view.routes,
        "errors": view.errors,
        "sample_request_ids": view.samples,
        "omitted_request_ids": view.omitted_samples,
        "remedy": view.remedy,
        "diagnosis": view.diagnosis,
        "suppressed_before": view.suppressed_before,
        "unverified_requests": view.group.unverified,
        "drift": view.drift,
        "console_url": view.console_url,
        "text": text,
    })
}
