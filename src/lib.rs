//! picklecost: can this Python object graph be shipped to worker interpreters cheaply?
//!
//! Data flows one way, and a module imports only modules above it in this list (modules on
//! one line import none of each other):
//!
//! - `error` (the user-facing errors), `units` (number formatting), `memory` (the tool's own
//!   RSS), `pickle` (pickle streams read without executing them): none of the others;
//! - `model`: shared kinds and the results document;
//! - `cli`: clap definitions;
//! - `settings`: the command line checked into plain data;
//! - `python`: find the environment, start CPython as it, the embedded `picklecost` package;
//! - `generators`: load a site through its generator adapter (Python side);
//! - `payloads`: the objects a worker would receive;
//! - `measure`: pickle size and latency under a budget (reading its pickles with `pickle`);
//! - `explain`: why a payload is big or unpicklable, and the suggested payload;
//! - `growth`: cost against page count, from real copies of the site, fitted and projected;
//! - `transport`: thread, sub-interpreter, process and fork round trips, and render cost;
//! - `verdict`: the numbers judged, in sentences and per-strategy rows;
//! - `report` (files), `ui` (terminal);
//! - `compare`: two runs' report files read back and judged side by side;
//! - `commands`: one module per subcommand (`analyze`, `compare`, `inspect`, `scale`);
//! - `entry`: the one dispatch and exit-code map, called by both front doors: `main.rs` (the
//!   standalone binary, which embeds Python) and `wheel` (the native module `picklecost._native`
//!   of the pip-installable wheel, built with the `wheel` feature, run inside the Python that
//!   imported it).
//!
//! `scale` (parallel renders of the real site) has no module of its own: `commands::scale`
//! runs it (the renders themselves are the embedded package's `picklecost.scale`),
//! `model::scale` holds its figures, `report::scale` and `ui::scale` print them.
pub mod cli;
pub mod commands;
pub mod compare;
pub mod entry;
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
#[cfg(feature = "wheel")]
mod wheel;
