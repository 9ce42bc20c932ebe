//! The recovery schedule: an EventBridge rule that invokes the function every five minutes so it
//! can report problems that stopped (see [`crate::alerts::flood`]). It runs only while a window is open:
//! the stack creates it disabled, the first alert of a window turns it on, and the recovery check
//! turns it off when no window is left to report, so an idle stack is never invoked
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_EnableRule.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DisableRule.html>).

use std::future::Future;
use std::sync::Mutex;

use crate::alerts::flood::{AlertWindows, FloodError};

/// Turning the rule on or off failed after the SDK's retries.
#[derive(Debug, thiserror::Error)]
#[error("the recovery schedule {rule} could not be turned {state}: {reason}")]
pub struct ScheduleError {
    pub rule: String,
    pub state: &'static str,
    pub reason: String,
}

/// Turns the recovery schedule on or off; both are idempotent.
pub trait RecoverySchedule: Sync {
    fn set(&self, on: bool) -> impl Future<Output = Result<(), ScheduleError>> + Send;
}

/// The stack's EventBridge rule (`RECOVERY_RULE_NAME`).
#[derive(Clone, Debug)]
pub struct EventBridgeSchedule {
    client: aws_sdk_eventbridge::Client,
    rule: String,
}

impl EventBridgeSchedule {
    pub fn new(sdk: &aws_config::SdkConfig, rule: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_eventbridge::Client::new(sdk),
            rule: rule.into(),
        }
    }
}

impl RecoverySchedule for EventBridgeSchedule {
    async fn set(&self, on: bool) -> Result<(), ScheduleError> {
        let result = if on {
            self.client
                .enable_rule()
                .name(&self.rule)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::sdk::describe(&e))
        } else {
            self.client
                .disable_rule()
                .name(&self.rule)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::sdk::describe(&e))
        };
        result.map_err(|reason| ScheduleError {
            rule: self.rule.clone(),
            state: if on { "on" } else { "off" },
            reason,
        })
    }
}

/// No schedule to switch: the command line, and stacks without flood control.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fixed;

impl RecoverySchedule for Fixed {
    async fn set(&self, _: bool) -> Result<(), ScheduleError> {
        Ok(())
    }
}

/// A schedule in memory, for tests: its state and every switch asked of it.
#[derive(Debug, Default)]
pub struct MemorySchedule {
    state: Mutex<(bool, Vec<bool>)>,
}

impl MemorySchedule {
    pub fn is_on(&self) -> bool {
        self.state.lock().expect("not poisoned").0
    }

    pub fn switches(&self) -> Vec<bool> {
        self.state.lock().expect("not poisoned").1.clone()
    }
}

impl RecoverySchedule for MemorySchedule {
    async fn set(&self, on: bool) -> Result<(), ScheduleError> {
        let mut state = self.state.lock().expect("not poisoned");
        state.0 = on;
        state.1.push(on);
        Ok(())
    }
}

/// After an invocation that published an alert: a window may have opened, so the recovery check
/// must run. A failure is logged, not returned: the alert went out, and the next one tries again.
pub async fn after_alert<S: RecoverySchedule>(schedule: &S) {
    if let Err(e) = schedule.set(true).await {
        tracing::error!(error = %e, "recovery notes wait for the next alert");
    }
}

/// After a recovery check: when no window is left to report, the schedule goes off; a window that
/// opened meanwhile (its alert turned the schedule on before this turned it off) is looked for
/// again afterwards and turns it back on. Returns whether the schedule was left on.
pub async fn after_recovery<W: AlertWindows, S: RecoverySchedule>(
    windows: &W,
    schedule: &S,
) -> Result<bool, SettleError> {
    if windows.pending().await? {
        return Ok(true);
    }
    schedule.set(false).await?;
    if windows.pending().await? {
        schedule.set(true).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Why the schedule could not be settled; the next check tries again.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Windows(#[from] FloodError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::flood::MemoryWindows;
    use crate::model::cause::Cause;

    #[tokio::test]
    async fn an_alert_turns_the_schedule_on() {
        let schedule = MemorySchedule::default();
        after_alert(&schedule).await;
        assert!(schedule.is_on());
    }

    #[tokio::test]
    async fn the_schedule_stays_on_while_a_window_waits_for_its_recovery() {
        let windows = MemoryWindows::default();
        windows
            .open(
                "api:123456789012:a1b2c3d4e5",
                "b1",
                Cause::Unknown,
                100,
                1000,
            )
            .await
            .unwrap();
        let schedule = MemorySchedule::default();
        schedule.set(true).await.unwrap();
        assert!(after_recovery(&windows, &schedule).await.unwrap());
        assert!(schedule.is_on());
        assert_eq!(schedule.switches(), [true]);
        // Reported: nothing is left, so the schedule goes off and costs nothing until the next.
        windows
            .mark_recovered("api:123456789012:a1b2c3d4e5", 100, 2000)
            .await
            .unwrap();
        assert!(!after_recovery(&windows, &schedule).await.unwrap());
        assert!(!schedule.is_on());
    }

    #[tokio::test]
    async fn with_no_window_the_schedule_goes_off() {
        let schedule = MemorySchedule::default();
        schedule.set(true).await.unwrap();
        assert!(
            !after_recovery(&MemoryWindows::default(), &schedule)
                .await
                .unwrap()
        );
        assert_eq!(schedule.switches(), [true, false]);
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_leaves_the_schedule_as_it_is() {
        let windows = MemoryWindows::failing("throttled");
        let schedule = MemorySchedule::default();
        schedule.set(true).await.unwrap();
        assert!(after_recovery(&windows, &schedule).await.is_err());
        assert!(schedule.is_on());
    }
}
