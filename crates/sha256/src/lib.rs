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
        self.digest_and_update_parts(&[data])
    }

    /// [`Sha256Stream::digest_and_update`] of the concatenation of `parts`, without concatenating
    /// them: a network body arrives in pieces of any length, and copying 512 KiB into one buffer to
    /// hash it costs a pass of its own. A chunk that straddles two parts is gathered into 64 bytes on
    /// the stack. One pass over the data whenever this stream is at a chunk boundary (as it is at
    /// the start of every EBS block); two otherwise.
    pub fn digest_and_update_parts<P: AsRef<[u8]>>(&self, parts: &[P]) -> ([u8; 32], Sha256Stream) {
        let mut continued = self.clone();
        let mut own = Sha256Stream::new();
        if self.pending_len != 0 {
            for part in parts {
                own.update(part.as_ref());
                continued.update(part.as_ref());
            }
            return (own.finish(), continued);
        }
        // Both states are at a chunk boundary, and stay at the same one: they are fed the same bytes.
        let mut carry = [0u8; CHUNK];
        let mut carry_len = 0;
        let mut length = 0u64;
        for part in parts {
            let mut data = part.as_ref();
            length += data.len() as u64;
            if carry_len > 0 {
                let take = (CHUNK - carry_len).min(data.len());
                carry[carry_len..carry_len + take].copy_from_slice(&data[..take]);
                carry_len += take;
                data = &data[take..];
                if carry_len < CHUNK {
                    continue;
                }
                compress_pair(&mut own.state, &mut continued.state, &[carry]);
            }
            let (chunks, rest) = data.as_chunks::<CHUNK>();
            compress_pair(&mut own.state, &mut continued.state, chunks);
            carry[..rest.len()].copy_from_slice(rest);
            carry_len = rest.len();
        }
        // What is left is less than a chunk, and the same for both.
        for stream in [&mut own, &mut continued] {
            stream.pending = carry;
            stream.pending_len = carry_len;
            stream.length += length;
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
        #[expect(unsafe_code, reason = "the SHA-NI intrinsics, after the CPU reported the extensions")]
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
