//! Lambda's side of the soak: execution environments running the forwarder's binary against a
//! Runtime API each, invoked concurrently; an asynchronous invocation that fails is retried twice
//! and then written to the dead-letter queue as the stack's `EventInvokeConfig` does, and a Kinesis
//! batch is retried from its first failed record as an event source mapping with
//! `ReportBatchItemFailures` does.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use forwarder_tests::runtime_api::{FUNCTION_ARN, FUNCTION_TIMEOUT_MS, Outcome, RuntimeApi};

use crate::generate::{Input, Job, kinesis_event};

/// Retries of a failed asynchronous invocation (the stack's `MaximumRetryAttempts` default).
pub const ASYNC_RETRIES: u32 = 2;
/// Retries of a Kinesis batch (`MaximumRetryAttempts` of infra/org/central.yaml's mapping).
pub const KINESIS_RETRIES: u32 = 5;
/// How long Lambda lets a function start before its first `/next`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The memory size the environments are given, and the ceiling their peak must stay under.
pub const MEMORY_MB: u32 = 128;

/// How an invocation ended, from Lambda's side.
#[derive(Debug)]
enum Ended {
    Answered(Outcome),
    /// No answer by the function's timeout: Lambda stops the environment.
    TimedOut,
    /// The process exited (a panic that escaped, an out-of-memory kill).
    Exited(String),
}

/// One execution environment: a Runtime API and the process polling it.
pub struct Environment {
    api: RuntimeApi,
    child: Child,
}

impl Environment {
    fn start(bin: &Path, settings: &[(String, String)], log: PathBuf) -> Self {
        let api = RuntimeApi::start();
        let file = std::fs::File::create(&log).expect("environment log");
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .envs(api.environment(MEMORY_MB))
            .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file);
        let child = cmd.spawn().expect("the forwarder starts");
        Environment { api, child }
    }

    /// The process's peak resident memory in KiB (`VmHWM`), while it runs.
    pub fn peak_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Hands `event` to the function and waits for its answer. The timeout counts from when the
    /// runtime took the event, as Lambda's does, so a cold start before it is not charged.
    fn invoke(&mut self, event: &[u8], timeout: Duration) -> Ended {
        let id = self.api.submit(event);
        let submitted = Instant::now();
        loop {
            if let Some(outcome) = self.api.wait(&id, Duration::from_millis(200)) {
                return Ended::Answered(outcome);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ended::Exited(status.to_string());
            }
            let late = match self.api.handed_out(&id) {
                Some(taken) => taken.elapsed() >= timeout,
                // Lambda gives a cold start 10 s; a warm environment asks at once.
                None => submitted.elapsed() >= INIT_TIMEOUT,
            };
            if late {
                return Ended::TimedOut;
            }
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a batch that exhausted its retries goes: the dead-letter queue.
pub trait DeadLetters: Sync {
    fn write(&self, record: serde_json::Value);
}

/// What Lambda did, counted.
#[derive(Default)]
pub struct Counts {
    pub invocations: AtomicUsize,
    pub errors: Mutex<BTreeMap<String, usize>>,
    pub retries: AtomicUsize,
    pub timeouts: AtomicUsize,
    pub exits: AtomicUsize,
    pub dead_lettered_async: AtomicUsize,
    pub dead_lettered_kinesis: AtomicUsize,
    pub environments: AtomicUsize,
    pub peak_kib: Mutex<u64>,
    /// Environments' logs, for the panic search.
    pub logs: Mutex<Vec<PathBuf>>,
}

impl Counts {
    fn error(&self, kind: &str) {
        *self
            .errors
            .lock()
            .unwrap()
            .entry(kind.to_owned())
            .or_default() += 1;
    }
}

/// How many times each job's event, and each Kinesis record, was handed to the function.
pub struct Deliveries {
    pub jobs: Vec<AtomicU32>,
    /// Per job, per record.
    pub records: Vec<Vec<AtomicU32>>,
    /// Per asynchronous job, what its last successful invocation answered (the handler's outcome).
    pub answers: Vec<Mutex<Option<serde_json::Value>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Work {
    job: usize,
    /// Retries so far.
    retry: u32,
    /// Kinesis: the first record still to process.
    from: usize,
}

/// Work waiting (earliest due first), and how many are being run.
struct Pending {
    due: BinaryHeap<Reverse<(Instant, Work)>>,
    running: usize,
}

struct Queue {
    heap: Mutex<Pending>,
    changed: Condvar,
}

impl Queue {
    fn push(&self, at: Instant, work: Work) {
        self.heap.lock().unwrap().due.push(Reverse((at, work)));
        self.changed.notify_all();
    }

    /// The next work that is due; `None` when nothing is queued or running any more.
    fn pop(&self) -> Option<Work> {
        let mut guard = self.heap.lock().unwrap();
        loop {
            let now = Instant::now();
            let due = guard.due.peek().map(|Reverse((at, _))| *at);
            match due {
                Some(at) if at <= now => {
                    let Reverse((_, work)) = guard.due.pop().expect("peeked");
                    guard.running += 1;
                    return Some(work);
                }
                Some(at) => guard = self.changed.wait_timeout(guard, at - now).unwrap().0,
                None if guard.running == 0 => return None,
                None => guard = self.changed.wait(guard).unwrap(),
            }
        }
    }

    fn done(&self) {
        self.heap.lock().unwrap().running -= 1;
        self.changed.notify_all();
    }
}

pub struct Driver<'a, D> {
    pub bin: &'a Path,
    pub settings: Vec<(String, String)>,
    pub environments: usize,
    pub log_dir: PathBuf,
    /// The first retry waits this long, the second twice as long (Lambda: one and two minutes).
    pub retry_delay: Duration,
    pub dead_letters: &'a D,
    pub counts: Counts,
}

impl<D: DeadLetters> Driver<'_, D> {
    /// Runs every job to its end: answered, or dead-lettered after its retries.
    pub fn run(&self, jobs: &[Job]) -> Deliveries {
        let deliveries = Deliveries {
            jobs: jobs.iter().map(|_| AtomicU32::new(0)).collect(),
            records: jobs
                .iter()
                .map(|j| match &j.input {
                    Input::Kinesis(r) => r.iter().map(|_| AtomicU32::new(0)).collect(),
                    Input::Async(_) => Vec::new(),
                })
                .collect(),
            answers: jobs.iter().map(|_| Mutex::new(None)).collect(),
        };
        let queue = Arc::new(Queue {
            heap: Mutex::new(Pending {
                due: BinaryHeap::new(),
                running: 0,
            }),
            changed: Condvar::new(),
        });
        let start = Instant::now();
        for job in jobs {
            queue.push(
                start,
                Work {
                    job: job.id,
                    retry: 0,
                    from: 0,
                },
            );
        }
        std::thread::scope(|s| {
            for n in 0..self.environments {
                let queue = queue.clone();
                let deliveries = &deliveries;
                s.spawn(move || self.worker(n, jobs, &queue, deliveries));
            }
        });
        deliveries
    }

    fn new_environment(&self, n: usize) -> Environment {
        let generation = self.counts.environments.fetch_add(1, Ordering::Relaxed);
        let log = self
            .log_dir
            .join(format!("environment-{n}-{generation}.log"));
        self.counts.logs.lock().unwrap().push(log.clone());
        Environment::start(self.bin, &self.settings, log)
    }

    fn retire(&self, env: Environment) {
        if let Some(kib) = env.peak_kib() {
            let mut peak = self.counts.peak_kib.lock().unwrap();
            *peak = (*peak).max(kib);
        }
        env.stop();
    }

    fn worker(&self, n: usize, jobs: &[Job], queue: &Queue, deliveries: &Deliveries) {
        let mut env = self.new_environment(n);
        let timeout = Duration::from_millis(FUNCTION_TIMEOUT_MS as u64);
        while let Some(work) = queue.pop() {
            let job = &jobs[work.job];
            let event = match &job.input {
                Input::Async(bytes) => bytes.clone(),
                Input::Kinesis(records) => kinesis_event(&records[work.from..]),
            };
            deliveries.jobs[work.job].fetch_add(1, Ordering::Relaxed);
            for r in deliveries.records[work.job].iter().skip(work.from) {
                r.fetch_add(1, Ordering::Relaxed);
            }
            let n = self.counts.invocations.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(500) {
                eprintln!("soak: {n} invocations");
            }
            let ended = env.invoke(&event, timeout);
            // Lambda replaces an environment that timed out or whose process ended.
            if !matches!(ended, Ended::Answered(_)) {
                self.retire(std::mem::replace(&mut env, self.new_environment(n)));
            }
            let failed = match (&ended, &job.input) {
                (Ended::Answered(Outcome::Response(body)), Input::Async(_)) => {
                    *deliveries.answers[work.job].lock().unwrap() = serde_json::from_str(body).ok();
                    None
                }
                (Ended::Answered(Outcome::Response(body)), Input::Kinesis(records)) => {
                    first_failed(body, &records[work.from..]).map(|i| work.from + i)
                }
                (Ended::Answered(Outcome::Error { body, .. }), _) => {
                    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                    self.counts
                        .error(v["errorType"].as_str().unwrap_or("unnamed"));
                    Some(work.from)
                }
                (Ended::TimedOut, _) => {
                    self.counts.timeouts.fetch_add(1, Ordering::Relaxed);
                    self.counts.error("Sandbox.Timedout");
                    Some(work.from)
                }
                (Ended::Exited(status), _) => {
                    self.counts.exits.fetch_add(1, Ordering::Relaxed);
                    self.counts.error(&format!("Runtime.ExitError ({status})"));
                    Some(work.from)
                }
            };
            if let Some(from) = failed {
                let limit = match job.input {
                    Input::Async(_) => ASYNC_RETRIES,
                    Input::Kinesis(_) => KINESIS_RETRIES,
                };
                if work.retry < limit {
                    self.counts.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = self.retry_delay * (work.retry + 1);
                    queue.push(
                        Instant::now() + wait,
                        Work {
                            job: work.job,
                            retry: work.retry + 1,
                            from,
                        },
                    );
                } else {
                    self.dead_letter(job, &event, from, &ended);
                }
            }
            queue.done();
        }
        self.retire(env);
    }

    /// The on-failure record Lambda writes
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>,
    /// <https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html>).
    fn dead_letter(&self, job: &Job, event: &[u8], from: usize, ended: &Ended) {
        let response = match ended {
            Ended::Answered(Outcome::Error { body, .. }) => {
                serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.clone()))
            }
            other => serde_json::json!({ "errorMessage": format!("{other:?}") }),
        };
        let record = match &job.input {
            Input::Async(_) => {
                self.counts
                    .dead_lettered_async
                    .fetch_add(1, Ordering::Relaxed);
                serde_json::json!({
                    "version": "1.0",
                    "timestamp": "2026-12-01T19:00:00.000Z",
                    "requestContext": {
                        "requestId": format!("soak-{}", job.id),
                        "functionArn": format!("{FUNCTION_ARN}:$LATEST"),
                        "condition": "RetriesExhausted",
                        "approximateInvokeCount": ASYNC_RETRIES + 1,
                    },
                    "requestPayload": serde_json::from_slice::<serde_json::Value>(event)
                        .unwrap_or(serde_json::Value::Null),
                    "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
                    "responsePayload": response,
                })
            }
            Input::Kinesis(records) => {
                self.counts
                    .dead_lettered_kinesis
                    .fetch_add(1, Ordering::Relaxed);
                serde_json::json!({
                    "requestContext": {
                        "requestId": format!("soak-{}", job.id),
                        "functionArn": FUNCTION_ARN,
                        "condition": "RetryAttemptsExhausted",
                        "approximateInvokeCount": KINESIS_RETRIES + 1,
                    },
                    "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
                    "version": "1.0",
                    "timestamp": "2026-12-01T19:00:00.000Z",
                    "KinesisBatchInfo": {
                        "shardId": format!("shardId-{:012}", job.id),
                        "startSequenceNumber": records[from].sequence,
                        "endSequenceNumber": records[records.len() - 1].sequence,
                        "approximateArrivalOfFirstRecord": "2026-12-01T19:00:00.000Z",
                        "approximateArrivalOfLastRecord": "2026-12-01T19:00:00.000Z",
                        "batchSize": records.len() - from,
                        "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/authorizer-logs",
                    },
                })
            }
        };
        self.dead_letters.write(record);
    }
}

/// The index of the first record a Kinesis response names as failed, from which Lambda retries;
/// an answer Lambda cannot read, or that names a record not in the batch, fails the whole batch
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html>).
fn first_failed(body: &str, records: &[crate::generate::Record]) -> Option<usize> {
    let whole = Some(0);
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return whole;
    };
    let Some(failures) = v["batchItemFailures"].as_array() else {
        return if v["batchItemFailures"].is_null() {
            None
        } else {
            whole
        };
    };
    let mut first = None;
    for f in failures {
        let Some(i) = f["itemIdentifier"]
            .as_str()
            .and_then(|id| records.iter().position(|r| r.sequence == id))
        else {
            return whole;
        };
        first = Some(first.map_or(i, |j: usize| j.min(i)));
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Record;

    #[test]
    fn lambda_retries_kinesis_from_the_first_failed_record() {
        let records: Vec<Record> = ["11", "12", "13"]
            .iter()
            .map(|s| Record {
                sequence: (*s).to_owned(),
                data: Vec::new(),
            })
            .collect();
        let failed = |ids: &[&str]| {
            let failures: Vec<_> = ids
                .iter()
                .map(|id| serde_json::json!({ "itemIdentifier": id }))
                .collect();
            serde_json::json!({ "batchItemFailures": failures }).to_string()
        };
        assert_eq!(first_failed(&failed(&[]), &records), None);
        assert_eq!(first_failed("{}", &records), None);
        assert_eq!(first_failed(&failed(&["13", "12"]), &records), Some(1));
        // What Lambda cannot read fails the whole batch.
        assert_eq!(first_failed(&failed(&["99"]), &records), Some(0));
        assert_eq!(first_failed("not json", &records), Some(0));
        assert_eq!(
            first_failed(r#"{"batchItemFailures": 5}"#, &records),
            Some(0)
        );
    }
}
