//! The `https` body: a custom notification of Amazon Q Developer in chat applications, formerly
//! AWS Chatbot (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>).

use serde_json::json;

use crate::alerts::flood;
use crate::config::Config;
use crate::diagnose::Diagnosis;
use crate::model::cause::Severity;
use crate::text::escape::{chat_block, chat_code, chat_text, visible};

use super::alert::attribute;
use super::links::{event_id, thread_id};
use super::view::{View, commands, failed_text, suppressed_text, unmatched_text, when, words};

/// A chat description led by the configured mention when `severity` reaches it.
pub(crate) fn mentioned(config: &Config, severity: Severity, description: String) -> String {
    match config.mention_for(severity) {
        Some(mention) => format!("{}\n{description}", mention.as_str()),
        None => description,
    }
}

pub(super) fn diagnosis_chat(d: &Diagnosis) -> String {
    match d {
        Diagnosis::Unavailable { reason } => {
            format!(
                "• *Diagnosis unavailable:* {}\n",
                chat_text(&visible(reason))
            )
        }
        Diagnosis::Checked {
            api_id,
            api_kind,
            authorizers,
        } => {
            let mut t = format!(
                "• *Diagnosis* ({} {}):\n",
                api_kind.title(),
                chat_code(api_id)
            );
            for a in authorizers {
                t.push_str(&format!(
                    "  {} → authorizer {} ({}) → {}\n",
                    chat_code(&a.routes.join(", ")),
                    chat_code(&a.name),
                    chat_code(&a.authorizer_id),
                    chat_code(a.function_arn.as_deref().unwrap_or("-")),
                ));
                for c in &a.checks {
                    let mark = if c.ok { ":white_check_mark:" } else { ":x:" };
                    t.push_str(&format!("    {mark} {}\n", chat_text(&visible(&c.summary))));
                }
            }
            t
        }
    }
}

pub(super) fn chat_json(view: &View, config: &Config, subject: &str) -> serde_json::Value {
    let g = view.group;
    let lang = config.language;
    let w = words(lang);
    let mut d = String::new();
    d.push_str(&format!(
        "*{}*\n{}\n",
        g.cause.title(lang),
        g.cause.explanation(lang)
    ));
    match &view.drift {
        Some(drift) => {
            d.push_str(&format!(
                "• *{}:* {}\n",
                w.unmatched,
                unmatched_text(g.count, drift, lang)
            ));
            d.push_str(&format!("• *{}:* {}\n", w.format, chat_code(&drift.format)));
        }
        None => {
            d.push_str(&format!(
                "• {}\n",
                failed_text(g.count, &view.statuses, lang)
            ));
            d.push_str(&format!("• *{}:* {}\n", w.when, chat_code(&when(view))));
        }
    }
    if g.unverified > 0 {
        d.push_str(&format!(
            "• *{}:* {} / {}: {}\n",
            w.unverified, g.unverified, g.count, w.unverified_text
        ));
    }
    if let Some(p) = &view.suppressed_before {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.since_last,
            chat_text(&suppressed_text(p, lang))
        ));
    }
    if let Some(lg) = &view.log_group {
        d.push_str(&format!("• *{}:* {}\n", w.log_group, chat_code(lg)));
    }
    if !view.api_ids.is_empty() {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.api,
            chat_code(&view.api_ids.join(", "))
        ));
    }
    if !view.routes.is_empty() {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.routes,
            chat_code(&view.routes.join(", "))
        ));
    }
    if !view.samples.is_empty() {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.samples,
            chat_code(&view.samples.join(", "))
        ));
    }
    let error_label = w.error_label(view);
    for e in &view.errors {
        d.push_str(&format!("• *{error_label}:* {}\n", chat_code(e)));
    }
    if let Some(url) = &view.console_url {
        d.push_str(&format!("<{url}|{}>\n", w.console));
    }
    if let Some(diag) = &view.diagnosis {
        d.push_str(&diagnosis_chat(diag));
    }
    let mut next_steps: Vec<String> = view.remedy.steps.iter().map(|s| chat_text(s)).collect();
    for cmd in commands(view) {
        next_steps.push(format!("{}: {}", w.command, chat_block(cmd)));
    }
    let thread = thread_id(&flood::key(g));
    let event = event_id(&thread, g);
    let description = mentioned(config, view.severity, d);
    json!({
        "version": "1.0",
        "source": "custom",
        "id": event,
        "content": {
            "textType": "client-markdown",
            "title": format!(":rotating_light: {}", chat_text(subject)),
            "description": description,
            "nextSteps": next_steps,
        },
        "metadata": {
            "threadId": thread,
            "summary": subject,
            "eventType": "AuthorizerConfigurationError",
            "additionalContext": {
                "cause": g.cause.code(),
                "count": g.count.to_string(),
                "log_group": view.log_group.as_deref().map(attribute).unwrap_or_default(),
            },
        },
    })
}
