//! The proxy: its listener and shared state, and the handling of each request, from drawing
//! its fault to writing (or withholding) the answer.

use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_xorshift::XorShiftRng;

use super::inject::{injected, send};
use super::plan::FaultKind::{self, *};
use super::plan::FaultPlan;
use super::record::Record;
use super::wire::{Answer, Protocol, Request, forward, url_decode};

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
    pub(super) addr: SocketAddr,
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
