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

mod dynamo;
mod key;
mod windows;

pub use dynamo::{DynamoWindows, TTL_AFTER_WINDOW_SECONDS};
pub use key::{ScopeParts, batch_id, key, parse_key, scope_parts};
pub use windows::{
    AlertWindows, CHECK_BATCH_PREFIX, Claim, FloodError, MAX_WINDOW_SAMPLES, MemoryWindows, Off,
    OpenWindow, Opening, Quiet, adds_information, principal,
};

use std::collections::HashSet;

use crate::alerts::group::Group;
use crate::model::cause::Cause;

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

#[cfg(test)]
mod tests;
