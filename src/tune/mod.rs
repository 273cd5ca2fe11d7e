//! Hyper-parameter search: trials drawn from a `SearchSpace` with a seeded RNG, trained
//! rung by rung with successive halving (`Schedule`), scored on a holdout split or K
//! folds, recorded in a journal so that a study can resume, ranked on a leaderboard, and
//! the best settings refitted on all rows (`tune`). A synchronous study can also run each
//! trial as its own job (`make_plan`, `run_trial`, `collect`). The library never prints;
//! progress reaches the caller through `TuneObserver`.

mod jobs;
mod journal;
mod leaderboard;
mod plan;
mod schedule;
mod settings;
mod space;
mod steps;
mod study;
mod trial;

pub use jobs::{collect, make_plan, run_trial, Collected};
pub use journal::{
    append_record, journal_path, read_journal, write_journal, JournalHeader, TrialRecord,
    JOURNAL_FORMAT,
};
pub use leaderboard::{leaderboard, LeaderRow};
pub use plan::{Plan, PlanTrial, TrialResult, PLAN_FORMAT, RESULT_FORMAT};
pub use schedule::{best_of, rank_order, Schedule};
pub use settings::{Budget, TuneSettings, Validation, DEFAULT_HOLDOUT, DEFAULT_TRIALS};
pub use space::{Range, SearchSpace, TrialSettings};
pub use steps::{TuneObserver, TuneOutcome};
pub use study::tune;
pub use trial::{Evaluation, RungOutcome, TrialRun};
