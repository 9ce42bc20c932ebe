//! A Lambda Runtime API of our own on 127.0.0.1, so a built `bootstrap` can be run exactly as
//! Lambda runs it (long-polling `/next`, answering on `/response` or `/error`) without any
//! emulator that rebuilds or wraps the binary.
//!
//! Events are handed out on `GET /2018-06-01/runtime/invocation/next` with the headers Lambda
//! sends; `POST .../{id}/response`, `POST .../{id}/error` and `POST /2018-06-01/runtime/init/error`
//! are recorded with their body and `Lambda-Runtime-Function-Error-Type` header.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The function's timeout in the stack (`Timeout: 30`), which sets each invocation's deadline.
pub const FUNCTION_TIMEOUT_MS: u128 = 30_000;

/// The function's name as the stack names it (`${AWS::StackName}-forwarder`).
pub const FUNCTION_NAME: &str = "authorizer-alerts-forwarder";

/// The ARN Lambda names the invoked function by.
pub const FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:authorizer-alerts-forwarder";

/// How an invocation ended, as the runtime reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response` with this body.
    Response(String),
    /// `POST /runtime/invocation/{id}/error`: the error type header, if any, and the body
    /// (`{"errorType": ..., "errorMessage": ...}`).
    Error {
        error_type: Option<String>,
        body: String,
    },
}

/// A `POST /runtime/init/error` as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    pub error_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Vec<u8>)>,
    outcomes: HashMap<String, Outcome>,
    /// When each event was handed out: its invocation's clock starts there, as Lambda's does.
    handed_out: HashMap<String, Instant>,
    /// When each answer arrived, so a caller can time an invocation without its own wake-up.
    answered: HashMap<String, Instant>,
    init_error: Option<InitError>,
    /// `/next` calls received, answered or still waiting: a runtime that polls has started.
    polls: usize,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Each invocation's deadline is this long after it is handed out.
    timeout_ms: u128,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The runtime API server; it stops (and every waiting `/next` is dropped) when this is dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Listens on a free loopback port and serves each connection on its own thread, since the
    /// runtime holds one long-polling `/next` while it may open another connection to answer.
    pub fn start() -> Self {
        Self::with_timeout(Duration::from_millis(FUNCTION_TIMEOUT_MS as u64))
    }

    /// [`RuntimeApi::start`] for a function whose timeout is `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            timeout_ms: timeout.as_millis(),
            changed: Condvar::new(),
        });
        let accept = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.lock().closed {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = accept.clone();
                std::thread::spawn(move || serve(stream, &conn));
            }
        });
        RuntimeApi {
            addr,
            shared,
            next_id: AtomicU64::new(1),
        }
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`: `host:port`, no scheme.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event and waits up to `timeout` for the function's answer; `None` if none came.
    pub fn invoke(&self, event: &[u8], timeout: Duration) -> Option<Outcome> {
        let id = self.submit(event);
        self.wait(&id, timeout)
    }

    /// Queues an event for the next `/next` and returns its request id, so a caller can watch the
    /// function's process while it waits for the answer.
    pub fn submit(&self, event: &[u8]) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id());
        let mut state = self.shared.lock();
        state.queue.push_back((id.clone(), event.to_vec()));
        self.shared.changed.notify_all();
        id
    }

    /// Waits up to `timeout` for the answer to a submitted event; `None` if none came yet.
    pub fn wait(&self, id: &str, timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(outcome) = state.outcomes.remove(id) {
                return Some(outcome);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// What Lambda sets for a `provided.al2023` function of `memory_mb` polling this API
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
    pub fn environment(&self, memory_mb: u32) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{FUNCTION_NAME}"),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "ASIATESTTESTTESTTEST".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_SESSION_TOKEN", "test".to_owned()),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ]
    }

    /// When the runtime took the event `id` with `/next`, if it has.
    pub fn handed_out(&self, id: &str) -> Option<Instant> {
        self.shared.lock().handed_out.get(id).copied()
    }

    /// When the answer to the event `id` arrived, if it has.
    pub fn answered(&self, id: &str) -> Option<Instant> {
        self.shared.lock().answered.get(id).copied()
    }

    /// The `/init/error` the runtime posted, if any.
    pub fn init_error(&self) -> Option<InitError> {
        self.shared.lock().init_error.clone()
    }

    /// How many times the runtime asked for the next event.
    pub fn polls(&self) -> usize {
        self.shared.lock().polls
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        // Wakes the accepting thread so it sees `closed` and ends.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One HTTP/1.1 request: method, path, lower-cased headers, body.
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request; `None` at the end of the stream or on anything unreadable.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    let mut trailer = String::new();
                    if reader.read_line(&mut trailer).ok()? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok()
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let ok = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let Some((id, event)) = next_event(shared) else {
                    break;
                };
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("clock after 1970");
                let headers = [
                    ("Content-Type", "application/json".to_owned()),
                    ("Lambda-Runtime-Aws-Request-Id", id.clone()),
                    (
                        "Lambda-Runtime-Deadline-Ms",
                        (now.as_millis() + shared.timeout_ms).to_string(),
                    ),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        FUNCTION_ARN.to_owned(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        format!(
                            "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
                            now.as_secs(),
                            now.as_nanos(),
                            now.as_nanos() as u64
                        ),
                    ),
                ];
                respond(&mut writer, "200 OK", &headers, &event)
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                shared.lock().init_error = Some(InitError {
                    error_type: req
                        .headers
                        .get("lambda-runtime-function-error-type")
                        .cloned(),
                    body: String::from_utf8_lossy(&req.body).into_owned(),
                });
                shared.changed.notify_all();
                respond(&mut writer, "202 Accepted", &[], br#"{"status":"OK"}"#)
            }
            ("POST", path) => match answer(path) {
                Some((id, kind)) => {
                    let body = String::from_utf8_lossy(&req.body).into_owned();
                    let outcome = if kind == "response" {
                        Outcome::Response(body)
                    } else {
                        Outcome::Error {
                            error_type: req
                                .headers
                                .get("lambda-runtime-function-error-type")
                                .cloned(),
                            body,
                        }
                    };
                    let mut state = shared.lock();
                    state.answered.insert(id.to_owned(), Instant::now());
                    state.outcomes.insert(id.to_owned(), outcome);
                    drop(state);
                    shared.changed.notify_all();
                    respond(&mut writer, "202 Accepted", &[], br#"{"status":"OK"}"#)
                }
                None => respond(&mut writer, "404 Not Found", &[], b"{}"),
            },
            _ => respond(&mut writer, "404 Not Found", &[], b"{}"),
        };
        if !ok {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Blocks until an event is queued, as Lambda holds `/next` until there is work; `None` once the
/// server is closed.
fn next_event(shared: &Shared) -> Option<(String, Vec<u8>)> {
    let mut state = shared.lock();
    state.polls += 1;
    shared.changed.notify_all();
    loop {
        if state.closed {
            return None;
        }
        if let Some(event) = state.queue.pop_front() {
            state.handed_out.insert(event.0.clone(), Instant::now());
            return Some(event);
        }
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// `/2018-06-01/runtime/invocation/{id}/response` or `.../error` as (id, "response" | "error").
fn answer(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/2018-06-01/runtime/invocation/")?;
    let (id, kind) = rest.split_once('/')?;
    (!id.is_empty() && matches!(kind, "response" | "error")).then_some((id, kind))
}
