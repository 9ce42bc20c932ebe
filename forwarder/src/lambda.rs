//! Running as a Lambda function behind a CloudWatch Logs subscription filter.

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::alerts::flood::DynamoWindows;
use crate::alerts::flood::schedule::{self, EventBridgeSchedule};
use crate::alerts::publish::SnsPublisher;
use crate::config::Config;
use crate::deploy::{
    Checkers,
    aws::{AwsCatalog, AwsProber},
};
use crate::diagnose::inspect::{self, AwsInspector, Cached, INSPECT_CACHE_TTL};
use crate::forward::{ForwardError, Services, handle_event, handle_kinesis, handle_recovery};
use crate::metrics::{self, Recorder, Tally};
use crate::sources::{self, EventKind};

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
    let inflate_cap = sources::inflate_cap_from_env(memory_size.as_deref());
    sources::set_inflate_cap(inflate_cap);
    tracing::info!(
        memory_size = memory_size.as_deref().unwrap_or("unset"),
        inflate_cap,
        "payloads larger than inflate_cap bytes are refused"
    );
    let config = Config::from_env(true).inspect_err(|e| {
        if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
            report_init_error(&api, "ConfigInvalid", &e.to_string());
        }
        // Last, so the reason is the log's last line whatever the Runtime API answered.
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
    // The recovery schedule, switched only where the stack made one for flood control.
    let schedule = config
        .recovery_rule
        .as_ref()
        .filter(|_| config.flood_control().is_some())
        .map(|rule| EventBridgeSchedule::new(&sdk, rule.clone()));
    let (windows, schedule) = (&windows, &schedule);
    // Checks before traffic: their clients are built by the first event that needs them.
    let check_clients = std::sync::OnceLock::new();
    let (sdk, check_clients) = (&sdk, &check_clients);
    // The summary metrics carry the function's name, so each stack's alarm reads its own.
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    let (config, services, function_name, inspector) =
        (&config, &services, &function_name, &inspector);
    // Each invocation's future is boxed: with the SDK calls of publishing and diagnosis inline,
    // the runtime's future is deeper than the compiler lays out.
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let bytes = event.payload.get().as_bytes();
            let left = time_left(event.context.deadline, SystemTime::now());
            // Each handler stops when this comes: a Kinesis one reports the records left.
            let services = services.until(left.map(|left| Instant::now() + left));
            let recorder = Recorder::default();
            let services = &services.metrics(&recorder);
            let kind = sources::event_kind(bytes);
            let checkers = || {
                let (catalog, prober) =
                    check_clients.get_or_init(|| (AwsCatalog::new(sdk), AwsProber::new(sdk)));
                Checkers {
                    catalog,
                    prober,
                    inspector: inspector.inner(),
                }
            };
            let sweep = (kind == EventKind::Schedule)
                .then(|| crate::sources::changes::scheduled(bytes))
                .flatten()
                .filter(|s| config.sweep_rule.as_deref() == Some(s.rule.as_str()));
            let response = match kind {
                EventKind::Schedule if sweep.is_some() => {
                    let s = sweep.as_ref().expect("checked");
                    let checkers = checkers();
                    Box::pin(checkers.sweep(&s.event_id, &s.account, config, services))
                        .await
                        .map(|o| serde_json::to_value(o).expect("an outcome serialises"))
                }
                EventKind::StackStatus => {
                    let checkers = checkers();
                    Box::pin(checkers.stack_event(bytes, config, services))
                        .await
                        .map(|o| serde_json::to_value(o).expect("an outcome serialises"))
                }
                EventKind::Queue => {
                    let checkers = checkers();
                    Box::pin(checkers.api_changes(bytes, config, services))
                        .await
                        .map(|o| serde_json::to_value(o).expect("a response serialises"))
                }
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
            let tally = recorder.take();
            if let Some(schedule) = schedule {
                if kind == EventKind::Schedule && sweep.is_none() {
                    if response.is_ok()
                        && let Err(e) = schedule::after_recovery(windows, schedule).await
                    {
                        tracing::warn!(error = %e, "recovery schedule left as it was");
                    }
                } else if tally.alerts_published > 0 {
                    schedule::after_alert(schedule).await;
                }
            }
            // Written whatever the outcome: what was scanned was seen, even if a publish failed.
            if let Some(namespace) = &config.metrics_namespace {
                write_metrics(&tally, namespace, function_name.as_deref());
            }
            response.map_err(diagnostic)
        },
    )))
    .await
}

/// Writes the invocation's EMF documents to standard output, which Lambda sends to the function's
/// log group, where CloudWatch Logs extracts the metrics. Each document is one whole line, so it
/// never interleaves with the JSON log lines. A failed write loses metrics, never the invocation.
fn write_metrics(tally: &Tally, namespace: &str, function: Option<&str>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = metrics::write(&mut out, tally, namespace, function);
    let _ = out.flush();
}

/// Kept back from the invocation's deadline, at most. Each SDK call has its own timeouts, but a
/// batch with several problems makes several calls, and a slow AWS could add them up past the
/// function's timeout. Lambda would then stop the process mid-write and start a cold one; this
/// way the invocation answers with an error first, Lambda retries the event, and flood control
/// lets the retry of the same batch alert (see [`crate::alerts::flood::gate`]).
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// The longest timeout Lambda allows: a deadline further away, or already past, is not one
/// Lambda gave, and no limit is set from it.
const MAX_FUNCTION_TIMEOUT: Duration = Duration::from_secs(900);

/// How long the work of an invocation may take: until a tenth of its time, at most
/// [`DEADLINE_MARGIN`], before its deadline (milliseconds since the epoch, as the Runtime API
/// gives it); `None` for a deadline Lambda would not give.
pub fn time_left(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(now)
        .ok()
        .filter(|left| !left.is_zero() && *left <= MAX_FUNCTION_TIMEOUT)?;
    Some(left - DEADLINE_MARGIN.min(left / 10))
}

/// Tells Lambda why the cold start failed
/// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-initerror>), so
/// the invocation's error, and an asynchronous invocation's on-failure record, carry the setting
/// that is wrong instead of a bare `Runtime.ExitError`. Best effort: the log line and the exit
/// follow whether or not the Runtime API answers.
fn report_init_error(api: &str, error_type: &str, message: &str) {
    use std::io::{Read, Write};
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = std::net::TcpStream::connect(api).and_then(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(request.as_bytes())?;
        // Wait for the answer, so the process does not exit before Lambda has the error.
        let mut answer = Vec::new();
        stream.take(4096).read_to_end(&mut answer).map(|_| answer)
    });
    match sent {
        Ok(answer) if answer.starts_with(b"HTTP/1.1 202") => {}
        Ok(answer) => tracing::warn!(
            answer = %String::from_utf8_lossy(&answer).lines().next().unwrap_or(""),
            "the Runtime API refused the init error"
        ),
        Err(e) => tracing::warn!(error = %e, "could not report the init error to the Runtime API"),
    }
}

/// Names the failure kind in the invocation error, so it shows in metrics and on-failure records.
fn diagnostic(e: ForwardError) -> Diagnostic {
    let error_type = match e {
        ForwardError::Decode(_) => "EventRejected",
        ForwardError::Publish { .. } => "PublishFailed",
        ForwardError::Windows(_) => "WindowsUnavailable",
        ForwardError::Deadline => "DeadlineNear",
        ForwardError::Check(crate::forward::CheckError::Event(_)) => "EventRejected",
        ForwardError::Check(_) => "CheckIncomplete",
    };
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// One request read by a loopback Runtime API that answers 202: (request line and headers,
    /// body).
    fn serve_once(listener: std::net::TcpListener) -> std::thread::JoinHandle<(String, String)> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            reader
                .get_mut()
                .write_all(
                    b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}",
                )
                .unwrap();
            (head, String::from_utf8(body).unwrap())
        })
    }

    #[test]
    fn an_invocation_stops_before_its_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let left = |deadline_ms| time_left(deadline_ms, now);
        assert_eq!(left(1_030_000), Some(Duration::from_secs(28)));
        // A short timeout keeps most of its time: a tenth is held back.
        assert_eq!(left(1_003_000), Some(Duration::from_millis(2_700)));
        assert_eq!(left(1_900_000), Some(Duration::from_secs(898)));
        // What Lambda would not give sets no limit: a past deadline, none, seconds for
        // milliseconds, or more than 15 minutes away.
        assert_eq!(left(999_000), None);
        assert_eq!(left(0), None);
        assert_eq!(left(1_030), None);
        assert_eq!(left(1_901_000), None);
    }

    #[test]
    fn a_bad_setting_is_reported_to_the_runtime_api_as_an_init_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let server = serve_once(listener);
        report_init_error(
            &api,
            "ConfigInvalid",
            "MAX_SAMPLES \"ten\" is not a whole number",
        );
        let (head, body) = server.join().unwrap();
        assert!(
            head.starts_with("POST /2018-06-01/runtime/init/error HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("Lambda-Runtime-Function-Error-Type: ConfigInvalid\r\n"),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["errorType"], "ConfigInvalid");
        assert_eq!(
            body["errorMessage"],
            "MAX_SAMPLES \"ten\" is not a whole number"
        );
    }
}
