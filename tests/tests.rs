//! All integration tests in one binary (one link step, shared helpers in `suite/util.rs`);
//! each module under `suite/` covers one area of the command line or the library.

mod suite;
