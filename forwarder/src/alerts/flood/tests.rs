//! Unit tests of `flood`, beside it so its source stays readable.

use super::*;
use crate::model::cause::Cause;

fn group(cause: Cause, count: usize, api: Option<&str>) -> Group {
    Group {
        log_group: Some("/aws/api/prod".into()),
        count,
        sample_request_ids: vec![format!("req-{count}")],
        api_ids: api.map(|a| vec![a.to_owned()]).unwrap_or_default(),
        ..Group::empty(cause)
    }
}

/// A group as a batch owned by `owner` delivers it, its lines naming `line_account`.
fn delivered(cause: Cause, api: Option<&str>, owner: &str, line_account: &str) -> Group {
    Group {
        owner: Some(owner.to_owned()),
        account_id: Some(line_account.to_owned()),
        ..group(cause, 1, api)
    }
}

#[test]
fn keys_name_the_api_or_the_log_group_in_its_account() {
    const A: &str = "111122223333";
    const B: &str = "444455556666";
    let cases = [
        // (group, key)
        (
            group(Cause::MissingInvokePermission, 1, Some("a1b2c3")),
            "api:a1b2c3",
        ),
        (group(Cause::Unknown, 1, None), "log:/aws/api/prod"),
        (
            delivered(Cause::Unknown, Some("a1b2c3"), A, A),
            "api:111122223333:a1b2c3",
        ),
        (
            delivered(Cause::Unknown, None, A, A),
            "log:111122223333:/aws/api/prod",
        ),
        // The batch's owner, not the line, says whose API it is.
        (
            delivered(Cause::Unknown, Some("a1b2c3"), B, A),
            "api:444455556666:a1b2c3",
        ),
        (
            delivered(Cause::Unknown, None, B, A),
            "log:444455556666:/aws/api/prod",
        ),
        // Without an owner (a scan of a file) the lines' account stands in.
        (
            Group {
                account_id: Some(A.to_owned()),
                ..group(Cause::Unknown, 1, None)
            },
            "log:111122223333:/aws/api/prod",
        ),
        (
            Group {
                account_id: Some("not-an-account".to_owned()),
                ..group(Cause::Unknown, 1, None)
            },
            "log:/aws/api/prod",
        ),
    ];
    for (g, expected) in cases {
        assert_eq!(key(&g), expected, "{:?} {:?}", g.owner, g.account_id);
    }
    // Every cause of one API, from the access log or the execution log, is one key.
    let keys: HashSet<String> = [
        Cause::Unknown,
        Cause::MissingInvokePermission,
        Cause::InvalidResponseFormat,
    ]
    .into_iter()
    .map(|c| key(&delivered(c, Some("a1b2c3"), A, A)))
    .collect();
    assert_eq!(keys.len(), 1);
}

#[test]
fn scopes_read_back_for_people() {
    assert_eq!(
        scope_parts("api:a1b2c3"),
        ScopeParts::Api {
            account: None,
            api: "a1b2c3"
        }
    );
    assert_eq!(
        scope_parts("api:111122223333:a1b2c3"),
        ScopeParts::Api {
            account: Some("111122223333"),
            api: "a1b2c3"
        }
    );
    assert_eq!(
        scope_parts("log:111122223333:/aws/api/prod"),
        ScopeParts::LogGroup {
            account: Some("111122223333"),
            group: "/aws/api/prod"
        }
    );
    assert_eq!(
        scope_parts("log:/aws/api/prod"),
        ScopeParts::LogGroup {
            account: None,
            group: "/aws/api/prod"
        }
    );
}

#[tokio::test]
async fn one_alert_per_window_then_a_follow_up_with_counts() {
    let windows = MemoryWindows::default();
    let mut alerted = 0;
    for i in 0..100 {
        let mut groups = vec![group(Cause::MissingInvokePermission, 3, Some("a1"))];
        let gate = gate(&mut groups, &windows, &format!("b-{i}"), 1_000 + i, 900).await;
        alerted += groups.len();
        assert_eq!(gate.suppressed + groups.len(), 1);
    }
    assert_eq!(alerted, 1);
    // Another specific cause tells more: it alerts once in the same window.
    for (batch, alerts) in [("b-other", 1), ("b-other-2", 0)] {
        let mut other = vec![group(Cause::InvalidResponseFormat, 0, Some("a1"))];
        gate(&mut other, &windows, batch, 1_099, 900).await;
        assert_eq!(other.len(), alerts, "{batch}");
    }
    // After the window: alert again, with what the last one kept quiet.
    let mut later = vec![group(Cause::MissingInvokePermission, 2, Some("a1"))];
    gate(&mut later, &windows, "b-later", 1_000 + 901, 900).await;
    let previous = later[0].suppressed_before.clone().expect("follow-up");
    // 99 repeats and the second batch of the other cause.
    assert_eq!((previous.failed_requests, previous.batches), (297, 100));
    assert_eq!(
        (previous.window_start, previous.last_suppressed),
        (1_000, 1_099)
    );
    assert_eq!(previous.sample_request_ids, ["req-3", "req-0"]);
}

#[tokio::test]
async fn a_quiet_window_is_reported_once_and_not_counted_again() {
    let windows = MemoryWindows::default();
    let mut first = vec![group(Cause::MissingInvokePermission, 1, Some("a1"))];
    gate(&mut first, &windows, "b-first", 100, 10).await;
    let mut repeat = vec![group(Cause::MissingInvokePermission, 4, Some("a1"))];
    gate(&mut repeat, &windows, "b-repeat", 105, 10).await;
    // Still inside the quiet period after the last error (105 + 10).
    assert!(windows.quiet(114, 10).await.unwrap().is_empty());
    let over = windows.quiet(115, 10).await.unwrap();
    assert_eq!(over.len(), 1);
    assert_eq!(
        (over[0].key.as_str(), over[0].scope.as_str(), over[0].cause),
        ("api:a1", "api:a1", Cause::MissingInvokePermission)
    );
    assert_eq!(
        (over[0].last_seen, over[0].suppressed.failed_requests),
        (105, 4)
    );
    assert!(
        windows
            .mark_recovered(&over[0].key, 100, 115)
            .await
            .unwrap()
    );
    assert!(
        !windows
            .mark_recovered(&over[0].key, 100, 116)
            .await
            .unwrap(),
        "once"
    );
    assert!(windows.quiet(200, 10).await.unwrap().is_empty());
    // When it comes back, the alert does not repeat counts the recovery already told.
    let mut back = vec![group(Cause::MissingInvokePermission, 1, Some("a1"))];
    gate(&mut back, &windows, "b-back", 300, 10).await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].suppressed_before, None);
}

#[test]
fn keys_parse_back_and_the_earlier_shape_does_not() {
    let cases = [
        (
            "api:a1b2c3",
            Some(ScopeParts::Api {
                account: None,
                api: "a1b2c3",
            }),
        ),
        (
            "api:111122223333:a1b2c3",
            Some(ScopeParts::Api {
                account: Some("111122223333"),
                api: "a1b2c3",
            }),
        ),
        (
            "log:111122223333:/aws/x#y",
            Some(ScopeParts::LogGroup {
                account: Some("111122223333"),
                group: "/aws/x#y",
            }),
        ),
        // Written before keys were scopes: no current key has this shape.
        ("api:a1b2c3#missing_invoke_permission", None),
        ("other", None),
    ];
    for (k, expected) in cases {
        assert_eq!(parse_key(k), expected, "{k}");
    }
}

#[test]
fn a_cause_alerts_in_an_open_window_only_when_it_tells_more() {
    use Cause::{InvalidResponseFormat as Format, MissingInvokePermission as Perm, Unknown};
    let open = |alerted: &[Cause], claim| OpenWindow {
        alerted: alerted.to_vec(),
        claim,
    };
    let cases = [
        (Unknown, open(&[], None), Verdict::Claim),
        (Unknown, open(&[Perm], None), Verdict::Count),
        (Unknown, open(&[Unknown], None), Verdict::Count),
        (Perm, open(&[Unknown], None), Verdict::Claim),
        (Perm, open(&[Perm], None), Verdict::Count),
        (Format, open(&[Perm, Unknown], None), Verdict::Claim),
        (Perm, open(&[Perm], Some(Claim::Pending)), Verdict::Alert),
        (Perm, open(&[Perm], Some(Claim::Sent)), Verdict::Repeat),
    ];
    for (cause, window, expected) in cases {
        assert_eq!(verdict(cause, &window), expected, "{cause:?} {window:?}");
    }
    assert_eq!(principal(&[Unknown, Perm, Format]), Perm);
    assert_eq!(principal(&[Unknown]), Unknown);
    assert_eq!(principal(&[]), Unknown);
}

/// A REST stage with both logs subscribed: the access log says `unknown`, the execution log
/// says why. One window and one thread; the reason alerts once after the `unknown`, nothing
/// else does until the window ends.
#[tokio::test]
async fn both_logs_of_one_api_share_a_window_and_the_reason_alerts_once() {
    let windows = MemoryWindows::default();
    const A: &str = "111122223333";
    let steps = [
        // (batch, cause, alerts)
        ("access-1", Cause::Unknown, 1),
        ("exec-1", Cause::MissingInvokePermission, 1),
        ("access-2", Cause::Unknown, 0),
        ("exec-2", Cause::MissingInvokePermission, 0),
        ("exec-3", Cause::InvalidResponseFormat, 1),
    ];
    let mut counted = 0;
    for (i, (batch, cause, alerts)) in steps.into_iter().enumerate() {
        let mut groups = vec![delivered(cause, Some("a1b2c3"), A, A)];
        let g = gate(&mut groups, &windows, batch, 100 + i as i64, 900).await;
        assert_eq!(groups.len(), alerts, "{batch}");
        counted += g.suppressed;
    }
    assert_eq!(counted, 2);
    // A specific cause first: the access log's `unknown` adds nothing.
    let windows = MemoryWindows::default();
    for (batch, cause, alerts) in [
        ("exec-1", Cause::MissingInvokePermission, 1),
        ("access-1", Cause::Unknown, 0),
    ] {
        let mut groups = vec![delivered(cause, Some("a1b2c3"), A, A)];
        gate(&mut groups, &windows, batch, 100, 900).await;
        assert_eq!(groups.len(), alerts, "{batch}");
    }
    // The recovery note names the reason.
    let over = windows.quiet(2_000, 900).await.unwrap();
    assert_eq!(
        (over[0].key.as_str(), over[0].cause),
        ("api:111122223333:a1b2c3", Cause::MissingInvokePermission)
    );
}

/// In an organisation, a member account whose lines name another account's API id neither
/// opens nor joins that API's window.
#[tokio::test]
async fn another_account_naming_an_api_does_not_hold_its_alert_back() {
    let windows = MemoryWindows::default();
    let mut forged = vec![delivered(
        Cause::Unknown,
        Some("a1b2c3"),
        "444455556666",
        "111122223333",
    )];
    gate(&mut forged, &windows, "member", 100, 900).await;
    let mut real = vec![delivered(
        Cause::Unknown,
        Some("a1b2c3"),
        "111122223333",
        "111122223333",
    )];
    gate(&mut real, &windows, "owner", 101, 900).await;
    assert_eq!((forged.len(), real.len()), (1, 1));
    assert_ne!(key(&forged[0]), key(&real[0]));
}

/// A batch delivered again after its alert went out stays quiet and counts nothing; one whose
/// alert is not known to have gone out alerts again; one whose publish failed alerts on retry.
#[tokio::test]
async fn a_redelivered_batch_repeats_no_published_alert() {
    let windows = MemoryWindows::default();
    let apis = || {
        vec![
            group(Cause::MissingInvokePermission, 2, Some("a1")),
            group(Cause::MissingInvokePermission, 3, Some("a2")),
        ]
    };
    let mut first = apis();
    let g = gate(&mut first, &windows, "b-1", 100, 900).await;
    // The first alert went out, the second failed.
    g.sent(&windows, &first[0]).await;
    g.release(&windows, &first[1]).await;
    for now in [101, 102] {
        let mut again = apis();
        let g = gate(&mut again, &windows, "b-1", now, 900).await;
        assert_eq!(
            (
                g.suppressed,
                again
                    .iter()
                    .map(|g| g.api_ids[0].as_str())
                    .collect::<Vec<_>>()
            ),
            (1, vec!["a2"]),
            "only the failed alert is sent again"
        );
    }
    // The repeat counted nothing into the window.
    let over = windows.quiet(5_000, 900).await.unwrap();
    let a1 = over.iter().find(|q| q.key == "api:a1").unwrap();
    assert_eq!(a1.suppressed.failed_requests, 0);
    // A marked claim is per batch: another batch of the same problem is counted as before.
    let mut other = apis();
    let windows2 = MemoryWindows::default();
    let g = gate(&mut other, &windows2, "b-1", 100, 900).await;
    g.sent(&windows2, &other[0]).await;
    let mut next = apis();
    assert_eq!(
        gate(&mut next, &windows2, "b-2", 101, 900).await.suppressed,
        2
    );
}

#[tokio::test]
async fn a_released_window_lets_the_retry_alert() {
    let windows = MemoryWindows::default();
    let mut groups = vec![group(Cause::Unknown, 1, None)];
    let opened = gate(&mut groups, &windows, "b-groups", 500, 900).await;
    opened.release(&windows, &groups[0]).await;
    let mut retry = vec![group(Cause::Unknown, 1, None)];
    gate(&mut retry, &windows, "b-retry", 500, 900).await;
    assert_eq!(retry.len(), 1, "the retry alerts");
}

/// The opening write reached the table but its answer was lost, or the alert failed and
/// Lambda sent the batch again: the same batch opens its own window again and alerts, while
/// any other batch still counts.
#[tokio::test]
async fn the_batch_that_opened_a_window_alerts_when_it_comes_again() {
    let windows = MemoryWindows::default();
    let mut first = vec![group(Cause::Unknown, 2, Some("a1"))];
    gate(&mut first, &windows, "b-1", 500, 900).await;
    assert_eq!(first.len(), 1);
    let mut other = vec![group(Cause::Unknown, 3, Some("a1"))];
    assert_eq!(
        gate(&mut other, &windows, "b-2", 501, 900).await.suppressed,
        1
    );
    let mut again = vec![group(Cause::Unknown, 2, Some("a1"))];
    let gate_again = gate(&mut again, &windows, "b-1", 502, 900).await;
    assert_eq!(
        (gate_again.suppressed, again.len()),
        (0, 1),
        "the same batch alerts"
    );
    // What others counted meanwhile stays in the window for the next alert.
    assert_eq!(again[0].suppressed_before, None);
    // Only the batch that opened a window may release it.
    windows
        .release("api:a1", "b-2", Cause::Unknown, 502)
        .await
        .unwrap();
    let mut third = vec![group(Cause::Unknown, 1, Some("a1"))];
    assert_eq!(
        gate(&mut third, &windows, "b-3", 503, 900).await.suppressed,
        1
    );
    gate_again.release(&windows, &again[0]).await;
    let mut fourth = vec![group(Cause::Unknown, 1, Some("a1"))];
    assert_eq!(
        gate(&mut fourth, &windows, "b-4", 504, 900)
            .await
            .suppressed,
        0
    );
    // The next window's alert reports every count the reopened window kept.
    let before = fourth[0].suppressed_before.clone().expect("counts kept");
    assert_eq!((before.failed_requests, before.batches), (4, 2));
}

#[test]
fn a_batch_is_named_by_its_first_event() {
    assert_eq!(
        batch_id("/aws/api/prod", "s1", "3712"),
        "/aws/api/prod|s1|3712"
    );
    assert_ne!(
        batch_id("/aws/api/prod", "s1", "3712"),
        batch_id("/aws/api/prod", "s1", "3713")
    );
}

/// The gate stops once `max_alerts` groups may alert or it has decided `max_alerts` times
/// [`DECISIONS_PER_ALERT`] of them; the rest are left in order, their windows unasked.
#[tokio::test]
async fn a_bounded_gate_leaves_the_groups_it_does_not_reach() {
    let apis = |n: usize| -> Vec<Group> {
        (0..n)
            .map(|i| group(Cause::Unknown, 1, Some(&format!("api{i}"))))
            .collect()
    };
    // (groups whose windows are open already, groups, max alerts) and
    // (let through, suppressed, left).
    let cases = [
        ((0, 5, 2), (2, 0, 3)),
        ((1, 5, 2), (2, 1, 2)),
        ((8, 20, 2), (0, 8, 12)),
        ((3, 3, 2), (0, 3, 0)),
        ((0, 3, 0), (0, 0, 3)),
        ((2, 6, usize::MAX), (4, 2, 0)),
    ];
    for ((open, n, max), (through, suppressed, left)) in cases {
        let windows = MemoryWindows::default();
        let mut opened = apis(open);
        gate(&mut opened, &windows, "earlier", 100, 900).await;
        let mut groups = apis(n);
        let g = gate_within(&mut groups, &windows, "now", 101, 900, max).await;
        let case = (open, n, max);
        assert_eq!(
            (groups.len(), g.suppressed, g.left.len()),
            (through, suppressed, left),
            "{case:?}"
        );
        // In order: what was let through or held back comes before what was left.
        let first_left = g.left.first().map(|l| l.api_ids[0].clone());
        assert_eq!(
            first_left,
            (left > 0).then(|| format!("api{}", n - left)),
            "{case:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_store_lets_every_alert_through() {
    let windows = MemoryWindows {
        failure: Some("dispatch failure".into()),
        ..MemoryWindows::default()
    };
    for now in 0..3 {
        let mut groups = vec![group(Cause::Unknown, 1, None)];
        assert_eq!(
            gate(&mut groups, &windows, &format!("b-{now}"), now, 900)
                .await
                .suppressed,
            0
        );
        assert_eq!(groups.len(), 1);
    }
}
