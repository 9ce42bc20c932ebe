//! The whole-process floor for `bench/run`: start, read the event files, base64-decode and inflate
//! each payload on as many threads as there are cores (as `forwarder scan` does), print how many
//! bytes they inflated to, exit. No parse, no detection, no causes, no rendering, no async runtime
//! and no argument parser: no forwarder of any design finishes these events as a process faster.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::atomic::{AtomicUsize, Ordering};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Page policy as the forwarder ships it.
    forwarder::no_huge_pages();
    let paths: Vec<_> = std::env::args_os().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: floor EVENT_FILE...".into());
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(paths.len());
    let (next, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let work = || -> Result<(), String> {
        while let Some(path) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let payload = forwarder::sources::decode_event(&bytes).map_err(|e| e.to_string())?;
            total.fetch_add(payload.len(), Ordering::Relaxed);
        }
        Ok(())
    };
    if workers == 1 {
        work()?;
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("a floor thread does not panic"))
        })?;
    }
    println!("{} bytes inflated", total.load(Ordering::Relaxed));
    Ok(())
}
