//! What an alert names besides the error (request, route, status, API, stage), read by variable,
//! or by key name when a JSON line's format is not known.

use std::borrow::Cow;

/// Field names that carry error text in JSON lines logged with a format we were not given.
/// Integration and validation errors carry the backend's or the request's text, never the token.
pub fn is_error_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.contains("error") || lower.contains("responsetype"))
        && !lower.contains("integration")
        && !lower.contains("validation")
}

/// The fields of a line an alert can use. `None` where the format lacks them or the log wrote `-`.
/// Borrowed from the line where they can be: only flagged lines get this far, and a fully flagged
/// batch has thousands of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields<'l> {
    pub request_id: Option<Cow<'l, str>>,
    pub status: Option<u16>,
    pub time: Option<Cow<'l, str>>,
    pub method: Option<Cow<'l, str>>,
    pub route_key: Option<Cow<'l, str>>,
    /// A REST API's resource, `/orders/{id}`: what its routes are keyed by, unlike the raw path.
    pub resource_path: Option<Cow<'l, str>>,
    pub path: Option<Cow<'l, str>>,
    pub source_ip: Option<Cow<'l, str>>,
    pub api_id: Option<Cow<'l, str>>,
    pub stage: Option<Cow<'l, str>>,
    pub account_id: Option<Cow<'l, str>>,
}

/// Which [`Fields`] member a `$context` variable feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    RequestId,
    ExtendedRequestId,
    Status,
    RequestTime,
    RequestTimeEpoch,
    HttpMethod,
    RouteKey,
    ResourcePath,
    Path,
    SourceIp,
    ApiId,
    Stage,
    AccountId,
    None,
}

impl Slot {
    pub fn of(var: &str) -> Slot {
        match var {
            "requestId" => Slot::RequestId,
            "extendedRequestId" => Slot::ExtendedRequestId,
            "status" => Slot::Status,
            "requestTime" => Slot::RequestTime,
            "requestTimeEpoch" => Slot::RequestTimeEpoch,
            "httpMethod" => Slot::HttpMethod,
            "routeKey" => Slot::RouteKey,
            "resourcePath" => Slot::ResourcePath,
            "path" => Slot::Path,
            "identity.sourceIp" => Slot::SourceIp,
            "apiId" => Slot::ApiId,
            "stage" => Slot::Stage,
            "accountId" => Slot::AccountId,
            _ => Slot::None,
        }
    }
}

impl<'l> Fields<'l> {
    /// Records a variable's value under the field it feeds, if any.
    pub fn set(&mut self, var: &str, value: impl Into<Cow<'l, str>>) {
        self.put(Slot::of(var), value);
    }

    /// Records a value under a slot found once per format, not once per line.
    pub fn put(&mut self, slot: Slot, value: impl Into<Cow<'l, str>>) {
        if slot == Slot::None {
            return;
        }
        let value = match value.into() {
            Cow::Borrowed(v) => Cow::Borrowed(v.trim()),
            Cow::Owned(v) if v.trim().len() == v.len() => Cow::Owned(v),
            Cow::Owned(v) => Cow::Owned(v.trim().to_owned()),
        };
        if value.is_empty() || value == "-" {
            return;
        }
        let field = match slot {
            Slot::RequestId => &mut self.request_id,
            Slot::ExtendedRequestId if self.request_id.is_none() => &mut self.request_id,
            Slot::Status => {
                self.status = self.status.or_else(|| value.parse().ok());
                return;
            }
            Slot::RequestTime => &mut self.time,
            Slot::RequestTimeEpoch if self.time.is_none() => &mut self.time,
            Slot::HttpMethod => &mut self.method,
            Slot::RouteKey => &mut self.route_key,
            Slot::ResourcePath => &mut self.resource_path,
            Slot::Path => &mut self.path,
            Slot::SourceIp => &mut self.source_ip,
            Slot::ApiId => &mut self.api_id,
            Slot::Stage => &mut self.stage,
            Slot::AccountId => &mut self.account_id,
            _ => return,
        };
        if field.is_none() {
            *field = Some(value);
        }
    }

    /// A `METHOD route` label for the alert: the route key, else method and resource (a REST
    /// API's), else method and path.
    pub fn route(&self) -> Option<Cow<'_, str>> {
        let path = self.resource_path.as_ref().or(self.path.as_ref());
        match (&self.route_key, &self.method, path) {
            (Some(route), _, _) => Some(Cow::Borrowed(route)),
            (None, Some(method), Some(path)) => Some(Cow::Owned(format!("{method} {path}"))),
            (None, None, Some(path)) => Some(Cow::Borrowed(path)),
            _ => None,
        }
    }
}

/// The `$context` variable a JSON key most likely holds, for JSON lines logged with a format we
/// were not given. Keys are compared without case or punctuation, so `request_id`, `requestId` and
/// `context.requestId` all count.
pub fn guess_var_for_key(key: &str) -> Option<&'static str> {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let norm = norm.strip_prefix("context").unwrap_or(&norm);
    Some(match norm {
        "requestid" => "requestId",
        "extendedrequestid" => "extendedRequestId",
        "status" | "statuscode" => "status",
        "requesttime" | "time" => "requestTime",
        "requesttimeepoch" => "requestTimeEpoch",
        "httpmethod" | "method" => "httpMethod",
        "routekey" | "route" => "routeKey",
        "resourcepath" => "resourcePath",
        "path" => "path",
        "ip" | "sourceip" | "identitysourceip" => "identity.sourceIp",
        "apiid" => "apiId",
        "stage" => "stage",
        "accountid" => "accountId",
        _ => return None,
    })
}
