//! Serde for a `ChaCha8Rng` in mid-stream (seed, stream, word position), written with the
//! 128-bit position as a decimal string: serde's buffering of tagged enums, which the
//! model file uses for layers, cannot hold a u128.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
struct RngState {
    seed: [u8; 32],
    stream: u64,
    word_pos: String,
}

pub fn serialize<S: Serializer>(rng: &ChaCha8Rng, serializer: S) -> Result<S::Ok, S::Error> {
    RngState {
        seed: rng.get_seed(),
        stream: rng.get_stream(),
        word_pos: rng.get_word_pos().to_string(),
    }
    .serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ChaCha8Rng, D::Error> {
    let state = RngState::deserialize(deserializer)?;
    let word_pos: u128 = state
        .word_pos
        .parse()
        .map_err(|_| serde::de::Error::custom("the RNG word position is not a number"))?;
    let mut rng = ChaCha8Rng::from_seed(state.seed);
    rng.set_stream(state.stream);
    rng.set_word_pos(word_pos);
    Ok(rng)
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Holder(#[serde(with = "super")] ChaCha8Rng);

    #[test]
    fn a_restored_rng_continues_the_same_stream() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let _: [u64; 5] = rng.gen();
        let text = serde_json::to_string(&Holder(rng.clone())).unwrap();
        let Holder(mut restored) = serde_json::from_str(&text).unwrap();
        assert_eq!(rng.gen::<[u64; 4]>(), restored.gen::<[u64; 4]>());
    }
}
