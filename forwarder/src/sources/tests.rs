//! Unit tests of `decode`, beside it so its source stays readable.

use super::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn event_with_data(data: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"awslogs": {"data": data}})).unwrap()
}

#[test]
fn round_trips_encoded_lines() {
    let event = encode_event("a line\n\nsecond line\n", "/g", "s", "123456789012", 1000);
    let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    let batch = payload.parse().unwrap();
    assert_eq!(batch.message_type, MessageType::DataMessage);
    assert_eq!(batch.log_group, "/g");
    assert_eq!(batch.owner, "123456789012");
    let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
    assert_eq!(messages, ["a line", "second line"]);
    for text in ["\u{feff}a line\r\nsecond line\r\n", "a line\rsecond line\r"] {
        let event = encode_event(text, "/g", "s", "1", 0);
        let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
        assert_eq!(messages, ["a line", "second line"], "{text:?}");
    }
    assert_eq!(batch.log_events[1].timestamp, 1001);
}

/// Any start time encodes: the times of later lines stop at the ends of `i64`.
#[test]
fn encodes_any_start_time() {
    let cases = [
        (i64::MAX, [i64::MAX, i64::MAX]),
        (i64::MAX - 1, [i64::MAX - 1, i64::MAX]),
        (i64::MIN, [i64::MIN, i64::MIN + 1]),
        (-1, [-1, 0]),
    ];
    for (start, want) in cases {
        let event = encode_event("a\nb", "/g", "s", "1", start);
        let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        let times: Vec<i64> = batch.log_events.iter().map(|e| e.timestamp).collect();
        assert_eq!(times, want, "{start}");
    }
}

/// Every kind of JSON escape a message can hold, read back exactly, and the token search on the
/// escaped text agreeing with a search on the decoded text.
#[test]
fn messages_stay_escaped_until_read() {
    let token = &*crate::model::tokens::CANDIDATE_NEEDLES;
    let cases = [
        "a \"q\" The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer.",
        "The response from the Lambda Authorizer function doesn't match\nthe format",
        "split Lambda Authorizer function doesn't\tmatch",
        "\tpermissions to call the authorizer",
        "plain AUTHORIZER_CONFIGURATION_ERROR",
        "1.2.3.4 \"GET / HTTP/1.1\" 500 AUTHORIZER_CONFIGURATION_ERROR",
        "tab\tnew\nline\rform\u{c}back\u{8}slash\\/ \"q\"",
        "trailing backslash \\",
        "control \u{1} and \u{1f} and é and 😀 \"",
        "no token \"here\"",
        "split AUTHORIZER_\"CONFIGURATION_ERROR",
    ];
    for text in cases {
        let json = serde_json::json!({"id": "1", "timestamp": 1, "message": text}).to_string();
        let event: LogEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(event.message.text(), text, "{json}");
        assert_eq!(
            event.message.escaped_contains(token),
            token.is_in(text.as_bytes()),
            "{json}"
        );
    }
    // A token spelled with \u escapes is decoded when parsed, so the search still sees it.
    let json = r#"{"id":"1","timestamp":1,"message":"\u0041UTHORIZER_CONFIGURATION_ERROR \"x\""}"#;
    let event: LogEvent = serde_json::from_str(json).unwrap();
    assert!(event.message.escaped_contains(token));
    // Lone surrogates and non-strings stay errors of the payload.
    for bad in [r#""\ud800 \"""#, "42", "null"] {
        let json = format!(r#"{{"id":"1","timestamp":1,"message":{bad}}}"#);
        assert!(serde_json::from_str::<LogEvent>(&json).is_err(), "{json}");
    }
}

#[test]
fn each_layer_names_itself() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "event is empty"),
        (b"not json".to_vec(), "event is not JSON"),
        (b"{}".to_vec(), "no awslogs.data"),
        (br#"{"awslogs":{}}"#.to_vec(), "no awslogs.data"),
        (event_with_data("%%%"), "not valid base64"),
        (event_with_data(&b64(b"plain text")), "not gzip"),
        (
            event_with_data(&b64(&gzip(b"{\"messageType\":")[..10])),
            "truncated",
        ),
        (
            event_with_data(&b64(&gzip(b"nope"))),
            "payload JSON is invalid",
        ),
        (
            event_with_data(&b64(&gzip(br#"{"messageType":"DATA_MESSAGE"}"#))),
            "missing field `logGroup`",
        ),
    ];
    for (input, expected) in cases {
        let err = decode_event(&input)
            .and_then(|p| p.parse().map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{:?}: {err}",
            String::from_utf8_lossy(&input)
        );
    }
}

/// One member inflates in one call; anything else falls back to the streaming decoder, which
/// agrees on good input and names the problem in bad.
#[test]
fn whole_member_fast_path_and_its_fallbacks() {
    let text = b"line one\nline two\n".repeat(1000);
    let one = gzip(&text);
    assert_eq!(inflate_whole(&one, 1 << 20).as_deref(), Some(&text[..]));
    // Two members: the fast path declines, the stream decoder reads both.
    let two = [gzip(b"abc"), gzip(b"xyz")].concat();
    assert_eq!(inflate_whole(&two, 1 << 20), None);
    assert_eq!(inflate(&two, 1 << 20).unwrap(), b"abcxyz");
    // A trailer claiming another size, and a flipped CRC.
    let mut lying = one.clone();
    let n = lying.len();
    lying[n - 4] ^= 1;
    assert_eq!(inflate_whole(&lying, 1 << 20), None);
    assert!(inflate(&lying, 1 << 20).is_err());
    let mut bad_crc = one.clone();
    bad_crc[n - 8] ^= 1;
    assert_eq!(inflate_whole(&bad_crc, 1 << 20), None);
    assert!(matches!(
        inflate(&bad_crc, 1 << 20),
        Err(DecodeError::Gzip(_))
    ));
    // A trailer claiming more than deflate can expand to: declined without reserving it.
    let mut boast = gzip(b"x");
    let m = boast.len();
    boast[m - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(inflate_whole(&boast, usize::MAX), None);
    // Larger than the limit: declined, and refused by name.
    assert_eq!(inflate_whole(&one, 100), None);
    assert!(matches!(
        inflate(&one, 100),
        Err(DecodeError::TooLarge { .. })
    ));
    assert_eq!(inflate(&gzip(b""), 10).unwrap(), b"");
}

/// Today's gunzip before libdeflate, as the reference: flate2 (zlib-rs) inflates a lone
/// member in one call, and anything it declines goes to the same streaming path.
fn inflate_flate2(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
    let whole = (|| {
        let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
        let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
        if size > limit || size > gz.len().saturating_mul(1032) {
            return None;
        }
        let mut out = Vec::with_capacity(size);
        let mut inflater = flate2::Decompress::new_gzip(15);
        let status = inflater
            .decompress_vec(gz, &mut out, flate2::FlushDecompress::Finish)
            .ok()?;
        (status == flate2::Status::StreamEnd
            && inflater.total_in() == gz.len() as u64
            && out.len() == size)
            .then_some(out)
    })();
    match whole {
        Some(out) => Ok(out),
        None => inflate_streaming(gz, limit),
    }
}

/// `inflate` and the reference agree: the same bytes, or the same error.
fn agrees(gz: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let ours = inflate(gz, limit).map_err(|e| e.to_string());
    let theirs = inflate_flate2(gz, limit).map_err(|e| e.to_string());
    assert_eq!(ours, theirs, "{gz:02x?} limit {limit}");
    ours
}

fn gzip_at(bytes: &[u8], level: u32, header: u8) -> Vec<u8> {
    use std::io::Write;
    let mut builder = flate2::GzBuilder::new();
    if header & 1 != 0 {
        builder = builder.filename("access.log");
    }
    if header & 2 != 0 {
        builder = builder.comment("a comment");
    }
    if header & 4 != 0 {
        builder = builder.extra(vec![b'x'; 9]);
    }
    let mut enc = builder.write(Vec::new(), flate2::Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Every kind of stream, good and broken, inflates exactly as the flate2 path inflates it, and
/// output above the cap is refused by naming it.
#[test]
fn libdeflate_agrees_with_flate2() {
    use proptest::prelude::*;
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        // Few distinct bytes, repeated, so deflate finds matches and Huffman-codes them.
        (
            proptest::collection::vec(proptest::sample::select(&b"ab {}\n\"0"[..]), 0..300),
            1usize..40
        )
            .prop_map(|(unit, times)| unit.repeat(times)),
    ];
    proptest!(|(
        payload in payload,
        level in 0u32..=9,
        header in 0u8..8,
        shape in 0u8..6,
        at in any::<proptest::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 1..16),
        mask in 1u8..=255,
        limit in prop_oneof![Just(usize::MAX), any::<proptest::sample::Index>().prop_map(|i| i.index(8000))],
    )| {
        let one = gzip_at(&payload, level, header);
        let gz = match shape {
            0 => one,
            1 => {
                let cut = at.index(payload.len() + 1);
                [gzip_at(&payload[..cut], level, header), gzip_at(&payload[cut..], level, 0)].concat()
            }
            2 => [one, noise].concat(),
            3 => {
                let mut lying = one;
                let n = lying.len();
                lying[n - 4 + at.index(4)] ^= mask;
                lying
            }
            4 => {
                let mut cut = one;
                cut.truncate(at.index(cut.len()));
                cut
            }
            _ => {
                let mut flipped = one;
                let i = at.index(flipped.len());
                flipped[i] ^= mask;
                flipped
            }
        };
        let got = agrees(&gz, limit);
        if shape < 2 {
            if payload.len() > limit {
                prop_assert_eq!(got, Err(DecodeError::TooLarge { limit }.to_string()));
            } else {
                prop_assert_eq!(got, Ok(payload));
            }
        }
    });
}

/// A header CRC is checked, as zlib checks it, though libdeflate would skip it.
#[test]
fn a_header_crc_is_checked() {
    let text = b"one line\n".repeat(50);
    let plain = gzip(&text);
    let mut header = plain[..10].to_vec();
    header[3] |= GZIP_FHCRC;
    let mut crc = flate2::Crc::new();
    crc.update(&header);
    let good = [&header[..], &(crc.sum() as u16).to_le_bytes(), &plain[10..]].concat();
    assert_eq!(agrees(&good, 1 << 20).unwrap(), text);
    let bad = [
        &header[..],
        &(!crc.sum() as u16).to_le_bytes(),
        &plain[10..],
    ]
    .concat();
    assert!(agrees(&bad, 1 << 20).is_err());
}

/// Where the two differ, on purpose-built streams only: libdeflate reads litlen symbols 286
/// and 287 (and offset symbols 30 and 31) that deflate reserves and zlib refuses, and some
/// incomplete Huffman codes zlib refuses. Such a stream whose trailer matches what libdeflate
/// reads from it inflates where flate2 named it corrupt. No deflate encoder writes them.
#[test]
fn libdeflate_reads_reserved_symbols_zlib_refuses() {
    // One final fixed-Huffman block: literal 'a', then length symbol 286 (read by libdeflate
    // as length 258) at distance 1, then end of block.
    let mut bits: Vec<bool> = vec![true, true, false]; // BFINAL, BTYPE = 01 (LSB first)
    let mut code = |value: u32, len: u32| bits.extend((0..len).rev().map(|i| value >> i & 1 == 1));
    code(0x30 + u32::from(b'a'), 8);
    code(0xc0 + (286 - 280), 8);
    code(0, 5); // distance 1
    code(0, 7); // end of block
    let mut deflate = vec![0u8; bits.len().div_ceil(8)];
    for (i, &bit) in bits.iter().enumerate() {
        deflate[i / 8] |= u8::from(bit) << (i % 8);
    }
    let text = vec![b'a'; 259];
    let mut crc = flate2::Crc::new();
    crc.update(&text);
    let gz = [
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff][..],
        &deflate,
        &crc.sum().to_le_bytes(),
        &259u32.to_le_bytes(),
    ]
    .concat();
    assert_eq!(inflate(&gz, 1 << 20).unwrap(), text);
    assert!(matches!(
        inflate_flate2(&gz, 1 << 20),
        Err(DecodeError::Gzip(_))
    ));
}

/// The SIMD decoder with its fallback accepts exactly what the `base64` crate's STANDARD
/// engine accepts, with the same bytes, and refuses with that crate's error.
#[test]
fn base64_agrees_with_the_base64_crate() {
    let check = |data: &str| {
        let ours = decode_base64(data).map_err(|e| e.to_string());
        let theirs = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| DecodeError::from(e).to_string());
        assert_eq!(ours, theirs, "{data:?}");
    };
    for data in [
        "",
        "=",
        "==",
        "===",
        "====",
        "QQ==",
        "QQ=",
        "QQ",
        "QR==",
        "QUI=",
        "QUJ=",
        "QUJD",
        "QUJD====",
        "QU=D",
        "Q===",
        "QUJDRA==QUJD",
        " QUJD",
        "QUJD ",
        "QU JD",
        "QUJD\n",
        "QUJ-",
        "QUJ_",
        "QUJ\u{e9}",
        "QUJDRA",
    ] {
        check(data);
    }
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    for n in 0..70 {
        check(&b64(&bytes[..n]));
        check(&b64(&bytes[n..n * 40]));
    }
    proptest::proptest!(|(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::sample::select(&b"A/+=9z-_ \n\x80"[..])),
            0..3,
        ),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    )| {
        let mut data = b64(&raw).into_bytes();
        if !data.is_empty() {
            for (at, byte) in &edits {
                let i = at.index(data.len());
                data[i] = *byte;
            }
            if edits.len() == 2 {
                data.truncate(cut.index(data.len() + 1));
            }
        }
        check(&String::from_utf8_lossy(&data));
    });
}

#[test]
fn refuses_a_gzip_bomb() {
    let bomb = gzip(&vec![b' '; 2 << 20]);
    assert!(bomb.len() < 10_000);
    let err = inflate(&bomb, 1 << 20).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { limit } if limit == 1 << 20));
    assert_eq!(inflate(&bomb, 2 << 20).unwrap().len(), 2 << 20);
}

#[test]
fn control_message_is_recognised() {
    let payload = br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
    let payload = decode_data(&b64(&gzip(payload))).unwrap();
    assert!(payload.parse().unwrap().is_control());
}

#[test]
fn non_utf8_message_is_a_payload_error() {
    let mut payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":"bad "#.to_vec();
    payload.extend_from_slice(&[0xff, 0xfe]);
    payload.extend_from_slice(br#""}]}"#);
    let err = decode_data(&b64(&gzip(&payload)))
        .unwrap()
        .parse()
        .unwrap_err();
    let offset = payload.iter().position(|&b| b == 0xff).unwrap();
    assert!(
        matches!(err, DecodeError::PayloadNotUtf8 { offset: o } if o == offset),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("payload JSON is invalid"),
        "{err}"
    );
}

#[test]
fn tells_the_lambda_event_kinds_apart() {
    let schedule = br#"{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-25T18:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/recovery"],"detail":{}}"#;
    let kinesis = serde_json::to_vec(&encode_kinesis(&[("1", gzip(b"{}"))])).unwrap();
    let logs = serde_json::to_vec(&encode_event("x", "/g", "s", "1", 0)).unwrap();
    let other_event = br#"{"source":"aws.s3","detail-type":"Object Created"}"#;
    let stack = br#"{"source":"aws.cloudformation","detail-type":"CloudFormation Stack Status Change","detail":{}}"#;
    let queue = br#"{"Records":[{"messageId":"m","body":"{}","eventSource":"aws:sqs"},{"x":1}]}"#;
    for (bytes, kind) in [
        (&stack[..], EventKind::StackStatus),
        (&queue[..], EventKind::Queue),
        // Only the first record's own `eventSource` names a queue; anything else under
        // `Records` is a stream's event, which its decoder refuses by name.
        (
            br#"{"Records":[{"eventSource":7},{"eventSource":"aws:sqs"}]}"#,
            EventKind::Kinesis,
        ),
        (
            br#"{"Records":[[{"eventSource":"aws:sqs"}]]}"#,
            EventKind::Kinesis,
        ),
        (
            br#"{"Records":{"eventSource":"aws:sqs"}}"#,
            EventKind::Kinesis,
        ),
        (br#"{"Records":[1]}"#, EventKind::Kinesis),
        (&schedule[..], EventKind::Schedule),
        (&kinesis[..], EventKind::Kinesis),
        (&logs[..], EventKind::Subscription),
        (&other_event[..], EventKind::Subscription),
        (b"not json", EventKind::Subscription),
    ] {
        assert_eq!(
            event_kind(bytes),
            kind,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// What a sniffed input came to, per part: `lines:N` with its line count, `batch:E` with its
/// event count once decoded, or `error:TEXT`; an error of the whole input is one `error:`.
fn sniffed(bytes: &[u8]) -> Vec<String> {
    let parts = match sniff(bytes) {
        Ok(parts) => parts,
        Err(e) => return vec![format!("error:{e}")],
    };
    parts
        .into_iter()
        .map(|p| {
            let at = p.at;
            let batch = |payload: Result<Payload, DecodeError>| match payload
                .and_then(|p| p.parse().map(|b| b.log_events.len()))
            {
                Ok(n) => format!("{at}batch:{n}"),
                Err(e) => format!("{at}error:{e}"),
            };
            match p.content {
                Ok(Content::Lines(text)) => format!("{at}lines:{}", text.lines().count()),
                Ok(Content::Encoded(data)) => batch(decode_data(&data)),
                Ok(Content::Payload(payload)) => batch(Ok(payload)),
                Ok(Content::Events(events)) => format!("{at}events:{}", events.len()),
                Err(e) => format!("{at}error:{e}"),
            }
        })
        .collect()
}

/// Every kind of input a user may give `scan`, with what it must come to. A case's expected
/// parts are prefixes, so an error is matched by its leading words.
#[test]
fn sniffs_every_input_kind() {
    let lines = "1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1 id -\n5.6.7.8 - - [x] \"GET / HTTP/1.1\" 200 1 id -\n";
    let event = serde_json::to_string(&encode_event(lines, "/g", "s", "1", 0)).unwrap();
    let pretty = serde_json::to_string_pretty(&encode_event(lines, "/g", "s", "1", 0)).unwrap();
    let payload = r#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[{"id":"1","timestamp":1,"message":"m"}]}"#;
    let kinesis = |seq: &str| {
        serde_json::to_string(&encode_kinesis(&[(seq, gzip(payload.as_bytes()))])).unwrap()
    };
    let destination = serde_json::json!({
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": serde_json::from_str::<serde_json::Value>(&event).unwrap(),
        "responsePayload": {"errorType": "PublishFailed"},
    })
    .to_string();
    let sqs_dump = serde_json::json!({"Messages": [
        {"MessageId": "m-1", "ReceiptHandle": "r", "Body": destination},
        {"MessageId": "m-2", "ReceiptHandle": "r", "Body": event},
    ]})
    .to_string();
    let sqs_event = serde_json::json!({"Records": [
        {"messageId": "q-1", "body": destination, "eventSource": "aws:sqs"},
    ]})
    .to_string();
    let sns = serde_json::json!({"Type": "Notification", "MessageId": "n", "TopicArn": "t", "Message": event}).to_string();
    let bridge = serde_json::json!({"detail-type": "Lambda Function Invocation Result - Failure", "source": "lambda", "detail": serde_json::from_str::<serde_json::Value>(&destination).unwrap()}).to_string();
    let export = serde_json::json!({"events": [
            {"logStreamName": "s", "timestamp": 1, "message": "line one"},
            {"logStreamName": "s", "timestamp": 2, "message": "line two"},
        ], "searchedLogStreams": []})
    .to_string();
    let json_lines =
        "{\"requestId\":\"a\",\"status\":\"200\"}\n{\"requestId\":\"b\",\"status\":\"500\"}\n";
    let bom = |s: &str| [b"\xef\xbb\xbf".as_slice(), s.as_bytes()].concat();
    let utf16 = |s: &str, le: bool| {
        let mut out = if le {
            vec![0xff, 0xfe]
        } else {
            vec![0xfe, 0xff]
        };
        for u in s.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    };
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
            ("plain lines", lines.into(), vec!["lines:2"]),
            ("CRLF", lines.replace('\n', "\r\n").into(), vec!["lines:2"]),
            ("CR only", lines.replace('\n', "\r").into(), vec!["lines:2"]),
            (
                "CR only, no final line end",
                lines.trim_end().replace('\n', "\r").into(),
                vec!["lines:2"],
            ),
            ("BOM before lines", bom(lines), vec!["lines:2"]),
            ("UTF-16 LE lines", utf16(lines, true), vec!["lines:2"]),
            ("UTF-16 BE event", utf16(&event, false), vec!["batch:2"]),
            ("JSON access-log lines", json_lines.into(), vec!["lines:2"]),
            (
                "one JSON access-log line",
                br#"{"requestId":"a","status":"200"}"#.to_vec(),
                vec!["lines:1"],
            ),
            (
                "JSON lines, CR only",
                json_lines.replace('\n', "\r").into(),
                vec!["lines:2"],
            ),
            (
                "text lines starting with [",
                b"[20/Nov/2026:09:14:03 +0000] GET / 500 x\n".to_vec(),
                vec!["lines:1"],
            ),
            ("event", event.clone().into(), vec!["batch:2"]),
            ("pretty event", pretty.clone().into(), vec!["batch:2"]),
            ("BOM before an event", bom(&event), vec!["batch:2"]),
            (
                "event with CRLF",
                pretty.replace('\n', "\r\n").into(),
                vec!["batch:2"],
            ),
            (
                "JSON Lines of events",
                format!("{event}\n{event}\n").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "JSON Lines of events, CRLF",
                format!("{event}\r\n{event}\r\n").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "events back to back",
                format!("{event}{event}").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "pretty events back to back",
                format!("{pretty}\n{pretty}").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "array of events",
                format!("[{event},{event}]").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            ("payload", payload.into(), vec!["batch:1"]),
            (
                "gzip of a payload",
                gzip(payload.as_bytes()),
                vec!["batch:1"],
            ),
            ("gzip of lines", gzip(lines.as_bytes()), vec!["lines:2"]),
            ("gzip of an event", gzip(event.as_bytes()), vec!["batch:2"]),
            (
                "gzip of JSON Lines of events",
                gzip(format!("{event}\n{event}").as_bytes()),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "gzip of a BOM and CR-only lines",
                gzip(&bom(&lines.replace('\n', "\r"))),
                vec!["lines:2"],
            ),
            (
                "gzip of gzip of lines",
                gzip(&gzip(lines.as_bytes())),
                vec!["lines:2"],
            ),
            (
                "three layers of gzip",
                gzip(&gzip(&gzip(lines.as_bytes()))),
                vec!["error:input is gzip inside gzip inside gzip"],
            ),
            ("Kinesis event", kinesis("7").into(), vec!["#7batch:1"]),
            (
                "Kinesis events back to back",
                format!("{}{}", kinesis("7"), kinesis("8")).into(),
                vec!["#1#7batch:1", "#2#8batch:1"],
            ),
            (
                "Kinesis events as JSON Lines",
                format!("{}\n{}\n", kinesis("7"), kinesis("8")).into(),
                vec!["#1#7batch:1", "#2#8batch:1"],
            ),
            (
                "Lambda destination record",
                destination.clone().into(),
                vec!["batch:2"],
            ),
            (
                "SQS dump of the dead-letter queue",
                sqs_dump.into(),
                vec!["#m-1batch:2", "#m-2batch:2"],
            ),
            ("SQS event", sqs_event.clone().into(), vec!["#q-1batch:2"]),
            (
                "one SQS message",
                serde_json::json!({"MessageId": "m", "Body": event})
                    .to_string()
                    .into(),
                vec!["batch:2"],
            ),
            ("SNS notification", sns.into(), vec!["batch:2"]),
            ("EventBridge destination", bridge.into(), vec!["batch:2"]),
            ("aws logs output", export.into(), vec!["events:2"]),
            (
                "filter-log-events output, every key",
                serde_json::json!({
                    "events": [
                        {"logStreamName": "s", "timestamp": 1, "message": "a\nb", "ingestionTime": 2, "eventId": "e1"},
                        {"logStreamName": "s", "timestamp": 3, "message": "c", "ingestionTime": 4, "eventId": "e2"},
                    ],
                    "searchedLogStreams": [],
                    "nextToken": "t",
                })
                .to_string()
                .into(),
                vec!["events:2"],
            ),
            (
                "get-log-events output",
                serde_json::json!({
                    "events": [{"timestamp": 1, "message": "a", "ingestionTime": 2}],
                    "nextForwardToken": "f/1",
                    "nextBackwardToken": "b/1",
                })
                .to_string()
                .into(),
                vec!["events:1"],
            ),
            // A client value of a JSON-format line can hold `","awslogs":{...}` (API Gateway does
            // not escape it): the line keeps its format's keys, so it is no event.
            (
                "JSON access-log line with an injected envelope key",
                format!(
                    "{{\"requestId\":\"a\",\"ua\":\"x\",\"awslogs\":{}}}\n{{\"requestId\":\"b\",\"ua\":\"y\"}}\n",
                    serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"]
                )
                .into(),
                vec!["lines:2"],
            ),
            (
                "JSON access-log lines, a later one with an injected envelope key",
                format!(
                    "{json_lines}{{\"requestId\":\"c\",\"awslogs\":{}}}\n",
                    serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"]
                )
                .into(),
                vec!["lines:3"],
            ),
            (
                "JSON access-log line a client's quote broke, first",
                b"{\"requestId\":\"a\",\"ua\":\"x\"y\",\"awslogs\":\"z\"}\n{\"requestId\":\"b\",\"ua\":\"y\"}\n".to_vec(),
                vec!["lines:2"],
            ),
            // A client value holding `"}` closes the object early; the line goes on after it.
            (
                "JSON access-log line a client's `\"}` closed early",
                b"{\"requestId\":\"a\",\"path\":\"\"}\",\"ua\":\"\",\"status\":\"200\"}\n".to_vec(),
                vec!["lines:1"],
            ),
            (
                "JSON access-log line with an array a client injected",
                br#"{"requestId":"a","ua":"x","items":[1,2]}"#.to_vec(),
                vec!["lines:1"],
            ),
            // On one line it is what a JSON-format access-log line with a client's injected key
            // would be, and is read so; printed over several lines it is no log line.
            (
                "one-line subscription event with a key AWS does not write",
                event.replacen('{', "{\"extra\":1,", 1).into(),
                vec!["lines:1"],
            ),
            (
                "subscription event with a key AWS does not write",
                pretty.replacen('{', "{\"extra\":1,", 1).into(),
                vec!["error:a JSON object with the marks of a CloudWatch Logs subscription event also has the key `extra`"],
            ),
            (
                "subscription event giving awslogs twice",
                {
                    let awslogs = serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"].to_string();
                    format!("{{\"awslogs\":{awslogs},\"awslogs\":{awslogs}}}").into()
                },
                vec!["error:a CloudWatch Logs subscription event gives the key `awslogs` twice"],
            ),
            (
                "Records given twice",
                format!("{{\"Records\":[],\"Records\":{}}}", serde_json::from_str::<serde_json::Value>(&sqs_event).unwrap()["Records"]).into(),
                vec!["error:a Lambda event of Records gives the key `Records` twice"],
            ),
            (
                "SNS notification giving Message twice",
                format!("{{\"Type\":\"Notification\",\"Message\":\"x\",\"Message\":{}}}", serde_json::Value::String(event.clone())).into(),
                vec!["error:an SNS notification gives the key `Message` twice"],
            ),
            (
                "destination record giving requestPayload twice",
                format!("{{\"requestPayload\":{{}},\"requestPayload\":{event}}}").into(),
                vec!["error:a Lambda destination record gives the key `requestPayload` twice"],
            ),
            (
                "aws logs tail output",
                b"2026-12-07T09:45:51.123000+00:00 3ed5d3ff (6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) Execution failed due to configuration error: Authorizer error\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "aws logs --output text",
                b"EVENTS\t00000000000000000000000000000000000000000000000000000001\t1795172402000\tabc\t(6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) AuthorizerConfigurationException\t1795172401000\n".to_vec(),
                vec!["error:input is `aws logs` output in --output text"],
            ),
            (
                "aws logs tail --format short output",
                b"2026-12-07T09:45:51 (6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) AuthorizerConfigurationException\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "aws logs tail --color on output",
                b"\x1b[32m2026-12-07T09:45:51.123000+00:00\x1b[0m \x1b[36ms\x1b[0m x\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "deeply nested arrays",
                format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into(),
                vec!["error:"],
            ),
            (
                "deeply nested objects",
                format!("{}1{}", "{\"Records\":".repeat(5000), "}".repeat(5000)).into(),
                vec!["error:"],
            ),
            ("empty", vec![], vec!["error:input is empty"]),
            (
                "only whitespace",
                b" \n\t\r\n ".to_vec(),
                vec!["error:input holds only whitespace"],
            ),
            ("only a BOM", bom(""), vec!["error:input is empty"]),
            (
                "UTF-16 without a BOM",
                utf16(lines, true)[2..].to_vec(),
                vec!["error:input holds a NUL byte at offset 1"],
            ),
            (
                "UTF-16 of odd length",
                utf16(lines, true)[..9].to_vec(),
                vec!["error:input is UTF-16 but broken at byte 8"],
            ),
            (
                "Latin-1",
                b"caf\xe9 AUTHORIZER_CONFIGURATION_ERROR\n".to_vec(),
                vec!["error:input is not UTF-8 text (invalid byte at offset 3)"],
            ),
            (
                "zstd",
                b"\x28\xb5\x2f\xfd\x00\x00".to_vec(),
                vec!["error:input is zstd-compressed"],
            ),
            (
                "zip",
                b"PK\x03\x04\x14\x00".to_vec(),
                vec!["error:input is zip-compressed"],
            ),
            (
                "unknown JSON document",
                b"{\n  \"foo\": {\"bar\": 1}\n}\n".to_vec(),
                vec!["error:a JSON object with keys `foo` is neither"],
            ),
            (
                "JSON array of numbers",
                b"[1, 2]".to_vec(),
                vec!["error:a JSON array is neither"],
            ),
            (
                "empty JSON array",
                b"[]".to_vec(),
                vec!["error:the JSON array is empty"],
            ),
            (
                "empty Records",
                br#"{"Records":[]}"#.to_vec(),
                vec!["error:Records is empty"],
            ),
            (
                "empty SQS dump",
                br#"{"Messages":[]}"#.to_vec(),
                vec!["error:Messages is empty"],
            ),
            (
                "S3 event",
                br#"{"Records":[{"eventSource":"aws:s3","s3":{}}]}"#.to_vec(),
                vec!["#1error:record 1 is not a Kinesis, SQS or SNS record (eventSource aws:s3)"],
            ),
            (
                "truncated event",
                event.as_bytes()[..event.len() / 2].to_vec(),
                vec!["error:event is not JSON: EOF while parsing"],
            ),
            (
                "event with a broken key",
                event.replacen("\"data\"", "data", 1).into(),
                vec!["error:event is not JSON: key must be a string"],
            ),
            (
                "an event then garbage",
                format!("{event}\n}}garbage").into(),
                vec!["#1batch:2", "#2error:event is not JSON"],
            ),
            (
                "an event then an unknown object",
                format!("{event}\n{{\"a\":1}}").into(),
                vec![
                    "#1batch:2",
                    "#2error:a JSON object with keys `a` is neither",
                ],
            ),
            (
                "an event among JSON log lines",
                format!("{json_lines}{event}\n").into(),
                vec!["error:line 3 is an event among JSON access-log lines"],
            ),
            (
                "SQS message without a body",
                br#"{"Messages":[{"MessageId":"m"}]}"#.to_vec(),
                vec!["#merror:SQS message has no Body string"],
            ),
            (
                "SQS message whose body is a log line",
                serde_json::json!({"MessageId": "m", "Body": "1.2.3.4 GET /"})
                    .to_string()
                    .into(),
                vec!["error:a JSON number is neither"],
            ),
            (
                "awslogs without data",
                br#"{"awslogs":{"type":"gzip"}}"#.to_vec(),
                vec![
                    "error:event has no awslogs.data string (not a CloudWatch Logs subscription event)",
                ],
            ),
            (
                "a record that nests itself",
                {
                    let mut json = event.clone();
                    for _ in 0..10 {
                        json = serde_json::json!({"requestPayload": serde_json::from_str::<serde_json::Value>(&json).unwrap()}).to_string();
                    }
                    json.into()
                },
                vec!["error:events are wrapped more than"],
            ),
        ];
    for (name, bytes, expected) in cases {
        let got = sniffed(&bytes);
        assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
        for (got, expected) in got.iter().zip(&expected) {
            assert!(
                got.starts_with(expected),
                "{name}: {got:?}, expected {expected:?}"
            );
        }
    }
}

/// An event whose data holds JSON escapes still decodes; one whose `awslogs` has another shape
/// reaches the decoder, which names what is wrong.
#[test]
fn sniffs_escaped_data_and_names_broken_events() {
    let payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[]}"#;
    let data = b64(&gzip(payload));
    let escaped = data.replace('/', "\\/");
    let with_escapes = format!(r#"{{"awslogs":{{"data":"{escaped}"}}}}"#);
    assert!(
        with_escapes.contains("\\/"),
        "the data holds an escaped slash"
    );
    assert_eq!(sniffed(with_escapes.as_bytes()), ["batch:0"]);
    let broken: [(&[u8], &str); 4] = [
        (br#"{"awslogs":{}}"#, "no awslogs.data string"),
        (br#"{"awslogs":{"data":null}}"#, "no awslogs.data string"),
        (br#"{"awslogs":{"data":5}}"#, "no awslogs.data string"),
        (br#"{"awslogs":{"data":"!!"}}"#, "not valid base64"),
    ];
    for (bytes, expected) in broken {
        let got = sniffed(bytes);
        assert!(got[0].contains(expected), "{got:?}");
    }
}

/// The function is strict, one event an invocation, and names what it was given instead.
#[test]
fn the_function_names_what_it_was_sent() {
    let event = serde_json::to_string(&encode_event("x", "/g", "s", "1", 0)).unwrap();
    let destination = format!(r#"{{"version":"1.0","requestPayload":{event}}}"#);
    let twice = format!("{event}{event}");
    let cases: [(&[u8], &str); 9] = [
        (b"", "event is empty"),
        (b"hello", "event is not JSON: expected value"),
        (twice.as_bytes(), "event is not JSON: trailing characters"),
        (
            b"[1]",
            "event is JSON but not a CloudWatch Logs subscription event: invalid type",
        ),
        (
            destination.as_bytes(),
            "(not a CloudWatch Logs subscription event: it is a Lambda destination record; replay its requestPayload)",
        ),
        (
            br#"{"Messages":[]}"#,
            "it is an SQS message; replay its body",
        ),
        (br#"{"a":1,"b":2}"#, "its keys are `a`, `b`"),
        (
            b"{}",
            "no awslogs.data string (not a CloudWatch Logs subscription event)",
        ),
        (
            br#"{"awslogs":{"type":"gzip"}}"#,
            "no awslogs.data string (not a CloudWatch Logs subscription event)",
        ),
    ];
    for (bytes, expected) in cases {
        let e = decode_event(bytes).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
    let sqs = br#"{"Records":[{"messageId":"1","body":"{}","eventSource":"aws:sqs"}]}"#;
    let e = parse_kinesis(sqs).unwrap_err().to_string();
    assert!(
            e.starts_with("event is JSON but not a Kinesis event of CloudWatch Logs records: missing field `kinesis`"),
            "{e}"
        );
    // BOMs, JSON Lines and the like are the command line's; the function takes one event.
    assert!(decode_event(format!("\u{feff}{event}").as_bytes()).is_err());
    assert!(decode_event(event.as_bytes()).is_ok());
}

/// The caps docs/operations.md and BENCHMARKS.md state for each memory size.
#[test]
fn inflate_cap_follows_the_memory_size() {
    for (memory_mb, cap_mib) in [
        (128, 16),
        (256, 41),
        (512, 92),
        (1024, 195),
        (1769, 344),
        (10240, 2038),
        (64, 4),
    ] {
        assert_eq!(
            inflate_cap_for_memory(memory_mb),
            cap_mib << 20,
            "{memory_mb} MB"
        );
    }
    assert_eq!(inflate_cap_from_env(Some("128")), 16 << 20);
    assert_eq!(inflate_cap_from_env(Some("512")), 92 << 20);
    assert_eq!(inflate_cap_from_env(None), MAX_DECOMPRESSED_BYTES);
    assert_eq!(inflate_cap_from_env(Some("lots")), 16 << 20);
}

/// A bomb is refused at the cap with an error naming the cap, whatever its trailer claims,
/// and the count that finds it out holds only a small buffer.
#[test]
fn a_bomb_is_refused_by_naming_the_cap() {
    let cap = inflate_cap_for_memory(128);
    let bomb = gzip(&vec![b' '; cap + 1]);
    assert!(bomb.len() < cap / 500, "a bomb: {} bytes", bomb.len());
    let mut lying = bomb.clone();
    let n = lying.len();
    lying[n - 4..].copy_from_slice(&100u32.to_le_bytes());
    let two_members = [
        gzip(&vec![b' '; cap / 2 + 1]),
        gzip(&vec![b' '; cap / 2 + 1]),
    ]
    .concat();
    for gz in [&bomb, &lying, &two_members] {
        let e = inflate(gz, cap).unwrap_err();
        assert!(
            matches!(e, DecodeError::TooLarge { limit } if limit == cap),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "payload inflates to more than 16777216 bytes, the inflate cap (refused as a possible gzip bomb)"
        );
        assert!(matches!(
            inflated_size(gz, cap),
            Err(DecodeError::TooLarge { .. })
        ));
    }
    assert_eq!(inflate(&bomb, cap + 1).unwrap().len(), cap + 1);
    assert_eq!(inflate(&two_members, cap + 2).unwrap().len(), cap + 2);
}
