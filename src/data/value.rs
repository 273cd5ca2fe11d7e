//! What a single cell holds: missing, a number, or text.

/// The tokens that mean "missing" (an empty cell is always missing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NaValues(pub Vec<String>);

impl Default for NaValues {
    fn default() -> Self {
        NaValues(
            ["NA", "N/A", "NaN", "nan", "null"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

impl NaValues {
    /// True for an empty cell or one of the tokens.
    pub fn is_missing(&self, cell: &str) -> bool {
        // Compared byte by byte inline: the tokens are short, and a memcmp call per token
        // and per cell cost more than the comparison itself.
        cell.is_empty()
            || self.0.iter().any(|na| {
                na.len() == cell.len() && na.bytes().zip(cell.bytes()).all(|(a, b)| a == b)
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
/// What a cell holds, as `parse_cell` reads it.
pub enum Cell<'a> {
    /// Empty or a missing-value token.
    Missing,
    /// A finite number.
    Number(f64),
    /// A number that overflows f64 or is infinite ("inf", "1e400").
    NonFinite,
    /// Anything else, trimmed.
    Text(&'a str),
}

/// Classify a trimmed cell.
pub fn parse_cell<'a>(cell: &'a str, na: &NaValues) -> Cell<'a> {
    if na.is_missing(cell) {
        return Cell::Missing;
    }
    match fast_float_like(cell) {
        Some(v) if v.is_finite() => Cell::Number(v),
        Some(v) if v.is_nan() => Cell::Missing,
        Some(_) => Cell::NonFinite,
        None => Cell::Text(cell),
    }
}

/// The finite number a cell holds, as `parse_cell` reads it (missing markers aside).
pub fn plain_number(cell: &str) -> Option<f64> {
    if cell.is_empty() {
        return None;
    }
    fast_float_like(cell).filter(|v| v.is_finite())
}

/// A cell written as a plain decimal whose text `format!("{value:.k$}")` rebuilds exactly,
/// with k the digits after the point: `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 15
/// digits. Returns the value and k. (15 significant digits survive the round trip
/// through an f64, so rounding the value to k places gives the digits back.) One pass:
/// this runs on nearly every cell of a numeric file.
#[inline]
pub fn canonical_decimal(bytes: &[u8]) -> Option<(f64, u8)> {
    let (negative, digits) = match bytes.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, bytes),
    };
    if digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut i = 0;
    while let Some(&b) = digits.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mantissa = mantissa * 10 + d as u64;
        i += 1;
    }
    let int_len = i;
    if int_len == 0 || (int_len > 1 && digits[0] == b'0') {
        return None;
    }
    let mut fraction = 0;
    if i < digits.len() {
        if digits[i] != b'.' {
            return None;
        }
        for &b in &digits[i + 1..] {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            mantissa = mantissa * 10 + d as u64;
        }
        fraction = digits.len() - i - 1;
        if fraction == 0 {
            return None;
        }
    }
    if int_len + fraction > 15 {
        return None;
    }
    // As in `parse_simple_decimal`: m and 10^k exact, so the quotient is correctly rounded
    // (and for an integer it is m itself: no division on the common path).
    let value = if fraction == 0 {
        mantissa as f64
    } else {
        mantissa as f64 / POW10[fraction]
    };
    Some((if negative { -value } else { value }, fraction as u8))
}

/// A canonical integer (`canonical_decimal` without a fraction) of at most 7 digits, so
/// below 2^24 and exact as an f32.
#[inline]
pub(super) fn small_integer(bytes: &[u8]) -> Option<f32> {
    let (negative, digits) = match bytes.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 7 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut value = 0u32;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + d as u32;
    }
    let value = value as f32;
    Some(if negative { -value } else { value })
}

/// `small_integer` of a field of `len` bytes held in the low bytes of `word` (read
/// little-endian from the field's start; the bytes above it may be anything), without a
/// loop over the digits (a mispredicted branch per cell when lengths vary): the same
/// value for a non-negative field, `None` for anything else (a sign included, which
/// `small_integer` then reads).
#[inline]
pub(super) fn small_integer_in_word(word: u64, len: usize) -> Option<f32> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    if len == 0 || len > 7 || (len > 1 && word as u8 == b'0') {
        return None;
    }
    // The field's bytes at the top, its first (most significant) digit lowest; zero bytes
    // below stand for leading zeros.
    let shift = (8 - len as u32) * 8;
    let w = word << shift;
    let zeros = ZEROS << shift;
    // Every field byte is 0x30..=0x39: high nibble 3, and still 3 after adding 6 (a byte
    // whose addition carries into the next one fails the first test).
    let digits =
        w & HIGH_NIBBLES == zeros && w.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == zeros;
    if !digits {
        return None;
    }
    // Eight digits to a number in three multiplies (Lemire's parse_eight_digits).
    let v = w & 0x0F0F_0F0F_0F0F_0F0F;
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let v =
        ((v & MASK).wrapping_mul(MUL1)).wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2)) >> 32;
    Some(v as u32 as f32)
}

/// Rust's float parser, restricted to what people write as numbers in CSV files
/// (it would also accept "infinity" and "NaN" spelled in any case).
fn fast_float_like(cell: &str) -> Option<f64> {
    if let Some(v) = parse_simple_decimal(cell.as_bytes()) {
        return Some(v);
    }
    let first = cell.as_bytes()[0];
    let looks_numeric = first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.');
    let is_inf_word = cell.eq_ignore_ascii_case("inf") || cell.eq_ignore_ascii_case("infinity");
    if !looks_numeric && !is_inf_word {
        return None;
    }
    cell.parse::<f64>().ok()
}

/// True for a cell written as a number in a locale's style that csvnn does not read:
/// a decimal comma ("3,75") or thousands separators ("3,750", "1.234.567", "1 234,5",
/// "1'234"). Such a cell is never read as a number, because "3,750" could mean 3750 or
/// 3.75.
pub fn looks_like_localized_number(cell: &str) -> bool {
    let body = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let is_digit = |c: char| c.is_ascii_digit();
    // A decimal comma alone: digits ',' digits.
    if let Some((int, frac)) = body.split_once(',') {
        let digits = |s: &str| !s.is_empty() && s.chars().all(is_digit);
        if digits(int) && digits(frac) {
            return true;
        }
    }
    // Thousands groups: 1-3 digits, then groups of three after one separator character,
    // then optionally a decimal part after a different mark.
    let Some(sep) = body.chars().find(|c| !c.is_ascii_digit()) else {
        return false;
    };
    if !matches!(sep, ',' | '.' | ' ' | '\'' | '\u{a0}' | '\u{202f}') {
        return false;
    }
    let (grouped, decimals) = match body.rfind(|c: char| (c == '.' || c == ',') && c != sep) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    if decimals.is_some_and(|d| d.is_empty() || !d.chars().all(is_digit)) {
        return false;
    }
    let mut groups = grouped.split(sep);
    let first = groups.next().unwrap_or("");
    let mut n_groups = 0;
    for group in groups {
        if group.len() != 3 || !group.chars().all(is_digit) {
            return false;
        }
        n_groups += 1;
    }
    n_groups > 0 && (1..=3).contains(&first.len()) && first.chars().all(is_digit)
}

/// Exact powers of ten as f64 (every one up to 1e22 is representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The common case of a CSV number, `[-+]digits[.digits]` with at most 15 significant
/// digits, parsed without the general algorithm (Clinger's fast path): the digits are an
/// integer m < 2^53 and the fraction has k <= 22 digits, so m and 10^k are exact and m / 10^k
/// is the correctly rounded result, the same f64 that `str::parse` gives. Anything else
/// (exponents, more digits, stray characters) returns None for the general parser.
fn parse_simple_decimal(bytes: &[u8]) -> Option<f64> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut n_digits = 0;
    let mut fraction_digits = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + (b - b'0') as u64;
                n_digits += 1;
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if n_digits == 0 || n_digits > 15 {
        return None;
    }
    let value = mantissa as f64 / POW10[fraction_digits.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_classified() {
        let na = NaValues::default();
        assert_eq!(parse_cell("", &na), Cell::Missing);
        assert_eq!(parse_cell("NA", &na), Cell::Missing);
        assert_eq!(parse_cell("null", &na), Cell::Missing);
        assert_eq!(parse_cell("1.5", &na), Cell::Number(1.5));
        assert_eq!(parse_cell("-2e3", &na), Cell::Number(-2000.0));
        assert_eq!(parse_cell("1e400", &na), Cell::NonFinite);
        assert_eq!(parse_cell("-inf", &na), Cell::NonFinite);
        assert_eq!(parse_cell("Infinity", &na), Cell::NonFinite);
        assert_eq!(parse_cell("3,750", &na), Cell::Text("3,750"));
        assert_eq!(parse_cell("abc", &na), Cell::Text("abc"));
        assert_eq!(parse_cell("-0", &na), Cell::Number(-0.0));
        assert_eq!(parse_cell(".", &na), Cell::Text("."));
        assert_eq!(parse_cell("1.2.3", &na), Cell::Text("1.2.3"));
    }

    #[test]
    fn the_fast_path_gives_the_same_numbers_as_the_general_parser() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut cases: Vec<String> = ["0", "255", "-17", "+3", "0.1", "-0.0", "3.", ".5", "-.25"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for _ in 0..20_000 {
            let digits = rng.gen_range(1..=15);
            let mut s: String = (0..digits)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect();
            s.insert(rng.gen_range(0..=s.len()), '.');
            if rng.gen_bool(0.5) {
                s.insert(0, '-');
            }
            cases.push(s);
        }
        for case in &cases {
            let fast = parse_simple_decimal(case.as_bytes()).expect(case);
            let general: f64 = case.parse().expect(case);
            assert_eq!(fast.to_bits(), general.to_bits(), "{case}");
        }
        // Left to the general parser.
        for case in [
            "1e5",
            "1234567890123456",
            "0x10",
            "1_000",
            "--1",
            "",
            "+",
            "-.",
        ] {
            assert_eq!(parse_simple_decimal(case.as_bytes()), None, "{case}");
        }
    }

    #[test]
    fn canonical_decimals_are_exactly_the_rebuildable_ones() {
        for (cell, decimals) in [
            ("0", 0),
            ("-0", 0),
            ("255", 0),
            ("-0.50", 2),
            ("10.000", 3),
            ("123456789012345", 0),
            ("0.00000000000001", 14),
        ] {
            let (value, k) = canonical_decimal(cell.as_bytes()).expect(cell);
            assert_eq!(k, decimals, "{cell}");
            assert_eq!(
                value.to_bits(),
                cell.parse::<f64>().unwrap().to_bits(),
                "{cell}"
            );
            assert_eq!(format!("{value:.k$}", k = k as usize), cell);
        }
        for cell in [
            "",
            "-",
            "+3",
            "007",
            "00",
            "-01",
            ".5",
            "3.",
            "1e5",
            "1.2.3",
            "1,5",
            " 1",
            "1 ",
            "1234567890123456",
            "0x1",
            "-.5",
            "1.-5",
        ] {
            assert_eq!(canonical_decimal(cell.as_bytes()), None, "{cell}");
        }
    }

    #[test]
    fn localized_numbers_are_recognised() {
        for yes in [
            "3,75",
            "3,750",
            "-0,5",
            "1,234,567.25",
            "1.234.567",
            "1.234,5",
            "1 234",
            "12'345.5",
            "1\u{a0}234,5",
        ] {
            assert!(looks_like_localized_number(yes), "{yes}");
        }
        for no in [
            "3.75",
            "abc",
            "1.2.3",
            "192.168.1.1",
            "1,2,3",
            ",5",
            "5,",
            "1,23,4",
            "a,b",
            "12:30",
            "1,234,56",
        ] {
            assert!(!looks_like_localized_number(no), "{no}");
        }
    }

    /// `small_integer_in_word` against `small_integer` on the field at the start of
    /// eight bytes, whatever follows it.
    fn agrees_in_word(bytes: [u8; 8], len: usize) {
        let word = u64::from_le_bytes(bytes);
        let expected = if bytes[0] == b'-' {
            None
        } else {
            small_integer(&bytes[..len])
        };
        let got = small_integer_in_word(word, len);
        assert_eq!(
            got.map(f32::to_bits),
            expected.map(f32::to_bits),
            "{:?}",
            String::from_utf8_lossy(&bytes[..len])
        );
    }

    #[test]
    fn small_integers_read_from_a_word_are_small_integer_s() {
        // Every integer of up to 7 digits (and 8, refused), with what follows varying.
        for n in (0u32..10_000_000).chain([10_000_000, 99_999_999]) {
            let text = n.to_string();
            let mut bytes = [b','; 8];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            bytes[text.len()..]
                .iter_mut()
                .for_each(|b| *b = (n % 251) as u8);
            agrees_in_word(bytes, text.len());
        }
        // Every field of up to 3 bytes from characters near and among the digits, with
        // digits, bytes that carry and zeros after it.
        let alphabet: Vec<u8> = (b'*'..=b'@')
            .chain([0, b' ', b'e', b'E', 0x80, 0xF9, 0xFA, 0xFF])
            .collect();
        for len in 0..=3 {
            for code in 0..alphabet.len().pow(len as u32) {
                for fill in [b'0', b'9', 0xFF, 0] {
                    let mut bytes = [fill; 8];
                    let mut c = code;
                    for b in &mut bytes[..len] {
                        *b = alphabet[c % alphabet.len()];
                        c /= alphabet.len();
                    }
                    agrees_in_word(bytes, len);
                }
            }
        }
        // Leading zeros and lengths past 7.
        agrees_in_word(*b"00000000", 1);
        agrees_in_word(*b"0123,,,,", 4);
        agrees_in_word(*b"12345678", 8);
    }
}
