//! Access-log formats and lines.
//!
//! Users configure the stage's access log with a format string of `$context` variables
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>).
//! Given the same string, [`LogFormat`] splits a line back into its variables, so the detector knows
//! which part API Gateway wrote and which part a client sent.

use std::borrow::Cow;

use memchr::memmem;
use serde_json::Value;

/// The format in our reference material, used when none is configured.
pub const DEFAULT_FORMAT: &str = r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId $context.authorizer.error"#;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("access-log format has no $context variables")]
    NoVariables,
    #[error(
        "access-log format has no error variable such as $context.authorizer.error, so authorizer errors never reach the log"
    )]
    NoErrorVariable,
    #[error(
        "access-log format puts ${0} and ${1} next to each other with nothing between, so lines cannot be split"
    )]
    AdjacentVariables(String, String),
}

/// A variable of the format, by its name after `$context.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var(pub String);

impl Var {
    /// Variables whose value API Gateway writes about an error; the token only counts in these.
    pub fn is_error(&self) -> bool {
        is_error_name(&self.0)
    }

    /// Variables whose value comes from the request, where a client can write anything. The route
    /// key is API-defined, but it shares the quoted request segment with such text, so it is matched
    /// the same way: as much as possible, leaving only API Gateway's own fields after it.
    fn is_client_controlled(&self) -> bool {
        let n = self.0.as_str();
        matches!(
            n,
            "path"
                | "routeKey"
                | "identity.userAgent"
                | "customDomain.basePathMatched"
                | "domainName"
        ) || n.starts_with("requestOverride")
            || n.starts_with("responseOverride")
            || (n.starts_with("authorizer.")
                && !self.is_error()
                && !n.ends_with("atency")
                && !n.ends_with("tatus"))
    }

    /// What API Gateway can write for this variable, so a forged segment in a client-controlled
    /// field cannot line up with the real fields after it.
    fn class(&self) -> Class {
        match self.0.as_str() {
            "status"
            | "authorizer.status"
            | "authorizer.integrationStatus"
            | "integrationStatus"
            | "integration.status" => Class::Status,
            "responseLength"
            | "requestTimeEpoch"
            | "responseLatency"
            | "integrationLatency"
            | "authorizer.latency"
            | "authorizer.integrationLatency"
            | "integration.latency"
            | "dataProcessed" => Class::Number,
            "requestTime" => Class::Time,
            "httpMethod" => Class::Method,
            "apiId"
            | "accountId"
            | "authorizer.principalId"
            | "requestId"
            | "extendedRequestId"
            | "protocol"
            | "stage"
            | "identity.sourceIp" => Class::Token,
            _ if self.is_client_controlled() => Class::Greedy,
            _ => Class::Lazy,
        }
    }
}

/// The shapes a variable's value can take, and how the splitter chooses where it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Three digits or `-`.
    Status,
    /// Digits or `-`.
    Number,
    /// Anything but `]` (`$context.requestTime` sits in brackets).
    Time,
    /// Upper-case letters or `-`.
    Method,
    /// No white space.
    Token,
    /// Anything, as much as possible: client text, so the real fields after it win.
    Greedy,
    /// Anything, as little as possible.
    Lazy,
}

impl Class {
    /// Whether the value may contain this byte; the tight classes stop at the first it may not.
    #[inline]
    fn allows(self, b: u8) -> bool {
        match self {
            Class::Status | Class::Number => b.is_ascii_digit() || b == b'-',
            Class::Time => b != b']',
            Class::Method => b.is_ascii_uppercase() || b == b'-',
            Class::Token => !b.is_ascii_whitespace(),
            Class::Greedy | Class::Lazy => true,
        }
    }

    /// How many leading bytes of `rest` the class allows. Each arm names its class as a constant,
    /// so [`Class::allows`] is resolved once per value, not once per byte.
    fn extent(self, rest: &[u8]) -> usize {
        #[inline(always)]
        fn stop(class: Class, rest: &[u8]) -> Option<usize> {
            rest.iter().position(|&b| !class.allows(b))
        }
        match self {
            Class::Status | Class::Number => stop(Class::Number, rest),
            Class::Time => memchr::memchr(b']', rest),
            Class::Method => stop(Class::Method, rest),
            Class::Token => stop(Class::Token, rest),
            Class::Greedy | Class::Lazy => None,
        }
        .unwrap_or(rest.len())
    }

    /// Client text or a value of unknown shape: anything goes, so the literals decide.
    fn is_loose(self) -> bool {
        matches!(self, Class::Greedy | Class::Lazy)
    }

    #[inline]
    fn accepts(self, value: &[u8]) -> bool {
        match self {
            Class::Status => {
                value == [b'-'] || (value.len() == 3 && value.iter().all(u8::is_ascii_digit))
            }
            Class::Number => {
                value == [b'-'] || (!value.is_empty() && value.iter().all(u8::is_ascii_digit))
            }
            Class::Method => {
                value == [b'-'] || (!value.is_empty() && value.iter().all(u8::is_ascii_uppercase))
            }
            Class::Time | Class::Token => value.iter().all(|b| self.allows(*b)),
            Class::Greedy | Class::Lazy => true,
        }
    }
}

/// Upper bound on the split points tried for one line. A hostile line full of separators could
/// otherwise make splitting quadratic; past the budget the line counts as not following the format
/// and the quote rule (linear) decides.
const SPLIT_BUDGET: usize = 4096;

/// Field names that carry error text, in formats or in JSON keys.
pub fn is_error_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("error") || lower.contains("responsetype")
}

/// A parsed access-log format string.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    vars: Vec<Var>,
    classes: Vec<Class>,
    /// The first variable that is not tight (client text or unknown shape): bounds from the right
    /// only help from there on, the tight values before it end at the first byte they forbid.
    first_loose: usize,
    errors: Vec<bool>,
    slots: Vec<Slot>,
    /// The text around the variables: one more than there are variables.
    literals: Vec<String>,
    /// Searchers for `literals[1..]`, built once: building them per line costs more than searching.
    finders: Vec<(memmem::Finder<'static>, RevLiteral)>,
    /// For JSON formats: key path (dotted) to the variable it holds.
    json_keys: Vec<(String, Var)>,
}

impl LogFormat {
    /// Parses the format string exactly as pasted into API Gateway.
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let source = source.trim();
        let mut vars = Vec::new();
        let mut literals = vec![String::new()];
        let mut rest = source;
        while let Some(at) = rest.find("$context.") {
            let literal = literals.last_mut().expect("never empty");
            literal.push_str(&rest[..at]);
            let name = var_name(&rest[at + 9..]);
            if name.is_empty() {
                literal.push_str("$context.");
                rest = &rest[at + 9..];
                continue;
            }
            if !vars.is_empty() && literal.is_empty() {
                let prev: &Var = vars.last().expect("checked");
                return Err(FormatError::AdjacentVariables(
                    format!("context.{}", prev.0),
                    format!("context.{name}"),
                ));
            }
            vars.push(Var(name.to_owned()));
            literals.push(String::new());
            rest = &rest[at + 9 + name.len()..];
        }
        literals.last_mut().expect("never empty").push_str(rest);
        if vars.is_empty() {
            return Err(FormatError::NoVariables);
        }
        if !vars.iter().any(Var::is_error) {
            return Err(FormatError::NoErrorVariable);
        }
        let json_keys = match serde_json::from_str::<Value>(source) {
            Ok(Value::Object(map)) => {
                let mut keys = Vec::new();
                collect_json_keys(&Value::Object(map), "", &mut keys);
                keys
            }
            _ => Vec::new(),
        };
        Ok(Self {
            source: source.to_owned(),
            first_loose: vars
                .iter()
                .position(|v| v.class().is_loose())
                .unwrap_or(vars.len() - 1),
            classes: vars.iter().map(Var::class).collect(),
            errors: vars.iter().map(Var::is_error).collect(),
            slots: vars.iter().map(|v| Slot::of(&v.0)).collect(),
            finders: literals[1..]
                .iter()
                .map(|l| {
                    (
                        memmem::Finder::new(l.as_bytes()).into_owned(),
                        RevLiteral::new(l.as_bytes()),
                    )
                })
                .collect(),
            vars,
            literals,
            json_keys,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// The field variable `i` feeds.
    pub fn slot(&self, i: usize) -> Slot {
        self.slots[i]
    }

    /// Whether variable `i` carries error text (see [`Var::is_error`]).
    pub fn is_error_var(&self, i: usize) -> bool {
        self.errors[i]
    }

    /// Splits a line into the format's variables, or `None` when the line does not follow it.
    /// The same split as [`LogFormat::split_with`], collected with names; for reading one line.
    pub fn split<'l>(&self, line: &'l str) -> Option<Vec<(&Var, &'l str)>> {
        self.split_with(line, |ends| {
            self.vars
                .iter()
                .enumerate()
                .map(|(i, var)| (var, self.value(line, ends, i)))
                .collect()
        })
    }

    /// Splits a line and hands the value ends to `f` (read them with [`LogFormat::value`]).
    ///
    /// Like a regular expression with tight patterns for API Gateway's own fields, `(.*)` for
    /// client fields and `(.*?)` for the rest, but it jumps between occurrences of the literal
    /// text instead of trying every byte, and gives up after [`SPLIT_BUDGET`] attempts. The
    /// buffers live on the stack for formats of up to 32 variables (every real one), so a batch's
    /// lines are split without allocating.
    pub fn split_with<R>(&self, line: &str, f: impl FnOnce(&[usize]) -> R) -> Option<R> {
        const STACK: usize = 32;
        let n = self.vars.len();
        if n <= STACK {
            let (mut ends, mut latest) = ([0; STACK], [0; STACK]);
            self.split_ends(line, &mut ends[..n], &mut latest[..n])?;
            Some(f(&ends[..n]))
        } else {
            let (mut ends, mut latest) = (vec![0; n], vec![0; n]);
            self.split_ends(line, &mut ends, &mut latest)?;
            Some(f(&ends))
        }
    }

    /// Variable `i`'s value, given the ends [`LogFormat::split_ends`] found.
    pub fn value<'l>(&self, line: &'l str, ends: &[usize], i: usize) -> &'l str {
        let start = match i {
            0 => self.literals[0].len(),
            _ => ends[i - 1] + self.literals[i].len(),
        };
        // Ends sit where a literal starts, and literals are whole UTF-8 text.
        &line[start..ends[i]]
    }

    /// Splits a line like [`LogFormat::split`] into caller-provided buffers (one slot per
    /// variable each), so scanning a batch allocates nothing per line. `ends` receives where each
    /// value ends; `latest` is scratch space.
    fn split_ends(&self, line: &str, ends: &mut [usize], latest: &mut [usize]) -> Option<()> {
        let bytes = line.as_bytes();
        let n = self.vars.len();
        let (first, last) = (self.literals[0].as_bytes(), self.literals[n].as_bytes());
        if bytes.len() < first.len() + last.len()
            || (!first.is_empty() && !bytes.starts_with(first))
            || (!last.is_empty() && !bytes.ends_with(last))
        {
            return None;
        }
        // The latest end each value can have: every literal after it must still fit, in order,
        // before the line ends. One search per literal from the right bounds the candidates, so a
        // greedy field followed by a common separator (the route key before " ") does not try
        // every separator in the text after it.
        latest[n - 1] = bytes.len() - last.len();
        for k in (0..n - 1).rev() {
            latest[k] = if k >= self.first_loose {
                self.finders[k].1.rfind(&bytes[..latest[k + 1]])?
            } else {
                bytes.len().checked_sub(self.literals[k + 1].len())?
            };
        }
        if latest[0] < first.len() {
            return None;
        }
        let mut budget = SPLIT_BUDGET;
        self.split_from(bytes, 0, first.len(), ends, latest, &mut budget)
            .then_some(())
    }

    /// Places variable `i` starting at `start`, then the rest; records where each ends.
    fn split_from(
        &self,
        line: &[u8],
        mut i: usize,
        mut start: usize,
        ends: &mut [usize],
        latest: &[usize],
        budget: &mut usize,
    ) -> bool {
        // Values with a single candidate end are placed in this loop: there is nothing to
        // backtrack to, so only values with several candidates recurse.
        loop {
            if start > latest[i] || *budget == 0 {
                return false;
            }
            let class = self.classes[i];
            let literal = self.literals[i + 1].as_bytes();
            if i + 1 == self.vars.len() || class.is_loose() || class.allows(literal[0]) {
                break;
            }
            // The value cannot hold the literal's first byte, so the literal starts right where
            // the value's bytes stop: one candidate, no search.
            let rest = &line[start..latest[i] + literal.len()];
            let extent = class.extent(rest);
            // Time and token values are exactly "the bytes they allow", which `extent` checked.
            if !has_prefix(&rest[extent..], literal)
                || (!matches!(class, Class::Time | Class::Token) && !class.accepts(&rest[..extent]))
            {
                return false;
            }
            *budget -= 1;
            ends[i] = start + extent;
            start += extent + literal.len();
            i += 1;
        }
        let class = self.classes[i];
        let literal = self.literals[i + 1].as_bytes();
        let last = i + 1 == self.vars.len();
        let mut attempt = |end: usize, budget: &mut usize| -> bool {
            if *budget == 0 || !class.accepts(&line[start..end]) {
                return false;
            }
            *budget -= 1;
            ends[i] = end;
            // The last variable runs to the final literal, which `split_ends` checked ends the line.
            last || self.split_from(line, i + 1, end + literal.len(), ends, latest, budget)
        };
        if last {
            return attempt(latest[i], budget);
        }
        // Candidates end where the literal starts, no later than `latest[i]`.
        let rest = &line[start..latest[i] + literal.len()];
        // Greedy values and tight ones (whose end cannot pass the first byte their class forbids)
        // try the latest end first; lazy values the earliest.
        let window = match class {
            Class::Lazy => {
                return self.finders[i]
                    .0
                    .find_iter(rest)
                    .any(|pos| attempt(start + pos, budget));
            }
            Class::Greedy => rest,
            _ => {
                let extent = class.extent(rest);
                &rest[..(extent + literal.len()).min(rest.len())]
            }
        };
        let finder = &self.finders[i].1;
        let mut upto = window.len();
        while let Some(pos) = finder.rfind(&window[..upto]) {
            if attempt(start + pos, budget) {
                return true;
            }
            if *budget == 0 {
                return false;
            }
            // The next occurrence may overlap this one.
            upto = pos + literal.len() - 1;
        }
        false
    }

    /// The variable a JSON key path holds, when this is a JSON format.
    pub fn var_for_json_key(&self, path: &str) -> Option<&Var> {
        self.json_keys
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, var)| var)
    }
}

impl Default for LogFormat {
    fn default() -> Self {
        Self::parse(DEFAULT_FORMAT).expect("the default format parses")
    }
}

fn var_name(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['.', '-'])
}

fn collect_json_keys(value: &Value, prefix: &str, out: &mut Vec<(String, Var)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_json_keys(v, &path, out);
            }
        }
        Value::String(s) => {
            if let Some(rest) = s.trim().strip_prefix("$context.") {
                out.push((prefix.to_owned(), Var(var_name(rest).to_owned())));
            }
        }
        _ => {}
    }
}

/// `hay.starts_with(prefix)` for the few bytes of a literal, compared in line: the general slice
/// comparison calls `memcmp`, whose call costs more than comparing a handful of bytes.
#[inline]
fn has_prefix(hay: &[u8], prefix: &[u8]) -> bool {
    hay.len() >= prefix.len() && hay.iter().zip(prefix).all(|(a, b)| a == b)
}

/// A literal of the format, searched from the right.
///
/// Literals are a few bytes of spaces and punctuation. At that size a general reverse substring
/// search costs more in set-up than in searching, so this jumps between occurrences of the
/// literal's least common byte (a quote or bracket rather than a space) and compares the rest.
#[derive(Clone, Debug)]
struct RevLiteral {
    bytes: Vec<u8>,
    /// Index of the byte `memrchr` looks for.
    anchor: usize,
}

impl RevLiteral {
    fn new(bytes: &[u8]) -> Self {
        let rank = |b: u8| match b {
            b' ' => 0,
            b if b.is_ascii_alphanumeric() => 1,
            b'-' | b'.' | b':' | b'/' | b',' | b'_' => 2,
            _ => 3,
        };
        let anchor = (0..bytes.len())
            .max_by_key(|&i| rank(bytes[i]))
            .unwrap_or(0);
        Self {
            bytes: bytes.to_vec(),
            anchor,
        }
    }

    /// Where the last occurrence in `hay` starts.
    fn rfind(&self, hay: &[u8]) -> Option<usize> {
        let n = self.bytes.len();
        if n == 0 || hay.len() < n {
            return (n == 0).then_some(hay.len());
        }
        let a = self.anchor;
        // The anchor of an occurrence that fits sits at `a ..= hay.len() - n + a`.
        let mut end = hay.len() - n + a + 1;
        while let Some(p) = memchr::memrchr(self.bytes[a], &hay[..end]) {
            if p < a {
                return None;
            }
            let start = p - a;
            if has_prefix(&hay[start..], &self.bytes) {
                return Some(start);
            }
            end = p;
        }
        None
    }
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

    /// A `METHOD route` label for the alert: the route key, else method and path.
    pub fn route(&self) -> Option<Cow<'_, str>> {
        match (&self.route_key, &self.method, &self.path) {
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
        "path" => "path",
        "ip" | "sourceip" | "identitysourceip" => "identity.sourceIp",
        "apiid" => "apiId",
        "stage" => "stage",
        "accountid" => "accountId",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reverse literal search agrees with the obvious one, whatever byte it anchors on.
    #[test]
    fn rev_literal_finds_the_last_occurrence() {
        let naive = |hay: &[u8], lit: &[u8]| {
            (lit.len() <= hay.len())
                .then(|| {
                    (0..=hay.len() - lit.len())
                        .rev()
                        .find(|&i| hay[i..].starts_with(lit))
                })
                .flatten()
        };
        let cases: [(&str, &str); 8] = [
            ("a b c", " "),
            ("x\" \" y\" z", "\" "),
            ("] \"] \"", "] \""),
            (" - - [", " - - ["),
            ("\"\"\"", "\"\""),
            ("abc", "abcd"),
            ("", "x"),
            ("ab", ""),
        ];
        for (hay, lit) in cases {
            let rev = RevLiteral::new(lit.as_bytes());
            assert_eq!(
                rev.rfind(hay.as_bytes()),
                naive(hay.as_bytes(), lit.as_bytes()).or((lit.is_empty()).then_some(hay.len())),
                "{hay:?} / {lit:?}"
            );
        }
        proptest::proptest!(|(hay in "[ a\"\\]\\[-]{0,40}", lit in "[ a\"\\]\\[-]{1,4}")| {
            let rev = RevLiteral::new(lit.as_bytes());
            proptest::prop_assert_eq!(rev.rfind(hay.as_bytes()), naive(hay.as_bytes(), lit.as_bytes()));
        });
    }

    /// Bounding each value by the literals after it never changes where a line splits.
    #[test]
    fn split_bounds_keep_the_split() {
        let format = LogFormat::default();
        let line = r#"203.0.113.0 - - [t] "GET GET /a" HTTP/1.1" 500 35 r= HTTP/1.1" 500 35 x AUTHORIZER_CONFIGURATION_ERROR,e" 1 2"#;
        let parts = split_map(&format, line);
        // The client's route key takes every forged field it can; API Gateway's own come last.
        assert_eq!(
            parts[3],
            ("routeKey".into(), r#"GET /a" HTTP/1.1" 500 35 r="#.into())
        );
        assert_eq!(parts[7], ("requestId".into(), "x".into()));
        assert_eq!(
            parts[8],
            (
                "authorizer.error".into(),
                r#"AUTHORIZER_CONFIGURATION_ERROR,e" 1 2"#.into()
            )
        );
    }

    const REAL_LINE: &str = r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "GET ANY / HTTP/1.1" 500 35 abcdefghijklmno= - Internal Server Error AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

    fn split_map(format: &LogFormat, line: &str) -> Vec<(String, String)> {
        format
            .split(line)
            .expect("line follows the format")
            .into_iter()
            .map(|(v, s)| (v.0.clone(), s.to_owned()))
            .collect()
    }

    #[test]
    fn default_format_splits_the_real_line() {
        let f = LogFormat::default();
        let got = split_map(&f, REAL_LINE);
        let get = |name: &str| got.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(get("identity.sourceIp"), "203.0.113.0");
        assert_eq!(get("requestTime"), "10/Oct/2023:01:01:01 +0000");
        assert_eq!(get("httpMethod"), "GET");
        assert_eq!(get("routeKey"), "ANY /");
        assert_eq!(get("protocol"), "HTTP/1.1");
        assert_eq!(get("status"), "500");
        assert_eq!(get("requestId"), "abcdefghijklmno=");
        assert!(get("authorizer.error").contains("AUTHORIZER_CONFIGURATION_ERROR,The response"));
    }

    #[test]
    fn a_forged_path_stays_inside_the_path() {
        let f = LogFormat::parse(
            r#"$context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status $context.requestId $context.authorizer.error"#,
        )
        .unwrap();
        let line = r#"1.2.3.4 [t] "GET /x HTTP/1.1" 500 r AUTHORIZER_CONFIGURATION_ERROR,fake " HTTP/1.1" 200 realid -"#;
        let got = split_map(&f, line);
        assert_eq!(
            got.last().unwrap(),
            &("authorizer.error".into(), "-".into())
        );
        assert_eq!(got[6], ("requestId".into(), "realid".into()));
    }

    #[test]
    fn hostile_separators_cannot_make_splitting_quadratic() {
        let f = LogFormat::parse(
            r#"$context.requestId "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.authorizer.error"#,
        )
        .unwrap();
        // Hundreds of thousands of places where the path or user agent could end.
        let noise = "\" 500 \" x".repeat(150_000);
        let line = format!(r#"r "GET /{noise} HTTP/1.1" 200 "{noise}" api -"#);
        let parts = f.split(&line);
        // Either the budget ran out (the quote rule decides) or the real error field was found.
        if let Some(parts) = parts {
            assert_eq!(parts.last().unwrap().1, "-");
        }
        let tight = f
            .split(r#"r "GET /a HTTP/1.1" 200 "ua" api AUTHORIZER_CONFIGURATION_ERROR,x"#)
            .unwrap();
        assert_eq!(tight[5].1, "ua");
    }

    #[test]
    fn bad_formats_are_refused_with_a_reason() {
        let cases = [
            ("", FormatError::NoVariables),
            ("plain text", FormatError::NoVariables),
            (
                "$context.requestId $context.status",
                FormatError::NoErrorVariable,
            ),
            (
                "$context.requestId$context.authorizer.error",
                FormatError::AdjacentVariables(
                    "context.requestId".into(),
                    "context.authorizer.error".into(),
                ),
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
        }
    }

    #[test]
    fn json_format_maps_keys_to_variables() {
        let f = LogFormat::parse(
            r#"{"requestId":"$context.requestId","authorizer":{"error":"$context.authorizer.error"}}"#,
        )
        .unwrap();
        assert_eq!(
            f.var_for_json_key("requestId"),
            Some(&Var("requestId".into()))
        );
        assert_eq!(
            f.var_for_json_key("authorizer.error"),
            Some(&Var("authorizer.error".into()))
        );
        assert_eq!(f.var_for_json_key("status"), None);
    }

    #[test]
    fn fields_keep_first_value_and_skip_dashes() {
        let mut fields = Fields::default();
        fields.set("requestId", "-");
        fields.set("extendedRequestId", "ext");
        fields.set("requestId", "req");
        fields.set("status", "500");
        fields.set("status", "nope");
        fields.set("httpMethod", "GET");
        fields.set("path", "/a");
        assert_eq!(fields.request_id.as_deref(), Some("ext"));
        assert_eq!(fields.status, Some(500));
        assert_eq!(fields.route().as_deref(), Some("GET /a"));
        fields.set("routeKey", String::from(" GET /b "));
        assert_eq!(fields.route().as_deref(), Some("GET /b"));
    }

    #[test]
    fn guesses_json_keys() {
        assert_eq!(guess_var_for_key("request_id"), Some("requestId"));
        assert_eq!(guess_var_for_key("context.requestId"), Some("requestId"));
        assert_eq!(guess_var_for_key("sourceIp"), Some("identity.sourceIp"));
        assert_eq!(guess_var_for_key("userAgent"), None);
    }
}
