//! Reading the rows of an open CSV input in two threads: this one splits the input into
//! records and checks their width, a second one types and stores their cells.

use std::sync::mpsc;

use super::column::Column;
use super::delimiter::delimiter_hint;
use super::line_endings::is_blank;
use super::reader::{csv_error, text_of, CsvRows, CsvSource};
use super::table::{RawTable, SkippedRow};
use crate::error::{Error, Hint, Location, Result};

impl CsvRows<'_> {
    /// The next rows, at most `max_rows` of them (none at the end of the input), as a
    /// table with the input's headers; line numbers count from the top of the input.
    ///
    /// With more than one thread installed (`parallel::current_threads`), two threads
    /// share the work: this one splits the input into records (and checks their width), a
    /// second one types and stores their cells, a batch of records behind. On one thread,
    /// each batch is typed here as soon as it is full: the same batches in the same order,
    /// so the same table or the same error. The first error in file order wins: cells are
    /// only ever typed for records before any the splitting refused.
    pub(crate) fn read_chunk(&mut self, max_rows: usize) -> Result<RawTable> {
        let CsvRows {
            name,
            headers,
            reader,
            delimiter: _,
            blank_lines,
            delimiter_given,
            skip_bad_rows,
            headerless,
        } = self;
        let split = Split {
            name,
            headers,
            blank_lines: *blank_lines,
            delimiter_given: *delimiter_given,
            skip_bad_rows: *skip_bad_rows,
            headerless: *headerless,
            max_rows,
        };
        let mut lines = Vec::new();
        let mut skipped = Vec::new();
        let mut columns = if crate::parallel::current_threads() <= 1 {
            let mut here = TypeHere {
                columns: vec![Column::default(); headers.len()],
                typed: Ok(()),
                done: Vec::new(),
                split: &split,
            };
            let read = split.records(reader, &mut lines, &mut skipped, &mut here);
            here.typed?;
            read?;
            here.columns
        } else {
            let (to_worker, batches) =
                mpsc::sync_channel::<Vec<csv::ByteRecord>>(BATCHES_IN_FLIGHT);
            let (to_reader, recycled) = mpsc::channel::<Vec<csv::ByteRecord>>();
            let split = &split;
            std::thread::scope(|scope| {
                let worker = scope.spawn(move || -> Result<Vec<Column>> {
                    let mut columns = vec![Column::default(); split.headers.len()];
                    for batch in batches {
                        split.type_batch(&mut columns, &batch)?;
                        // The reader may have stopped already; the batch is then dropped.
                        let _ = to_reader.send(batch);
                    }
                    Ok(columns)
                });
                let mut to_worker = ToWorker {
                    to_worker,
                    recycled,
                };
                let read = split.records(reader, &mut lines, &mut skipped, &mut to_worker);
                drop(to_worker);
                let columns = worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                read?;
                Ok::<_, Error>(columns)
            })?
        };
        columns.iter_mut().for_each(Column::shrink_to_fit);
        Ok(RawTable {
            source: name.clone(),
            headers: headers.clone(),
            columns,
            lines,
            skipped,
        })
    }
}

/// How the records of a chunk are split and typed.
struct Split<'a> {
    name: &'a String,
    headers: &'a Vec<String>,
    blank_lines: u64,
    delimiter_given: bool,
    skip_bad_rows: bool,
    headerless: bool,
    max_rows: usize,
}

/// Where full batches of records go to have their cells typed.
trait BatchSink {
    /// Hand over a batch; false when typing has stopped on an error.
    fn hand_over(&mut self, batch: Vec<csv::ByteRecord>) -> bool;
    /// Records whose cells are stored, to reuse their buffers (possibly none).
    fn recycled(&mut self) -> Vec<csv::ByteRecord>;
}

/// Batches go to the thread that types them.
struct ToWorker {
    to_worker: mpsc::SyncSender<Vec<csv::ByteRecord>>,
    recycled: mpsc::Receiver<Vec<csv::ByteRecord>>,
}

impl BatchSink for ToWorker {
    fn hand_over(&mut self, batch: Vec<csv::ByteRecord>) -> bool {
        self.to_worker.send(batch).is_ok()
    }
    fn recycled(&mut self) -> Vec<csv::ByteRecord> {
        self.recycled.try_recv().unwrap_or_default()
    }
}

/// Batches are typed on this thread as they come.
struct TypeHere<'a> {
    columns: Vec<Column>,
    typed: Result<()>,
    done: Vec<csv::ByteRecord>,
    split: &'a Split<'a>,
}

impl BatchSink for TypeHere<'_> {
    fn hand_over(&mut self, batch: Vec<csv::ByteRecord>) -> bool {
        self.typed = self.split.type_batch(&mut self.columns, &batch);
        self.done = batch;
        self.typed.is_ok()
    }
    fn recycled(&mut self) -> Vec<csv::ByteRecord> {
        std::mem::take(&mut self.done)
    }
}

impl Split<'_> {
    /// Store the cells of a batch of records in `columns`.
    fn type_batch(&self, columns: &mut [Column], batch: &[csv::ByteRecord]) -> Result<()> {
        for record in batch {
            push_record(columns, record, self.name, self.headers, self.blank_lines)?;
        }
        Ok(())
    }

    /// Split records off `reader` into batches for `sink`, up to `max_rows` rows, noting
    /// each kept row's line and each skipped row. Stops early, without an error, when the
    /// sink stops.
    fn records(
        &self,
        reader: &mut CsvSource<'_>,
        lines: &mut Vec<u64>,
        skipped: &mut Vec<SkippedRow>,
        sink: &mut dyn BatchSink,
    ) -> Result<()> {
        let (name, headers, blank_lines) = (self.name, self.headers, self.blank_lines);
        let mut batch: Vec<csv::ByteRecord> = Vec::with_capacity(BATCH_ROWS);
        let mut spare = csv::ByteRecord::new();
        let mut pool: Vec<csv::ByteRecord> = Vec::new();
        while lines.len() < self.max_rows
            && reader
                .read_byte_record(&mut spare)
                .map_err(|e| csv_error(name, blank_lines, e))?
        {
            let line = spare.position().map(|p| p.line()).unwrap_or(0) + blank_lines;
            if spare.len() == 1 && is_blank(&spare[0]) {
                continue; // a line of spaces is a blank line
            }
            if spare.len() != headers.len() {
                if self.skip_bad_rows {
                    skipped.push(SkippedRow {
                        line,
                        fields: spare.len(),
                    });
                    continue;
                }
                return Err(width_error(self, line, &spare));
            }
            lines.push(line);
            // Keep the record; records (and their buffers) come back in batches the sink
            // is done with.
            if pool.is_empty() {
                pool = sink.recycled();
            }
            batch.push(std::mem::replace(
                &mut spare,
                pool.pop().unwrap_or_default(),
            ));
            if batch.len() == BATCH_ROWS {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                if !sink.hand_over(full) {
                    return Ok(()); // typing stopped on an error
                }
            }
        }
        if !batch.is_empty() {
            sink.hand_over(batch);
        }
        Ok(())
    }
}

/// Records per batch handed to the thread that stores cells, and batches in flight.
const BATCH_ROWS: usize = 256;
const BATCHES_IN_FLIGHT: usize = 4;

/// Store one record's cells (as many as the header has names) in `columns`.
fn push_record(
    columns: &mut [Column],
    record: &csv::ByteRecord,
    name: &str,
    headers: &[String],
    blank_lines: u64,
) -> Result<()> {
    let line = || record.position().map(|p| p.line()).unwrap_or(0) + blank_lines;
    push_fields(columns, record.iter(), name, headers, line)
}

/// Store a row's fields (as many as `columns`) in `columns`; `line` is where the row
/// starts, for a message.
#[inline]
pub(super) fn push_fields<'f>(
    columns: &mut [Column],
    fields: impl Iterator<Item = &'f [u8]>,
    name: &str,
    headers: &[String],
    line: impl Fn() -> u64,
) -> Result<()> {
    for ((field, column), header) in fields.zip(columns.iter_mut()).zip(headers) {
        push_field(column, field, name, header, &line)?;
    }
    Ok(())
}

/// Store one field in `column` (of the column named `header`); `line` is where its row
/// starts, for a message.
#[inline]
pub(super) fn push_field(
    column: &mut Column,
    field: &[u8],
    name: &str,
    header: &str,
    line: impl Fn() -> u64,
) -> Result<()> {
    // Plain numbers, the bulk of most files, are ASCII: no text checks needed.
    if column.try_push_number(field) {
        return Ok(());
    }
    let text = text_of(field, || Location::file(name).line(line()).column(header))?;
    if !column.try_push(text.trim()) {
        return Err(Error::data(
            Location::file(name).line(line()).column(header),
            "the column holds more than 4 GiB of text; expected a smaller file (split it, or predict from a stream)",
        ));
    }
    Ok(())
}

/// The error for a row whose number of fields differs from the header's (or from the
/// number of names given).
fn width_error(split: &Split<'_>, line: u64, record: &csv::ByteRecord) -> Error {
    let (headers, fields) = (split.headers, record.len());
    if !split.headerless {
        return header_width_error(split.name, headers, split.delimiter_given, line, fields);
    }
    let one_field = !split.delimiter_given && fields == 1 && headers.len() > 1;
    let broken = record
        .iter()
        .any(|f| f.contains(&b'"') || f.contains(&b'\n'));
    let hint = if broken {
        Hint::CutInsideRecord
    } else if one_field {
        Hint::AnotherDelimiter
    } else {
        Hint::SkipBadRows
    };
    counted_width_error(
        split.name,
        headers,
        line,
        fields,
        "one per column name given",
        hint,
    )
}

/// The error for a row of `fields` fields in a file whose header names `headers`.
pub(super) fn header_width_error(
    name: &str,
    headers: &[String],
    delimiter_given: bool,
    line: u64,
    fields: usize,
) -> Error {
    let hint = if !delimiter_given && headers.len() == 1 {
        Hint::AnotherDelimiter
    } else {
        delimiter_hint(headers).unwrap_or(Hint::SkipBadRows)
    };
    counted_width_error(name, headers, line, fields, "as in the header", hint)
}

fn counted_width_error(
    name: &str,
    headers: &[String],
    line: u64,
    fields: usize,
    as_in: &str,
    hint: Hint,
) -> Error {
    Error::data(
        Location::file(name).line(line),
        format!(
            "{} fields expected ({as_in}), {fields} found",
            headers.len()
        ),
    )
    .with_hint(Some(hint))
}

#[cfg(test)]
mod tests {
    use crate::data::{read_table_from, CsvOptions, RawTable};
    use crate::error::Result;
    use std::io::Cursor;

    fn read(text: &[u8]) -> Result<RawTable> {
        read_table_from(Cursor::new(text.to_vec()), "t.csv", &CsvOptions::default())
    }

    #[test]
    fn a_short_row_is_refused_with_a_hint() {
        let err = read(b"a,b\n1,2\n3\n").unwrap_err();
        assert!(matches!(
            err,
            crate::Error::Data {
                hint: Some(crate::error::Hint::SkipBadRows),
                ..
            }
        ));
        let err = read(b"a;b\n1;2\n3\n").unwrap_err();
        assert!(
            matches!(
                &err,
                crate::Error::Data {
                    hint: Some(crate::error::Hint::SkipBadRows),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn the_first_error_in_the_file_wins_across_batches() {
        for threads in [1, 2] {
            let _pool = crate::parallel::install(threads);
            first_error_wins();
        }
    }

    #[test]
    fn one_and_two_threads_read_the_same_table() {
        let mut text = b"a,b,c\n".to_vec();
        for i in 0..3_000 {
            text.extend_from_slice(format!("{i},{}.5,x{}\n", i % 7, i % 11).as_bytes());
        }
        let tables: Vec<RawTable> = [1, 2]
            .iter()
            .map(|&threads| {
                let _pool = crate::parallel::install(threads);
                read(&text).unwrap()
            })
            .collect();
        assert_eq!(tables[0].lines, tables[1].lines);
        for (a, b) in tables[0].columns.iter().zip(&tables[1].columns) {
            assert_eq!(a.len(), 3_000);
            assert!((0..a.len()).all(|r| a.text_at(r) == b.text_at(r)));
        }
    }

    fn first_error_wins() {
        // Rows past several batches; a bad UTF-8 cell (found where cells are typed) and a
        // short row (found where records are split).
        let table = |bad_utf8: usize, short: usize| {
            let mut text = b"a,b\n".to_vec();
            for i in 0..2_000 {
                if i == bad_utf8 {
                    text.extend_from_slice(b"\xff,1\n");
                } else if i == short {
                    text.extend_from_slice(b"1\n");
                } else {
                    text.extend_from_slice(format!("{i},{}\n", i % 3).as_bytes());
                }
            }
            read(&text).unwrap_err().to_string()
        };
        let utf8_first = table(700, 1_500);
        assert!(
            utf8_first.starts_with("t.csv: line 702: column 'a': the value"),
            "{utf8_first}"
        );
        let short_first = table(1_500, 700);
        assert!(
            short_first.starts_with("t.csv: line 702: 2 fields expected"),
            "{short_first}"
        );
        let t = read(b"a,b\n1,x\n").unwrap();
        assert_eq!((t.n_rows(), t.columns[1].text_at(0).as_ref()), (1, "x"));
    }
}
