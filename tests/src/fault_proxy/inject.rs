//! The faults' own answers: an error in the shape of the request's protocol, and an answer
//! written slowly in small pieces.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use super::plan::FaultKind::{self, *};
use super::wire::{Answer, Protocol, Request};

/// A slow read writes the answer in pieces of this many bytes.
const SLOW_PIECE: usize = 64;

/// An error answer in the request's own protocol, so the SDK parses it as the service's error and
/// its retry classifier sees a server error or throttling.
pub(super) fn injected(kind: FaultKind, req: &Request, id: &str) -> Answer {
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
pub(super) fn send(client: &mut TcpStream, bytes: &[u8], over: Option<Duration>) -> bool {
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
