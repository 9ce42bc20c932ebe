use std::process::ExitCode;

/// A batch's few large buffers are most of what a run touches; mimalloc backs them with huge pages
/// where the kernel offers them (see `BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// As a Lambda function, no transparent huge pages. mimalloc asks for them on its arenas, and each
/// is zeroed whole when first touched: at 128 MB (7% of a core) the cold start paid for one before
/// `main`, and every batch again for the buffers the previous one had handed back, with the kernel
/// free to compact memory first. Small pages fault only what a batch touches, which also about
/// halves the function's peak memory. The CLI keeps huge pages: it reads files far larger than a
/// batch in one run.
///
/// This runs as a constructor, before `main` and before the allocator reserves its first arena
/// (strace shows the prctl ahead of mimalloc's first mapping), so not even the first page is a
/// huge one. The kernel checks the flag at each fault, so mimalloc's `MADV_HUGEPAGE` is moot.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NO_HUGE_PAGES_IN_LAMBDA: extern "C" fn() = no_huge_pages_in_lambda;

#[cfg(target_os = "linux")]
extern "C" fn no_huge_pages_in_lambda() {
    // SAFETY: getenv before any thread exists, with a NUL-terminated name; prctl with the
    // documented arguments of PR_SET_THP_DISABLE only changes this process's page policy.
    unsafe {
        if !libc::getenv(c"AWS_LAMBDA_RUNTIME_API".as_ptr()).is_null() {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
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
