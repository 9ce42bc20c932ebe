//! Where an alert leads: its problem's chat thread, its own notification id and its log group in
//! the console, each the same across batches and builds.

use crate::alerts::group::Group;
use crate::text::escape::ascii;
use crate::text::shape;

/// A thread id longer than this ends in a digest of the whole key instead.
pub(super) const MAX_THREAD_BYTES: usize = 128;

/// The chat thread of a problem: its flood-control key (the API, else the log group, in its
/// account), so every alert about it, whatever the batch, the cause and the log that saw it, and
/// however its message was trimmed, and the note that it is over land in one thread
/// (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>).
pub fn thread_id(key: &str) -> String {
    let shown = ascii(key);
    if shown.len() <= MAX_THREAD_BYTES && shown == key {
        return shown;
    }
    // Cut on a character boundary of printable ASCII, and told apart by the digest of the key.
    format!(
        "{}~{:016x}",
        &shown[..shown.len().min(MAX_THREAD_BYTES - 17)],
        fnv1a(key.as_bytes())
    )
}

/// One notification's id: its thread and a digest of what it reports, its first line's event id
/// above all, so a batch delivered again gives the same id and another batch of the same problem
/// a new one, even with no request ids kept.
pub(super) fn event_id(thread: &str, g: &Group) -> String {
    let mut seen = Vec::new();
    for part in [
        g.first_event_id.as_deref().unwrap_or(""),
        g.log_group.as_deref().unwrap_or(""),
        g.count.to_string().as_str(),
        g.first_seen.as_deref().unwrap_or(""),
        g.last_seen.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .chain(g.sample_request_ids.iter().map(String::as_str))
    {
        seen.extend_from_slice(part.as_bytes());
        seen.push(0);
    }
    format!("{thread}#{:016x}", fnv1a(&seen))
}

/// FNV-1a, 64 bits (<http://www.isthe.com/chongo/tech/comp/fnv/>): a digest that stays the same
/// across builds and releases, which thread and event ids need and the standard hasher does not
/// promise.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A CloudWatch console link to the log group (the console encodes `%` as `$25`). Every byte but
/// `[A-Za-z0-9._-]` of the group is percent-encoded; a region without its shape, or a group longer
/// than CloudWatch Logs allows (512), gives no link.
pub fn console_url(region: Option<&str>, log_group: Option<&str>) -> Option<String> {
    let region = region.filter(|r| shape::is_region(r))?;
    let group = log_group.filter(|g| (1..=512).contains(&g.len()))?;
    let mut encoded = String::new();
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("$25{b:02X}"));
        }
    }
    Some(format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{encoded}"
    ))
}
