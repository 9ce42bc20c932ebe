//! The alert a check sends: the same topic, attributes, thread and severities as a traffic alert
//! (see [`crate::alerts::render`]), saying that no request has failed yet and what set the check off.

use serde_json::json;

use super::check::{Checked, Trigger};
use crate::alerts::group::Group;
use crate::alerts::render::{self, Alert, Attributes};
use crate::config::Config;
use crate::diagnose::Diagnosis;
use crate::text::escape::{chat_text, json_safe, truncate, visible};

/// What the subject ends with, in place of a traffic alert's count.
const SUBJECT_TAIL: &str = " (before traffic)";

/// The sentence naming what set the check off, from what AWS wrote.
pub fn trigger_text(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Deployment {
            stack_name,
            status,
            time,
            ..
        } => format!(
            "stack {} finished {}{}",
            visible(stack_name),
            visible(status),
            time.as_deref()
                .map(|t| format!(" at {}", visible(t)))
                .unwrap_or_default()
        ),
        Trigger::ApiChange { calls, by } => {
            let who = if by.is_empty() {
                String::new()
            } else {
                format!(" by {}", visible(&by.join(", ")))
            };
            format!(
                "{} outside CloudFormation (CloudTrail){who}",
                visible(&calls.join(", "))
            )
        }
        Trigger::Sweep => "the scheduled sweep".to_owned(),
    }
}

/// The alert for a problem a check found. `group` is the problem as flood control keyed it.
pub fn found(group: &Group, checked: &Checked, trigger: &Trigger, config: &Config) -> Alert {
    let lang = config.language;
    let cause = group.cause;
    let severity = config.severity(cause);
    let label = render::label(config);
    let subject = render::fit_subject(
        label.as_deref(),
        cause.subject_lead(),
        cause.subject_words(),
        SUBJECT_TAIL,
    );
    let diagnosis = render::bounded_diagnosis(&checked.diagnosis());
    let commands: Vec<String> = diagnosis
        .commands()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let account = group.account_id.as_deref().unwrap_or("-");
    let region = config.region.as_deref().unwrap_or("-");
    let name = checked
        .name
        .as_deref()
        .map(|n| format!(" ({})", visible(&truncate(n, 128))))
        .unwrap_or_default();
    let mut text = format!(
        "{}\n\nFound by a check before traffic: {}. No request has failed yet; every request the broken authorizer handles will.\n\n{} {}{name}, account {}, Region {}\n\n",
        cause.title(lang),
        trigger_text(trigger),
        checked.api_kind.label(),
        visible(&checked.api_id),
        visible(account),
        visible(region),
    );
    text.push_str(&render::diagnosis_text(&diagnosis));
    if !commands.is_empty() {
        text.push_str("\nFix:\n");
        for c in &commands {
            text.push_str(&format!("  {c}\n"));
        }
    }
    text.push_str(&format!(
        "\n{}\n\nCode: {}\n",
        cause.explanation(lang),
        cause.code()
    ));
    let thread = render::thread_id(&crate::alerts::flood::key(group));
    let description = render::mentioned(config, severity, chat_text(&text));
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{thread}#check-{}", trigger_id(trigger)),
        "content": {
            "textType": "client-markdown",
            "title": format!(":rotating_light: {}", chat_text(&subject)),
            "description": description,
            "nextSteps": commands.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>(),
        },
        "metadata": {
            "threadId": thread,
            "summary": subject,
            "eventType": "AuthorizerConfigurationFoundBeforeTraffic",
        },
    });
    let machine = json!({
        "type": "authorizer_configuration_found",
        "subject": subject,
        "label": label,
        "cause": cause,
        "severity": severity,
        "found_by": trigger,
        "account_id": group.account_id,
        "region": config.region,
        "api_id": checked.api_id,
        "api_kind": checked.api_kind,
        "diagnosis": diagnosis,
        "commands": commands,
        "text": text,
    });
    Alert {
        attributes: Attributes {
            cause: cause.code().to_owned(),
            log_group: None,
            severity: severity.code().to_owned(),
        },
        machine: json_safe(&machine.to_string()).into_owned(),
        email: text,
        chat: chat.to_string(),
        subject,
    }
}

/// What a fixed note says instead of "no request has failed since".
pub fn fixed_text(checked: &Checked, trigger: &Trigger) -> String {
    format!(
        "A check after {} found {} {} working: {}.",
        trigger_text(trigger),
        checked.api_kind.label(),
        checked.api_id,
        match &checked.diagnosis() {
            Diagnosis::Checked { authorizers, .. } if authorizers.is_empty() => {
                "no route uses a Lambda authorizer any more".to_owned()
            }
            _ => "each Lambda authorizer passed what proves this cause gone".to_owned(),
        }
    )
}

/// A short stable id of a trigger, for chat notification ids.
fn trigger_id(trigger: &Trigger) -> String {
    let text = serde_json::to_string(trigger).unwrap_or_default();
    format!("{:016x}", render::fnv1a(text.as_bytes()))
}
