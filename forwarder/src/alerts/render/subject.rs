//! Subjects within SNS's rules whatever the label and the cause, and the label as alerts show it.

use crate::alerts::group::Group;
use crate::config::Config;
use crate::text::escape::{ascii, truncate};

/// SNS wants a subject of fewer than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// The label as shown: `ALERT_LABEL` allows 40 characters, other paths are cut here.
const MAX_LABEL_BYTES: usize = 40;

/// A subject keeps at least this much of its label before the cause words are shortened.
const MIN_SUBJECT_LABEL: usize = 8;

/// The configured label as subjects and bodies show it: printable ASCII, bounded.
pub(crate) fn label(config: &Config) -> Option<String> {
    let label = ascii(config.label.as_deref()?.trim());
    (!label.is_empty()).then(|| truncate(&label, MAX_LABEL_BYTES).into_owned())
}

/// `[label] API authorizer misconfigured: missing invoke permission (12x)`: printable ASCII, fewer
/// than 100 characters, and always ending with the count, which is what a reader needs most.
pub fn subject(group: &Group, label: Option<&str>) -> String {
    fit_subject(
        label,
        group.cause.subject_lead(),
        group.cause.subject_words(),
        &format!(" ({}x)", group.count),
    )
}

/// `[label] ` + `lead` + `words` + `tail` within [`MAX_SUBJECT_CHARS`]: the tail is kept whole, the
/// label is shortened first (down to [`MIN_SUBJECT_LABEL`]), then the lead and words, then the
/// rest of the label. Any label is made printable ASCII; one that is empty then is left out.
pub(crate) fn fit_subject(label: Option<&str>, lead: &str, words: &str, tail: &str) -> String {
    let tail = ascii(tail);
    let body = ascii(&format!("{lead}{words}"));
    let label = label.map(|l| ascii(l.trim())).unwrap_or_default();
    let label = label.trim();
    // Room for the label's text once the brackets and the space are counted.
    let room = MAX_SUBJECT_CHARS.saturating_sub(body.len() + tail.len() + 3);
    let label_len = label
        .len()
        .min(room.max(MIN_SUBJECT_LABEL))
        .min(MAX_SUBJECT_CHARS.saturating_sub(tail.len() + 3));
    let mut s = String::with_capacity(MAX_SUBJECT_CHARS);
    let shown = label[..label_len].trim_end();
    if !shown.is_empty() {
        s.push('[');
        s.push_str(shown);
        s.push_str("] ");
    }
    let body_room = MAX_SUBJECT_CHARS.saturating_sub(s.len() + tail.len());
    s.push_str(body[..body.len().min(body_room)].trim_end());
    s.push_str(&tail);
    s.truncate(MAX_SUBJECT_CHARS);
    s
}
