//! `RowEncoder`: the lines of a plain CSV file (no quotes, no carriage returns) encoded
//! straight into network input rows by a fitted pipeline, with no table of cells in
//! between: each field is trimmed, then standardised or one-hot encoded where it lies.
//! The inputs are those `Pipeline::transform` makes from the same rows (each cell read
//! as `parse_cell` reads it), and the target's text that `visit_rows` sees. A block
//! with anything else (a quote, a carriage return, a NUL byte, invalid UTF-8, a row of
//! the wrong width, a word in a numeric column, a target that is not a plain number)
//! is left to the csv reader, which reads it exactly (or names the error).

use super::stream_source::StreamPlan;
use crate::data::{canonical_decimal, field_ends, is_blank, parse_cell, Cell, NaValues};
use crate::preprocess::{
    CategoricalColumn, Feature, NumericColumn, OrdinalColumn, Slot, TargetEncoder,
};

/// Most distinct target texts a block holds; a block with more goes to the csv reader.
const MAX_LABELS: usize = 256;

/// What becomes of one field of a line.
enum Action<'a> {
    Skip,
    Target,
    Numeric(&'a NumericColumn, usize),
    Categorical(&'a CategoricalColumn, usize, ShortSlots),
    Ordinal(&'a OrdinalColumn, usize),
}

/// A text of at most 7 bytes as one number (its bytes, then its length), compared
/// in one instruction where a string comparison calls `memcmp`.
fn short_key(t: &[u8]) -> Option<u64> {
    if t.len() > 7 {
        return None;
    }
    let mut k = [0u8; 8];
    k[..t.len()].copy_from_slice(t);
    k[7] = t.len() as u8;
    Some(u64::from_le_bytes(k))
}

/// The slots of a categorical column's short values and missing markers, by
/// `short_key` (sorted): what `CategoricalColumn::slot` gives them, found without
/// string comparisons.
struct ShortSlots {
    keys: Vec<u64>,
    slots: Vec<Slot>,
}

impl ShortSlots {
    fn new(f: &CategoricalColumn, na: &NaValues) -> Self {
        let mut pairs: Vec<(u64, Slot)> = f
            .categories
            .iter()
            .chain(&na.0)
            .filter_map(|t| {
                let slot = if na.is_missing(t) {
                    f.slot(None)
                } else {
                    f.slot(Some(t))
                };
                short_key(t.as_bytes()).map(|k| (k, slot))
            })
            .collect();
        pairs.sort_by_key(|&(k, _)| k);
        pairs.dedup_by_key(|&mut (k, _)| k);
        ShortSlots {
            keys: pairs.iter().map(|&(k, _)| k).collect(),
            slots: pairs.iter().map(|&(_, s)| s).collect(),
        }
    }

    fn get(&self, t: &[u8]) -> Option<Slot> {
        let i = self.keys.binary_search(&short_key(t)?).ok()?;
        Some(self.slots[i])
    }
}

/// A pipeline's encoding of one line's fields (see the module docs).
pub(crate) struct RowEncoder<'a> {
    actions: Vec<Action<'a>>,
    target: usize,
    width: usize,
    delimiter: u8,
    na: &'a NaValues,
    /// Some missing marker is a number ("-999"): numbers must be compared to them.
    numeric_na: bool,
    /// The `short_key`s of the missing markers and of the empty text; `None` when a
    /// marker is longer.
    na_keys: Option<Vec<u64>>,
    /// The target's mean and std (regression); `None`: classes.
    regression: Option<(f64, f64)>,
}

/// The rows of one block of lines: their inputs and targets. Rows whose target is
/// missing are left out, as `visit_rows` leaves them out.
#[derive(Debug, Default)]
pub(crate) struct Block {
    /// The block's first byte in the file.
    pub(crate) start: u64,
    /// The bytes of its lines (reused).
    pub(crate) bytes: Vec<u8>,
    /// Line ends in the block.
    pub(crate) newlines: u64,
    /// Whether every line was encoded; `false`: the csv reader must read from `start`.
    pub(crate) regular: bool,
    /// Inputs, row after row.
    pub(crate) x: Vec<f32>,
    /// Per row: the standardised target (regression), or the index of its text in
    /// `labels` (classification).
    pub(crate) y: Vec<f32>,
    /// The distinct target texts of the block (classification).
    pub(crate) labels: Vec<String>,
    /// Their `short_key`s (`u64::MAX` for a longer text).
    label_keys: Vec<u64>,
}

impl Block {
    /// Rows kept.
    pub(crate) fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// The target's text of row `row` (classification).
    pub(crate) fn label(&self, row: usize) -> &str {
        &self.labels[self.y[row] as usize]
    }
}

/// Field bytes without the whitespace `str::trim` removes (a field that starts or ends
/// with a non-ASCII byte is trimmed by `str::trim` itself).
fn trim(field: &[u8]) -> &[u8] {
    let ws = |b: &u8| *b == b' ' || (b'\t'..=b'\r').contains(b);
    let start = field.iter().position(|b| !ws(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    let t = &field[start..end];
    match (t.first(), t.last()) {
        (Some(&a), Some(&b)) if a >= 0x80 || b >= 0x80 => std::str::from_utf8(t)
            .map(|s| s.trim().as_bytes())
            .unwrap_or(t),
        _ => t,
    }
}

impl<'a> RowEncoder<'a> {
    /// The encoder of `plan`'s pipeline for a file with `headers`; `None` when a feature
    /// is of a kind it does not encode, or a column is missing or named twice.
    pub(crate) fn new(plan: &'a StreamPlan, headers: &[String], delimiter: u8) -> Option<Self> {
        let pipeline = &plan.pipeline;
        let mut actions: Vec<Action<'a>> = headers.iter().map(|_| Action::Skip).collect();
        let field = |name: &str| {
            let mut found = headers.iter().enumerate().filter(|(_, h)| *h == name);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        };
        let target = field(&pipeline.target)?;
        actions[target] = Action::Target;
        let mut offset = 0;
        for feature in &pipeline.features {
            let i = field(feature.name())?;
            if !matches!(actions[i], Action::Skip) {
                return None;
            }
            actions[i] = match feature {
                Feature::Numeric(f) => Action::Numeric(f, offset),
                Feature::Categorical(f) => {
                    Action::Categorical(f, offset, ShortSlots::new(f, &pipeline.na_values))
                }
                Feature::Ordinal(f) => Action::Ordinal(f, offset),
                _ => return None,
            };
            offset += feature.width();
        }
        let na = &pipeline.na_values;
        let regression = match &pipeline.target_encoder {
            TargetEncoder::Regression { mean, std } => Some((*mean, *std)),
            TargetEncoder::Classification { .. } => None,
        };
        Some(RowEncoder {
            actions,
            target,
            width: offset,
            delimiter,
            numeric_na: na.0.iter().any(|t| crate::data::plain_number(t).is_some()),
            na_keys: std::iter::once("")
                .chain(na.0.iter().map(String::as_str))
                .map(|t| short_key(t.as_bytes()))
                .collect(),
            na,
            regression,
        })
    }

    /// Encode the lines of `block.bytes` (whole lines: it ends after a line end or at
    /// the end of the file) into `block`; `ends` is scratch.
    pub(crate) fn encode_block(&self, block: &mut Block, ends: &mut Vec<usize>) {
        block.x.clear();
        block.y.clear();
        block.labels.clear();
        block.label_keys.clear();
        block.newlines = 0;
        block.regular = false;
        let bytes = std::mem::take(&mut block.bytes);
        let plain = memchr::memchr3(b'"', b'\r', 0, &bytes).is_none()
            && std::str::from_utf8(&bytes).is_ok();
        if plain {
            let mut at = 0;
            block.regular = loop {
                let (line, next) = match memchr::memchr(b'\n', &bytes[at..]) {
                    Some(i) => (&bytes[at..at + i], at + i + 1),
                    None if at < bytes.len() => (&bytes[at..], bytes.len()),
                    None => break true,
                };
                if !self.encode_line(line, block, ends) {
                    break false;
                }
                block.newlines += u64::from(next <= bytes.len() && bytes[next - 1] == b'\n');
                at = next;
            };
        }
        block.bytes = bytes;
    }

    /// One line into `block`; `false` when it is not one this encoder can take.
    fn encode_line(&self, line: &[u8], block: &mut Block, ends: &mut Vec<usize>) -> bool {
        field_ends(line, self.delimiter, ends);
        if ends.len() == 1 && is_blank(line) {
            return true;
        }
        if ends.len() != self.actions.len() {
            return false;
        }
        let field = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] + 1 };
            trim(&line[start..ends[i]])
        };
        // The target first: a row without one is not kept.
        let target = field(self.target);
        // Valid: the block is, and fields end at ASCII bytes.
        let Ok(label) = std::str::from_utf8(target) else {
            return false;
        };
        let key = short_key(target);
        let missing = match (key, &self.na_keys) {
            (Some(k), Some(keys)) => keys.contains(&k),
            _ => self.na.is_missing(label),
        };
        if missing {
            return true;
        }
        let y = match self.regression {
            Some((mean, std)) => match canonical_decimal(target) {
                Some((v, _)) if !self.numeric_na => ((v - mean) / std) as f32,
                _ => return false,
            },
            None => {
                let found = match key {
                    Some(k) => block.label_keys.iter().position(|&l| l == k),
                    None => block.labels.iter().position(|l| l == label),
                };
                match found {
                    Some(i) => i as f32,
                    None if block.labels.len() < MAX_LABELS => {
                        block.labels.push(label.to_string());
                        block.label_keys.push(key.unwrap_or(u64::MAX));
                        (block.labels.len() - 1) as f32
                    }
                    None => return false,
                }
            }
        };
        let base = block.x.len();
        block.x.resize(base + self.width, 0.0);
        let row = &mut block.x[base..];
        for (i, action) in self.actions.iter().enumerate() {
            let ok = match action {
                Action::Skip | Action::Target => Some(()),
                Action::Numeric(f, at) => self.numeric(f, field(i)).map(|v| row[*at] = v),
                Action::Categorical(f, at, short) => {
                    let t = field(i);
                    let slot = match short.get(t) {
                        Some(slot) => Some(slot),
                        None => std::str::from_utf8(t).ok().map(|t| {
                            let value = (!self.na.is_missing(t)).then_some(t);
                            f.slot(value)
                        }),
                    };
                    slot.map(|slot| {
                        if let Slot::Known(p) | Slot::Other(p) = slot {
                            row[at + p] = 1.0;
                        }
                    })
                }
                Action::Ordinal(f, at) => std::str::from_utf8(field(i)).ok().map(|t| {
                    let index = if self.na.is_missing(t) {
                        None
                    } else {
                        f.index(t)
                    };
                    row[*at] = f.transform(index);
                }),
            }
            .is_some();
            if !ok {
                block.x.truncate(base);
                return false;
            }
        }
        block.y.push(y);
        true
    }

    /// A numeric cell's input, as `ColumnEncoder` makes it (a non-finite result is
    /// imputed); `None` for a word.
    #[inline]
    fn numeric(&self, f: &NumericColumn, t: &[u8]) -> Option<f32> {
        let value = if t.is_empty() {
            None
        } else {
            match canonical_decimal(t) {
                Some((v, _)) if !self.numeric_na => Some(v),
                _ => match parse_cell(std::str::from_utf8(t).ok()?, self.na) {
                    Cell::Number(v) => Some(v),
                    Cell::Missing | Cell::NonFinite => None,
                    Cell::Text(_) => return None,
                },
            }
        };
        let encoded = f.transform(value);
        Some(if encoded.is_finite() {
            encoded
        } else {
            f.transform(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table, CsvOptions};
    use crate::train::{plan_stream, StreamSettings, TrainSettings};

    #[test]
    fn lines_encode_as_the_pipeline_transforms_their_table_and_odd_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("x,c,y\n");
        for i in 0..300 {
            let x = ["", "NA", "007", "1e3", " -2.50 ", "inf", "12"][i % 7];
            let c = ["a", "b", " 3.50 ", ""][i % 4];
            text += &format!("{x},{c},{}\n", ["yes", "no", "no"][i % 3]);
        }
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        let settings = TrainSettings::new(path, "y");
        let plan = plan_stream(&settings, &StreamSettings::default(), &mut ()).unwrap();
        let table = read_table(path, &CsvOptions::default()).unwrap();
        let expected = plan.pipeline.transform(&table, None).unwrap().x;
        let headers: Vec<String> = ["x", "c", "y"].map(String::from).to_vec();
        let encoder = RowEncoder::new(&plan, &headers, b',').unwrap();
        let (mut block, mut ends) = (Block::default(), Vec::new());
        block.bytes = text.as_bytes()[6..].to_vec();
        encoder.encode_block(&mut block, &mut ends);
        assert!(block.regular);
        assert_eq!(block.newlines, 300);
        assert_eq!(block.x, expected.as_slice().unwrap());
        let labels: Vec<&str> = (0..3).map(|r| block.label(r)).collect();
        assert_eq!(labels, ["yes", "no", "no"]);
        for odd in [
            "1,a,yes\n2,\"b\",no\n",
            "1,a,yes\r\n",
            "1,a\n",
            "x1,a,yes\n",
            "1,\0,no\n",
        ] {
            block.bytes = odd.as_bytes().to_vec();
            encoder.encode_block(&mut block, &mut ends);
            assert!(!block.regular, "{odd:?}");
            assert_eq!(block.bytes, odd.as_bytes(), "the bytes are kept");
        }
    }
}
