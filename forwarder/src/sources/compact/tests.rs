//! Unit tests of the compact walk, beside it so its source stays readable.

use proptest::prelude::*;

use super::*;
use crate::model::tokens::ACCESS_NEEDLES;
use crate::sources::{Payload, parse_payload};

const TOKEN: &str = crate::model::tokens::TOKEN;

/// What a scan reads of a batch: the header, each event whose message holds the token (id,
/// timestamp, text) and how many events there were.
type Seen = (
    MessageType,
    String,
    String,
    String,
    Vec<String>,
    Vec<(String, i64, String)>,
    usize,
);

fn seen(batch: &LogBatch) -> Seen {
    let events = batch
        .log_events
        .iter()
        .filter(|e| e.message.escaped_contains(&ACCESS_NEEDLES))
        .map(|e| (e.id.to_string(), e.timestamp, e.message.text().into_owned()))
        .collect();
    (
        batch.message_type,
        batch.owner.to_string(),
        batch.log_group.to_string(),
        batch.log_stream.to_string(),
        batch
            .subscription_filters
            .iter()
            .map(|f| f.to_string())
            .collect(),
        events,
        batch.line_count(),
    )
}

/// Checks the compact walk against the full parser on `json`, and `parse_candidates` against
/// `parse` (result or error text); returns whether the walk took the payload.
fn agree(json: &str) -> bool {
    let full = parse_payload(json.as_bytes());
    let fast = parse(json, |_| &*ACCESS_NEEDLES);
    match (&full, &fast) {
        (Err(e), Some(_)) => panic!("the walk took a payload the parser refuses ({e}): {json}"),
        (Ok(full), Some(fast)) => {
            assert_eq!(seen(fast), seen(full), "{json}");
            for event in &fast.log_events {
                let text = event.message.text();
                assert!(
                    ACCESS_NEEDLES.is_in(text.as_bytes())
                        || ACCESS_NEEDLES.is_in(event.id.as_bytes())
                        || json.contains("\\u"),
                    "a kept event without the tokens' prefix: {json}"
                );
            }
        }
        _ => {}
    }
    let payload = Payload(json.as_bytes().to_vec());
    let candidates = payload.parse_candidates();
    match (&full, &candidates) {
        (Ok(full), Ok(candidates)) => assert_eq!(seen(candidates), seen(full), "{json}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{json}"),
        _ => panic!("parse_candidates and parse disagree: {json}"),
    }
    fast.is_some()
}

/// A payload in the compact layout with these raw (already escaped) parts.
fn compact(group: &str, events: &[(&str, &str, &str)]) -> String {
    let events: Vec<String> = events
        .iter()
        .map(|(id, ts, message)| {
            format!(r#"{{"id":"{id}","timestamp":{ts},"message":"{message}"}}"#)
        })
        .collect();
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"{group}","logStream":"s","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
        events.join(",")
    )
}

fn one(message: &str) -> String {
    compact(
        "/g",
        &[("1", "5", "x"), ("2", "6", message), ("3", "7", "y")],
    )
}

/// Each case: the payload, whether the full parser reads it, whether the walk takes it, and
/// how many events hold the token.
#[test]
fn edge_cases_agree_with_the_parser() {
    let t = TOKEN;
    let cases: Vec<(&str, String, bool, bool, usize)> = vec![
        ("plain token", one(&format!("a {t} b")), true, true, 1),
        ("no token", one("a b"), true, true, 0),
        (
            "quoted fields",
            one(&format!(r#"\"GET /\" 500 \"{t}\""#)),
            true,
            true,
            1,
        ),
        (
            "every simple escape",
            one(r#"\"\\\/\b\f\n\r\t"#),
            true,
            true,
            0,
        ),
        (
            "ends in an escaped backslash",
            one(&format!(r#"{t}\\"#)),
            true,
            true,
            1,
        ),
        (
            "token split by an escape",
            one(r#"AUTHORI\"ZER_CONFIGURATION_ERROR"#),
            true,
            true,
            0,
        ),
        (
            "token split by \\n",
            one(r#"AUTHORIZER\nCONFIGURATION_ERROR"#),
            true,
            true,
            0,
        ),
        ("ends in a lone backslash", one(r#"abc\"#), false, false, 0),
        ("unknown escape", one(r#"a\x"#), false, false, 0),
        ("escaped apostrophe", one(r#"a\'"#), false, false, 0),
        (
            "token letter as \\u",
            one(r#"\u0041UTHORIZER_CONFIGURATION_ERROR"#),
            true,
            true,
            1,
        ),
        (
            "underscore as \\u",
            one(r#"AUTHORIZER\u005fCONFIGURATION_ERROR"#),
            true,
            true,
            1,
        ),
        (
            "upper-case hex",
            one(r#"AUTHORIZER\u005FCONFIGURATION_ERROR"#),
            true,
            true,
            1,
        ),
        (
            "\\u elsewhere",
            one(&format!(r#"{t} \u00e9"#)),
            true,
            true,
            1,
        ),
        ("\\u without the token", one(r#"caf\u00e9"#), true, true, 0),
        (
            "surrogate pair",
            one(&format!(r#"\ud83d\ude00 {t}"#)),
            true,
            true,
            1,
        ),
        ("lone high surrogate", one(r#"\ud800 x"#), false, false, 0),
        ("lone low surrogate", one(r#"\udc00"#), false, false, 0),
        ("short \\u", one(r#"\u12"#), false, false, 0),
        ("\\u with a bad digit", one(r#"\u00g0"#), false, false, 0),
        ("raw tab", one("a\tb"), false, false, 0),
        ("raw NUL", one("a\0b"), false, false, 0),
        (
            "raw newline with the token",
            one(&format!("{t}\n")),
            false,
            false,
            0,
        ),
        ("raw DEL", one("a\u{7f}b"), true, true, 0),
        ("non-ASCII", one(&format!("é 😀 {t}")), true, true, 1),
        ("an unescaped quote", one(r#"a"b"#), false, false, 0),
        (
            "a fake event start",
            one(r#"\"},{\"id\":\"9"#),
            true,
            true,
            0,
        ),
        (
            "token in an id",
            compact("/g", &[(t, "1", "m")]),
            true,
            true,
            0,
        ),
        (
            "token in the log group",
            compact(t, &[("1", "1", "m")]),
            true,
            true,
            0,
        ),
        (
            "escaped log group",
            compact(r#"\/aws\/g"#, &[("1", "1", t)]),
            true,
            false,
            1,
        ),
        (
            "escaped id",
            compact("/g", &[(r#"\u0031"#, "1", t)]),
            true,
            false,
            1,
        ),
        ("no events", compact("/g", &[]), true, true, 0),
        (
            "timestamp 0",
            compact("/g", &[("1", "0", t)]),
            true,
            true,
            1,
        ),
        (
            "leading zero",
            compact("/g", &[("1", "01", t)]),
            false,
            false,
            0,
        ),
        ("negative", compact("/g", &[("1", "-1", t)]), true, false, 1),
        (
            "fraction",
            compact("/g", &[("1", "1.5", t)]),
            false,
            false,
            0,
        ),
        (
            "exponent",
            compact("/g", &[("1", "1e3", t)]),
            false,
            false,
            0,
        ),
        (
            "18 digits",
            compact("/g", &[("1", "999999999999999999", t)]),
            true,
            true,
            1,
        ),
        (
            "19 digits",
            compact("/g", &[("1", "9223372036854775807", t)]),
            true,
            false,
            1,
        ),
        (
            "past i64",
            compact("/g", &[("1", "9223372036854775808", t)]),
            false,
            false,
            0,
        ),
        (
            "a string",
            compact("/g", &[("1", "\"1\"", t)]),
            false,
            false,
            0,
        ),
        ("no number", compact("/g", &[("1", "", t)]), false, false, 0),
    ];
    let mut more: Vec<(&str, String, bool, bool, usize)> = Vec::new();
    let base = one(t);
    let swap = |from: &str, to: &str| base.replacen(from, to, 1);
    more.extend([
        (
            "control message",
            swap("DATA_MESSAGE", "CONTROL_MESSAGE"),
            true,
            false,
            1,
        ),
        (
            "unknown message type",
            swap("DATA_MESSAGE", "DATA"),
            false,
            false,
            0,
        ),
        (
            "space after a colon",
            swap(r#""owner":"#, r#""owner": "#),
            true,
            false,
            1,
        ),
        (
            "space in an event",
            swap(r#""timestamp":6"#, r#""timestamp": 6"#),
            true,
            false,
            1,
        ),
        (
            "newline between events",
            swap("},{", "},\n{"),
            true,
            false,
            1,
        ),
        ("trailing newline", format!("{base}\n"), true, false, 1),
        ("trailing garbage", format!("{base}x"), false, false, 0),
        (
            "a second document",
            format!("{base}{base}"),
            false,
            false,
            0,
        ),
        ("trailing comma", swap("}]}", "},]}"), false, false, 0),
        ("missing id", swap(r#"{"id":"2","#, "{"), true, false, 1),
        (
            "extra event field",
            swap(r#""timestamp":6,"#, r#""timestamp":6,"x":1,"#),
            true,
            false,
            1,
        ),
        (
            "reordered event",
            swap(r#"{"id":"2","timestamp":6,"#, r#"{"timestamp":6,"id":"2","#),
            true,
            false,
            1,
        ),
        (
            "extra header field",
            swap(r#""logStream""#, r#""x":[],"logStream""#),
            true,
            false,
            1,
        ),
        (
            "missing owner",
            swap(r#""owner":"123456789012","#, ""),
            true,
            false,
            1,
        ),
        (
            "missing log group",
            swap(r#""logGroup":"/g","#, ""),
            false,
            false,
            0,
        ),
        (
            "duplicate field",
            swap(r#""logStream""#, r#""owner":"o","logStream""#),
            false,
            false,
            0,
        ),
        ("no filters", swap(r#"["f"]"#, "[]"), true, true, 1),
        (
            "two filters",
            swap(r#"["f"]"#, r#"["f","g"]"#),
            true,
            true,
            1,
        ),
        ("a number filter", swap(r#"["f"]"#, "[1]"), false, false, 0),
        (
            "message not a string",
            swap(r#""message":"y""#, r#""message":7"#),
            false,
            false,
            0,
        ),
        (
            "message null",
            swap(r#""message":"y""#, r#""message":null"#),
            false,
            false,
            0,
        ),
        ("events not closed", swap("}]}", "}}"), false, false, 0),
    ]);
    for (name, json, parses, walked, found) in cases.into_iter().chain(more) {
        let full = parse_payload(json.as_bytes());
        assert_eq!(full.is_ok(), parses, "{name}: {json}: {full:?}");
        assert_eq!(agree(&json), walked, "{name}: {json}");
        if let Ok(batch) = full {
            assert_eq!(seen(&batch).5.len(), found, "{name}");
        }
    }
    // Every cut of a good payload is refused by both, the whole is read by both.
    let good = compact("/g", &[("1", "5", r#"\"a\" \u0041 \\"#), ("2", "6", t)]);
    for cut in 0..good.len() {
        assert!(!agree(&good[..cut]), "{}", &good[..cut]);
    }
    assert!(agree(&good));
}

/// The payloads the forwarder's own encoder writes are in the compact layout, as CloudWatch
/// Logs' are, and are walked.
#[test]
fn encoded_payloads_are_walked() {
    let lines = format!("a \"q\" \\ é\n{TOKEN} \"x\"\n\u{1} tab\there\nlast {TOKEN}\n");
    let event = crate::sources::encode_event(&lines, "/aws/g", "s", "123456789012", 7);
    let payload = crate::sources::decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    let json = std::str::from_utf8(&payload.0).unwrap();
    // serde_json writes control characters as \u escapes, which the walk hands to the parser.
    assert!(json.contains(r#"\u0001"#), "{json}");
    assert!(agree(json));
    let batch = payload.parse_candidates().unwrap();
    assert_eq!(batch.line_count(), 4);
    assert_eq!(batch.omitted_events, 1);
    assert_eq!(seen(&batch).5.len(), 2);
}

/// Pieces of JSON string text: mostly valid, some broken, some near the token.
const GOOD: &[&str] = &[
    "a",
    "Z",
    " ",
    "0",
    "/",
    "é",
    "😀",
    "AUTHORIZER_",
    "CONFIGURATION_ERROR",
    TOKEN,
    "AUTHORIZER",
    "_",
    r#"\""#,
    r#"\\"#,
    r#"\/"#,
    r#"\n"#,
    r#"\t"#,
    r#"\r"#,
    r#"\b"#,
    r#"\f"#,
    r#"\u0041"#,
    r#"\u005f"#,
    r#"\u005F"#,
    r#"\u00e9"#,
    r#"\ud83d\ude00"#,
    r#"\u0000"#,
    r#"\"},{\"id\":\""#,
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\u{7f}",
];
const BAD: &[&str] = &[
    r#"\ud800"#,
    r#"\udc00"#,
    r#"\u12"#,
    r#"\x"#,
    r#"\'"#,
    "\\",
    "\"",
    "\u{1}",
    "\t",
    "\n",
    r#"\u"#,
    "\"},{\"id\":\"",
];

fn text(max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        80 => prop::sample::select(GOOD),
        1 => prop::sample::select(BAD),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// A header string or an id: usually without escapes, as CloudWatch Logs writes them.
fn name() -> impl Strategy<Value = String> {
    let plain = prop::sample::select(&["1", "a", "/", "é", "_", TOKEN, "$default"][..]);
    prop_oneof![
        6 => prop::collection::vec(plain, 0..4).prop_map(|v| v.concat()),
        1 => text(3),
    ]
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => (0i64..=9_999_999_999_999).prop_map(|n| n.to_string()),
        1 => prop::sample::select(&[
            "0", "01", "-1", "-0", "1.5", "1e3", "", "\"1\"", "999999999999999999",
            "9223372036854775807", "9223372036854775808", "99999999999999999999", "null",
        ][..]).prop_map(str::to_owned),
    ]
}

/// One event: usually in the layout, sometimes reordered, with a field more or less, or with
/// whitespace.
fn event() -> impl Strategy<Value = String> {
    (name(), timestamp(), text(12), 0u8..100).prop_map(|(id, ts, message, shape)| match shape {
        0 => format!(r#"{{"timestamp":{ts},"id":"{id}","message":"{message}"}}"#),
        1 => format!(r#"{{"id":"{id}","timestamp":{ts},"message":"{message}","x":1}}"#),
        2 => format!(r#"{{"timestamp":{ts},"message":"{message}"}}"#),
        3 => format!(r#"{{ "id": "{id}", "timestamp": {ts}, "message": "{message}" }}"#),
        4 => format!(r#"{{"id":"{id}","message":"{message}"}}"#),
        _ => format!(r#"{{"id":"{id}","timestamp":{ts},"message":"{message}"}}"#),
    })
}

/// A payload: usually in the layout; sometimes a control message, another header, whitespace,
/// a cut or trailing bytes.
fn payload() -> impl Strategy<Value = String> {
    let header = (
        prop_oneof![9 => Just("DATA_MESSAGE"), 1 => Just("CONTROL_MESSAGE")],
        name(),
        name(),
        name(),
        prop::collection::vec(name(), 0..3),
    );
    let events = prop::collection::vec(event(), 0..6);
    (header, events, 0u8..30, any::<prop::sample::Index>()).prop_map(
        |((kind, owner, group, stream, filters), events, glitch, cut)| {
            let filters: Vec<String> = filters.iter().map(|f| format!("\"{f}\"")).collect();
            let separator = if glitch == 1 { ", " } else { "," };
            let mut json = format!(
                r#"{{"messageType":"{kind}","owner":"{owner}","logGroup":"{group}","logStream":"{stream}","subscriptionFilters":[{}],"logEvents":[{}]}}"#,
                filters.join(","),
                events.join(separator)
            );
            match glitch {
                2 => json = json.replacen(r#""owner":"#, r#""owner" : "#, 1),
                3 => json = json.replacen(r#""owner":""#, r#""x":0,"owner":""#, 1),
                4 => json.push('\n'),
                5 => json.push('x'),
                6 => {
                    let mut at = cut.index(json.len());
                    while !json.is_char_boundary(at) {
                        at -= 1;
                    }
                    json.truncate(at);
                }
                7 => json = json.replacen(r#","owner":"#, r#","logStream":"#, 1),
                _ => {}
            }
            json
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn the_walk_agrees_with_the_parser(json in payload()) {
        agree(&json);
    }
}

/// The generated payloads do reach the walk, both with and without the token, so the property
/// is not checked on fallbacks alone.
#[test]
fn generated_payloads_reach_the_walk() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut walked, mut found) = (0, 0);
    for _ in 0..500 {
        let json = payload().new_tree(&mut runner).unwrap().current();
        if agree(&json) {
            walked += 1;
            let batch = parse(&json, |_| &*ACCESS_NEEDLES).unwrap();
            found += usize::from(!seen(&batch).5.is_empty());
        }
    }
    assert!(
        walked > 120 && found > 25,
        "walked {walked}, with the token {found}"
    );
}

/// Plain text that moves the escapes after it across a block's edge.
const LONG: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

proptest! {
    /// Reading a string's escapes 64 bytes at a time finds what one search per escape finds: the
    /// same closing quote and escapes, or the same refusal, wherever the escapes fall against the
    /// blocks.
    #[test]
    fn block_masks_end_strings_as_searches_do(
        parts in proptest::collection::vec(
            proptest::sample::select(vec!["a", "\\\"", "\\\\", "\\u00e9", "\\n", "\\x", "\"", "\\", "é", LONG]),
            0..60,
        ),
        at in 0usize..70,
    ) {
        let text = parts.concat();
        let b = text.as_bytes();
        let at = at.min(b.len());
        proptest::prop_assert_eq!(string_end(b, at), string_end_from(b, at, Escapes::None), "{:?} from {}", text, at);
    }
}
