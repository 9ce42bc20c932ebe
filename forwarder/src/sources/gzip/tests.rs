//! Unit tests of `gzip`: libdeflate against flate2, header checks, and the caps.

use super::*;

/// One member inflates in one call; anything else falls back to the streaming decoder, which
/// agrees on good input and names the problem in bad.
#[test]
fn whole_member_fast_path_and_its_fallbacks() {
    let text = b"line one\nline two\n".repeat(1000);
    let one = gzip(&text);
    assert_eq!(inflate_whole(&one, 1 << 20).as_deref(), Some(&text[..]));
    // Two members: the fast path declines, the stream decoder reads both.
    let two = [gzip(b"abc"), gzip(b"xyz")].concat();
    assert_eq!(inflate_whole(&two, 1 << 20), None);
    assert_eq!(inflate(&two, 1 << 20).unwrap(), b"abcxyz");
    // A trailer claiming another size, and a flipped CRC.
    let mut lying = one.clone();
    let n = lying.len();
    lying[n - 4] ^= 1;
    assert_eq!(inflate_whole(&lying, 1 << 20), None);
    assert!(inflate(&lying, 1 << 20).is_err());
    let mut bad_crc = one.clone();
    bad_crc[n - 8] ^= 1;
    assert_eq!(inflate_whole(&bad_crc, 1 << 20), None);
    assert!(matches!(
        inflate(&bad_crc, 1 << 20),
        Err(DecodeError::Gzip(_))
    ));
    // A trailer claiming more than deflate can expand to: declined without reserving it.
    let mut boast = gzip(b"x");
    let m = boast.len();
    boast[m - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(inflate_whole(&boast, usize::MAX), None);
    // Larger than the limit: declined, and refused by name.
    assert_eq!(inflate_whole(&one, 100), None);
    assert!(matches!(
        inflate(&one, 100),
        Err(DecodeError::TooLarge { .. })
    ));
    assert_eq!(inflate(&gzip(b""), 10).unwrap(), b"");
}

/// Today's gunzip before libdeflate, as the reference: flate2 (zlib-rs) inflates a lone
/// member in one call, and anything it declines goes to the same streaming path.
fn inflate_flate2(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
    let whole = (|| {
        let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
        let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
        if size > limit || size > gz.len().saturating_mul(1032) {
            return None;
        }
        let mut out = Vec::with_capacity(size);
        let mut inflater = flate2::Decompress::new_gzip(15);
        let status = inflater
            .decompress_vec(gz, &mut out, flate2::FlushDecompress::Finish)
            .ok()?;
        (status == flate2::Status::StreamEnd
            && inflater.total_in() == gz.len() as u64
            && out.len() == size)
            .then_some(out)
    })();
    match whole {
        Some(out) => Ok(out),
        None => inflate_streaming(gz, limit),
    }
}

/// `inflate` and the reference agree: the same bytes, or the same error.
fn agrees(gz: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let ours = inflate(gz, limit).map_err(|e| e.to_string());
    let theirs = inflate_flate2(gz, limit).map_err(|e| e.to_string());
    assert_eq!(ours, theirs, "{gz:02x?} limit {limit}");
    ours
}

fn gzip_at(bytes: &[u8], level: u32, header: u8) -> Vec<u8> {
    use std::io::Write;
    let mut builder = flate2::GzBuilder::new();
    if header & 1 != 0 {
        builder = builder.filename("access.log");
    }
    if header & 2 != 0 {
        builder = builder.comment("a comment");
    }
    if header & 4 != 0 {
        builder = builder.extra(vec![b'x'; 9]);
    }
    let mut enc = builder.write(Vec::new(), flate2::Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Every kind of stream, good and broken, inflates exactly as the flate2 path inflates it, and
/// output above the cap is refused by naming it.
#[test]
fn libdeflate_agrees_with_flate2() {
    use proptest::prelude::*;
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        // Few distinct bytes, repeated, so deflate finds matches and Huffman-codes them.
        (
            proptest::collection::vec(proptest::sample::select(&b"ab {}\n\"0"[..]), 0..300),
            1usize..40
        )
            .prop_map(|(unit, times)| unit.repeat(times)),
    ];
    proptest!(|(
        payload in payload,
        level in 0u32..=9,
        header in 0u8..8,
        shape in 0u8..6,
        at in any::<proptest::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 1..16),
        mask in 1u8..=255,
        limit in prop_oneof![Just(usize::MAX), any::<proptest::sample::Index>().prop_map(|i| i.index(8000))],
    )| {
        let one = gzip_at(&payload, level, header);
        let gz = match shape {
            0 => one,
            1 => {
                let cut = at.index(payload.len() + 1);
                [gzip_at(&payload[..cut], level, header), gzip_at(&payload[cut..], level, 0)].concat()
            }
            2 => [one, noise].concat(),
            3 => {
                let mut lying = one;
                let n = lying.len();
                lying[n - 4 + at.index(4)] ^= mask;
                lying
            }
            4 => {
                let mut cut = one;
                cut.truncate(at.index(cut.len()));
                cut
            }
            _ => {
                let mut flipped = one;
                let i = at.index(flipped.len());
                flipped[i] ^= mask;
                flipped
            }
        };
        let got = agrees(&gz, limit);
        if shape < 2 {
            if payload.len() > limit {
                prop_assert_eq!(got, Err(DecodeError::TooLarge { limit }.to_string()));
            } else {
                prop_assert_eq!(got, Ok(payload));
            }
        }
    });
}

/// A header CRC is checked, as zlib checks it, though libdeflate would skip it.
#[test]
fn a_header_crc_is_checked() {
    let text = b"one line\n".repeat(50);
    let plain = gzip(&text);
    let mut header = plain[..10].to_vec();
    header[3] |= GZIP_FHCRC;
    let mut crc = flate2::Crc::new();
    crc.update(&header);
    let good = [&header[..], &(crc.sum() as u16).to_le_bytes(), &plain[10..]].concat();
    assert_eq!(agrees(&good, 1 << 20).unwrap(), text);
    let bad = [
        &header[..],
        &(!crc.sum() as u16).to_le_bytes(),
        &plain[10..],
    ]
    .concat();
    assert!(agrees(&bad, 1 << 20).is_err());
}

/// Where the two differ, on purpose-built streams only: libdeflate reads litlen symbols 286
/// and 287 (and offset symbols 30 and 31) that deflate reserves and zlib refuses, and some
/// incomplete Huffman codes zlib refuses. Such a stream whose trailer matches what libdeflate
/// reads from it inflates where flate2 named it corrupt. No deflate encoder writes them.
#[test]
fn libdeflate_reads_reserved_symbols_zlib_refuses() {
    // One final fixed-Huffman block: literal 'a', then length symbol 286 (read by libdeflate
    // as length 258) at distance 1, then end of block.
    let mut bits: Vec<bool> = vec![true, true, false]; // BFINAL, BTYPE = 01 (LSB first)
    let mut code = |value: u32, len: u32| bits.extend((0..len).rev().map(|i| value >> i & 1 == 1));
    code(0x30 + u32::from(b'a'), 8);
    code(0xc0 + (286 - 280), 8);
    code(0, 5); // distance 1
    code(0, 7); // end of block
    let mut deflate = vec![0u8; bits.len().div_ceil(8)];
    for (i, &bit) in bits.iter().enumerate() {
        deflate[i / 8] |= u8::from(bit) << (i % 8);
    }
    let text = vec![b'a'; 259];
    let mut crc = flate2::Crc::new();
    crc.update(&text);
    let gz = [
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff][..],
        &deflate,
        &crc.sum().to_le_bytes(),
        &259u32.to_le_bytes(),
    ]
    .concat();
    assert_eq!(inflate(&gz, 1 << 20).unwrap(), text);
    assert!(matches!(
        inflate_flate2(&gz, 1 << 20),
        Err(DecodeError::Gzip(_))
    ));
}

#[test]
fn refuses_a_gzip_bomb() {
    let bomb = gzip(&vec![b' '; 2 << 20]);
    assert!(bomb.len() < 10_000);
    let err = inflate(&bomb, 1 << 20).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { limit } if limit == 1 << 20));
    assert_eq!(inflate(&bomb, 2 << 20).unwrap().len(), 2 << 20);
}

/// The caps docs/operations.md and BENCHMARKS.md state for each memory size.
#[test]
fn inflate_cap_follows_the_memory_size() {
    for (memory_mb, cap_mib) in [
        (128, 16),
        (256, 41),
        (512, 92),
        (1024, 195),
        (1769, 344),
        (10240, 2038),
        (64, 4),
    ] {
        assert_eq!(
            inflate_cap_for_memory(memory_mb),
            cap_mib << 20,
            "{memory_mb} MB"
        );
    }
    assert_eq!(inflate_cap_from_env(Some("128")), 16 << 20);
    assert_eq!(inflate_cap_from_env(Some("512")), 92 << 20);
    assert_eq!(inflate_cap_from_env(None), MAX_DECOMPRESSED_BYTES);
    assert_eq!(inflate_cap_from_env(Some("lots")), 16 << 20);
}

/// A bomb is refused at the cap with an error naming the cap, whatever its trailer claims,
/// and the count that finds it out holds only a small buffer.
#[test]
fn a_bomb_is_refused_by_naming_the_cap() {
    let cap = inflate_cap_for_memory(128);
    let bomb = gzip(&vec![b' '; cap + 1]);
    assert!(bomb.len() < cap / 500, "a bomb: {} bytes", bomb.len());
    let mut lying = bomb.clone();
    let n = lying.len();
    lying[n - 4..].copy_from_slice(&100u32.to_le_bytes());
    let two_members = [
        gzip(&vec![b' '; cap / 2 + 1]),
        gzip(&vec![b' '; cap / 2 + 1]),
    ]
    .concat();
    for gz in [&bomb, &lying, &two_members] {
        let e = inflate(gz, cap).unwrap_err();
        assert!(
            matches!(e, DecodeError::TooLarge { limit } if limit == cap),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "payload inflates to more than 16777216 bytes, the inflate cap (refused as a possible gzip bomb)"
        );
        assert!(matches!(
            inflated_size(gz, cap),
            Err(DecodeError::TooLarge { .. })
        ));
    }
    assert_eq!(inflate(&bomb, cap + 1).unwrap().len(), cap + 1);
    assert_eq!(inflate(&two_members, cap + 2).unwrap().len(), cap + 2);
}
