//! What API Gateway writes when an authorizer fails, as the searchers that find it: the two
//! tokens and the phrases of its failure messages.

use std::sync::LazyLock;

use memchr::memmem;

/// The token API Gateway writes before the reason.
pub const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

/// The gateway response of an authorizer that ran and failed (REST and WebSocket APIs), logged by
/// `$context.error.responseType`.
pub const FAILURE_TOKEN: &str = "AUTHORIZER_FAILURE";

/// Both tokens start with it, so one search finds either.
pub(crate) const TOKEN_PREFIX: &str = "AUTHORIZER_";

/// One searcher for the tokens' prefix, built once: the tokens' positions in a candidate line.
pub(crate) static TOKEN_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(TOKEN_PREFIX));

/// What a line must hold somewhere to be worth reading: any of a few needles. One `memmem` searcher
/// each: they pick a needle's rarest bytes to skip ahead, which a shared automaton over the needles'
/// first bytes (common lower-case letters) cannot, and that keeps the 99% of lines without any
/// needle at the cost of the token search alone.
pub struct Needles(Vec<memmem::Finder<'static>>);

impl Needles {
    pub(crate) fn new(needles: &[&str]) -> Self {
        Needles(
            needles
                .iter()
                .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
                .collect(),
        )
    }

    /// Whether any needle is in `haystack`. No needle holds a character JSON escapes, so a
    /// message still escaped reads the same (see [`crate::sources::Message::escaped_contains`]).
    pub fn is_in(&self, haystack: &[u8]) -> bool {
        self.0.iter().any(|f| f.find(haystack).is_some())
    }

    /// A walk over `haystack` that finds the next needle from a position on, searching each
    /// needle's text only once however often it is asked.
    pub fn walk<'h>(&'h self, haystack: &'h [u8]) -> NeedleWalk<'h> {
        NeedleWalk {
            needles: self,
            haystack,
            next: vec![None; self.0.len()],
        }
    }
}

/// See [`Needles::walk`].
pub struct NeedleWalk<'h> {
    needles: &'h Needles,
    haystack: &'h [u8],
    /// Per needle: where its last search started, and where it found the needle (`usize::MAX`
    /// when nowhere after); `None` before the first search.
    next: Vec<Option<(usize, usize)>>,
}

impl NeedleWalk<'_> {
    /// Where the first needle at or after `from` starts, or `usize::MAX`.
    pub fn next_from(&mut self, from: usize) -> usize {
        let mut first = usize::MAX;
        for (finder, next) in self.needles.0.iter().zip(&mut self.next) {
            let at = match *next {
                // Nothing between `searched` and `at` holds the needle, so it still answers.
                Some((searched, at)) if searched <= from && at >= from => at,
                _ => {
                    let found = self
                        .haystack
                        .get(from..)
                        .and_then(|rest| finder.find(rest))
                        .map_or(usize::MAX, |p| p + from);
                    *next = Some((from, found));
                    found
                }
            };
            first = first.min(at);
        }
        first
    }
}

/// Access-log candidates: a line with either token, or a phrase of one of API Gateway's failure
/// messages, which an HTTP API writes without a token. Every access-log line, and every payload
/// walked by [`crate::sources::Payload::parse_candidates`], is searched with it.
pub(crate) static ACCESS_NEEDLES: LazyLock<Needles> = LazyLock::new(|| {
    let mut needles = vec![TOKEN_PREFIX];
    needles.extend(
        crate::model::cause::FAILURE_MESSAGES
            .iter()
            .map(|m| m.phrase),
    );
    Needles::new(&needles)
});

/// What a batch's events are searched for before anything is read, in either log: the access
/// log's needles, and the execution log's failure and exception lines ("configuration error" and
/// "ConfigurationException" share `onfiguration`). One search for both means a line of either
/// log in a group of the other is read and counted, never passed over as clean.
pub(crate) static CANDIDATE_NEEDLES: LazyLock<Needles> = LazyLock::new(|| {
    let mut needles = vec![TOKEN_PREFIX, "onfiguration"];
    needles.extend(
        crate::model::cause::FAILURE_MESSAGES
            .iter()
            .map(|m| m.phrase),
    );
    Needles::new(&needles)
});
