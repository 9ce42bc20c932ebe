//! The whole-process floor for `bench/run`: start, read an event file, base64-decode, inflate and
//! parse the payload into borrowed events, print the count, exit. No detection, no causes, no
//! rendering, no async runtime and no argument parser, so no forwarder of this design can finish
//! a batch as a process faster than this.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: floor EVENT_FILE")?;
    let bytes = std::fs::read(path)?;
    let payload = forwarder::decode::decode_event(&bytes)?;
    let batch = payload.parse()?;
    println!("{} events", batch.log_events.len());
    Ok(())
}
