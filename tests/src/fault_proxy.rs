//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 between the forwarder's AWS SDK clients and
//! `moto_server`, so a soak can fail calls the way AWS and the network do, from a seed it can
//! replay, and afterwards know which calls reached moto without their answer reaching the client.
//!
//! Each request goes to moto on a new connection (`Connection: close`); the answer is read whole
//! and written back with a `Content-Length`, so a fault acts on a whole answer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_xorshift::XorShiftRng;

/// How long moto may take to answer before the proxy gives the request up.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// A slow read writes the answer in pieces of this many bytes.
const SLOW_PIECE: usize = 64;

/// Which faults, how often, from which seed.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    pub seed: u64,
    /// Probability that any one request gets a fault (0.0..=1.0); the kind is then drawn uniformly
    /// from `kinds`.
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    /// Upper bound of injected latency (before or after forwarding) and of a slow read's total time.
    pub max_delay: Duration,
    /// Windows, measured from when faults were switched on, in which every request to a service is
    /// dropped (connection closed without an answer, never forwarded).
    pub down: Vec<DownWindow>,
}

/// An outage: requests whose credential scope names `service` are dropped in `from..until`.
#[derive(Clone, Debug)]
pub struct DownWindow {
    pub service: String,
    pub from: Duration,
    pub until: Duration,
}

/// A fault drawn for one request. The resets close the connection (FIN, not RST: std cannot set
/// `SO_LINGER`); either way the SDK sees a connection that ended without an answer and retries.
/// The status faults answer in the service's own error shape without forwarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    LatencyBefore,
    LatencyAfter,
    ResetBefore,
    ResetAfter,
    Status500,
    Status503,
    Throttling,
    /// Forward, then write the answer in small pieces spread over the drawn delay.
    SlowRead,
}

use FaultKind::*;

impl FaultKind {
    /// Every kind a plan can draw.
    pub const ALL: [FaultKind; 8] = [
        LatencyBefore,
        LatencyAfter,
        ResetBefore,
        ResetAfter,
        Status500,
        Status503,
        Throttling,
        SlowRead,
    ];

    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            LatencyBefore => "latency_before",
            LatencyAfter => "latency_after",
            ResetBefore => "reset_before",
            ResetAfter => "reset_after",
            Status500 => "status_500",
            Status503 => "status_503",
            Throttling => "throttling",
            SlowRead => "slow_read",
        }
    }
}

/// One request as the proxy saw and handled it.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// From the SigV4 credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`);
    /// "unknown" without one.
    pub service: String,
    /// Query protocol: the form's `Action`; JSON protocol: the operation in `X-Amz-Target`; REST:
    /// "METHOD /path" without the query string.
    pub action: String,
    pub fault: Option<FaultKind>,
    /// Dropped because the service was inside a down window.
    pub down: bool,
    /// The drawn latency or slow-read time; zero for other faults.
    pub delay: Duration,
    /// The request reached moto.
    pub forwarded: bool,
    /// The whole answer was written to the client without an error.
    pub answered: bool,
    /// The status written to the client, if any.
    pub status: Option<u16>,
    /// The proxy is finished with the request; until then the fields above may change.
    pub done: bool,
    /// From the request's arrival to the end of its answer (or of the connection).
    pub elapsed: Duration,
    /// The body, form bodies URL-decoded so a Publish's `Message` is readable; kept for "sns" and
    /// "dynamodb" only, to tell which alert a request carried.
    pub body: String,
}

impl Record {
    /// Reached moto, but the client may not have seen the answer: closed after forwarding, an
    /// answer late or slow enough that the client may have timed out (a delay was injected, or
    /// the request took as long as [`SLOW`] anyway, as a busy moto can), or any write error.
    pub fn ambiguous(&self) -> bool {
        let late = matches!(self.fault, Some(LatencyBefore | LatencyAfter | SlowRead))
            || self.elapsed >= SLOW;
        self.forwarded && (!self.answered || late)
    }

    /// "down", the fault's name, or "none": a report's fault column.
    pub fn fault_name(&self) -> &'static str {
        match (self.down, self.fault) {
            (true, _) => "down",
            (false, Some(kind)) => kind.name(),
            (false, None) => "none",
        }
    }
}

/// Requests counted by (service, fault name).
pub fn summary(records: &[Record]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        let key = (r.service.clone(), r.fault_name().to_owned());
        *counts.entry(key).or_default() += 1;
    }
    counts
}

struct State {
    rng: XorShiftRng,
    on: bool,
    /// When faults were first switched on: the down windows' clock.
    since: Option<Instant>,
    records: Vec<Record>,
    closed: bool,
}

struct Shared {
    upstream: SocketAddr,
    plan: FaultPlan,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut Record)) {
        f(&mut self.lock().records[i]);
    }
}

/// The proxy; it stops accepting connections when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`, one thread per connection.
    /// Faults start off.
    pub fn start(upstream: SocketAddr, mut plan: FaultPlan) -> Self {
        // `clamp` keeps a NaN, which `max` turns into 0.
        plan.rate = plan.rate.clamp(0.0, 1.0).max(0.0);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let rng = XorShiftRng::seed_from_u64(plan.seed);
        let state = State {
            rng,
            on: false,
            since: None,
            records: Vec::new(),
            closed: false,
        };
        let shared = Arc::new(Shared {
            upstream,
            plan,
            state: Mutex::new(state),
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
        FaultProxy { addr, shared }
    }

    /// "http://127.0.0.1:PORT", the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches injection on or off (every request forwarded untouched); the down windows' clock
    /// starts at the first switch on.
    pub fn set_faults(&self, on: bool) {
        let mut state = self.shared.lock();
        state.on = on;
        if on && state.since.is_none() {
            state.since = Some(Instant::now());
        }
    }

    /// Everything seen so far, in arrival order; requests in flight are not yet `done`.
    pub fn records(&self) -> Vec<Record> {
        self.shared.lock().records.clone()
    }

    /// The records once every one is `done`, or as they are after `wait`.
    pub fn settled_records(&self, wait: Duration) -> Vec<Record> {
        let deadline = Instant::now() + wait;
        loop {
            let records = self.records();
            if records.iter().all(|r| r.done) || Instant::now() >= deadline {
                return records;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        // Wakes the accepting thread so it sees `closed` and ends.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A message head: the start line and the headers in order, names as sent.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        found.next().map(|(_, v)| v.as_str())
    }
}

/// Reads a start line and headers; `None` at the end of the stream or on anything unreadable.
fn read_head(r: &mut impl BufRead) -> Option<Head> {
    let mut start = String::new();
    if r.read_line(&mut start).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let Some((name, value)) = line.split_once(':') else {
            return line.trim().is_empty().then(|| Head {
                start: start.trim_end().into(),
                headers,
            });
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Appends exactly `n` bytes of `r` to `body`.
fn read_exactly(r: &mut impl BufRead, n: u64, body: &mut Vec<u8>) -> Option<()> {
    (r.by_ref().take(n).read_to_end(body).ok()? as u64 == n).then_some(())
}

/// Reads a body framed by chunked encoding or `Content-Length`; with neither, an answer's body
/// runs to the end of the stream and a request has none.
fn read_body(r: &mut impl BufRead, head: &Head, to_eof: bool) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let chunked = head
        .get("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let size = u64::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the blank line.
                let mut line = String::new();
                while r.read_line(&mut line).ok()? > 0 && !line.trim().is_empty() {
                    line.clear();
                }
                return Some(body);
            }
            read_exactly(r, size, &mut body)?;
            r.read_line(&mut String::new()).ok()?;
        }
    } else if let Some(length) = head.get("content-length") {
        read_exactly(r, length.parse().ok()?, &mut body)?;
    } else if to_eof {
        r.read_to_end(&mut body).ok()?;
    }
    Some(body)
}

/// Headers about one connection or one framing, which the proxy sets itself.
fn hop_by_hop(name: &str) -> bool {
    let hop = [
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "expect",
    ];
    hop.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Decodes `%XX` and `+` of a form body, leaving anything malformed as it is.
fn url_decode(s: &[u8]) -> String {
    let hex = |i: usize| s.get(i).and_then(|&b| (b as char).to_digit(16));
    let (mut out, mut i) = (Vec::with_capacity(s.len()), 0);
    while i < s.len() {
        match (s[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            (b'+', ..) => out.push(b' '),
            (b, ..) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The wire protocols of the services the forwarder calls, which differ in their error shapes.
#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    /// Form body, XML answers (SNS).
    Query,
    /// `X-Amz-Target`, JSON answers (DynamoDB).
    Json,
    /// Method and path, JSON answers (API Gateway, Lambda).
    Rest,
}

struct Request {
    method: String,
    path: String,
    head: Head,
    body: Vec<u8>,
    service: String,
    protocol: Protocol,
}

impl Request {
    /// Reads one request, answering `Expect: 100-continue` before its body.
    fn read(reader: &mut impl BufRead, client: &mut TcpStream) -> Option<Request> {
        let head = read_head(reader)?;
        let mut parts = head.start.split_whitespace();
        let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
        if head
            .get("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
        }
        let body = read_body(reader, &head, false)?;
        let scope = head
            .get("authorization")
            .and_then(|a| a.split("Credential=").nth(1));
        let service = scope.and_then(|c| c.split([',', ' ']).next()?.split('/').nth(3));
        let service = service
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_owned();
        let form = head
            .get("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let protocol = match (head.get("x-amz-target"), form) {
            (Some(_), _) => Protocol::Json,
            (None, true) => Protocol::Query,
            (None, false) => Protocol::Rest,
        };
        Some(Request {
            method,
            path,
            head,
            body,
            service,
            protocol,
        })
    }

    fn action(&self) -> String {
        match self.protocol {
            Protocol::Json => {
                let target = self.head.get("x-amz-target").unwrap_or_default();
                target.rsplit('.').next().unwrap_or_default().to_owned()
            }
            Protocol::Query => {
                let mut pairs = self.body.split(|&b| b == b'&');
                pairs
                    .find_map(|p| p.strip_prefix(b"Action="))
                    .map(url_decode)
                    .unwrap_or_default()
            }
            Protocol::Rest => {
                format!(
                    "{} {}",
                    self.method,
                    self.path.split('?').next().unwrap_or_default()
                )
            }
        }
    }

    fn close(&self) -> bool {
        self.head
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
    }
}

/// An answer: "200 OK", the code, headers, body.
struct Answer {
    status: String,
    code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn new(
        code: u16,
        reason: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Answer {
            status: format!("{code} {reason}"),
            code,
            headers,
            body: body.into(),
        }
    }

    /// HTTP/1.1 bytes with a `Content-Length`.
    fn encode(&self, close: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {}\r\n", self.status);
        for (name, value) in self.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let connection = if close { "close" } else { "keep-alive" };
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
            self.body.len()
        ));
        [head.as_bytes(), &self.body].concat()
    }
}

/// Sends the request on a new connection and reads the answer to EOF. `Err(true)`: sent, but no
/// answer could be read; `Err(false)`: not sent.
fn forward(upstream: SocketAddr, req: &Request) -> Result<Answer, bool> {
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (name, value) in req.head.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    let mut conn = TcpStream::connect_timeout(&upstream, UPSTREAM_TIMEOUT).map_err(|_| false)?;
    conn.set_read_timeout(Some(UPSTREAM_TIMEOUT))
        .and_then(|()| conn.write_all(&[out.as_bytes(), &req.body].concat()))
        .map_err(|_| false)?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).map_err(|_| true)?;
    let mut r = raw.as_slice();
    loop {
        let head = read_head(&mut r).ok_or(true)?;
        let (_, status) = head.start.split_once(' ').ok_or(true)?;
        let code: u16 = status
            .split(' ')
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or(true)?;
        if code >= 200 {
            let body = read_body(&mut r, &head, true).ok_or(true)?;
            return Ok(Answer {
                status: status.to_owned(),
                code,
                headers: head.headers,
                body,
            });
        }
    }
}

/// An error answer in the request's own protocol, so the SDK parses it as the service's error and
/// its retry classifier sees a server error or throttling.
fn injected(kind: FaultKind, req: &Request, id: &str) -> Answer {
    let (code, error) = match (req.protocol, kind) {
        (Protocol::Query, Throttling) => (400, "Throttling"),
        (Protocol::Json, Throttling) => (400, "ThrottlingException"),
        (Protocol::Rest, Throttling) => (429, "TooManyRequestsException"),
        (Protocol::Rest, Status503) => (503, "ServiceUnavailableException"),
        (_, Status503) => (503, "ServiceUnavailable"),
        (Protocol::Query, _) => (500, "InternalFailure"),
        (Protocol::Rest, _) if req.service == "lambda" => (500, "ServiceException"),
        _ => (500, "InternalServerError"),
    };
    let message = if kind == Throttling {
        "Rate exceeded"
    } else {
        "injected fault"
    };
    let mut headers = vec![("x-amzn-RequestId".to_owned(), id.to_owned())];
    let (content_type, body) = match req.protocol {
        Protocol::Query => {
            let ty = if code == 400 { "Sender" } else { "Receiver" };
            let xml = format!(
                r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{ty}</Type><Code>{error}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"#
            );
            ("text/xml", xml)
        }
        Protocol::Json => {
            let json = format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{error}","message":"{message}"}}"#
            );
            ("application/x-amz-json-1.0", json)
        }
        Protocol::Rest => {
            headers.push(("x-amzn-ErrorType".to_owned(), error.to_owned()));
            let ty = if code == 429 { r#""Type":"User","# } else { "" };
            (
                "application/json",
                format!(r#"{{{ty}"message":"{message}"}}"#),
            )
        }
    };
    headers.push(("Content-Type".to_owned(), content_type.to_owned()));
    let reason = match code {
        400 => "Bad Request",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    Answer::new(code, reason, headers, body)
}

/// Writes `bytes`, spread evenly over `over` in small pieces if given; false on any error.
fn send(client: &mut TcpStream, bytes: &[u8], over: Option<Duration>) -> bool {
    let pieces = bytes.len().div_ceil(SLOW_PIECE).max(1);
    let (size, gap) = match over {
        Some(total) => (
            SLOW_PIECE,
            total / u32::try_from(pieces).unwrap_or(u32::MAX),
        ),
        None => (bytes.len().max(1), Duration::ZERO),
    };
    bytes.chunks(size).all(|piece| {
        std::thread::sleep(gap);
        client
            .write_all(piece)
            .and_then(|()| client.flush())
            .is_ok()
    })
}

fn serve(client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let Ok(mut writer) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(client);
    while let Some(req) = Request::read(&mut reader, &mut writer) {
        if !handle(&req, &mut writer, shared) {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Records the request and draws its fault in one critical section, so records and draws share
/// the arrival order. Returns the record's index, the fault, its delay and whether it is down.
fn admit(req: &Request, shared: &Shared) -> (usize, Option<FaultKind>, Duration, bool) {
    let plan = &shared.plan;
    let mut guard = shared.lock();
    let state = &mut *guard;
    let (mut fault, mut delay, mut down) = (None, Duration::ZERO, false);
    if let (true, Some(since)) = (state.on, state.since) {
        let t = since.elapsed();
        down = plan
            .down
            .iter()
            .any(|w| w.service == req.service && w.from <= t && t < w.until);
        if !down && !plan.kinds.is_empty() && state.rng.random_bool(plan.rate) {
            let kind = plan.kinds[state.rng.random_range(0..plan.kinds.len())];
            if matches!(kind, LatencyBefore | LatencyAfter | SlowRead) {
                let max = u64::try_from(plan.max_delay.as_nanos()).unwrap_or(u64::MAX);
                delay = Duration::from_nanos(state.rng.random_range(0..=max));
            }
            fault = Some(kind);
        }
    }
    let body = match (req.service.as_str(), req.protocol) {
        ("sns" | "dynamodb", Protocol::Query) => url_decode(&req.body),
        ("sns" | "dynamodb", _) => String::from_utf8_lossy(&req.body).into_owned(),
        _ => String::new(),
    };
    let (service, action) = (req.service.clone(), req.action());
    let record = Record {
        service,
        action,
        fault,
        down,
        delay,
        body,
        ..Default::default()
    };
    state.records.push(record);
    (state.records.len() - 1, fault, delay, down)
}

/// Half the shortest attempt timeout of the forwarder's clients (2 s, for diagnosis and flood
/// control): an answer this slow may have reached a client that had given up on it.
pub const SLOW: Duration = Duration::from_secs(1);

/// Handles one request; false when the client connection is to be closed.
fn handle(req: &Request, client: &mut TcpStream, shared: &Shared) -> bool {
    let arrived = Instant::now();
    let (i, fault, delay, down) = admit(req, shared);
    let answer = match fault {
        _ if down => None,
        Some(ResetBefore) => None,
        Some(kind @ (Status500 | Status503 | Throttling)) => {
            let id = format!("{:08x}-0000-4000-8000-{i:012x}", std::process::id());
            Some(injected(kind, req, &id))
        }
        _ => {
            if fault == Some(LatencyBefore) {
                std::thread::sleep(delay);
            }
            let answer = forward(shared.upstream, req);
            if matches!(answer, Ok(_) | Err(true)) {
                shared.update(i, |r| r.forwarded = true);
            }
            match (answer, fault) {
                (Ok(_), Some(ResetAfter)) => None,
                (Ok(answer), Some(LatencyAfter)) => {
                    std::thread::sleep(delay);
                    Some(answer)
                }
                (Ok(answer), _) => Some(answer),
                // Sent, but the answer was lost: the client gets none either.
                (Err(true), _) => None,
                (Err(false), _) => Some(Answer::new(502, "Bad Gateway", vec![], "no upstream")),
            }
        }
    };
    let Some(answer) = answer else {
        shared.update(i, |r| (r.done, r.elapsed) = (true, arrived.elapsed()));
        return false;
    };
    shared.update(i, |r| r.status = Some(answer.code));
    let slow = (fault == Some(SlowRead)).then_some(delay);
    let answered = send(client, &answer.encode(req.close()), slow);
    shared.update(i, |r| {
        (r.answered, r.done, r.elapsed) = (answered, true, arrived.elapsed());
    });
    answered && !req.close()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = Arc<Mutex<Vec<(Head, Vec<u8>)>>>;

    /// A stand-in for moto: answers each request 200 with `echo:` and its body, chunked, then
    /// closes; keeps what it received.
    fn upstream() -> (SocketAddr, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Seen::default();
        let keep = seen.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map(Result::unwrap) {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let head = read_head(&mut reader).unwrap();
                let body = read_body(&mut reader, &head, false).unwrap();
                let echo = [b"echo:", body.as_slice()].concat();
                let (a, b) = echo.split_at(echo.len() / 2);
                let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for part in [a, b, b""] {
                    out.extend(
                        [format!("{:x}\r\n", part.len()).as_bytes(), part, b"\r\n"].concat(),
                    );
                }
                keep.lock().unwrap().push((head, body));
                stream.write_all(&out).unwrap();
            }
        });
        (addr, seen)
    }

    fn request(service: &str, extra: &str, body: &str) -> Vec<u8> {
        format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    const PUBLISH: &str = "Action=Publish&Message=hello%20world";
    const UPDATE: &str = "X-Amz-Target: DynamoDB_20120810.UpdateItem\r\n";

    type Reply = Option<(u16, Head, Vec<u8>)>;

    /// Sends the requests on one connection, each after the previous answer; `None` for a
    /// connection closed before an answer began, after which nothing more is sent.
    fn exchange(addr: SocketAddr, requests: &[Vec<u8>]) -> Vec<Reply> {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (mut writer, mut reader) = (stream.try_clone().unwrap(), BufReader::new(stream));
        let mut out = Vec::new();
        for req in requests {
            writer.write_all(req).unwrap();
            if reader.fill_buf().expect("an answer or EOF").is_empty() {
                out.push(None);
                break;
            }
            let head = read_head(&mut reader).expect("status line and headers");
            let body = read_body(&mut reader, &head, false).expect("body");
            let code = head.start.split(' ').nth(1).unwrap().parse().unwrap();
            out.push(Some((code, head, body)));
        }
        out
    }

    fn proxy(upstream: SocketAddr, kinds: &[FaultKind], max_delay: Duration) -> FaultProxy {
        let plan = FaultPlan {
            seed: 1,
            rate: 1.0,
            kinds: kinds.to_vec(),
            max_delay,
            ..Default::default()
        };
        let proxy = FaultProxy::start(upstream, plan);
        proxy.set_faults(true);
        proxy
    }

    /// One request on its own connection: the reply and the settled record.
    fn one(proxy: &FaultProxy, req: Vec<u8>) -> (Reply, Record) {
        let reply = exchange(proxy.addr, &[req]).pop().unwrap();
        (
            reply,
            proxy.settled_records(Duration::from_secs(5)).pop().unwrap(),
        )
    }

    fn text(reply: Reply) -> (u16, String) {
        let (code, _, body) = reply.expect("an answer");
        (code, String::from_utf8(body).unwrap())
    }

    #[test]
    fn passes_through_when_off() {
        let (addr, seen) = upstream();
        let proxy = proxy(addr, &FaultKind::ALL, Duration::from_secs(1));
        proxy.set_faults(false);
        assert!(proxy.endpoint().starts_with("http://127.0.0.1:"));
        let publish = request("sns", "", PUBLISH);
        let replies = exchange(proxy.addr, &[publish.clone(), publish]);
        assert_eq!(replies.len(), 2);
        for (code, head, body) in replies.into_iter().map(Option::unwrap) {
            assert_eq!(
                (code, body.as_slice()),
                (200, format!("echo:{PUBLISH}").as_bytes())
            );
            assert_eq!(
                head.get("content-length"),
                Some(body.len().to_string().as_str())
            );
            assert_eq!(head.get("transfer-encoding"), None);
            assert_eq!(head.get("connection"), Some("keep-alive"));
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0.get("connection"), Some("close"));
        assert_eq!(seen[0].1, PUBLISH.as_bytes());
        let records = proxy.settled_records(Duration::from_secs(5));
        assert_eq!(records.len(), 2);
        for r in &records {
            assert_eq!((r.service.as_str(), r.action.as_str()), ("sns", "Publish"));
            assert!(r.body.contains("hello world"), "{}", r.body);
            assert!(r.forwarded && r.answered && !r.ambiguous(), "{r:?}");
            assert_eq!((r.fault, r.down, r.status), (None, false, Some(200)));
        }
    }

    #[test]
    fn injected_errors_have_the_service_shape_and_never_reach_upstream() {
        let (addr, seen) = upstream();
        let (reply, _) = one(
            &proxy(addr, &[Status503], Duration::ZERO),
            request("sns", "", PUBLISH),
        );
        let head = &reply.as_ref().unwrap().1;
        assert_eq!(head.get("content-type"), Some("text/xml"));
        assert!(head.get("x-amzn-requestid").is_some());
        let (code, body) = text(reply);
        assert_eq!(code, 503);
        let start = r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"#;
        assert!(body.starts_with(start), "{body}");
        let (reply, _) = one(
            &proxy(addr, &[Throttling], Duration::ZERO),
            request("sns", "", PUBLISH),
        );
        let (code, body) = text(reply);
        assert_eq!(code, 400);
        assert!(
            body.contains("<Type>Sender</Type><Code>Throttling</Code>"),
            "{body}"
        );
        let (reply, r) = one(
            &proxy(addr, &[Status500], Duration::ZERO),
            request("dynamodb", UPDATE, "{}"),
        );
        let json = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}"#;
        assert_eq!(text(reply), (500, json.to_owned()));
        assert!(!r.forwarded && r.answered && !r.ambiguous(), "{r:?}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn resets_close_without_an_answer() {
        let (addr, seen) = upstream();
        let (reply, r) = one(
            &proxy(addr, &[ResetBefore], Duration::ZERO),
            request("sns", "", PUBLISH),
        );
        assert!(reply.is_none());
        assert!(seen.lock().unwrap().is_empty());
        assert!(!r.forwarded && !r.answered && !r.ambiguous(), "{r:?}");
        let (reply, r) = one(
            &proxy(addr, &[ResetAfter], Duration::ZERO),
            request("sns", "", PUBLISH),
        );
        assert!(reply.is_none());
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(r.forwarded && !r.answered && r.ambiguous(), "{r:?}");
        assert_eq!(r.fault_name(), "reset_after");
    }

    #[test]
    fn late_and_slow_answers_arrive_whole() {
        let (addr, seen) = upstream();
        let max = Duration::from_millis(200);
        let message = format!("Action=Publish&Message={}", "x".repeat(1000));
        for kind in [LatencyBefore, LatencyAfter, SlowRead] {
            let (reply, r) = one(&proxy(addr, &[kind], max), request("sns", "", &message));
            assert_eq!(text(reply), (200, format!("echo:{message}")));
            assert_eq!(r.fault, Some(kind));
            assert!(r.answered && r.delay <= max && r.ambiguous(), "{r:?}");
        }
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn a_down_service_is_dropped_and_others_pass() {
        let (addr, seen) = upstream();
        let hour = Duration::from_secs(3600);
        let window = DownWindow {
            service: "sns".to_owned(),
            from: Duration::ZERO,
            until: hour,
        };
        let proxy = FaultProxy::start(
            addr,
            FaultPlan {
                down: vec![window],
                ..Default::default()
            },
        );
        proxy.set_faults(true);
        let (reply, r) = one(&proxy, request("sns", "", PUBLISH));
        assert!(reply.is_none());
        assert!(r.down && !r.forwarded, "{r:?}");
        let (reply, r) = one(&proxy, request("dynamodb", UPDATE, "{}"));
        assert_eq!(text(reply).0, 200);
        assert_eq!(r.action, "UpdateItem");
        assert!(r.forwarded && !r.down, "{r:?}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        let counts = summary(&proxy.records());
        assert_eq!(counts[&("sns".to_owned(), "down".to_owned())], 1);
        assert_eq!(counts[&("dynamodb".to_owned(), "none".to_owned())], 1);
    }

    #[test]
    fn the_seed_decides_the_faults() {
        let (addr, _) = upstream();
        let run = |seed| {
            let max_delay = Duration::from_millis(20);
            let plan = FaultPlan {
                seed,
                rate: 0.5,
                kinds: FaultKind::ALL.to_vec(),
                max_delay,
                down: Vec::new(),
            };
            let proxy = FaultProxy::start(addr, plan);
            proxy.set_faults(true);
            for _ in 0..40 {
                exchange(proxy.addr, &[request("sns", "", PUBLISH)]);
            }
            let records = proxy.settled_records(Duration::from_secs(5));
            records
                .iter()
                .map(|r| (r.fault, r.delay))
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first.len(), 40);
        assert!(first.iter().any(|f| f.0.is_none()) && first.iter().any(|f| f.0.is_some()));
        assert_eq!(run(7), first);
        assert_ne!(run(8), first);
    }

    #[test]
    fn a_chunked_body_reaches_upstream_joined() {
        let (addr, seen) = upstream();
        let proxy = proxy(addr, &[], Duration::ZERO);
        let mut conn = TcpStream::connect(proxy.addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = request(
            "sns",
            "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n",
            "",
        );
        let head = String::from_utf8(head)
            .unwrap()
            .replace("Content-Length: 0\r\n", "");
        conn.write_all(head.as_bytes()).unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        assert_eq!(
            read_head(&mut reader).unwrap().start,
            "HTTP/1.1 100 Continue"
        );
        conn.write_all(b"E\r\nAction=Publish\r\n16\r\n&Message=hello%20world\r\n0\r\n\r\n")
            .unwrap();
        let head = read_head(&mut reader).unwrap();
        assert_eq!(
            read_body(&mut reader, &head, false).unwrap(),
            format!("echo:{PUBLISH}").as_bytes()
        );
        let (head, body) = &seen.lock().unwrap()[0];
        assert_eq!(
            (head.get("transfer-encoding"), head.get("expect")),
            (None, None)
        );
        assert_eq!(
            head.get("content-length"),
            Some(PUBLISH.len().to_string().as_str())
        );
        assert_eq!(body, PUBLISH.as_bytes());
    }
}
