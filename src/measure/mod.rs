//! Measure pickle size and dumps/loads latency of each payload under a time budget.
pub mod facts;
pub mod plan;
pub mod sample;

use crate::model::stats;
use crate::model::{GcMode, PayloadKind};
use crate::payloads::Payloads;
use crate::python;
use crate::settings::MeasureSettings;
use anyhow::Result;
use hdrhistogram::Histogram;
use plan::{PayloadCost, PayloadPlan};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::time::{Duration, Instant};

/// Where the measuring loop reports how far it got (the terminal's progress bar, or nothing).
pub trait Progress {
    fn start_measuring(&self, rounds: u64);
    /// Re-plan: what is left to do from here on.
    fn set_remaining(&self, rounds: u64);
    fn advance(&self, n: u64);
    fn finish_measuring(&self);
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
    /// Round trips of a fixed reference object, interleaved with this payload's rounds: how
    /// fast the machine was while this payload was measured (`compare` divides it out).
    pub reference: Histogram<u64>,
    /// Sum of the reference round trips: timed operations of the phase too, not the payload's.
    pub reference_time: Duration,
    /// Sum of the timed dumps and loads calls: the samples in the histograms.
    pub measured: Duration,
    pub plan: PayloadPlan,
    /// Wall time of this payload's measuring loop, and the part of it spent freeing copies.
    pub wall: Duration,
    pub releasing: Duration,
    /// What a few of the pickles made (spread over the visit) say when read statically, read
    /// as they were made (no pickle is kept).
    pub facts: facts::PickleFacts,
    /// Calibrated wall time of one round (with its collection), which the plan was made from.
    pub round_estimate_seconds: f64,
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
    pub calibration: Duration,
    /// The dumps and loads calls calibration made: operations of the phase, not samples.
    pub calibration_operations: Duration,
    /// Reading pickles statically as they are made (`facts`), done inside the measuring loop.
    pub inspect: Duration,
    /// Making the payload objects (the adapter's or the generator's own code, such as Bengal's
    /// `page_view_from_live_page`), done inside the measuring loop: not the harness's time.
    pub building: Duration,
}

/// The Python callables one round needs, looked up once.
struct Pickler<'py> {
    py: Python<'py>,
    dumps: Bound<'py, PyAny>,
    loads: Bound<'py, PyAny>,
    collect: Bound<'py, PyAny>,
    get_count: Bound<'py, PyAny>,
    protocol: u8,
    /// Wall time spent releasing unpickled copies: harness overhead, reported as such.
    releasing: std::cell::Cell<Duration>,
    /// Pickled bytes unpickled since the last collection.
    unpickled: std::cell::Cell<u64>,
    interrupted: std::cell::Cell<bool>,
}

/// A fixed object of plain data (a few small page records, a few µs to round-trip) whose
/// round trip measures the machine's speed at that moment, independent of the site.
const REFERENCE_OBJECT: &std::ffi::CStr = c"[{'title': 'page %d' % i, 'weight': i, 'draft': False, 'ratio': i / 7, 'tags': ['python', 'pickle']} for i in range(4)]";

/// Reference round trips take at most this share of a payload's measured time, so they cost
/// little yet span the whole measuring window; the first few follow every round, so that even
/// a payload of a few µs has enough of them to estimate the machine's speed.
const REFERENCE_SHARE: u32 = 10;
const REFERENCE_MIN_SAMPLES: u64 = 8;

/// Collect once this many container objects await it: often enough that memory stays flat,
/// rarely enough that collecting tiny payloads' garbage does not cost more than pickling them.
const COLLECT_AFTER_OBJECTS: i64 = 20_000;
/// ... or once this many pickled bytes were unpickled since the last collection. A large copy
/// is freed while its memory is still in cache and the next `loads` reuses that memory: with
/// a 440 KB showcase Page (it drags its Site), freeing every copy at once cost less than
/// letting two pile up, and the measuring phase's peak halved.
const COLLECT_AFTER_BYTES: u64 = 256 << 10;

/// One timed `pickle.dumps`: the size, and a dumps sample.
struct Sized<'py> {
    pickled: Bound<'py, PyAny>,
    bytes: u64,
    dumps: Duration,
}

impl<'py> Pickler<'py> {
    /// A Ctrl-C that Python turned into KeyboardInterrupt must stop the run, not be recorded
    /// as one more object that failed to pickle.
    fn describe(&self, err: &PyErr) -> String {
        if python::interrupt::interrupted(self.py, err).is_some() {
            self.interrupted.set(true);
        }
        python::describe_error(self.py, err)
    }

    fn dumps(&self, obj: &Bound<'py, PyAny>) -> Result<Sized<'py>, String> {
        let started = Instant::now();
        let pickled = self.dumps.call1((obj, self.protocol));
        let dumps = started.elapsed();
        let pickled = pickled.map_err(|e| self.describe(&e))?;
        let bytes = pickled
            .cast::<PyBytes>()
            .map(|b| b.as_bytes().len() as u64)
            .map_err(|_| "pickle.dumps did not return bytes".to_string())?;
        Ok(Sized {
            pickled,
            bytes,
            dumps,
        })
    }

    /// One timed `pickle.loads` of what `dumps` made; the copy is released and collected
    /// outside the timed region so memory does not grow from round to round.
    fn loads(&self, sized: Sized<'py>) -> Result<Duration, String> {
        let started = Instant::now();
        let copy = self.loads.call1((&sized.pickled,));
        let loads = started.elapsed();
        let releasing = Instant::now();
        self.unpickled.set(self.unpickled.get() + sized.bytes);
        drop(sized);
        // Matched by value: the copy is released here, before the collection below, which
        // would otherwise walk it and keep it to a later, older-generation collection.
        let result = match copy {
            Ok(copy) => {
                drop(copy);
                Ok(loads)
            }
            Err(e) => Err(format!("pickles, but loads fails: {}", self.describe(&e))),
        };
        self.release_garbage();
        self.releasing.set(self.releasing.get() + releasing.elapsed());
        result
    }

    /// One timed dumps+loads of the reference object, or None if it failed (it never should).
    fn reference_round(&self, reference: &Bound<'py, PyAny>) -> Option<Duration> {
        let sized = self.dumps(reference).ok()?;
        let dumps = sized.dumps;
        self.loads(sized).ok().map(|loads| dumps + loads)
    }

    fn release_garbage(&self) {
        let pending = self
            .get_count
            .call0()
            .and_then(|c| c.get_item(0))
            .and_then(|c| c.extract::<i64>())
            .unwrap_or(i64::MAX);
        if pending >= COLLECT_AFTER_OBJECTS || self.unpickled.get() >= COLLECT_AFTER_BYTES {
            // The two young generations hold every copy (the GC is off and copies are released
            // before this): a full collection would also empty the interpreter's free lists,
            // which the next `loads` would then refill, unlike a worker's usual young collections.
            // (On 3.14's incremental collector, 1 is the young generation and an old increment.)
            let _ = self.collect.call1((1,));
            self.unpickled.set(0);
        }
    }

    /// Everything a payload's rounds left, down to the oldest generation (reported as releasing).
    fn collect_all(&self) {
        let started = Instant::now();
        let _ = self.collect.call0();
        self.unpickled.set(0);
        self.releasing.set(self.releasing.get() + started.elapsed());
    }
}

/// What a payload's warm-up rounds said.
struct Calibration {
    cost: PayloadCost,
    /// The dumps and loads calls the warm-up made (timed, not recorded as samples).
    operations: Duration,
}

/// Costs from untimed warm-up rounds over the probes: at least one per probe and at least
/// 5 ms in all (at most 200 rounds), so that a microsecond payload is not judged by its first,
/// cold call. A round of a millisecond payload is warm after its first call: more rounds would
/// only add to the phase.
fn calibrate<'py>(
    pickler: &Pickler<'py>,
    probes: &[usize],
    objects: usize,
    object: impl Fn(usize) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Calibration> {
    const MIN_TIME: Duration = Duration::from_millis(5);
    const MAX_ROUNDS: usize = 200;
    let mut operations = Duration::ZERO;
    let mut cost = PayloadCost {
        objects,
        dumps_seconds: 0.0,
        round_seconds: 0.0,
    };
    if probes.is_empty() {
        return Ok(Calibration { cost, operations });
    }
    // The dumps call's time, adding every timed call to `operations`. A payload that does not
    // pickle is not warmed past its probes: its failures are timed as they come.
    let failed = std::cell::Cell::new(false);
    let mut round = |i: usize| -> PyResult<Duration> {
        let obj = object(i)?;
        let started = Instant::now();
        if let Ok(sized) = pickler.dumps(&obj) {
            let dumps = sized.dumps;
            operations += dumps + pickler.loads(sized).unwrap_or_default();
            return Ok(dumps);
        }
        failed.set(true);
        Ok(started.elapsed())
    };
    // The very first round pays for imports and caches; it is not a fair estimate.
    round(probes[0])?;
    let started = Instant::now();
    let mut dumps = Duration::ZERO;
    let mut rounds = 0;
    while rounds < probes.len() || (!failed.get() && started.elapsed() < MIN_TIME && rounds < MAX_ROUNDS) {
        dumps += round(probes[rounds % probes.len()])?;
        rounds += 1;
    }
    let n = rounds as f64;
    cost.dumps_seconds = dumps.as_secs_f64() / n;
    cost.round_seconds = started.elapsed().as_secs_f64() / n;
    Ok(Calibration { cost, operations })
}

pub fn measure<'py>(
    payloads: &Payloads<'_, 'py>,
    settings: &MeasureSettings,
    progress: &dyn Progress,
) -> Result<Measurements> {
    let py = payloads.py;
    let site = payloads.site;
    let pickle = py.import("pickle")?;
    let gc = py.import("gc")?;
    let pickler = Pickler {
        py,
        dumps: pickle.getattr("dumps")?,
        loads: pickle.getattr("loads")?,
        collect: gc.getattr("collect")?,
        get_count: gc.getattr("get_count")?,
        protocol: settings.protocol,
        releasing: std::cell::Cell::new(Duration::ZERO),
        unpickled: std::cell::Cell::new(0),
        interrupted: std::cell::Cell::new(false),
    };
    let reference = py.eval(REFERENCE_OBJECT, None, None)?;
    let building = std::cell::Cell::new(Duration::ZERO);
    let object = |kind: PayloadKind, index: usize| {
        let started = Instant::now();
        let made = payloads.object(kind, index);
        building.set(building.get() + started.elapsed());
        made
    };
    let kinds = payloads.kinds();
    let count = |kind: PayloadKind| payloads.count(kind);

    // The loaded graph is permanent for this run: freezing it keeps the collections between
    // rounds from walking the whole Site every time. Not collected first: that walk of the
    // whole heap (9 ms on the showcase) would free nothing the loaded site does not still hold,
    // and whatever loading left is the interpreter's own to collect once it is unfrozen.
    let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
    gc.call_method0("freeze")?;
    if settings.gc == GcMode::Off {
        gc.call_method0("disable")?;
    }
    let result = (|| -> Result<Measurements> {
        let calibration_started = Instant::now();
        // Warm: the first reference round pays for caches, as any first call does.
        pickler.reference_round(&reference);
        let mut costs = Vec::new();
        let mut calibration_operations = Duration::ZERO;
        for &kind in &kinds {
            let probes: Vec<usize> = if kind == PayloadKind::Site {
                vec![0]
            } else {
                sample::stratified(&site.strata, 3.min(count(kind)))
            };
            let calibrated = calibrate(&pickler, &probes, count(kind), |i| object(kind, i))?;
            costs.push(calibrated.cost);
            calibration_operations += calibrated.operations;
        }
        let calibration = calibration_started.elapsed();

        // Cheapest payload first: what it leaves of its share flows on to the costlier ones.
        let mut order: Vec<usize> = (0..costs.len()).collect();
        let need = |k: usize| plan::need(&costs[k], settings.iterations, settings.sample);
        order.sort_by(|&a, &b| need(a).total_cmp(&need(b)));
        let measuring_started = Instant::now();
        let budget = (settings.budget_seconds - calibration.as_secs_f64()).max(0.0);
        let planned_rounds =
            |plans: &[PayloadPlan]| -> u64 { plans.iter().map(PayloadPlan::dumps_calls).sum() };
        let ordered_costs: Vec<PayloadCost> = order.iter().map(|&k| costs[k]).collect();
        progress.start_measuring(planned_rounds(&plan::plan(
            &ordered_costs,
            budget,
            settings.iterations,
            settings.sample,
        )));

        let mut results: Vec<Option<PayloadResult>> = kinds.iter().map(|_| None).collect();
        let mut inspect = Duration::ZERO;
        for (step, &k) in order.iter().enumerate() {
            let kind = kinds[k];
            let left = (budget - measuring_started.elapsed().as_secs_f64()).max(0.0);
            let plans = plan::plan(&ordered_costs[step..], left, settings.iterations, settings.sample);
            progress.set_remaining(planned_rounds(&plans));
            let plan = plans[0].clone();
            let n = count(kind);
            let chosen: Vec<usize> = if kind == PayloadKind::Site {
                vec![0]
            } else if plan.is_sampled(n) {
                sample::stratified(&site.strata, plan.sized)
            } else {
                (0..n).collect()
            };
            let visit: Vec<usize> = sample::spread_order(chosen.len())
                .into_iter()
                .map(|i| chosen[i])
                .collect();
            let mut reference_spent = Duration::ZERO;
            let mut read: Vec<facts::PickleRead> = Vec::new();
            let mut result = PayloadResult {
                kind,
                objects: n,
                sizes: Vec::with_capacity(visit.len()),
                failures: Vec::new(),
                dumps: stats::new_histogram(),
                loads: stats::new_histogram(),
                roundtrip: stats::new_histogram(),
                reference: stats::new_histogram(),
                reference_time: Duration::ZERO,
                facts: Default::default(),
                measured: Duration::ZERO,
                cut_by_budget: false,
                selection: String::new(),
                round_estimate_seconds: costs[k].round_seconds,
                wall: Duration::ZERO,
                releasing: Duration::ZERO,
                plan: plan.clone(),
            };
            let started = Instant::now();
            let releasing_before = pickler.releasing.get();
            // Estimates can be off: repeats stop half as much again past the share (a share that
            // exactly fits its need must not lose rounds to noise), sizing at twice the share.
            let share = Duration::from_secs_f64(plan.share_seconds);
            let repeat_deadline = share.mul_f64(1.5) + Duration::from_millis(100);
            for (position, &index) in visit.iter().enumerate() {
                if position > 0 && started.elapsed() > share * 2 + Duration::from_millis(200) {
                    result.cut_by_budget = true;
                    break;
                }
                let obj = object(kind, index)?;
                // The first `timed` objects of the visit get latency rounds, the rest a dumps.
                let rounds = if position < plan.timed && started.elapsed() < repeat_deadline {
                    plan.iterations
                } else {
                    0
                };
                let ns = |d: Duration| (d.as_nanos() as u64).max(1);
                for r in 0..rounds.max(1) {
                    let sized = match pickler.dumps(&obj) {
                        Ok(sized) => sized,
                        Err(error) => {
                            result.failures.push((index, error));
                            break;
                        }
                    };
                    let dumps = sized.dumps;
                    if r == 0 {
                        result.sizes.push((index, sized.bytes));
                        inspect += read_pickle(&mut read, &sized.pickled);
                    }
                    result.dumps.saturating_record(ns(dumps));
                    result.measured += dumps;
                    if rounds == 0 {
                        break;
                    }
                    match pickler.loads(sized) {
                        Ok(loads) => {
                            result.loads.saturating_record(ns(loads));
                            result.roundtrip.saturating_record(ns(dumps + loads));
                            result.measured += loads;
                            if (result.reference.len() < REFERENCE_MIN_SAMPLES
                                || reference_spent * REFERENCE_SHARE <= result.measured)
                                && let Some(d) = pickler.reference_round(&reference)
                            {
                                reference_spent += d;
                                result.reference.saturating_record(ns(d));
                            }
                        }
                        Err(error) => {
                            result.sizes.retain(|&(i, _)| i != index);
                            result.failures.push((index, error));
                            break;
                        }
                    }
                }
                progress.advance(rounds.max(1) as u64);
                if pickler.interrupted.get() {
                    return Err(python::interrupt::current().into());
                }
            }
            pickler.collect_all();
            result.selection = describe_selection(kind, n, &result);
            result.wall = started.elapsed();
            result.reference_time = reference_spent;
            result.facts = facts::summarize(read);
            result.releasing = pickler.releasing.get() - releasing_before;
            results[k] = Some(result);
        }
        Ok(Measurements {
            payloads: results
                .into_iter()
                .map(|p| p.expect("every payload measured"))
                .collect(),
            calibration,
            calibration_operations,
            inspect,
            building: building.get(),
        })
    })();
    gc.call_method0("collect")?;
    if was_enabled {
        gc.call_method0("enable")?;
    }
    gc.call_method0("unfreeze")?;
    progress.finish_measuring();
    result
}

/// Read the first few pickles of a payload statically (the visit order spreads them) the
/// moment they are made, straight from the bytes Python holds: nothing is copied or kept, so
/// the measuring phase holds one pickle at a time. Returns the time it took.
fn read_pickle(read: &mut Vec<facts::PickleRead>, pickled: &Bound<'_, PyAny>) -> Duration {
    const KEEP: usize = 8;
    // A few large pickles say as much about imports as many: the reading time stays small.
    const MAX_BYTES: usize = 64 << 20;
    let Ok(bytes) = pickled.cast::<PyBytes>() else {
        return Duration::ZERO;
    };
    let data = bytes.as_bytes();
    let done: usize = read.iter().map(|r| r.bytes).sum();
    if read.is_empty() || (read.len() < KEEP && done + data.len() <= MAX_BYTES) {
        let started = Instant::now();
        read.push(facts::read(data));
        return started.elapsed();
    }
    Duration::ZERO
}

fn describe_selection(kind: PayloadKind, n: usize, r: &PayloadResult) -> String {
    let attempted = r.sizes.len() + r.failures.len();
    let timed = (r.loads.len() as usize).div_ceil(r.plan.iterations.max(1) as usize);
    if kind == PayloadKind::Site {
        return format!("the Site object; {} timed dumps+loads rounds", r.loads.len());
    }
    let mut text = if r.plan.is_sampled(n) || r.cut_by_budget {
        format!(
            "sizes of a stratified sample of {attempted} of {n} pages (sorted by directory and content length, evenly spaced), because sizing every page would not fit the budget"
        )
    } else {
        format!("sizes of all {n} pages")
    };
    if timed >= attempted {
        text.push_str(&format!(
            "; {} timed dumps+loads rounds for each",
            r.plan.iterations
        ));
    } else {
        text.push_str(&format!(
            "; latency from {} timed dumps+loads rounds on {timed} of them (spread evenly), one timed dumps for the rest",
            r.plan.iterations
        ));
    }
    if r.cut_by_budget {
        text.push_str(" (the budget ran out before the planned sample was complete)");
    }
    text
}
