//! One module per subcommand; `main.rs` dispatches to them.
pub mod analyze;
pub mod compare;
pub mod inspect;
pub mod scale;
