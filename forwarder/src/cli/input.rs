//! Reading a file or standard input, for the commands that take lines or events.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

pub(super) fn read_input(path: Option<&PathBuf>) -> Result<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            bytes = std::fs::read(p).with_context(|| format!("{name}: cannot read"))?;
            Ok((name, bytes))
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("<stdin>: cannot read")?;
            Ok(("<stdin>".to_owned(), bytes))
        }
    }
}

/// With nothing named and a terminal for standard input, a read would wait without a word.
pub(super) fn refuse_terminal(command: &str, paths_given: bool) -> Result<()> {
    use std::io::IsTerminal;
    if !paths_given && std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "nothing to read: usage: forwarder {command} [FILE]... (or pipe lines in; `-` reads standard input; --help says more)"
        ));
    }
    Ok(())
}
