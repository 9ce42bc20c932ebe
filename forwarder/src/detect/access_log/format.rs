//! A format string is read once into what splitting its lines needs, and refused here when its
//! own text could never be split or parsed; whether it can see a failure is `self_check.rs`'s.

use serde_json::Value;

use crate::detect::access_log::automaton::{Automaton, Scratch, Split};
use crate::detect::access_log::fields::Slot;
use crate::detect::access_log::vars::{Class, Var, var_name};

/// Why a format cannot be used. The texts follow the setting's name ("--format is not a usable
/// access-log format: ..."), so they do not repeat it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("it has no $context variables")]
    NoVariables,
    #[error(
        "it has no error variable ($context.authorizer.error, $context.authorize.error or $context.error.message/messageString/responseType), so authorizer errors never reach the log"
    )]
    NoErrorVariable,
    #[error(
        "it puts ${0} and ${1} next to each other with nothing between, so lines cannot be split"
    )]
    AdjacentVariables(String, String),
    #[error("it is a JSON object that maps the key {0:?} twice")]
    DuplicateJsonKey(String),
    /// A format that starts like a JSON object must be one once API Gateway fills it in, or
    /// every line it writes is read as text and none matches.
    #[error("it starts like JSON but is not: {reason} at line {line} column {column}")]
    NotJson {
        reason: String,
        line: usize,
        column: usize,
    },
    #[error("it would never report an authorizer failure: {0}")]
    NeverSeesFailure(String),
}

/// A parsed access-log format string.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    pub(super) vars: Vec<Var>,
    slots: Vec<Slot>,
    /// [`Var::is_error`] of each variable, asked once per flagged line and variable.
    errors: Vec<bool>,
    /// Whether the user configured this format. Only then do its rules bind: a line that does not
    /// follow it is unmatched. Otherwise it is the first guess of several.
    given: bool,
    pub(super) automaton: Automaton,
    /// The format's layout: its literal text, values only API Gateway writes in their classes,
    /// and any text where a client can write (see [`LogFormat::keeps_layout`]).
    pub(super) layout: Automaton,
    /// For JSON formats: key path (dotted) to the variable it holds.
    json_keys: Vec<(String, Var)>,
}

impl LogFormat {
    /// Parses the format string without asking whether it can ever see a failure: one of the
    /// console's presets is read so, to know where a line's client values stand.
    pub(super) fn parse_layout(source: &str) -> Result<Self, FormatError> {
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
        check_json(source)?;
        let json_keys = match serde_json::from_str::<Value>(source) {
            Ok(Value::Object(map)) => {
                let mut keys = Vec::new();
                collect_json_keys(&Value::Object(map), "", &mut keys);
                if let Some(dup) = (1..keys.len()).find_map(|i| {
                    keys[..i]
                        .iter()
                        .any(|(k, _)| *k == keys[i].0)
                        .then(|| keys[i].0.clone())
                }) {
                    return Err(FormatError::DuplicateJsonKey(dup));
                }
                keys
            }
            _ => Vec::new(),
        };
        let json = !json_keys.is_empty();
        Ok(Self {
            source: source.to_owned(),
            slots: vars.iter().map(|v| Slot::of(&v.0)).collect(),
            errors: vars.iter().map(Var::is_error).collect(),
            given: true,
            automaton: Automaton::new(&vars, &literals, Var::class),
            layout: Automaton::new(&vars, &literals, |v| v.layout_class(json)),
            vars,
            json_keys,
        })
    }

    /// The default format as a guess: lines that do not follow it are read by the fallback rules.
    pub fn guess() -> Self {
        Self {
            given: false,
            ..Self::default()
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Whether the user configured this format (see [`LogFormat::guess`]).
    pub fn is_given(&self) -> bool {
        self.given
    }

    /// Whether this is a JSON format; its lines are read by key, not split.
    pub fn is_json(&self) -> bool {
        !self.json_keys.is_empty()
    }

    /// The key paths of a JSON format, in order.
    pub fn json_keys(&self) -> &[(String, Var)] {
        &self.json_keys
    }

    /// The field variable `i` feeds.
    pub fn slot(&self, i: usize) -> Slot {
        self.slots[i]
    }

    /// Whether variable `i` carries error text (see [`Var::is_error`]).
    pub fn is_error_var(&self, i: usize) -> bool {
        self.errors[i]
    }

    /// Splits a line against the format and tells, for each of `spans` (byte ranges of the line,
    /// such as the token's occurrences), where every split of the line puts it.
    pub fn split(&self, line: &str, spans: &[(usize, usize)], scratch: &mut Scratch) -> Split {
        self.automaton.split(line.as_bytes(), spans, scratch)
    }

    /// Why a client could make some lines of this format ambiguous, if it could; such lines are
    /// unmatched rather than flagged, so the format should be changed. A text format is safe when,
    /// for every error variable, one side up to the end of the line holds no client value and the
    /// text between it and the nearest client value on the other side has a `"`: no value of API
    /// Gateway's own holds one, so the last (or first) `"` of the line stands where the format
    /// puts it, and no client value can reach past it.
    pub fn ambiguity(&self) -> Option<String> {
        if self.is_json() {
            return None;
        }
        let literals = &self.automaton.literals;
        let client = |i: usize| self.vars[i].class() == Class::Any;
        let quoted = |from: usize, to: usize| literals[from..to].iter().any(|l| l.contains('"'));
        self.vars.iter().enumerate().find_map(|(e, var)| {
            if !var.is_error() {
                return None;
            }
            let left = (0..e).rev().find(|&i| client(i));
            let right = (e + 1..self.vars.len()).find(|&i| client(i));
            let safe = match (left, right) {
                (None, None) => true,
                // Literal i + 1 follows variable i; literal e precedes the error variable.
                (Some(l), None) => quoted(l + 1, e + 1),
                (None, Some(r)) => quoted(e + 1, r + 1),
                (Some(_), Some(_)) => false,
            };
            (!safe).then(|| {
                let around = [left, right]
                    .into_iter()
                    .flatten()
                    .map(|i| format!("$context.{}", self.vars[i].0))
                    .collect::<Vec<_>>()
                    .join(" and ");
                format!(
                    "$context.{} sits next to client-controlled {around} with no double quote to fence them apart, so a client can make its line ambiguous (counted as unmatched, never flagged); put client values in double quotes and the error variable on a side with none",
                    var.0
                )
            })
        })
    }

    /// Whether a line keeps the format's layout: its literal text in order, around values of the
    /// shapes API Gateway writes, with any text where a client can write (see
    /// [`Var::layout_class`]). A client writes only in its own values: it can make its line one
    /// the format cannot split or parse (a `"` that breaks a JSON line, a request id of its own
    /// with a space), but never one without the layout. Only API Gateway writing another format
    /// does that, so such a line is evidence that the stage's format changed.
    ///
    /// `line` is read as written, without its line break, and trimmed: a client value at either
    /// end may be empty or white space, which trimming alone would take off the layout.
    pub fn keeps_layout(&self, line: &str, scratch: &mut Scratch) -> bool {
        let written = line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        self.layout.split(written.as_bytes(), &[], scratch) != Split::NoMatch
            || (trimmed != written
                && self.layout.split(trimmed.as_bytes(), &[], scratch) != Split::NoMatch)
    }

    /// The variable a JSON key path holds, when this is a JSON format.
    pub fn var_for_json_key(&self, path: &str) -> Option<&Var> {
        self.json_keys
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, var)| var)
    }
}

/// A format that starts like a JSON object is checked as the JSON API Gateway writes from it:
/// each variable is replaced by a number of its own length (valid bare or quoted), so the
/// position of a problem is the same in the format as given, and no key may appear twice in an
/// object.
fn check_json(source: &str) -> Result<(), FormatError> {
    let body = source.trim_start();
    let after_brace = body.strip_prefix('{').map(str::trim_start);
    let json_like =
        after_brace.is_some_and(|rest| rest.starts_with('"') || source.trim_end().ends_with('}'));
    if !json_like {
        return Ok(());
    }
    let mut filled = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("$context.") {
        filled.push_str(&rest[..at]);
        let name = var_name(&rest[at + 9..]);
        let len = 9 + name.len();
        filled.push('1');
        filled.extend(std::iter::repeat_n('0', len - 1));
        rest = &rest[at + len..];
    }
    filled.push_str(rest);
    match serde_json::from_str::<UniqueKeys>(&filled) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            Err(FormatError::NotJson {
                reason: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
                line: e.line(),
                column: e.column(),
            })
        }
    }
}

/// Any JSON value, refused when an object names a key twice (serde_json keeps the last).
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key {key:?} appears twice"
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
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
