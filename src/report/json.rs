//! results.json: the whole run, machine-readable.
use super::{Exporter, ReportFile, Run};
use anyhow::Result;

pub struct Json;

impl Exporter for Json {
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>> {
        let mut text = serde_json::to_string_pretty(run.results)?;
        text.push('\n');
        Ok(vec![ReportFile::new("results.json", text)])
    }
}
