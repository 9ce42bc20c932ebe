//! The one binary: the Lambda handler when Lambda runs it, the command line otherwise. It only
//! picks which and hands over to the library ([`forwarder::lambda`], [`forwarder::cli`]).

use std::process::ExitCode;

/// A batch's few large buffers are most of what a run touches; mimalloc keeps them in arenas it
/// reuses across batches (see `BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages. mimalloc asks for them on its arenas, and each is zeroed whole when
/// first touched: at 128 MB (7% of a core) the function's cold start paid for one before `main`,
/// and every batch again for the buffers the previous one had handed back, with the kernel free
/// to compact memory first. The CLI scanning ten events held 40 MiB that way, against 26 MiB with
/// small pages, in the same time. Small pages fault only what a batch touches.
///
/// This runs as a constructor, before `main` and before the allocator reserves its first arena
/// (strace shows the prctl ahead of mimalloc's first mapping), so not even the first page is a
/// huge one. The kernel checks the flag at each fault, so mimalloc's `MADV_HUGEPAGE` is moot.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NO_HUGE_PAGES: extern "C" fn() = no_huge_pages;

#[cfg(target_os = "linux")]
extern "C" fn no_huge_pages() {
    forwarder::no_huge_pages();
}

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
