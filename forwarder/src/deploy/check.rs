//! The check of one API: the checks `doctor` runs, the tries of its authorizers the settings
//! allow, and what set it off.

use std::time::Duration;

use serde::Serialize;

use super::probe::{self, Prober};
use crate::config::Config;
use crate::diagnose::inspect::{self, InspectError, Inspector};
use crate::diagnose::{self, ApiKind, AuthorizerReport, Check, Diagnosis, Proof};
use crate::model::cause::Cause;

/// What set a check off, as AWS wrote it; alerts and outcomes name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A CloudFormation stack finished a deployment.
    Deployment {
        stack_name: String,
        stack_id: String,
        status: String,
        time: Option<String>,
    },
    /// Calls to API Gateway or Lambda made outside CloudFormation, which CloudTrail recorded.
    ApiChange { calls: Vec<String>, by: Vec<String> },
    /// The scheduled sweep.
    Sweep,
}

/// Which tries of an authorizer the settings allow; both run the authorizer's code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    /// `TestInvokeAuthorizer` on REST authorizers.
    pub test_invoke: bool,
    /// Invoking HTTP and WebSocket authorizer functions with a synthetic request.
    pub invoke: bool,
}

impl Probes {
    pub fn from_config(config: &Config) -> Self {
        Self {
            test_invoke: config.test_invoke,
            invoke: config.invoke_authorizers,
        }
    }
}

/// One API, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub api_id: String,
    pub api_kind: ApiKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub authorizers: Vec<AuthorizerReport>,
}

impl Checked {
    /// The causes the checks prove every request on some route would fail with, in [`Cause`]'s
    /// order.
    pub fn failures(&self) -> Vec<Cause> {
        let mut causes: Vec<Cause> = self
            .checks()
            .filter_map(|c| match c.proves {
                Some(Proof::Fails(cause)) => Some(cause),
                _ => None,
            })
            .collect();
        causes.sort();
        causes.dedup();
        causes
    }

    /// Whether the checks prove that no request fails with `cause` any more: no Lambda authorizer
    /// is left on a route, or every one of them passed a check that rules it out and failed none.
    pub fn clears(&self, cause: Cause) -> bool {
        if cause == Cause::FormatMismatch {
            return false;
        }
        self.authorizers.iter().all(|a| {
            a.checks
                .iter()
                .all(|c| !matches!(c.proves, Some(Proof::Fails(_))))
                && a.checks
                    .iter()
                    .any(|c| c.proves == Some(Proof::Clears(cause)))
        })
    }

    /// The authorizers with a problem of any kind, proven or not.
    pub fn with_problems(&self) -> usize {
        self.authorizers.iter().filter(|a| a.has_problems()).count()
    }

    pub fn diagnosis(&self) -> Diagnosis {
        Diagnosis::Checked {
            api_id: self.api_id.clone(),
            api_kind: self.api_kind,
            authorizers: self.authorizers.clone(),
        }
    }

    fn checks(&self) -> impl Iterator<Item = &Check> {
        self.authorizers.iter().flat_map(|a| &a.checks)
    }

    /// The routes of the authorizers whose checks prove `cause`.
    pub(super) fn routes_failing(&self, cause: Cause) -> Vec<String> {
        self.authorizers
            .iter()
            .filter(|a| {
                a.checks
                    .iter()
                    .any(|c| c.proves == Some(Proof::Fails(cause)))
            })
            .flat_map(|a| a.routes.iter().cloned())
            .collect()
    }
}

/// How long one API's check may take, tries included.
pub const CHECK_BUDGET: Duration = Duration::from_secs(20);

/// Checks one API: what `doctor` checks, then each Lambda authorizer tried as `probes` allow.
pub async fn check<I: Inspector, P: Prober>(
    inspector: &I,
    prober: &P,
    api_id: &str,
    probes: Probes,
    budget: Duration,
) -> Result<Checked, InspectError> {
    let work = async {
        let evidence = inspect::gather(inspector, api_id, budget).await?;
        let kind = evidence.api.kind;
        let mut reports = diagnose::check_api(&evidence, None);
        for report in &mut reports {
            let Some(auth) = evidence
                .api
                .authorizers
                .iter()
                .find(|a| a.id == report.authorizer_id)
            else {
                continue;
            };
            let tried = match kind {
                ApiKind::Rest if probes.test_invoke => Some(
                    prober
                        .test_invoke(api_id, &auth.id, &probe::test_request(auth))
                        .await
                        .map(|t| probe::judge_test_invoke(&t)),
                ),
                ApiKind::Http | ApiKind::WebSocket if probes.invoke => match auth.function_arn() {
                    Some(f) => {
                        let route = report.routes.first().map_or("$default", String::as_str);
                        let event = probe::synthetic_event(
                            kind, auth, api_id, &f.region, &f.account, route,
                        );
                        Some(
                            prober
                                .invoke(&f.arn, &event.to_string())
                                .await
                                .map(|inv| probe::judge_response(kind, auth, &inv)),
                        )
                    }
                    None => None,
                },
                _ => None,
            };
            match tried {
                Some(Ok(check)) => {
                    // API Gateway's own answer outweighs our reading of the policy.
                    if check.proves == Some(Proof::Clears(Cause::MissingInvokePermission)) {
                        for c in &mut report.checks {
                            if c.proves == Some(Proof::Fails(Cause::MissingInvokePermission)) {
                                c.proves = None;
                            }
                        }
                    }
                    report.checks.push(check);
                }
                Some(Err(e)) => report.checks.push(Check::problem(
                    format!("the authorizer could not be tried: {e}"),
                    None,
                )),
                None => {}
            }
        }
        Ok(Checked {
            api_id: api_id.to_owned(),
            api_kind: kind,
            name: evidence.api.name.clone(),
            authorizers: reports,
        })
    };
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or(Err(InspectError::TimedOut(budget)))
}
