//! Runs a function as Lambda runs it, under this crate's Runtime API (`runtime_api`, the one the
//! soak and the Lambda runtime tests use), hands it the given events one after another and writes
//! when each was handed out and answered. The benchmarks of the Lambda path (`bench/lambda`,
//! `bench/memory/run.py`) time the forwarder and the Python peer with it; they put it in a cgroup
//! with the memory limit and CPU share of a Lambda memory size, which this program does not do.
//!
//! `cargo run -p forwarder-tests --bin invoke -- --out times.json small.json large.json -- target/release/forwarder`
//!
//! The function gets only what Lambda sets (`RuntimeApi::environment`) and the `--env` given; its
//! output goes to this program's. The JSON: `init_ms` (start to the first `/next`), `exit` (if the
//! function ended on its own), `init_error`, and per event `outcome` (`response`, `error` or null),
//! `body`, `handed_out_ms` and `answered_ms`, all in milliseconds from the function's start.

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Runs a function under a local Lambda Runtime API and times each invocation")]
struct Args {
    /// The function's memory size, as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (the caller applies the
    /// limits).
    #[arg(long, default_value_t = 128)]
    memory: u32,
    /// The function's timeout in seconds: each invocation's deadline, and how long an answer is
    /// waited for once the event is handed out.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// A variable for the function besides Lambda's, as KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = key_value)]
    env: Vec<(String, String)>,
    /// Where to write the times as JSON.
    #[arg(long)]
    out: PathBuf,
    /// Event files, handed out in this order.
    #[arg(required = true)]
    events: Vec<PathBuf>,
    /// The function's command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// How long the function may take to ask for its first event (the Python peer takes seconds at
/// 128 MB).
const INIT_LIMIT: Duration = Duration::from_secs(120);

fn ms(from: Instant, at: Option<Instant>) -> Value {
    at.map_or(Value::Null, |t| {
        json!((t.duration_since(from).as_secs_f64() * 1e6).round() / 1e3)
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let timeout = Duration::from_secs(args.timeout);
    let api = RuntimeApi::with_timeout(timeout);
    let mut ids = Vec::new();
    for path in &args.events {
        match std::fs::read(path) {
            // Queued before the function starts, so each `/next` is answered at once.
            Ok(event) => ids.push(api.submit(&event)),
            Err(e) => {
                eprintln!("invoke: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut cmd = Command::new(&args.command[0]);
    cmd.args(&args.command[1..])
        .env_clear()
        .envs(api.environment(args.memory))
        .envs(args.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null());
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("invoke: {}: {e}", args.command[0]);
            return ExitCode::FAILURE;
        }
    };
    let mut exit = None;
    let mut invocations = Vec::new();
    for (id, path) in ids.iter().zip(&args.events) {
        let mut outcome = None;
        while exit.is_none() {
            if let Some(o) = api.wait(id, Duration::from_millis(20)) {
                outcome = Some(o);
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                exit = Some(status.to_string());
                break;
            }
            let late = match api.handed_out(id) {
                Some(at) => at.elapsed() > timeout,
                None => started.elapsed() > INIT_LIMIT,
            };
            if late {
                break;
            }
        }
        let (kind, body) = match outcome {
            Some(Outcome::Response(body)) => (json!("response"), body),
            Some(Outcome::Error { body, .. }) => (json!("error"), body),
            None => (Value::Null, String::new()),
        };
        invocations.push(json!({
            "event": path,
            "outcome": kind,
            "body": body.chars().take(300).collect::<String>(),
            "handed_out_ms": ms(started, api.handed_out(id)),
            "answered_ms": ms(started, api.answered(id)),
        }));
        if kind.is_null() {
            break;
        }
    }
    if exit.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let report = json!({
        "init_ms": ms(started, ids.first().and_then(|id| api.handed_out(id))),
        "exit": exit,
        "init_error": api.init_error().map(|e| e.body),
        "invocations": invocations,
    });
    if let Err(e) = std::fs::write(&args.out, report.to_string()) {
        eprintln!("invoke: {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
