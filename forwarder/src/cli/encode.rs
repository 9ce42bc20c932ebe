//! `encode`: log lines wrapped into the subscription event a filter would hand the function.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::args::{EncodeArgs, log_group_flag};
use super::input::{read_input, refuse_terminal};
use super::stdout::{Closable, EXIT_CLEAN};
use crate::sources;

pub(super) fn encode(args: EncodeArgs) -> Result<u8> {
    refuse_terminal("encode", args.path.is_some())?;
    log_group_flag(&args.log_group)?;
    let (name, bytes) = read_input(args.path.as_ref())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(anyhow!("{name}: no lines to encode (the input is empty)"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{name}: input is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let start = args.timestamp.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let event = sources::encode_event(&text, &args.log_group, &args.log_stream, &args.owner, start);
    let mut out = Closable::stdout();
    writeln!(out, "{event}")?;
    Ok(EXIT_CLEAN)
}
