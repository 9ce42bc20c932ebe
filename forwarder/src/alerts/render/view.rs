//! What the bodies of one alert share: the view of its group within its limits, the words of each
//! language, and the sentences more than one body says.

use serde::Serialize;

use crate::alerts::group::{Drift, Group, StatusCount, Suppressed};
use crate::diagnose::Diagnosis;
use crate::model::cause::{Remedy, Severity};
use crate::model::language::Language;
use crate::text::escape::visible;

use super::limits::is_shown_command;

/// What one rendering shows: every field from the log or the event, within
/// [`Limits`](crate::alerts::group::Limits).
pub(super) struct View<'a> {
    pub(super) group: &'a Group,
    pub(super) severity: Severity,
    pub(super) label: Option<String>,
    pub(super) region: Option<String>,
    pub(super) log_group: Option<String>,
    pub(super) first_seen: Option<String>,
    pub(super) last_seen: Option<String>,
    pub(super) account_id: Option<String>,
    pub(super) api_ids: Vec<String>,
    pub(super) stages: Vec<String>,
    pub(super) samples: Vec<String>,
    pub(super) errors: Vec<String>,
    pub(super) routes: Vec<String>,
    pub(super) omitted_samples: usize,
    pub(super) statuses: StatusView,
    pub(super) diagnosis: Option<Diagnosis>,
    pub(super) suppressed_before: Option<Suppressed>,
    pub(super) remedy: Remedy,
    pub(super) drift: Option<Drift>,
    pub(super) console_url: Option<String>,
}

/// The statuses an alert names, at most as many as its limits allow, and the rest summed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(super) struct StatusView {
    pub(super) shown: Vec<StatusCount>,
    pub(super) other: Option<OtherStatuses>,
}

/// Statuses an alert had no room to name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(super) struct OtherStatuses {
    statuses: usize,
    requests: usize,
}

/// A group's statuses for rendering, naming at most `n`. Requests the statuses do not account for
/// are counted as not logged, so the parts always add up to the count the alert states. Lines not
/// read (a format mismatch) have no status to state.
pub(super) fn status_view(group: &Group, n: usize) -> StatusView {
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

pub(super) struct Words {
    pub(super) when: &'static str,
    pub(super) log_group: &'static str,
    pub(super) api: &'static str,
    pub(super) routes: &'static str,
    pub(super) samples: &'static str,
    pub(super) error: &'static str,
    pub(super) fix: &'static str,
    pub(super) command: &'static str,
    pub(super) console: &'static str,
    pub(super) code: &'static str,
    pub(super) more: &'static str,
    pub(super) since_last: &'static str,
    pub(super) recovered: &'static str,
    pub(super) account: &'static str,
    pub(super) unmatched: &'static str,
    pub(super) format: &'static str,
    pub(super) sample_line: &'static str,
    pub(super) unverified: &'static str,
    pub(super) unverified_text: &'static str,
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
    pub(super) fn error_label(&self, view: &View) -> &'static str {
        if view.drift.is_some() {
            self.sample_line
        } else {
            self.error
        }
    }
}

pub(super) fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::Ja => &JA,
    }
}

pub(super) fn when(view: &View) -> String {
    match (&view.first_seen, &view.last_seen) {
        (Some(a), Some(b)) if a != b => format!("{} - {}", visible(a), visible(b)),
        (Some(a), _) => visible(a).into_owned(),
        _ => "-".to_owned(),
    }
}

/// `n` and the noun for it: `1 request`, `2 requests`.
pub(super) fn counted(n: impl Into<u128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `3 requests failed: 2 with HTTP 500, 1 with HTTP 503`, or `1 request failed with HTTP 503`:
/// the failed requests by the status their lines logged, never a status no line logged.
pub(super) fn failed_text(count: usize, statuses: &StatusView, lang: Language) -> String {
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
pub(super) fn unmatched_text(count: usize, drift: &Drift, lang: Language) -> String {
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
pub(super) fn suppressed_text(p: &Suppressed, lang: Language) -> String {
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
pub(super) fn commands<'v>(view: &'v View) -> Vec<&'v str> {
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
