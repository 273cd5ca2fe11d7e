//! Parallel work: the thread pool the library splits its work over, and the entry point.
//!
//! `install(n_threads)` makes a pool of `n_threads` threads current on the calling thread
//! while its guard lives; `current_threads()` says how many threads work may use there (1
//! when no pool is installed). Matrix products, the optimizer step and batch gathering run
//! their tasks on that pool; preprocessing splits its rows over `current_threads()` scoped
//! threads. `choose_step_threads` lets training loops run a step on the calling thread alone
//! when that measures faster (`StepThreads`). Every split leaves the results unchanged: they are the same for any thread
//! count. `FlushDenormals` lives here too, beside the float-control register copy that
//! the workers make.

mod adaptive;
mod float_control;
mod installed;
mod parts;
mod pool;

pub use adaptive::{choose_step_threads, Step, StepChoice, StepThreads};
pub use float_control::FlushDenormals;
pub use installed::{current_threads, install, Installed};
pub use pool::{ThreadPool, MAX_TASKS};

pub(crate) use installed::current;
pub(crate) use parts::{for_each_part, SharedMut};
