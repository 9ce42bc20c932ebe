//! Subjects within SNS's rules, for alerts and recovery notes alike.

use super::*;

#[test]
fn japanese_keeps_an_ascii_subject() {
    let groups = group(&[finding(Cause::AuthorizerTimeout, "/g", "r", 1)], 5);
    let cfg = Config {
        language: Language::Ja,
        ..config()
    };
    let alert = render(&groups[0], &cfg);
    assert!(alert.subject.is_ascii());
    assert!(alert.email.contains("タイムアウト"));
}

#[test]
fn subject_keeps_the_count_and_shortens_the_label_first() {
    let max_label = "L".repeat(40);
    let long_label = "prod-eu-west-1-orders-service-blue-green-canary-".repeat(3);
    let cases: [(Option<&str>, usize, &str); 9] = [
        (
            None,
            2,
            "API authorizer misconfigured: missing invoke permission (2x)",
        ),
        (
            Some("prod"),
            2,
            "[prod] API authorizer misconfigured: missing invoke permission (2x)",
        ),
        (
            Some(&max_label),
            2,
            "[LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL] API authorizer misconfigured: missing invoke permission (2x)",
        ),
        (
            Some(&max_label),
            usize::MAX,
            "[LLLLLLLLLLLLLLLLL] API authorizer misconfigured: missing invoke permission (18446744073709551615x)",
        ),
        (
            Some(&long_label),
            123,
            "[prod-eu-west-1-orders-service-blue] API authorizer misconfigured: missing invoke permission (123x)",
        ),
        (
            Some(" \u{2028}é\n "),
            1,
            "[?] API authorizer misconfigured: missing invoke permission (1x)",
        ),
        (
            Some("   "),
            1,
            "API authorizer misconfigured: missing invoke permission (1x)",
        ),
        (
            Some("a]\r\nSubject: fake"),
            1,
            "[a]??Subject: fake] API authorizer misconfigured: missing invoke permission (1x)",
        ),
        (
            Some(""),
            usize::MAX,
            "API authorizer misconfigured: missing invoke permission (18446744073709551615x)",
        ),
    ];
    let mut g = group(&[finding(Cause::MissingInvokePermission, "/g", "r", 1)], 5).remove(0);
    for (label, count, want) in cases {
        g.count = count;
        let s = subject(&g, label);
        assert_eq!(s, want, "{label:?}");
        assert_subject(&s, Some(count));
    }
    // Every cause, the largest label a label can be, the largest count.
    for cause in Cause::ALL {
        g.cause = cause;
        g.count = usize::MAX;
        for label in [None, Some(max_label.as_str()), Some(long_label.as_str())] {
            let s = subject(&g, label);
            assert_subject(&s, Some(usize::MAX));
            assert!(s.contains(cause.subject_words()), "{s}");
        }
    }
}

#[test]
fn the_words_give_way_only_to_the_count() {
    let s = fit_subject(Some("prod"), &"w".repeat(150), "", " (7x)");
    assert_subject(&s, Some(7));
    assert!(s.starts_with("[prod] www"), "{s}");
    let s = fit_subject(Some(&"L".repeat(200)), &"w".repeat(150), "", " (7x)");
    assert!(s.starts_with("[LLLLLLLL] www"), "{s}");
    assert_subject(&s, Some(7));
}

#[test]
fn recovered_subject_within_sns_rules() {
    for label in [
        None,
        Some("prod".to_owned()),
        Some("L".repeat(40)),
        Some("x\u{2028}".repeat(100)),
    ] {
        for cause in Cause::ALL {
            let q = quiet(cause, "log:/g", &[]);
            let cfg = Config {
                label: label.clone(),
                ..config()
            };
            let alert = render_recovered(&q, &cfg);
            assert_subject(&alert.subject, None);
            assert!(
                alert.subject.ends_with(cause.subject_words()),
                "{}",
                alert.subject
            );
        }
    }
}
