//! Reading CSV input into a table of trimmed string cells, cell parsing, and splits.

mod reader;
mod split;
mod stream;
mod table;
mod value;

pub use reader::{open_input, read_table, CsvOptions};
pub use split::{shuffled_split, stratified_split};
pub use stream::TableChunks;
pub use table::{RawTable, StrColumn};
pub use value::{parse_cell, Cell, NaValues};
