//! JSON lines, read by their format's keys when it is given and by key names when not: a JSON
//! line's keys, unlike a text line's separators, say where each value stands.

use std::borrow::Cow;

use serde_json::Value;

use crate::detect::access_log::{Fields, LogFormat, guess_var_for_key, is_error_name};
use crate::detect::flag::{Origin, flagged, flagged_message};
use crate::detect::marks::{after_token, reason, says_something, token_spans};
use crate::model::finding::LineVerdict;

/// A JSON line against a JSON format: the line must have exactly the format's keys, each once,
/// and only the keys the format maps to an error variable count. A key the format does not list,
/// or a second copy of one it does, can only come from a client value that broke out of its
/// string, so the line is unmatched.
pub(super) fn scan_json_given(line: &str, format: &LogFormat, origin: &Origin) -> LineVerdict {
    let Some(entries) = json_entries(line) else {
        return LineVerdict::Unmatched;
    };
    let keys = format.json_keys();
    let mut seen = vec![false; keys.len()];
    let mut vars = Vec::with_capacity(entries.len());
    for (path, _) in &entries {
        match keys.iter().position(|(k, _)| k == path) {
            Some(i) if !seen[i] => {
                seen[i] = true;
                vars.push(&keys[i].1);
            }
            _ => return LineVerdict::Unmatched,
        }
    }
    if seen.contains(&false) {
        return LineVerdict::Unmatched;
    }
    let mut fields = Fields::default();
    let mut error: Option<(&str, &str)> = None;
    let mut message = None;
    for ((_, leaf), var) in entries.iter().zip(&vars) {
        match leaf {
            JsonLeaf::Str(s) => {
                fields.set(&var.0, &**s);
                if var.is_error()
                    && error.is_none()
                    && let Some(&(start, end)) = token_spans(s).first()
                {
                    error = Some((&s[start..end], reason(&s[end..])));
                }
                if message.is_none() && var.holds_authorizer_message() {
                    message = crate::model::cause::failure_message(s).map(|m| (m, &**s));
                }
            }
            JsonLeaf::Number(n) => fields.set(&var.0, n.as_str()),
            JsonLeaf::Other => {}
        }
    }
    match error {
        // The reason may sit in another error variable (`$context.error.message`,
        // `$context.authorizer.error`) rather than after the token: read only then. The token's
        // own value says nothing more, as it holds the token.
        Some((token, "")) => {
            let text = entries
                .iter()
                .zip(&vars)
                .filter_map(|((_, leaf), var)| match leaf {
                    JsonLeaf::Str(s) if var.is_error() && says_something(s) => Some(s.trim()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(" ");
            flagged(&fields, token, &text, origin)
        }
        Some((token, text)) => flagged(&fields, token, text, origin),
        // No token of API Gateway's: a failure message alone, where it writes one.
        None => match message {
            Some((m, value)) => flagged_message(&fields, m, value, origin),
            None => LineVerdict::Ignored,
        },
    }
}

/// A JSON value at a key path of a line.
#[derive(Debug, PartialEq, Eq)]
enum JsonLeaf<'a> {
    Str(Cow<'a, str>),
    Number(String),
    /// `null`, a boolean or an array: no variable of a JSON format is written as one.
    Other,
}

/// Every key path of a JSON object line with its value, in order, duplicates kept (a map would
/// keep only one of them). `None` when the line is not one JSON object.
fn json_entries(line: &str) -> Option<Vec<(String, JsonLeaf<'_>)>> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Collect<'p, 'a> {
        prefix: &'p str,
        out: &'p mut Vec<(String, JsonLeaf<'a>)>,
    }
    impl<'p, 'de> Collect<'p, 'de> {
        fn push<E>(self, leaf: JsonLeaf<'de>) -> Result<(), E> {
            self.out.push((self.prefix.to_owned(), leaf));
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Collect<'_, 'de> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Collect<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let path = if self.prefix.is_empty() {
                    key.into_owned()
                } else {
                    format!("{}.{key}", self.prefix)
                };
                map.next_value_seed(Collect {
                    prefix: &path,
                    out: &mut *self.out,
                })?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.push(JsonLeaf::Other)
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<(), E> {
            self.push(JsonLeaf::Str(Cow::Owned(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<(), E> {
            self.push(JsonLeaf::Number(v.to_string()))
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            self.push(JsonLeaf::Other)
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            self.push(JsonLeaf::Other)
        }
    }

    if !line.starts_with('{') {
        return None;
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(line);
    Collect {
        prefix: "",
        out: &mut out,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(out)
}

/// A JSON line read without its format: only string values under error-named keys count.
pub(super) fn scan_json(
    map: &serde_json::Map<String, Value>,
    format: &LogFormat,
    origin: &Origin,
) -> LineVerdict {
    let mut fields = Fields::default();
    let mut error: Option<(&str, &str)> = None;
    let mut other_errors: Vec<&str> = Vec::new();
    let mut message = None;
    let mut stack: Vec<(String, &Value)> = map.iter().map(|(k, v)| (k.clone(), v)).collect();
    stack.reverse();
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(inner) => {
                for (k, v) in inner.iter().rev() {
                    stack.push((format!("{path}.{k}"), v));
                }
            }
            Value::String(s) => {
                // Dotted and nested names count alike: `error.message`, `authorizer.error`.
                let leaf_is_error = is_error_name(&path);
                let leaf = path.rsplit('.').next().unwrap_or(&path);
                match format.var_for_json_key(&path) {
                    Some(var) => fields.set(&var.0, s.as_str()),
                    None => {
                        if let Some(var) = guess_var_for_key(&path) {
                            fields.set(var, s.as_str());
                        }
                    }
                }
                if leaf_is_error && message.is_none() {
                    message = crate::model::cause::failure_message(s).map(|m| (m, &**s));
                }
                let token = if leaf_is_error { after_token(s) } else { None };
                match token {
                    Some(found) if error.is_none() => error = Some(found),
                    Some(_) => {}
                    None if (leaf_is_error || leaf.to_ascii_lowercase().contains("message"))
                        && says_something(s) =>
                    {
                        other_errors.push(s.trim())
                    }
                    None => {}
                }
            }
            Value::Number(n) => {
                if let Some(var) = format
                    .var_for_json_key(&path)
                    .map(|v| v.0.as_str())
                    .or_else(|| guess_var_for_key(&path))
                {
                    fields.set(var, n.to_string());
                }
            }
            _ => {}
        }
    }
    match error {
        // The reason may sit in a sibling field such as `error.message` rather than after the token.
        Some((token, "")) if !other_errors.is_empty() => {
            let text = other_errors.join(" ");
            flagged(&fields, token, &text, origin)
        }
        Some((token, text)) => flagged(&fields, token, text, origin),
        None => match message {
            Some((m, value)) => flagged_message(&fields, m, value, origin),
            None => LineVerdict::Ignored,
        },
    }
}
