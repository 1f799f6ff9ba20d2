//! picklecost: can this Python object graph be shipped to worker interpreters cheaply?
//!
//! Data flows one way: cli/options → python (environment, interpreter) → load → measure →
//! verdict → report (files) and output (terminal). `pickle` reads pickle streams without
//! executing them.
pub mod analyze;
pub mod cli;
pub mod error;
pub mod explain;
pub mod inspect;
pub mod load;
pub mod measure;
pub mod options;
pub mod output;
pub mod pickle;
pub mod python;
pub mod report;
pub mod transport;
pub mod verdict;
