//! The forwarder's cost against the work every forwarder must do.
//!
//! For each workload three measurements run side by side:
//! - `inflate_floor`: read the envelope, base64-decode and gunzip (with the forwarder's own
//!   inflater, the fastest here): the bytes everyone must touch;
//! - `parse_floor`: the inflate floor plus a JSON parse of the payload with every message copied
//!   into a `String`, as a typical serde-based forwarder does;
//! - `full`: what the Lambda does without the network: decode, detect, parse the flagged lines,
//!   classify, group and render all three alert bodies.
//!
//! Environment: `BENCH_WRITE_EVENTS=DIR` writes the workloads as event files (for `bench/run`)
//! and exits; `BENCH_QUICK=1` measures briefly; `BENCH_MIN_RATIO=workload:ratio,...` fails the
//! run when full / parse floor falls below a ratio. `cargo test --benches` runs each workload once,
//! untimed, as the test command does.

mod workload;

/// The binary's allocator, so the pipeline is measured as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use forwarder::config::Config;
use serde::Deserialize;
use workload::Shape;

struct Workload {
    name: &'static str,
    /// The stage's format, given as the Lambda is given it.
    format: &'static str,
    event: Vec<u8>,
    lines: usize,
    decompressed: usize,
}

fn workloads() -> Vec<Workload> {
    let mut out = Vec::new();
    let mut add = |name, format, lines: Vec<String>| {
        let event = workload::event(&lines);
        let decompressed = inflate_floor(&event).len();
        out.push(Workload {
            name,
            format,
            event,
            lines: lines.len(),
            decompressed,
        });
    };
    const DEFAULT: &str = forwarder::detect::access_log::DEFAULT_FORMAT;
    const JSON: &str = include_str!("../../../samplelogs/json-format.fmt");
    add(
        "default_1pct",
        DEFAULT,
        workload::lines(Shape::Default, 10_000, 10, 1),
    );
    add(
        "default_100pct",
        DEFAULT,
        workload::lines(Shape::Default, 10_000, 1000, 2),
    );
    add(
        "json_1pct",
        JSON,
        workload::lines(Shape::Json, 10_000, 10, 3),
    );
    add(
        "single_1mib_line",
        DEFAULT,
        vec![workload::long_line(1 << 20)],
    );
    out
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    awslogs: AwsLogs<'a>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    data: &'a str,
}

/// What a typical forwarder deserialises into: every field owned.
#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct OwnedPayload {
    message_type: String,
    owner: String,
    log_group: String,
    log_stream: String,
    log_events: Vec<OwnedEvent>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedEvent {
    id: String,
    timestamp: i64,
    message: String,
}

fn inflate_floor(event: &[u8]) -> Vec<u8> {
    let envelope: Envelope = serde_json::from_slice(event).expect("event");
    // The forwarder's own base64 decoder and gunzip: the fastest this code base has, so the floor
    // stays a floor.
    let gz = forwarder::sources::decode_base64(envelope.awslogs.data).expect("base64");
    forwarder::sources::inflate(&gz, forwarder::sources::MAX_DECOMPRESSED_BYTES).expect("gzip")
}

fn parse_floor(event: &[u8]) -> usize {
    let json = inflate_floor(event);
    let payload: OwnedPayload = serde_json::from_slice(&json).expect("payload");
    payload.log_events.len()
}

fn full(event: &[u8], config: &Config) -> usize {
    let payload = forwarder::sources::decode_event(event).expect("event");
    let batch = payload.parse_candidates().expect("payload");
    let (scan, alerts) = forwarder::forward::prepare(&batch, config);
    scan.findings.len() + alerts.len()
}

fn write_events(dir: &Path, workloads: &[Workload]) {
    std::fs::create_dir_all(dir).expect("event directory");
    for w in workloads {
        std::fs::write(dir.join(format!("{}.json", w.name)), &w.event).expect("write event");
    }
    // About 1 MB compressed: the largest batch a subscription delivers in one invocation.
    let mut count = 20_000;
    loop {
        let event = workload::event(&workload::lines(Shape::Default, count, 10, 4));
        if event.len() >= 1_000_000 {
            std::fs::write(dir.join("large_1mb.json"), &event).expect("write event");
            break;
        }
        count += 1_000;
    }
}

const STAGES: [&str; 3] = ["inflate_floor", "parse_floor", "full"];

fn main() {
    // Page policy as the binary ships it.
    forwarder::no_huge_pages();
    let workloads = workloads();
    if let Some(dir) = std::env::var_os("BENCH_WRITE_EVENTS") {
        write_events(Path::new(&dir), &workloads);
        return;
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(if quick { 200 } else { 1000 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 4 }))
        .sample_size(if quick { 10 } else { 30 })
        .configure_from_args();
    for w in &workloads {
        let config = Config {
            region: Some("us-east-1".into()),
            label: Some("bench".into()),
            format: forwarder::detect::access_log::LogFormat::parse(w.format).expect("a format"),
            ..Config::default()
        };
        // The workload must be read as the stage wrote it, or this measures the wrong path.
        let payload = forwarder::sources::decode_event(&w.event).expect("event");
        let (scan, _) =
            forwarder::forward::prepare(&payload.parse_candidates().expect("payload"), &config);
        assert_eq!(
            scan.unmatched, 0,
            "{}: lines do not follow the format",
            w.name
        );
        let mut group = criterion.benchmark_group(w.name);
        group.throughput(Throughput::Bytes(w.decompressed as u64));
        group.bench_function(STAGES[0], |b| {
            b.iter(|| inflate_floor(black_box(&w.event)).len())
        });
        group.bench_function(STAGES[1], |b| b.iter(|| parse_floor(black_box(&w.event))));
        group.bench_function(STAGES[2], |b| b.iter(|| full(black_box(&w.event), &config)));
        group.finish();
    }
    criterion.final_summary();
    let ratios = summarise(&workloads);
    if let Ok(minimums) = std::env::var("BENCH_MIN_RATIO") {
        check_ratios(&minimums, &ratios);
    }
}

/// Exits non-zero when a workload's full / parse-floor ratio is below its minimum. Both sides are
/// measured in the same run, so the ratio moves with the code, not with the machine's load.
fn check_ratios(minimums: &str, ratios: &[(&str, f64)]) {
    let mut failed = false;
    for spec in minimums.split(',').filter(|s| !s.is_empty()) {
        let (name, min) = spec
            .split_once(':')
            .expect("BENCH_MIN_RATIO entries are workload:ratio");
        let min: f64 = min.parse().expect("a ratio is a number");
        match ratios.iter().find(|(n, _)| *n == name) {
            Some((_, ratio)) if *ratio >= min => {
                println!("ratio check: {name} full / parse floor {ratio:.2} >= {min}")
            }
            Some((_, ratio)) => {
                println!("ratio check FAILED: {name} full / parse floor {ratio:.2} < {min}");
                failed = true;
            }
            None => {
                println!("ratio check FAILED: {name} was not measured");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// Mean time of one measurement, from criterion's saved estimates.
fn mean_seconds(group: &str, stage: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(stage)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64().map(|ns| ns / 1e9)
}

/// Prints the table BENCHMARKS.md records: throughput and the ratios to both floors. Returns each
/// workload's full / parse-floor ratio.
fn summarise(workloads: &[Workload]) -> Vec<(&'static str, f64)> {
    let mut ratios = Vec::new();
    println!(
        "\n| workload | decompressed | lines | inflate floor | parse floor | full | full lines/s | full / parse floor | full / inflate floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for w in workloads {
        let Some([inflate, parse, full]) = STAGES
            .map(|s| mean_seconds(w.name, s))
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(|v| [v[0], v[1], v[2]])
        else {
            continue;
        };
        let mbps = |t: f64| w.decompressed as f64 / t / 1e6;
        println!(
            "| {} | {:.2} MB | {} | {:.0} MB/s | {:.0} MB/s | {:.0} MB/s | {:.0} | {:.2} | {:.2} |",
            w.name,
            w.decompressed as f64 / 1e6,
            w.lines,
            mbps(inflate),
            mbps(parse),
            mbps(full),
            w.lines as f64 / full,
            parse / full,
            inflate / full,
        );
        ratios.push((w.name, parse / full));
    }
    ratios
}
