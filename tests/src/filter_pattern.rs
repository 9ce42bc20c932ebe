//! CloudWatch Logs filter-pattern matching as AWS documents it, for checking which log events a
//! subscription filter delivers.
//!
//! `moto_server` (the local AWS of `tests/run`) takes `?` terms as match-all, so a test that asks it
//! which events a pattern delivers learns nothing about them. This module matches the way the AWS
//! page "Filter pattern syntax for metric filters, subscription filters, and filter log events"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>)
//! describes, and refuses what the page leaves undocumented rather than guess.
//!
//! Supported: unstructured-text patterns (terms, quoted phrases, `?` alternatives, `-` exclusions)
//! and a small part of JSON patterns (`{ $.a.b = "v" }`, `!=`, `*` at either end of a value,
//! `&&`, `||`, parentheses). Refused with an error: `%regex%` terms, space-delimited `[...]`
//! patterns, and JSON numeric comparisons, `IS`, `EXISTS` and array selectors.

use serde_json::Value;

/// A parsed filter pattern; [`FilterPattern::matches`] tells whether a log event's message passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterPattern(Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// The empty pattern `""`: "match everything" (the page: an empty filter pattern matches all
    /// log events).
    All,
    /// Unstructured-text terms. The page: terms are case-sensitive and are found anywhere in the
    /// event (`ERROR` matches `Exiting with ERRORCODE: -1`); every plain term must appear (AND);
    /// `?term` is an alternative (`?ERROR ?WARN`: either); `-term` excludes (`ERROR -WARN`).
    Terms {
        required: Vec<String>,
        optional: Vec<String>,
        excluded: Vec<String>,
    },
    /// A JSON pattern `{ ... }`, applied only to events that are JSON objects.
    Json(Expr),
}

/// A JSON pattern's condition.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    /// `$.a.b = value` or `$.a.b != value`.
    Compare {
        path: Vec<String>,
        equal: bool,
        value: Wildcard,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A JSON pattern's value: the page allows `*` at its start or end (`{ $.sourceIPAddress !=
/// 123.123.* }`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Wildcard {
    any_before: bool,
    text: String,
    any_after: bool,
}

impl Wildcard {
    fn new(raw: &str) -> Result<Self, String> {
        let any_before = raw.starts_with('*');
        let rest = raw.strip_prefix('*').unwrap_or(raw);
        let any_after = rest.ends_with('*');
        let text = rest.strip_suffix('*').unwrap_or(rest);
        if text.contains('*') {
            return Err(format!(
                "value {raw:?}: `*` is documented only at the start or end of a value"
            ));
        }
        Ok(Wildcard {
            any_before,
            text: text.to_owned(),
            any_after,
        })
    }

    fn matches(&self, s: &str) -> bool {
        match (self.any_before, self.any_after) {
            (false, false) => s == self.text,
            (false, true) => s.starts_with(&self.text),
            (true, false) => s.ends_with(&self.text),
            (true, true) => s.contains(&self.text),
        }
    }
}

impl FilterPattern {
    /// Parses a pattern. Errors name what is wrong or not supported here.
    ///
    /// Unstructured text: terms are separated by spaces; the page requires a term with characters
    /// other than letters, digits and `_` to be enclosed in double quotes, so an unquoted one is
    /// refused; a quoted term is one phrase, matched literally, spaces included. Mixing plain (AND)
    /// terms with `?` terms is not documented, so it is refused (as is `?` with `-`).
    pub fn parse(pattern: &str) -> Result<FilterPattern, String> {
        let trimmed = pattern.trim();
        if trimmed.is_empty() {
            return Ok(FilterPattern(Kind::All));
        }
        if trimmed.starts_with('{') {
            return parse_json(trimmed).map(|e| FilterPattern(Kind::Json(e)));
        }
        if trimmed.starts_with('[') {
            return Err(format!(
                "{pattern:?}: space-delimited `[...]` patterns are not supported here"
            ));
        }
        parse_terms(trimmed).map(FilterPattern)
    }

    /// Whether an event's message matches: what a subscription filter with this pattern delivers.
    pub fn matches(&self, event: &str) -> bool {
        match &self.0 {
            Kind::All => true,
            Kind::Terms {
                required,
                optional,
                excluded,
            } => {
                required.iter().all(|t| event.contains(t.as_str()))
                    && (optional.is_empty() || optional.iter().any(|t| event.contains(t.as_str())))
                    && !excluded.iter().any(|t| event.contains(t.as_str()))
            }
            Kind::Json(expr) => match serde_json::from_str::<Value>(event) {
                Ok(v @ Value::Object(_)) => eval(expr, &v),
                _ => false,
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Required,
    Optional,
    Excluded,
}

fn parse_terms(pattern: &str) -> Result<Kind, String> {
    let (mut required, mut optional, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    let mut rest = pattern;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let role = match rest.as_bytes()[0] {
            b'?' => Role::Optional,
            b'-' => Role::Excluded,
            _ => Role::Required,
        };
        if role != Role::Required {
            rest = &rest[1..];
        }
        let term;
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("{pattern:?}: a quoted term has no closing quote"))?;
            term = &quoted[..end];
            rest = &quoted[end + 1..];
            if rest.starts_with(|c: char| !c.is_whitespace()) {
                return Err(format!(
                    "{pattern:?}: a closing quote must be followed by a space or the end"
                ));
            }
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            term = &rest[..end];
            rest = &rest[end..];
            if term.starts_with('%') {
                return Err(format!(
                    "{pattern:?}: `%regex%` terms are not supported here"
                ));
            }
            if term.is_empty() {
                return Err(format!("{pattern:?}: `?` or `-` without a term"));
            }
            if let Some(c) = term
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
            {
                return Err(format!(
                    "{pattern:?}: term {term:?} has {c:?}, which is not a letter, digit or `_`: \
                     such a term must be in double quotes"
                ));
            }
        }
        match role {
            Role::Required => required.push(term.to_owned()),
            Role::Optional => optional.push(term.to_owned()),
            Role::Excluded => excluded.push(term.to_owned()),
        }
    }
    let plain_or_excluded = !required.is_empty() || !excluded.is_empty();
    if !optional.is_empty() && plain_or_excluded {
        return Err(format!(
            "{pattern:?}: `?` terms mixed with plain or `-` terms are not documented"
        ));
    }
    Ok(Kind::Terms {
        required,
        optional,
        excluded,
    })
}

/// A JSON pattern's text, read left to right.
struct Cursor<'a> {
    pattern: &'a str,
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(after) => {
                self.rest = after;
                true
            }
            None => false,
        }
    }

    fn err(&self, what: &str) -> String {
        format!(
            "{:?}: {what} at {:?}",
            self.pattern,
            self.rest.chars().take(20).collect::<String>()
        )
    }

    /// `a || b || ...`
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    /// `a && b && ...`
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.primary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    /// `( expr )` or `$.a.b op value`.
    fn primary(&mut self) -> Result<Expr, String> {
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err(self.err("expected `)`"));
            }
            return Ok(inner);
        }
        if !self.eat("$") {
            return Err(self.err("expected a selector `$.key`"));
        }
        let mut path = Vec::new();
        while let Some(after) = self.rest.strip_prefix('.') {
            let end = after
                .find(|c: char| c.is_whitespace() || "=!<>()&|[]{}.\"*".contains(c))
                .unwrap_or(after.len());
            if end == 0 {
                return Err(self.err("expected a key after `.`"));
            }
            path.push(after[..end].to_owned());
            self.rest = &after[end..];
        }
        if path.is_empty() || self.rest.starts_with('[') {
            return Err(self.err("only `$.key.key` selectors are supported here"));
        }
        let equal = if self.eat("!=") {
            false
        } else if self.eat("=") {
            true
        } else {
            return Err(self.err("only `=` and `!=` are supported here"));
        };
        self.skip_space();
        let raw = if let Some(quoted) = self.rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| self.err("a quoted value has no closing quote"))?;
            self.rest = &quoted[end + 1..];
            &quoted[..end]
        } else {
            let end = self
                .rest
                .find(|c: char| c.is_whitespace() || "()&|{}".contains(c))
                .unwrap_or(self.rest.len());
            let raw = &self.rest[..end];
            if raw.is_empty() || raw == "IS" || raw == "EXISTS" {
                return Err(self.err("expected a value"));
            }
            self.rest = &self.rest[end..];
            raw
        };
        Ok(Expr::Compare {
            path,
            equal,
            value: Wildcard::new(raw).map_err(|e| format!("{:?}: {e}", self.pattern))?,
        })
    }
}

fn parse_json(pattern: &str) -> Result<Expr, String> {
    let mut c = Cursor {
        pattern,
        rest: pattern,
    };
    if !c.eat("{") {
        return Err(c.err("expected `{`"));
    }
    let expr = c.or()?;
    if !c.eat("}") {
        return Err(c.err("expected `}`"));
    }
    c.skip_space();
    if !c.rest.is_empty() {
        return Err(c.err("text after the closing `}`"));
    }
    Ok(expr)
}

/// A comparison whose selector finds nothing, or finds an object, an array or null, is false
/// whichever the operator: the page's examples compare only fields that hold a value. A number or
/// boolean is compared by its JSON text.
fn eval(expr: &Expr, event: &Value) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, event) && eval(b, event),
        Expr::Or(a, b) => eval(a, event) || eval(b, event),
        Expr::Compare { path, equal, value } => {
            let found = path.iter().try_fold(event, |v, key| v.get(key.as_str()));
            let text = match found {
                Some(Value::String(s)) => s.clone(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                _ => return false,
            };
            value.matches(&text) == *equal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FilterPattern;

    /// The page's example events for unstructured-text patterns.
    const EVENTS: [&str; 5] = [
        "[ERROR 400] BAD REQUEST",
        "[ERROR 401] UNAUTHORIZED REQUEST",
        "[WARN 400] BAD REQUEST",
        "[ERROR 402] PAYMENT REQUIRED",
        "Exiting with ERRORCODE: -1",
    ];

    /// Each pattern and, for each of [`EVENTS`], whether it matches.
    #[test]
    fn text_patterns_match_as_the_aws_page_documents() {
        let table: [(&str, [bool; 5]); 13] = [
            // Empty pattern: everything.
            ("", [true; 5]),
            ("\"\"", [true; 5]),
            // Substring anywhere: ERROR is in ERRORCODE.
            ("ERROR", [true, true, false, true, true]),
            // Case-sensitive.
            ("error", [false; 5]),
            // AND.
            ("ERROR 400", [true, false, false, false, false]),
            ("BAD REQUEST", [true, false, true, false, false]),
            // OR.
            ("?ERROR ?WARN", [true; 5]),
            ("?WARN ?UNAUTHORIZED", [false, true, true, false, false]),
            // Exclusion.
            ("ERROR -WARN", [true, true, false, true, true]),
            ("ERROR -REQUEST", [false, false, false, true, true]),
            ("-ERROR", [false, false, true, false, false]),
            // A quoted phrase is one term, spaces and punctuation included.
            ("\"BAD REQUEST\"", [true, false, true, false, false]),
            ("\"[ERROR 40\"", [true, true, false, true, false]),
        ];
        for (pattern, want) in table {
            let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            for (event, want) in EVENTS.iter().zip(want) {
                assert_eq!(
                    p.matches(event),
                    want,
                    "pattern {pattern:?}, event {event:?}"
                );
            }
        }
    }

    /// The access-log pattern of our stack, on an HTTP API failure line and a healthy line.
    #[test]
    fn authorizer_pattern_delivers_the_failure_line_and_not_the_healthy_one() {
        let pattern = "?AUTHORIZER_CONFIGURATION_ERROR ?AUTHORIZER_FAILURE \
                       ?\"permissions to call the authorizer\" \
                       ?\"Lambda Authorizer function doesn't match\"";
        let p = FilterPattern::parse(pattern).unwrap();
        let table = [
            (
                r#"192.0.2.44 - - [20/Nov/2026:09:14:05 +0000] "GET GET /profile HTTP/1.1" 500 35 r= The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response"#,
                true,
            ),
            (
                r#"203.0.113.10 - - [20/Nov/2026:09:14:03 +0000] "GET GET /invoices HTTP/1.1" 500 35 r= The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer."#,
                true,
            ),
            (
                r#"198.51.100.8 - - [20/Nov/2026:11:00:05 +0000] "GET GET /reports HTTP/1.1" 503 35 r= AUTHORIZER_FAILURE"#,
                true,
            ),
            (
                r#"192.0.2.44 - - [20/Nov/2026:09:14:06 +0000] "GET GET /health HTTP/1.1" 200 35 r= -"#,
                false,
            ),
            // Case-sensitive: a lower-case mention is not delivered.
            ("authorizer_configuration_error", false),
        ];
        for (event, want) in table {
            assert_eq!(p.matches(event), want, "{event}");
        }
    }

    #[test]
    fn json_patterns_compare_selected_fields_of_json_events_only() {
        let event = r#"{"eventType":"UpdateTrail","sourceIPAddress":"123.123.1.2","user":{"id":"u-17","admin":false},"status":500}"#;
        let table = [
            (r#"{ $.eventType = "UpdateTrail" }"#, true),
            (r#"{ $.eventType = "Update" }"#, false),
            (r#"{ $.eventType = Update* }"#, true),
            (r#"{ $.eventType = *Trail }"#, true),
            (r#"{ $.eventType = *dateTr* }"#, true),
            (r#"{ $.eventType != "UpdateTrail" }"#, false),
            ("{ $.sourceIPAddress != 123.123.* }", false),
            ("{ $.sourceIPAddress != 10.0.* }", true),
            (r#"{ $.user.id = "u-17" }"#, true),
            ("{ $.user.admin = false }", true),
            ("{ $.status = 500 }", true),
            (r#"{ $.missing = "x" }"#, false),
            (r#"{ $.missing != "x" }"#, false),
            (
                r#"{ $.eventType = "UpdateTrail" && $.status = 200 }"#,
                false,
            ),
            (r#"{ $.eventType = "UpdateTrail" || $.status = 200 }"#, true),
            (
                r#"{ ($.status = 200 || $.status = 500) && $.user.id = "u-17" }"#,
                true,
            ),
            (
                r#"{ $.status = 200 || ($.status = 500 && $.user.id = "nobody") }"#,
                false,
            ),
        ];
        for (pattern, want) in table {
            let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(p.matches(event), want, "{pattern}");
        }
        // Only JSON objects are read with a JSON pattern.
        let p = FilterPattern::parse(r#"{ $.eventType = "UpdateTrail" }"#).unwrap();
        for event in [
            r#"eventType = "UpdateTrail""#,
            r#"["UpdateTrail"]"#,
            "\"UpdateTrail\"",
        ] {
            assert!(!p.matches(event), "{event}");
        }
    }

    /// What the page leaves undocumented, or what this module does not implement, is refused.
    #[test]
    fn refuses_undocumented_and_unsupported_patterns() {
        let table = [
            ("?ERROR WARN", "not documented"),
            ("?ERROR -WARN", "not documented"),
            ("doesn't", "double quotes"),
            ("?AUTHORIZER_ERROR ?permissions-to", "double quotes"),
            ("\"unclosed phrase", "closing quote"),
            ("\"phrase\"glued", "closing quote"),
            ("ERROR ?", "without a term"),
            ("%AUTHORIZED%", "not supported here"),
            ("?%ERR.R% ?WARN", "not supported here"),
            ("[ip, user, status = 500]", "not supported here"),
            ("{ $.status > 400 }", "supported here"),
            ("{ $.items[0] = 1 }", "supported here"),
            ("{ $.a = \"x\" ", "expected `}`"),
            ("{ $.a = x*y }", "start or end"),
        ];
        for (pattern, says) in table {
            match FilterPattern::parse(pattern) {
                Ok(p) => panic!("{pattern:?} parsed as {p:?}"),
                Err(e) => assert!(e.contains(says), "{pattern:?}: {e}"),
            }
        }
    }
}
