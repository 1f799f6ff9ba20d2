use super::{Exporter, Run, write_file};
use anyhow::Result;
use std::path::Path;

pub struct Json;

impl Exporter for Json {
    fn export(&self, run: &Run, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(run.results)?;
        text.push('\n');
        write_file(&dir.join("results.json"), text)
    }
}
