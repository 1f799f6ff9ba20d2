//! What the transports and the render-cost probe measured, and the per-strategy verdict rows.
use super::{PayloadKind, TransportKind, VerdictClass};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Setup {
    /// Per worker: creating the interpreter or spawning the process, and importing the modules
    /// the payloads need inside it.
    pub create: Vec<u64>,
    pub import: Vec<u64>,
    /// Fork only: the child reading every object of the payload once (copy-on-write faults,
    /// reference counts written) before its first task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_touch: Vec<u64>,
}

impl Setup {
    /// Create + import (+ first touch), in ns, for every worker together.
    pub fn total_ns(&self) -> u64 {
        self.create.iter().sum::<u64>()
            + self.import.iter().sum::<u64>()
            + self.first_touch.iter().sum::<u64>()
    }

    /// Median over the workers of create + import + first touch (nearest rank, lower middle).
    pub fn median_per_worker_ns(&self) -> Option<u64> {
        let mut per: Vec<u64> = self
            .create
            .iter()
            .zip(&self.import)
            .enumerate()
            .map(|(k, (a, b))| a + b + self.first_touch.get(k).copied().unwrap_or(0))
            .collect();
        per.sort_unstable();
        per.get(per.len().saturating_sub(1) / 2).copied()
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct ImportRow {
    pub payload: PayloadKind,
    pub module: String,
    pub isolated_ok: Option<bool>,
    pub legacy_ok: Option<bool>,
    pub error: Option<String>,
    /// Where the isolated import fails: every blocker, found by stubbing each in turn.
    #[serde(flatten)]
    pub beyond: super::readiness::Beyond,
}

/// A real rendered page sent back from a worker to the main interpreter, per transport: the
/// return leg every strategy pays per page, measured apart from the payload's own round trip.
#[derive(Serialize, Debug, Clone)]
pub struct ResultBack {
    pub transport: TransportKind,
    pub available: bool,
    pub reason: Option<String>,
    /// Pages whose rendered HTML was sent back (spread over what the render-cost probe wrote).
    pub results: usize,
    /// `len(pickle.dumps(html, protocol))` of each result sent.
    pub result_bytes: Vec<u64>,
    /// One result to an idle worker and back: latency, the worker's wake-up included.
    pub roundtrip_ns: super::stats::LatencySummary,
    /// Per result with requests in flight: what returning a page costs a busy pool.
    pub stream: Option<StreamCost>,
    /// Why a measured row has no stream (None: it has one, or nothing was measured).
    pub stream_reason: Option<String>,
}

/// Per-item cost of a worker pool kept busy: every worker has `in_flight` requests waiting, a
/// new one sent as each reply comes back. Unlike an idle round trip it has no wake-up in it:
/// `main_ns` is the serial part a pool's main interpreter pays per item, `worker_ns` what each
/// worker pays on top of its own work. In results.json the sample lists are summarised.
#[derive(Serialize, Debug, Clone, Default, PartialEq)]
pub struct StreamCost {
    /// Requests waiting per worker.
    pub in_flight: u32,
    pub workers: u32,
    /// Items sent and answered...
    pub items: u64,
    /// ...of the items planned: fewer when the cell's share of `--transport-budget` ran out.
    pub planned: u64,
    /// Per item, the main interpreter's own CPU time (ns): pickling out and sending, taking the
    /// reply and unpickling the result; waiting is not in it.
    #[serde(serialize_with = "summarised")]
    pub main_ns: Vec<u64>,
    /// Per item, the worker's own CPU time for the transfer (ns): unpickling the payload in, or
    /// pickling the result back. Empty where nothing is pickled (threads: by reference; a fork's
    /// payload: shared).
    #[serde(serialize_with = "summarised")]
    pub worker_ns: Vec<u64>,
    /// The stream's wall time over its items: the pool's throughput, inverted.
    pub wall_ns_per_item: f64,
    /// Per item, the pickled bytes it carried: the payload as the worker got it, or the result
    /// as the main interpreter got it back. Empty where nothing is pickled.
    #[serde(serialize_with = "byte_span")]
    pub bytes: Vec<u64>,
}

impl StreamCost {
    /// Whether the transport's share of the budget stopped it before every planned item.
    pub fn cut(&self) -> bool {
        self.items < self.planned
    }

    pub fn main_ns_mean(&self) -> f64 {
        mean(&self.main_ns)
    }

    /// 0 where the worker copies nothing (no samples).
    pub fn worker_ns_mean(&self) -> f64 {
        mean(&self.worker_ns)
    }

    pub fn wall_ns_mean(&self) -> f64 {
        self.wall_ns_per_item
    }
}

fn mean(samples: &[u64]) -> f64 {
    match samples.len() {
        0 => 0.0,
        n => samples.iter().map(|&x| x as f64).sum::<f64>() / n as f64,
    }
}

/// Per-item samples as results.json carries them: a latency summary.
fn summarised<S: serde::Serializer>(samples: &[u64], s: S) -> Result<S::Ok, S::Error> {
    let mut hist = super::stats::new_histogram();
    samples.iter().for_each(|&ns| hist.saturating_record(ns.max(1)));
    super::stats::LatencySummary::of(&hist).serialize(s)
}

/// Per-item bytes as results.json carries them: least, most and all together.
fn byte_span<S: serde::Serializer>(bytes: &[u64], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Span {
        min: u64,
        max: u64,
        total: u64,
    }
    Span {
        min: bytes.iter().copied().min().unwrap_or(0),
        max: bytes.iter().copied().max().unwrap_or(0),
        total: bytes.iter().sum(),
    }
    .serialize(s)
}

/// Can a worker in an isolated sub-interpreter import the generator's render entry point?
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct EntryReadiness {
    pub module: String,
    /// None: this Python has no isolated sub-interpreters to try.
    pub isolated_ok: Option<bool>,
    /// Entry point first, the module that refuses last (when it does not load).
    #[serde(default)]
    pub chain: Vec<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
    /// Every blocker beyond the first, found by stubbing each in turn.
    #[serde(flatten)]
    pub beyond: super::readiness::Beyond,
}

#[derive(Serialize, Debug, Clone)]
pub struct VerdictRow {
    pub strategy: String,
    pub payload: PayloadKind,
    pub transport: TransportKind,
    pub workers: usize,
    /// Transfer time for the whole site as a share of its render time (None: not shippable):
    /// the payload's own round trips plus every page's result sent back.
    pub transfer_share: Option<f64>,
    /// The transfer for the whole site (ns): each sampled cost's mean x the pages (or workers)
    /// that pay it, results back included.
    pub transfer_total_ns: Option<f64>,
    /// 95% bootstrap interval of `transfer_share` [low, high], over the sampled round trips
    /// and the sampled pages' render times.
    pub share_interval: Option<[f64; 2]>,
    /// How a per-page worker gets the site-wide data rendering needs (menus, taxonomies,
    /// configuration), and its part of `transfer_share` (None for whole-Site and fork rows,
    /// which hold it already).
    pub site_data: Option<SiteData>,
    /// The part of `transfer_share` that is results sent back (real rendered pages).
    pub result_share: Option<f64>,
    /// One-time set-up of W workers (create + import) as a share of the render time.
    pub setup_share: Option<f64>,
    pub class: VerdictClass,
    pub why: String,
    /// Not measured: no worker of this transport fitted the memory (`why` has the figures).
    #[serde(skip)]
    pub held_back: bool,
    /// Rendering the whole site with `workers` workers this way, over rendering it
    /// sequentially, as the measured parts in `prediction` add up (None: no render cost, or
    /// the payload does not ship).
    pub predicted_speedup: Option<f64>,
    pub prediction: Option<Prediction>,
    /// The same model on the real run's own sample (its pages, its sequential time, its W):
    /// the prediction that run checks, beside `measured_speedup` (None: no real run).
    pub predicted_check_speedup: Option<f64>,
    /// The speed-up a short real parallel run of this transport's strategy measured on this
    /// machine (None: `measured_reason` says why).
    pub measured_speedup: Option<f64>,
    pub measured_reason: Option<String>,
    /// What that real run shipped to its workers (its own way, whatever this row's payload).
    pub checked_with: Option<String>,
    /// The class the real run alone gives (None: no real run).
    pub measured_class: Option<VerdictClass>,
}

/// The measured parts a predicted speed-up is made of (ns; W = `workers`):
/// `T_par = startup + cold + site_data + max(serial_main, (render_total + worker) / W) +
/// results_back`, against `T_seq = render_total`. Threads under the GIL render serially: W = 1
/// in the parallel term.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Prediction {
    pub workers: usize,
    /// Rendering every page sequentially: the sampled pages' mean x pages.
    pub render_total_ns: f64,
    /// One worker's start-up (the median over the workers of create + import + first touch).
    pub startup_ns: f64,
    /// One worker's copy of the site-wide data a per-page worker needs (0 where the row's
    /// payload carries it or fork shares it).
    pub site_data_ns: f64,
    /// The main interpreter's own work for every page: payloads out, results in.
    pub serial_main_ns: f64,
    /// The workers' transfer work for every page, together: payloads in, results out.
    pub worker_ns: f64,
    /// A fresh worker's rendering over the warm baseline's, on the real run's sample (1.0
    /// where no real run measured it).
    pub cold_factor: f64,
    /// What that costs one worker once (caches and imports warmed up): the real run's workers'
    /// rendering beyond the baseline's, per worker.
    pub cold_ns: f64,
    pub cold_measured: bool,
    /// The last page's result coming back after the rendering ends.
    pub results_back_ns: f64,
    /// T_par.
    pub parallel_ns: f64,
    /// Threads with the GIL enabled: rendering is serial, so the speed-up is at most 1.
    pub serial_render: bool,
}

/// The cheapest measured way for each per-page worker to hold the site-wide data.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct SiteData {
    pub way: SiteDataWay,
    /// For all W workers (ns).
    pub total_ns: f64,
    pub share: f64,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SiteDataWay {
    /// The Site shipped once per worker through the same transport (its measured round trip).
    SiteOncePerWorker,
    /// Each worker loading the site itself, as picklecost's own load took.
    WorkerLoadsSite,
}

impl SiteDataWay {
    pub fn words(self) -> &'static str {
        match self {
            SiteDataWay::SiteOncePerWorker => "the Site shipped once per worker",
            SiteDataWay::WorkerLoadsSite => "each worker loading the site itself",
        }
    }
}

/// A sampled page and its part of the sampled render time.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct DominantPage {
    pub page: String,
    pub render_ns: u64,
    /// Its render time over the sampled pages' total: with every sampled page standing for the
    /// same number of the site's pages, its part of the site's estimated render total.
    pub share: f64,
}

impl DominantPage {
    /// "tags/index.md 14.5 ms (12.0%), …": the pages with their render time and share.
    pub fn words(pages: &[DominantPage]) -> String {
        let named: Vec<String> = pages
            .iter()
            .map(|d| {
                format!(
                    "{} {} ({:.1}%)",
                    d.page,
                    crate::units::nanos(d.render_ns),
                    d.share * 100.0
                )
            })
            .collect();
        named.join(", ")
    }
}

/// The generator's render cost per page, as its adapter measured it.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Render {
    pub available: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub render_ns: Vec<u64>,
    /// The page each `render_ns` sample timed, named as everywhere (relative to the site).
    #[serde(default)]
    pub render_pages: Vec<String>,
    #[serde(default)]
    pub pages: u64,
    #[serde(default)]
    pub sampled: bool,
    #[serde(default)]
    pub method: Option<String>,
    /// "page: error" of the first few pages that failed to render (raised, or ran past
    /// `--page-limit`); `failed` counts them all.
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    /// Pages the probe chose to render (`pages` of them were rendered).
    #[serde(default)]
    pub chosen: u64,
    /// Where the render-cost probe's time limit cut it ("rendering", "preparing the site
    /// (related posts)"); None when it did not.
    #[serde(default)]
    pub cut: Option<String>,
    #[serde(default)]
    pub failed: u64,
}
