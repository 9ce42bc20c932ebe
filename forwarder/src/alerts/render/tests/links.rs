//! Threads, notification ids and console links: one thread per problem, one id per batch.

use super::*;
use crate::alerts::render::links::MAX_THREAD_BYTES;

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
