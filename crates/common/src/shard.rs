//! Which of several scaler replicas serves a ScaledObject. The compiler
//! writes each ScaledObject's scaler address with this function and the
//! scaler refuses objects that are not its own with the same function, so
//! both sides must agree: FNV-1a (64 bits) of `namespace/name`, which is
//! stable across versions and platforms (unlike `std`'s hasher).

/// The shard (0-based) of the object `namespace/name` among `shards`.
pub fn shard_of(namespace: &str, name: &str, shards: u32) -> u32 {
    let h = fnv1a(namespace.bytes().chain([b'/']).chain(name.bytes()));
    (h % u64::from(shards.max(1))) as u32
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::{fnv1a, shard_of};

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // The FNV reference test suite (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a("".bytes()), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a".bytes()), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar".bytes()), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shards_by_namespace_and_name() {
        assert_eq!(shard_of("a", "b", 7), (fnv1a("a/b".bytes()) % 7) as u32);
        assert_eq!(shard_of("a", "b", 1), 0);
        assert_eq!(shard_of("a", "b", 0), 0);
        let mut counts = [0u32; 3];
        for i in 0..300 {
            counts[shard_of("serving", &format!("model-{i}"), 3) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 70), "{counts:?}");
    }
}
