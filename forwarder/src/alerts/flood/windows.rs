//! What flood control asks of its store, and the two stores without a table: `Off`, which never
//! holds back, and one in memory that keeps the table's rules.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;

use crate::alerts::group::Suppressed;
use crate::model::cause::Cause;

use super::key::parse_key;

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
    /// A check found the problem ([`CHECK_BATCH_PREFIX`]): only a check that finds it gone reports
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
pub(super) fn by_check<S: AsRef<str>>(claims: &[S]) -> bool {
    claims.iter().any(|c| is_check_claim(c.as_ref()))
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
    /// A window is open already; [`verdict`](super::verdict) decides from what it holds.
    Open(OpenWindow),
}

/// What an open window holds, as [`verdict`](super::verdict) needs it.
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

/// Sample request ids a window keeps for the follow-up alert.
pub const MAX_WINDOW_SAMPLES: usize = 10;

/// How a claim is written in `claims` and `sent`: cause codes hold no space.
pub(super) fn claim_tag(cause: Cause, batch: &str) -> String {
    format!("{} {batch}", cause.code())
}

/// Reads an open window as [`verdict`](super::verdict) needs it: the causes it alerted, and
/// `batch`'s claim on `cause`.
pub(super) fn open_window<S: AsRef<str>>(
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
    pub(super) state: Mutex<HashMap<String, MemoryWindow>>,
    /// When set, every call fails with this.
    pub failure: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct MemoryWindow {
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
