//! picklecost's integration tests, one binary (`cargo test --release --test cli`): they run the
//! built tool on the project's own sample sites and on projects written by the tests, and call
//! the library's pickle reader directly.
//!
//! `shared::` holds the same checks on the real Bengal showcase in `../shared/sites/`, which a
//! fresh clone does not have: those tests are ignored, and scripts/test runs them (with
//! `-- --ignored shared::`) when the directory is there. Every one of them calls a test body that
//! a test outside `shared` runs on a sample site.

mod util;

mod analyze;
mod check;
mod compare;
mod errors;
mod faults;
mod forkserver;
mod generators;
mod growth;
mod inspect;
mod loader;
mod memory;
mod modern;
mod old_python;
mod pickle_adversarial;
mod pickle_fixtures;
mod pickle_throughput;
mod readset;
mod scale;
mod shared;
mod signals;
mod site_untouched;
mod standalone;
mod stream;
mod subinterp;
mod totals;
