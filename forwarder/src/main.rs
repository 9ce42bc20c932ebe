use std::process::ExitCode;

/// Lambda sets `AWS_LAMBDA_RUNTIME_API`; anywhere else this binary is the CLI.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        match Box::pin(forwarder::lambda::run()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("forwarder: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        Box::pin(forwarder::cli::main()).await
    }
}
