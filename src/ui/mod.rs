//! What the user sees on the terminal: progress on stderr, the summary on stdout.
pub mod progress;
pub mod scale;
pub mod summary;
