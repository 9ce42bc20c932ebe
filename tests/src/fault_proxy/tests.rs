//! The proxy against a stand-in for moto: pass-through, each fault, down windows, the seed's
//! replay and chunked request bodies.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wire::{Head, read_body, read_head};
use super::*;
use FaultKind::*;

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
                out.extend([format!("{:x}\r\n", part.len()).as_bytes(), part, b"\r\n"].concat());
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
