//! The field delimiter: detected from the header line, and the hint for a header that
//! looks delimited by another character.

use crate::error::{one_line, Hint};

/// Pick the delimiter that occurs most often (outside quotes) in the header line.
pub(crate) fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in header {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

/// A hint for a file whose header is one name holding another delimiter character.
pub fn delimiter_hint(headers: &[String]) -> Option<Hint> {
    let [only] = headers else {
        return None;
    };
    [',', ';', '\t', '|']
        .into_iter()
        .find(|&c| only.contains(c))
        .map(|delimiter| Hint::Delimiter {
            header: one_line(only),
            delimiter,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_detected_from_the_header() {
        assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"x;y\",b\n"), b',');
        assert_eq!(detect_delimiter(b"single\n"), b',');
    }

    #[test]
    fn a_one_name_header_holding_a_delimiter_gets_a_hint() {
        let one = |h: &str| delimiter_hint(&[h.to_string()]);
        assert_eq!(
            one("a;b"),
            Some(Hint::Delimiter {
                header: "a;b".into(),
                delimiter: ';'
            })
        );
        assert_eq!(one("ab"), None);
        assert_eq!(delimiter_hint(&["a;b".into(), "c".into()]), None);
    }
}
