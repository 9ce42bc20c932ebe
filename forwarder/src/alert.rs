//! Grouping findings and rendering the SNS message for each group.
//!
//! One message per (log group, cause) and invocation, published with `MessageStructure=json`
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html>):
//! `email` gets plain text, `https` gets an AWS Chatbot custom notification
//! (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>), and `default`,
//! `sqs` and `lambda` get the machine-readable group.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use crate::cause::{Cause, Place, Remedy, remedy};
use crate::config::is_api_id;
use crate::config::{Config, Language};
use crate::detect::Finding;
use crate::diagnose::Diagnosis;
use crate::escape::{ascii, chat_code, chat_text, truncate, visible};
use crate::flood::{Quiet, Suppressed};

/// SNS refuses larger messages (256 KiB, counted in bytes).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SNS refuses longer subjects.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// Bounds on what one alert carries from the log, lowered step by step when the message is too big.
#[derive(Clone, Copy, Debug)]
struct Limits {
    samples: usize,
    errors: usize,
    routes: usize,
    text_bytes: usize,
}

const START_LIMITS: Limits = Limits {
    samples: usize::MAX,
    errors: 10,
    routes: 20,
    text_bytes: 2000,
};

/// The findings of one invocation that share a log group and a cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    pub cause: Cause,
    pub log_group: Option<String>,
    pub count: usize,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub sample_request_ids: Vec<String>,
    /// Distinct error texts, in order of first appearance.
    pub errors: Vec<String>,
    /// Distinct routes, in order of first appearance.
    pub routes: Vec<String>,
    pub api_ids: Vec<String>,
    pub stages: Vec<String>,
    pub account_id: Option<String>,
    /// What the API's live configuration says, when the forwarder was asked to check it.
    pub diagnosis: Option<Diagnosis>,
    /// What flood control kept quiet since the last alert for this problem.
    pub suppressed_before: Option<Suppressed>,
}

/// Groups findings by (log group, cause), keeping up to `max_samples` request ids each.
pub fn group(findings: &[Finding], max_samples: usize) -> Vec<Group> {
    // Each group with its earliest and latest finding (by log timestamp, ties to the later one for
    // the latest); their times are copied once at the end, not once per finding.
    // A batch has one log group (shared by pointer) and a handful of causes, so a short list
    // searched by cause first beats a map comparing log-group names per finding.
    type Slot<'f> = (Group, &'f Finding, &'f Finding);
    let mut groups: Vec<Slot> = Vec::new();
    let same_group = |a: &Option<Arc<str>>, b: &Option<Arc<str>>| match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    };
    for f in findings {
        let at = groups
            .iter()
            .position(|(g, first, _)| {
                g.cause == f.cause && same_group(&first.log_group, &f.log_group)
            })
            .unwrap_or_else(|| {
                groups.push((
                    Group {
                        cause: f.cause,
                        log_group: f.log_group.as_deref().map(str::to_owned),
                        count: 0,
                        first_seen: None,
                        last_seen: None,
                        sample_request_ids: Vec::new(),
                        errors: Vec::new(),
                        routes: Vec::new(),
                        api_ids: Vec::new(),
                        stages: Vec::new(),
                        account_id: None,
                        diagnosis: None,
                        suppressed_before: None,
                    },
                    f,
                    f,
                ));
                groups.len() - 1
            });
        let (g, first, last) = &mut groups[at];
        g.count += 1;
        // Batches are nearly always in order, but timestamps decide when they are not.
        if let (Some(ts), Some(earliest)) = (f.timestamp, first.timestamp)
            && ts < earliest
        {
            *first = f;
        }
        match (f.timestamp, last.timestamp) {
            (Some(ts), Some(latest)) if ts < latest => {}
            _ => *last = f,
        }
        if let Some(id) = f.request_id()
            && g.sample_request_ids.len() < max_samples
            && !g.sample_request_ids.iter().any(|s| s == id)
        {
            g.sample_request_ids.push(id.to_owned());
        }
        push_distinct(&mut g.errors, f.error(), START_LIMITS.errors);
        if let Some(route) = f.route() {
            push_distinct(&mut g.routes, route, START_LIMITS.routes);
        }
        if let Some(api) = f.api_id().filter(|a| is_api_id(a)) {
            push_distinct(&mut g.api_ids, api, 10);
        }
        if let Some(stage) = f.stage() {
            push_distinct(&mut g.stages, stage, 10);
        }
        if g.account_id.is_none() {
            g.account_id = f.account_id().map(str::to_owned);
        }
    }
    groups.sort_by(|(a, _, _), (b, _, _)| (a.cause, &a.log_group).cmp(&(b.cause, &b.log_group)));
    groups
        .into_iter()
        .map(|(mut g, first, last)| {
            g.first_seen = first.time().map(str::to_owned);
            g.last_seen = last.time().map(str::to_owned);
            g
        })
        .collect()
}

fn push_distinct(list: &mut Vec<String>, value: &str, cap: usize) {
    let value = truncate(value, START_LIMITS.text_bytes);
    if list.len() < cap && !list.iter().any(|v| *v == value) {
        list.push(value.into_owned());
    }
}

/// The SNS message attributes subscribers filter on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attributes {
    pub cause: String,
    pub log_group: String,
    pub severity: String,
}

impl Attributes {
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("cause", &self.cause),
            ("log_group", &self.log_group),
            ("severity", &self.severity),
        ]
    }
}

/// One message, ready to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub subject: String,
    pub attributes: Attributes,
    /// The machine-readable group (`default`, `sqs`, `lambda`).
    pub machine: String,
    /// Plain text for people (`email`).
    pub email: String,
    /// An AWS Chatbot custom notification (`https`).
    pub chat: String,
}

impl Alert {
    /// The body for `Publish` with `MessageStructure=json`.
    pub fn message(&self) -> String {
        json!({
            "default": self.machine,
            "email": self.email,
            "https": self.chat,
            "sqs": self.machine,
            "lambda": self.machine,
        })
        .to_string()
    }
}

/// Renders one alert per group.
pub fn render_all(groups: &[Group], config: &Config) -> Vec<Alert> {
    groups.iter().map(|g| render(g, config)).collect()
}

/// Renders a group, trimming what came from the log until the message fits SNS's limit.
pub fn render(group: &Group, config: &Config) -> Alert {
    let mut limits = START_LIMITS;
    loop {
        let alert = render_with(group, config, limits);
        if alert.message().len() <= MAX_MESSAGE_BYTES || limits.text_bytes <= 64 {
            return alert;
        }
        limits = Limits {
            samples: (group.sample_request_ids.len().min(limits.samples)) / 2,
            errors: (limits.errors / 2).max(1),
            routes: (limits.routes / 2).max(1),
            text_bytes: limits.text_bytes / 2,
        };
    }
}

struct View<'a> {
    group: &'a Group,
    samples: Vec<String>,
    errors: Vec<String>,
    routes: Vec<String>,
    omitted_samples: usize,
    remedy: Remedy,
    console_url: Option<String>,
}

fn render_with(group: &Group, config: &Config, limits: Limits) -> Alert {
    let cut = |list: &[String], n: usize| -> Vec<String> {
        list.iter()
            .take(n)
            .map(|s| truncate(s, limits.text_bytes).into_owned())
            .collect()
    };
    let place = Place {
        region: config.region.clone(),
        account_id: group.account_id.clone(),
        api_id: group.api_ids.first().cloned(),
    };
    let samples = cut(&group.sample_request_ids, limits.samples);
    let view = View {
        group,
        omitted_samples: group.sample_request_ids.len() - samples.len(),
        samples,
        errors: cut(&group.errors, limits.errors),
        routes: cut(&group.routes, limits.routes),
        remedy: remedy(group.cause, &place, config.language),
        console_url: console_url(config.region.as_deref(), group.log_group.as_deref()),
    };
    let subject = subject(group, config.label.as_deref());
    let email = email_text(&view, config.language);
    Alert {
        attributes: Attributes {
            cause: group.cause.code().to_owned(),
            log_group: ascii(group.log_group.as_deref().unwrap_or("unknown")),
            severity: group.cause.severity().to_owned(),
        },
        machine: machine_json(&view, config, &subject, &email).to_string(),
        email,
        chat: chat_json(&view, config, &subject).to_string(),
        subject,
    }
}

/// The note that a problem is over: its window closed and nothing came for a whole window.
pub fn render_recovered(q: &Quiet, config: &Config) -> Alert {
    let lang = config.language;
    let w = words(lang);
    let mut subject = String::new();
    if let Some(label) = config.label.as_deref() {
        subject.push_str(&format!("[{}] ", ascii(label)));
    }
    subject.push_str("API authorizer recovered: ");
    subject.push_str(q.cause.subject_words());
    subject.truncate(MAX_SUBJECT_CHARS);
    let scope = match q.scope.split_once(':') {
        Some(("api", api)) => format!("{} {api}", w.api),
        Some((_, group)) => format!("{} {group}", w.log_group),
        None => q.scope.clone(),
    };
    let last_seen = crate::detect::format_millis(q.last_seen.saturating_mul(1000));
    let scope = visible(&scope);
    let quiet = match lang {
        Language::En => {
            format!("No request has failed with this cause on {scope} since {last_seen}.")
        }
        Language::Ja => {
            format!("{scope} では {last_seen} 以降、この原因で失敗したリクエストはありません。")
        }
    };
    let mut text = format!("{}: {}\n\n{quiet}\n", w.recovered, q.cause.title(lang));
    if q.suppressed.failed_requests > 0 {
        text.push_str(&format!(
            "{}: {}\n",
            w.since_last,
            suppressed_text(&q.suppressed, w)
        ));
    }
    text.push_str(&format!("\n{}: {}\n", w.code, q.cause.code()));
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{}:{}", q.cause.code(), ascii(&q.scope)),
        "content": {
            "textType": "client-markdown",
            "title": format!(":white_check_mark: {}", chat_text(&subject)),
            "description": chat_text(&text),
        },
        "metadata": {
            "threadId": format!("{}:{}", q.cause.code(), ascii(&q.scope)),
            "summary": subject,
            "eventType": "AuthorizerConfigurationRecovered",
        },
    });
    let machine = json!({
        "type": "authorizer_configuration_recovered",
        "subject": subject,
        "label": config.label,
        "cause": q.cause,
        "scope": q.scope,
        "last_seen": last_seen,
        "suppressed_before": q.suppressed,
        "text": text,
    });
    Alert {
        attributes: Attributes {
            cause: q.cause.code().to_owned(),
            log_group: ascii(q.scope.split_once(':').map_or(q.scope.as_str(), |(_, v)| v)),
            severity: "info".to_owned(),
        },
        machine: machine.to_string(),
        email: text,
        chat: chat.to_string(),
        subject,
    }
}

/// `[label] API authorizer misconfigured: missing invoke permission (12x)`, at most 100 ASCII chars.
pub fn subject(group: &Group, label: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(label) = label {
        s.push_str(&format!("[{}] ", ascii(label)));
    }
    s.push_str("API authorizer misconfigured: ");
    s.push_str(group.cause.subject_words());
    s.push_str(&format!(" ({}x)", group.count));
    if s.len() > MAX_SUBJECT_CHARS {
        s.truncate(MAX_SUBJECT_CHARS);
    }
    s
}

/// A CloudWatch console link to the log group (the console encodes `%` as `$25`).
pub fn console_url(region: Option<&str>, log_group: Option<&str>) -> Option<String> {
    let (region, group) = (region?, log_group?);
    let mut encoded = String::new();
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("$25{b:02X}"));
        }
    }
    Some(format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{encoded}"
    ))
}

/// The group for programs, with the rendered text so a consumer can forward it as it is.
fn machine_json(view: &View, config: &Config, subject: &str, text: &str) -> serde_json::Value {
    let g = view.group;
    json!({
        "type": "authorizer_configuration_error",
        "subject": subject,
        "label": config.label,
        "cause": g.cause,
        "severity": g.cause.severity(),
        "title": g.cause.title(Language::En),
        "count": g.count,
        "first_seen": g.first_seen,
        "last_seen": g.last_seen,
        "log_group": g.log_group,
        "account_id": g.account_id,
        "region": config.region,
        "api_ids": g.api_ids,
        "stages": g.stages,
        "routes": view.routes,
        "errors": view.errors,
        "sample_request_ids": view.samples,
        "omitted_request_ids": view.omitted_samples,
        "remedy": view.remedy,
        "diagnosis": g.diagnosis,
        "suppressed_before": g.suppressed_before,
        "console_url": view.console_url,
        "text": text,
    })
}

struct Words {
    count: &'static str,
    when: &'static str,
    log_group: &'static str,
    api: &'static str,
    routes: &'static str,
    samples: &'static str,
    error: &'static str,
    fix: &'static str,
    command: &'static str,
    console: &'static str,
    code: &'static str,
    requests_failed: &'static str,
    more: &'static str,
    since_last: &'static str,
    suppressed: &'static str,
    recovered: &'static str,
}

const EN: Words = Words {
    count: "Failed requests",
    when: "When",
    log_group: "Log group",
    api: "API",
    routes: "Routes",
    samples: "Sample request ids",
    error: "Error written by API Gateway",
    fix: "How to fix",
    command: "Command",
    console: "Open the log group",
    code: "Cause code",
    requests_failed: "requests failed with HTTP 500",
    more: "more",
    since_last: "Since the last alert",
    suppressed: "more failed requests were not alerted on (flood control), in batches:",
    recovered: "Recovered",
};

const JA: Words = Words {
    count: "失敗したリクエスト",
    when: "日時",
    log_group: "ロググループ",
    api: "API",
    routes: "ルート",
    samples: "リクエスト ID の例",
    error: "API Gateway が記録したエラー",
    fix: "対処方法",
    command: "コマンド",
    console: "ロググループを開く",
    code: "原因コード",
    requests_failed: "件のリクエストが HTTP 500 で失敗",
    more: "件ほか",
    since_last: "前回のアラート以降",
    suppressed: "件の失敗リクエストは通知を抑制しました (フラッド制御)。バッチ数:",
    recovered: "復旧",
};

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::Ja => &JA,
    }
}

fn when(g: &Group) -> String {
    match (&g.first_seen, &g.last_seen) {
        (Some(a), Some(b)) if a != b => format!("{} - {}", visible(a), visible(b)),
        (Some(a), _) => visible(a).into_owned(),
        _ => "-".to_owned(),
    }
}

fn email_text(view: &View, lang: Language) -> String {
    let g = view.group;
    let w = words(lang);
    let mut t = String::new();
    let line = |t: &mut String, k: &str, v: &str| t.push_str(&format!("{k}: {v}\n"));
    t.push_str(g.cause.title(lang));
    t.push_str("\n\n");
    t.push_str(g.cause.explanation(lang));
    t.push_str("\n\n");
    line(
        &mut t,
        w.count,
        &format!("{} {}", g.count, w.requests_failed),
    );
    line(&mut t, w.when, &when(g));
    if let Some(p) = &g.suppressed_before {
        line(&mut t, w.since_last, &suppressed_text(p, w));
    }
    line(
        &mut t,
        w.log_group,
        &visible(g.log_group.as_deref().unwrap_or("-")),
    );
    if !g.api_ids.is_empty() {
        let stages = if g.stages.is_empty() {
            String::new()
        } else {
            format!(" ({})", visible(&g.stages.join(", ")))
        };
        line(&mut t, w.api, &format!("{}{stages}", g.api_ids.join(", ")));
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
    t.push_str(&format!("\n{}:\n", w.error));
    for e in &view.errors {
        t.push_str(&format!(
            "  {}\n",
            visible(if e.is_empty() { "-" } else { e })
        ));
    }
    if let Some(d) = &g.diagnosis {
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

/// `297 more failed requests were not alerted on (flood control), in batches: 99 (ids: ...)`.
fn suppressed_text(p: &Suppressed, w: &Words) -> String {
    let mut t = format!("{} {} {}", p.failed_requests, w.suppressed, p.batches);
    if !p.sample_request_ids.is_empty() {
        t.push_str(&format!(" ({})", visible(&p.sample_request_ids.join(", "))));
    }
    t
}

/// The exact commands the diagnosis found, else the remedy's template.
fn commands<'v>(view: &'v View) -> Vec<&'v str> {
    let exact = view
        .group
        .diagnosis
        .as_ref()
        .map(Diagnosis::commands)
        .unwrap_or_default();
    if exact.is_empty() {
        view.remedy.command.as_deref().into_iter().collect()
    } else {
        exact
    }
}

/// The diagnosis for people, in English: it quotes the API's own names and AWS's own errors.
pub fn diagnosis_text(d: &Diagnosis) -> String {
    match d {
        Diagnosis::Unavailable { reason } => {
            format!("Diagnosis unavailable: {}\n", visible(reason))
        }
        Diagnosis::Checked {
            api_id,
            authorizers,
        } if authorizers.is_empty() => format!(
            "Diagnosis (API {api_id}, live configuration): no route of the API uses a Lambda authorizer.\n"
        ),
        Diagnosis::Checked {
            api_id,
            authorizers,
        } => {
            let mut t = format!("Diagnosis (API {api_id}, live configuration):\n");
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

fn diagnosis_chat(d: &Diagnosis) -> String {
    match d {
        Diagnosis::Unavailable { reason } => {
            format!("• *Diagnosis unavailable:* {}\n", chat_text(reason))
        }
        Diagnosis::Checked {
            api_id,
            authorizers,
        } => {
            let mut t = format!("• *Diagnosis* (API {}):\n", chat_code(api_id));
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
                    t.push_str(&format!("    {mark} {}\n", chat_text(&c.summary)));
                }
            }
            t
        }
    }
}

fn chat_json(view: &View, config: &Config, subject: &str) -> serde_json::Value {
    let g = view.group;
    let lang = config.language;
    let w = words(lang);
    let mut d = String::new();
    d.push_str(&format!(
        "*{}*\n{}\n",
        g.cause.title(lang),
        g.cause.explanation(lang)
    ));
    d.push_str(&format!("• *{}:* {}\n", w.count, g.count));
    d.push_str(&format!("• *{}:* {}\n", w.when, chat_code(&when(g))));
    if let Some(p) = &g.suppressed_before {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.since_last,
            chat_text(&suppressed_text(p, w))
        ));
    }
    if let Some(lg) = &g.log_group {
        d.push_str(&format!("• *{}:* {}\n", w.log_group, chat_code(lg)));
    }
    if !g.api_ids.is_empty() {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.api,
            chat_code(&g.api_ids.join(", "))
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
    for e in &view.errors {
        d.push_str(&format!("• *{}:* {}\n", w.error, chat_code(e)));
    }
    if let Some(url) = &view.console_url {
        d.push_str(&format!("<{url}|{}>\n", w.console));
    }
    if let Some(diag) = &g.diagnosis {
        d.push_str(&diagnosis_chat(diag));
    }
    let mut next_steps: Vec<String> = view.remedy.steps.iter().map(|s| chat_text(s)).collect();
    for cmd in commands(view) {
        next_steps.push(format!("{}: ```{}```", w.command, chat_text(cmd)));
    }
    json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{}:{}", g.cause.code(), g.log_group.as_deref().map(ascii).unwrap_or_default()),
        "content": {
            "textType": "client-markdown",
            "title": format!(":rotating_light: {}", chat_text(subject)),
            "description": d,
            "nextSteps": next_steps,
        },
        "metadata": {
            "threadId": format!("{}:{}", g.cause.code(), g.log_group.as_deref().map(ascii).unwrap_or_default()),
            "summary": subject,
            "eventType": "AuthorizerConfigurationError",
            "additionalContext": {
                "cause": g.cause.code(),
                "count": g.count.to_string(),
                "log_group": g.log_group.as_deref().map(ascii).unwrap_or_default(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::FindingText;

    fn finding(cause: Cause, group: &str, id: &str, ts: i64) -> Finding {
        let mut f = Finding::new(
            cause,
            FindingText {
                request_id: Some(id),
                time: Some(&format!("t{ts}")),
                error: "AUTHORIZER text",
                route: Some("GET /orders"),
                api_id: Some("a1b2c3"),
                stage: Some("prod"),
                account_id: Some("123456789012"),
                ..FindingText::default()
            },
        );
        f.status = Some(500);
        f.log_group = Some(group.into());
        f.timestamp = Some(ts);
        f
    }

    /// The same finding with some text fields changed.
    fn with<'a>(f: &'a Finding, change: impl FnOnce(&mut FindingText<'a>)) -> Finding {
        let mut text = f.text();
        change(&mut text);
        let mut changed = Finding::new(f.cause, text);
        changed.status = f.status;
        changed.log_group = f.log_group.clone();
        changed.timestamp = f.timestamp;
        changed
    }

    fn config() -> Config {
        Config {
            label: Some("prod".into()),
            region: Some("eu-west-1".into()),
            max_samples: 2,
            ..Config::default()
        }
    }

    #[test]
    fn groups_by_log_group_and_cause() {
        let findings = vec![
            finding(Cause::MissingInvokePermission, "/a", "r1", 3),
            finding(Cause::MissingInvokePermission, "/a", "r2", 1),
            finding(Cause::MissingInvokePermission, "/a", "r3", 5),
            finding(Cause::InvalidResponseFormat, "/a", "r4", 2),
            finding(Cause::MissingInvokePermission, "/b", "r5", 2),
        ];
        let groups = group(&findings, 2);
        assert_eq!(groups.len(), 3);
        let a = &groups[0];
        assert_eq!(
            (a.cause, a.log_group.as_deref(), a.count),
            (Cause::MissingInvokePermission, Some("/a"), 3)
        );
        assert_eq!(a.sample_request_ids, ["r1", "r2"]);
        assert_eq!(a.first_seen.as_deref(), Some("t1"));
        assert_eq!(a.last_seen.as_deref(), Some("t5"));
        assert_eq!(a.routes, ["GET /orders"]);
        assert_eq!(groups[1].log_group.as_deref(), Some("/b"));
        assert_eq!(groups[2].cause, Cause::InvalidResponseFormat);
    }

    #[test]
    fn renders_three_bodies() {
        let groups = group(
            &[finding(
                Cause::MissingInvokePermission,
                "/aws/api/prod",
                "r1",
                1,
            )],
            5,
        );
        let alert = render(&groups[0], &config());
        assert_eq!(
            alert.subject,
            "[prod] API authorizer misconfigured: missing invoke permission (1x)"
        );
        assert_eq!(alert.attributes.cause, "missing_invoke_permission");
        assert_eq!(alert.attributes.severity, "critical");
        assert!(alert.email.contains("aws lambda add-permission"));
        assert!(alert.email.contains(
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID"
        ));
        assert!(alert.email.contains("log-group/$252Faws$252Fapi$252Fprod"));
        let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        assert_eq!(machine["cause"], "missing_invoke_permission");
        assert_eq!(machine["count"], 1);
        let message: serde_json::Value = serde_json::from_str(&alert.message()).unwrap();
        for key in ["default", "email", "https", "sqs", "lambda"] {
            assert!(message[key].is_string(), "{key}");
        }
    }

    #[test]
    fn japanese_keeps_an_ascii_subject() {
        let groups = group(&[finding(Cause::AuthorizerTimeout, "/g", "r", 1)], 5);
        let cfg = Config {
            language: Language::Ja,
            ..config()
        };
        let alert = render(&groups[0], &cfg);
        assert!(alert.subject.is_ascii());
        assert!(alert.email.contains("タイムアウト"));
    }

    #[test]
    fn subject_stays_within_sns_rules() {
        let mut g = group(&[finding(Cause::Unknown, "/g", "r", 1)], 5).remove(0);
        g.count = usize::MAX;
        let s = subject(&g, Some(&"L".repeat(40)));
        assert!(
            s.len() <= MAX_SUBJECT_CHARS && s.is_ascii() && !s.contains('\n'),
            "{s}"
        );
    }

    #[test]
    fn oversized_groups_are_trimmed_not_cut() {
        let mut findings = Vec::new();
        for i in 0..100 {
            let f = finding(Cause::Unknown, "/g", &format!("{i:0>90}"), i);
            let (error, route) = (
                format!("{i} {}", "e".repeat(1_000_000)),
                format!("GET /{i}/{}", "r".repeat(100_000)),
            );
            findings.push(with(&f, |t| {
                t.error = &error;
                t.route = Some(&route);
            }));
        }
        let groups = group(&findings, 100);
        let alert = render(&groups[0], &config());
        let message = alert.message();
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        assert_eq!(machine["count"], 100);
        assert!(!machine["sample_request_ids"].as_array().unwrap().is_empty());
    }

    #[test]
    fn hostile_text_is_escaped_for_chat() {
        let f = with(&finding(Cause::Unknown, "/g", "r", 1), |t| {
            t.error = "<!channel> *boom* `x` <http://evil|click> \x1b[31m";
            t.api_id = Some("`rm -rf`");
        });
        let alert = render(&group(&[f], 5)[0], &config());
        let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
        let d = chat["content"]["description"].as_str().unwrap();
        assert!(
            !d.contains("<!channel>") && !d.contains("<http://evil"),
            "{d}"
        );
        assert!(
            d.contains("`&lt;!channel&gt; *boom* 'x' &lt;http://evil|click&gt; \\u{1b}[31m`"),
            "{d}"
        );
        assert!(!alert.email.contains('\x1b'));
        assert!(
            !alert.email.contains("rm -rf"),
            "untrusted api id kept out of commands"
        );
    }

    #[test]
    fn console_url_encodes_the_group() {
        assert_eq!(
            console_url(Some("us-east-1"), Some("/aws/x y")).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fx$2520y"
        );
        assert_eq!(console_url(None, Some("/g")), None);
    }
}
