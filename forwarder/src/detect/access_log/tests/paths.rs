//! The splitter's paths against each other: its shortcuts, its byte-by-byte pass and its
//! several-word pass give the same places and bounds on hostile lines.

use super::*;
use crate::detect::access_log::automaton::Automaton;
use crate::detect::access_log::vars::Class;

/// Hundreds of thousands of places where a client value could end: one pass each way.
#[test]
fn hostile_separators_keep_splitting_linear() {
    let f = LogFormat::parse(
            r#"$context.requestId "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.authorizer.error"#,
        )
        .unwrap();
    let noise = "\" 500 \" x AUTHORIZER_CONFIGURATION_ERROR".repeat(30_000);
    let line = format!(r#"r "GET /{noise} HTTP/1.1" 200 "{noise}" api -"#);
    let got = places(&f, &line).expect("follows the format");
    assert!(got.iter().all(|p| *p == Place::Elsewhere));
    assert_eq!(got.len(), 60_000);
    let tight = split_map(
        &f,
        r#"r "GET /a HTTP/1.1" 200 "ua" api AUTHORIZER_CONFIGURATION_ERROR,x"#,
    );
    assert_eq!(tight[5].1, "ua");
}

/// Bits of lines, API Gateway's and a hostile client's, that property tests join at random.
const HOSTILE_PIECES: &[&str] = &[
    "\"",
    " ",
    "\" ",
    "\t",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR,x",
    "500",
    "35",
    "-",
    "[",
    "]",
    "10/Oct/2023:01:01:01 +0000",
    "a1b2c3d4e5",
    "prod",
    "GET",
    "/x",
    "HTTP/1.1",
    "Vx3k=",
    ",",
    "err=",
    "ua=",
    "The role can't",
    "'isAuthorized'",
    "\u{7f}",
    "\u{1}",
    "é",
];

/// The one-word fast path and the general path agree on every line: the same places and the
/// same value bounds, or both no match.
#[test]
fn one_word_and_general_splits_agree() {
    let f = LogFormat::parse(CUSTOM).unwrap();
    assert_eq!(f.automaton.words, 1);
    let pieces = proptest::sample::select(HOSTILE_PIECES);
    proptest::proptest!(|(parts in proptest::collection::vec(pieces, 0..40), real in proptest::bool::ANY)| {
        let mut line = parts.concat();
        if real {
            line = custom_line(&line, "500", &line, "AUTHORIZER_CONFIGURATION_ERROR,x");
        }
        let [fast, bytes, general] = every_path(&f.automaton, &line, &token_spans(&line));
        proptest::prop_assert_eq!(&fast, &bytes);
        proptest::prop_assert_eq!(&fast, &general);
    });
}

/// The shortcuts (runs read at once, the cut, single states found by search) change nothing: on
/// every format the project ships, every console preset, and hostile lines, the fast path, the
/// byte-by-byte path and the general path give the same places and bounds, for the automaton
/// that splits lines and the one that checks their layout.
#[test]
fn shortcuts_split_as_bytes_do() {
    let mut formats: Vec<String> = [
        CUSTOM,
        r#"$context.requestId $context.status "$context.error.messageString" $context.identity.userAgent"#,
        r#"[$context.requestTime] $context.httpMethod $context.path $context.responseLatency err=$context.authorizer.error ua=$context.identity.userAgent"#,
        r#"$context.identity.userAgent-$context.authorizer.error:$context.status"#,
        r#"$context.stage	$context.error.message	$context.routeKey"#,
        r#""$context.identity.userAgent" $context.error.responseType "$context.path" $context.authorizer.error"#,
    ]
    .into_iter()
    .chain(CONSOLE_PRESETS.iter().map(|(_, source)| *source))
    .map(str::to_owned)
    .collect();
    formats.extend(super::formats_in_use().into_iter().map(|(_, f)| f));
    let pieces = proptest::sample::select(HOSTILE_PIECES);
    let mut one_word = 0;
    for source in &formats {
        // Some of these could never see a failure; their splitting is what is tested.
        let f = LogFormat::parse_layout(source).unwrap();
        if f.automaton.words > 1 {
            continue;
        }
        one_word += 1;
        // Values mostly of their variable's class, now and then anything.
        let values: Vec<_> = f
            .vars()
            .iter()
            .map(|var| {
                let own: Vec<&str> = match var.class() {
                    Class::Number => vec!["500", "35", "-"],
                    Class::Time => vec!["10/Oct/2023:01:01:01 +0000", "-"],
                    Class::Method => vec!["GET", "POST"],
                    Class::Token => vec!["a1b2c3d4e5", "prod", "HTTP/1.1", "Vx3k=", "-"],
                    Class::ErrorText | Class::Quoted => vec![
                        "AUTHORIZER_CONFIGURATION_ERROR,x",
                        "The role can't",
                        " ",
                        "'isAuthorized'",
                        "AUTHORIZER_CONFIGURATION_ERROR",
                    ],
                    Class::Any => {
                        vec![
                            "GET /x",
                            " ",
                            "\"",
                            "AUTHORIZER_CONFIGURATION_ERROR",
                            "ua",
                            "\" 5",
                        ]
                    }
                };
                let piece = proptest::prop_oneof![
                    9 => proptest::sample::select(own),
                    1 => pieces.clone(),
                ];
                proptest::collection::vec(piece, 1..5)
            })
            .collect();
        let lits = f.automaton.literals.clone();
        let config = proptest::test_runner::Config::with_cases(256);
        proptest::proptest!(config, |(parts in proptest::collection::vec(pieces.clone(), 0..48), values in values, fill in proptest::bool::weighted(0.8))| {
            // Most lines follow the format's literals with hostile values in between; the
            // rest are any concatenation.
            let line = if fill {
                let mut line = lits[0].clone();
                for ((value, lit), var) in values.iter().zip(&lits[1..]).zip(f.vars()) {
                    let value = value.concat();
                    if var.class() == Class::Quoted {
                        line.push_str(&format!("\"{value}\""));
                    } else {
                        line.push_str(&value);
                    }
                    line.push_str(lit);
                }
                line
            } else {
                parts.concat()
            };
            // The tokens, and every quote, comma and space on its own: spans in and around the
            // stretches the shortcuts skip.
            let mut spans = token_spans(&line);
            spans.extend(line.bytes().enumerate().filter(|(_, b)| b"\", ".contains(b)).map(|(i, _)| (i, i + 1)));
            for automaton in [&f.automaton, &f.layout] {
                let [fast, bytes, general] = every_path(automaton, &line, &spans);
                proptest::prop_assert_eq!(&fast, &bytes, "{} on {:?}", source, line);
                proptest::prop_assert_eq!(&fast, &general, "{} on {:?}", source, line);
            }
        });
    }
    assert!(one_word >= 22, "only {one_word} formats of one word");
}

/// Long single-state stretches: a 1 MiB error text and many quotes after the cut split alike on
/// every path.
#[test]
fn long_stretches_split_as_bytes_do() {
    let f = LogFormat::default();
    let pad = "padding ".repeat(20_000);
    let lines = [
        format!(
            r#"1.2.3.4 - - [t] "GET / HTTP/1.1" 500 35 r= AUTHORIZER_CONFIGURATION_ERROR,x {pad}"#
        ),
        format!(
            r#"1.2.3.4 - - [t] "GET /{pad}" HTTP/1.1" 500 35 r= AUTHORIZER_CONFIGURATION_ERROR,x"#
        ),
        format!(
            r#"1.2.3.4 - - [t] "GET / HTTP/1.1" 500 35 r= AUTHORIZER_CONFIGURATION_ERROR,x {pad}""#
        ),
        format!(
            r#"1.2.3.4 - - [t] "GET / HTTP/1.1" 500 35 r= AUTHORIZER_CONFIGURATION_ERROR "{pad} AUTHORIZER_CONFIGURATION_ERROR HTTP/1.1" 500 35 r= x"#
        ),
    ];
    for line in &lines {
        let [fast, bytes, general] = every_path(&f.automaton, line, &token_spans(line));
        assert_eq!(fast, bytes, "{}", &line[..80]);
        assert_eq!(fast, general, "{}", &line[..80]);
    }
}

/// What one path made of a line: its split, and its value bounds when the line follows the format.
type Outcome = (Split, Option<Vec<(usize, usize)>>);

/// A line split by each path in turn: the one-word path with its shortcuts, the one-word path a
/// byte at a time, and the several-word path.
fn every_path(automaton: &Automaton, line: &str, spans: &[(usize, usize)]) -> [Outcome; 3] {
    let with_bounds = |split: &dyn Fn(&mut Scratch) -> Split| {
        let mut scratch = Scratch::default();
        let got = split(&mut scratch);
        let bounds = (got != Split::NoMatch).then_some(scratch.bounds);
        (got, bounds)
    };
    let bytes = line.as_bytes();
    [
        with_bounds(&|s| automaton.split_word(bytes, spans, s, true)),
        with_bounds(&|s| automaton.split_word(bytes, spans, s, false)),
        with_bounds(&|s| automaton.split_words(bytes, spans, s)),
    ]
}

/// Formats wider than one 64-bit word of states split the same way.
#[test]
fn long_formats_span_several_words() {
    let pad = "x".repeat(150);
    let f = LogFormat::parse(&format!(
        r#"{pad} $context.requestId "$context.identity.userAgent" {pad} $context.authorizer.error"#
    ))
    .unwrap();
    let line = format!(r#"{pad} r1 "a" {pad} b" {pad} AUTHORIZER_CONFIGURATION_ERROR,e"#);
    assert_eq!(places(&f, &line), Some(vec![Place::Error { var: 2 }]));
    let forged = format!(r#"{pad} r1 "a" {pad} AUTHORIZER_CONFIGURATION_ERROR" {pad} -"#);
    assert_eq!(places(&f, &forged), Some(vec![Place::Elsewhere]));
}
