//! The reliability soak: the forwarder's binary in several execution environments at once, as
//! Lambda runs it, behind a proxy that injects faults between it and AWS (moto), fed thousands of
//! generated batches; at the end every flagged line must be in an alert the subscriber received or
//! in the dead-letter queue. RELIABILITY.md has the figures and what each guarantee rests on.
//!
//! `cargo run --release -p forwarder-tests --bin soak -- --help`

mod apis;
mod driver;
mod generate;
mod ledger;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use clap::Parser;
use forwarder_tests::emf;
use forwarder_tests::fault_proxy::{DownWindow, FaultKind, FaultPlan, FaultProxy, summary};
use forwarder_tests::{SerialMoto, create_queue, create_windows_table, root, sdk_config};
use rand::{RngExt, SeedableRng};
use rand_xorshift::XorShiftRng;

use driver::{DeadLetters, Driver, MEMORY_MB};
use ledger::Seen;

#[derive(Parser, Debug)]
#[command(
    about = "Soaks the forwarder under injected faults and accounts for every flagged line",
    args_override_self = true
)]
struct Args {
    /// Seeds the batches, the faults and the outage windows.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Batches to generate (jobs; Kinesis jobs hold several records).
    #[arg(long, default_value_t = 300)]
    batches: usize,
    /// Execution environments running at once (concurrent invocations).
    #[arg(long, default_value_t = 4)]
    environments: usize,
    /// Share of requests to AWS that get a fault.
    #[arg(long, default_value_t = 0.15)]
    fault_rate: f64,
    /// Longest injected delay, in milliseconds (the publisher's attempt timeout is 5 s).
    #[arg(long, default_value_t = 6000)]
    max_delay_ms: u64,
    /// Problems that many batches report at once, for flood control.
    #[arg(long, default_value_t = 6)]
    floods: usize,
    /// Seconds into the run within which each service's outage starts.
    #[arg(long, default_value_t = 20)]
    outage_within: u64,
    /// The first retry's delay in milliseconds (Lambda waits a minute; the second retry twice as
    /// long).
    #[arg(long, default_value_t = 1000)]
    retry_delay_ms: u64,
    /// The forwarder binary; built (debug) when not given.
    #[arg(long)]
    forwarder: Option<PathBuf>,
    /// Prints the event of one batch (by its number) and exits, to replay it on its own.
    #[arg(long)]
    dump: Option<usize>,
    /// Where to write the figures as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
}

const TOPIC: &str = "soak-alerts";
const TABLE: &str = "soak-alert-windows";

struct SqsDeadLetters {
    handle: tokio::runtime::Handle,
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetters for SqsDeadLetters {
    fn write(&self, record: serde_json::Value) {
        // The harness's own queue, reached without faults: losing a record here would be ours.
        self.handle
            .block_on(
                self.sqs
                    .send_message()
                    .queue_url(&self.url)
                    .message_body(record.to_string())
                    .send(),
            )
            .expect("the dead-letter queue takes the record");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    if let Some(n) = args.dump {
        let mut rng = XorShiftRng::seed_from_u64(args.seed);
        let apis: Vec<String> = (0..args.floods).map(|n| format!("api{n:07}")).collect();
        let plan = generate::plan(&mut rng, args.batches, &apis);
        let Some(job) = plan.jobs.get(n) else {
            eprintln!(
                "soak: batch {n} is not among the {} generated",
                plan.jobs.len()
            );
            return ExitCode::FAILURE;
        };
        let event = match &job.input {
            generate::Input::Async(bytes) => bytes.clone(),
            generate::Input::Kinesis(records) => generate::kinesis_event(records),
        };
        println!("{}", String::from_utf8_lossy(&event));
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let bin = args
        .forwarder
        .clone()
        .unwrap_or_else(|| forwarder_tests::forwarder_bin().to_path_buf());
    let moto = SerialMoto::start();
    let upstream: std::net::SocketAddr = moto
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("moto's address");
    let aws = runtime.block_on(sdk_config(&moto.endpoint));
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let (topic_arn, alerts_url, dlq_url) = runtime.block_on(resources(&aws));

    let mut rng = XorShiftRng::seed_from_u64(args.seed);
    let flood_apis = runtime.block_on(apis::create(&aws, args.floods));
    let plan = generate::plan(&mut rng, args.batches, &flood_apis);
    let outage = |rng: &mut XorShiftRng, service: &str| {
        let from = rng.random_range(2..=args.outage_within.max(3));
        DownWindow {
            service: service.to_owned(),
            from: Duration::from_secs(from),
            until: Duration::from_secs(from + rng.random_range(2..=5)),
        }
    };
    let down = ["sns", "dynamodb", "apigateway"]
        .iter()
        .map(|s| outage(&mut rng, s))
        .collect();
    let proxy = FaultProxy::start(
        upstream,
        FaultPlan {
            seed: args.seed,
            rate: args.fault_rate,
            kinds: FaultKind::ALL.to_vec(),
            max_delay: Duration::from_millis(args.max_delay_ms),
            down,
        },
    );
    let log_dir = root().join("tests/.run/soak");
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir).expect("log dir");
    let settings: Vec<(String, String)> = [
        ("ALERT_TOPIC_ARN", topic_arn.as_str()),
        ("ALERT_LABEL", "soak"),
        ("MAX_SAMPLES", "100"),
        ("ACCESS_LOG_FORMAT", generate::FORMAT),
        ("DIAGNOSE", "true"),
        // The longest window, so one window spans the whole run and every extra alert is counted.
        ("ALERT_WINDOW_SECONDS", "86400"),
        ("ALERT_STATE_TABLE", TABLE),
        ("AWS_ENDPOINT_URL", &proxy.endpoint()),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let dead_letters = SqsDeadLetters {
        handle: runtime.handle().clone(),
        sqs: sqs.clone(),
        url: dlq_url.clone(),
    };
    let driver = Driver {
        bin: &bin,
        settings,
        environments: args.environments,
        log_dir: log_dir.clone(),
        retry_delay: Duration::from_millis(args.retry_delay_ms),
        dead_letters: &dead_letters,
        counts: driver::Counts::default(),
    };
    eprintln!(
        "soak: seed {}, {} batches, {} environments, fault rate {}, through {}",
        args.seed,
        plan.jobs.len(),
        args.environments,
        args.fault_rate,
        proxy.endpoint()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let collector = runtime.spawn(collect(sqs.clone(), alerts_url.clone(), stop.clone()));
    proxy.set_faults(true);
    let deliveries = driver.run(&plan.jobs);
    proxy.set_faults(false);
    let driven = started.elapsed();
    // A request the proxy still holds (a delay, a slow read) may yet reach moto: the queues and
    // the table are read only once every request is done.
    let records = proxy
        .settled_records(Duration::from_millis(args.max_delay_ms) * 2 + Duration::from_secs(30));
    let unsettled = records.iter().filter(|r| !r.done).count();

    stop.store(true, Relaxed);
    let mut received = runtime.block_on(collector).expect("the collector ends");
    received.extend(runtime.block_on(drain(&sqs, &alerts_url)));
    let alerts: Vec<Seen> = received
        .iter()
        .filter_map(|b| Seen::from_envelope(b))
        .collect();
    let unreadable_alerts = received.len() - alerts.len();
    let dead: Vec<serde_json::Value> = runtime
        .block_on(drain(&sqs, &dlq_url))
        .iter()
        .map(|b| serde_json::from_str(b).expect("our own dead-letter record"))
        .collect();
    let windows = runtime.block_on(window_counts(&aws));
    let counts = &driver.counts;
    let logs: Vec<String> = counts
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let failed_open = failed_open(&logs);
    let ledger = ledger::reconcile(
        &plan,
        &deliveries,
        &ledger::Evidence {
            alerts: &alerts,
            dead_letters: &dead,
            proxy: &records,
            window_counts: &windows,
            failed_open: &failed_open,
        },
    );

    // The metrics the environments wrote, read as CloudWatch Logs would read them.
    let metrics: Result<Vec<emf::Datum>, String> = logs
        .iter()
        .map(|l| emf::extract_all(l))
        .collect::<Result<Vec<_>, _>>()
        .map(|each| each.into_iter().flatten().collect());
    // Every datum carries the function's name; a summary counts the failed requests of an
    // invocation that saw any (one that counted nothing writes nothing).
    let function = [("FunctionName", forwarder_tests::runtime_api::FUNCTION_NAME)];
    let (metric_summaries, failed_requests_counted, unnamed) = match &metrics {
        Ok(data) => (
            data.iter()
                .filter(|d| {
                    d.name == "AuthorizerFailures"
                        && d.dimensions.len() == 1
                        && d.dimensions.contains_key("FunctionName")
                })
                .count(),
            emf::sum(data, "AuthorizerFailures", &function) as usize,
            data.iter()
                .filter(|d| {
                    d.dimensions.get("FunctionName").map(String::as_str) != Some(function[0].1)
                })
                .count(),
        ),
        Err(_) => (0, 0, 0),
    };
    let panics: usize = logs.iter().map(|l| l.matches("panicked").count()).sum();
    let peak_kib = *counts.peak_kib.lock().unwrap();
    let timeouts = counts.timeouts.load(Relaxed);
    let exits = counts.exits.load(Relaxed);
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests: BTreeMap<String, usize> = BTreeMap::new();
    for ((service, fault), n) in summary(&records) {
        *requests.entry(service.clone()).or_default() += n;
        if fault != "none" {
            faults.insert(format!("{service} {fault}"), n);
        }
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for j in &plan.jobs {
        *kinds.entry(j.kind.name()).or_default() += 1;
    }
    let kinesis_records: usize = plan
        .jobs
        .iter()
        .map(|j| match &j.input {
            generate::Input::Kinesis(r) => r.len(),
            generate::Input::Async(_) => 0,
        })
        .sum();
    let report = serde_json::json!({
        "seed": args.seed,
        "batches": plan.jobs.len(),
        "batches_by_kind": kinds,
        "kinesis_records": kinesis_records,
        "environments": args.environments,
        "environments_started": counts.environments.load(Relaxed),
        "fault_rate": args.fault_rate,
        "max_delay_ms": args.max_delay_ms,
        "seconds": driven.as_secs_f64().round(),
        "invocations": counts.invocations.load(Relaxed),
        "invocation_errors": *counts.errors.lock().unwrap(),
        "retries": counts.retries.load(Relaxed),
        "dead_lettered_async": counts.dead_lettered_async.load(Relaxed),
        "dead_lettered_kinesis": counts.dead_lettered_kinesis.load(Relaxed),
        "requests_to_aws": requests,
        "faults_injected": faults,
        "alerts_received": ledger.alerts,
        "alerts_unreadable": unreadable_alerts,
        "flagged_lines": ledger.flagged,
        "lines_alerted": ledger.alerted,
        "lines_dead_lettered": ledger.dead_lettered,
        "lines_counted_by_flood_control": ledger.counted,
        "lost_findings": ledger.lost.len(),
        "forged_alerts": ledger.forged.len(),
        "duplicated_lines": ledger.duplicated_lines,
        "duplicate_alerts": ledger.duplicate_alerts,
        "unexplained_duplicates": ledger.unexplained_duplicates.len(),
        "flood_problems": ledger.flood.iter().map(|(k, (got, explained))| (k.clone(), serde_json::json!({"alerts": got, "explained_by_faults": explained}))).collect::<BTreeMap<_, _>>(),
        "flood_violations": ledger.flood_violations.len(),
        "alerts_with_omitted_ids": ledger.cut_alerts,
        "dead_letter_records": ledger.dead_letter_records,
        "flood_control_failed_open": failed_open.values().sum::<usize>(),
        "proxy_requests_unsettled": unsettled,
        "unknown_dead_letters": ledger.unknown_dead_letters,
        "timeouts": timeouts,
        "process_exits": exits,
        "panics": panics,
        "metric_summaries": metric_summaries,
        "failed_requests_in_metrics": failed_requests_counted,
        "peak_memory_mib": (peak_kib as f64 / 1024.0 * 10.0).round() / 10.0,
        "memory_size_mb": MEMORY_MB,
    });
    let text = serde_json::to_string_pretty(&report).expect("report");
    println!("{text}");
    if let Some(path) = &args.report {
        std::fs::write(path, &text).expect("report written");
    }
    let mut broken = Vec::new();
    for (what, list) in [
        ("lost finding", &ledger.lost),
        ("forged alert", &ledger.forged),
        ("unexplained duplicate", &ledger.unexplained_duplicates),
        ("flood control", &ledger.flood_violations),
    ] {
        for item in list.iter().take(20) {
            broken.push(format!("{what}: {item}"));
        }
    }
    if ledger.cut_alerts > 0 {
        broken.push(format!("{} alerts left request ids out", ledger.cut_alerts));
    }
    if unsettled > 0 {
        broken.push(format!(
            "{unsettled} requests still held by the proxy when the queues were read"
        ));
    }
    if ledger.unknown_dead_letters > 0 || unreadable_alerts > 0 {
        broken.push(format!(
            "{} dead-letter records and {unreadable_alerts} alerts the soak cannot read",
            ledger.unknown_dead_letters
        ));
    }
    if timeouts > 0 {
        broken.push(format!(
            "{timeouts} invocations ran past the function's timeout"
        ));
    }
    if exits > 0 || panics > 0 {
        broken.push(format!(
            "{exits} processes ended, {panics} panics (logs in {})",
            log_dir.display()
        ));
    }
    // Every invocation answered wrote its counts first, whatever its outcome, at most one summary
    // each and every datum by the function's name; each line an alert named was scanned by at
    // least one of them.
    let invocations = counts.invocations.load(Relaxed);
    match &metrics {
        Err(e) => broken.push(format!("a metrics document breaks the format: {e}")),
        Ok(_) if metric_summaries > invocations => broken.push(format!(
            "{metric_summaries} metrics summaries for {invocations} invocations"
        )),
        Ok(_) if ledger.alerted > 0 && metric_summaries == 0 => {
            broken.push("alerts went out, yet no invocation wrote its counts".to_owned())
        }
        Ok(_) if unnamed > 0 => {
            broken.push(format!("{unnamed} metric data without the function's name"))
        }
        Ok(_) if failed_requests_counted < ledger.alerted => broken.push(format!(
            "metrics counted {failed_requests_counted} failed requests, alerts named {}",
            ledger.alerted
        )),
        Ok(_) => {}
    }
    if peak_kib == 0 || peak_kib > u64::from(MEMORY_MB) * 1024 {
        broken.push(format!("peak memory {peak_kib} KiB against {MEMORY_MB} MB"));
    }
    drop(moto);
    if broken.is_empty() && ledger.holds() {
        eprintln!(
            "soak held: {} flagged lines, 0 lost, 0 forged alerts ({:.0} s)",
            ledger.flagged,
            started.elapsed().as_secs_f64()
        );
        ExitCode::SUCCESS
    } else {
        for b in &broken {
            eprintln!("soak broke: {b}");
        }
        ExitCode::FAILURE
    }
}

/// The topic with an SQS subscriber, the dead-letter queue and the windows table, made directly
/// in moto (never through the faults).
async fn resources(aws: &aws_config::SdkConfig) -> (String, String, String) {
    let sns = aws_sdk_sns::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let topic = sns
        .create_topic()
        .name(TOPIC)
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("topic arn");
    let (alerts, arn) = create_queue(&sqs, "soak-subscriber").await;
    let (dlq, _) = create_queue(&sqs, "soak-dead-letters").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .expect("subscribe");
    create_windows_table(&dynamo, TABLE).await;
    (topic, alerts, dlq)
}

/// Up to ten messages from a queue, deleted as read. Never a long poll: the serial moto would
/// serve nothing else meanwhile.
async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(600)
        .send()
        .await
        .expect("receive");
    let mut bodies = Vec::new();
    for m in out.messages.unwrap_or_default() {
        if let Some(handle) = m.receipt_handle() {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(handle)
                .send()
                .await
                .expect("delete");
        }
        bodies.push(m.body.unwrap_or_default());
    }
    bodies
}

/// Reads the subscriber's queue while the run goes on, so moto keeps few messages (its cost per
/// message grows with the queue); returns what it read once `stop` is set.
async fn collect(sqs: aws_sdk_sqs::Client, url: String, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut bodies = Vec::new();
    while !stop.load(Relaxed) {
        let read = receive(&sqs, &url).await;
        if read.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bodies.extend(read);
    }
    bodies
}

/// Every message a queue still holds; done after three empty receives in a row.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut empty = 0;
    while empty < 3 {
        let read = receive(sqs, url).await;
        empty = if read.is_empty() { empty + 1 } else { 0 };
        bodies.extend(read);
    }
    bodies
}

/// Per flood-control key, how often a forwarder could not reach the table and alerted anyway.
fn failed_open(logs: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in logs.iter().flat_map(|l| l.lines()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["fields"]["message"] == "flood control unavailable; alerting"
            && let Some(key) = v["fields"]["key"].as_str()
        {
            *counts.entry(key.to_owned()).or_default() += 1;
        }
    }
    counts
}

/// What each flood-control window counted (`suppressed`), by key.
async fn window_counts(aws: &aws_config::SdkConfig) -> HashMap<String, u64> {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let mut counts = HashMap::new();
    let mut start = None;
    loop {
        let out = dynamo
            .scan()
            .table_name(TABLE)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the windows");
        for item in out.items() {
            let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned();
            let n = item
                .get("suppressed")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if let Some(key) = key {
                counts.insert(key, n);
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break counts;
        }
    }
}
