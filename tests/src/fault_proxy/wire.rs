//! HTTP/1.1 as the proxy reads and writes it: message heads and bodies, the requests of each
//! service's protocol, answers, and the forwarding of a request to moto.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long moto may take to answer before the proxy gives the request up.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// A message head: the start line and the headers in order, names as sent.
pub(super) struct Head {
    pub(super) start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        found.next().map(|(_, v)| v.as_str())
    }
}

/// Reads a start line and headers; `None` at the end of the stream or on anything unreadable.
pub(super) fn read_head(r: &mut impl BufRead) -> Option<Head> {
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
pub(super) fn read_body(r: &mut impl BufRead, head: &Head, to_eof: bool) -> Option<Vec<u8>> {
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
pub(super) fn url_decode(s: &[u8]) -> String {
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
pub(super) enum Protocol {
    /// Form body, XML answers (SNS).
    Query,
    /// `X-Amz-Target`, JSON answers (DynamoDB).
    Json,
    /// Method and path, JSON answers (API Gateway, Lambda).
    Rest,
}

pub(super) struct Request {
    method: String,
    path: String,
    head: Head,
    pub(super) body: Vec<u8>,
    pub(super) service: String,
    pub(super) protocol: Protocol,
}

impl Request {
    /// Reads one request, answering `Expect: 100-continue` before its body.
    pub(super) fn read(reader: &mut impl BufRead, client: &mut TcpStream) -> Option<Request> {
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

    pub(super) fn action(&self) -> String {
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

    pub(super) fn close(&self) -> bool {
        self.head
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
    }
}

/// An answer: "200 OK", the code, headers, body.
pub(super) struct Answer {
    status: String,
    pub(super) code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    pub(super) fn new(
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
    pub(super) fn encode(&self, close: bool) -> Vec<u8> {
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
pub(super) fn forward(upstream: SocketAddr, req: &Request) -> Result<Answer, bool> {
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
