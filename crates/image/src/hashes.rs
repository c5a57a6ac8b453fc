//! Whole-image hashes, fed in image order.
//!
//! SHA-256 always; MD5 and SHA-1 only when asked (some examination tools still expect them). Holes
//! are hashed from one static block of zeros: SHA-256 has no shortcut for a run of zeros, but feeding
//! it from memory costs CPU only — no read, no allocation, no write.

use custody_cloud::ebs::BLOCK_SIZE;
use custody_sha256::Sha256Stream;
use md5::Digest as _;
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha1::Sha1;

static ZERO_BLOCK: [u8; BLOCK_SIZE as usize] = [0; BLOCK_SIZE as usize];

/// Which optional hashes to compute besides SHA-256.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraHashes {
    pub md5: bool,
    pub sha1: bool,
}

/// The hashes of a whole image, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageHashes {
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

/// Hashes an image as its bytes arrive in order.
pub struct ImageHasher {
    sha256: Sha256Stream,
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    bytes: u64,
}

impl ImageHasher {
    pub fn new(extra: ExtraHashes) -> Self {
        ImageHasher {
            sha256: Sha256Stream::new(),
            md5: extra.md5.then(Md5::new),
            sha1: extra.sha1.then(Sha1::new),
            bytes: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.update_others(data);
    }

    /// Everything but SHA-256: the optional hashes and the byte count.
    fn update_others(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        self.bytes += data.len() as u64;
    }

    /// Feeds the block made of `parts` if its own SHA-256 is `expected`, computing both SHA-256s in
    /// one pass; else feeds nothing and answers the SHA-256 the block has.
    pub fn update_if_sha256<P: AsRef<[u8]>>(&mut self, parts: &[P], expected: &[u8; 32]) -> Result<(), [u8; 32]> {
        let (own, continued) = self.sha256.digest_and_update_parts(parts);
        if &own != expected {
            return Err(own);
        }
        self.sha256 = continued;
        for part in parts {
            self.update_others(part.as_ref());
        }
        Ok(())
    }

    /// `blocks` blocks of zeros (a hole).
    pub fn zero_blocks(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.update(&ZERO_BLOCK);
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    pub fn finish(self) -> ImageHashes {
        ImageHashes {
            sha256: hex::encode(self.sha256.finish()),
            md5: self.md5.map(|h| hex::encode(h.finalize())),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// True when every byte of every part is zero.
pub fn is_zero<P: AsRef<[u8]>>(parts: &[P]) -> bool {
    parts.iter().all(|part| {
        let part = part.as_ref();
        part.len() <= ZERO_BLOCK.len() && part == &ZERO_BLOCK[..part.len()] || part.iter().all(|b| *b == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_blocks_hash_like_the_bytes_they_stand_for() {
        let mut holes = ImageHasher::new(ExtraHashes { md5: true, sha1: true });
        holes.update(b"abc");
        holes.zero_blocks(2);
        let mut bytes = ImageHasher::new(ExtraHashes { md5: true, sha1: true });
        bytes.update(b"abc");
        bytes.update(&vec![0u8; 2 * BLOCK_SIZE as usize]);
        assert_eq!(holes.len(), bytes.len());
        assert_eq!(holes.finish(), bytes.finish());
    }

    #[test]
    fn a_block_is_fed_only_when_it_hashes_to_what_aws_said() {
        use sha2::{Digest as _, Sha256};
        let block = vec![5u8; BLOCK_SIZE as usize];
        let right: [u8; 32] = Sha256::digest(&block).into();
        let mut checked = ImageHasher::new(ExtraHashes { md5: true, sha1: false });
        assert_eq!(checked.update_if_sha256(&[&block], &[0; 32]), Err(right), "a mismatch answers the real SHA-256");
        assert!(checked.is_empty(), "and feeds nothing");
        let (head, tail) = block.split_at(1000);
        assert_eq!(checked.update_if_sha256(&[head, tail], &right), Ok(()), "in parts of any length");
        let mut plain = ImageHasher::new(ExtraHashes { md5: true, sha1: false });
        plain.update(&block);
        assert_eq!(checked.finish(), plain.finish());
    }

    #[test]
    fn zero_is_every_byte_of_every_part() {
        let zeros = vec![0u8; 3000];
        assert!(is_zero(&[&zeros[..1000], &zeros[1000..]]));
        assert!(is_zero::<&[u8]>(&[]));
        let mut one = zeros.clone();
        one[2999] = 1;
        assert!(!is_zero(&[&one[..1000], &one[1000..]]));
        assert!(!is_zero(&[&one[..]]));
    }

    #[test]
    fn known_answers() {
        let mut h = ImageHasher::new(ExtraHashes { md5: true, sha1: true });
        h.update(b"abc");
        let out = h.finish();
        assert_eq!(out.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(out.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(out.sha1.as_deref(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
    }
}
