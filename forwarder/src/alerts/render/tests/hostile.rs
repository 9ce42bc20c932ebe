//! Whatever the log holds, however large or hostile, no body carries it raw or unbounded.

use super::*;

#[test]
fn oversized_groups_are_trimmed_not_cut() {
    let mut findings = Vec::new();
    for i in 0..100 {
        let f = finding(Cause::Unknown, "/g", &format!("{i:0>90}"), i);
        let (error, route) = (
            format!("{i} {}", "e".repeat(1_000_000)),
            format!("GET /{i}/{}", "r".repeat(100_000)),
        );
        findings.push(with(&f, |t| {
            t.error = &error;
            t.route = Some(&route);
        }));
    }
    let groups = group(&findings, 100);
    let alert = render(&groups[0], &config());
    let message = alert.message();
    assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["count"], 100);
    assert!(!machine["sample_request_ids"].as_array().unwrap().is_empty());
}

#[test]
fn hostile_text_is_escaped_for_chat() {
    let f = with(&finding(Cause::Unknown, "/g", "r", 1), |t| {
        t.error = "<!channel> *boom* `x` <http://evil|click> \x1b[31m";
        t.api_id = Some("`rm -rf`");
    });
    let alert = render(&group(&[f], 5)[0], &config());
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    let d = chat["content"]["description"].as_str().unwrap();
    assert!(
        !d.contains("<!channel>") && !d.contains("<http://evil"),
        "{d}"
    );
    assert!(
        d.contains("`&lt;!channel&gt; *boom* 'x' &lt;http://evil|click&gt; \\u{1b}[31m`"),
        "{d}"
    );
    assert!(!alert.email.contains('\x1b'));
    assert!(
        !alert.email.contains("rm -rf"),
        "untrusted api id kept out of commands"
    );
}

/// Every field of a group, each holding `value`.
fn hostile_group(value: &str, cause: Cause) -> Group {
    let f = with(&finding(cause, value, "r", 1), |t| {
        t.request_id = Some(value);
        t.time = Some(value);
        t.error = value;
        t.route = Some(value);
        t.api_id = Some(value);
        t.stage = Some(value);
        t.account_id = Some(value);
    });
    let mut g = group(&[f], 5).remove(0);
    g.api_ids.push(value.to_owned());
    g.diagnosis = Some(Diagnosis::Checked {
        api_id: value.into(),
        api_kind: crate::diagnose::ApiKind::Rest,
        authorizers: vec![
            crate::diagnose::AuthorizerReport {
                authorizer_id: value.into(),
                name: value.into(),
                routes: vec![value.into(); 3],
                function_arn: Some(value.into()),
                credentials_arn: Some(value.into()),
                simple_responses: Some(true),
                payload_format_version: Some(value.into()),
                identity_source: Some(value.into()),
                checks: vec![
                    crate::diagnose::Check {
                        ok: false,
                        summary: value.into(),
                        command: None,
                        proves: None,
                    };
                    3
                ],
            };
            3
        ],
    });
    g.suppressed_before = Some(Suppressed {
        failed_requests: 3,
        batches: 2,
        window_start: 1,
        last_suppressed: 2,
        sample_request_ids: vec![value.into(); 3],
    });
    g
}

#[test]
fn structure_faking_characters_are_escaped_everywhere() {
    for c in crate::text::escape::DANGEROUS {
        let value = format!("ok{c}Subject: fake{c}<!channel>{c}");
        for lang in [Language::En, Language::Ja] {
            let cfg = Config {
                language: lang,
                ..config()
            };
            for cause in Cause::ALL {
                let alert = render(&hostile_group(&value, cause), &cfg);
                assert_shown_safely(&alert);
                assert!(
                    !alert.email.lines().any(|l| l.starts_with("Subject:")),
                    "U+{:04X}",
                    c as u32
                );
                // Programs get the exact text back.
                let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
                assert_eq!(machine["errors"][0], value.as_str(), "U+{:04X}", c as u32);
            }
            let q = quiet(
                Cause::Unknown,
                &format!("log:{value}"),
                std::slice::from_ref(&value),
            );
            let alert = render_recovered(&q, &cfg);
            assert_shown_safely(&alert);
            assert!(!alert.email.lines().any(|l| l.starts_with("Subject:")));
        }
    }
}

#[test]
fn every_field_is_bounded() {
    let big = 300_000;
    let values = [
        "x".repeat(big),
        "\u{1}".repeat(big),
        "\u{2028}".repeat(big / 3),
        "&\"\\<".repeat(big / 4),
        "\u{e0041}".repeat(big / 4),
    ];
    for value in &values {
        let g = hostile_group(value, Cause::MissingInvokePermission);
        let alert = render(&g, &config());
        assert_publishable(&alert);
        assert_subject(&alert.subject, Some(1));
        // Labels and regions come from configuration, but no path may break the bound.
        let cfg = Config {
            label: Some(value.clone()),
            region: Some(value.clone()),
            ..config()
        };
        let alert = render(&g, &cfg);
        assert_publishable(&alert);
        assert_subject(&alert.subject, Some(1));
        let q = quiet(
            Cause::Unknown,
            &format!("log:{value}"),
            &vec![value.clone(); 1000],
        );
        let alert = render_recovered(&q, &cfg);
        assert_publishable(&alert);
        assert_subject(&alert.subject, None);
    }
}

#[test]
fn many_distinct_values_are_bounded() {
    let mut g = hostile_group("v", Cause::Unknown);
    let many = |n: usize, len: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("{i}{}", "\u{202e}".repeat(len)))
            .collect()
    };
    g.routes = many(5_000, 300);
    g.errors = many(5_000, 300);
    g.api_ids = many(5_000, 300);
    g.stages = many(5_000, 300);
    g.sample_request_ids = many(10_000, 30);
    if let Some(Diagnosis::Checked { authorizers, .. }) = &mut g.diagnosis {
        let a = authorizers[0].clone();
        *authorizers = vec![a; 1_000];
        for a in authorizers.iter_mut() {
            a.routes = many(20, 30);
        }
    }
    g.suppressed_before.as_mut().unwrap().sample_request_ids = many(10_000, 30);
    let alert = render(&g, &config());
    assert_publishable(&alert);
    assert_shown_safely(&alert);
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert!(machine["omitted_request_ids"].as_u64().unwrap() > 0);
}

/// Hostile text of up to 300 KB: a short mix of what fakes structure, repeated.
fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy;
    (
            "[\\x00-\\x{a0}\\x{2028}\\x{2029}\\x{202e}\\x{2066}\\x{200b}\\x{feff}\\x{61c}\\x{e0041}\\x{fe0f}<>&`*_~|a-z日]{1,12}",
            proptest::prop_oneof![0usize..64, 0usize..300_000],
        )
            .prop_map(|(piece, len)| {
                let mut s = piece.repeat(len / piece.len() + 1);
                while s.len() > len {
                    s.pop();
                }
                s
            })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn any_hostile_finding_gives_a_publishable_alert(
        texts in proptest::collection::vec(hostile_text(), 11),
        count in proptest::prop_oneof![1usize..10, proptest::strategy::Just(usize::MAX)],
        cause in proptest::sample::select(Cause::ALL.to_vec()),
    ) {
        let base = finding(cause, &texts[9], "r", 1);
        let mut f = with(&base, |t| {
            t.request_id = Some(&texts[0]);
            t.time = Some(&texts[1]);
            t.error = &texts[2];
            t.route = Some(&texts[3]);
            t.api_id = Some(&texts[4]);
            t.stage = Some(&texts[5]);
            t.source_ip = Some(&texts[6]);
            t.event_id = Some(&texts[7]);
            t.account_id = Some(&texts[8]);
        });
        f.log_stream = Some(texts[10].as_str().into());
        let second = with(&f, |t| t.route = Some(&texts[10]));
        let mut g = group(&[f, second], usize::MAX).remove(0);
        g.count = count;
        let cfg = Config { label: Some("L".repeat(40)), ..config() };
        let alert = render(&g, &cfg);
        assert_publishable(&alert);
        assert_subject(&alert.subject, Some(count));
        assert_shown_safely(&alert);
    }
}
