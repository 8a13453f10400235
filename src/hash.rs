//! Two small, well-known non-cryptographic hashes, used where a run must be
//! repeatable (which flow and data row an arrival gets) or a value needs a
//! short fingerprint (the scenario digest, the embedded target's tokens).

/// SplitMix64 (Steele, Lea, Flood 2014): a well-mixed hash of one integer.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn published_values() {
        // FNV-1a test vectors (IETF draft-eastlake-fnv, appendix C).
        assert_eq!(super::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        // SplitMix64 from seed 0: the first output of Vigna's splitmix64.c.
        assert_eq!(super::splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }
}
