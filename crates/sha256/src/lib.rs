//! SHA-256 of a stream and of each block fed to it, in one pass over the data.
//!
//! `custody image` needs two SHA-256s of every byte it downloads: the block's own, to check it
//! against the checksum AWS sends with the block, and the whole image's, fed in order. Computed one
//! after the other, they cost two passes. Both hash the same 64-byte chunks (an EBS block is 512 KiB,
//! so the image stream is at a chunk boundary whenever a block starts), so the message schedule is
//! shared and only the rounds differ: [`Sha256Stream::digest_and_update`] advances both states
//! together. On x86-64 with the SHA extensions the two states' round instructions are interleaved,
//! each running while the other waits on its previous result; elsewhere (or without the extensions)
//! it falls back to two passes of the `sha2` crate. The result is the same either way, which the
//! tests check against `sha2` over random data.

#[cfg(target_arch = "x86_64")]
mod ni;

/// FIPS 180-4 §4.2.2 and §5.3.3: the round constants and the initial hash value, computed from
/// the primes they are defined by rather than typed in.
mod constants;
pub use constants::{H0, K};

/// Bytes in a SHA-256 message block.
const CHUNK: usize = 64;

/// A SHA-256 fed in order.
#[derive(Clone, Debug)]
pub struct Sha256Stream {
    state: [u32; 8],
    /// Bytes fed that do not fill a chunk yet.
    pending: [u8; CHUNK],
    pending_len: usize,
    /// Bytes fed in all.
    length: u64,
}

impl Default for Sha256Stream {
    fn default() -> Self {
        Sha256Stream::new()
    }
}

impl Sha256Stream {
    pub fn new() -> Self {
        Sha256Stream { state: H0, pending: [0; CHUNK], pending_len: 0, length: 0 }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u64;
        if self.pending_len > 0 {
            let take = (CHUNK - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < CHUNK {
                return;
            }
            sha2::block_api::compress256(&mut self.state, &[self.pending]);
            self.pending_len = 0;
        }
        let (chunks, rest) = data.as_chunks::<CHUNK>();
        sha2::block_api::compress256(&mut self.state, chunks);
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The digest: the padding of FIPS 180-4 §5.1.1 (a 1 bit, zeros, the length in bits as a
    /// 64-bit big-endian number), then the state's words, big-endian.
    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        let mut tail = [0u8; 2 * CHUNK];
        tail[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        tail[self.pending_len] = 0x80;
        let tail_len = if self.pending_len < CHUNK - 8 { CHUNK } else { 2 * CHUNK };
        tail[tail_len - 8..tail_len].copy_from_slice(&bits.to_be_bytes());
        let (chunks, _) = tail[..tail_len].as_chunks::<CHUNK>();
        sha2::block_api::compress256(&mut self.state, chunks);
        let mut out = [0u8; 32];
        for (bytes, word) in out.as_chunks_mut::<4>().0.iter_mut().zip(self.state) {
            *bytes = word.to_be_bytes();
        }
        out
    }

    /// `data`'s own SHA-256, and this stream continued with `data`; `self` is left as it was, so a
    /// caller that rejects `data` (its digest is not what AWS said) has nothing to undo. One pass
    /// over `data` when the stream is at a chunk boundary and `data` is whole chunks, as an EBS
    /// block always is; two otherwise.
    pub fn digest_and_update(&self, data: &[u8]) -> ([u8; 32], Sha256Stream) {
        let mut continued = self.clone();
        let mut own = Sha256Stream::new();
        let (chunks, rest) = data.as_chunks::<CHUNK>();
        if self.pending_len == 0 && rest.is_empty() {
            compress_pair(&mut own.state, &mut continued.state, chunks);
            own.length = data.len() as u64;
            continued.length += data.len() as u64;
        } else {
            own.update(data);
            continued.update(data);
        }
        (own.finish(), continued)
    }
}

/// SHA-256 of `data`.
pub fn digest(data: &[u8]) -> [u8; 32] {
    let mut stream = Sha256Stream::new();
    stream.update(data);
    stream.finish()
}

/// Both states advanced over `chunks`.
fn compress_pair(a: &mut [u32; 8], b: &mut [u32; 8], chunks: &[[u8; CHUNK]]) {
    #[cfg(target_arch = "x86_64")]
    if ni::available() {
        // SAFETY: `ni::compress_pair` needs the SHA and SSE4.1 extensions, and `ni::available`
        // has just checked that this CPU has both. This is the crate's only unsafe code.
        #[allow(unsafe_code)]
        unsafe {
            ni::compress_pair(a, b, chunks)
        };
        return;
    }
    sha2::block_api::compress256(a, chunks);
    sha2::block_api::compress256(b, chunks);
}

#[cfg(test)]
mod tests;
