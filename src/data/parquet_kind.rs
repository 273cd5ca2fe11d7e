//! What a Parquet column holds, decided once from the file's schema: how each value
//! becomes the text of a cell. Nested, repeated and binary columns are refused with the
//! column's name and type.

use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::schema::types::Type;

use super::iso_time::Unit;

/// How the values of one (flat) Parquet column become cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `true` / `false` (a category).
    Bool,
    /// A signed integer (INT32, INT64).
    Int,
    /// An unsigned integer stored in INT32 or INT64 bits.
    Uint,
    /// FLOAT (written as the shortest text that reads back as the same f32).
    Float,
    /// DOUBLE.
    Double,
    /// FLOAT16 in two little-endian bytes.
    Float16,
    /// An exact decimal: the unscaled integer and this many digits after the point.
    Decimal { scale: u32 },
    /// Days since 1970-01-01.
    Date,
    /// Units since midnight.
    Time(Unit),
    /// Units since the epoch; `utc` adds a `Z`.
    Timestamp { unit: Unit, utc: bool },
    /// The legacy INT96 timestamp (Julian day and nanoseconds).
    Int96Timestamp,
    /// UTF-8 text, typed as a CSV cell is.
    Text,
    /// A UUID in 16 bytes, written in its hyphenated form.
    Uuid,
}

/// Why a column cannot be read: its type, in words (the caller names the column).
pub(crate) type Refusal = String;

fn unit(unit: &TimeUnit) -> Unit {
    match unit {
        TimeUnit::MILLIS => Unit::Millis,
        TimeUnit::MICROS => Unit::Micros,
        TimeUnit::NANOS => Unit::Nanos,
    }
}

/// The kind of a top-level field, or why it cannot be a column of the table.
pub(crate) fn kind_of(field: &Type) -> Result<Kind, Refusal> {
    let info = field.get_basic_info();
    if field.is_group() {
        let what = match info.logical_type_ref() {
            Some(LogicalType::List) => "a list".to_string(),
            Some(LogicalType::Map) => "a map".to_string(),
            _ => match info.converted_type() {
                ConvertedType::LIST => "a list".to_string(),
                ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE => "a map".to_string(),
                _ => format!("a struct of {} fields", field.get_fields().len()),
            },
        };
        return Err(format!("is nested ({what})"));
    }
    let physical = field.get_physical_type();
    if info.has_repetition() && info.repetition() == Repetition::REPEATED {
        return Err(format!("is repeated (a list of {physical})"));
    }
    let logical = info.logical_type_ref();
    let kind = match (physical, logical) {
        (Physical::BOOLEAN, _) => Kind::Bool,
        (_, Some(LogicalType::Decimal(d))) => decimal(d.scale)?,
        (_, Some(LogicalType::Date)) => Kind::Date,
        (_, Some(LogicalType::Time(t))) => Kind::Time(unit(&t.unit)),
        (_, Some(LogicalType::Timestamp(t))) => Kind::Timestamp {
            unit: unit(&t.unit),
            utc: t.is_adjusted_to_u_t_c,
        },
        (_, Some(LogicalType::Integer(i))) if !i.is_signed => Kind::Uint,
        (_, Some(LogicalType::Float16)) => Kind::Float16,
        (_, Some(LogicalType::Uuid)) => Kind::Uuid,
        (
            Physical::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Kind::Text,
        (
            _,
            Some(
                other @ (LogicalType::Bson
                | LogicalType::Variant(_)
                | LogicalType::Geometry(_)
                | LogicalType::Geography(_)
                | LogicalType::File),
            ),
        ) => {
            return Err(format!("holds {other:?} values ({physical}); expected numbers, text, booleans, dates or times"));
        }
        _ => legacy_kind(physical, info.converted_type(), field)?,
    };
    check_physical(kind, physical)?;
    Ok(kind)
}

fn decimal(scale: i32) -> Result<Kind, Refusal> {
    u32::try_from(scale)
        .ok()
        .filter(|&s| s <= 38)
        .map(|scale| Kind::Decimal { scale })
        .ok_or_else(|| format!("is a decimal of scale {scale}; expected a scale from 0 to 38"))
}

/// Files written before logical types name them by their converted type alone.
fn legacy_kind(
    physical: Physical,
    converted: ConvertedType,
    field: &Type,
) -> Result<Kind, Refusal> {
    Ok(match converted {
        ConvertedType::DECIMAL => decimal(field.get_scale())?,
        ConvertedType::DATE => Kind::Date,
        ConvertedType::TIME_MILLIS => Kind::Time(Unit::Millis),
        ConvertedType::TIME_MICROS => Kind::Time(Unit::Micros),
        ConvertedType::TIMESTAMP_MILLIS => Kind::Timestamp {
            unit: Unit::Millis,
            utc: true,
        },
        ConvertedType::TIMESTAMP_MICROS => Kind::Timestamp {
            unit: Unit::Micros,
            utc: true,
        },
        ConvertedType::UINT_8
        | ConvertedType::UINT_16
        | ConvertedType::UINT_32
        | ConvertedType::UINT_64 => Kind::Uint,
        ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON => Kind::Text,
        ConvertedType::INTERVAL => {
            return Err("holds intervals; expected numbers, text, booleans, dates or times".into())
        }
        _ => match physical {
            Physical::INT32 | Physical::INT64 => Kind::Int,
            Physical::INT96 => Kind::Int96Timestamp,
            Physical::FLOAT => Kind::Float,
            Physical::DOUBLE => Kind::Double,
            // Unannotated bytes: text when they are UTF-8 (older writers leave strings
            // unannotated); a cell that is not is refused when it is read.
            Physical::BYTE_ARRAY => Kind::Text,
            _ => {
                return Err(format!(
                    "holds binary values ({physical}); expected numbers, text, booleans, dates or times"
                ))
            }
        },
    })
}

/// A kind whose values cannot be stored in the column's physical type: the schema is bad.
fn check_physical(kind: Kind, physical: Physical) -> Result<(), Refusal> {
    use Physical::*;
    let fits = match kind {
        Kind::Bool => physical == BOOLEAN,
        Kind::Int | Kind::Uint | Kind::Time(_) | Kind::Timestamp { .. } => {
            matches!(physical, INT32 | INT64)
        }
        Kind::Date => physical == INT32,
        Kind::Float => physical == FLOAT,
        Kind::Double => physical == DOUBLE,
        Kind::Float16 | Kind::Uuid => physical == FIXED_LEN_BYTE_ARRAY,
        Kind::Decimal { .. } => {
            matches!(physical, INT32 | INT64 | BYTE_ARRAY | FIXED_LEN_BYTE_ARRAY)
        }
        Kind::Int96Timestamp => physical == INT96,
        Kind::Text => physical == BYTE_ARRAY,
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "is annotated as {kind:?} but stored as {physical}; the file's schema contradicts itself"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::schema::parser::parse_message_type;

    fn kinds(schema: &str) -> Vec<Result<Kind, Refusal>> {
        let schema = parse_message_type(schema).unwrap();
        schema.get_fields().iter().map(|f| kind_of(f)).collect()
    }

    #[test]
    fn kinds_follow_the_logical_and_converted_types() {
        let got = kinds(
            "message m {
                required boolean a;
                optional int64 b;
                optional int32 c (UINT_16);
                optional double d;
                optional fixed_len_byte_array(16) e (DECIMAL(30, 4));
                optional int32 f (DATE);
                optional int64 g (TIMESTAMP(MICROS, true));
                optional int64 h (TIMESTAMP_MILLIS);
                optional binary i (UTF8);
                optional binary j;
                optional int96 k;
            }",
        );
        let want = [
            Kind::Bool,
            Kind::Int,
            Kind::Uint,
            Kind::Double,
            Kind::Decimal { scale: 4 },
            Kind::Date,
            Kind::Timestamp {
                unit: Unit::Micros,
                utc: true,
            },
            Kind::Timestamp {
                unit: Unit::Millis,
                utc: true,
            },
            Kind::Text,
            Kind::Text,
            Kind::Int96Timestamp,
        ];
        assert_eq!(got, want.map(Ok));
    }

    #[test]
    fn nested_repeated_and_binary_columns_are_refused_with_their_type() {
        let got = kinds(
            "message m {
                optional group l (LIST) { repeated group list { optional int32 element; } }
                optional group s { optional int32 x; optional binary y (UTF8); }
                repeated int32 r;
                optional fixed_len_byte_array(4) b;
            }",
        );
        assert_eq!(got[0], Err("is nested (a list)".to_string()));
        assert_eq!(got[1], Err("is nested (a struct of 2 fields)".to_string()));
        assert_eq!(got[2], Err("is repeated (a list of INT32)".to_string()));
        assert_eq!(
            got[3],
            Err("holds binary values (FIXED_LEN_BYTE_ARRAY); expected numbers, text, booleans, dates or times".to_string())
        );
    }
}
