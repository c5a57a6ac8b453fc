//! Two SHA-256 states over the same chunks with the x86 SHA extensions (Intel, "Intel SHA
//! Extensions", 2013: SHA256RNDS2 does two rounds on a state held as (ABEF, CDGH); SHA256MSG1 and
//! SHA256MSG2 compute the message schedule four words at a time).
//!
//! The message schedule depends only on the data, so it is computed once for both states; the round
//! instructions of the two states alternate, so each runs while the other waits on its previous
//! result. Everything here is safe code inside `#[target_feature]` functions; the one call in needs
//! the CPU check (`available`).

use crate::K;
use std::arch::x86_64::*;

/// True when this CPU has what [`compress_pair`] is compiled for.
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1")
}

/// One state as the SHA instructions hold it: words (A, B, E, F) and (C, D, G, H).
#[derive(Clone, Copy)]
struct Lanes {
    abef: __m128i,
    cdgh: __m128i,
}

#[target_feature(enable = "sha,sse4.1")]
fn unpack(s: &[u32; 8]) -> Lanes {
    // _mm_set_epi32 takes the highest lane first.
    let abef = _mm_set_epi32(s[0] as i32, s[1] as i32, s[4] as i32, s[5] as i32);
    let cdgh = _mm_set_epi32(s[2] as i32, s[3] as i32, s[6] as i32, s[7] as i32);
    Lanes { abef, cdgh }
}

#[target_feature(enable = "sha,sse4.1")]
fn pack(lanes: Lanes, s: &mut [u32; 8]) {
    let Lanes { abef, cdgh } = lanes;
    *s = [
        _mm_extract_epi32(abef, 3) as u32,
        _mm_extract_epi32(abef, 2) as u32,
        _mm_extract_epi32(cdgh, 3) as u32,
        _mm_extract_epi32(cdgh, 2) as u32,
        _mm_extract_epi32(abef, 1) as u32,
        _mm_extract_epi32(abef, 0) as u32,
        _mm_extract_epi32(cdgh, 1) as u32,
        _mm_extract_epi32(cdgh, 0) as u32,
    ];
}

/// Message words `4i … 4i+3` of `chunk`, big-endian, word `4i` in the lowest lane.
#[target_feature(enable = "sha,sse4.1")]
fn words(chunk: &[u8; 64], i: usize) -> __m128i {
    let w = |j: usize| {
        let at = 4 * (4 * i + j);
        u32::from_be_bytes([chunk[at], chunk[at + 1], chunk[at + 2], chunk[at + 3]]) as i32
    };
    _mm_set_epi32(w(3), w(2), w(1), w(0))
}

/// Rounds `4g … 4g+3` of both states, with the message words `w` of that group.
#[inline]
#[target_feature(enable = "sha,sse4.1")]
fn four_rounds(g: usize, w: __m128i, states: &mut [Lanes; 2]) {
    let k = _mm_set_epi32(K[4 * g + 3] as i32, K[4 * g + 2] as i32, K[4 * g + 1] as i32, K[4 * g] as i32);
    let wk = _mm_add_epi32(w, k);
    // SHA256RNDS2 takes its two words from the low half; the next two are moved down.
    let wk_next = _mm_shuffle_epi32(wk, 0x0E);
    let [a, b] = states;
    a.cdgh = _mm_sha256rnds2_epu32(a.cdgh, a.abef, wk);
    b.cdgh = _mm_sha256rnds2_epu32(b.cdgh, b.abef, wk);
    a.abef = _mm_sha256rnds2_epu32(a.abef, a.cdgh, wk_next);
    b.abef = _mm_sha256rnds2_epu32(b.abef, b.cdgh, wk_next);
}

/// Both states advanced over `chunks`.
#[target_feature(enable = "sha,sse4.1")]
pub fn compress_pair(a: &mut [u32; 8], b: &mut [u32; 8], chunks: &[[u8; 64]]) {
    let mut states = [unpack(a), unpack(b)];
    for chunk in chunks {
        let before = states;
        // w[g % 4] holds the words of group g: groups 0-3 from the chunk, then
        // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], four words at a time.
        let mut w = [words(chunk, 0), words(chunk, 1), words(chunk, 2), words(chunk, 3)];
        for (g, group) in w.iter().enumerate() {
            four_rounds(g, *group, &mut states);
        }
        for g in 4..16 {
            let (w16, w12, w8, w4) = (w[g % 4], w[(g + 1) % 4], w[(g + 2) % 4], w[(g + 3) % 4]);
            let next =
                _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w16, w12), _mm_alignr_epi8(w4, w8, 4)), w4);
            w[g % 4] = next;
            four_rounds(g, next, &mut states);
        }
        for (state, start) in states.iter_mut().zip(before) {
            state.abef = _mm_add_epi32(state.abef, start.abef);
            state.cdgh = _mm_add_epi32(state.cdgh, start.cdgh);
        }
    }
    pack(states[0], &mut *a);
    pack(states[1], &mut *b);
}
