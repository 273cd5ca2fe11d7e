//! Reading CSV input into a table of typed columns, cell parsing, and splits.

mod column;
mod reader;
mod split;
mod str_column;
mod stream;
mod table;
mod value;

pub use column::{Cells, Column};
pub use reader::{delimiter_hint, open_input, read_table, read_table_from, CsvOptions};
pub use split::{shuffled_split, stratified_split};
pub use str_column::StrColumn;
pub use stream::TableChunks;
pub use table::{RawTable, SkippedRow};
pub use value::{looks_like_localized_number, parse_cell, plain_number, Cell, NaValues};
