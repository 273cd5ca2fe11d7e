//! Text to tokens: Unicode lowercase, split on every character that is not alphanumeric
//! (`char::is_alphanumeric`), and word n-grams hashed into buckets with 64-bit FNV-1a
//! (fastText's trick for n-grams without a vocabulary of them).

/// The words of `text`, lowercased: maximal runs of alphanumeric characters.
pub fn tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The bucket of a word n-gram, `0..buckets`: FNV-1a of its words joined by one space
/// (UTF-8), modulo `buckets`.
pub fn ngram_bucket(words: &[String], buckets: usize) -> usize {
    let mut joined = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            joined.push(b' ');
        }
        joined.extend_from_slice(w.as_bytes());
    }
    (fnv1a(joined) % buckets as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_unicode_and_splits_on_non_alphanumerics() {
        assert_eq!(
            tokenize("Don't STOP—Ünïcode café, 2016!"),
            ["don", "t", "stop", "ünïcode", "café", "2016"]
        );
        assert_eq!(tokenize("ΣΊΣΥΦΟΣ 東京タワー"), ["σίσυφος", "東京タワー"]);
        assert_eq!(tokenize("  ,;-- "), Vec::<String>::new());
    }

    #[test]
    fn fnv1a_has_the_published_values() {
        // The reference vectors of the FNV specification (draft-eastlake-fnv).
        assert_eq!(fnv1a(*b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(*b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(*b"foobar"), 0x85944171f73967e8);
        let words = ["new".to_string(), "york".to_string()];
        assert_eq!(fnv1a(*b"new york"), 0xa361ce1f22a20d88);
        assert_eq!(ngram_bucket(&words, 10_000), 872);
    }
}
