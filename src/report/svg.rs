//! The SVG charts, drawn by `report::charts` from the measured histograms and sizes, under
//! `charts/`.
use super::charts::{self, ChartPayload};
use super::{Exporter, ReportFile, Run};
use crate::model::results::{GrowthJson, GrowthPoint, GrowthQuantity};
use crate::model::{PayloadKind, explain::ByteTree};
use anyhow::Result;

pub const LATENCY: &str = "latency-percentiles.svg";
pub const COMPARISON: &str = "full-vs-subset.svg";
pub const SITE_BYTES: &str = "site-bytes-icicle.svg";
pub const SHARES: &str = "transfer-vs-render.svg";
pub const GROWTH_BYTES: &str = "growth-bytes.svg";
pub const GROWTH_ROUNDTRIP: &str = "growth-roundtrip.svg";
pub const GROWTH_LOAD: &str = "growth-load.svg";

pub fn transport_chart(payload: PayloadKind) -> String {
    format!("transports-{payload}.svg")
}

pub fn size_chart(payload: PayloadKind) -> String {
    format!("size-{payload}.svg")
}

fn tree_node(t: &ByteTree) -> charts::TreeNode {
    charts::TreeNode {
        label: t.path.clone().unwrap_or_else(|| t.name.clone()),
        bytes: t.bytes,
        children: t.children.iter().map(tree_node).collect(),
    }
}

pub struct Svg;

impl Exporter for Svg {
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>> {
        let mut files = Vec::new();
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
        files.push(chart(
            LATENCY.into(),
            charts::latency_percentiles(&chart_payloads, &title)?,
        ));
        files.push(chart(COMPARISON.into(), charts::comparison(&chart_payloads)?));
        let site_tree = run
            .results
            .payloads
            .iter()
            .find(|p| p.name == PayloadKind::Site)
            .and_then(|p| p.attribution.as_ref())
            .and_then(|a| a.tree.as_ref());
        if let Some(tree) = site_tree {
            files.push(chart(
                SITE_BYTES.into(),
                charts::icicle(&tree_node(tree), "Where the Site's pickled bytes go")?,
            ));
        }
        if let Some((cells, _)) = run.transports {
            files.extend(transport_charts(run, cells)?);
        }
        if let Some(g) = &run.results.growth {
            files.extend(growth_charts(g)?);
        }
        for (p, kind) in chart_payloads.iter().zip(run.payloads.iter().map(|p| p.kind)) {
            if !p.sizes.is_empty() {
                files.push(chart(size_chart(kind), charts::size_distribution(p)?));
            }
        }
        Ok(files)
    }
}

fn chart(name: String, svg: String) -> ReportFile {
    ReportFile::new(format!("charts/{name}"), svg)
}

/// The verdicts' shares against the thresholds, and each payload's round trips by transport.
fn transport_charts(run: &Run, cells: &[crate::transport::Cell]) -> Result<Vec<ReportFile>> {
    let mut files = Vec::new();
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
    files.push(chart(
        SHARES.into(),
        charts::shares(&rows, t.practical, t.marginal)?,
    ));
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
            let title =
                format!("Round trip of `{payload}` by transport (send, unpickle in the worker, reply)");
            files.push(chart(
                transport_chart(payload),
                charts::latency_percentiles(&lines, &title)?,
            ));
        }
    }
    Ok(files)
}

/// Size, round trip and the generator's load against page count: the measured copies, the fit
/// and the projections (marked as such).
fn growth_charts(g: &GrowthJson) -> Result<Vec<ReportFile>> {
    use GrowthQuantity as Q;
    let mut files = Vec::new();
    for (file, title, quantities) in [
        (GROWTH_BYTES, "Pickled size against page count", &[Q::Bytes][..]),
        (
            GROWTH_ROUNDTRIP,
            "Round trip, dumps and loads (p50) against page count",
            &[Q::RoundtripNs, Q::DumpsNs, Q::LoadsNs][..],
        ),
        (
            GROWTH_LOAD,
            "The generator's load against page count",
            &[Q::GeneratorLoadNs][..],
        ),
    ] {
        let series: Vec<charts::GrowthSeries> = quantities
            .iter()
            .flat_map(|&q| growth_series(g, q))
            .filter(|s| !s.measured.is_empty())
            .collect();
        let bytes = quantities.contains(&Q::Bytes);
        files.push(chart(file.into(), charts::growth(&series, title, bytes)?));
    }
    Ok(files)
}

/// One line per payload (or one for the generator's load) of quantity `q`.
fn growth_series(g: &GrowthJson, q: GrowthQuantity) -> Vec<charts::GrowthSeries<'static>> {
    let value = |p: &GrowthPoint| match q {
        GrowthQuantity::Bytes => p.bytes,
        GrowthQuantity::DumpsNs => p.dumps_ns,
        GrowthQuantity::LoadsNs => p.loads_ns,
        GrowthQuantity::RoundtripNs => p.roundtrip_ns,
        GrowthQuantity::GeneratorLoadNs => None,
    };
    let projected = |payload: Option<PayloadKind>| -> Vec<charts::Projected> {
        g.projections
            .iter()
            .filter(|p| p.payload == payload && p.quantity == q && p.supported)
            .filter_map(|p| {
                Some(charts::Projected {
                    pages: p.pages as f64,
                    value: p.value?,
                    low: p.low?,
                    high: p.high?,
                    fit_low: p.fit_low?,
                    fit_high: p.fit_high?,
                })
            })
            .collect()
    };
    let name = |kind: Option<PayloadKind>| match (kind, q) {
        (None, _) => "generator load".to_string(),
        (Some(k), GrowthQuantity::Bytes) => k.name().to_string(),
        (Some(k), _) => format!("{} {}", k.name(), q.label()),
    };
    if q == GrowthQuantity::GeneratorLoadNs {
        let measured = g
            .copies
            .iter()
            .map(|c| (c.pages as f64, c.load_ns as f64))
            .collect();
        return vec![charts::GrowthSeries {
            name: name(None).into(),
            measured,
            projected: projected(None),
        }];
    }
    g.payloads()
        .into_iter()
        // Dumps and loads apart for the Site only: one chart stays readable.
        .filter(|&k| {
            matches!(q, GrowthQuantity::Bytes | GrowthQuantity::RoundtripNs) || k == PayloadKind::Site
        })
        .map(|kind| charts::GrowthSeries {
            name: name(Some(kind)).into(),
            measured: g
                .points
                .iter()
                .filter(|p| p.payload == kind)
                .filter_map(|p| value(p).map(|v| (p.pages as f64, v as f64)))
                .collect(),
            projected: projected(Some(kind)),
        })
        .collect()
}
