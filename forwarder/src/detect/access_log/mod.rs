//! Access-log formats and lines.
//!
//! Users configure the stage's access log with a format string of `$context` variables
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>).
//! Given the same string, [`LogFormat`] splits a line back into its variables, so the detector knows
//! which part API Gateway wrote and which part a client sent.
//!
//! A client-controlled value (a path, a user agent) can hold anything, the format's own separators
//! included, so one line can have several splits. The splitter does not pick one and hope: it runs
//! the format as an automaton over the line once forwards and once backwards, which gives, at every
//! byte, the variables that byte can belong to in *some* split. A token counts as API Gateway's only
//! when every split puts it in an error variable; when some split does and some does not, the line
//! is ambiguous and is reported as not following the format. Time and memory are linear in the
//! line's length, whatever it holds.

mod automaton;
mod fields;
mod format;
mod presets;
mod self_check;
mod vars;

pub use automaton::{Place, Scratch, Split};
pub use fields::{Fields, Slot, guess_var_for_key, is_error_name};
pub use format::{FormatError, LogFormat};
pub use presets::{
    CONSOLE_PRESETS, DEFAULT_FORMAT, PRESET_FORMATS, Preset, RECOMMENDED_FORMAT,
    RECOMMENDED_JSON_FORMAT,
};
pub use vars::Var;

#[cfg(test)]
mod tests;
