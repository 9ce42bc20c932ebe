//! The plain text for people: the `email` body, also carried in the machine JSON.

use crate::diagnose::Diagnosis;
use crate::model::language::Language;
use crate::text::escape::visible;

use super::view::{View, commands, failed_text, suppressed_text, unmatched_text, when, words};

pub(super) fn email_text(view: &View, lang: Language) -> String {
    let g = view.group;
    let w = words(lang);
    let mut t = String::new();
    let line = |t: &mut String, k: &str, v: &str| t.push_str(&format!("{k}: {v}\n"));
    t.push_str(g.cause.title(lang));
    t.push_str("\n\n");
    t.push_str(g.cause.explanation(lang));
    t.push_str("\n\n");
    match &view.drift {
        Some(d) => {
            line(&mut t, w.unmatched, &unmatched_text(g.count, d, lang));
            line(&mut t, w.format, &visible(&d.format));
        }
        None => {
            t.push_str(&failed_text(g.count, &view.statuses, lang));
            t.push('\n');
            line(&mut t, w.when, &when(view));
        }
    }
    if g.unverified > 0 {
        line(
            &mut t,
            w.unverified,
            &format!("{} / {}: {}", g.unverified, g.count, w.unverified_text),
        );
    }
    if let Some(p) = &view.suppressed_before {
        line(&mut t, w.since_last, &suppressed_text(p, lang));
    }
    if let Some(lg) = &view.log_group {
        line(&mut t, w.log_group, &visible(lg));
    }
    if !view.api_ids.is_empty() {
        let stages = if view.stages.is_empty() {
            String::new()
        } else {
            format!(" ({})", visible(&view.stages.join(", ")))
        };
        line(
            &mut t,
            w.api,
            &format!("{}{stages}", visible(&view.api_ids.join(", "))),
        );
    }
    if !view.routes.is_empty() {
        line(&mut t, w.routes, &visible(&view.routes.join(", ")));
    }
    if !view.samples.is_empty() {
        let mut ids = visible(&view.samples.join(", ")).into_owned();
        if view.omitted_samples > 0 {
            ids.push_str(&format!(" (+{} {})", view.omitted_samples, w.more));
        }
        line(&mut t, w.samples, &ids);
    }
    let error_label = w.error_label(view);
    t.push_str(&format!("\n{error_label}:\n"));
    for e in &view.errors {
        t.push_str(&format!(
            "  {}\n",
            visible(if e.is_empty() { "-" } else { e })
        ));
    }
    if let Some(d) = &view.diagnosis {
        t.push('\n');
        t.push_str(&diagnosis_text(d));
    }
    t.push_str(&format!("\n{}:\n", w.fix));
    for (i, step) in view.remedy.steps.iter().enumerate() {
        t.push_str(&format!("  {}. {step}\n", i + 1));
    }
    let commands = commands(view);
    if !commands.is_empty() {
        t.push_str(&format!("\n{}:\n", w.command));
        for cmd in commands {
            t.push_str(&format!("  {}\n", visible(cmd)));
        }
    }
    if let Some(url) = &view.console_url {
        t.push_str(&format!("\n{}: {url}\n", w.console));
    }
    t.push_str(&format!("\n{}: {}\n", w.code, g.cause.code()));
    t
}

/// The diagnosis for people, in English: it quotes the API's own names and AWS's own errors.
pub fn diagnosis_text(d: &Diagnosis) -> String {
    match d {
        Diagnosis::Unavailable { reason } => {
            format!("Diagnosis unavailable: {}\n", visible(reason))
        }
        Diagnosis::Checked {
            api_id,
            api_kind,
            authorizers,
        } if authorizers.is_empty() => format!(
            "Diagnosis ({} {}, live configuration): the routes checked use no Lambda authorizer (a JWT, Cognito or IAM authorizer, or none).\n",
            api_kind.title(),
            visible(api_id)
        ),
        Diagnosis::Checked {
            api_id,
            api_kind,
            authorizers,
        } => {
            let mut t = format!(
                "Diagnosis ({} {}, live configuration):\n",
                api_kind.title(),
                visible(api_id)
            );
            for a in authorizers {
                t.push_str(&format!(
                    "  route {} -> authorizer {} ({}) -> function {}\n",
                    visible(&a.routes.join(", ")),
                    visible(&a.name),
                    visible(&a.authorizer_id),
                    visible(a.function_arn.as_deref().unwrap_or("-")),
                ));
                for c in &a.checks {
                    let mark = if c.ok { "ok" } else { "PROBLEM" };
                    t.push_str(&format!("    {mark}: {}\n", visible(&c.summary)));
                }
            }
            t
        }
    }
}
