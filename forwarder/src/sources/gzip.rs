//! Inflating a payload within a cap set by the function's memory: a gzip bomb is refused before
//! it is read, not after it filled the memory.

use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::DecodeError;

/// The CLI's cap on a decompressed payload, and the function's when it knows no memory size:
/// CloudWatch Logs batches are at most about 1 MB compressed, so anything bigger is corrupt or
/// hostile.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// What the function holds besides a batch, in MiB: the runtime, the SDK clients, TLS roots, the
/// event, allocator slack, and a margin so a batch at the cap stays clear of the limit.
pub const FUNCTION_BASE_MIB: usize = 48;

/// Peak bytes a batch costs per decompressed byte when every line is flagged: the payload itself,
/// its list of events, and a finding holding the text of each line. Measured at 2.6 to 2.9 for
/// default-format lines and at most 3 for the shortest (BENCHMARKS.md); 5 leaves room.
pub const PEAK_BYTES_PER_PAYLOAD_BYTE: usize = 5;

/// The smallest cap, for memory sizes too small for the formula: still a full CloudWatch Logs
/// batch of ordinary lines.
const MIN_CAP_MIB: usize = 4;

/// The inflate cap for a function with `memory_mb` of memory (Lambda's MB are MiB): what is left
/// after [`FUNCTION_BASE_MIB`], divided by [`PEAK_BYTES_PER_PAYLOAD_BYTE`], so a fully flagged
/// batch at the cap fits and a larger one is refused cleanly instead of killing the function.
/// 128 MB gives 16 MiB, 256 MB 41 MiB, 512 MB 92 MiB.
pub fn inflate_cap_for_memory(memory_mb: usize) -> usize {
    let mib = memory_mb.saturating_sub(FUNCTION_BASE_MIB) / PEAK_BYTES_PER_PAYLOAD_BYTE;
    mib.max(MIN_CAP_MIB) << 20
}

/// The inflate cap for the function, from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` as Lambda sets it:
/// [`MAX_DECOMPRESSED_BYTES`] when unset (not under Lambda), the smallest size's cap when it is
/// not a number.
pub fn inflate_cap_from_env(memory_size: Option<&str>) -> usize {
    match memory_size.map(|v| v.trim().parse::<usize>()) {
        None => MAX_DECOMPRESSED_BYTES,
        Some(Ok(mb)) => inflate_cap_for_memory(mb),
        Some(Err(_)) => inflate_cap_for_memory(128),
    }
}

/// The cap [`decode_data`](crate::sources::decode_data) and [`decode_event`](crate::sources::decode_event) inflate to. Process-wide because the function sets
/// it once at cold start and every decoding path below the handler must honour it.
static INFLATE_CAP: AtomicUsize = AtomicUsize::new(MAX_DECOMPRESSED_BYTES);

/// Sets the cap for every later [`decode_data`](crate::sources::decode_data) and [`decode_event`](crate::sources::decode_event).
pub fn set_inflate_cap(bytes: usize) {
    INFLATE_CAP.store(bytes, Ordering::Relaxed);
}

/// The cap [`decode_data`](crate::sources::decode_data) and [`decode_event`](crate::sources::decode_event) inflate to.
pub fn inflate_cap() -> usize {
    INFLATE_CAP.load(Ordering::Relaxed)
}

pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The FHCRC flag of a gzip header: a CRC-16 of the header follows it.
const GZIP_FHCRC: u8 = 0x02;

/// The common case in one call: a single gzip member (CloudWatch Logs writes one) whose trailer
/// states its size, inflated by libdeflate straight into a buffer of exactly that size. No
/// intermediate reader buffers, no zero-filling and no regrowth. `None` for anything else, which
/// the streaming decoder then reads or names: libdeflate checks the CRC and size in the trailer,
/// and all of the input must be that one member. A header with a CRC of its own is left to the
/// streaming decoder too, as libdeflate skips that CRC where zlib checks it.
fn inflate_whole(gz: &[u8], limit: usize) -> Option<Vec<u8>> {
    let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
    // Deflate expands at most about 1032:1, so a larger claim is a lie not worth reserving for.
    if size > limit || size > gz.len().saturating_mul(1032) || gz.get(3)? & GZIP_FHCRC != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    let written = GUNZIP
        .try_with(|gunzip| gunzip.as_ref()?.member_into(gz, &mut out))
        .ok()??;
    (written == size).then_some(out)
}

thread_local! {
    /// libdeflate keeps its decode tables (about 11 KiB) in a decompressor; one per thread, made on
    /// first use. `None` if it could not be allocated, and then every stream takes the streaming path.
    static GUNZIP: Option<Gunzip> = Gunzip::new();
}

/// An owned libdeflate decompressor, freed on drop. Not `Send`: it is used on one thread at a time.
struct Gunzip(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Gunzip {
    fn new() -> Option<Self> {
        // SAFETY: takes no arguments; returns an owned decompressor, or null if allocation failed.
        std::ptr::NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() }).map(Self)
    }

    /// Inflates `gz`, which must be exactly one gzip member with nothing after it, into the spare
    /// capacity of `out`, and extends `out` by what was written. Returns that many bytes, or `None`
    /// (with `out` unchanged) if the member is corrupt, does not fit, or is followed by more input.
    fn member_into(&self, gz: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let spare = out.spare_capacity_mut();
        let (mut used, mut written) = (0usize, 0usize);
        // SAFETY: `self.0` is a live decompressor (freed only on drop) that no other call is using:
        // `Gunzip` is neither `Send` nor `Sync`, and nothing here re-enters it. `gz.as_ptr()` is
        // valid for reads of `gz.len()` bytes, which libdeflate stays within. `spare` is the
        // allocation past `out.len()`, valid for writes of `spare.len()` bytes, which libdeflate
        // stays within; it takes an output buffer of any contents (like `read(2)`), so the bytes
        // there need not be initialised. `used` and `written` are valid for writes. On success
        // libdeflate has written the first `written` bytes of `spare` (at most its length, as
        // checked), so `set_len` covers only initialised bytes; on failure the length stays.
        unsafe {
            let result = libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                gz.as_ptr().cast(),
                gz.len(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                &mut used,
                &mut written,
            );
            if result != libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS
                || used != gz.len()
                || written > spare.len()
            {
                return None;
            }
            out.set_len(out.len() + written);
        }
        Some(written)
    }
}

impl Drop for Gunzip {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `libdeflate_alloc_decompressor` and is freed only here, once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

/// Gunzips `gz`, refusing output larger than `limit`. Memory stays within `limit`: a stream the
/// one-call path declines is first inflated into a small buffer only to count its size, so a gzip
/// bomb is refused at the cap having held a few KiB, and a good stream is then inflated into a
/// buffer of exactly its size.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
    if let Some(out) = inflate_whole(gz, limit) {
        return Ok(out);
    }
    // Several members, a trailer that lies, or a stream that is corrupt or too large: the streaming
    // decoder finds out which, and names it.
    inflate_streaming(gz, limit)
}

/// Gunzips every member of `gz` with flate2's streaming decoder: first only counting the output
/// (refused past `limit`), then into a buffer of exactly that size.
fn inflate_streaming(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let size = inflated_size(gz, limit)?;
    let mut out = Vec::with_capacity(size);
    flate2::read::MultiGzDecoder::new(gz)
        .take(size as u64)
        .read_to_end(&mut out)
        .map_err(gzip_error)?;
    Ok(out)
}

/// How many bytes `gz` inflates to, stopping as soon as that exceeds `limit`.
fn inflated_size(gz: &[u8], limit: usize) -> Result<usize, DecodeError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(gz);
    let mut scratch = vec![0u8; 64 << 10];
    let mut total = 0usize;
    loop {
        match decoder.read(&mut scratch).map_err(gzip_error)? {
            0 => return Ok(total),
            n => total += n,
        }
        if total > limit {
            return Err(DecodeError::TooLarge { limit });
        }
    }
}

fn gzip_error(e: io::Error) -> DecodeError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
        _ => DecodeError::Gzip(e),
    }
}

/// Gzips bytes in memory.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests;
