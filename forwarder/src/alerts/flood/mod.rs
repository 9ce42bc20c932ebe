//! Flood control: one alert per problem and window, however many batches report it.
//!
//! A broken authorizer fails every request, so a busy API sends the forwarder batch after batch
//! with the same cause. The first batch opens a window for its API (or log group) with a
//! conditional write; batches inside the window only add to its counters, unless their cause tells
//! something the window's alerts did not (see [`verdict`]); the first alert after the window
//! closes says how many failed requests went unreported meanwhile.
//!
//! The state lives in DynamoDB (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>):
//! conditional writes make concurrent invocations agree on who alerts, `ADD` counts atomically,
//! and a TTL attribute lets the table clean itself. If the table cannot be reached the forwarder
//! alerts anyway: a duplicate alert is better than a lost one.

pub mod schedule;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Mutex;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::alerts::group::{Group, Suppressed};
use crate::model::cause::Cause;

/// A problem that is over: its window closed and nothing came for a whole window length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quiet {
    pub key: String,
    /// `api:ACCOUNT:ID`, `log:ACCOUNT:GROUP`, or either without the account.
    pub scope: String,
    /// The most specific cause the window alerted on ([`principal`]).
    pub cause: Cause,
    /// Seconds since the epoch of the last failed request the window saw.
    pub last_seen: i64,
    /// What the window held back after its alert.
    pub suppressed: Suppressed,
    /// A check found the problem ([`is_check_batch`]): only a check that finds it gone reports
    /// it over, never silence (an API nobody calls is quiet and still broken).
    #[serde(skip)]
    pub by_check: bool,
}

/// How a check names the batch of its claims (see [`crate::deploy`]).
pub const CHECK_BATCH_PREFIX: &str = "check:";

/// Whether a claim tag (`CAUSE BATCH`) is a check's.
fn is_check_claim(tag: &str) -> bool {
    tag.split_once(' ')
        .is_some_and(|(_, batch)| batch.starts_with(CHECK_BATCH_PREFIX))
}

/// Whether a window's claims include a check's.
fn by_check<S: AsRef<str>>(claims: &[S]) -> bool {
    claims.iter().any(|c| is_check_claim(c.as_ref()))
}

/// What a window key names: a key is its scope. Keys of the earlier shape (`api:ID#cause`) are
/// not read as one: an API id holds no `#`. (A log group name may, so the table tells those items
/// apart by the `scope` attribute only current windows have; see [`DynamoWindows`].)
pub fn parse_key(key: &str) -> Option<ScopeParts<'_>> {
    match scope_parts(key) {
        ScopeParts::Api { api, .. } if api.contains('#') => None,
        _ if key.starts_with("api:") || key.starts_with("log:") => Some(scope_parts(key)),
        _ => None,
    }
}

/// The cause a recovery note names for a window that alerted on `causes`: a specific one over
/// `unknown`, the first in [`Cause`]'s order when there are several.
pub fn principal(causes: &[Cause]) -> Cause {
    causes
        .iter()
        .copied()
        .filter(|c| *c != Cause::Unknown)
        .min()
        .unwrap_or(Cause::Unknown)
}

/// The answer to "may this group alert?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A new window is open, with this group's cause alerted; alert, and report what the previous
    /// one suppressed.
    Opened { previous: Option<Suppressed> },
    /// A window is open already; [`verdict`] decides from what it holds.
    Open(OpenWindow),
}

/// What an open window holds, as [`verdict`] needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenWindow {
    /// The causes alerted in it, in [`Cause`]'s order.
    pub alerted: Vec<Cause>,
    /// This batch's claim on this cause, when it made one in this window.
    pub claim: Option<Claim>,
}

/// A batch's claim to alert on a cause in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Claimed; not known to have been published (the answer to the claim may have been lost, or
    /// the process ended before the mark).
    Pending,
    /// Its alert was published ([`AlertWindows::mark_sent`]).
    Sent,
}

/// What a group does in an open window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its own claim, not known to be published: alert (again) rather than risk none.
    Alert,
    /// Its own claim, published: a redelivery, already alerted and counted; stay quiet.
    Repeat,
    /// A cause the window has not alerted on and that adds to what it did: claim it, then alert.
    Claim,
    /// Nothing new: count it into the window.
    Count,
}

/// Decides a group in an open window from its cause, the causes alerted there and its batch's
/// claim. `unknown` adds nothing once any cause was alerted; a specific cause after `unknown`
/// says what broke, so it alerts, in the same thread.
pub fn verdict(cause: Cause, window: &OpenWindow) -> Verdict {
    match window.claim {
        Some(Claim::Sent) => Verdict::Repeat,
        Some(Claim::Pending) => Verdict::Alert,
        None if adds_information(cause, &window.alerted) => Verdict::Claim,
        None => Verdict::Count,
    }
}

/// Whether an alert on `cause` tells something the alerts on `alerted` did not.
pub fn adds_information(cause: Cause, alerted: &[Cause]) -> bool {
    !alerted.contains(&cause) && (cause != Cause::Unknown || alerted.is_empty())
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FloodError {
    /// The window closed between the two steps; open a new one.
    #[error("the window closed meanwhile")]
    WindowClosed,
    #[error("{0}")]
    Store(String),
}

/// The two writes flood control needs.
pub trait AlertWindows: Sync {
    /// Opens a window on `key` from `now` until `until` (seconds) for `batch`, with `cause`
    /// claimed by it, unless one is open; an open window comes back as it is.
    fn open(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<Opening, FloodError>> + Send;

    /// Claims `cause` for `batch` in the window open on `key`, if it is open and the claim still
    /// [`adds_information`] (checked by the write, so concurrent invocations agree); false when
    /// it does not or the window closed.
    fn claim(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> impl Future<Output = Result<bool, FloodError>> + Send;

    /// Records that the alert `batch` claimed for `cause` on `key` was published, so a
    /// redelivery of the batch stays quiet.
    fn mark_sent(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
    ) -> impl Future<Output = Result<(), FloodError>> + Send;

    /// Adds a suppressed batch to the open window on `key`.
    fn add(
        &self,
        key: &str,
        now: i64,
        failed_requests: u64,
        sample_request_ids: &[String],
    ) -> impl Future<Output = Result<(), FloodError>> + Send;

    /// Withdraws `batch`'s claim on `cause` in the window on `key`, and ends the window at `now`
    /// if `batch` opened it and no claim is left: the alert did not go out.
    fn release(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> impl Future<Output = Result<(), FloodError>> + Send;

    /// The problems over by `now`: window closed, nothing for `quiet` seconds, not yet reported.
    fn quiet(
        &self,
        now: i64,
        quiet: i64,
    ) -> impl Future<Output = Result<Vec<Quiet>, FloodError>> + Send;

    /// Records that the recovery of the window opened at `opened_at` was reported; false when
    /// someone else did, or a new window opened meanwhile.
    fn mark_recovered(
        &self,
        key: &str,
        opened_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, FloodError>> + Send;

    /// Whether a window waits for its recovery to be reported (open, or closed and not yet
    /// reported) by the recovery schedule ([`crate::alerts::flood::schedule`]), which must run while one does.
    /// A window a check found waits for a check instead.
    fn pending(&self) -> impl Future<Output = Result<bool, FloodError>> + Send;

    /// The window on `key`, open or closed, whose recovery is not yet reported: a check that
    /// finds the problem gone reports it over ([`crate::deploy`]).
    fn unreported(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Quiet>, FloodError>> + Send;
}

/// The key of a problem, its scope: the API when the lines name it, else the log group, in the
/// account that delivered them. One key per API whatever the cause and whichever log (access or
/// execution) saw it, so one incident has one window and one thread. The account is the batch's
/// owner when it is an account id, never a line's own `$context.accountId`: in an organisation
/// (infra/org) a member account's lines naming another account's API id must not join that API's
/// window. Without an owner (a scan of a file) the lines' account stands in.
/// A group holds one API at most ([`crate::alerts::group::group`]), so the key does not depend on which
/// of several APIs failed first.
pub fn key(group: &Group) -> String {
    let is_account = |a: &&str| crate::text::shape::is_account_id(a);
    let account = group
        .owner
        .as_deref()
        .filter(is_account)
        .or_else(|| group.account_id.as_deref().filter(is_account));
    match (group.api_ids.first(), group.log_group.as_deref(), account) {
        (Some(api), _, Some(account)) => format!("api:{account}:{api}"),
        (Some(api), _, None) => format!("api:{api}"),
        (None, Some(g), Some(account)) => format!("log:{account}:{g}"),
        (None, Some(g), None) => format!("log:{g}"),
        (None, None, _) => "log:-".to_owned(),
    }
}

/// What a scope names, for people: an API id or a log group, and the account it is in (API ids
/// and log group names hold no `:`, so the first one after the kind ends an account id).
pub fn scope_parts(scope: &str) -> ScopeParts<'_> {
    match scope.split_once(':') {
        Some(("api", rest)) => match rest.split_once(':') {
            Some((account, api)) if crate::text::shape::is_account_id(account) => ScopeParts::Api {
                account: Some(account),
                api,
            },
            _ => ScopeParts::Api {
                account: None,
                api: rest,
            },
        },
        Some(("log", rest)) => match rest.split_once(':') {
            Some((account, group)) if crate::text::shape::is_account_id(account) => {
                ScopeParts::LogGroup {
                    account: Some(account),
                    group,
                }
            }
            _ => ScopeParts::LogGroup {
                account: None,
                group: rest,
            },
        },
        _ => ScopeParts::LogGroup {
            account: None,
            group: scope,
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeParts<'a> {
    Api {
        account: Option<&'a str>,
        api: &'a str,
    },
    LogGroup {
        account: Option<&'a str>,
        group: &'a str,
    },
}

/// Names a delivery by its first event that may hold a finding: CloudWatch Logs gives every event
/// an id unique in its log group, so a batch delivered again (a retry, a Kinesis record read again)
/// keeps its name and no other batch has it.
pub fn batch_id(log_group: &str, log_stream: &str, first_event_id: &str) -> String {
    format!("{log_group}|{log_stream}|{first_event_id}")
}

/// What [`gate`] did: how many groups it held back, which windows it opened, and the groups it
/// did not reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    pub suppressed: usize,
    /// Groups [`gate_within`] stopped before, in their order: neither let through nor held back.
    pub left: Vec<Group>,
    /// The (key, cause) claims this gate made, all at `at`, for `batch`.
    claimed: HashSet<(String, Cause)>,
    at: i64,
    batch: String,
}

/// Windows [`gate_within`] asks about per alert it may let through, at most: past this many
/// answers of "already open" the rest are left, so a batch of thousands of problems costs a
/// bounded number of calls to the store.
pub const DECISIONS_PER_ALERT: usize = 4;

impl Gate {
    /// Withdraws the claim this invocation made for `group` (and ends the window it opened with
    /// it), when its alert could not be sent: the retry must alert, not count itself as a repeat.
    pub async fn release<W: AlertWindows>(&self, windows: &W, group: &Group) {
        let key = key(group);
        if self.claimed.contains(&(key.clone(), group.cause))
            && let Err(e) = windows
                .release(&key, &self.batch, group.cause, self.at)
                .await
        {
            tracing::warn!(key, error = %e, "window not closed after a failed publish");
        }
    }

    /// Marks the claim made for `group` as published, so a redelivery of this batch (a Lambda
    /// retry after a later publish failed, a Kinesis record read again) stays quiet. Unmarked, the
    /// redelivery alerts again: a duplicate, never a loss.
    pub async fn sent<W: AlertWindows>(&self, windows: &W, group: &Group) {
        let key = key(group);
        if self.claimed.contains(&(key.clone(), group.cause))
            && let Err(e) = windows.mark_sent(&key, &self.batch, group.cause).await
        {
            tracing::warn!(key, error = %e, "published alert not marked; a redelivery repeats it");
        }
    }
}

/// Keeps the groups that may alert now, with what their previous window suppressed; counts the
/// others into their open window. Store failures let the group alert (fail open) and are logged.
///
/// `batch` names the delivery (see [`batch_id`]). A window remembers which batch claimed each cause
/// it alerted on, and whether that alert was published ([`Gate::sent`]). A batch that finds its
/// own claim unpublished alerts again: the answer to the claiming write was lost and the SDK sent
/// it again, or the process stopped before the mark; it does not count itself as a repeat of an
/// alert nobody may have received. A batch that finds its claim published (a redelivery) stays
/// quiet and counts nothing, as its requests were alerted on. The window is left as it is, so what
/// other batches counted into it meanwhile waits for the next window's alert (or the recovery
/// note).
pub async fn gate<W: AlertWindows>(
    groups: &mut Vec<Group>,
    windows: &W,
    batch: &str,
    now: i64,
    seconds: u64,
) -> Gate {
    gate_within(groups, windows, batch, now, seconds, usize::MAX).await
}

/// [`gate`], in order, until `max_alerts` groups may alert or `max_alerts` times
/// [`DECISIONS_PER_ALERT`] groups were decided: the groups after that are left, unasked, in
/// [`Gate::left`], for the caller to summarise.
pub async fn gate_within<W: AlertWindows>(
    groups: &mut Vec<Group>,
    windows: &W,
    batch: &str,
    now: i64,
    seconds: u64,
    max_alerts: usize,
) -> Gate {
    let until = now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
    let mut gate = Gate {
        at: now,
        batch: batch.to_owned(),
        ..Gate::default()
    };
    let max_decisions = max_alerts.saturating_mul(DECISIONS_PER_ALERT);
    let mut keep = Vec::with_capacity(groups.len().min(max_alerts));
    let mut pending = groups.drain(..);
    for (decided, mut group) in pending.by_ref().enumerate() {
        if keep.len() >= max_alerts || decided >= max_decisions {
            gate.left.push(group);
            break;
        }
        let key = key(&group);
        match decide(windows, &key, batch, &mut group, now, until).await {
            Decision::Opened => {
                gate.claimed.insert((key, group.cause));
                keep.push(group);
            }
            Decision::FailedOpen => keep.push(group),
            Decision::Suppressed => gate.suppressed += 1,
        }
    }
    gate.left.extend(pending);
    *groups = keep;
    gate
}

enum Decision {
    Opened,
    FailedOpen,
    Suppressed,
}

async fn decide<W: AlertWindows>(
    windows: &W,
    key: &str,
    batch: &str,
    group: &mut Group,
    now: i64,
    until: i64,
) -> Decision {
    // Opening and adding race with other invocations and with the window's end; a few rounds
    // settle it, and if they do not, alerting is the safe side.
    let unavailable = |e: &FloodError| {
        tracing::warn!(key, error = %e, "flood control unavailable; alerting");
        Decision::FailedOpen
    };
    for _ in 0..3 {
        let open = match windows.open(key, batch, group.cause, now, until).await {
            Ok(Opening::Opened { previous }) => {
                group.suppressed_before = previous.filter(|p| p.failed_requests > 0);
                return Decision::Opened;
            }
            Ok(Opening::Open(open)) => open,
            Err(e) => return unavailable(&e),
        };
        match verdict(group.cause, &open) {
            Verdict::Alert => return Decision::Opened,
            Verdict::Repeat => {
                tracing::info!(
                    key,
                    cause = group.cause.code(),
                    "redelivered; alert already sent"
                );
                return Decision::Suppressed;
            }
            Verdict::Claim => match windows.claim(key, batch, group.cause, now).await {
                Ok(true) => return Decision::Opened,
                // Claimed meanwhile, or the window closed: look again.
                Ok(false) => continue,
                Err(e) => return unavailable(&e),
            },
            Verdict::Count => {
                let count = u64::try_from(group.count).unwrap_or(u64::MAX);
                match windows
                    .add(key, now, count, &group.sample_request_ids)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(
                            key,
                            failed_requests = count,
                            "alert suppressed: window open"
                        );
                        return Decision::Suppressed;
                    }
                    Err(FloodError::WindowClosed) => continue,
                    Err(e) => return unavailable(&e),
                }
            }
        }
    }
    Decision::FailedOpen
}

/// Sample request ids a window keeps for the follow-up alert.
pub const MAX_WINDOW_SAMPLES: usize = 10;
/// How long an item outlives its window, so a follow-up can still report it.
pub const TTL_AFTER_WINDOW_SECONDS: i64 = 7 * 24 * 3600;

/// Windows in a DynamoDB table with a string partition key `pk` and TTL on `expires_at`.
///
/// An item holds its window (`window_start`, `window_end`, `opened_by`), its counts, the causes
/// alerted in it (`causes`, a string set) with the claims behind them (`claims`, `CAUSE BATCH`)
/// and the claims whose alerts were published (`sent`), and its key again in `scope`. Items
/// written under the earlier key shape (`api:ID#cause`) lack `scope`: they still work as windows
/// for no key now in use, the recovery check skips them, and their TTL removes them within a week
/// of their window.
#[derive(Clone, Debug)]
pub struct DynamoWindows {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoWindows {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
        }
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn suppressed_of(item: &HashMap<String, AttributeValue>) -> Suppressed {
    Suppressed {
        failed_requests: u64::try_from(number(item, "suppressed")).unwrap_or(0),
        batches: u64::try_from(number(item, "batches")).unwrap_or(0),
        window_start: number(item, "window_start"),
        last_suppressed: number(item, "last_suppressed"),
        sample_request_ids: item
            .get("sample_ids")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
    }
}

fn store_error<E>(e: &SdkError<E, HttpResponse>) -> FloodError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    FloodError::Store(crate::sdk::describe(e))
}

/// How a claim is written in `claims` and `sent`: cause codes hold no space.
fn claim_tag(cause: Cause, batch: &str) -> String {
    format!("{} {batch}", cause.code())
}

fn strings<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a [String] {
    item.get(name)
        .and_then(|v| v.as_ss().ok())
        .map_or(&[], Vec::as_slice)
}

/// Reads an open window as [`verdict`] needs it: the causes it alerted, and `batch`'s claim on
/// `cause`.
fn open_window<S: AsRef<str>>(
    causes: &[S],
    claims: &[S],
    sent: &[S],
    batch: &str,
    cause: Cause,
) -> OpenWindow {
    let mut alerted: Vec<Cause> = causes
        .iter()
        .filter_map(|c| Cause::from_code(c.as_ref()))
        .collect();
    alerted.sort();
    alerted.dedup();
    let tag = claim_tag(cause, batch);
    let has = |set: &[S]| set.iter().any(|t| t.as_ref() == tag);
    let claim = match (has(claims), has(sent)) {
        (_, true) => Some(Claim::Sent),
        (true, false) => Some(Claim::Pending),
        (false, false) => None,
    };
    OpenWindow { alerted, claim }
}

fn ss(value: String) -> AttributeValue {
    AttributeValue::Ss(vec![value])
}

impl DynamoWindows {
    /// Reads the items that match `filter` page by page (`#scope` names the scope attribute,
    /// `:now` is `now` when given), until `visit` breaks or the table is read.
    async fn scan_each(
        &self,
        filter: &str,
        now: Option<i64>,
        projection: Option<&str>,
        mut visit: impl FnMut(&HashMap<String, AttributeValue>) -> ControlFlow<()>,
    ) -> Result<(), FloodError> {
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .expression_attribute_names("#scope", "scope")
                .set_projection_expression(projection.map(str::to_owned))
                .set_exclusive_start_key(start.take());
            if let Some(now) = now {
                request = request.expression_attribute_values(":now", n(now));
            }
            let page = request.send().await.map_err(|e| store_error(&e))?;
            for item in page.items() {
                if visit(item).is_break() {
                    return Ok(());
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }
}

impl AlertWindows for DynamoWindows {
    async fn open(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
        until: i64,
    ) -> Result<Opening, FloodError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression(
                "SET #scope = :key, window_start = :now, window_end = :until, expires_at = :ttl, suppressed = :zero, batches = :zero, opened_by = :batch, causes = :cause, claims = :claim REMOVE sample_ids, last_suppressed, recovered_at, sent",
            )
            .condition_expression("attribute_not_exists(pk) OR window_end < :now")
            .expression_attribute_names("#scope", "scope")
            .expression_attribute_values(":key", AttributeValue::S(key.to_owned()))
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":claim", ss(claim_tag(cause, batch)))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":batch", AttributeValue::S(batch.to_owned()))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":ttl", n(until.saturating_add(TTL_AFTER_WINDOW_SECONDS)))
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            // The open window comes back with the refusal, so whose it is costs no second read.
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(out) => {
                // A window whose recovery was reported has told its counts already.
                let previous = out
                    .attributes()
                    .filter(|old| !old.contains_key("recovered_at"))
                    .map(suppressed_of);
                Ok(Opening::Opened { previous })
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let empty = HashMap::new();
                    let item = refused.item().unwrap_or(&empty);
                    Ok(Opening::Open(open_window(
                        strings(item, "causes"),
                        strings(item, "claims"),
                        strings(item, "sent"),
                        batch,
                        cause,
                    )))
                }
                _ => Err(store_error(&e)),
            },
        }
    }

    async fn claim(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<bool, FloodError> {
        // The rule of `adds_information`, checked by the write itself. An empty set is no
        // attribute in DynamoDB.
        let condition = if cause == Cause::Unknown {
            "window_end >= :now AND attribute_not_exists(causes)"
        } else {
            "window_end >= :now AND NOT contains(causes, :code)"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("ADD causes :cause, claims :claim")
            .condition_expression(condition)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":claim", ss(claim_tag(cause, batch)));
        if cause != Cause::Unknown {
            request = request
                .expression_attribute_values(":code", AttributeValue::S(cause.code().to_owned()));
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn mark_sent(&self, key: &str, batch: &str, cause: Cause) -> Result<(), FloodError> {
        let tag = claim_tag(cause, batch);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("ADD sent :tags")
            // Only in the window the claim was made in; a later window is not this batch's.
            .condition_expression("contains(claims, :tag)")
            .expression_attribute_values(":tags", ss(tag.clone()))
            .expression_attribute_values(":tag", AttributeValue::S(tag))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn add(
        &self,
        key: &str,
        now: i64,
        failed_requests: u64,
        sample_request_ids: &[String],
    ) -> Result<(), FloodError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("ADD suppressed :count, batches :one SET last_suppressed = :now")
            .condition_expression("window_end >= :now")
            .expression_attribute_values(":count", AttributeValue::N(failed_requests.to_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                return Err(FloodError::WindowClosed);
            }
            Err(e) => return Err(store_error(&e)),
        };
        // Samples only while the window has few: a string set caps nothing by itself.
        let before = out
            .attributes()
            .map_or(0, |a| number(a, "suppressed"))
            .saturating_sub(i64::try_from(failed_requests).unwrap_or(i64::MAX));
        let ids: Vec<String> = sample_request_ids
            .iter()
            .filter(|id| !id.is_empty())
            .take(MAX_WINDOW_SAMPLES)
            .cloned()
            .collect();
        if before < MAX_WINDOW_SAMPLES as i64 && !ids.is_empty() {
            let samples = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.to_owned()))
                .update_expression("ADD sample_ids :ids")
                .expression_attribute_values(":ids", AttributeValue::Ss(ids))
                .send()
                .await;
            if let Err(e) = samples {
                tracing::warn!(key, error = %store_error(&e), "sample ids not kept");
            }
        }
        Ok(())
    }

    async fn release(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<(), FloodError> {
        let tag = claim_tag(cause, batch);
        let withdrawn = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("DELETE causes :cause, claims :tags")
            .condition_expression("contains(claims, :tag)")
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":tags", ss(tag.clone()))
            .expression_attribute_values(":tag", AttributeValue::S(tag))
            .send()
            .await;
        match withdrawn {
            Ok(_) => {}
            // Someone else's window by now: leave it.
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => return Ok(()),
            Err(e) => return Err(store_error(&e)),
        }
        // A window whose every alert failed ends, so the retry opens the next one and reports
        // what this one counted.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("SET window_end = :ended")
            .condition_expression("opened_by = :batch AND attribute_not_exists(causes)")
            .expression_attribute_values(":ended", n(now.saturating_sub(1)))
            .expression_attribute_values(":batch", AttributeValue::S(batch.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn quiet(&self, now: i64, quiet: i64) -> Result<Vec<Quiet>, FloodError> {
        // The table holds one small item per problem seen in the last week: a filtered scan.
        let mut found = Vec::new();
        self.scan_each(
            "window_end < :now AND attribute_not_exists(recovered_at) AND attribute_exists(#scope)",
            Some(now),
            None,
            |item| {
                let Some(key) = item.get("pk").and_then(|v| v.as_s().ok()) else {
                    return ControlFlow::Continue(());
                };
                if parse_key(key).is_none() {
                    return ControlFlow::Continue(());
                }
                let causes: Vec<Cause> = strings(item, "causes")
                    .iter()
                    .filter_map(|c| Cause::from_code(c))
                    .collect();
                let suppressed = suppressed_of(item);
                let last_seen = suppressed.window_start.max(suppressed.last_suppressed);
                if now.saturating_sub(last_seen) >= quiet && !by_check(strings(item, "claims")) {
                    found.push(Quiet {
                        key: key.clone(),
                        scope: key.clone(),
                        cause: principal(&causes),
                        last_seen,
                        suppressed,
                        by_check: false,
                    });
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn pending(&self) -> Result<bool, FloodError> {
        let mut pending = false;
        self.scan_each(
            "attribute_not_exists(recovered_at) AND attribute_exists(#scope)",
            None,
            Some("pk, claims"),
            |item| {
                // The same keys the recovery check reports; any other item it never will.
                let key = item.get("pk").and_then(|v| v.as_s().ok());
                pending = key.is_some_and(|k| parse_key(k).is_some())
                    && !by_check(strings(item, "claims"));
                if pending {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await?;
        Ok(pending)
    }

    async fn unreported(&self, key: &str) -> Result<Option<Quiet>, FloodError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&e))?;
        let Some(item) = item.item() else {
            return Ok(None);
        };
        if item.contains_key("recovered_at") || !item.contains_key("scope") {
            return Ok(None);
        }
        let causes: Vec<Cause> = strings(item, "causes")
            .iter()
            .filter_map(|c| Cause::from_code(c))
            .collect();
        let suppressed = suppressed_of(item);
        Ok(Some(Quiet {
            key: key.to_owned(),
            scope: key.to_owned(),
            cause: principal(&causes),
            last_seen: suppressed.window_start.max(suppressed.last_suppressed),
            by_check: by_check(strings(item, "claims")),
            suppressed,
        }))
    }

    async fn mark_recovered(
        &self,
        key: &str,
        opened_at: i64,
        now: i64,
    ) -> Result<bool, FloodError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("SET recovered_at = :now")
            .condition_expression("window_start = :opened AND attribute_not_exists(recovered_at)")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":opened", n(opened_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(store_error(&e)),
        }
    }
}

/// Flood control that never suppresses: for tests, and when no table is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Off;

impl AlertWindows for Off {
    async fn open(
        &self,
        _: &str,
        _: &str,
        _: Cause,
        _: i64,
        _: i64,
    ) -> Result<Opening, FloodError> {
        Ok(Opening::Opened { previous: None })
    }

    async fn claim(&self, _: &str, _: &str, _: Cause, _: i64) -> Result<bool, FloodError> {
        Ok(true)
    }

    async fn mark_sent(&self, _: &str, _: &str, _: Cause) -> Result<(), FloodError> {
        Ok(())
    }

    async fn add(&self, _: &str, _: i64, _: u64, _: &[String]) -> Result<(), FloodError> {
        Ok(())
    }

    async fn release(&self, _: &str, _: &str, _: Cause, _: i64) -> Result<(), FloodError> {
        Ok(())
    }

    async fn quiet(&self, _: i64, _: i64) -> Result<Vec<Quiet>, FloodError> {
        Ok(Vec::new())
    }

    async fn mark_recovered(&self, _: &str, _: i64, _: i64) -> Result<bool, FloodError> {
        Ok(false)
    }

    async fn pending(&self) -> Result<bool, FloodError> {
        Ok(false)
    }

    async fn unreported(&self, _: &str) -> Result<Option<Quiet>, FloodError> {
        Ok(None)
    }
}

/// Windows in memory, with the same rules as the table.
#[derive(Debug, Default)]
pub struct MemoryWindows {
    state: Mutex<HashMap<String, MemoryWindow>>,
    /// When set, every call fails with this.
    pub failure: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct MemoryWindow {
    end: i64,
    opened_by: String,
    counted: Suppressed,
    recovered: bool,
    causes: Vec<String>,
    claims: Vec<String>,
    sent: Vec<String>,
}

impl MemoryWindows {
    /// A store whose every call fails with `reason`.
    pub fn failing(reason: impl Into<String>) -> Self {
        Self {
            failure: Some(reason.into()),
            ..Self::default()
        }
    }

    fn state(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, MemoryWindow>>, FloodError> {
        match &self.failure {
            Some(f) => Err(FloodError::Store(f.clone())),
            None => Ok(self.state.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }
}

impl AlertWindows for MemoryWindows {
    async fn open(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
        until: i64,
    ) -> Result<Opening, FloodError> {
        let mut state = self.state()?;
        if let Some(open) = state.get(key).filter(|w| w.end >= now) {
            return Ok(Opening::Open(open_window(
                &open.causes,
                &open.claims,
                &open.sent,
                batch,
                cause,
            )));
        }
        let previous = state
            .get(key)
            .filter(|w| !w.recovered)
            .map(|w| w.counted.clone());
        state.insert(
            key.to_owned(),
            MemoryWindow {
                end: until,
                opened_by: batch.to_owned(),
                counted: Suppressed {
                    window_start: now,
                    ..Suppressed::default()
                },
                recovered: false,
                causes: vec![cause.code().to_owned()],
                claims: vec![claim_tag(cause, batch)],
                sent: Vec::new(),
            },
        );
        Ok(Opening::Opened { previous })
    }

    async fn claim(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<bool, FloodError> {
        let mut state = self.state()?;
        let Some(w) = state.get_mut(key).filter(|w| w.end >= now) else {
            return Ok(false);
        };
        let alerted = open_window(&w.causes, &w.claims, &w.sent, batch, cause).alerted;
        if !adds_information(cause, &alerted) {
            return Ok(false);
        }
        w.causes.push(cause.code().to_owned());
        w.claims.push(claim_tag(cause, batch));
        Ok(true)
    }

    async fn mark_sent(&self, key: &str, batch: &str, cause: Cause) -> Result<(), FloodError> {
        let mut state = self.state()?;
        let tag = claim_tag(cause, batch);
        if let Some(w) = state.get_mut(key)
            && w.claims.contains(&tag)
            && !w.sent.contains(&tag)
        {
            w.sent.push(tag);
        }
        Ok(())
    }

    async fn add(
        &self,
        key: &str,
        now: i64,
        failed_requests: u64,
        ids: &[String],
    ) -> Result<(), FloodError> {
        let mut state = self.state()?;
        match state.get_mut(key) {
            Some(w) if w.end >= now => {
                let s = &mut w.counted;
                s.failed_requests = s.failed_requests.saturating_add(failed_requests);
                s.batches = s.batches.saturating_add(1);
                s.last_suppressed = now;
                for id in ids {
                    if s.sample_request_ids.len() < MAX_WINDOW_SAMPLES
                        && !s.sample_request_ids.contains(id)
                    {
                        s.sample_request_ids.push(id.clone());
                    }
                }
                Ok(())
            }
            _ => Err(FloodError::WindowClosed),
        }
    }

    async fn release(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<(), FloodError> {
        let mut state = self.state()?;
        let tag = claim_tag(cause, batch);
        if let Some(w) = state.get_mut(key)
            && w.claims.contains(&tag)
        {
            w.claims.retain(|t| *t != tag);
            w.causes.retain(|c| c != cause.code());
            if w.opened_by == batch && w.causes.is_empty() {
                w.end = now.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn quiet(&self, now: i64, quiet: i64) -> Result<Vec<Quiet>, FloodError> {
        let state = self.state()?;
        let mut found: Vec<Quiet> = state
            .iter()
            .filter(|(_, w)| w.end < now && !w.recovered && !by_check(&w.claims))
            .filter_map(|(key, w)| {
                parse_key(key)?;
                let causes: Vec<Cause> = w
                    .causes
                    .iter()
                    .filter_map(|c| Cause::from_code(c))
                    .collect();
                let last_seen = w.counted.window_start.max(w.counted.last_suppressed);
                (now.saturating_sub(last_seen) >= quiet).then(|| Quiet {
                    key: key.clone(),
                    scope: key.clone(),
                    cause: principal(&causes),
                    last_seen,
                    suppressed: w.counted.clone(),
                    by_check: false,
                })
            })
            .collect();
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn mark_recovered(&self, key: &str, opened_at: i64, _: i64) -> Result<bool, FloodError> {
        let mut state = self.state()?;
        match state.get_mut(key) {
            Some(w) if w.counted.window_start == opened_at && !w.recovered => {
                w.recovered = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn pending(&self) -> Result<bool, FloodError> {
        let state = self.state()?;
        Ok(state
            .iter()
            .any(|(key, w)| !w.recovered && parse_key(key).is_some() && !by_check(&w.claims)))
    }

    async fn unreported(&self, key: &str) -> Result<Option<Quiet>, FloodError> {
        let state = self.state()?;
        Ok(state.get(key).filter(|w| !w.recovered).map(|w| {
            let causes: Vec<Cause> = w
                .causes
                .iter()
                .filter_map(|c| Cause::from_code(c))
                .collect();
            Quiet {
                key: key.to_owned(),
                scope: key.to_owned(),
                cause: principal(&causes),
                last_seen: w.counted.window_start.max(w.counted.last_suppressed),
                suppressed: w.counted.clone(),
                by_check: by_check(&w.claims),
            }
        }))
    }
}

#[cfg(test)]
mod tests;
