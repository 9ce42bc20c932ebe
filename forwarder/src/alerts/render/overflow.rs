//! The one alert past the cap: a batch naming thousands of broken APIs is a few messages, and
//! none of its problems goes unsaid.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::alerts::group::Group;
use crate::config::Config;
use crate::model::cause::{Cause, Severity};
use crate::model::language::Language;
use crate::text::escape::{chat_code, chat_text, json_safe, truncate, visible};

use super::alert::{Alert, Attributes, MAX_ATTRIBUTE_BYTES, attribute};
use super::chat::mentioned;
use super::links::{console_url, fnv1a, thread_id};
use super::subject::{fit_subject, label};
use super::view::{counted, words};

/// Alerts one invocation sends one by one, at most: a batch naming thousands of broken APIs must
/// not become thousands of messages in one inbox or channel, nor spend the function's time on a
/// round trip to SNS for each. The groups past it are summarised in one more alert
/// ([`Overflow`]), so an invocation sends at most `MAX_ALERTS + 1`.
pub const MAX_ALERTS: usize = 25;

/// APIs and log groups a summary names; the others are counted.
pub(super) const OVERFLOW_NAMED: usize = 10;

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
pub(super) fn problems_and_lines(problems: usize, lines: usize, lang: Language) -> String {
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
