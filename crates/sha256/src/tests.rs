#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use super::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FIPS 180-4 examples (NIST CSRC, "Cryptographic Standards and Guidelines: Examples with
/// Intermediate Values", SHA-256): "abc", the two-block message, and the empty message.
#[test]
fn known_digests() {
    assert_eq!(hex(digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(
        hex(digest(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(hex(digest(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn the_constants_are_the_standard_ones() {
    assert_eq!((K[0], K[1], K[63]), (0x428a2f98, 0x71374491, 0xc67178f2));
    assert_eq!((H0[0], H0[7]), (0x6a09e667, 0x5be0cd19));
}

#[test]
fn an_ebs_block_and_the_image_around_it() {
    // 512 KiB blocks, as custody image feeds them: each block's digest and the whole stream's.
    let blocks: Vec<Vec<u8>> = (0..3u32)
        .map(|b| (0..524_288u32).map(|i| (i.wrapping_mul(2_654_435_761) >> (b + 7)) as u8).collect())
        .collect();
    let mut stream = Sha256Stream::new();
    let mut whole = Sha256::new();
    for block in &blocks {
        let (own, next) = stream.digest_and_update(block);
        assert_eq!(own[..], Sha256::digest(block)[..]);
        stream = next;
        whole.update(block);
    }
    assert_eq!(stream.len(), 3 * 524_288);
    assert_eq!(stream.finish()[..], whole.finalize()[..]);
}

#[test]
fn the_stream_is_unchanged_by_digest_and_update() {
    let mut stream = Sha256Stream::new();
    stream.update(&[7u8; 128]);
    let before = stream.clone().finish();
    let _ = stream.digest_and_update(&[1u8; 4096]);
    assert_eq!(stream.finish(), before);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_pair_matches_two_single_passes() {
    // Whichever path this CPU takes, compress_pair equals sha2's compress twice, from different
    // starting states.
    let data: Vec<u8> = (0..64 * 300u32).map(|i| (i * 31 + 7) as u8).collect();
    let (chunks, _) = data.as_chunks::<64>();
    let (mut a, mut b) = (H0, [1, 2, 3, 4, 5, 6, 7, 8]);
    let (mut a2, mut b2) = (a, b);
    compress_pair(&mut a, &mut b, chunks);
    sha2::block_api::compress256(&mut a2, chunks);
    sha2::block_api::compress256(&mut b2, chunks);
    assert_eq!((a, b), (a2, b2));
}

/// `data` cut at `cuts` (clamped to its length, in any order) into consecutive pieces.
fn pieces(data: &[u8], cuts: Vec<usize>) -> Vec<&[u8]> {
    let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        parts.push(&data[at..cut]);
        at = cut;
    }
    parts
}

proptest! {
    #[test]
    fn any_prefix_and_data_match_sha2(prefix in proptest::collection::vec(any::<u8>(), 0..300),
                                      data in proptest::collection::vec(any::<u8>(), 0..1100),
                                      whole_chunks in any::<bool>()) {
        // Half the cases are aligned (the one-pass path), half arbitrary (the two-pass path).
        let (prefix, data) = if whole_chunks {
            (&prefix[..prefix.len() / 64 * 64], &data[..data.len() / 64 * 64])
        } else {
            (&prefix[..], &data[..])
        };
        let mut stream = Sha256Stream::new();
        stream.update(prefix);
        let (own, continued) = stream.digest_and_update(data);
        prop_assert_eq!(&own[..], &Sha256::digest(data)[..]);
        let mut both = Sha256::new();
        both.update(prefix);
        both.update(data);
        prop_assert_eq!(continued.len(), (prefix.len() + data.len()) as u64);
        prop_assert_eq!(&continued.finish()[..], &both.finalize()[..]);
    }

    #[test]
    fn parts_in_any_pieces_match_sha2(prefix in proptest::collection::vec(any::<u8>(), 0..300),
                                      data in proptest::collection::vec(any::<u8>(), 0..2000),
                                      cuts in proptest::collection::vec(0usize..2000, 0..8),
                                      aligned_prefix in any::<bool>()) {
        // A block arriving in network pieces of any length, after an image prefix that is at a chunk
        // boundary (the one-pass path) or not (the two-pass path).
        let prefix = if aligned_prefix { &prefix[..prefix.len() / 64 * 64] } else { &prefix[..] };
        let parts = pieces(&data, cuts);
        let mut stream = Sha256Stream::new();
        stream.update(prefix);
        let (own, continued) = stream.digest_and_update_parts(&parts);
        prop_assert_eq!(&own[..], &Sha256::digest(&data)[..]);
        let mut both = Sha256::new();
        both.update(prefix);
        both.update(&data);
        prop_assert_eq!(continued.len(), (prefix.len() + data.len()) as u64);
        prop_assert_eq!(&continued.finish()[..], &both.finalize()[..]);
    }

    #[test]
    fn updates_in_any_pieces_match_sha2(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                        cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let mut stream = Sha256Stream::new();
        for piece in pieces(&data, cuts) {
            stream.update(piece);
        }
        prop_assert_eq!(&stream.finish()[..], &Sha256::digest(&data)[..]);
    }
}
