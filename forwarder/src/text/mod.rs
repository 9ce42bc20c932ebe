//! Text from logs and AWS, made safe to show and checked against the grammars AWS gives it.

pub mod escape;
pub mod shape;

/// Whether any byte of `bytes` is one `hit` picks, read in blocks of 64 with no branch inside a
/// block, which the compiler turns into vector compares: for passes over whole payloads and texts.
#[inline]
pub fn any_byte(bytes: &[u8], hit: impl Fn(u8) -> bool) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let found = chunks
        .by_ref()
        .any(|c| c.iter().fold(0u8, |acc, &x| acc | u8::from(hit(x))) != 0);
    found || chunks.remainder().iter().any(|&x| hit(x))
}
