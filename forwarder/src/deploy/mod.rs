//! Checks before traffic: an API's authorizers checked the moment a deployment finishes, a change
//! is made outside CloudFormation, or the sweep comes round, and an alert for each problem found,
//! before any request fails.
//!
//! Three events start a check, each read from what AWS wrote ([`crate::sources::changes`]): CloudFormation's
//! `Stack Status Change` (every API the stack and its nested stacks created, [`catalog`]), a
//! batch of `AWS API Call via CloudTrail` events gathered by an SQS queue (one check per API
//! however many calls named it), and the sweep's schedule. Each API gets the checks `doctor`
//! runs ([`crate::diagnose::check_api`]) and, when the settings allow, a try of each authorizer
//! ([`probe`]). Only a check that proves a failure alerts ([`crate::diagnose::Proof`]): a policy
//! that could not be read is reported in the outcome, never alerted on.
//!
//! An alert goes through flood control under the problem's key, the same as a traffic alert for
//! that API, so the first failing request later joins its window and thread. A check that finds
//! the problem gone sends the recovery note; silence never does for a problem a check found, as an
//! API nobody calls is quiet and still broken.

pub mod aws;
pub mod catalog;
mod check;
pub mod probe;
pub mod render;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alerts::flood::{self, AlertWindows};
use crate::alerts::group::Group;
use crate::alerts::publish::Publisher;
use crate::config::{Config, Sweep};
use crate::diagnose::inspect::{InspectError, Inspector};
use crate::diagnose::{ApiKind, Proof};
use crate::forward::{CheckError, ForwardError, Services, now_seconds};
use crate::model::cause::Cause;
use crate::sources::changes::{self, Changed};
use catalog::{Catalog, FoundApi};
use probe::Prober;

pub use check::{CHECK_BUDGET, Checked, Probes, Trigger, check};

/// What became of one API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiOutcome {
    pub api_id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Checked: the causes proven (alerted on, or counted into an open window).
    Checked {
        api_kind: ApiKind,
        failures: Vec<Cause>,
        /// Authorizers with a problem no check could prove, reported here and not alerted on.
        unproven_problems: usize,
    },
    /// The API is gone (deleted, or rolled back).
    NotFound,
    /// It could not be read; the invocation fails so the event is tried again.
    Unchecked { reason: String },
}

/// What one check invocation did; the handler's response and its log line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// Why nothing was checked, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    pub apis: Vec<ApiOutcome>,
    /// Problems flood control counted into an open window instead of alerting.
    pub suppressed: usize,
    /// Problems reported over because a check found them gone.
    pub fixed: usize,
    pub message_ids: Vec<String>,
}

/// The AWS calls of a check. Its inspector reads the live API every time: a traffic alert's
/// diagnosis may keep what it read for minutes, but a check is about what was just deployed.
pub struct Checkers<'a, C, P, J> {
    pub catalog: &'a C,
    pub prober: &'a P,
    pub inspector: &'a J,
}

impl<C: Catalog, Q: Prober, J: Inspector> Checkers<'_, C, Q, J> {
    /// Handles a `CloudFormation Stack Status Change` event.
    pub async fn stack_event<P: Publisher, I: Inspector, W: AlertWindows>(
        &self,
        bytes: &[u8],
        config: &Config,
        services: &Services<'_, P, I, W>,
    ) -> Result<CheckOutcome, ForwardError> {
        services
            .in_time(async {
                let change = changes::stack_change(bytes).map_err(CheckError::from)?;
                let trigger = Trigger::Deployment {
                    stack_name: change.stack_name.clone(),
                    stack_id: change.stack_id.clone(),
                    status: change.status.clone(),
                    time: change.time.clone(),
                };
                if !change.finished() {
                    return Ok(CheckOutcome {
                        ignored: Some(format!(
                            "stack status {} is not a finished deployment",
                            change.status
                        )),
                        trigger: Some(trigger),
                        ..CheckOutcome::default()
                    });
                }
                let apis = catalog::stack_apis(self.catalog, &change.stack_id)
                    .await
                    .map_err(|source| CheckError::Stack {
                        stack: change.stack_name.clone(),
                        source,
                    })?;
                let ids: Vec<String> = apis.into_iter().map(|a| a.api_id).collect();
                let batch = format!("{}{}", flood::CHECK_BATCH_PREFIX, change.event_id);
                self.check_and_alert(&ids, trigger, &change.account, &batch, config, services)
                    .await
            })
            .await
    }

    /// Handles the sweep's scheduled event.
    pub async fn sweep<P: Publisher, I: Inspector, W: AlertWindows>(
        &self,
        event_id: &str,
        account: &str,
        config: &Config,
        services: &Services<'_, P, I, W>,
    ) -> Result<CheckOutcome, ForwardError> {
        services
            .in_time(async {
                let ids = match &config.sweep {
                    None => {
                        return Ok(CheckOutcome {
                            ignored: Some("no sweep is set (SWEEP_API_IDS)".to_owned()),
                            ..CheckOutcome::default()
                        });
                    }
                    Some(Sweep::Apis(ids)) => ids.clone(),
                    Some(Sweep::All) => self
                        .catalog
                        .apis()
                        .await
                        .map_err(CheckError::Catalog)?
                        .into_iter()
                        .map(|a: FoundApi| a.api_id)
                        .collect(),
                };
                let batch = format!("{}sweep:{event_id}", flood::CHECK_BATCH_PREFIX);
                self.check_and_alert(&ids, Trigger::Sweep, account, &batch, config, services)
                    .await
            })
            .await
    }

    /// Handles a batch of CloudTrail-recorded calls from the queue: the calls that arrived while the
    /// batch gathered are one burst, checked once per API however many calls named it. A Lambda
    /// permission change is mapped to the APIs whose authorizers call that function.
    pub async fn api_changes<P: Publisher, I: Inspector, W: AlertWindows>(
        &self,
        bytes: &[u8],
        config: &Config,
        services: &Services<'_, P, I, W>,
    ) -> Result<QueueResponse, ForwardError> {
        services
            .in_time(async {
                let records = changes::queue_records(bytes).map_err(CheckError::from)?;
                let mut response = QueueResponse::default();
                // Per API: the messages that named it, so a failed check fails exactly those.
                let mut apis: BTreeMap<String, Vec<String>> = BTreeMap::new();
                let mut functions: BTreeMap<String, Vec<String>> = BTreeMap::new();
                let (mut calls, mut by, mut account) = (Vec::new(), Vec::new(), None);
                for r in &records {
                    match changes::api_call(r.body.as_bytes()) {
                        Err(e) => {
                            tracing::error!(message_id = %r.message_id, error = %e, "record rejected");
                            response.batch_item_failures.push(item(&r.message_id));
                        }
                        Ok(Err(why)) => response.not_checked.push(why.0),
                        Ok(Ok(call)) => {
                            push_once(&mut calls, call.event_name.clone());
                            if let Some(who) = call.by {
                                push_once(&mut by, who);
                            }
                            account.get_or_insert(call.account);
                            let target = match call.changed {
                                Changed::Api(id) => apis.entry(id),
                                Changed::Function(f) => functions.entry(f),
                            };
                            target.or_default().push(r.message_id.clone());
                        }
                    }
                }
                if !functions.is_empty() {
                    match apis_using(self.catalog, services.inspector, functions.keys()).await {
                        Ok(using) => {
                            for (function, ids) in using {
                                for id in ids {
                                    apis.entry(id)
                                        .or_default()
                                        .extend(functions[&function].iter().cloned());
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "APIs using the changed functions unknown");
                            for m in functions.values().flatten() {
                                response.batch_item_failures.push(item(m));
                            }
                        }
                    }
                }
                let Some(account) = account else {
                    return Ok(response);
                };
                calls.truncate(MAX_NAMED);
                by.truncate(MAX_NAMED);
                let ids: Vec<String> = apis.keys().cloned().collect();
                let first = records.first().map_or("", |r| r.message_id.as_str());
                let batch = format!("{}calls:{first}", flood::CHECK_BATCH_PREFIX);
                let trigger = Trigger::ApiChange { calls, by };
                let outcome = self
                    .check_each(&ids, trigger, &account, &batch, config, services)
                    .await?;
                // An API not checked fails the records that named it, so the queue keeps them.
                for a in &outcome.apis {
                    if matches!(a.verdict, Verdict::Unchecked { .. }) {
                        for m in apis.get(&a.api_id).into_iter().flatten() {
                            response.batch_item_failures.push(item(m));
                        }
                    }
                }
                response.outcome = outcome;
                response
                    .batch_item_failures
                    .sort_by(|a, b| a.item_identifier.cmp(&b.item_identifier));
                response.batch_item_failures.dedup();
                Ok(response)
            })
            .await
    }

    /// Checks each API, alerts on what a check proves, and reports over what a check finds gone.
    /// Every API is checked even when one fails; the invocation fails after, naming the APIs not
    /// checked, so a retry checks them (and flood control keeps the others from alerting twice).
    pub async fn check_and_alert<P: Publisher, I: Inspector, W: AlertWindows>(
        &self,
        api_ids: &[String],
        trigger: Trigger,
        account: &str,
        batch: &str,
        config: &Config,
        services: &Services<'_, P, I, W>,
    ) -> Result<CheckOutcome, ForwardError> {
        let outcome = self
            .check_each(api_ids, trigger, account, batch, config, services)
            .await?;
        let unchecked: Vec<(String, String)> = outcome
            .apis
            .iter()
            .filter_map(|a| match &a.verdict {
                Verdict::Unchecked { reason } => Some((a.api_id.clone(), reason.clone())),
                _ => None,
            })
            .collect();
        if unchecked.is_empty() {
            Ok(outcome)
        } else {
            Err(ForwardError::Check(CheckError::Unchecked {
                total: api_ids.len(),
                unchecked,
            }))
        }
    }

    /// [`Checkers::check_and_alert`], leaving the APIs not checked in the outcome (as
    /// [`Verdict::Unchecked`]) for the caller to fail.
    async fn check_each<P: Publisher, I: Inspector, W: AlertWindows>(
        &self,
        api_ids: &[String],
        trigger: Trigger,
        account: &str,
        batch: &str,
        config: &Config,
        services: &Services<'_, P, I, W>,
    ) -> Result<CheckOutcome, ForwardError> {
        let probes = Probes::from_config(config);
        let mut outcome = CheckOutcome {
            trigger: Some(trigger.clone()),
            ..CheckOutcome::default()
        };
        for api_id in api_ids {
            let checked =
                match check(self.inspector, self.prober, api_id, probes, CHECK_BUDGET).await {
                    Ok(c) => c,
                    Err(InspectError::ApiNotFound(_)) => {
                        outcome.apis.push(ApiOutcome {
                            api_id: api_id.clone(),
                            verdict: Verdict::NotFound,
                        });
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(api_id, error = %e, "API not checked");
                        outcome.apis.push(ApiOutcome {
                            api_id: api_id.clone(),
                            verdict: Verdict::Unchecked {
                                reason: e.to_string(),
                            },
                        });
                        continue;
                    }
                };
            let failures = checked.failures();
            let proven = checked
                .authorizers
                .iter()
                .filter(|a| {
                    a.checks
                        .iter()
                        .any(|c| matches!(c.proves, Some(Proof::Fails(_))))
                })
                .count();
            outcome.apis.push(ApiOutcome {
                api_id: api_id.clone(),
                verdict: Verdict::Checked {
                    api_kind: checked.api_kind,
                    failures: failures.clone(),
                    unproven_problems: checked.with_problems() - proven,
                },
            });
            match failures.first() {
                Some(&cause) => {
                    alert_found(
                        &checked,
                        cause,
                        &trigger,
                        account,
                        batch,
                        config,
                        services,
                        &mut outcome,
                    )
                    .await?;
                }
                None => {
                    report_fixed(&checked, &trigger, account, config, services, &mut outcome)
                        .await?
                }
            }
        }
        tracing::info!(outcome = %serde_json::to_string(&outcome).unwrap_or_default(), "checked");
        Ok(outcome)
    }
}

/// The answer to an SQS invocation
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>): the records
/// that failed, so only they are delivered again, and what was checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueResponse {
    pub batch_item_failures: Vec<crate::forward::BatchItemFailure>,
    #[serde(rename = "checked")]
    pub outcome: CheckOutcome,
    /// Records that start no check, each with why.
    pub not_checked: Vec<String>,
}

/// Calls and callers an alert names at most.
const MAX_NAMED: usize = 10;

fn push_once(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn item(message_id: &str) -> crate::forward::BatchItemFailure {
    crate::forward::BatchItemFailure {
        item_identifier: message_id.to_owned(),
    }
}

/// The APIs whose Lambda authorizers call one of `functions` (by name), from one listing of
/// the account's APIs; the inspector's cache keeps a warm function from reading each again.
pub async fn apis_using<'f, C: Catalog, I: Inspector>(
    catalog: &C,
    inspector: &I,
    functions: impl Iterator<Item = &'f String>,
) -> Result<BTreeMap<String, Vec<String>>, InspectError> {
    let functions: Vec<&String> = functions.collect();
    let mut using: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for api in catalog.apis().await? {
        let config = match inspector.api(&api.api_id).await {
            Ok(c) => c,
            Err(InspectError::ApiNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        for a in &config.authorizers {
            if let Some(f) = a.function_arn()
                && let Some(name) = functions.iter().find(|n| ***n == f.name)
            {
                let ids = using.entry((*name).clone()).or_default();
                if !ids.contains(&api.api_id) {
                    ids.push(api.api_id.clone());
                }
            }
        }
    }
    Ok(using)
}

/// The problem as flood control and the alert's thread key it: the API in the account.
fn group_of(checked: &Checked, cause: Cause, account: &str) -> Group {
    Group {
        routes: checked.routes_failing(cause),
        api_ids: vec![checked.api_id.clone()],
        account_id: Some(account.to_owned()),
        owner: Some(account.to_owned()),
        diagnosis: Some(checked.diagnosis()),
        ..Group::empty(cause)
    }
}

#[allow(clippy::too_many_arguments)]
async fn alert_found<P: Publisher, I: Inspector, W: AlertWindows>(
    checked: &Checked,
    cause: Cause,
    trigger: &Trigger,
    account: &str,
    batch: &str,
    config: &Config,
    services: &Services<'_, P, I, W>,
    outcome: &mut CheckOutcome,
) -> Result<(), ForwardError> {
    let mut groups = vec![group_of(checked, cause, account)];
    let gate = match config.flood_control() {
        Some((_, seconds)) => {
            Some(flood::gate(&mut groups, services.windows, batch, now_seconds(), seconds).await)
        }
        None => None,
    };
    outcome.suppressed += gate.as_ref().map_or(0, |g| g.suppressed);
    let Some(group) = groups.first() else {
        return Ok(());
    };
    let alert = render::found(group, checked, trigger, config);
    match services.publisher.publish(&alert).await {
        Ok(id) => {
            tracing::info!(message_id = %id, api_id = %checked.api_id, cause = cause.code(), "found before traffic; alert published");
            services.record(|t| t.alerts_published += 1);
            if let Some(gate) = &gate {
                gate.sent(services.windows, group).await;
            }
            outcome.message_ids.push(id);
            Ok(())
        }
        Err(source) => {
            if let Some(gate) = &gate {
                gate.release(services.windows, group).await;
            }
            Err(ForwardError::Publish {
                published: outcome.message_ids.len(),
                total: outcome.message_ids.len() + 1,
                source,
            })
        }
    }
}

async fn report_fixed<P: Publisher, I: Inspector, W: AlertWindows>(
    checked: &Checked,
    trigger: &Trigger,
    account: &str,
    config: &Config,
    services: &Services<'_, P, I, W>,
    outcome: &mut CheckOutcome,
) -> Result<(), ForwardError> {
    if config.flood_control().is_none() {
        return Ok(());
    }
    let key = flood::key(&group_of(checked, Cause::Unknown, account));
    let window = match services.windows.unreported(&key).await {
        Ok(w) => w,
        Err(e) => {
            // The next check, or the recovery schedule, reports it.
            tracing::warn!(key, error = %e, "flood-control windows unreadable; no recovery note");
            return Ok(());
        }
    };
    let Some(q) = window.filter(|q| checked.clears(q.cause)) else {
        return Ok(());
    };
    let note = crate::alerts::render::render_recovered_because(
        &q,
        config,
        Some(&render::fixed_text(checked, trigger)),
    );
    let id = services
        .publisher
        .publish(&note)
        .await
        .map_err(|source| ForwardError::Publish {
            published: outcome.message_ids.len(),
            total: outcome.message_ids.len() + 1,
            source,
        })?;
    tracing::info!(key, message_id = %id, "fixed; recovery published");
    services.record(|t| t.alerts_published += 1);
    // Marked after publishing: a crash in between repeats the note rather than losing it.
    if let Err(e) = services
        .windows
        .mark_recovered(&key, q.suppressed.window_start, now_seconds())
        .await
    {
        tracing::warn!(key, error = %e, "recovery not recorded");
    }
    outcome.fixed += 1;
    outcome.message_ids.push(id);
    Ok(())
}

#[cfg(test)]
mod tests;
