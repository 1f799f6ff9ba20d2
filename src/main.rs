//! The standalone binary: Python is embedded and started by the pipeline itself
//! (`python::interp::start`); the dispatch is the library's, shared with the wheel.
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(picklecost::entry::run_cli(std::env::args_os()))
}
