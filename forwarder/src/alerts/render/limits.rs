//! How much of what came from the log an alert keeps: its bounds are halved until the message fits
//! SNS, and commands are kept whole or left out.

use crate::alerts::group::{Limits, START_LIMITS, Suppressed};
use crate::diagnose::{AuthorizerReport, Check, Diagnosis};
use crate::text::escape::truncate;
use crate::text::shape;

/// A command longer than any that AWS identifiers can make is not shown; a cut command would be a
/// different command.
const MAX_COMMAND_BYTES: usize = 2048;

/// Where halving stops.
pub(super) const FLOOR_LIMITS: Limits = Limits {
    samples: 0,
    errors: 1,
    routes: 1,
    items: 1,
    text_bytes: 64,
};

/// The last resort: what the alert is about, with a few bytes of each text.
pub(super) const BARE_LIMITS: Limits = Limits {
    samples: 0,
    errors: 1,
    routes: 0,
    items: 0,
    text_bytes: 16,
};

impl Limits {
    /// Half of each bound, never below the floor.
    pub(super) fn halved(self, samples_held: usize) -> Self {
        Limits {
            samples: samples_held.min(self.samples) / 2,
            errors: (self.errors / 2).max(FLOOR_LIMITS.errors),
            routes: (self.routes / 2).max(FLOOR_LIMITS.routes),
            items: (self.items / 2).max(FLOOR_LIMITS.items),
            text_bytes: (self.text_bytes / 2).max(FLOOR_LIMITS.text_bytes),
        }
    }

    pub(super) fn cut<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        truncate(s, self.text_bytes)
    }
}

/// A copy of the diagnosis within the limits an alert starts from.
pub(crate) fn bounded_diagnosis(d: &Diagnosis) -> Diagnosis {
    trim_diagnosis(d, START_LIMITS)
}

/// A copy of the diagnosis within the limits. Commands are kept whole or left out: they are built
/// from checked identifiers only, so one longer than any of those can make is not ours.
pub(super) fn trim_diagnosis(d: &Diagnosis, limits: Limits) -> Diagnosis {
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
pub(super) fn is_shown_command(cmd: &str) -> bool {
    cmd.len() <= MAX_COMMAND_BYTES && shape::is_plain_command(cmd)
}

/// A copy of what flood control held back, with at most `items` request ids of `text_bytes`.
pub(super) fn trim_suppressed(p: &Suppressed, items: usize, text_bytes: usize) -> Suppressed {
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
