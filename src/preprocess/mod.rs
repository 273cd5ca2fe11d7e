//! Fitted transforms from raw CSV cells to network inputs and targets: numeric columns
//! (impute, standardise), categorical columns (impute, one-hot), dates (year and cycles),
//! the target encoder, and the `Pipeline` that chains them by column name. Also the data profile of `preprocess`.

mod categorical;
mod column_fit;
mod columns;
mod date;
mod date_format;
mod date_parse;
mod encoder;
mod file;
mod findings;
mod fit;
mod fit_date;
mod fit_series;
mod fit_text;
mod kinds;
mod numeric;
mod ordinal;
mod pipeline;
mod profile;
mod running_fit;
mod series;
mod target;
mod target_values;
mod task_choice;
mod text;
mod tokenizer;
mod transform;
mod warning;

pub use categorical::{CategoricalColumn, OtherCategories, Slot};
pub use columns::{rows_with_target, target_index};
pub use date::{DateColumn, DateFormatOption};
pub use date_format::DateFormat;
pub use date_parse::{parse_iso, DateProblem, DateTime};
pub use file::{load_preprocessor, save_preprocessor, PREPROCESSOR_FORMAT, PREPROCESSOR_VERSION};
pub use findings::{NonFiniteValues, UnknownCategories};
pub use kinds::{KindOptions, SequenceShape, TextOptions, DEFAULT_NGRAM_BUCKETS, MAX_TOKEN_IDS};
pub use numeric::NumericColumn;
pub use ordinal::{OrdinalColumn, OrdinalLevels};
pub use pipeline::{Feature, FitOptions, Pipeline, DEFAULT_MAX_CATEGORIES};
pub use profile::{profile_table, ColumnProfile, TableProfile};
pub use running_fit::{CategoryCounts, RunningFit, Welford, MAX_STREAM_LABELS};
pub use series::SequenceColumn;
pub use target::{infer_task, TargetEncoder, Task};
pub use target_values::EncodedTargets;
pub use task_choice::{
    choose_task, classification_doubt, target_is_numeric, ClassificationDoubt, TaskChoice,
    GIVEN_REASON,
};
pub use text::TextColumn;
pub use tokenizer::{fnv1a, ngram_bucket, tokenize};
pub use transform::Transformed;
pub use warning::FitWarning;
