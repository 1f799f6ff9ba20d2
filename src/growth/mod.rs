//! Cost as a function of page count: copies of the site (outside it) with a fraction of its
//! content, and for small sites with it replicated, each loaded for real through the generator
//! adapter and measured like the site itself; then a least-squares line per quantity and a
//! projection to 10,000 and 100,000 pages with its 95% prediction interval.
pub mod fit;

use crate::generators::{self, LoadedSite, Workdir};
use crate::measure::{self, PayloadResult};
use crate::model::phase_limit::{LimitedPhase, PhaseLimit};
use crate::model::results::{GrowthFit, GrowthJson, GrowthPoint, GrowthProjection};
use crate::model::{GcMode, Stage};
use crate::payloads::{PageView, Payloads};
use crate::python;
use crate::settings::{LoadSettings, MeasureSettings};
use anyhow::Result;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

/// Pages the model projects to.
pub const PROJECT_TO: [u64; 2] = [10_000, 100_000];

/// Content factors: 1/8 .. all, and for sites under 200 pages also 2x and 4x.
pub fn factors(pages: usize) -> Vec<f64> {
    let mut f = vec![0.125, 0.25, 0.5, 1.0];
    if pages < 200 {
        f.extend([2.0, 4.0]);
    }
    f
}

struct Silent;

impl measure::Progress for Silent {
    fn start_measuring(&self, _: u64) {}
    fn set_remaining(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish_measuring(&self) {}
}

/// What the copies share: `budget_seconds` planned among them (`--budget`), and a hard
/// `limit_seconds` (`--growth-limit`) after which no copy is started.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub budget_seconds: f64,
    pub limit_seconds: f64,
}

/// Measure every copy within `time`; the growth model, and how many copies were measured
/// within the limit.
pub fn run(
    py: Python<'_>,
    site: &LoadedSite,
    load: &LoadSettings,
    fields: &[String],
    exclude_keys: &BTreeMap<String, Vec<String>>,
    protocol: u8,
    time: Time,
) -> Result<(GrowthJson, PhaseLimit)> {
    let factors = factors(site.pages.len());
    let mut growth = GrowthJson {
        factors: factors.clone(),
        ..Default::default()
    };
    let mut measured = 0;
    let mut cut = false;
    let started = Instant::now();
    for (i, &factor) in factors.iter().enumerate() {
        let spent = started.elapsed().as_secs_f64();
        if spent >= time.limit_seconds {
            cut = true;
            growth.errors.push(format!(
                "x{factor}: not measured, the growth limit (--growth-limit) had passed"
            ));
            continue;
        }
        let left = time.budget_seconds - spent;
        if left <= 0.0 {
            growth
                .errors
                .push(format!("x{factor}: not measured, the budget ran out"));
            continue;
        }
        // Each copy gets an equal share of what is left; its loading comes out of the share.
        let share = left / (factors.len() - i) as f64;
        match point(py, site, load, fields, exclude_keys, protocol, factor, share) {
            Ok(points) => {
                growth.points.extend(points);
                measured += 1;
            }
            // An interrupt is no copy's failure: it stops the run (the copy's scratch is gone,
            // dropped with its workdir on the way out).
            Err(e) if e.downcast_ref::<python::interrupt::Interrupted>().is_some() => return Err(e),
            Err(e) => growth.errors.push(format!("x{factor}: {e}")),
        }
    }
    fit_and_project(&mut growth);
    let limit = PhaseLimit {
        phase: LimitedPhase::Growth,
        limit_seconds: time.limit_seconds,
        seconds: started.elapsed().as_secs_f64(),
        cut,
        done: measured,
        planned: factors.len() as u64,
        unit: "copies measured".into(),
        note: cut.then(|| "the copies not started are listed under growth errors".into()),
    };
    Ok((growth, limit))
}

#[allow(clippy::too_many_arguments)]
fn point(
    py: Python<'_>,
    site: &LoadedSite,
    load: &LoadSettings,
    fields: &[String],
    exclude_keys: &BTreeMap<String, Vec<String>>,
    protocol: u8,
    factor: f64,
    share_seconds: f64,
) -> Result<Vec<GrowthPoint>> {
    let started = Instant::now();
    let workdir = Workdir::create()?;
    let dest = workdir.path().join("variant");
    site.adapter
        .bind(py)
        .call_method1(
            "make_variant",
            (
                load.site_dir.to_string_lossy().as_ref(),
                dest.to_string_lossy().as_ref(),
                factor,
            ),
        )
        .map_err(|e| python::interrupt::or_else(py, &e, |why| anyhow::anyhow!(why)))?;
    let variant_settings = LoadSettings {
        site_dir: dest,
        stage: Stage::Discovered,
        loader: None,
        generator: Some(site.generator.clone()),
        load_limit_seconds: load.load_limit_seconds,
    };
    let variant = generators::load(py, &variant_settings, &workdir)?;
    let built = Payloads::new(
        py,
        &variant,
        PageView::new(py, fields.to_vec(), exclude_keys)?,
        None,
        None,
    )?;
    let budget = (share_seconds - started.elapsed().as_secs_f64()).max(0.2);
    let settings = MeasureSettings {
        protocol,
        iterations: 5,
        sample: Some(5),
        budget_seconds: budget,
        gc: GcMode::Off,
    };
    let measured = measure::measure(&built, &settings, &Silent)?;
    let pages = variant.pages.len() as u64;
    Ok(measured
        .payloads
        .iter()
        .map(|p| GrowthPoint {
            pages,
            payload: p.kind,
            bytes: median_size(p),
            roundtrip_ns: (!p.roundtrip.is_empty()).then(|| p.roundtrip.value_at_quantile(0.5)),
        })
        .collect())
}

fn median_size(p: &PayloadResult) -> Option<u64> {
    let mut sizes: Vec<u64> = p.sizes.iter().map(|&(_, b)| b).collect();
    if sizes.is_empty() || !p.failures.is_empty() {
        return None;
    }
    sizes.sort_unstable();
    Some(crate::model::stats::nearest_rank(&sizes, 0.5))
}

fn fit_and_project(growth: &mut GrowthJson) {
    for kind in growth.payloads() {
        let of = |q: fn(&GrowthPoint) -> Option<u64>| -> Vec<(f64, f64)> {
            growth
                .points
                .iter()
                .filter(|p| p.payload == kind)
                .filter_map(|p| q(p).map(|v| (p.pages as f64, v as f64)))
                .collect()
        };
        let bytes = of(|p| p.bytes);
        let roundtrip = of(|p| p.roundtrip_ns);
        let fits: Vec<(&'static str, Option<fit::Linear>, Option<f64>)> = vec![
            ("bytes", fit::Linear::fit(&bytes), fit::exponent(&bytes)),
            (
                "roundtrip_ns",
                fit::Linear::fit(&roundtrip),
                fit::exponent(&roundtrip),
            ),
        ];
        for (quantity, line, exponent) in &fits {
            if let Some(line) = line {
                growth.fits.push(GrowthFit {
                    payload: kind,
                    quantity,
                    intercept: line.intercept,
                    slope_per_page: line.slope,
                    r2: line.r2,
                    exponent: *exponent,
                    // Growing, but not in proportion to the pages: a line will mislead.
                    bends: exponent.is_some_and(|k| k >= 0.3 && (k - 1.0).abs() > 0.2),
                });
            }
        }
        let series = [&bytes, &roundtrip];
        for pages in PROJECT_TO {
            let x = pages as f64;
            // A quantity that does not grow with the pages is projected as its mean.
            let at = |i: usize| match (&fits[i].1, fits[i].2) {
                (_, Some(k)) if k < 0.3 => fit::flat(series[i]),
                (Some(f), _) => Some((f.at(x).max(0.0), f.interval(x))),
                _ => None,
            };
            let b = at(0);
            let r = at(1);
            growth.projections.push(GrowthProjection {
                pages,
                payload: kind,
                bytes: b.map(|v| v.0),
                bytes_low: b.map(|v| v.1.0.max(0.0)),
                bytes_high: b.map(|v| v.1.1),
                roundtrip_ns: r.map(|v| v.0),
                roundtrip_ns_low: r.map(|v| v.1.0.max(0.0)),
                roundtrip_ns_high: r.map(|v| v.1.1),
            });
        }
    }
}
