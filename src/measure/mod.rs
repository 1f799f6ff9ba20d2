//! Measure pickle size and dumps/loads latency of each payload under a time budget.
mod calibrate;
pub mod facts;
mod pickler;
pub mod plan;
pub mod sample;

use crate::model::stats;
use crate::model::{GcMode, PayloadKind};
use crate::payloads::Payloads;
use crate::python;
use crate::settings::MeasureSettings;
use anyhow::Result;
use calibrate::calibrate;
use hdrhistogram::Histogram;
use pickler::{Pickled, Pickler};
use plan::{PayloadCost, PayloadPlan};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cell::Cell;
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

/// A fixed object of plain data (a few small page records, a few µs to round-trip) whose
/// round trip measures the machine's speed at that moment, independent of the site.
const REFERENCE_OBJECT: &std::ffi::CStr = c"[{'title': 'page %d' % i, 'weight': i, 'draft': False, 'ratio': i / 7, 'tags': ['python', 'pickle']} for i in range(4)]";

/// Reference round trips take at most this share of a payload's measured time, so they cost
/// little yet span the whole measuring window; the first few follow every round, so that even
/// a payload of a few µs has enough of them to estimate the machine's speed.
const REFERENCE_SHARE: u32 = 10;
const REFERENCE_MIN_SAMPLES: u64 = 8;

pub fn measure<'py>(
    payloads: &Payloads<'_, 'py>,
    settings: &MeasureSettings,
    progress: &dyn Progress,
) -> Result<Measurements> {
    let py = payloads.py;
    let pickler = Pickler::new(py, settings.protocol)?;
    let reference = py.eval(REFERENCE_OBJECT, None, None)?;
    let objects = Objects {
        payloads,
        building: Cell::new(Duration::ZERO),
    };
    let collector = FrozenSite::freeze(py, settings.gc)?;
    let measuring = Measuring {
        pickler: &pickler,
        reference: &reference,
        objects: &objects,
        settings,
        progress,
    };
    let result = measuring.all_payloads();
    collector.thaw()?;
    progress.finish_measuring();
    result
}

/// The payload objects, made on demand; the time making them takes is the generator's (or
/// the adapter's) code, not the harness's, and is reported as such.
struct Objects<'a, 'b, 'py> {
    payloads: &'a Payloads<'b, 'py>,
    building: Cell<Duration>,
}

impl<'py> Objects<'_, '_, 'py> {
    fn make(&self, kind: PayloadKind, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let started = Instant::now();
        let made = self.payloads.object(kind, index);
        self.building.set(self.building.get() + started.elapsed());
        made
    }

    fn count(&self, kind: PayloadKind) -> usize {
        self.payloads.count(kind)
    }

    fn strata(&self) -> &[(String, u64)] {
        &self.payloads.site.strata
    }
}

/// The garbage collector as the measuring phase needs it: the loaded site frozen, and off
/// with `--gc off`; `thaw` puts it back as it was.
struct FrozenSite<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> FrozenSite<'py> {
    /// The loaded graph is permanent for this run: freezing it keeps the collections between
    /// rounds from walking the whole Site every time. Not collected first: that walk of the
    /// whole heap (9 ms on the showcase) would free nothing the loaded site does not still
    /// hold, and whatever loading left is the interpreter's own to collect once it is unfrozen.
    fn freeze(py: Python<'py>, mode: GcMode) -> PyResult<Self> {
        let gc = py.import("gc")?;
        let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
        gc.call_method0("freeze")?;
        if mode == GcMode::Off {
            gc.call_method0("disable")?;
        }
        Ok(Self { gc, was_enabled })
    }

    fn thaw(self) -> PyResult<()> {
        self.gc.call_method0("collect")?;
        if self.was_enabled {
            self.gc.call_method0("enable")?;
        }
        self.gc.call_method0("unfreeze")?;
        Ok(())
    }
}

/// What the measuring phase works with, for each of its steps.
struct Measuring<'a, 'b, 'py> {
    pickler: &'a Pickler<'py>,
    reference: &'a Bound<'py, PyAny>,
    objects: &'a Objects<'a, 'b, 'py>,
    settings: &'a MeasureSettings,
    progress: &'a dyn Progress,
}

/// The planned work of one payload: which objects, in which order, under which plan.
struct PayloadWork {
    kind: PayloadKind,
    objects: usize,
    plan: PayloadPlan,
    round_estimate_seconds: f64,
    /// Object indices in visiting order (any prefix is spread over the whole selection).
    visit: Vec<usize>,
}

/// What the measuring loop adds up across the rounds of one payload, beside its samples.
#[derive(Default)]
struct Sidelines {
    /// The reference round trips' time.
    reference_spent: Duration,
    /// The pickles read statically, and the time reading them took.
    read: Vec<facts::PickleRead>,
    inspect: Duration,
}

impl<'py> Measuring<'_, '_, 'py> {
    /// Calibrate every payload, then measure them cheapest first, re-planning what is left of
    /// the budget before each.
    fn all_payloads(&self) -> Result<Measurements> {
        let calibration_started = Instant::now();
        // Warm: the first reference round pays for caches, as any first call does.
        self.pickler.reference_round(self.reference);
        let kinds = self.objects.payloads.kinds();
        let calibrated = self.calibrate(&kinds);
        if self.pickler.interrupted.get() {
            return Err(python::interrupt::current().into());
        }
        let (costs, calibration_operations) = calibrated?;
        let calibration = calibration_started.elapsed();

        // Cheapest payload first: what it leaves of its share flows on to the costlier ones.
        let mut order: Vec<usize> = (0..costs.len()).collect();
        let need = |k: usize| plan::need(&costs[k], self.settings.iterations, self.settings.sample);
        order.sort_by(|&a, &b| need(a).total_cmp(&need(b)));
        let ordered_costs: Vec<PayloadCost> = order.iter().map(|&k| costs[k]).collect();
        let budget = (self.settings.budget_seconds - calibration.as_secs_f64()).max(0.0);
        let measuring_started = Instant::now();
        self.progress
            .start_measuring(planned_rounds(&self.plan(&ordered_costs, budget)));

        let mut results: Vec<Option<PayloadResult>> = kinds.iter().map(|_| None).collect();
        let mut inspect = Duration::ZERO;
        for (step, &k) in order.iter().enumerate() {
            let left = (budget - measuring_started.elapsed().as_secs_f64()).max(0.0);
            let plans = self.plan(&ordered_costs[step..], left);
            self.progress.set_remaining(planned_rounds(&plans));
            let work = self.work(kinds[k], plans[0].clone(), costs[k].round_seconds);
            let (result, inspected) = self.payload(work)?;
            inspect += inspected;
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
            building: self.objects.building.get(),
        })
    }

    /// Each payload's costs from warm-up rounds over a few probe objects, and the time the
    /// warm-up's dumps and loads calls took.
    fn calibrate(&self, kinds: &[PayloadKind]) -> PyResult<(Vec<PayloadCost>, Duration)> {
        let mut costs = Vec::new();
        let mut operations = Duration::ZERO;
        for &kind in kinds {
            let count = self.objects.count(kind);
            let probes: Vec<usize> = if kind == PayloadKind::Site {
                vec![0]
            } else {
                sample::stratified(self.objects.strata(), 3.min(count))
            };
            let calibrated = calibrate(self.pickler, &probes, count, |i| self.objects.make(kind, i))?;
            costs.push(calibrated.cost);
            operations += calibrated.operations;
        }
        Ok((costs, operations))
    }

    fn plan(&self, costs: &[PayloadCost], budget: f64) -> Vec<PayloadPlan> {
        plan::plan(costs, budget, self.settings.iterations, self.settings.sample)
    }

    /// The objects a payload's plan covers: all of them, or a stratified sample, visited in
    /// spread order.
    fn work(&self, kind: PayloadKind, plan: PayloadPlan, round_estimate_seconds: f64) -> PayloadWork {
        let n = self.objects.count(kind);
        let chosen: Vec<usize> = if kind == PayloadKind::Site {
            vec![0]
        } else if plan.is_sampled(n) {
            sample::stratified(self.objects.strata(), plan.sized)
        } else {
            (0..n).collect()
        };
        let visit = sample::spread_order(chosen.len())
            .into_iter()
            .map(|i| chosen[i])
            .collect();
        PayloadWork {
            kind,
            objects: n,
            plan,
            round_estimate_seconds,
            visit,
        }
    }

    /// One payload's measuring loop: each object of the visit sized, the first `timed` of them
    /// also given latency rounds while the share lasts. Returns the result and the time spent
    /// reading its pickles statically.
    fn payload(&self, work: PayloadWork) -> Result<(PayloadResult, Duration)> {
        let plan = &work.plan;
        let mut result = PayloadResult::empty(&work);
        let mut side = Sidelines::default();
        let started = Instant::now();
        let releasing_before = self.pickler.releasing.get();
        // Estimates can be off: repeats stop half as much again past the share (a share that
        // exactly fits its need must not lose rounds to noise), sizing at twice the share.
        let share = Duration::from_secs_f64(plan.share_seconds);
        let repeat_deadline = share.mul_f64(1.5) + Duration::from_millis(100);
        for (position, &index) in work.visit.iter().enumerate() {
            if position > 0 && started.elapsed() > share * 2 + Duration::from_millis(200) {
                result.cut_by_budget = true;
                break;
            }
            let obj = self.objects.make(work.kind, index)?;
            // The first `timed` objects of the visit get latency rounds, the rest a dumps.
            let rounds = if position < plan.timed && started.elapsed() < repeat_deadline {
                plan.iterations
            } else {
                0
            };
            self.rounds(&obj, index, rounds, &mut result, &mut side);
            self.progress.advance(rounds.max(1) as u64);
            if self.pickler.interrupted.get() {
                return Err(python::interrupt::current().into());
            }
        }
        self.pickler.collect_all();
        result.selection = describe_selection(work.kind, work.objects, &result);
        result.wall = started.elapsed();
        result.reference_time = side.reference_spent;
        result.facts = facts::summarize(side.read);
        result.releasing = self.pickler.releasing.get() - releasing_before;
        Ok((result, side.inspect))
    }

    /// One object's rounds: a timed dumps (its size, read statically the first time) and, for
    /// `rounds` > 0, that many timed dumps back to back, then as many timed loads of the last
    /// pickle, paired into round trips, with a reference round trip after each loads while the
    /// reference rounds are within their share. A failure ends the object's rounds.
    ///
    /// Dumps and loads run in separate batches because a sender only dumps and a receiver only
    /// loads: a dumps right after a loads and the release of its copy runs in the allocator and
    /// page-fault state that copy left, which no sender is in.
    #[inline]
    fn rounds(
        &self,
        obj: &Bound<'py, PyAny>,
        index: usize,
        rounds: u32,
        result: &mut PayloadResult,
        side: &mut Sidelines,
    ) {
        let Some((sized, dumps)) = self.sender_rounds(obj, index, rounds, result, side) else {
            return;
        };
        if rounds > 0 {
            self.receiver_rounds(&sized, &dumps, index, result, side);
        }
    }

    /// The timed dumps of one object, back to back, each pickle released before the next (as
    /// a sender does once it is sent): the last pickle and every dumps time, or None when the
    /// object does not pickle.
    fn sender_rounds(
        &self,
        obj: &Bound<'py, PyAny>,
        index: usize,
        rounds: u32,
        result: &mut PayloadResult,
        side: &mut Sidelines,
    ) -> Option<(Pickled<'py>, Vec<Duration>)> {
        let mut times = Vec::with_capacity(rounds.max(1) as usize);
        let mut last: Option<Pickled<'py>> = None;
        for r in 0..rounds.max(1) {
            drop(last.take());
            let sized = match self.pickler.dumps(obj) {
                Ok(sized) => sized,
                Err(error) => {
                    result.failures.push((index, error));
                    return None;
                }
            };
            if r == 0 {
                result.sizes.push((index, sized.bytes));
                side.inspect += read_pickle(&mut side.read, &sized.pickled);
            }
            result.dumps.saturating_record(ns(sized.dumps));
            result.measured += sized.dumps;
            times.push(sized.dumps);
            last = Some(sized);
        }
        last.map(|sized| (sized, times))
    }

    /// The timed loads of one pickle, one per dumps round and paired with it into a round trip;
    /// a loads that fails takes the object out of the sized ones.
    fn receiver_rounds(
        &self,
        sized: &Pickled<'py>,
        dumps: &[Duration],
        index: usize,
        result: &mut PayloadResult,
        side: &mut Sidelines,
    ) {
        for &dumps in dumps {
            match self.pickler.loads(sized) {
                Ok(loads) => {
                    result.loads.saturating_record(ns(loads));
                    result.roundtrip.saturating_record(ns(dumps + loads));
                    result.measured += loads;
                    if (result.reference.len() < REFERENCE_MIN_SAMPLES
                        || side.reference_spent * REFERENCE_SHARE <= result.measured)
                        && let Some(d) = self.pickler.reference_round(self.reference)
                    {
                        side.reference_spent += d;
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
    }
}

impl PayloadResult {
    /// A payload about to be measured: nothing recorded yet.
    fn empty(work: &PayloadWork) -> Self {
        PayloadResult {
            kind: work.kind,
            objects: work.objects,
            sizes: Vec::with_capacity(work.visit.len()),
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
            round_estimate_seconds: work.round_estimate_seconds,
            wall: Duration::ZERO,
            releasing: Duration::ZERO,
            plan: work.plan.clone(),
        }
    }
}

fn planned_rounds(plans: &[PayloadPlan]) -> u64 {
    plans.iter().map(PayloadPlan::dumps_calls).sum()
}

/// A histogram sample: nanoseconds, at least 1.
fn ns(d: Duration) -> u64 {
    (d.as_nanos() as u64).max(1)
}

/// Read the first few pickles of a payload statically (the visit order spreads them) the
/// moment they are made, straight from the bytes Python holds: nothing is copied or kept, so
/// the measuring phase holds one pickle at a time. Returns the time it took.
fn read_pickle(read: &mut Vec<facts::PickleRead>, pickled: &Bound<'_, PyAny>) -> Duration {
    let Ok(bytes) = pickled.cast::<PyBytes>() else {
        return Duration::ZERO;
    };
    let data = bytes.as_bytes();
    let done: usize = read.iter().map(|r| r.bytes).sum();
    if !worth_reading(read.len(), done, data.len()) {
        return Duration::ZERO;
    }
    let started = Instant::now();
    read.push(facts::read(data));
    started.elapsed()
}

/// How many pickles of one payload are read statically, at most...
const READ_AT_MOST: usize = 8;
/// ... and how many bytes in all, a later pickle read only while it keeps them within this
/// (the first is read whatever its size): a few large pickles say as much about imports as
/// many, so the reading time (and what the reader allocates) stays small.
const READ_BYTES_AT_MOST: usize = 64 << 20;

/// Whether the next pickle of a payload (`next` bytes) is read, after `count` pickles of
/// `done` bytes: the first always, whatever its size, then while both bounds hold.
fn worth_reading(count: usize, done: usize, next: usize) -> bool {
    count == 0 || (count < READ_AT_MOST && done + next <= READ_BYTES_AT_MOST)
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

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    #[test]
    fn the_first_pickle_is_read_whatever_its_size() {
        assert!(worth_reading(0, 0, 76 * MB));
        assert!(worth_reading(0, 0, 0));
        // After a 76 MB Site pickle, no more: the byte bound is spent.
        assert!(!worth_reading(1, 76 * MB, 1));
    }

    #[test]
    fn at_most_eight_pickles_and_64_mb_are_read() {
        // Small pickles: eight, then none.
        let read: Vec<bool> = (0..12).map(|n| worth_reading(n, n * 1000, 1000)).collect();
        assert_eq!(read.iter().filter(|&&r| r).count(), READ_AT_MOST);
        assert!(read[..READ_AT_MOST].iter().all(|&r| r));
        // 10 MB pickles: as many as fit 64 MB (six), then none.
        let mut done = 0;
        let mut count = 0;
        for _ in 0..12 {
            if worth_reading(count, done, 10 * MB) {
                count += 1;
                done += 10 * MB;
            }
        }
        assert_eq!((count, done), (6, 60 * MB));
        // Exactly at the bound still reads; one byte past it does not.
        assert!(worth_reading(1, 60 * MB, 4 * MB));
        assert!(!worth_reading(1, 60 * MB, 4 * MB + 1));
    }
}
