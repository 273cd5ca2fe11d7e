//! Reading CSV (and Parquet) input into a table of typed columns, cell parsing, and splits.

mod cells;
mod column;
mod csv_parsers;
mod delimiter;
mod input;
mod iso_time;
mod line_block;
mod line_endings;
#[cfg(target_arch = "x86_64")]
mod line_simd;
mod memory;
mod parallel_read;
mod parquet;
mod parquet_cells;
mod parquet_kind;
mod plain_file;
mod range_columns;
mod read_at;
mod reader;
mod records;
mod reservoir;
mod shuffle_buffer;
mod small_values;
mod source;
mod split;
mod str_column;
mod stream;
mod table;
mod value;

pub use cells::Cells;
pub use column::Column;
pub use delimiter::delimiter_hint;
pub use input::open_input;
pub(crate) use line_endings::is_blank;
pub use memory::{
    available_memory, memory_shortfall, MemoryShortfall, AVAILABLE_MEMORY_VAR, MEMORY_PER_FILE_BYTE,
};
pub(crate) use parallel_read::field_ends;
pub(crate) use plain_file::{plain_file, PlainFile};
pub use reader::{read_owned_table_from, read_table, read_table_from, CsvOptions};
pub use reservoir::{sample_table, Reservoir, SampledTable};
pub use shuffle_buffer::{Rows, ShuffleBuffer};
pub use source::{read_nonempty, CsvSource};
pub use split::{shuffled_split, stratified_split};
pub use str_column::StrColumn;
pub use stream::TableChunks;
pub use table::{RawTable, SkippedRow};
pub(crate) use value::canonical_decimal;
pub use value::{looks_like_localized_number, parse_cell, plain_number, Cell, NaValues};
