//! The note that a problem is over, in the thread its alerts opened.

use serde_json::json;

use crate::alerts::flood::{self, Quiet, ScopeParts};
use crate::alerts::group::START_LIMITS;
use crate::config::Config;
use crate::model::cause::Severity;
use crate::model::language::Language;
use crate::text::escape::{chat_text, json_safe, truncate, visible};

use super::alert::{Alert, Attributes, MAX_ATTRIBUTE_BYTES, attribute};
use super::chat::mentioned;
use super::limits::trim_suppressed;
use super::links::thread_id;
use super::subject::{fit_subject, label};
use super::view::{suppressed_text, words};

/// The note that a problem is over: its window closed and nothing came for a whole window.
///
/// The window's scope and request ids came from logs; they are bounded here, so the note stays
/// far below SNS's limit whatever they hold.
pub fn render_recovered(q: &Quiet, config: &Config) -> Alert {
    render_recovered_because(q, config, None)
}

/// [`render_recovered`], saying why the problem is over when a check found it gone (`fixed`)
/// rather than silence.
pub fn render_recovered_because(q: &Quiet, config: &Config, fixed: Option<&str>) -> Alert {
    let lang = config.language;
    let w = words(lang);
    let label = label(config);
    let subject = fit_subject(
        label.as_deref(),
        "API authorizer recovered: ",
        q.cause.subject_words(),
        "",
    );
    let thread = thread_id(&q.key);
    let full_scope = truncate(&q.scope, MAX_ATTRIBUTE_BYTES);
    let suppressed = trim_suppressed(&q.suppressed, START_LIMITS.items, 256);
    let q = &Quiet {
        key: String::new(),
        scope: full_scope.into_owned(),
        cause: q.cause,
        last_seen: q.last_seen,
        suppressed,
        by_check: q.by_check,
    };
    let scope = match flood::scope_parts(&q.scope) {
        ScopeParts::Api {
            account: Some(account),
            api,
        } => format!("{} {api} ({} {account})", w.api, w.account),
        ScopeParts::Api { account: None, api } => format!("{} {api}", w.api),
        ScopeParts::LogGroup {
            account: Some(account),
            group,
        } => format!("{} {group} ({} {account})", w.log_group, w.account),
        ScopeParts::LogGroup {
            account: None,
            group,
        } => format!("{} {group}", w.log_group),
    };
    let last_seen = crate::model::finding::format_millis(q.last_seen.saturating_mul(1000));
    let scope = visible(&scope);
    let quiet = match (fixed, lang) {
        (Some(fixed), _) => visible(fixed).into_owned(),
        (None, Language::En) => {
            format!("No request has failed with this cause on {scope} since {last_seen}.")
        }
        (None, Language::Ja) => {
            format!("{scope} では {last_seen} 以降、この原因で失敗したリクエストはありません。")
        }
    };
    let mut text = format!("{}: {}\n\n{quiet}\n", w.recovered, q.cause.title(lang));
    if q.suppressed.failed_requests > 0 {
        text.push_str(&format!(
            "{}: {}\n",
            w.since_last,
            suppressed_text(&q.suppressed, lang)
        ));
    }
    text.push_str(&format!("\n{}: {}\n", w.code, q.cause.code()));
    let description = mentioned(config, Severity::Info, chat_text(&text));
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{thread}#recovered-{}", q.last_seen),
        "content": {
            "textType": "client-markdown",
            "title": format!(":white_check_mark: {}", chat_text(&subject)),
            "description": description,
        },
        "metadata": {
            "threadId": thread,
            "summary": subject,
            "eventType": "AuthorizerConfigurationRecovered",
        },
    });
    let mut machine = json!({
        "type": "authorizer_configuration_recovered",
        "subject": subject,
        "label": label,
        "cause": q.cause,
        "scope": q.scope,
        "last_seen": last_seen,
        "suppressed_before": q.suppressed,
        "text": text,
    });
    if let Some(fixed) = fixed {
        machine["fixed"] = visible(fixed).into_owned().into();
    }
    Alert {
        attributes: Attributes {
            cause: q.cause.code().to_owned(),
            log_group: Some(attribute(match flood::scope_parts(&q.scope) {
                ScopeParts::Api { api, .. } => api,
                ScopeParts::LogGroup { group, .. } => group,
            })),
            severity: Severity::Info.code().to_owned(),
        },
        machine: json_safe(&machine.to_string()).into_owned(),
        email: text,
        chat: chat.to_string(),
        subject,
    }
}
