//! Grouping: the findings of one invocation, one group per log group and cause, with what flood
//! control held back since the problem's last alert. Every later stage reads a group.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::config::is_api_id;
use crate::diagnose::Diagnosis;
use crate::model::cause::Cause;
use crate::model::finding::{Finding, Scan};
use crate::text::escape::truncate;
use crate::text::shape;

/// Bounds on what one alert carries from the log, lowered step by step when the message is too big.
/// Every field from the log or the event is bounded by one of them, so the floor bounds the whole
/// message whatever the input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) samples: usize,
    pub(crate) errors: usize,
    pub(crate) routes: usize,
    /// API ids, stages, diagnosed authorizers and their checks, request ids flood control kept;
    /// 0 leaves the diagnosis out.
    pub(crate) items: usize,
    pub(crate) text_bytes: usize,
}

pub(crate) const START_LIMITS: Limits = Limits {
    samples: usize::MAX,
    errors: 10,
    routes: 20,
    items: 10,
    text_bytes: 2000,
};

/// What a window kept quiet, reported by the next alert for the same problem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// Failed requests not alerted on.
    pub failed_requests: u64,
    /// Batches (invocations) they came in.
    pub batches: u64,
    /// Seconds since the epoch of the window's start and of the last suppressed batch.
    pub window_start: i64,
    pub last_suppressed: i64,
    pub sample_request_ids: Vec<String>,
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
    /// account of the problem's key and thread ([`crate::alerts::flood::key`]), which no line can choose.
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
    // (cause, log group, API): what makes a group.
    type Key<'f> = (Cause, Option<&'f str>, Option<&'f str>);
    let mut index: HashMap<Key, usize> = HashMap::new();
    // A batch's findings mostly repeat the group before them: that one is compared first, and
    // only another is hashed.
    let mut last: Option<(Key, usize)> = None;
    for f in findings {
        let api = f.api_id().filter(|a| is_api_id(a));
        let key = (f.cause, f.log_group.as_deref(), api);
        let at = match last {
            Some((seen, at)) if seen == key => at,
            _ => *index.entry(key).or_insert_with(|| {
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
            }),
        };
        last = Some((key, at));
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
