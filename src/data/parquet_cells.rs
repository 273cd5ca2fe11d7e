//! Reading the values of one Parquet column chunk into a `Column`: each value is written
//! as the text a CSV export would hold for it and stored the way a CSV cell is, so that
//! both formats give the same table. A null is an empty cell, that is a missing value.

use std::fmt::Write;

use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType, FixedLenByteArray, Int96};
use parquet::errors::ParquetError;

use super::column::Column;
use super::iso_time::{write_date, write_time, write_timestamp, Unit};
use super::parquet_kind::Kind;

/// Rows decoded at a time: the buffers stay small whatever the chunk size.
const BATCH_ROWS: usize = 4096;

/// Why reading a column chunk stopped.
#[derive(Debug)]
pub(crate) enum ReadProblem {
    /// The parquet crate could not decode the data.
    Parquet(ParquetError),
    /// The column chunk ended after this many of the rows asked for.
    Short { read: usize },
    /// A value that cannot be a cell, at this row (counted from the first row asked for).
    Cell { row: usize, message: String },
    /// The column would pass the text limit of a column.
    TooLarge,
}

impl From<ParquetError> for ReadProblem {
    fn from(e: ParquetError) -> Self {
        ReadProblem::Parquet(e)
    }
}

/// Decoding buffers, reused from batch to batch and column to column.
#[derive(Default)]
pub(crate) struct Scratch {
    defs: Vec<i16>,
    bools: Vec<bool>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    int96s: Vec<Int96>,
    f32s: Vec<f32>,
    f64s: Vec<f64>,
    bytes: Vec<ByteArray>,
    fixed: Vec<FixedLenByteArray>,
    text: String,
}

/// An empty column for values of `kind`: text for kinds that are never numbers (which
/// is what a CSV column of such cells becomes), else one that stores numbers while it can.
pub(crate) fn empty_column(kind: Kind) -> Column {
    match kind {
        Kind::Bool
        | Kind::Date
        | Kind::Time(_)
        | Kind::Timestamp { .. }
        | Kind::Int96Timestamp
        | Kind::Uuid => Column::text(),
        _ => Column::default(),
    }
}

/// Append the next `rows` rows of `reader` to `column`; `max_def` is the column's
/// maximum definition level (0 when it cannot be null).
pub(crate) fn read_rows(
    reader: &mut ColumnReader,
    kind: Kind,
    max_def: i16,
    rows: usize,
    column: &mut Column,
    scratch: &mut Scratch,
) -> Result<(), ReadProblem> {
    let Scratch {
        defs,
        bools,
        i32s,
        i64s,
        int96s,
        f32s,
        f64s,
        bytes,
        fixed,
        text,
    } = scratch;
    let mut out = Out {
        kind,
        max_def,
        column,
        text,
    };
    match reader {
        ColumnReader::BoolColumnReader(r) => out.read(r, rows, defs, bools),
        ColumnReader::Int32ColumnReader(r) => out.read(r, rows, defs, i32s),
        ColumnReader::Int64ColumnReader(r) => out.read(r, rows, defs, i64s),
        ColumnReader::Int96ColumnReader(r) => out.read(r, rows, defs, int96s),
        ColumnReader::FloatColumnReader(r) => out.read(r, rows, defs, f32s),
        ColumnReader::DoubleColumnReader(r) => out.read(r, rows, defs, f64s),
        ColumnReader::ByteArrayColumnReader(r) => out.read(r, rows, defs, bytes),
        ColumnReader::FixedLenByteArrayColumnReader(r) => out.read(r, rows, defs, fixed),
    }
}

/// Where decoded values go.
struct Out<'a> {
    kind: Kind,
    max_def: i16,
    column: &'a mut Column,
    text: &'a mut String,
}

impl Out<'_> {
    fn read<T: DataType>(
        &mut self,
        reader: &mut ColumnReaderImpl<T>,
        rows: usize,
        defs: &mut Vec<i16>,
        values: &mut Vec<T::T>,
    ) -> Result<(), ReadProblem>
    where
        T::T: CellValue,
    {
        let mut done = 0;
        while done < rows {
            defs.clear();
            values.clear();
            let batch = (rows - done).min(BATCH_ROWS);
            let (records, _, _) = reader.read_records(batch, Some(defs), None, values)?;
            if records == 0 {
                return Err(ReadProblem::Short { read: done });
            }
            let mut values = values.iter();
            for row in 0..records {
                self.text.clear();
                // No levels when the column cannot be null.
                if defs.get(row).is_none_or(|&d| d == self.max_def) {
                    // The reader counted as many values as definition levels say.
                    let value = values
                        .next()
                        .ok_or(ReadProblem::Short { read: done + row })?;
                    value
                        .write(self.kind, self.text)
                        .map_err(|message| ReadProblem::Cell {
                            row: done + row,
                            message,
                        })?;
                }
                let cell = if self.kind == Kind::Text {
                    self.text.trim()
                } else {
                    self.text.as_str()
                };
                if !self.column.try_push(cell) {
                    return Err(ReadProblem::TooLarge);
                }
            }
            done += records;
        }
        Ok(())
    }
}

/// A Parquet value written as cell text.
trait CellValue {
    /// Append the text of the value, read as `kind`, to `out`; or say why it is no cell.
    fn write(&self, kind: Kind, out: &mut String) -> Result<(), String>;
}

impl CellValue for bool {
    fn write(&self, _: Kind, out: &mut String) -> Result<(), String> {
        out.push_str(if *self { "true" } else { "false" });
        Ok(())
    }
}

impl CellValue for i32 {
    fn write(&self, kind: Kind, out: &mut String) -> Result<(), String> {
        match kind {
            Kind::Uint => write_int(*self as u32, out),
            _ => i64::from(*self).write(kind, out)?,
        }
        Ok(())
    }
}

impl CellValue for i64 {
    fn write(&self, kind: Kind, out: &mut String) -> Result<(), String> {
        match kind {
            Kind::Uint => write_int(*self as u64, out),
            Kind::Decimal { scale } => write_decimal(i128::from(*self), scale, out),
            Kind::Date => write_date(*self, out),
            Kind::Time(unit) => write_time(*self, unit, out),
            Kind::Timestamp { unit, utc } => write_timestamp(*self, unit, utc, out),
            _ => write_int(*self, out),
        }
        Ok(())
    }
}

impl CellValue for Int96 {
    fn write(&self, _: Kind, out: &mut String) -> Result<(), String> {
        // A Julian day and the nanoseconds into it, as Impala and Spark write them.
        const JULIAN_DAY_OF_EPOCH: i64 = 2_440_588;
        const NANOS_PER_DAY: i64 = 86_400_000_000_000;
        let [low, high, day] = self.data() else {
            return Err("an INT96 value without three words".into());
        };
        let nanos = (i64::from(*high) << 32) | i64::from(*low);
        let days = i64::from(*day) - JULIAN_DAY_OF_EPOCH + nanos.div_euclid(NANOS_PER_DAY);
        write_date(days, out);
        out.push('T');
        write_time(nanos.rem_euclid(NANOS_PER_DAY), Unit::Nanos, out);
        Ok(())
    }
}

impl CellValue for f32 {
    fn write(&self, _: Kind, out: &mut String) -> Result<(), String> {
        // The shortest text that reads back as this f32, as a CSV writer prints it.
        let _ = write!(out, "{self}");
        Ok(())
    }
}

impl CellValue for f64 {
    fn write(&self, _: Kind, out: &mut String) -> Result<(), String> {
        let _ = write!(out, "{self}");
        Ok(())
    }
}

impl CellValue for ByteArray {
    fn write(&self, kind: Kind, out: &mut String) -> Result<(), String> {
        write_bytes(self.data(), kind, out)
    }
}

impl CellValue for FixedLenByteArray {
    fn write(&self, kind: Kind, out: &mut String) -> Result<(), String> {
        write_bytes(self.data(), kind, out)
    }
}

fn write_int(value: impl std::fmt::Display, out: &mut String) {
    let _ = write!(out, "{value}");
}

/// Text, a decimal, a FLOAT16 or a UUID stored as bytes.
fn write_bytes(bytes: &[u8], kind: Kind, out: &mut String) -> Result<(), String> {
    match kind {
        Kind::Decimal { scale } => {
            if bytes.len() > 16 {
                return Err(format!(
                    "a decimal of {} bytes; expected at most 16 (38 digits)",
                    bytes.len()
                ));
            }
            // Big-endian two's complement, sign-extended from its first byte.
            let fill = if bytes.first().is_some_and(|&b| b & 0x80 != 0) {
                0xFF
            } else {
                0
            };
            let mut wide = [fill; 16];
            wide[16 - bytes.len()..].copy_from_slice(bytes);
            write_decimal(i128::from_be_bytes(wide), scale, out);
        }
        Kind::Float16 => {
            let [low, high] = bytes else {
                return Err(format!("a FLOAT16 of {} bytes; expected 2", bytes.len()));
            };
            let _ = write!(out, "{}", f16_to_f32(u16::from_le_bytes([*low, *high])));
        }
        Kind::Uuid => {
            for (i, b) in bytes.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    out.push('-');
                }
                let _ = write!(out, "{b:02x}");
            }
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => out.push_str(text),
            Err(e) => {
                let at = e.valid_up_to();
                return Err(format!(
                    "the value '{}' is not valid UTF-8 (byte 0x{:02X} at position {}); expected UTF-8 text",
                    String::from_utf8_lossy(bytes),
                    bytes[at],
                    at + 1
                ));
            }
        },
    }
    Ok(())
}

/// `unscaled` / 10^`scale` written exactly: `-0.05` for (-5, 2).
fn write_decimal(unscaled: i128, scale: u32, out: &mut String) {
    if unscaled < 0 {
        out.push('-');
    }
    let start = out.len();
    let _ = write!(out, "{}", unscaled.unsigned_abs());
    let scale = scale as usize;
    if scale == 0 {
        return;
    }
    let digits = out.len() - start;
    if digits <= scale {
        out.insert_str(start, &"0".repeat(scale + 1 - digits));
    }
    out.insert(out.len() - scale, '.');
}

/// An IEEE half-precision value, exactly as an f32.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1F);
    let mantissa = f32::from(bits & 0x3FF);
    sign * match exponent {
        0 => mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        _ => (1.0 + mantissa / 1024.0) * 2f32.powi(exponent - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &impl CellValue, kind: Kind) -> String {
        let mut s = String::new();
        value.write(kind, &mut s).unwrap();
        s
    }

    #[test]
    fn decimals_are_exact() {
        let d = |v: i128, scale| {
            let mut s = String::new();
            write_decimal(v, scale, &mut s);
            s
        };
        assert_eq!(d(-5, 2), "-0.05");
        assert_eq!(d(12345, 2), "123.45");
        assert_eq!(d(100, 0), "100");
        assert_eq!(d(0, 3), "0.000");
        let bytes = ByteArray::from(vec![0xFF, 0x85]); // -123
        assert_eq!(text(&bytes, Kind::Decimal { scale: 1 }), "-12.3");
    }

    #[test]
    fn numbers_are_their_shortest_text() {
        assert_eq!(text(&0.1f32, Kind::Float), "0.1");
        assert_eq!(text(&-2.5e-7f64, Kind::Double), "-0.00000025");
        assert_eq!(text(&f64::NAN, Kind::Double), "NaN");
        assert_eq!(text(&-1i32, Kind::Uint), "4294967295");
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }

    #[test]
    fn int96_timestamps_and_uuids() {
        let mut v = Int96::new();
        // 2001-02-03T04:05:06.5: Julian day 2451944, 14,706.5 s into it.
        v.set_data(
            (14_706_500_000_000u64 & 0xFFFF_FFFF) as u32,
            (14_706_500_000_000u64 >> 32) as u32,
            2_451_944,
        );
        assert_eq!(text(&v, Kind::Int96Timestamp), "2001-02-03T04:05:06.5");
        let uuid = FixedLenByteArray::from(ByteArray::from((0u8..16).collect::<Vec<_>>()));
        assert_eq!(
            text(&uuid, Kind::Uuid),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
    }
}
