//! The SVG charts, drawn by `charts.rs` from the measured histograms and sizes.
use super::{Exporter, Run};
use crate::charts::{self, ChartPayload};
use anyhow::Result;
use std::path::Path;

pub const LATENCY: &str = "latency-percentiles.svg";
pub const COMPARISON: &str = "full-vs-subset.svg";
pub const SITE_BYTES: &str = "site-bytes-icicle.svg";

fn tree_node(t: &crate::explain::ByteTree) -> charts::TreeNode {
    charts::TreeNode {
        label: t.path.clone().unwrap_or_else(|| t.name.clone()),
        bytes: t.bytes,
        children: t.children.iter().map(tree_node).collect(),
    }
}

pub fn size_chart(payload: &str) -> String {
    format!("size-{payload}.svg")
}

pub struct Svg;

impl Exporter for Svg {
    fn export(&self, run: &Run, dir: &Path) -> Result<()> {
        let dir = dir.join("charts");
        std::fs::create_dir_all(&dir)?;
        let sizes: Vec<Vec<u64>> =
            run.payloads.iter().map(|p| p.sizes.iter().map(|&(_, b)| b).collect()).collect();
        let chart_payloads: Vec<ChartPayload> = run
            .payloads
            .iter()
            .zip(&sizes)
            .map(|(p, sizes)| ChartPayload {
                name: p.kind.name(),
                sizes,
                dumps: &p.dumps,
                loads: &p.loads,
                roundtrip: &p.roundtrip,
            })
            .collect();
        let title = format!("Round-trip latency (dumps + loads), {}", run.results.site.path);
        charts::latency_percentiles(&chart_payloads, &title, &dir.join(LATENCY))?;
        charts::comparison(&chart_payloads, &dir.join(COMPARISON))?;
        let site_tree = run
            .results
            .payloads
            .iter()
            .find(|p| p.name == "site")
            .and_then(|p| p.attribution.as_ref())
            .and_then(|a| a.tree.as_ref());
        if let Some(tree) = site_tree {
            charts::icicle(&tree_node(tree), "Where the Site's pickled bytes go", &dir.join(SITE_BYTES))?;
        }
        for p in chart_payloads.iter().filter(|p| !p.sizes.is_empty()) {
            charts::size_distribution(p, &dir.join(size_chart(p.name)))?;
        }
        Ok(())
    }
}
