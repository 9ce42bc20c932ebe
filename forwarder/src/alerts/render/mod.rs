//! Rendering the SNS message for each group.
//!
//! One message per (log group, cause) and invocation, published with `MessageStructure=json`
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html>):
//! `email` gets plain text, `https` gets a custom notification of Amazon Q Developer in chat
//! applications, formerly AWS Chatbot
//! (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>), and `default`,
//! `sqs` and `lambda` get the machine-readable group.

mod alert;
mod chat;
mod email;
mod json;
mod limits;
mod links;
mod overflow;
mod recovered;
mod subject;
mod view;

pub use alert::{Alert, Attributes, MAX_ATTRIBUTE_BYTES, MAX_MESSAGE_BYTES};
pub use email::diagnosis_text;
pub use links::{console_url, thread_id};
pub use overflow::{
    CauseCount, MAX_ALERTS, OVERFLOW_CAUSE_CODE, Overflow, overflow, render_overflow,
};
pub use recovered::{render_recovered, render_recovered_because};
pub use subject::{MAX_SUBJECT_CHARS, subject};

pub(crate) use alert::attribute;
pub(crate) use chat::mentioned;
pub(crate) use limits::bounded_diagnosis;
pub(crate) use links::fnv1a;
pub(crate) use subject::{fit_subject, label};

use crate::alerts::group::{Drift, Group, Limits, START_LIMITS};
use crate::config::Config;
use crate::detect::LogKind;
use crate::diagnose::{ApiKind, Diagnosis};
use crate::model::cause::{ApiFamily, Place, Severity, remedy};
use crate::text::escape::json_safe;

use chat::chat_json;
use email::email_text;
use json::machine_json;
use limits::{BARE_LIMITS, FLOOR_LIMITS, trim_diagnosis, trim_suppressed};
use view::{View, status_view};

/// Renders one alert per group, for the first [`MAX_ALERTS`] groups, and one that summarises the
/// rest when there are more.
pub fn render_all(groups: &[Group], config: &Config) -> Vec<Alert> {
    let (shown, left) = groups.split_at(groups.len().min(MAX_ALERTS));
    let mut alerts: Vec<Alert> = shown.iter().map(|g| render(g, config)).collect();
    alerts.extend(overflow(left).map(|o| render_overflow(&o, config)));
    alerts
}

/// The family the commands are for: what the live API said when it was read, else an execution
/// log's request ids say (UUIDs on a REST API, `PDS1PEC4oAMFpyA=` on a WebSocket API); an access
/// log does not say.
fn family_of(group: &Group) -> ApiFamily {
    if let Some(Diagnosis::Checked { api_kind, .. }) = &group.diagnosis {
        return match api_kind {
            ApiKind::Rest => ApiFamily::Rest,
            ApiKind::Http | ApiKind::WebSocket => ApiFamily::V2,
        };
    }
    match group.log_group.as_deref().map(LogKind::of_group) {
        Some(LogKind::Execution) => match group.sample_request_ids.first() {
            Some(id) if crate::detect::execution_log::is_websocket_request_id(id) => ApiFamily::V2,
            _ => ApiFamily::Rest,
        },
        _ => ApiFamily::Unknown,
    }
}

/// Renders a group, trimming what came from the log until the message fits SNS's limit: samples
/// are dropped and texts shortened, never JSON cut.
pub fn render(group: &Group, config: &Config) -> Alert {
    let mut limits = START_LIMITS;
    loop {
        let alert = render_with(group, config, limits);
        if alert.fits() {
            return alert;
        }
        if limits == FLOOR_LIMITS {
            break;
        }
        limits = limits.halved(group.sample_request_ids.len());
    }
    // At the floor every text is 64 bytes and every list one item long, which no escaping can
    // blow up to 256 KiB; the bare form is there so the bound does not rest on that arithmetic.
    let alert = render_with(group, config, BARE_LIMITS);
    debug_assert!(alert.fits(), "{} bytes", alert.publish_bytes());
    alert
}

/// A group's severity as configured, but never above a warning when none of its lines was read by
/// the stage's format or a whole event's bounds: a client could have written every one.
fn severity_of(group: &Group, config: &Config) -> Severity {
    let severity = config.severity(group.cause);
    if group.count > 0 && group.unverified == group.count {
        severity.min(Severity::Warning)
    } else {
        severity
    }
}

fn render_with(group: &Group, config: &Config, limits: Limits) -> Alert {
    let cut = |list: &[String], n: usize| -> Vec<String> {
        list.iter()
            .take(n)
            .map(|s| limits.cut(s).into_owned())
            .collect()
    };
    let cut_one = |s: &Option<String>| s.as_deref().map(|s| limits.cut(s).into_owned());
    // The remedy checks each value's shape itself; an oversized one has none.
    let place = Place {
        region: config.region.clone(),
        account_id: group.account_id.clone(),
        api_id: group.api_ids.first().cloned(),
        family: family_of(group),
    };
    let samples = cut(&group.sample_request_ids, limits.samples);
    let view = View {
        group,
        severity: severity_of(group, config),
        label: label(config),
        region: cut_one(&config.region),
        log_group: cut_one(&group.log_group),
        first_seen: cut_one(&group.first_seen),
        last_seen: cut_one(&group.last_seen),
        account_id: cut_one(&group.account_id),
        api_ids: cut(&group.api_ids, limits.items),
        stages: cut(&group.stages, limits.items),
        omitted_samples: group.sample_request_ids.len() - samples.len(),
        statuses: status_view(group, limits.items.max(1)),
        samples,
        errors: cut(&group.errors, limits.errors),
        routes: cut(&group.routes, limits.routes),
        diagnosis: group
            .diagnosis
            .as_ref()
            .filter(|_| limits.items > 0)
            .map(|d| trim_diagnosis(d, limits)),
        suppressed_before: group
            .suppressed_before
            .as_ref()
            .map(|p| trim_suppressed(p, limits.items, limits.text_bytes)),
        remedy: remedy(group.cause, &place, config.language),
        drift: group.drift.as_ref().map(|d| Drift {
            with_token: d.with_token,
            format: limits.cut(&d.format).into_owned(),
        }),
        console_url: console_url(config.region.as_deref(), group.log_group.as_deref()),
    };
    let subject = subject(group, view.label.as_deref());
    let email = email_text(&view, config.language);
    Alert {
        attributes: Attributes {
            cause: group.cause.code().to_owned(),
            log_group: group.log_group.as_deref().map(attribute),
            severity: view.severity.code().to_owned(),
        },
        machine: json_safe(&machine_json(&view, &subject, &email).to_string()).into_owned(),
        email,
        chat: chat_json(&view, config, &subject).to_string(),
        subject,
    }
}

#[cfg(test)]
mod tests;
