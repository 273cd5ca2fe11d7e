//! Reading a plain CSV file on all cores. The rows after the header are cut into byte
//! ranges at line ends, one per thread; each thread reads its range with its own buffer,
//! splits lines and fields itself and types the cells into the columns (small integers
//! straight to their place in the file's, `range_columns`); the ranges' columns are then
//! joined in file order. Only a file with no quote character and
//! no carriage return after its header is read this way (its records are then exactly
//! its lines): a range that meets either hands the whole file back to the csv reader
//! (`records.rs`), as do gzip, stdin, headerless input and files over 4 GiB. The table,
//! the skipped rows and the first error in file order are those the csv reader gives.

use std::fs::File;
use std::io::BufReader;
use std::ops::Range;

use super::column::Column;
use super::line_block::{Columns, LineBlock};
use super::line_endings::is_blank;
use super::range_columns::{self, SharedColumns};
use super::read_at::{read_some, ReadAt, Reader};
use super::reader::{CsvOptions, CsvRows, FILE_BUFFER};
use super::records::header_width_error;
use super::small_values::Region;
use super::table::{RawTable, SkippedRow};
use crate::error::{Error, Result};

/// Bytes a range's thread reads at a time (more when one line is longer).
const CHUNK: usize = 1 << 20;
/// Fewest bytes per range: a thread costs more than reading less.
const MIN_RANGE: u64 = 4 << 20;
/// Largest file read this way: no column's text can then pass the 4 GiB column limit
/// when ranges are joined.
const MAX_FILE: u64 = u32::MAX as u64;

/// Read `path` on all installed threads when it is a plain CSV file this reader takes;
/// `None` when the csv reader must read it (see the module's doc).
pub(super) fn read_plain_file(path: &str, options: &CsvOptions) -> Result<Option<RawTable>> {
    if path == "-" || options.columns.is_some() || !cfg!(any(unix, windows)) {
        return Ok(None);
    }
    // Anything odd (a missing file, a directory) is left to the csv reader to report.
    let Ok(file) = File::open(path) else {
        return Ok(None);
    };
    let len = match file.metadata() {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE => m.len(),
        _ => return Ok(None),
    };
    let mut magic = [0u8; 2];
    if file.read_at(&mut magic, 0).ok() != Some(2) || magic == [0x1f, 0x8b] {
        return Ok(None); // gzip, or too short to matter
    }
    let threads = crate::parallel::current_threads();
    let parts = (len / MIN_RANGE).clamp(1, threads.max(1) as u64) as usize;
    read_ranges(&file, len, path, options, parts, CHUNK)
}

/// Read `len` bytes of `source` as a CSV file with a header, its rows in `parts` ranges
/// read `chunk` bytes at a time; `None` when the csv reader must read it.
pub(super) fn read_ranges(
    source: &(impl ReadAt + ?Sized),
    len: u64,
    name: &str,
    options: &CsvOptions,
    parts: usize,
    chunk: usize,
) -> Result<Option<RawTable>> {
    // The header as the csv reader reads it (same checks, same errors).
    let head = BufReader::with_capacity(FILE_BUFFER, Reader { source, at: 0 });
    let rows = CsvRows::from_input(Box::new(head), name, options, FILE_BUFFER)?;
    if matches!(rows.delimiter, b'"' | b'\n' | b'\r') {
        return Ok(None);
    }
    // The rows start after the header's line and the blank lines before it.
    let Some(start) = line_start(source, len, rows.blank_lines + 1, name)? else {
        return Ok(None);
    };
    let layout = Layout {
        name,
        headers: &rows.headers,
        delimiter: rows.delimiter,
        delimiter_given: rows.delimiter_given,
        skip_bad_rows: rows.skip_bad_rows,
    };
    let mut cuts = vec![start];
    for k in 1..parts {
        let nominal = start + (len - start) * k as u64 / parts as u64;
        let after = nominal.max(*cuts.last().expect("one cut")).max(1) - 1;
        cuts.push(next_line_start(source, len, after, name)?);
    }
    cuts.push(len);
    let ranges: Vec<Range<u64>> = cuts.windows(2).map(|w| w[0]..w[1]).collect();
    let mut shared = None;
    let results: Vec<Result<Option<Part>>> = if ranges.len() == 1 {
        vec![layout.read_range(source, ranges[0].clone(), chunk, None)]
    } else {
        // Each range's small integers go straight to their place in the file's columns.
        let width = rows.headers.len();
        let Some(columns) = SharedColumns::new(source, &ranges, width, name)? else {
            return Ok(None);
        };
        let columns = shared.insert(columns);
        // SAFETY: the vectors stay untouched until `range_columns::join`, after the
        // threads that write the regions have ended.
        let regions = unsafe { columns.regions() };
        std::thread::scope(|scope| {
            let mut jobs = ranges.iter().cloned().zip(regions);
            let (first, first_regions) = jobs.next().expect("two ranges or more");
            let handles: Vec<_> = jobs
                .map(|(range, regions)| {
                    let layout = &layout;
                    scope.spawn(move || layout.read_range(source, range, chunk, Some(regions)))
                })
                .collect();
            let mut results = vec![layout.read_range(source, first, chunk, Some(first_regions))];
            results.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
            );
            results
        })
    };
    // In file order: the first range that meets a quote or fails decides.
    let first_line = rows.blank_lines + 2;
    let mut parts = Vec::with_capacity(results.len());
    let mut next_line = first_line;
    for result in results {
        let Some(mut part) = result.map_err(|e| shifted(e, next_line))? else {
            return Ok(None);
        };
        part.lines.iter_mut().for_each(|l| *l += next_line);
        part.skipped.iter_mut().for_each(|s| s.line += next_line);
        next_line += part.newlines;
        parts.push(part);
    }
    let mut lines = Vec::with_capacity(parts.iter().map(|p| p.lines.len()).sum());
    let mut skipped = Vec::new();
    let mut columns = Vec::with_capacity(parts.len());
    for part in parts {
        lines.extend(part.lines);
        skipped.extend(part.skipped);
        columns.push((part.columns, part.in_region));
    }
    Ok(Some(RawTable {
        source: name.to_string(),
        headers: rows.headers.clone(),
        columns: range_columns::join(columns, shared),
        lines,
        skipped,
    }))
}

/// The offset after the `lines`-th line end; `len` when the input has fewer; `None`
/// when a carriage return comes first (line ends are then not all `\n`).
pub(super) fn line_start(
    source: &(impl ReadAt + ?Sized),
    len: u64,
    lines: u64,
    name: &str,
) -> Result<Option<u64>> {
    let mut buf = vec![0u8; FILE_BUFFER];
    let (mut at, mut left) = (0u64, lines);
    while at < len {
        let n = read_some(source, &mut buf, at, name)?;
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\r' {
                return Ok(None);
            }
            if b == b'\n' {
                left -= 1;
                if left == 0 {
                    return Ok(Some(at + i as u64 + 1));
                }
            }
        }
        at += n as u64;
    }
    Ok(Some(len))
}

/// The offset after the first `\n` at or after `from`; `len` when there is none.
fn next_line_start(
    source: &(impl ReadAt + ?Sized),
    len: u64,
    from: u64,
    name: &str,
) -> Result<u64> {
    let mut buf = vec![0u8; FILE_BUFFER];
    let mut at = from;
    while at < len {
        let n = read_some(source, &mut buf, at, name)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
    Ok(len)
}

/// The offset of each `delimiter` in `line`, then `line.len()`, into `ends`. Eight bytes
/// at a time: most fields are a few characters long, too short for `memchr` to pay off.
pub(crate) fn field_ends(line: &[u8], delimiter: u8, ends: &mut Vec<usize>) {
    ends.clear();
    append_field_ends(line, delimiter, ends);
}

/// `field_ends` appended to `ends`.
pub(super) fn append_field_ends(line: &[u8], delimiter: u8, ends: &mut Vec<usize>) {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = u64::from_ne_bytes([delimiter; 8]);
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ pattern;
        // The high bit of each byte that is zero in x, that is equal to the delimiter.
        let mut found = !(((x & LOW).wrapping_add(LOW)) | x) & HIGH;
        while found != 0 {
            ends.push(base + found.trailing_zeros() as usize / 8);
            found &= found - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == delimiter {
            ends.push(base + i);
        }
    }
    ends.push(line.len());
}

/// An error found in a range, its line counted from the range's first line, moved to
/// the file's line numbers.
pub(super) fn shifted(mut error: Error, first_line: u64) -> Error {
    if let Error::Data { location, .. } = &mut error {
        if let Some(line) = &mut location.line {
            *line += first_line;
        }
    }
    error
}

/// What every range's thread needs to know of the file.
struct Layout<'a> {
    name: &'a str,
    headers: &'a [String],
    delimiter: u8,
    delimiter_given: bool,
    skip_bad_rows: bool,
}

/// The rows of one range; lines counted from the range's first line (0).
struct Part {
    columns: Vec<Column>,
    /// Per column, the number of values left in its region (`range_columns`).
    in_region: Vec<Option<usize>>,
    lines: Vec<u64>,
    skipped: Vec<SkippedRow>,
    /// Line ends in the range.
    newlines: u64,
    /// Bytes in the range (its rows are estimated from its first line).
    bytes: u64,
}

impl Layout<'_> {
    /// Read the rows of `range`, small integers into `regions` (one per column) when
    /// given; `None` when it holds a quote or a carriage return, or more lines than its
    /// regions have room for (the file changed since they were counted).
    fn read_range(
        &self,
        source: &(impl ReadAt + ?Sized),
        range: Range<u64>,
        chunk: usize,
        regions: Option<Vec<Region>>,
    ) -> Result<Option<Part>> {
        let width = self.headers.len();
        let mut columns = regions.map_or_else(|| Columns::new(width), Columns::in_regions);
        let mut part = Part {
            columns: Vec::new(),
            in_region: Vec::new(),
            lines: Vec::new(),
            skipped: Vec::new(),
            newlines: 0,
            bytes: range.end - range.start,
        };
        let mut block = LineBlock::new(self.headers.len());
        let mut buf = vec![0u8; chunk.min((range.end - range.start) as usize).max(1)];
        // buf[..filled] holds bytes not yet split into lines; `at` is the next offset.
        let (mut filled, mut at) = (0usize, range.start);
        loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0); // a line longer than the buffer
            }
            let want = (buf.len() - filled).min((range.end - at) as usize);
            let n = if want == 0 {
                0
            } else {
                read_some(source, &mut buf[filled..filled + want], at, self.name)?
            };
            if memchr::memchr2(b'"', b'\r', &buf[filled..filled + n]).is_some() {
                return Ok(None);
            }
            filled += n;
            at += n as u64;
            let at_end = n == 0;
            let mut used = 0;
            while let Some(nl) = memchr::memchr(b'\n', &buf[used..filled]) {
                self.take_line(&buf, used..used + nl, &mut part, &mut columns, &mut block)?;
                part.newlines += 1;
                used += nl + 1;
            }
            if at_end && used < filled {
                self.take_line(&buf, used..filled, &mut part, &mut columns, &mut block)?;
            }
            // The held lines lie in `buf`: typed before it moves.
            block.flush(&buf, &mut columns, self.name, self.headers)?;
            if columns.overflowed {
                return Ok(None);
            }
            if at_end {
                (part.columns, part.in_region) = columns.finish();
                return Ok(Some(part));
            }
            buf.copy_within(used..filled, 0);
            filled -= used;
        }
    }

    /// One line (at `at` in `buf`, without its `\n`), the range's `part.newlines`-th:
    /// skipped when blank, refused (or skipped) when its width is wrong, else held in
    /// `block` for its cells to be typed into `columns` (now when the block is full).
    fn take_line(
        &self,
        buf: &[u8],
        at: Range<usize>,
        part: &mut Part,
        columns: &mut Columns,
        block: &mut LineBlock,
    ) -> Result<()> {
        let line_no = part.newlines;
        let line = &buf[at.clone()];
        let fields = block.add_fields(buf, at.clone(), self.delimiter);
        if fields == 1 && is_blank(line) {
            return Ok(());
        }
        if fields != self.headers.len() {
            if self.skip_bad_rows {
                part.skipped.push(SkippedRow {
                    line: line_no,
                    fields,
                });
                return Ok(());
            }
            // An error in the lines held comes first.
            block.flush(buf, columns, self.name, self.headers)?;
            return Err(header_width_error(
                self.name,
                self.headers,
                self.delimiter_given,
                line_no,
                fields,
            ));
        }
        if part.lines.is_empty() {
            // Room for the rows the range holds if its lines are as long as this one,
            // with half as many again: a first line longer than the average (W1's is 12%
            // longer) left the columns short, and growing them moved every column. Room
            // never written costs no memory, and giving back less than half of it moves
            // nothing. (Columns in shared regions have their room already.)
            let rows = part.bytes / (line.len() as u64 + 1) + 64;
            let rows = (rows + rows / 2) as usize;
            columns.reserve(rows);
            part.lines.reserve(rows);
        }
        part.lines.push(line_no);
        if block.keep(at, line_no) {
            block.flush(buf, columns, self.name, self.headers)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_table_from;
    use std::io::Cursor;

    /// The csv reader's answer: the table, or the error as text.
    fn by_csv_reader(text: &[u8], options: &CsvOptions) -> std::result::Result<RawTable, String> {
        read_table_from(Cursor::new(text.to_vec()), "t.csv", options).map_err(|e| e.to_string())
    }

    fn by_ranges(
        text: &[u8],
        options: &CsvOptions,
        parts: usize,
        chunk: usize,
    ) -> Option<std::result::Result<RawTable, String>> {
        match read_ranges(text, text.len() as u64, "t.csv", options, parts, chunk) {
            Ok(None) => None,
            Ok(Some(table)) => Some(Ok(table)),
            Err(e) => Some(Err(e.to_string())),
        }
    }

    fn assert_same(a: &RawTable, b: &RawTable) {
        assert_eq!(a.headers, b.headers);
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.skipped, b.skipped);
        let na = crate::data::NaValues::default();
        for (x, y) in a.columns.iter().zip(&b.columns) {
            assert_eq!(x.len(), y.len());
            let (xs, ys) = (x.cells(&na), y.cells(&na));
            for row in 0..x.len() {
                assert_eq!(x.text_at(row), y.text_at(row), "row {row}");
                // A column may be stored as text in one and as numbers in the other
                // (ranges typed apart): what its cells hold is the same.
                assert_eq!(xs.get(row), ys.get(row), "row {row}");
            }
        }
    }

    /// Every split and buffer size gives what the csv reader gives, table or error.
    fn agrees(text: &[u8], options: &CsvOptions) {
        let expected = by_csv_reader(text, options);
        for parts in [1, 2, 3, 5] {
            for chunk in [1, 7, 100, 1 << 20] {
                let got = by_ranges(text, options, parts, chunk)
                    .unwrap_or_else(|| panic!("no quotes: read by ranges ({parts}, {chunk})"));
                match (&expected, &got) {
                    (Ok(a), Ok(b)) => assert_same(a, b),
                    (Err(a), Err(b)) => assert_eq!(a, b, "parts {parts}, chunk {chunk}"),
                    _ => panic!("{parts} parts, chunk {chunk}: {expected:?} vs {got:?}"),
                }
            }
        }
    }

    /// A file of mixed cells: integers, decimals, words, missing markers, spaces, blank
    /// lines, a column that turns to text only late in the file.
    fn mixed(rows: usize) -> Vec<u8> {
        let mut text = b"\n  \nid,x,y,word,late\n".to_vec();
        for i in 0..rows {
            let x = match i % 9 {
                0 => String::new(),
                1 => "NA".into(),
                2 => format!("{}.{}", i, i % 100),
                3 => "1e3".into(),
                4 => format!(" {} ", i),
                _ => format!("-{}", i * 7),
            };
            let late = if i > rows * 3 / 4 {
                format!("w{i}")
            } else {
                i.to_string()
            };
            text.extend_from_slice(format!("{i},{x},{}.25,w{},{late}\n", i % 13, i % 5).as_bytes());
            if i % 97 == 0 {
                text.extend_from_slice(b"\n   \n");
            }
        }
        text
    }

    #[test]
    fn every_split_reads_the_table_the_csv_reader_reads() {
        let options = CsvOptions::default();
        agrees(&mixed(400), &options);
        // No newline at the end, a header only, one row.
        agrees(b"a;b\n1;2\n3;4", &options);
        agrees(b"a,b", &options);
        agrees(b"a,b\n", &options);
        agrees(b"\xEF\xBB\xBFa,b\n1,x\n", &options);
        let skip = CsvOptions {
            skip_bad_rows: true,
            ..CsvOptions::default()
        };
        let mut bad = mixed(300);
        bad.extend_from_slice(b"1,2\n1,2,3,4,5,6\n7,8,9,x,y\n");
        agrees(&bad, &skip);
    }

    /// The same tables and errors where the CPU has no AVX2 (the portable reading).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn without_avx2_every_split_reads_the_table_the_csv_reader_reads() {
        use std::sync::atomic::Ordering;
        super::super::line_simd::PORTABLE_ONLY.store(true, Ordering::Relaxed);
        let options = CsvOptions::default();
        agrees(&mixed(400), &options);
        agrees(b"a;b\n1;-2\n3;4", &options);
        let mut bad = mixed(100);
        bad.extend_from_slice(b"1,2,3,x,\xff\n");
        agrees(&bad, &options);
        super::super::line_simd::PORTABLE_ONLY.store(false, Ordering::Relaxed);
    }

    /// A range with more lines than its regions have room for (the file grew after its
    /// lines were counted) is handed back, not written past them.
    #[test]
    fn a_range_with_more_lines_than_counted_is_handed_back() {
        let text = b"a,b\n1,2\n3,4\n5,6\n";
        let headers = vec!["a".to_string(), "b".to_string()];
        let layout = Layout {
            name: "t.csv",
            headers: &headers,
            delimiter: b',',
            delimiter_given: false,
            skip_bad_rows: false,
        };
        let range = 4..text.len() as u64;
        for (room, read) in [(2, false), (3, true)] {
            let mut buffers: Vec<Vec<f32>> = (0..2).map(|_| Vec::with_capacity(room)).collect();
            let regions = buffers
                .iter_mut()
                // SAFETY: room for `room` values; the vectors are untouched meanwhile.
                .map(|b| unsafe { Region::new(b, 0, room) })
                .collect();
            let part = layout
                .read_range(&text[..], range.clone(), 64, Some(regions))
                .unwrap();
            assert_eq!(part.is_some(), read, "room for {room}");
            if let Some(part) = part {
                assert_eq!(part.in_region, vec![Some(3), Some(3)]);
            }
        }
    }

    #[test]
    fn an_error_in_a_later_range_names_its_line_and_the_first_one_wins() {
        let options = CsvOptions::default();
        let rows = 400;
        // Line numbers: 3 lines before the header's, then rows (and blank lines).
        for (late, early) in [(350, None), (390, Some(300)), (399, Some(20))] {
            for bad in [&b"1,2\n"[..], b"1,\xff,2,3,4\n", b"1,\x00,2,3,4\n"] {
                let mut text = Vec::new();
                for (i, line) in mixed(rows).split_inclusive(|&b| b == b'\n').enumerate() {
                    if i == late || Some(i) == early {
                        text.extend_from_slice(bad);
                    }
                    text.extend_from_slice(line);
                }
                agrees(&text, &options);
                let err = by_csv_reader(&text, &options).unwrap_err();
                assert!(err.starts_with("t.csv: "), "{err}");
            }
        }
        let err = by_ranges(b"a,b\n1,2\n3,4\n5\n", &options, 3, 1)
            .unwrap()
            .unwrap_err();
        assert!(err.starts_with("t.csv: line 4: 2 fields expected"), "{err}");
    }

    #[test]
    fn a_quote_or_carriage_return_anywhere_hands_the_file_to_the_csv_reader() {
        let options = CsvOptions::default();
        let base = mixed(200);
        // A quoted field holding a line break, at each line start around the middle,
        // where two or three ranges are cut.
        let starts: Vec<usize> = memchr::memchr_iter(b'\n', &base)
            .map(|i| i + 1)
            .filter(|&i| i.abs_diff(base.len() / 2) < 200 || i.abs_diff(base.len() / 3) < 200)
            .collect();
        assert!(starts.len() > 10);
        for start in starts {
            let mut text = base.clone();
            text.splice(start..start, b"7,\"1\n2\",3,w,4\n".iter().copied());
            for parts in 1..4 {
                assert!(by_ranges(&text, &options, parts, 64).is_none());
            }
            let table = by_csv_reader(&text, &options).unwrap();
            assert!(table.columns[1].texts().any(|t| t == "1\n2"));
        }
        assert!(by_ranges(b"a,b\n1,2\r\n", &options, 1, 64).is_none());
        assert!(by_ranges(b"a,b\r\n1,2\n", &options, 2, 64).is_none());
        // Quotes in the header alone are the csv reader's business, not the rows'.
        agrees(b"\"a\",\"b\"\n1,2\n", &options);
    }

    /// Lines are typed in blocks a column at a time: within a block, the error of the
    /// earliest line (its first bad column) still wins over a later line's earlier
    /// column, and over a width error after it; columns turn from small integers to
    /// other cells anywhere in a block.
    #[test]
    fn within_a_block_the_first_error_in_file_order_wins() {
        let options = CsvOptions::default();
        let line = |i: usize| format!("{i},{},{},-{i}\n", i % 256, i % 7).into_bytes();
        let text_of = |case: &[(usize, &[u8])]| {
            let mut text = b"a,b,c,d\n".to_vec();
            for i in 0..60 {
                match case.iter().find(|(at, _)| *at == i) {
                    Some((_, bad)) => text.extend_from_slice(bad),
                    None => text.extend_from_slice(&line(i)),
                }
            }
            text
        };
        let cases: [&[(usize, &[u8])]; 4] = [
            &[(5, b"1,2,\xff,4\n"), (9, b"\xff,2,3,4\n")],
            &[(5, b"1,2\n"), (9, b"\xff,2,3,4\n")],
            &[(3, b"1,2.5,x,4\n"), (20, b"1,\x00,3,4\n")],
            &[(3, b"1,2.5,x,4\n"), (4, b"007,,NA,1e3\n")],
        ];
        for case in cases {
            agrees(&text_of(case), &options);
        }
        // A bad cell before a short row, both in one block: the cell's error, as a line
        // at a time gave. (The csv reader checks a batch's widths before typing it, and
        // names the short row.)
        let text = text_of(&[(5, b"1,2,3,\xff\n"), (6, b"1,\xff,3,4\n"), (7, b"1,2\n")]);
        for parts in [1, 2, 3] {
            for chunk in [7, 100, 1 << 20] {
                let err = by_ranges(&text, &options, parts, chunk)
                    .unwrap()
                    .unwrap_err();
                assert!(err.starts_with("t.csv: line 7: column 'd'"), "{err}");
            }
        }
    }
}
