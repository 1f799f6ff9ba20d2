//! Cost as a function of page count: copies of the site (outside it) with a fraction of its
//! content, for small sites with it replicated, then doubled until the Site's pickle outgrows the
//! last-level cache (as far as `--budget` allows), and at the page counts `--growth-pages` asks;
//! each loaded for real through the generator adapter and measured like the site itself; then
//! fits per quantity and projections (`project.rs`).
pub mod cache;
pub mod fit;
pub mod project;

pub use project::{MAX_EXTRAPOLATION, PROJECT_TO};

use crate::generators::{self, LoadedSite, Workdir};
use crate::measure::{self, PayloadResult};
use crate::model::phase_limit::{LimitedPhase, PhaseLimit};
use crate::model::results::{CopyReason, GrowthCopy, GrowthJson, GrowthPoint};
use crate::model::{GcMode, PayloadKind, Stage};
use crate::payloads::{PageView, Payloads};
use crate::python;
use crate::settings::{LoadSettings, MeasureSettings};
use anyhow::Result;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

/// Content factors: 1/8 .. all, and for sites under 200 pages also 2x and 4x.
pub fn factors(pages: usize) -> Vec<f64> {
    let mut f = vec![0.125, 0.25, 0.5, 1.0];
    if pages < 200 {
        f.extend([2.0, 4.0]);
    }
    f
}

/// The cache doublings stop at this many pages whatever the cache (a site whose pickle is tiny).
const CACHE_MAX_PAGES: f64 = 200_000.0;

/// A doubled copy's generator load is guessed as this many times the previous copy's before
/// starting it: loading grows faster than the pages (Bengal 0.1.2's is about quadratic).
const NEXT_LOAD_GUESS: f64 = 4.0;

struct Silent;

impl measure::Progress for Silent {
    fn start_measuring(&self, _: u64) {}
    fn set_remaining(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish_measuring(&self) {}
}

/// What the copies share: `budget_seconds` planned among them (`--budget`), a hard
/// `limit_seconds` (`--growth-limit`) after which no copy is started, and the page counts asked
/// for (`--growth-pages`), measured within the limit whatever the budget.
#[derive(Debug, Clone)]
pub struct Time {
    pub budget_seconds: f64,
    pub limit_seconds: f64,
    pub asked_pages: Vec<u64>,
}

/// What every copy is measured with.
pub struct Request<'a> {
    pub site: &'a LoadedSite,
    pub load: &'a LoadSettings,
    pub fields: &'a [String],
    pub exclude_keys: &'a BTreeMap<String, Vec<String>>,
    pub protocol: u8,
}

/// The run of copies: what was measured, and the clock.
struct Run<'a> {
    request: Request<'a>,
    time: Time,
    started: Instant,
    growth: GrowthJson,
    measured: u64,
    planned: u64,
    cut: bool,
}

/// Measure every copy within `time`; the growth model, and how many copies were measured
/// within the limit.
pub fn run(py: Python<'_>, request: Request<'_>, time: Time) -> Result<(GrowthJson, PhaseLimit)> {
    let pages = request.site.pages.len();
    let mut run = Run {
        request,
        time,
        started: Instant::now(),
        growth: GrowthJson::default(),
        measured: 0,
        planned: 0,
        cut: false,
    };
    let ladder = factors(pages);
    for (i, &factor) in ladder.iter().enumerate() {
        let left = run.time.budget_seconds - run.spent();
        // Each copy gets an equal share of what is left; its loading comes out of the share.
        let share = left / (ladder.len() - i) as f64;
        run.copy(py, factor, CopyReason::Ladder, (left > 0.0).then_some(share))?;
    }
    run.cache_copies(py, pages)?;
    for asked in run.time.asked_pages.clone() {
        let factor = asked as f64 / pages.max(1) as f64;
        let share = (run.time.budget_seconds - run.spent()).max(run.time.budget_seconds / 4.0);
        run.copy(py, factor, CopyReason::Asked, Some(share))?;
    }
    project::fit_and_project(&mut run.growth);
    let limit = PhaseLimit {
        phase: LimitedPhase::Growth,
        limit_seconds: run.time.limit_seconds,
        seconds: run.spent(),
        cut: run.cut,
        done: run.measured,
        planned: run.planned,
        unit: "copies measured".into(),
        note: run
            .cut
            .then(|| "the copies not started are listed under growth errors".into()),
    };
    Ok((run.growth, limit))
}

impl Run<'_> {
    fn spent(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Measure the copy at `factor` with `share` seconds (None: the budget ran out), unless
    /// the growth limit has passed.
    fn copy(&mut self, py: Python<'_>, factor: f64, reason: CopyReason, share: Option<f64>) -> Result<()> {
        self.planned += 1;
        self.growth.factors.push(factor);
        if self.spent() >= self.time.limit_seconds {
            self.cut = true;
            self.growth.errors.push(format!(
                "x{factor}: not measured, the growth limit (--growth-limit) had passed"
            ));
            return Ok(());
        }
        let Some(share) = share else {
            self.growth
                .errors
                .push(format!("x{factor}: not measured, the budget ran out"));
            return Ok(());
        };
        let started = Instant::now();
        match point(py, &self.request, factor, share) {
            Ok((points, pages, load_ns)) => {
                self.growth.points.extend(points);
                self.growth.copies.push(GrowthCopy {
                    factor,
                    pages,
                    load_ns,
                    reason,
                    seconds: started.elapsed().as_secs_f64(),
                });
                self.measured += 1;
            }
            // An interrupt is no copy's failure: it stops the run (the copy's scratch is gone,
            // dropped with its workdir on the way out).
            Err(e) if e.downcast_ref::<python::interrupt::Interrupted>().is_some() => return Err(e),
            Err(e) => self.growth.errors.push(format!("x{factor}: {e}")),
        }
        Ok(())
    }

    /// Doublings beyond the ladder until the Site's pickle (or the largest payload's) is at
    /// least the last-level cache, each started only where the budget and the limit leave
    /// room for it.
    fn cache_copies(&mut self, py: Python<'_>, pages: usize) -> Result<()> {
        let llc = cache::last_level_cache();
        self.growth.llc_bytes = llc;
        let Some(llc) = llc else {
            self.growth.errors.push(
                "no copies beyond the ladder: the last-level cache size is not readable from /sys/devices/system/cpu/cpu0/cache".into(),
            );
            return Ok(());
        };
        let mut factor = self.growth.factors.last().copied().unwrap_or(1.0) * 2.0;
        while let Some((largest, bytes)) = self.largest_pickle() {
            if bytes >= llc || factor * pages as f64 > CACHE_MAX_PAGES {
                break;
            }
            // The doublings still needed share what is left of the budget; a copy takes its
            // share (its measuring stops there) or its load, whichever is longer.
            let left = self.time.budget_seconds - self.spent();
            let needed = (llc as f64 / bytes.max(1) as f64).log2().ceil().max(1.0);
            let share = left / needed;
            let last_load = self.growth.copies.last().map_or(0.0, |c| c.load_ns as f64 / 1e9);
            let guess = share.max(last_load * NEXT_LOAD_GUESS);
            if guess > left || self.spent() + guess > self.time.limit_seconds {
                self.growth.errors.push(format!(
                    "x{factor}: not measured, a copy of about {:.0} pages (about {guess:.0} s) would not fit the {:.0} s left of --budget / --growth-limit; the largest copy measured, {largest} pages, pickles to {bytes} B against a {llc} B last-level cache",
                    factor * pages as f64,
                    left.min(self.time.limit_seconds - self.spent()).max(0.0)
                ));
                break;
            }
            let copies = self.growth.copies.len();
            self.copy(py, factor, CopyReason::Cache, Some(share))?;
            if self.growth.copies.len() == copies {
                break;
            }
            factor *= 2.0;
        }
        Ok(())
    }

    /// The largest copy measured, and its Site's pickle (or its largest payload's).
    fn largest_pickle(&self) -> Option<(u64, u64)> {
        let largest = self.growth.largest()?;
        let at: Vec<&GrowthPoint> = self.growth.points.iter().filter(|p| p.pages == largest).collect();
        let site = at
            .iter()
            .find(|p| p.payload == PayloadKind::Site)
            .and_then(|p| p.bytes);
        site.or_else(|| at.iter().filter_map(|p| p.bytes).max())
            .map(|b| (largest, b))
    }
}

/// One copy made, loaded and measured: its points, its pages and the generator's load of it.
fn point(
    py: Python<'_>,
    r: &Request<'_>,
    factor: f64,
    share_seconds: f64,
) -> Result<(Vec<GrowthPoint>, u64, u64)> {
    let (site, load) = (r.site, r.load);
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
        loader: load.loader.clone(),
        generator: load.loader.is_none().then(|| site.generator.clone()),
        load_limit_seconds: load.load_limit_seconds,
    };
    let variant = generators::load(py, &variant_settings, &workdir)?;
    let built = Payloads::new(
        py,
        &variant,
        PageView::new(py, r.fields.to_vec(), r.exclude_keys)?,
        None,
        None,
    )?;
    let budget = (share_seconds - started.elapsed().as_secs_f64()).max(0.2);
    let settings = MeasureSettings {
        protocol: r.protocol,
        iterations: 5,
        sample: Some(5),
        budget_seconds: budget,
        gc: GcMode::Off,
    };
    let measured = measure::measure(&built, &settings, &Silent)?;
    let pages = variant.pages.len() as u64;
    let p50 = |h: &hdrhistogram::Histogram<u64>| (!h.is_empty()).then(|| h.value_at_quantile(0.5));
    let points = measured
        .payloads
        .iter()
        .map(|p| GrowthPoint {
            pages,
            payload: p.kind,
            bytes: median_size(p),
            dumps_ns: p50(&p.dumps),
            loads_ns: p50(&p.loads),
            roundtrip_ns: p50(&p.roundtrip),
        })
        .collect();
    Ok((points, pages, (variant.load_seconds * 1e9).round() as u64))
}

fn median_size(p: &PayloadResult) -> Option<u64> {
    let mut sizes: Vec<u64> = p.sizes.iter().map(|&(_, b)| b).collect();
    if sizes.is_empty() || !p.failures.is_empty() {
        return None;
    }
    sizes.sort_unstable();
    Some(crate::model::stats::nearest_rank(&sizes, 0.5))
}
