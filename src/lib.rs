//! picklecost: can this Python object graph be shipped to worker interpreters cheaply?
//!
//! Data flows one way, and imports point only down this list (no module imports one above it):
//!
//! - `cli` (clap definitions), `model` (shared kinds and the results document), `units`,
//!   `memory` (the tool's own RSS), `error`, `settings` (the command line checked into plain data);
//! - `python`: find the environment, start CPython as it, the embedded `picklecost` package;
//! - `generators`: load a site through its generator adapter (Python side);
//! - `payloads`: the objects a worker would receive;
//! - `measure`: pickle size and latency under a budget;
//! - `explain`: why a payload is big or unpicklable, and the suggested payload;
//! - `growth`: cost against page count, from real copies of the site, fitted and projected;
//! - `transport`: thread, sub-interpreter and process round trips, and render cost;
//! - `verdict`: the numbers judged, in sentences and per-strategy rows;
//! - `report` (files) and `ui` (terminal);
//! - `compare`: two runs' report files read back and judged side by side;
//! - `commands`: one module per subcommand; `main.rs` dispatches.
//!
//! `pickle` reads pickle streams without executing them (used by `commands::inspect` and by
//! `analyze` on the pickles it made).
pub mod cli;
pub mod commands;
pub mod compare;
pub mod error;
pub mod explain;
pub mod generators;
pub mod growth;
pub mod measure;
pub mod memory;
pub mod model;
pub mod payloads;
pub mod pickle;
pub mod python;
pub mod report;
pub mod settings;
pub mod site_guard;
pub mod transport;
pub mod ui;
pub mod units;
pub mod verdict;
