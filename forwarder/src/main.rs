use std::process::ExitCode;

/// A batch's few large buffers are most of what a run touches; mimalloc backs them with huge pages
/// where the kernel offers them (see `BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
