//! `ScaleCodes`: the per-output scales of an int8 matrix stored in one byte each. A layer
//! keeps one f32 `base` (its largest column scale) and per output a code k with
//! `s = base · 2^(-k/16)`, so a layer with few inputs does not spend 4 bytes per output
//! (1/n_in of its int8 bytes) on scales.
//!
//! `2^(-k/16)` comes from a table of the 16 correctly rounded f32 values of `2^(-i/16)`
//! times an exact power of two (no `powf`, whose last bit differs between libraries), so
//! every platform decodes the same f32 scales.

use super::quantize::Q_MAX;

/// The f32 bits of `2^(-i/16)`, i = 0..15, each the nearest f32 to the real value
/// (computed to 60 digits; see the test).
const STEP_BITS: [u32; 16] = [
    0x3f80_0000,
    0x3f75_257d,
    0x3f6a_c0c7,
    0x3f60_ccdf,
    0x3f57_44fd,
    0x3f4e_248c,
    0x3f45_672a,
    0x3f3d_08a4,
    0x3f35_04f3,
    0x3f2d_583f,
    0x3f25_fed7,
    0x3f1e_f532,
    0x3f18_37f0,
    0x3f11_c3d3,
    0x3f0b_95c2,
    0x3f05_aac3,
];

/// `2^(-k/16)` in f32: the table's `2^(-(k mod 16)/16)` times `2^(-(k div 16))`. Both are
/// normal and the second a power of two, so the product is exact (at least 2^-16).
pub fn code_factor(k: u8) -> f32 {
    let step = f32::from_bits(STEP_BITS[usize::from(k & 15)]);
    let power = f32::from_bits((127 - u32::from(k >> 4)) << 23);
    step * power
}

/// The scale of code `k` under `base`: `base · 2^(-k/16)`, one f32 multiplication.
pub fn decode_scale(base: f32, k: u8) -> f32 {
    base * code_factor(k)
}

/// True when `s · 127 ≥ max` exactly (in f64, where the product of an f32 and 127 is
/// exact): a column whose largest |w| is `max` has no |w / s| above 127.
fn covers(s: f32, max: f32) -> bool {
    f64::from(s) * f64::from(Q_MAX) >= f64::from(max)
}

/// The smallest f32 scale that covers `max` (> 0): `max / 127`, one step up when
/// rounding took it below.
fn cover(max: f32) -> f32 {
    let s = max / Q_MAX;
    if covers(s, max) {
        s
    } else {
        s.next_up()
    }
}

/// One f32 base and a one-byte code per output.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleCodes {
    base: f32,
    codes: Vec<u8>,
}

impl ScaleCodes {
    /// The codes of columns whose largest |w| are `maxima` (finite, ≥ 0): the base is the
    /// largest column's scale (1 when every column is zero), each code the largest k whose
    /// scale still covers its column (so no weight clips, and a scale is at most
    /// 2^(1/16), 4.4%, above `max / 127`), clamped to 255; a column of zeros gets code 0.
    /// The base is not finite when a maximum is not.
    pub fn for_maxima(maxima: &[f32]) -> ScaleCodes {
        let top = maxima.iter().fold(0.0f32, |m, &v| m.max(v));
        let base = if top > 0.0 { cover(top) } else { 1.0 };
        let codes = maxima
            .iter()
            .map(|&max| {
                if max > 0.0 {
                    // The scales fall as k grows: walk down while the next still covers.
                    let mut k = 0u8;
                    while k < u8::MAX && covers(decode_scale(base, k + 1), max) {
                        k += 1;
                    }
                    k
                } else {
                    0
                }
            })
            .collect();
        ScaleCodes { base, codes }
    }

    /// Codes as read from a file; the caller checks the base (`base_is_valid`) and the
    /// count.
    pub fn new(base: f32, codes: Vec<u8>) -> ScaleCodes {
        ScaleCodes { base, codes }
    }

    /// True when the base is finite and above 0.
    pub fn base_is_valid(&self) -> bool {
        self.base.is_finite() && self.base > 0.0
    }

    /// The layer's base: its largest column scale.
    pub fn base(&self) -> f32 {
        self.base
    }

    /// One code per output.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// The f32 scale of each output.
    pub fn scales(&self) -> Vec<f32> {
        self.codes
            .iter()
            .map(|&k| decode_scale(self.base, k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table against 2^(-i/16) in f64 rounded to f32 (f64's `powf` is within an ulp of
    /// f64, far finer than f32's half ulp, and none of these lies near an f32 half-way
    /// point), and a few decoded values checked by hand.
    #[test]
    fn the_table_holds_the_nearest_f32_values() {
        for (i, &bits) in STEP_BITS.iter().enumerate() {
            let exact = 2f64.powf(-(i as f64) / 16.0);
            assert_eq!(f32::from_bits(bits), exact as f32, "2^(-{i}/16)");
        }
        assert_eq!(code_factor(0), 1.0);
        assert_eq!(code_factor(16), 0.5);
        assert_eq!(code_factor(8).to_bits(), 0x3f35_04f3); // 1/sqrt(2) = 0.70710677
        assert_eq!(code_factor(24).to_bits(), 0x3eb5_04f3); // 1/(2 sqrt(2))
        assert_eq!(code_factor(255), f32::from_bits(0x3f05_aac3) / 32768.0);
        assert_eq!(code_factor(255).to_bits(), 0x3785_aac3); // 1.5934e-5
        assert_eq!(decode_scale(3.0, 0), 3.0);
        assert_eq!(decode_scale(3.0, 32), 0.75);
        assert_eq!(decode_scale(0.25, 17), 0.125 * f32::from_bits(0x3f75_257d));
        // One rounding: base · factor in f32.
        assert_eq!(decode_scale(0.1, 1), 0.1f32 * 0.957_603_3f32);
        for k in 0..=u8::MAX {
            let f = code_factor(k);
            assert!(f > 0.0 && f.is_normal());
            if k > 0 {
                assert!(f < code_factor(k - 1), "code {k}");
            }
        }
    }

    #[test]
    fn codes_cover_their_columns_and_are_the_largest_that_do() {
        let maxima = [
            1.0, 0.5, 0.3, 1e-3, 0.0, 0.999_999, 0.957, 1e-9, 127.0, 3.3e-5, 0.73,
        ];
        let codes = ScaleCodes::for_maxima(&maxima);
        assert_eq!(codes.base(), 1.0);
        let scales = codes.scales();
        for ((&m, &k), &s) in maxima.iter().zip(codes.codes()).zip(&scales) {
            if m == 0.0 {
                assert_eq!(k, 0);
                continue;
            }
            assert!(covers(s, m), "max {m} code {k}");
            assert!(m / s <= 127.0);
            if k < 255 {
                assert!(
                    !covers(decode_scale(codes.base(), k + 1), m),
                    "max {m} code {k}"
                );
                assert!(f64::from(s) <= f64::from(m) / 127.0 * 2f64.powf(1.0 / 16.0) * 1.000_001);
            }
        }
        // 127 → code 0 (the base 1); 1 → 111 (2^(-111/16) = 0.00816 ≥ 1/127 = 0.00787 >
        // 2^(-112/16)); 0.5 → 16 codes on (an exact halving); 1e-9, far below
        // 2^(-255/16), → 255.
        assert_eq!(codes.codes()[8], 0);
        assert_eq!(codes.codes()[0], 111);
        assert_eq!(codes.codes()[1], 127);
        assert_eq!(codes.codes()[7], 255);
        assert_eq!(ScaleCodes::for_maxima(&[0.0, 0.0]).base(), 1.0);
        assert!(!ScaleCodes::for_maxima(&[f32::INFINITY]).base_is_valid());
    }

    /// A base that `max / 127` rounds below is moved up one step, so the largest column
    /// never clips either.
    #[test]
    fn the_base_covers_the_largest_column() {
        let mut v = 0.001f32;
        for _ in 0..10_000 {
            v = v * 1.000_123 + 1e-7;
            let codes = ScaleCodes::for_maxima(&[v]);
            assert!(covers(codes.base(), v), "{v}");
            assert!(codes.base() <= (v / Q_MAX).next_up());
        }
        let tiny = f32::from_bits(3);
        assert!(covers(ScaleCodes::for_maxima(&[tiny]).base(), tiny));
    }
}
