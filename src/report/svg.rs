//! The SVG charts, drawn by `charts` from the measured histograms and sizes.
use super::{Exporter, ReportFile, Run};
use crate::charts::{self, ChartPayload};
use crate::model::{PayloadKind, explain::ByteTree};
use anyhow::Result;
use std::path::Path;

pub const LATENCY: &str = "latency-percentiles.svg";
pub const COMPARISON: &str = "full-vs-subset.svg";
pub const SITE_BYTES: &str = "site-bytes-icicle.svg";
pub const SHARES: &str = "transfer-vs-render.svg";

pub fn transport_chart(payload: PayloadKind) -> String {
    format!("transports-{payload}.svg")
}

fn tree_node(t: &ByteTree) -> charts::TreeNode {
    charts::TreeNode {
        label: t.path.clone().unwrap_or_else(|| t.name.clone()),
        bytes: t.bytes,
        children: t.children.iter().map(tree_node).collect(),
    }
}

pub fn size_chart(payload: PayloadKind) -> String {
    format!("size-{payload}.svg")
}

pub struct Svg;

impl Exporter for Svg {
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>> {
        let scratch = std::env::temp_dir().join(format!("picklecost-charts-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        let drawn = draw(run, &scratch).and_then(|()| {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(&scratch)? {
                let entry = entry?;
                files.push(ReportFile::new(
                    Path::new("charts").join(entry.file_name()),
                    std::fs::read(entry.path())?,
                ));
            }
            Ok(files)
        });
        let _ = std::fs::remove_dir_all(&scratch);
        drawn
    }
}

fn draw(run: &Run, dir: &Path) -> Result<()> {
    {
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
        charts::latency_percentiles(&chart_payloads, &title, &dir.join(LATENCY))?;
        charts::comparison(&chart_payloads, &dir.join(COMPARISON))?;
        let site_tree = run
            .results
            .payloads
            .iter()
            .find(|p| p.name == PayloadKind::Site)
            .and_then(|p| p.attribution.as_ref())
            .and_then(|a| a.tree.as_ref());
        if let Some(tree) = site_tree {
            charts::icicle(
                &tree_node(tree),
                "Where the Site's pickled bytes go",
                &dir.join(SITE_BYTES),
            )?;
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
            charts::shares(&rows, t.practical, t.marginal, &dir.join(SHARES))?;
            let empty = crate::model::stats::new_histogram();
            for payload in run.payloads.iter().map(|p| p.kind) {
                let lines: Vec<ChartPayload> = cells
                    .iter()
                    .filter(|c| c.payload == payload && !c.roundtrip.is_empty())
                    .map(|c| ChartPayload {
                        name: c.transport.name(),
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
                    charts::latency_percentiles(&lines, &title, &dir.join(transport_chart(payload)))?;
                }
            }
        }
        for p in chart_payloads.iter().filter(|p| !p.sizes.is_empty()) {
            charts::size_distribution(p, &dir.join(format!("size-{}.svg", p.name)))?;
        }
        Ok(())
    }
}
