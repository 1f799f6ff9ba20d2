//! `picklecost compare BEFORE AFTER`: two analyze runs side by side, and `--fail-if` limits.
use crate::compare::{self, input, render};
use crate::settings::{CompareFormat, CompareSettings};
use anyhow::Result;
use std::io::Write;

/// `Ok(true)`: within every limit; `Ok(false)`: a limit was exceeded; `Err`: bad input.
pub fn run(settings: &CompareSettings) -> Result<bool> {
    let before = input::read_run(&settings.before)?;
    let after = input::read_run(&settings.after)?;
    let comparison = compare::compare(&before, &after, settings);
    let text = match settings.format {
        CompareFormat::Json => serde_json::to_string_pretty(&comparison)? + "\n",
        CompareFormat::Markdown => render::markdown(&comparison),
        CompareFormat::Table => render::table(&comparison),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(!comparison.failed)
}
