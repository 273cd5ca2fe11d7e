//! `StrColumn`: the text cells of one column packed in a single string buffer.

/// One column's cells packed in a single string buffer: no allocation per cell, and a
/// 4-byte end offset per cell (a column holds at most 4 GiB of text).
#[derive(Debug, Clone, Default)]
pub struct StrColumn {
    text: String,
    ends: Vec<u32>,
}

/// The most text one column can hold.
pub const MAX_COLUMN_BYTES: usize = u32::MAX as usize;

impl StrColumn {
    /// Append a cell; `false` (and nothing appended) when the column would pass
    /// `MAX_COLUMN_BYTES`.
    pub fn try_push(&mut self, cell: &str) -> bool {
        let end = self.text.len() + cell.len();
        if end > MAX_COLUMN_BYTES {
            return false;
        }
        self.text.push_str(cell);
        self.ends.push(end as u32);
        true
    }

    /// Append every cell of `other`; `false` (and nothing appended) when the column
    /// would pass `MAX_COLUMN_BYTES`.
    pub fn try_append(&mut self, other: &StrColumn) -> bool {
        let base = self.text.len();
        if base + other.text.len() > MAX_COLUMN_BYTES {
            return false;
        }
        self.text.push_str(&other.text);
        self.ends
            .extend(other.ends.iter().map(|&end| end + base as u32));
        true
    }

    /// Append a cell of a column known to be small (tests, generated tables).
    pub fn push(&mut self, cell: &str) {
        assert!(self.try_push(cell), "a column holds at most 4 GiB of text");
    }

    /// The cell of `row`; panics when `row` is out of range.
    pub fn get(&self, row: usize) -> &str {
        let start = if row == 0 {
            0
        } else {
            self.ends[row - 1] as usize
        };
        &self.text[start..self.ends[row] as usize]
    }

    /// Bytes of text held.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}
