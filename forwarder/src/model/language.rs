//! The language of an alert's text, which the cause's words and the remedies follow.

use std::fmt;

/// Language of the email and chat text. Subjects stay English: SNS requires ASCII there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::En => "en",
            Language::Ja => "ja",
        })
    }
}
