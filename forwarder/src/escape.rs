//! Making text that came from a log line safe to show.
//!
//! Error texts and routes are written by API Gateway, but a route or path can carry what a client
//! sent, so every piece of log text is treated as hostile: no terminal escape sequences, no
//! invisible direction overrides, no Slack mentions or links.

use std::borrow::Cow;

/// Characters that would move the cursor, recolour a terminal or reorder text on screen.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces control and bidi characters with a visible `\u{..}` escape, for terminals and email.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Log text as an inline code span for chat markdown (AWS Chatbot `client-markdown`, rendered by
/// Slack). Inside a code span `*`, `_` and `~` lose their meaning; a backtick would end the span, so
/// it becomes a straight quote; `&`, `<` and `>` are escaped as Slack requires, which disarms
/// `<!channel>` mentions and `<http://...|label>` links
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>).
pub fn chat_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('`');
    for c in visible(s).chars() {
        match c {
            '`' => out.push('\''),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

/// Our own text for chat markdown, where only the Slack control characters need escaping.
pub fn chat_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}...", &s[..end]))
}

/// Printable ASCII only, for SNS subjects and message attributes.
pub fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_become_visible() {
        assert_eq!(visible("plain"), "plain");
        assert_eq!(visible("a\x1b[31mred\x07"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(visible("x\u{202E}y\nz"), "x\\u{202e}y\\u{a}z");
    }

    #[test]
    fn chat_code_disarms_markdown_and_mentions() {
        let cases = [
            ("<!channel> hi", "`&lt;!channel&gt; hi`"),
            ("<http://evil|click>", "`&lt;http://evil|click&gt;`"),
            ("*bold* `code` _it_", "`*bold* 'code' _it_`"),
            ("a & b", "`a &amp; b`"),
            ("\x1b[2J", "`\\u{1b}[2J`"),
        ];
        for (input, expected) in cases {
            assert_eq!(chat_code(input), expected);
        }
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("日本語のテキスト", 10), "日本...");
        assert!(truncate(&"x".repeat(100), 10).len() <= 10);
    }

    #[test]
    fn ascii_replaces_everything_else() {
        assert_eq!(ascii("ok é\n"), "ok ??");
    }
}
