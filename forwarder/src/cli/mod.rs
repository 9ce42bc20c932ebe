//! The command line: try the forwarder on sample logs, check logs in a pipeline, publish for real.

mod args;
mod check;
mod doctor;
mod encode;
mod input;
mod preflight;
mod report;
mod scan;
mod stdout;

use std::process::ExitCode;

use clap::Parser;

use crate::text::escape::visible;
pub use args::{
    CheckArgs, Cli, Command, DoctorArgs, EncodeArgs, Output, PreflightArgs, ScanArgs, Settings,
};
use check::check;
use doctor::doctor;
use encode::encode;
use preflight::preflight;
use scan::scan;
pub use stdout::{EXIT_CLEAN, EXIT_ERROR, EXIT_FLAGGED};

/// Parses arguments and runs; errors print as one line.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Boxed: the SDK futures are deep, and one inline state machine for all of them would be
        // too large for the compiler's layout limit and for the stack.
        Command::Scan(args) => Box::pin(scan(args)).await,
        Command::Doctor(args) => Box::pin(doctor(args)).await,
        Command::Check(args) => Box::pin(check(args)).await,
        Command::Preflight(args) => Box::pin(preflight(args)).await,
        Command::Encode(args) => encode(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("forwarder: {}", visible(&format!("{e:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
