//! Vectorisable exp, sigmoid and tanh for the recurrent layers' gate loops, and
//! `vectorised_fn!`, which compiles such a loop for AVX-512 and the baseline and picks one
//! at run time.

/// e^x for x clamped to [-87, 88] (Cephes' `expf` polynomial, relative error about 1e-7).
/// Free of branches and of float-to-int casts, so loops over slices of it vectorise; NaN
/// stays NaN.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // Adding 1.5·2^23 rounds to the nearest integer k, which then sits in the low bits.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let shifted = x * LOG2E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * 0.693_359_4 - k * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    // 2^k: k + 127 into the exponent field.
    let two_k = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127)
        << 23;
    p * f32::from_bits(two_k)
}

/// Define `fn $name(args)` whose body is compiled twice, for the baseline and for AVX-512,
/// and run as the CPU allows: the gate loops then use 16-lane vectors where they can (the
/// baseline build has 4). The operations and their order are the same either way, and so
/// are the results.
macro_rules! vectorised_fn {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn portable($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512($($arg: $ty),*) {
                portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: this CPU has AVX-512F.
                return unsafe { avx512($($arg),*) };
            }
            portable($($arg),*)
        }
    };
}
pub(crate) use vectorised_fn;

/// The logistic function 1 / (1 + e^-x), vectorisable.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh, vectorisable: Cephes' `tanhf` (an odd polynomial below 0.625, where the form
/// through e^-2|x| would lose digits, that form above); error about 2e-7.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let e = exp(-2.0 * a);
    let large = ((1.0 - e) / (1.0 + e)).copysign(x);
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    if a < 0.625 {
        small
    } else {
        large
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_functions_match_the_standard_ones() {
        for i in -20_000..=20_000 {
            let x = i as f32 * 1e-3;
            let (t, s) = (x.tanh(), 1.0 / (1.0 + (-x).exp()));
            let tanh_error = (tanh(x) - t).abs();
            assert!(
                tanh_error <= 3e-7 * t.abs(),
                "tanh({x}) = {} vs {t}",
                tanh(x)
            );
            assert!(
                (sigmoid(x) - s).abs() <= 3e-7 * s,
                "sigmoid({x}) = {} vs {s}",
                sigmoid(x)
            );
        }
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert!((0.0..1e-37).contains(&sigmoid(-1e4)));
        assert_eq!(sigmoid(1e4), 1.0);
        assert!(tanh(f32::NAN).is_nan());
    }
}
