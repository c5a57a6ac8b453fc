//! The constants of SHA-256, from their definitions: K is the first 32 bits of the fractional parts
//! of the cube roots of the first 64 primes (FIPS 180-4 §4.2.2), H0 those of the square roots of the
//! first 8 (§5.3.3). Computed at compile time with integer roots, so no digit can be mistyped; the
//! tests check the known digests.

/// The largest `r` with `r^power <= n` (power 2 or 3), by bisection.
const fn integer_root(n: u128, power: u32) -> u128 {
    let (mut low, mut high) = (0u128, 1u128 << 43);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if mid.pow(power) <= n {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// The first `N` primes.
const fn primes<const N: usize>() -> [u128; N] {
    let mut out = [0u128; N];
    let (mut found, mut candidate) = (0, 2u128);
    while found < N {
        let mut divisor = 2;
        let mut prime = true;
        while divisor * divisor <= candidate {
            if candidate % divisor == 0 {
                prime = false;
                break;
            }
            divisor += 1;
        }
        if prime {
            out[found] = candidate;
            found += 1;
        }
        candidate += 1;
    }
    out
}

/// The fractional part of `p^(1/power)`, first 32 bits: the low 32 bits of the integer root of
/// `p × 2^(32 × power)`.
const fn fraction_bits<const N: usize>(power: u32) -> [u32; N] {
    let p = primes::<N>();
    let mut out = [0u32; N];
    let mut i = 0;
    while i < N {
        out[i] = integer_root(p[i] << (32 * power), power) as u32;
        i += 1;
    }
    out
}

/// The 64 round constants.
pub const K: [u32; 64] = fraction_bits::<64>(3);

/// The initial hash value.
pub const H0: [u32; 8] = fraction_bits::<8>(2);
