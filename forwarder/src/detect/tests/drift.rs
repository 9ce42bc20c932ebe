//! Drift: only lines no client can make say the format changed.

use super::*;
use crate::model::finding::MAX_LINE_BYTES;

/// A line of `samplelogs/json-format.fmt` with client values written in raw, as an API Gateway
/// that escaped nothing would write them.
fn raw_json_line(id: &str, method: &str, path: &str, ua: &str, error: &str) -> String {
    format!(
        r#"{{"requestId":"{id}","ip":"203.0.113.7","requestTime":"20/Nov/2026:09:14:03 +0000","httpMethod":"{method}","routeKey":"GET /orders","path":"{path}","status":"500","protocol":"HTTP/1.1","responseLength":"35","userAgent":"{ua}","apiId":"a1b2c3d4e5","stage":"prod","authorizerError":"{error}"}}"#
    )
}

const JSON_SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../samplelogs/json-format.fmt"
));

/// Drift rests on lines no client can make. A client's broken lines are unmatched, never drift,
/// however many there are; lines without the format's layout are drift, and a client's lines
/// can neither raise it nor hide it.
#[test]
fn only_lines_no_client_can_make_say_the_format_drifted() {
    let json = LogFormat::parse(JSON_SAMPLE).unwrap();
    let custom = LogFormat::parse(CUSTOM).unwrap();
    let default = LogFormat::default();
    let perm = format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}");
    let real = raw_json_line("Wk1aBjQ2IAMEb2A=", "GET", "/orders", "curl/8", &perm);
    let quoted_ua = raw_json_line("Wk1aBjQ2IAMEb2B=", "GET", "/", "Mozilla\" x", &perm);
    let forged = raw_json_line(
        "Wk1aBjQ2IAMEb2C=",
        "GET",
        "/",
        &format!("x\",\"authorizerError\":\"{perm}"),
        "-",
    );
    let appended = format!("{} \"curl/8.5.0\"", default_line("/", 500, &perm));
    /// What, the format, the lines, (findings, unmatched, drifted), and drift.
    type Case<'f> = (
        &'static str,
        &'f LogFormat,
        Vec<String>,
        (usize, usize, usize),
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "a user agent with a quote breaks the batch's only token line",
            &json,
            vec![quoted_ua.clone()],
            (0, 1, 0),
            false,
        ),
        (
            "a forged key after a quote",
            &json,
            vec![forged.clone(), forged.clone()],
            (0, 2, 0),
            false,
        ),
        (
            "a REST client's own request id, and a method of its own",
            &custom,
            vec![
                format!(
                    r#"my "id 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
                format!(
                    r#"r1 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "get / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
            ],
            (0, 2, 0),
            false,
        ),
        (
            "the stage appended a value after the error",
            &default,
            vec![appended.clone(), appended.clone(), appended.clone()],
            (0, 3, 3),
            true,
        ),
        (
            "text lines read with a JSON format, beside a client's broken lines",
            &json,
            vec![
                default_line("/", 500, &perm),
                default_line("/", 500, &perm),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
            ],
            (0, 7, 2),
            true,
        ),
        (
            "one line in another format beside real findings",
            &json,
            vec![default_line("/", 500, &perm), real.clone(), real.clone()],
            (2, 1, 1),
            false,
        ),
        (
            "no access-log line is over 1 MiB",
            &json,
            vec![format!("{perm} {}", "x".repeat(MAX_LINE_BYTES))],
            (0, 1, 1),
            true,
        ),
    ];
    for (what, format, lines, counts, drift) in cases {
        let scan = scan_text(&lines.join("\n"), format);
        assert_eq!(
            (scan.findings.len(), scan.unmatched, scan.drifted),
            counts,
            "{what}"
        );
        assert_eq!(scan.format_drift(), drift, "{what}");
    }
    // A batch's drifted line is the sample the drift alert shows, whatever came first.
    let mut first = scan_text(&quoted_ua, &json);
    first.merge(scan_text(&default_line("/", 500, &perm), &json));
    assert_eq!((first.unmatched, first.drifted), (2, 1));
    assert_eq!(first.unmatched_sample, Some(default_line("/", 500, &perm)));
    let both = scan_text(
        &[quoted_ua.clone(), default_line("/", 500, &perm)].join("\n"),
        &json,
    );
    assert_eq!(both.unmatched_sample, first.unmatched_sample);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever a client writes where it can (its request id on a REST API, its method, path
    /// and user agent), written into the line raw, its line never counts as drift.
    #[test]
    fn no_client_value_makes_a_line_drift(
        id in client_text(),
        method in client_text(),
        path in client_text(),
        ua in client_text(),
        real in proptest::bool::ANY,
    ) {
        let error = if real { format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}") } else { "-".into() };
        let json = LogFormat::parse(JSON_SAMPLE).unwrap();
        let custom = LogFormat::parse(CUSTOM).unwrap();
        let text = format!(
            r#"{id} 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "{method} {path} HTTP/1.1" 500 "{ua}" a1b2c3d4e5 prod {error}"#
        );
        for (format, line) in [(&json, raw_json_line(&id, &method, &path, &ua, &error)), (&custom, text)] {
            proptest::prop_assume!(line.len() <= MAX_LINE_BYTES);
            proptest::prop_assert_ne!(scan_line(&line, format), LineVerdict::Drifted, "{}", &line[..line.len().min(300)]);
        }
    }
}
