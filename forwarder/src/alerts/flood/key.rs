//! A problem's key, its scope: what one window and one chat thread are about, and how to read it
//! back.

use crate::alerts::group::Group;

/// What a window key names: a key is its scope. Keys of the earlier shape (`api:ID#cause`) are
/// not read as one: an API id holds no `#`. (A log group name may, so the table tells those items
/// apart by the `scope` attribute only current windows have; see
/// [`DynamoWindows`](super::DynamoWindows).)
pub fn parse_key(key: &str) -> Option<ScopeParts<'_>> {
    match scope_parts(key) {
        ScopeParts::Api { api, .. } if api.contains('#') => None,
        _ if key.starts_with("api:") || key.starts_with("log:") => Some(scope_parts(key)),
        _ => None,
    }
}

/// The key of a problem, its scope: the API when the lines name it, else the log group, in the
/// account that delivered them. One key per API whatever the cause and whichever log (access or
/// execution) saw it, so one incident has one window and one thread. The account is the batch's
/// owner when it is an account id, never a line's own `$context.accountId`: in an organisation
/// (infra/org) a member account's lines naming another account's API id must not join that API's
/// window. Without an owner (a scan of a file) the lines' account stands in.
/// A group holds one API at most ([`crate::alerts::group::group`]), so the key does not depend on which
/// of several APIs failed first.
pub fn key(group: &Group) -> String {
    let is_account = |a: &&str| crate::text::shape::is_account_id(a);
    let account = group
        .owner
        .as_deref()
        .filter(is_account)
        .or_else(|| group.account_id.as_deref().filter(is_account));
    match (group.api_ids.first(), group.log_group.as_deref(), account) {
        (Some(api), _, Some(account)) => format!("api:{account}:{api}"),
        (Some(api), _, None) => format!("api:{api}"),
        (None, Some(g), Some(account)) => format!("log:{account}:{g}"),
        (None, Some(g), None) => format!("log:{g}"),
        (None, None, _) => "log:-".to_owned(),
    }
}

/// What a scope names, for people: an API id or a log group, and the account it is in (API ids
/// and log group names hold no `:`, so the first one after the kind ends an account id).
pub fn scope_parts(scope: &str) -> ScopeParts<'_> {
    match scope.split_once(':') {
        Some(("api", rest)) => match rest.split_once(':') {
            Some((account, api)) if crate::text::shape::is_account_id(account) => ScopeParts::Api {
                account: Some(account),
                api,
            },
            _ => ScopeParts::Api {
                account: None,
                api: rest,
            },
        },
        Some(("log", rest)) => match rest.split_once(':') {
            Some((account, group)) if crate::text::shape::is_account_id(account) => {
                ScopeParts::LogGroup {
                    account: Some(account),
                    group,
                }
            }
            _ => ScopeParts::LogGroup {
                account: None,
                group: rest,
            },
        },
        _ => ScopeParts::LogGroup {
            account: None,
            group: scope,
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeParts<'a> {
    Api {
        account: Option<&'a str>,
        api: &'a str,
    },
    LogGroup {
        account: Option<&'a str>,
        group: &'a str,
    },
}

/// Names a delivery by its first event that may hold a finding: CloudWatch Logs gives every event
/// an id unique in its log group, so a batch delivered again (a retry, a Kinesis record read again)
/// keeps its name and no other batch has it.
pub fn batch_id(log_group: &str, log_stream: &str, first_event_id: &str) -> String {
    format!("{log_group}|{log_stream}|{first_event_id}")
}
