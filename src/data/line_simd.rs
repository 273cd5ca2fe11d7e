//! A plain CSV line's field ends and small integers with AVX2, for CPUs that have it:
//! its delimiters found 32 bytes at a time, its fields read as numbers four at a time.
//! The same ends as `parallel_read::append_field_ends` and the same values as
//! `value::small_integer_in_word` (the tests compare them on many lines); the scalar
//! search read a fifth of W1's cells per microsecond less.

use std::arch::x86_64::{
    __m128i, __m256i, _mm256_add_epi64, _mm256_and_si256, _mm256_andnot_si256, _mm256_blend_epi32,
    _mm256_castsi256_si128, _mm256_cmpeq_epi64, _mm256_cmpeq_epi8, _mm256_cmpgt_epi64,
    _mm256_i64gather_epi64, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16,
    _mm256_movemask_epi8, _mm256_mul_epu32, _mm256_permute4x64_epi64, _mm256_permutevar8x32_epi32,
    _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_epi8, _mm256_setr_epi32,
    _mm256_slli_epi64, _mm256_sllv_epi64, _mm256_srli_epi64, _mm256_sub_epi64, _mm_blendv_ps,
    _mm_castsi128_ps, _mm_cvtepi32_ps, _mm_set1_ps, _mm_storeu_ps,
};

/// Tests set this to read as a CPU without AVX2 does (any test running meanwhile must
/// then get the same answers, as it does).
#[cfg(test)]
pub(super) static PORTABLE_ONLY: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether the CPU has AVX2 (checked once, then read from a cache).
pub(super) fn available() -> bool {
    #[cfg(test)]
    if PORTABLE_ONLY.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    is_x86_feature_detected!("avx2")
}

/// `parallel_read::append_field_ends`: the offset of each `delimiter` in `line`, then
/// `line.len()`, appended to `ends`.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn append_field_ends(line: &[u8], delimiter: u8, ends: &mut Vec<usize>) {
    let pattern = _mm256_set1_epi8(delimiter as i8);
    let mut chunks = line.chunks_exact(32);
    let mut base = 0;
    for chunk in &mut chunks {
        // SAFETY: the chunk holds 32 bytes; the load may be unaligned.
        let bytes = unsafe { _mm256_loadu_si256(chunk.as_ptr() as *const __m256i) };
        let mut found = _mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, pattern)) as u32;
        while found != 0 {
            ends.push(base + found.trailing_zeros() as usize);
            found &= found - 1;
        }
        base += 32;
    }
    // The rest, and the line's length, by the portable search, moved to `base`.
    let from = ends.len();
    super::parallel_read::append_field_ends(chunks.remainder(), delimiter, ends);
    for end in &mut ends[from..] {
        *end += base;
    }
}

/// For each field of the line that starts at `line_start` in `buf`, whose field ends
/// (from the line's start) are `ends`: its value when `small_integer_in_word` reads one
/// (a non-negative integer of at most 7 digits without a leading zero), else NaN, into
/// `out`, field `c` at `c * stride`; whether every field was read.
///
/// # Safety
/// The CPU must have AVX2, and `buf` must hold 8 bytes from every field's start:
/// `line_start + ends.last() + 8 <= buf.len()`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn small_integers(
    buf: &[u8],
    line_start: usize,
    ends: &[usize],
    out: &mut [f32],
    stride: usize,
) -> bool {
    assert!(ends.is_empty() || (ends.len() - 1) * stride < out.len());
    debug_assert!(ends.last().is_none_or(|&e| line_start + e + 8 <= buf.len()));
    // SAFETY (the gathers): every field's start is at most its line's end, from which the
    // caller promises 8 bytes.
    let line = unsafe { buf.as_ptr().add(line_start) } as *const i64;
    let one = _mm256_set1_epi64x(1);
    let eight = _mm256_set1_epi64x(8);
    let sixty_four = _mm256_set1_epi64x(64);
    let high_nibbles = _mm256_set1_epi64x(0xF0F0_F0F0_F0F0_F0F0u64 as i64);
    let low_nibbles = _mm256_set1_epi64x(0x0F0F_0F0F_0F0F_0F0F);
    let zeros_text = _mm256_set1_epi64x(0x3030_3030_3030_3030);
    let sixes = _mm256_set1_epi64x(0x0606_0606_0606_0606);
    let first_byte = _mm256_set1_epi64x(0xFF);
    let zero_digit = _mm256_set1_epi64x(b'0' as i64);
    // Byte pairs to two digits (the first, more significant, times 10), pairs of those
    // to four digits, and the two halves of eight digits to one number.
    let tens = _mm256_set1_epi16(0x010A);
    let hundreds = _mm256_set1_epi32(0x0001_0064);
    let ten_thousands = _mm256_set1_epi64x(10_000);
    let low_words = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    let nan = _mm_set1_ps(f32::NAN);
    let mut start = 0i64;
    let mut chunks = ends.chunks_exact(4);
    let mut field = 0;
    let mut all_read = _mm256_set1_epi64x(-1);
    for four in &mut chunks {
        // SAFETY: `four` holds 4 usize, 64-bit here.
        let end = unsafe { _mm256_loadu_si256(four.as_ptr() as *const __m256i) };
        // Starts: the previous field's end + 1, the first from before.
        let next = _mm256_permute4x64_epi64::<0b10_01_00_00>(_mm256_add_epi64(end, one));
        let starts = _mm256_blend_epi32::<0b11>(next, _mm256_set1_epi64x(start));
        start = four[3] as i64 + 1;
        let len = _mm256_sub_epi64(end, starts);
        // SAFETY: see above; scale 1, the starts are byte offsets.
        let word = unsafe { _mm256_i64gather_epi64::<1>(line, starts) };
        // As `small_integer_in_word`: the field's bytes at the top of the word.
        let shift = _mm256_sub_epi64(sixty_four, _mm256_slli_epi64::<3>(len));
        let w = _mm256_sllv_epi64(word, shift);
        let zeros = _mm256_sllv_epi64(zeros_text, shift);
        let digits = _mm256_and_si256(
            _mm256_cmpeq_epi64(_mm256_and_si256(w, high_nibbles), zeros),
            _mm256_cmpeq_epi64(
                _mm256_and_si256(_mm256_add_epi64(w, sixes), high_nibbles),
                zeros,
            ),
        );
        let length_ok = _mm256_and_si256(
            _mm256_cmpgt_epi64(len, _mm256_set1_epi64x(0)),
            _mm256_cmpgt_epi64(eight, len),
        );
        let leading_zero = _mm256_and_si256(
            _mm256_cmpeq_epi64(_mm256_and_si256(word, first_byte), zero_digit),
            _mm256_cmpgt_epi64(len, one),
        );
        let ok = _mm256_andnot_si256(leading_zero, _mm256_and_si256(digits, length_ok));
        all_read = _mm256_and_si256(all_read, ok);
        let v = _mm256_and_si256(w, low_nibbles);
        let v = _mm256_madd_epi16(_mm256_maddubs_epi16(v, tens), hundreds);
        let v = _mm256_add_epi64(
            _mm256_mul_epu32(v, ten_thousands),
            _mm256_srli_epi64::<32>(v),
        );
        // Each lane's low 32 bits (values below 10^8), and its mask, side by side.
        let v: __m128i = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, low_words));
        let ok: __m128i = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(ok, low_words));
        let mut values = [0.0f32; 4];
        // SAFETY: `values` holds 4 floats.
        unsafe {
            let values = values.as_mut_ptr();
            _mm_storeu_ps(
                values,
                _mm_blendv_ps(nan, _mm_cvtepi32_ps(v), _mm_castsi128_ps(ok)),
            )
        };
        for value in values {
            out[field * stride] = value;
            field += 1;
        }
    }
    let mut tail_read = true;
    for &end in chunks.remainder() {
        let from = line_start + start as usize;
        let word = u64::from_le_bytes(buf[from..from + 8].try_into().expect("8 bytes"));
        let value = super::value::small_integer_in_word(word, end - start as usize);
        tail_read &= value.is_some();
        out[field * stride] = value.unwrap_or(f32::NAN);
        field += 1;
        start = end as i64 + 1;
    }
    tail_read && _mm256_movemask_epi8(all_read) == -1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::value::small_integer_in_word;

    /// A small random generator (xorshift), so that failures repeat.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// A random field: integers of 0 to 9 digits (leading zeros too), signs, decimals,
    /// words, spaces, bytes around the digits, empty.
    fn field(rng: &mut Rng) -> Vec<u8> {
        let alphabet = b"0123456789-+.eE /:aZ\x00\xff";
        match rng.below(4) {
            0 => (0..rng.below(10))
                .map(|_| b'0' + rng.below(10) as u8)
                .collect(),
            1 => rng.below(300).to_string().into_bytes(),
            2 => (0..rng.below(4))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
            _ => format!("-{}", rng.below(1000)).into_bytes(),
        }
    }

    #[test]
    fn field_ends_and_small_integers_match_the_portable_reading() {
        if !available() {
            return;
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let delimiter = [b',', b';', b'\t'][rng.below(3)];
            let n_fields = 1 + rng.below(70);
            let mut buf = b"x\n".repeat(rng.below(3));
            let line_start = buf.len();
            for i in 0..n_fields {
                if i > 0 {
                    buf.push(delimiter);
                }
                buf.extend(field(&mut rng));
            }
            let line_end = buf.len();
            buf.extend_from_slice(b"\n12345678");
            let line = &buf[line_start..line_end];

            let mut expected = vec![7];
            crate::data::parallel_read::append_field_ends(line, delimiter, &mut expected);
            let mut got = vec![7];
            // SAFETY: AVX2 is available.
            unsafe { append_field_ends(line, delimiter, &mut got) };
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(line));

            let ends = &expected[1..];
            let stride = 1 + rng.below(3);
            let mut values = vec![0.0f32; ends.len() * stride];
            // SAFETY: AVX2 is available; 8 bytes follow the line.
            let all_read = unsafe { small_integers(&buf, line_start, ends, &mut values, stride) };
            assert_eq!(all_read, values.iter().step_by(stride).all(|v| !v.is_nan()));
            let mut start = 0;
            for (&end, &value) in ends.iter().zip(values.iter().step_by(stride)) {
                let at = line_start + start;
                let word = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
                let want = small_integer_in_word(word, end - start);
                let text = String::from_utf8_lossy(&line[start..end]);
                match want {
                    Some(want) => assert_eq!(value.to_bits(), want.to_bits(), "{text:?}"),
                    None => assert!(value.is_nan(), "{text:?}: {value}"),
                }
                start = end + 1;
            }
        }
    }
}
