//! Unit tests of `input`: every kind of file `scan` reads, and how a broken one is named.

use super::*;
use crate::sources::tests::b64;
use crate::sources::{DecodeError, Payload, decode_data, encode_event, encode_kinesis, gzip};

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
