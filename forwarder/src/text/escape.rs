//! Making text that came from a log line safe to show.
//!
//! Error texts and routes are written by API Gateway, but a route or path can carry what a client
//! sent, so every piece of log text is treated as hostile: no terminal escape sequences, no fake
//! line breaks, no invisible direction overrides or zero-width characters, no Slack mentions or
//! links. [`is_unsafe`] decides which characters those are, for every place text is shown.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that could fake structure or hide text when shown: controls (C0, DEL, C1 with
/// U+0085), line and paragraph separators, every format (Cf) character (bidi controls and
/// isolates, zero-width characters, BOM, tags, interlinear annotations) and every other
/// default-ignorable code point (variation selectors, Hangul fillers, soft hyphen), which
/// renderers draw as nothing.
///
/// The one list every display of log text goes through: [`visible`], [`chat_code`],
/// [`chat_text`], [`chat_block`], [`json_safe`].
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Replaces every [`is_unsafe`] character with a visible `\u{..}` escape, for terminals, email
/// and subjects of chat code spans.
pub fn visible(s: &str) -> Cow<'_, str> {
    escape_unsafe(s, |_| false)
}

/// Whether `s` may hold an [`is_unsafe`] character: printable ASCII never is one, and a pass over
/// bytes (vector compares) clears most text without decoding a character.
fn may_hold_unsafe(s: &str) -> bool {
    super::any_byte(s.as_bytes(), |b| !(0x20..0x7f).contains(&b))
}

/// [`visible`], but keeping the characters `keep` accepts.
fn escape_unsafe(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) && !keep(c);
    if !may_hold_unsafe(s) || !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Log text as an inline code span for chat markdown (`client-markdown` of Amazon Q Developer in
/// chat applications, rendered by Slack). Inside a code span `*`, `_` and `~` lose their meaning; a
/// backtick would end the span, so it becomes a straight quote; `&`, `<` and `>` are escaped as
/// Slack requires, which disarms `<!channel>` mentions and `<http://...|label>` links
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>).
pub fn chat_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('`');
    push_slack_escaped(&mut out, &visible(s));
    out.push('`');
    out
}

/// A command as a chat code block: like [`chat_code`], with a line break of our own allowed.
pub fn chat_block(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 6);
    out.push_str("```");
    push_slack_escaped(&mut out, &escape_unsafe(s, |c| c == '\n'));
    out.push_str("```");
    out
}

/// Backticks become quotes (they would end a code span or block); `&`, `<`, `>` are escaped.
fn push_slack_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '`' => out.push('\''),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Our own text for chat markdown: Slack's control characters are escaped, and so is every
/// [`is_unsafe`] character but the line breaks our text is laid out with. Log text inside it must
/// already have gone through [`visible`], which leaves no line break of its own.
pub fn chat_text(s: &str) -> String {
    escape_unsafe(s, |c| c == '\n')
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Serialised JSON with every [`is_unsafe`] character written as a `\uXXXX` escape: the same
/// document to a parser, so programs still get the exact text, but nothing raw for a person who
/// reads the message in a terminal, a log or a queue's console. serde_json writes non-ASCII
/// characters only inside strings, where `\uXXXX` means the character itself.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if !may_hold_unsafe(json) || !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // Inside strings serde_json has escaped the ASCII controls but DEL; outside them, line
        // breaks and tabs are a pretty printer's layout and stay.
        if is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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
/// One of each class that can fake a line, hide text or reorder it on screen.
pub(crate) const DANGEROUS: [char; 30] = [
    '\u{0}',
    '\u{7}',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{9b}',
    '\u{2028}',
    '\u{2029}',
    '\u{61c}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202e}',
    '\u{2066}',
    '\u{2069}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{2060}',
    '\u{180e}',
    '\u{feff}',
    '\u{ad}',
    '\u{fe0f}',
    '\u{e0041}',
    '\u{fff9}',
    '\u{3164}',
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dangerous_class_is_unsafe() {
        for c in DANGEROUS {
            assert!(is_unsafe(c), "U+{:04X}", c as u32);
        }
        for c in ['a', ' ', 'é', '日', '→', '•', '\u{a0}', '😀', '\u{2010}'] {
            assert!(!is_unsafe(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn terminal_escapes_become_visible() {
        let cases = [
            ("plain", "plain"),
            ("a\x1b[31mred\x07", "a\\u{1b}[31mred\\u{7}"),
            ("x\u{202E}y\nz", "x\\u{202e}y\\u{a}z"),
            ("ok\u{2028}Subject: fake", "ok\\u{2028}Subject: fake"),
            ("a\u{2029}b\u{85}c", "a\\u{2029}b\\u{85}c"),
            ("\u{61c}\u{feff}\u{200b}", "\\u{61c}\\u{feff}\\u{200b}"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
        ];
        for (input, expected) in cases {
            assert_eq!(visible(input), expected, "{input:?}");
        }
    }

    #[test]
    fn chat_code_disarms_markdown_and_mentions() {
        let cases = [
            ("<!channel> hi", "`&lt;!channel&gt; hi`"),
            ("<http://evil|click>", "`&lt;http://evil|click&gt;`"),
            ("*bold* `code` _it_", "`*bold* 'code' _it_`"),
            ("a & b", "`a &amp; b`"),
            ("\x1b[2J", "`\\u{1b}[2J`"),
            ("x\u{2028}*fake*", "`x\\u{2028}*fake*`"),
        ];
        for (input, expected) in cases {
            assert_eq!(chat_code(input), expected);
        }
    }

    #[test]
    fn chat_text_and_blocks_keep_only_our_line_breaks() {
        assert_eq!(chat_text("a\nb <!here>"), "a\nb &lt;!here&gt;");
        assert_eq!(chat_text("a\u{2028}b\u{202e}"), "a\\u{2028}b\\u{202e}");
        assert_eq!(chat_block("aws x `y`\u{200b}"), "```aws x 'y'\\u{200b}```");
    }

    #[test]
    fn json_safe_keeps_the_value_and_drops_the_raw_characters() {
        let hostile: String = DANGEROUS.iter().collect::<String>() + "tail";
        let value = serde_json::json!({"text": hostile, "list": [hostile.clone()]});
        for json in [
            value.to_string(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let safe = json_safe(&json);
            assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back, value);
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
        assert_eq!(ascii("ok é\n\u{2028}"), "ok ???");
    }

    proptest::proptest! {
        /// The byte pass never clears text that holds an unsafe character.
        #[test]
        fn the_byte_pass_clears_only_safe_text(s in "\\PC*|[\\x00-\\x{9f}\\x{2028}\\x{202e}\\x{200b}\\x{feff}a`<>&]{0,80}|[ -~]{0,200}") {
            proptest::prop_assert!(may_hold_unsafe(&s) || !s.chars().any(is_unsafe));
        }

        #[test]
        fn nothing_unsafe_survives(s in "\\PC*|[\\x00-\\x{9f}\\x{2028}\\x{202e}\\x{200b}\\x{feff}a`<>&]{0,64}") {
            proptest::prop_assert!(!visible(&s).chars().any(is_unsafe));
            proptest::prop_assert!(!chat_code(&s).chars().any(is_unsafe));
            proptest::prop_assert!(!chat_text(&s).chars().any(|c| is_unsafe(c) && c != '\n'));
        }
    }
}
