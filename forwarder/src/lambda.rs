//! Running as a Lambda function behind a CloudWatch Logs subscription filter.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::config::Config;
use crate::decode::{self, EventKind};
use crate::flood::DynamoWindows;
use crate::forward::{ForwardError, Services, handle_event, handle_kinesis, handle_recovery};
use crate::inspect::{self, AwsInspector, Cached, INSPECT_CACHE_TTL};
use crate::publish::SnsPublisher;

/// Starts the runtime loop. Configuration is checked once, before the first event: a bad setting
/// fails the cold start with one line instead of failing every batch.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
    // The inflate cap follows the function's memory, so a batch too large for it is refused by
    // name (`EventRejected`) instead of the function being killed for running out of memory.
    let memory_size = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok();
    let inflate_cap = decode::inflate_cap_from_env(memory_size.as_deref());
    decode::set_inflate_cap(inflate_cap);
    tracing::info!(
        memory_size = memory_size.as_deref().unwrap_or("unset"),
        inflate_cap,
        "payloads larger than inflate_cap bytes are refused"
    );
    let config = Config::from_env(true).inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    if let Some(why) = config.format.ambiguity() {
        tracing::warn!(risk = %why, "ACCESS_LOG_FORMAT lets a client blur its own lines");
    }
    let topic = config.topic.clone().expect("required above");
    // The environment is read once. Reads for diagnosis and flood control share short timeouts:
    // neither may hold an alert; the publisher sets its own.
    let sdk = crate::sdk::load_with(
        config.tls_roots,
        config.region.as_deref(),
        inspect::diagnosis_timeouts(),
    )
    .await;
    let publisher = SnsPublisher::from_sdk(&sdk, topic);
    // Kept across warm invocations: a flood of batches asks the API once per few minutes.
    let inspector = Cached::new(AwsInspector::new(&sdk), INSPECT_CACHE_TTL);
    // Only consulted when a table and a window are configured (Config::flood_control).
    let windows = DynamoWindows::new(&sdk, config.state_table.clone().unwrap_or_default());
    let services = Services::new(&publisher)
        .inspector(&inspector)
        .windows(&windows);
    let (config, services) = (&config, &services);
    // Each invocation's future is boxed: with the SDK calls of publishing and diagnosis inline,
    // the runtime's future is deeper than the compiler lays out.
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let bytes = event.payload.get().as_bytes();
            let response = match decode::event_kind(bytes) {
                EventKind::Kinesis => Box::pin(handle_kinesis(bytes, config, services))
                    .await
                    .map(|r| serde_json::to_value(r).expect("a response serialises")),
                EventKind::Subscription => Box::pin(handle_event(bytes, config, services))
                    .await
                    .map(|o| serde_json::to_value(o).expect("an outcome serialises")),
                EventKind::Schedule => Box::pin(handle_recovery(config, services))
                    .await
                    .map(|o| serde_json::to_value(o).expect("an outcome serialises")),
            };
            response.map_err(diagnostic)
        },
    )))
    .await
}

/// Names the failure kind in the invocation error, so it shows in metrics and on-failure records.
fn diagnostic(e: ForwardError) -> Diagnostic {
    let error_type = match e {
        ForwardError::Decode(_) => "EventRejected",
        ForwardError::Publish { .. } => "PublishFailed",
        ForwardError::Windows(_) => "WindowsUnavailable",
    };
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: e.to_string(),
    }
}
