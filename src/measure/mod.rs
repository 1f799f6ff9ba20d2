//! Measure pickle size and dumps/loads latency of each payload under a time budget.
pub mod plan;
pub mod sample;
pub mod stats;

use crate::error::UserError;
use crate::load::LoadedSite;
use crate::output::progress::Progress;
use crate::python::{self, Module};
use anyhow::Result;
use hdrhistogram::Histogram;
use plan::{PayloadCost, PayloadPlan};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    Site,
    Page,
    PageSubset,
}

impl PayloadKind {
    pub const ALL: [PayloadKind; 3] = [PayloadKind::Site, PayloadKind::Page, PayloadKind::PageSubset];

    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::Site => "site",
            PayloadKind::Page => "page",
            PayloadKind::PageSubset => "page_subset",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub protocol: u8,
    pub iterations: u32,
    pub sample: Option<u64>,
    pub budget_seconds: f64,
    pub gc_enabled: bool,
}

pub struct PayloadResult {
    pub kind: PayloadKind,
    /// Objects of this kind in the site (1 for `site`, one per page otherwise).
    pub objects: usize,
    /// (object index, pickled bytes) for every object sized.
    pub sizes: Vec<(usize, u64)>,
    /// (object index, "Type: message") for every object that failed.
    pub failures: Vec<(usize, String)>,
    pub dumps: Histogram<u64>,
    pub loads: Histogram<u64>,
    pub roundtrip: Histogram<u64>,
    /// Sum of the timed dumps and loads calls: the samples in the histograms.
    pub measured: Duration,
    pub plan: PayloadPlan,
    /// The budget ran out before every planned object was sized.
    pub cut_by_budget: bool,
    /// How the sized objects were chosen, in words.
    pub selection: String,
}

impl PayloadResult {
    pub fn picklable(&self) -> bool {
        self.failures.is_empty() && !self.sizes.is_empty()
    }
}

pub struct Measurements {
    pub payloads: Vec<PayloadResult>,
    pub fields: Vec<String>,
    pub calibration: Duration,
}

/// The Python callables one round needs, looked up once.
struct Pickler<'py> {
    py: Python<'py>,
    dumps: Bound<'py, PyAny>,
    loads: Bound<'py, PyAny>,
    collect: Bound<'py, PyAny>,
    protocol: u8,
}

struct Round {
    bytes: u64,
    dumps: Duration,
    loads: Duration,
}

impl<'py> Pickler<'py> {
    /// One dumps and one loads, each timed on its own; the copy is released and collected
    /// outside the timed region so memory does not grow from round to round.
    fn round(&self, obj: &Bound<'py, PyAny>) -> Result<Round, String> {
        let started = Instant::now();
        let pickled = self.dumps.call1((obj, self.protocol));
        let dumps = started.elapsed();
        let pickled = pickled.map_err(|e| python::describe_error(self.py, &e))?;
        let bytes = pickled
            .cast::<PyBytes>()
            .map(|b| b.as_bytes().len() as u64)
            .map_err(|_| "pickle.dumps did not return bytes".to_string())?;
        let started = Instant::now();
        let copy = self.loads.call1((&pickled,));
        let loads = started.elapsed();
        drop(pickled);
        let result = match copy {
            Ok(_) => Ok(Round { bytes, dumps, loads }),
            Err(e) => Err(format!("pickles, but loads fails: {}", python::describe_error(self.py, &e))),
        };
        let _ = self.collect.call0();
        result
    }
}

pub fn measure(
    py: Python<'_>,
    site: &LoadedSite,
    fields: Option<&[String]>,
    settings: &Settings,
    progress: &Progress,
) -> Result<Measurements> {
    let payloads_py = python::module(py, Module::Payloads)?;
    let fields: Vec<String> = match fields {
        Some(f) => f.to_vec(),
        None => payloads_py.call_method1("default_fields", (&site.generator,))?.extract()?,
    };
    if let Some(first) = site.pages.first() {
        if let Err(err) = payloads_py.call_method1("validate_fields", (first.bind(py), fields.clone())) {
            let msg = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
            return Err(UserError::Fields(msg).into());
        }
    }
    let pickle = py.import("pickle")?;
    let gc = py.import("gc")?;
    let pickler = Pickler {
        py,
        dumps: pickle.getattr("dumps")?,
        loads: pickle.getattr("loads")?,
        collect: gc.getattr("collect")?,
        protocol: settings.protocol,
    };
    let subset_fn = payloads_py.getattr("subset")?;
    let fields_py = fields.clone();
    let object = |kind: PayloadKind, index: usize| -> PyResult<Bound<'_, PyAny>> {
        match kind {
            PayloadKind::Site => Ok(site.site.bind(py).clone()),
            PayloadKind::Page => Ok(site.pages[index].bind(py).clone()),
            PayloadKind::PageSubset => subset_fn.call1((site.pages[index].bind(py), fields_py.clone())),
        }
    };
    let count = |kind: PayloadKind| if kind == PayloadKind::Site { 1 } else { site.pages.len() };

    // The loaded graph is permanent for this run: freezing it keeps the collections between
    // rounds from walking the whole Site every time.
    let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
    gc.call_method0("collect")?;
    gc.call_method0("freeze")?;
    if !settings.gc_enabled {
        gc.call_method0("disable")?;
    }
    let result = (|| -> Result<Measurements> {
        let calibration_started = Instant::now();
        let mut costs = Vec::new();
        for kind in PayloadKind::ALL {
            let n = count(kind);
            let probes = sample::stratified(&site.strata, 3.min(n));
            let probes: Vec<usize> = if kind == PayloadKind::Site { vec![0] } else { probes };
            let started = Instant::now();
            for &i in &probes {
                let obj = object(kind, i)?;
                let _ = pickler.round(&obj);
            }
            let per_round = started.elapsed().as_secs_f64() / probes.len().max(1) as f64;
            costs.push(PayloadCost { objects: n, round_seconds: per_round });
        }
        let calibration = calibration_started.elapsed();
        let budget = (settings.budget_seconds - calibration.as_secs_f64()).max(0.0);
        let plans = plan::plan(&costs, budget, settings.iterations, settings.sample);
        let total_rounds: u64 = plans
            .iter()
            .map(|p| (p.sized + p.repeated * (p.iterations as usize - 1)) as u64)
            .sum();
        progress.start_measuring(total_rounds);

        let mut payloads = Vec::new();
        for (kind, plan) in PayloadKind::ALL.into_iter().zip(plans) {
            let n = count(kind);
            let chosen: Vec<usize> = if kind == PayloadKind::Site {
                vec![0]
            } else if plan.is_sampled(n) {
                sample::stratified(&site.strata, plan.sized)
            } else {
                (0..n).collect()
            };
            let visit: Vec<usize> = sample::spread_order(chosen.len()).into_iter().map(|i| chosen[i]).collect();
            let mut result = PayloadResult {
                kind,
                objects: n,
                sizes: Vec::with_capacity(visit.len()),
                failures: Vec::new(),
                dumps: stats::new_histogram(),
                loads: stats::new_histogram(),
                roundtrip: stats::new_histogram(),
                measured: Duration::ZERO,
                cut_by_budget: false,
                selection: String::new(),
                plan: plan.clone(),
            };
            let started = Instant::now();
            // Estimates can be off: repeats stop at the share, sizing at twice the share.
            let share = Duration::from_secs_f64(plan.share_seconds);
            for (position, &index) in visit.iter().enumerate() {
                if position > 0 && started.elapsed() > share * 2 + Duration::from_millis(200) {
                    result.cut_by_budget = true;
                    break;
                }
                let obj = object(kind, index)?;
                let rounds = if position < plan.repeated && started.elapsed() < share { plan.iterations } else { 1 };
                for r in 0..rounds {
                    match pickler.round(&obj) {
                        Ok(round) => {
                            if r == 0 {
                                result.sizes.push((index, round.bytes));
                            }
                            let ns = |d: Duration| (d.as_nanos() as u64).max(1);
                            result.dumps.saturating_record(ns(round.dumps));
                            result.loads.saturating_record(ns(round.loads));
                            result.roundtrip.saturating_record(ns(round.dumps + round.loads));
                            result.measured += round.dumps + round.loads;
                        }
                        Err(error) => {
                            result.failures.push((index, error));
                            break;
                        }
                    }
                }
                progress.advance(rounds as u64);
            }
            result.selection = describe_selection(kind, n, &result);
            payloads.push(result);
        }
        Ok(Measurements { payloads, fields: fields.clone(), calibration })
    })();
    if was_enabled {
        gc.call_method0("enable")?;
    }
    gc.call_method0("unfreeze")?;
    progress.finish_measuring();
    result
}

fn describe_selection(kind: PayloadKind, n: usize, r: &PayloadResult) -> String {
    let attempted = r.sizes.len() + r.failures.len();
    let noun = if kind == PayloadKind::Site { "object" } else { "pages" };
    let mut text = if kind == PayloadKind::Site {
        "the Site object".to_string()
    } else if r.plan.is_sampled(n) || r.cut_by_budget {
        format!(
            "stratified sample of {attempted} of {n} {noun} (sorted by directory and content length, evenly spaced) — sizing all would not fit the budget"
        )
    } else {
        format!("all {n} {noun}")
    };
    if r.plan.repeated > 0 {
        let repeated = r.plan.repeated.min(attempted);
        text.push_str(&format!(
            "; {} timed rounds for {} of them{}",
            r.plan.iterations,
            repeated,
            if repeated < attempted { ", one round for the rest" } else { "" }
        ));
    } else {
        text.push_str("; one timed round each");
    }
    if r.cut_by_budget {
        text.push_str(" (the budget ran out before the planned sample was complete)");
    }
    text
}
