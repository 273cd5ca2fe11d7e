//! Fitted transforms from raw CSV cells to network inputs and targets: numeric columns
//! (impute, standardise), categorical columns (impute, one-hot), the target encoder, and
//! the `Pipeline` that chains them by column name. Also the data profile of `preprocess`.

mod categorical;
mod file;
mod numeric;
mod pipeline;
mod profile;
mod target;
mod task_choice;

pub use categorical::{CategoricalColumn, OtherCategories, Slot};
pub use file::{load_preprocessor, save_preprocessor, PREPROCESSOR_FORMAT, PREPROCESSOR_VERSION};
pub use numeric::NumericColumn;
pub use pipeline::{
    check_columns_exist, rows_with_target, target_index, EncodedTargets, Feature, FitOptions,
    NonFiniteValues, Pipeline, Transformed, UnknownCategories, DEFAULT_MAX_CATEGORIES,
};
pub use profile::{profile_table, ColumnProfile, TableProfile};
pub use target::{infer_task, TargetEncoder, Task};
pub use task_choice::{choose_task, TaskChoice, GIVEN_REASON};
