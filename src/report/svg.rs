//! The SVG charts, drawn by `report::charts` from the measured histograms and sizes and
//! written under `charts/`.
use super::charts::{self, ChartPayload};
use super::{Exporter, Run, write_file};
use anyhow::Result;
use std::path::Path;

pub const LATENCY: &str = "latency-percentiles.svg";
pub const COMPARISON: &str = "full-vs-subset.svg";
pub const SITE_BYTES: &str = "site-bytes-icicle.svg";
pub const SHARES: &str = "transfer-vs-render.svg";

pub fn transport_chart(payload: &str) -> String {
    format!("transports-{payload}.svg")
}

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
        let sizes: Vec<Vec<u64>> = run
            .payloads
            .iter()
            .map(|p| p.sizes.iter().map(|&(_, b)| b).collect())
            .collect();
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
        write_file(
            &dir.join(LATENCY),
            charts::latency_percentiles(&chart_payloads, &title)?,
        )?;
        write_file(&dir.join(COMPARISON), charts::comparison(&chart_payloads)?)?;
        let site_tree = run
            .results
            .payloads
            .iter()
            .find(|p| p.name == "site")
            .and_then(|p| p.attribution.as_ref())
            .and_then(|a| a.tree.as_ref());
        if let Some(tree) = site_tree {
            let svg = charts::icicle(&tree_node(tree), "Where the Site's pickled bytes go")?;
            write_file(&dir.join(SITE_BYTES), svg)?;
        }
        if let Some((cells, _)) = run.transports {
            let rows: Vec<charts::ShareRow> = run
                .results
                .verdicts
                .iter()
                .map(|v| charts::ShareRow {
                    label: format!("{} via {}", v.strategy, v.transport),
                    share: v.transfer_share,
                })
                .collect();
            let t = run.results.thresholds.unwrap_or_default();
            write_file(&dir.join(SHARES), charts::shares(&rows, t.practical, t.marginal)?)?;
            let empty = crate::measure::stats::new_histogram();
            for payload in run.payloads.iter().map(|p| p.kind.name()) {
                let lines: Vec<ChartPayload> = cells
                    .iter()
                    .filter(|c| c.payload == payload && !c.roundtrip.is_empty())
                    .map(|c| ChartPayload {
                        name: &c.transport,
                        sizes: &[],
                        dumps: &empty,
                        loads: &empty,
                        roundtrip: &c.roundtrip,
                    })
                    .collect();
                if !lines.is_empty() {
                    let title = format!(
                        "Round trip of `{payload}` by transport (send, unpickle in the worker, reply)"
                    );
                    let svg = charts::latency_percentiles(&lines, &title)?;
                    write_file(&dir.join(transport_chart(payload)), svg)?;
                }
            }
        }
        for p in chart_payloads.iter().filter(|p| !p.sizes.is_empty()) {
            write_file(&dir.join(size_chart(p.name)), charts::size_distribution(p)?)?;
        }
        Ok(())
    }
}
