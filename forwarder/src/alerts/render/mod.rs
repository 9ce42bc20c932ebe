//! Grouping findings and rendering the SNS message for each group.
//!
//! One message per (log group, cause) and invocation, published with `MessageStructure=json`
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html>):
//! `email` gets plain text, `https` gets a custom notification of Amazon Q Developer in chat
//! applications, formerly AWS Chatbot
//! (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>), and `default`,
//! `sqs` and `lambda` get the machine-readable group.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::alerts::flood::{self, Quiet, ScopeParts};
use crate::alerts::group::{Drift, Group, Limits, START_LIMITS, StatusCount, Suppressed};
use crate::config::Config;
use crate::detect::LogKind;
use crate::diagnose::{ApiKind, AuthorizerReport, Check, Diagnosis};
use crate::model::cause::{ApiFamily, Cause, Place, Remedy, Severity, remedy};
use crate::model::language::Language;
use crate::text::escape::{ascii, chat_block, chat_code, chat_text, json_safe, truncate, visible};
use crate::text::shape;

/// SNS refuses larger messages (256 KiB, counted in bytes, message attributes included).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SNS wants a subject of fewer than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// Message attribute values are for filter policies, not for reading: a log group name (at most
/// 512 characters in CloudWatch Logs) fits whole, anything longer is cut.
pub const MAX_ATTRIBUTE_BYTES: usize = 512;
/// A command longer than any that AWS identifiers can make is not shown; a cut command would be a
/// different command.
const MAX_COMMAND_BYTES: usize = 2048;
/// The label as shown: `ALERT_LABEL` allows 40 characters, other paths are cut here.
const MAX_LABEL_BYTES: usize = 40;
/// A subject keeps at least this much of its label before the cause words are shortened.
const MIN_SUBJECT_LABEL: usize = 8;

/// Where halving stops.
const FLOOR_LIMITS: Limits = Limits {
    samples: 0,
    errors: 1,
    routes: 1,
    items: 1,
    text_bytes: 64,
};

/// The last resort: what the alert is about, with a few bytes of each text.
const BARE_LIMITS: Limits = Limits {
    samples: 0,
    errors: 1,
    routes: 0,
    items: 0,
    text_bytes: 16,
};

impl Limits {
    /// Half of each bound, never below the floor.
    fn halved(self, samples_held: usize) -> Self {
        Limits {
            samples: samples_held.min(self.samples) / 2,
            errors: (self.errors / 2).max(FLOOR_LIMITS.errors),
            routes: (self.routes / 2).max(FLOOR_LIMITS.routes),
            items: (self.items / 2).max(FLOOR_LIMITS.items),
            text_bytes: (self.text_bytes / 2).max(FLOOR_LIMITS.text_bytes),
        }
    }

    fn cut<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        truncate(s, self.text_bytes)
    }
}

/// The SNS message attributes subscribers filter on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attributes {
    pub cause: String,
    /// None when the lines named no log group (a file scanned without `--log-group`): SNS
    /// takes no empty attribute, and a made-up name would match a subscriber's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    pub severity: String,
}

impl Attributes {
    /// Bytes SNS counts for the attributes: names, types and values.
    pub fn bytes(&self) -> usize {
        self.pairs()
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum()
    }

    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("cause", self.cause.as_str())];
        if let Some(g) = &self.log_group {
            pairs.push(("log_group", g));
        }
        pairs.push(("severity", &self.severity));
        pairs
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
    /// A custom notification of Amazon Q Developer in chat applications (`https`).
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

    /// Everything SNS counts against its message size limit: the message, its subject and its
    /// message attributes.
    pub fn publish_bytes(&self) -> usize {
        self.message().len() + self.subject.len() + self.attributes.bytes()
    }

    fn fits(&self) -> bool {
        self.publish_bytes() < MAX_MESSAGE_BYTES
    }
}

/// Renders one alert per group, for the first [`MAX_ALERTS`] groups, and one that summarises the
/// rest when there are more.
pub fn render_all(groups: &[Group], config: &Config) -> Vec<Alert> {
    let (shown, left) = groups.split_at(groups.len().min(MAX_ALERTS));
    let mut alerts: Vec<Alert> = shown.iter().map(|g| render(g, config)).collect();
    alerts.extend(overflow(left).map(|o| render_overflow(&o, config)));
    alerts
}

/// Alerts one invocation sends one by one, at most: a batch naming thousands of broken APIs must
/// not become thousands of messages in one inbox or channel, nor spend the function's time on a
/// round trip to SNS for each. The groups past it are summarised in one more alert
/// ([`Overflow`]), so an invocation sends at most `MAX_ALERTS + 1`.
pub const MAX_ALERTS: usize = 25;

/// APIs and log groups a summary names; the others are counted.
const OVERFLOW_NAMED: usize = 10;

/// The cause code a summary's `cause` message attribute carries: it is about several problems,
/// of any causes.
pub const OVERFLOW_CAUSE_CODE: &str = "alert_overflow";

/// The groups of one invocation past [`MAX_ALERTS`], told in one alert so that none is left out
/// unsaid: how many problems and lines, of which causes, and for which APIs and log groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Overflow {
    /// Problems (groups) left out of the alerts.
    pub problems: usize,
    /// Their lines: failed requests, and lines not read for a format mismatch.
    pub lines: usize,
    /// Problems and lines by cause, in the order of causes.
    pub causes: Vec<CauseCount>,
    /// The first APIs the problems name, in their order.
    pub api_ids: Vec<String>,
    /// APIs beyond those.
    pub more_apis: usize,
    /// The first log groups, in their order.
    pub log_groups: Vec<String>,
    /// Log groups beyond those.
    pub more_log_groups: usize,
}

/// Problems of one cause in a summary, and their lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CauseCount {
    pub cause: Cause,
    pub problems: usize,
    pub lines: usize,
}

/// The summary of groups left out of the alerts; none when none were. Linear in the groups.
pub fn overflow(left: &[Group]) -> Option<Overflow> {
    if left.is_empty() {
        return None;
    }
    let mut o = Overflow::default();
    let mut causes: BTreeMap<Cause, CauseCount> = BTreeMap::new();
    let mut apis = std::collections::HashSet::new();
    let mut log_groups = std::collections::HashSet::new();
    for g in left {
        o.problems += 1;
        o.lines = o.lines.saturating_add(g.count);
        let c = causes.entry(g.cause).or_insert(CauseCount {
            cause: g.cause,
            problems: 0,
            lines: 0,
        });
        c.problems += 1;
        c.lines = c.lines.saturating_add(g.count);
        for api in &g.api_ids {
            if apis.insert(api.as_str()) && o.api_ids.len() < OVERFLOW_NAMED {
                o.api_ids.push(truncate(api, 64).into_owned());
            }
        }
        if let Some(lg) = &g.log_group
            && log_groups.insert(lg.as_str())
            && o.log_groups.len() < OVERFLOW_NAMED
        {
            o.log_groups
                .push(truncate(lg, MAX_ATTRIBUTE_BYTES).into_owned());
        }
    }
    o.causes = causes.into_values().collect();
    o.more_apis = apis.len() - o.api_ids.len();
    o.more_log_groups = log_groups.len() - o.log_groups.len();
    Some(o)
}

/// `2 problems, 50000 lines`.
fn problems_and_lines(problems: usize, lines: usize, lang: Language) -> String {
    match lang {
        Language::En => format!(
            "{}, {}",
            counted(problems as u64, "problem", "problems"),
            counted(lines as u64, "line", "lines")
        ),
        Language::Ja => format!("問題 {problems} 件、行 {lines} 件"),
    }
}

/// `a1b2c3d4e5, f6g7h8i9j0 (+3 more)`.
fn named(list: &[String], more: usize, lang: Language) -> String {
    let mut t = list.join(", ");
    if more > 0 {
        t.push_str(&format!(" (+{more} {})", words(lang).more));
    }
    t
}

/// The summary of the groups past [`MAX_ALERTS`] as one alert. Everything in it from the log
/// (API ids of their shape, log group names) is bounded and escaped like an alert's.
pub fn render_overflow(o: &Overflow, config: &Config) -> Alert {
    let lang = config.language;
    let w = words(lang);
    let label = label(config);
    let severity = o
        .causes
        .iter()
        .map(|c| config.severity(c.cause))
        .max()
        .unwrap_or(Severity::Warning);
    let subject = fit_subject(
        label.as_deref(),
        "API authorizer alerts capped: ",
        "",
        &match o.problems {
            1 => " 1 more problem summarised".to_owned(),
            n => format!(" {n} more problems summarised"),
        },
    );
    let (title, explanation, left_out, apis) = match lang {
        Language::En => (
            "More problems than one invocation alerts on one by one",
            format!(
                "This batch held more problems than the forwarder alerts on one by one in an invocation ({MAX_ALERTS}). Those have an alert each; the rest are summarised here, so that none is left out unsaid. Their lines are in the log: forwarder check --log-group NAME reports them, or search them in CloudWatch Logs Insights."
            ),
            "Left out",
            "APIs",
        ),
        Language::Ja => (
            "1 回の呼び出しで個別に通知できる数を超える問題",
            format!(
                "このバッチには、1 回の呼び出しで個別に通知する上限 ({MAX_ALERTS} 件) を超える問題がありました。上限までの問題は個別に通知し、残りはここにまとめています。該当する行はログにあります。forwarder check --log-group NAME で確認するか、CloudWatch Logs Insights で検索してください。"
            ),
            "省略",
            "API",
        ),
    };
    let mut text = format!("{title}\n\n{explanation}\n\n");
    text.push_str(&format!(
        "{left_out}: {}\n",
        problems_and_lines(o.problems, o.lines, lang)
    ));
    for c in &o.causes {
        text.push_str(&format!(
            "  {}: {}\n",
            c.cause.code(),
            problems_and_lines(c.problems, c.lines, lang)
        ));
    }
    if !o.api_ids.is_empty() {
        text.push_str(&format!(
            "{apis}: {}\n",
            visible(&named(&o.api_ids, o.more_apis, lang))
        ));
    }
    if !o.log_groups.is_empty() {
        text.push_str(&format!(
            "{}: {}\n",
            w.log_group,
            visible(&named(&o.log_groups, o.more_log_groups, lang))
        ));
    }
    let console = match o.log_groups.as_slice() {
        [only] => console_url(config.region.as_deref(), Some(only)),
        _ => None,
    };
    if let Some(url) = &console {
        text.push_str(&format!("\n{}: {url}\n", w.console));
    }
    text.push_str(&format!("\n{}: {OVERFLOW_CAUSE_CODE}\n", w.code));

    let first_group = o.log_groups.first().map_or("-", String::as_str);
    let thread = thread_id(&format!("overflow:{first_group}"));
    let mut seen = format!("{}\0{}", o.problems, o.lines);
    for part in o.api_ids.iter().chain(&o.log_groups) {
        seen.push('\0');
        seen.push_str(part);
    }
    let mut d = format!("*{}*\n{}\n", chat_text(title), chat_text(&explanation));
    d.push_str(&format!(
        "• *{left_out}:* {}\n",
        problems_and_lines(o.problems, o.lines, lang)
    ));
    for c in &o.causes {
        d.push_str(&format!(
            "• {}: {}\n",
            chat_code(c.cause.code()),
            problems_and_lines(c.problems, c.lines, lang)
        ));
    }
    if !o.api_ids.is_empty() {
        d.push_str(&format!(
            "• *{apis}:* {}\n",
            chat_code(&named(&o.api_ids, o.more_apis, lang))
        ));
    }
    if !o.log_groups.is_empty() {
        d.push_str(&format!(
            "• *{}:* {}\n",
            w.log_group,
            chat_code(&named(&o.log_groups, o.more_log_groups, lang))
        ));
    }
    if let Some(url) = &console {
        d.push_str(&format!("<{url}|{}>\n", w.console));
    }
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "id": format!("{thread}#{:016x}", fnv1a(seen.as_bytes())),
        "content": {
            "textType": "client-markdown",
            "title": format!(":rotating_light: {}", chat_text(&subject)),
            "description": mentioned(config, severity, d),
        },
        "metadata": {
            "threadId": thread,
            "summary": subject,
            "eventType": "AuthorizerConfigurationErrorOverflow",
            "additionalContext": {
                "cause": OVERFLOW_CAUSE_CODE,
                "problems": o.problems.to_string(),
                "lines": o.lines.to_string(),
            },
        },
    });
    let machine = json!({
        "type": "authorizer_configuration_error_overflow",
        "subject": subject,
        "label": label,
        "severity": severity,
        "max_alerts": MAX_ALERTS,
        "problems": o.problems,
        "lines": o.lines,
        "causes": o.causes,
        "api_ids": o.api_ids,
        "more_apis": o.more_apis,
        "log_groups": o.log_groups,
        "more_log_groups": o.more_log_groups,
        "console_url": console,
        "text": text,
    });
    Alert {
        attributes: Attributes {
            cause: OVERFLOW_CAUSE_CODE.to_owned(),
            log_group: o.log_groups.first().map(|g| attribute(g)),
            severity: severity.code().to_owned(),
        },
        machine: json_safe(&machine.to_string()).into_owned(),
        email: text,
        chat: chat.to_string(),
        subject,
    }
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

/// What one rendering shows: every field from the log or the event, within [`Limits`].
struct View<'a> {
    group: &'a Group,
    severity: Severity,
    label: Option<String>,
    region: Option<String>,
    log_group: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    account_id: Option<String>,
    api_ids: Vec<String>,
    stages: Vec<String>,
    samples: Vec<String>,
    errors: Vec<String>,
    routes: Vec<String>,
    omitted_samples: usize,
    statuses: StatusView,
    diagnosis: Option<Diagnosis>,
    suppressed_before: Option<Suppressed>,
    remedy: Remedy,
    drift: Option<Drift>,
    console_url: Option<String>,
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

/// The statuses an alert names, at most as many as its limits allow, and the rest summed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
struct StatusView {
    shown: Vec<StatusCount>,
    other: Option<OtherStatuses>,
}

/// Statuses an alert had no room to name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
struct OtherStatuses {
    statuses: usize,
    requests: usize,
}

/// A group's statuses for rendering, naming at most `n`. Requests the statuses do not account for
/// are counted as not logged, so the parts always add up to the count the alert states. Lines not
/// read (a format mismatch) have no status to state.
fn status_view(group: &Group, n: usize) -> StatusView {
    if group.drift.is_some() {
        return StatusView::default();
    }
    let mut all = group.statuses.clone();
    let accounted = all
        .iter()
        .fold(0usize, |sum, s| sum.saturating_add(s.requests));
    let missing = group.count.saturating_sub(accounted);
    if missing > 0 {
        match all.iter_mut().find(|s| s.status.is_none()) {
            Some(none) => none.requests = none.requests.saturating_add(missing),
            None => all.push(StatusCount {
                status: None,
                requests: missing,
            }),
        }
    }
    let other = (all.len() > n).then(|| {
        let rest = &all[n..];
        OtherStatuses {
            statuses: rest.len(),
            requests: rest.iter().fold(0, |sum, s| sum.saturating_add(s.requests)),
        }
    });
    all.truncate(n);
    StatusView { shown: all, other }
}

/// The configured label as subjects and bodies show it: printable ASCII, bounded.
pub(crate) fn label(config: &Config) -> Option<String> {
    let label = ascii(config.label.as_deref()?.trim());
    (!label.is_empty()).then(|| truncate(&label, MAX_LABEL_BYTES).into_owned())
}

/// A message attribute value: printable ASCII, bounded.
pub(crate) fn attribute(s: &str) -> String {
    truncate(&ascii(s), MAX_ATTRIBUTE_BYTES).into_owned()
}

/// A copy of the diagnosis within the limits an alert starts from.
pub(crate) fn bounded_diagnosis(d: &Diagnosis) -> Diagnosis {
    trim_diagnosis(d, START_LIMITS)
}

/// A copy of the diagnosis within the limits. Commands are kept whole or left out: they are built
/// from checked identifiers only, so one longer than any of those can make is not ours.
fn trim_diagnosis(d: &Diagnosis, limits: Limits) -> Diagnosis {
    let cut = |s: &str| limits.cut(s).into_owned();
    match d {
        Diagnosis::Unavailable { reason } => Diagnosis::Unavailable {
            reason: cut(reason),
        },
        Diagnosis::Checked {
            api_id,
            api_kind,
            authorizers,
        } => Diagnosis::Checked {
            api_id: cut(api_id),
            api_kind: *api_kind,
            authorizers: authorizers
                .iter()
                .take(limits.items)
                .map(|a| AuthorizerReport {
                    authorizer_id: cut(&a.authorizer_id),
                    name: cut(&a.name),
                    routes: a
                        .routes
                        .iter()
                        .take(limits.routes)
                        .map(|r| cut(r))
                        .collect(),
                    function_arn: a.function_arn.as_deref().map(cut),
                    credentials_arn: a.credentials_arn.as_deref().map(cut),
                    simple_responses: a.simple_responses,
                    payload_format_version: a.payload_format_version.as_deref().map(cut),
                    identity_source: a.identity_source.as_deref().map(cut),
                    checks: a
                        .checks
                        .iter()
                        .take(limits.items.max(2))
                        .map(|c| Check {
                            ok: c.ok,
                            summary: cut(&c.summary),
                            command: c.command.clone().filter(|cmd| is_shown_command(cmd)),
                            proves: c.proves,
                        })
                        .collect(),
                })
                .collect(),
        },
    }
}

/// Whether a command may be shown: one that [`shape::is_plain_command`] accepts, of a length AWS
/// identifiers can make.
fn is_shown_command(cmd: &str) -> bool {
    cmd.len() <= MAX_COMMAND_BYTES && shape::is_plain_command(cmd)
}

/// A copy of what flood control held back, with at most `items` request ids of `text_bytes`.
fn trim_suppressed(p: &Suppressed, items: usize, text_bytes: usize) -> Suppressed {
    Suppressed {
        sample_request_ids: p
            .sample_request_ids
            .iter()
            .take(items)
            .map(|id| truncate(id, text_bytes).into_owned())
            .collect(),
        ..p.clone()
    }
}

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

/// A chat description led by the configured mention when `severity` reaches it.
pub(crate) fn mentioned(config: &Config, severity: Severity, description: String) -> String {
    match config.mention_for(severity) {
        Some(mention) => format!("{}\n{description}", mention.as_str()),
        None => description,
    }
}

/// A thread id longer than this ends in a digest of the whole key instead.
const MAX_THREAD_BYTES: usize = 128;

/// The chat thread of a problem: its flood-control key (the API, else the log group, in its
/// account), so every alert about it, whatever the batch, the cause and the log that saw it, and
/// however its message was trimmed, and the note that it is over land in one thread
/// (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>).
pub fn thread_id(key: &str) -> String {
    let shown = ascii(key);
    if shown.len() <= MAX_THREAD_BYTES && shown == key {
        return shown;
    }
    // Cut on a character boundary of printable ASCII, and told apart by the digest of the key.
    format!(
        "{}~{:016x}",
        &shown[..shown.len().min(MAX_THREAD_BYTES - 17)],
        fnv1a(key.as_bytes())
    )
}

/// One notification's id: its thread and a digest of what it reports, its first line's event id
/// above all, so a batch delivered again gives the same id and another batch of the same problem
/// a new one, even with no request ids kept.
fn event_id(thread: &str, g: &Group) -> String {
    let mut seen = Vec::new();
    for part in [
        g.first_event_id.as_deref().unwrap_or(""),
        g.log_group.as_deref().unwrap_or(""),
        g.count.to_string().as_str(),
        g.first_seen.as_deref().unwrap_or(""),
        g.last_seen.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .chain(g.sample_request_ids.iter().map(String::as_str))
    {
        seen.extend_from_slice(part.as_bytes());
        seen.push(0);
    }
    format!("{thread}#{:016x}", fnv1a(&seen))
}

/// FNV-1a, 64 bits (<http://www.isthe.com/chongo/tech/comp/fnv/>): a digest that stays the same
/// across builds and releases, which thread and event ids need and the standard hasher does not
/// promise.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `[label] API authorizer misconfigured: missing invoke permission (12x)`: printable ASCII, fewer
/// than 100 characters, and always ending with the count, which is what a reader needs most.
pub fn subject(group: &Group, label: Option<&str>) -> String {
    fit_subject(
        label,
        group.cause.subject_lead(),
        group.cause.subject_words(),
        &format!(" ({}x)", group.count),
    )
}

/// `[label] ` + `lead` + `words` + `tail` within [`MAX_SUBJECT_CHARS`]: the tail is kept whole, the
/// label is shortened first (down to [`MIN_SUBJECT_LABEL`]), then the lead and words, then the
/// rest of the label. Any label is made printable ASCII; one that is empty then is left out.
pub(crate) fn fit_subject(label: Option<&str>, lead: &str, words: &str, tail: &str) -> String {
    let tail = ascii(tail);
    let body = ascii(&format!("{lead}{words}"));
    let label = label.map(|l| ascii(l.trim())).unwrap_or_default();
    let label = label.trim();
    // Room for the label's text once the brackets and the space are counted.
    let room = MAX_SUBJECT_CHARS.saturating_sub(body.len() + tail.len() + 3);
    let label_len = label
        .len()
        .min(room.max(MIN_SUBJECT_LABEL))
        .min(MAX_SUBJECT_CHARS.saturating_sub(tail.len() + 3));
    let mut s = String::with_capacity(MAX_SUBJECT_CHARS);
    let shown = label[..label_len].trim_end();
    if !shown.is_empty() {
        s.push('[');
        s.push_str(shown);
        s.push_str("] ");
    }
    let body_room = MAX_SUBJECT_CHARS.saturating_sub(s.len() + tail.len());
    s.push_str(body[..body.len().min(body_room)].trim_end());
    s.push_str(&tail);
    s.truncate(MAX_SUBJECT_CHARS);
    s
}

/// A CloudWatch console link to the log group (the console encodes `%` as `$25`). Every byte but
/// `[A-Za-z0-9._-]` of the group is percent-encoded; a region without its shape, or a group longer
/// than CloudWatch Logs allows (512), gives no link.
pub fn console_url(region: Option<&str>, log_group: Option<&str>) -> Option<String> {
    let region = region.filter(|r| shape::is_region(r))?;
    let group = log_group.filter(|g| (1..=512).contains(&g.len()))?;
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
///
/// Log text stays as the log had it (bounded like the rest): programs match on it, and the
/// caller writes every character that could fake structure as a JSON `\uXXXX` escape
/// ([`json_safe`]), so a parser gets the exact text and a person reading the raw message sees
/// nothing raw.
fn machine_json(view: &View, subject: &str, text: &str) -> serde_json::Value {
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

struct Words {
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
    more: &'static str,
    since_last: &'static str,
    recovered: &'static str,
    account: &'static str,
    unmatched: &'static str,
    format: &'static str,
    sample_line: &'static str,
    unverified: &'static str,
    unverified_text: &'static str,
}

const EN: Words = Words {
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
    more: "more",
    since_last: "Since the last alert",
    recovered: "Recovered",
    account: "account",
    unmatched: "Lines not read",
    format: "Format the forwarder was given",
    sample_line: "First such line, as logged",
    unverified: "Unverified",
    unverified_text: "read without the stage's access-log format (or from a saved execution log that lost where events end), so a client could have written them; scan with --format to verify",
};

const JA: Words = Words {
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
    more: "件ほか",
    since_last: "前回のアラート以降",
    recovered: "復旧",
    account: "アカウント",
    unmatched: "読めなかった行",
    format: "フォワーダーに設定された形式",
    sample_line: "該当する最初の行 (記録されたまま)",
    unverified: "未検証",
    unverified_text: "ステージのアクセスログ形式なしで (またはイベントの区切りを失った保存済み実行ログから) 読んだ行で、クライアントが書いた可能性があります。--format を指定して検証してください",
};

impl Words {
    /// What the quoted texts are: API Gateway's errors, or lines that did not follow the format.
    fn error_label(&self, view: &View) -> &'static str {
        if view.drift.is_some() {
            self.sample_line
        } else {
            self.error
        }
    }
}

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::Ja => &JA,
    }
}

fn when(view: &View) -> String {
    match (&view.first_seen, &view.last_seen) {
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

/// `n` and the noun for it: `1 request`, `2 requests`.
fn counted(n: impl Into<u128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `3 requests failed: 2 with HTTP 500, 1 with HTTP 503`, or `1 request failed with HTTP 503`:
/// the failed requests by the status their lines logged, never a status no line logged.
fn failed_text(count: usize, statuses: &StatusView, lang: Language) -> String {
    let requests = counted(count as u64, "request", "requests");
    let status = |s: &StatusCount| match (s.status, lang) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Language::En) => "status not logged".to_owned(),
        (None, Language::Ja) => "ステータス記録なし".to_owned(),
    };
    match (statuses.shown.as_slice(), statuses.other, lang) {
        ([], _, Language::En) => format!("{requests} failed"),
        ([], _, Language::Ja) => format!("{count} 件のリクエストが失敗"),
        ([one], None, Language::En) if one.status.is_some() => {
            format!("{requests} failed with {}", status(one))
        }
        ([one], None, Language::En) => format!("{requests} failed, {}", status(one)),
        ([one], None, Language::Ja) if one.status.is_some() => {
            format!("{count} 件のリクエストが {} で失敗", status(one))
        }
        ([one], None, Language::Ja) => format!("{count} 件のリクエストが失敗 ({})", status(one)),
        (shown, other, Language::En) => {
            let mut parts: Vec<String> = shown
                .iter()
                .map(|s| format!("{} with {}", s.requests, status(s)))
                .collect();
            if let Some(o) = other {
                parts.push(format!(
                    "{} with {}",
                    o.requests,
                    counted(o.statuses as u64, "other status", "other statuses")
                ));
            }
            format!("{requests} failed: {}", parts.join(", "))
        }
        (shown, other, Language::Ja) => {
            let mut parts: Vec<String> = shown
                .iter()
                .map(|s| match s.status {
                    Some(_) => format!("{} が {} 件", status(s), s.requests),
                    None => format!("{}が {} 件", status(s), s.requests),
                })
                .collect();
            if let Some(o) = other {
                parts.push(format!(
                    "その他 {} 種類のステータスが {} 件",
                    o.statuses, o.requests
                ));
            }
            format!("{count} 件のリクエストが失敗: {}", parts.join("、"))
        }
    }
}

/// `2 / 3 lines carrying the token do not follow the format`.
fn unmatched_text(count: usize, drift: &Drift, lang: Language) -> String {
    match lang {
        Language::En => format!(
            "{count} / {} carrying the token {} not follow the format",
            counted(drift.with_token as u64, "line", "lines"),
            if count == 1 { "does" } else { "do" }
        ),
        Language::Ja => format!(
            "{count} / {} 行 (トークンを含む行のうち形式に従っていない行)",
            drift.with_token
        ),
    }
}

/// `297 more failed requests were not alerted on (flood control), in batches: 99 (ids: ...)`.
fn suppressed_text(p: &Suppressed, lang: Language) -> String {
    let mut t = match lang {
        Language::En => format!(
            "{} more failed {} not alerted on (flood control), in batches: {}",
            p.failed_requests,
            if p.failed_requests == 1 {
                "request was"
            } else {
                "requests were"
            },
            p.batches
        ),
        Language::Ja => format!(
            "{} 件の失敗リクエストは通知を抑制しました (フラッド制御)。バッチ数: {}",
            p.failed_requests, p.batches
        ),
    };
    if !p.sample_request_ids.is_empty() {
        t.push_str(&format!(" ({})", visible(&p.sample_request_ids.join(", "))));
    }
    t
}

/// The exact commands the diagnosis found, else the remedy's template.
fn commands<'v>(view: &'v View) -> Vec<&'v str> {
    let exact = view
        .diagnosis
        .as_ref()
        .map(Diagnosis::commands)
        .unwrap_or_default();
    if exact.is_empty() {
        view.remedy
            .command
            .as_deref()
            .filter(|cmd| is_shown_command(cmd))
            .into_iter()
            .collect()
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

fn diagnosis_chat(d: &Diagnosis) -> String {
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

#[cfg(test)]
mod tests;
