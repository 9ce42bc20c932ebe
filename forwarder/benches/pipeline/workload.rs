//! Deterministic access-log workloads: the same bytes on every run and machine.

use forwarder::sources::{LogBatch, LogEvent, MessageType, encode_batch};

/// A small xorshift generator: reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const ROUTES: &[&str] = &[
    "GET /orders",
    "POST /orders",
    "GET /orders/{id}",
    "GET /profile",
    "PUT /profile",
    "GET /invoices",
    "GET /health",
];
const HEALTHY: &[&str] = &["200", "200", "200", "201", "204", "401", "403", "404"];
const ERRORS: &[&str] = &[
    "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.",
    "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
    "Authorizer request timed out after 10000 ms",
    "Unexpected authorizer failure",
];
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Access-log format of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Default,
    Json,
}

struct Line {
    ip: String,
    time: String,
    method: &'static str,
    route: &'static str,
    status: &'static str,
    length: u64,
    request_id: String,
    error: Option<&'static str>,
}

fn line(rng: &mut Rng, i: usize, flagged: bool) -> Line {
    let route = rng.pick(ROUTES);
    let request_id: String = (0..15)
        .map(|_| B64[(rng.next() % 64) as usize] as char)
        .chain(['='])
        .collect();
    Line {
        ip: format!(
            "{}.{}.{}.{}",
            198,
            51 + rng.next() % 2,
            rng.next() % 256,
            rng.next() % 256
        ),
        time: format!("20/Nov/2026:09:{:02}:{:02} +0000", (i / 60) % 60, i % 60),
        method: route.split(' ').next().expect("routes have a method"),
        route,
        status: if flagged { "500" } else { rng.pick(HEALTHY) },
        length: if flagged { 35 } else { 20 + rng.next() % 2000 },
        request_id,
        error: flagged.then(|| rng.pick(ERRORS)),
    }
}

fn render(l: &Line, shape: Shape) -> String {
    let error = l
        .error
        .map(|e| format!("AUTHORIZER_CONFIGURATION_ERROR,{e}"));
    match shape {
        Shape::Default => format!(
            r#"{} - - [{}] "{} {} HTTP/1.1" {} {} {} {}"#,
            l.ip,
            l.time,
            l.method,
            l.route,
            l.status,
            l.length,
            l.request_id,
            error.as_deref().unwrap_or("-")
        ),
        Shape::Json => serde_json::json!({
            "requestId": l.request_id, "ip": l.ip, "requestTime": l.time, "httpMethod": l.method,
            "routeKey": l.route, "path": l.route.split(' ').nth(1), "status": l.status,
            "protocol": "HTTP/1.1", "responseLength": l.length.to_string(),
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "apiId": "k7x2p9q4md", "stage": "prod", "authorizerError": error.as_deref().unwrap_or("-"),
        })
        .to_string(),
    }
}

/// `count` lines of which `flagged_per_mille` in a thousand carry an authorizer error.
pub fn lines(shape: Shape, count: usize, flagged_per_mille: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    // Spread evenly: line i is flagged when the running count of flagged lines steps up.
    let flagged = |i: usize| (i * flagged_per_mille) / 1000 != ((i + 1) * flagged_per_mille) / 1000;
    (0..count)
        .map(|i| render(&line(&mut rng, i, flagged(i)), shape))
        .collect()
}

/// One flagged default-format line of about `bytes` bytes (its error text is padded).
pub fn long_line(bytes: usize) -> String {
    let mut rng = Rng::new(7);
    let mut l = line(&mut rng, 0, true);
    l.error = Some(ERRORS[1]);
    let mut s = render(&l, Shape::Default);
    s.push(' ');
    while s.len() < bytes {
        s.push_str("padding ");
    }
    s.truncate(bytes);
    s
}

/// The subscription event CloudWatch Logs would deliver for these lines.
pub fn event(lines: &[String]) -> Vec<u8> {
    let batch = LogBatch {
        message_type: MessageType::DataMessage,
        owner: "123456789012".into(),
        log_group: "/aws/vendedlogs/apigateway/orders-api/prod".into(),
        log_stream: "$default".into(),
        subscription_filters: vec!["authorizer-errors".into()],
        log_events: lines
            .iter()
            .enumerate()
            .map(|(i, m)| LogEvent {
                id: format!("{:056}", 37_000_000_000_000_000u64 + i as u64).into(),
                timestamp: 1_795_166_041_000 + i as i64,
                message: m.as_str().into(),
            })
            .collect(),
        omitted_events: 0,
    };
    serde_json::to_vec(&encode_batch(&batch)).expect("events serialise")
}
