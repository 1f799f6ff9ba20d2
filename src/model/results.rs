//! results.json: the machine-readable record of one run. Every number in it was measured in
//! this run.
use super::explain::{Attribution, Culprit, Drag, Dropped, FieldComparison, RootCause};
pub use super::growth::{
    CopyReason, GrowthCopy, GrowthFit, GrowthJson, GrowthModel, GrowthPoint, GrowthProjection,
    GrowthQuantity, Holdout, StepUp,
};
use super::stats::{ByteStats, LatencySummary};
use super::transport::{EntryReadiness, ImportRow, ResultBack, Setup, StreamCost, VerdictRow};
use super::{PayloadKind, Stage, Thresholds, TransportKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Debug, Clone)]
pub struct Results {
    pub tool: ToolInfo,
    pub python: PythonInfo,
    pub site: SiteInfo,
    pub settings: SettingsInfo,
    pub payloads: Vec<PayloadJson>,
    pub suggestion: Option<SuggestionJson>,
    /// "Is the Site picklable cheaply?" in one line.
    pub answer: String,
    pub transports: Vec<TransportJson>,
    /// A real rendered page sent back from a worker, per transport (apart from the payloads).
    pub results_back: Vec<ResultBack>,
    pub transport_availability: serde_json::Value,
    pub imports: Vec<ImportRow>,
    /// The generator's render entry points in an isolated sub-interpreter, with the chain of
    /// imports to the module that refuses.
    pub render_entry_points: Vec<EntryReadiness>,
    pub render_ns: Option<LatencySummary>,
    pub render: Option<RenderJson>,
    /// What rendering the sampled pages read (None: no render was traced).
    pub read_set: Option<super::readset::ReadSet>,
    /// Rendering the sampled pages from the read set alone (None: not done, `proof_note` says
    /// why).
    pub proof: Option<super::readset::Proof>,
    pub proof_note: Option<String>,
    /// Why there is no read set (None when there is one).
    pub read_set_note: Option<String>,
    /// `page_read`'s fields beside the suggestion's and the generator's payload's.
    pub read_comparison: Option<super::readset::ReadComparison>,
    pub verdicts: Vec<VerdictRow>,
    pub thresholds: Option<Thresholds>,
    pub verdict: Verdict,
    pub timing: Timing,
    /// Cost as a function of page count (`--growth`).
    pub growth: Option<GrowthJson>,
    pub memory: MemoryInfo,
    /// Each phase with a time limit of its own: how much it did within it, and whether the
    /// limit cut it.
    pub limits: Vec<super::phase_limit::PhaseLimit>,
    /// The short real parallel run the verdict's speed-ups are checked by (None: no verdict).
    pub check: Option<super::scale::Check>,
    pub environment: EnvironmentInfo,
}

impl Results {
    /// `start_method_line` for this run: the transport of this Python's default start method,
    /// measured where one of its cells has round trips (None: the start method is unknown).
    pub fn start_method_line(&self) -> Option<String> {
        let method = self.python.default_start_method.as_deref()?;
        let kind = TransportKind::of_start_method(method);
        let measured = kind.is_some_and(|k| {
            self.transports
                .iter()
                .any(|t| t.name == k && t.roundtrip_ns.samples > 0)
        });
        Some(start_method_line(method, kind.map(TransportKind::name), measured))
    }
}

/// The tool's own memory (resident set size, bytes; None where /proc cannot tell).
#[derive(Serialize, Debug, Clone, Default)]
pub struct MemoryInfo {
    /// Before loading the site (the tool and the interpreter).
    pub rss_before_load: Option<u64>,
    /// What loading the site added: the loaded site's size in this process.
    pub loaded_site: Option<u64>,
    /// The largest pickle measured (bytes), which the measuring phase's bound is made of.
    pub largest_payload: Option<u64>,
    /// Peak RSS per phase (each phase's own peak, where the kernel can reset it), and over the
    /// whole run.
    pub phase_peaks: BTreeMap<String, u64>,
    pub peak: Option<u64>,
    /// How many transport workers (each holding a copy of the site) the memory let start.
    pub workers: Option<crate::memory::WorkerMemory>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

/// Filled by `picklecost_env.describe()` in the embedded interpreter.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct PythonInfo {
    pub version: String,
    pub implementation: String,
    pub build: String,
    pub free_threaded: bool,
    pub gil_enabled: bool,
    pub executable: String,
    pub prefix: String,
    pub base_prefix: String,
    #[serde(default)]
    pub environment_found_by: String,
    /// What `multiprocessing.get_start_method()` gives in this Python ("fork", "forkserver",
    /// "spawn"): how its `ProcessPoolExecutor()` starts workers. Read before any worker starts.
    #[serde(default)]
    pub default_start_method: Option<String>,
}

/// One line on how this Python's `ProcessPoolExecutor()` starts workers (`method`, as
/// `multiprocessing.get_start_method()` names it) and which rows of the run start them that way:
/// `row` is the transport or strategy of that start method (None: none does), `measured`
/// whether the run has figures for it.
pub fn start_method_line(method: &str, row: Option<&str>, measured: bool) -> String {
    let which = match (row, measured) {
        (Some(row), true) => format!("measured: the {row} rows"),
        (Some(row), false) => format!("the {row} rows, not measured in this run"),
        (None, _) => "no row of this run starts workers that way".into(),
    };
    format!("This Python's ProcessPoolExecutor() starts workers with {method} ({which}).")
}

#[derive(Serialize, Debug, Clone)]
pub struct SiteInfo {
    pub path: String,
    pub generator: String,
    pub generator_version: String,
    pub stage: Stage,
    /// How the stage was reached (the generator adapter's words).
    pub stage_method: String,
    /// What the `page_generator` payload is, where the generator ships its own worker payload.
    pub generator_payload: Option<String>,
    /// What the `site_extra` payload is (the adapter's name for it, e.g. Sphinx's `env`).
    pub extra_root: Option<String>,
    pub pages: usize,
    pub load_seconds: f64,
    /// The temporary copy a rendered build ran in (already removed).
    pub build_root: Option<String>,
    /// What the rendered build wrote into that copy (output, caches, compiled templates)
    /// against the site as it was before, the first `COPY_CHANGES_LISTED`.
    pub build_changed: Vec<String>,
    /// How many entries of the build copy changed in all.
    pub build_changed_count: usize,
    /// The private copy every piece of generator code ran against (already removed).
    pub copy: SiteCopy,
}

/// The site's private copy (`picklecost.sitecopy`): the generator never runs on the site itself.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct SiteCopy {
    pub path: String,
    pub seconds: f64,
    pub files: u64,
    pub bytes: u64,
    /// Directories not copied (virtual environments inside the site), relative to it.
    pub skipped: Vec<String>,
    /// Bytes the copy's root path has more than the site's own (0: every pickled path has the
    /// length of the real one, so sizes are the site's own).
    pub path_bytes_delta: i64,
    /// What the generator's code wrote into the copy during the run, against the site as it was
    /// before ("added templates/__pycache__", "modified templates"), the first
    /// `COPY_CHANGES_LISTED`: what would have changed the site had it run there.
    #[serde(default)]
    pub changed: Vec<String>,
    /// How many entries of the copy changed in all.
    #[serde(default)]
    pub changed_count: usize,
}

/// Entries of `SiteCopy::changed` listed; the rest are counted.
pub const COPY_CHANGES_LISTED: usize = 100;

impl SiteInfo {
    /// The build copy's changes, the first `COPY_CHANGES_LISTED` listed and all counted.
    pub fn record_build_changes(&mut self, changes: Vec<String>) {
        self.build_changed_count = changes.len();
        self.build_changed = changes.into_iter().take(COPY_CHANGES_LISTED).collect();
    }
}

impl SiteCopy {
    /// The copy's changes, the first `COPY_CHANGES_LISTED` listed and all counted.
    pub fn record_changes(&mut self, changes: Vec<String>) {
        self.changed_count = changes.len();
        self.changed = changes.into_iter().take(COPY_CHANGES_LISTED).collect();
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct SettingsInfo {
    pub protocol: u8,
    pub iterations: u32,
    pub sample: Option<u64>,
    pub budget_seconds: f64,
    pub gc: super::GcMode,
    pub fields: Vec<String>,
    pub exclude_keys: BTreeMap<String, Vec<String>>,
    pub diagnose: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct PayloadJson {
    pub name: PayloadKind,
    pub picklable: bool,
    pub error: Option<String>,
    /// Objects sized (pickled) in this run.
    pub count: usize,
    /// Objects of this kind in the site.
    pub objects: usize,
    pub bytes: Option<ByteStats>,
    pub dumps_ns: LatencySummary,
    pub loads_ns: LatencySummary,
    pub roundtrip_ns: LatencySummary,
    /// Round trips of a fixed reference object interleaved with this payload's: the machine's
    /// speed while it was measured (compare adjusts latency changes for it).
    pub reference_roundtrip_ns: LatencySummary,
    pub failures_count: usize,
    /// Objects that failed to pickle (first 50), with their error.
    pub failed_objects: Vec<ObjectError>,
    /// The culprits grouped into root causes (type + path pattern), most instances first.
    pub root_causes: Vec<RootCause>,
    /// Every minimal unpicklable object inside the first failed object, with its path.
    pub failures: Vec<Culprit>,
    /// The first failed object pickled with its culprits replaced by stand-ins: what it would
    /// cost after repairs (never this payload's own figure).
    pub repaired: Option<RepairedJson>,
    /// How the unpicklable-object search went (objects visited, limits that cut it short).
    pub failure_search: Option<FailureSearch>,
    /// Where the bytes of a typical object of this payload go (memo-aware).
    pub attribution: Option<Attribution>,
    /// References of a typical Page that reach the Site or other Pages, largest first.
    pub drag: Vec<Drag>,
    /// Explanations that could not be computed.
    pub diagnosis_errors: Vec<String>,
    pub sampled: bool,
    pub selection: String,
    pub iterations: u32,
    pub measured_seconds: f64,
    /// Every global (`module.qualname`) a receiver must resolve to unpickle this payload, read
    /// from the pickle streams without executing them.
    pub import_closure: Vec<String>,
    /// Decodable as plain data (no class references at all).
    pub plain_data: Option<bool>,
    /// Globals that would be dangerous to resolve (see `picklecost inspect`).
    pub unsafe_globals: Vec<String>,
    /// How many of this payload's pickles were inspected.
    pub inspected: usize,
    pub plan: PlanJson,
    pub sizes: Vec<ObjectSize>,
}

/// "After repairs": an unpicklable object pickled with mapping views as dicts, locks as None and
/// files/generators/modules/local functions as markers; loads of those bytes, in this process.
#[derive(Serialize, Debug, Clone)]
pub struct RepairedJson {
    pub label: &'static str,
    /// The object measured (the Site, or the first page that failed).
    pub subject: String,
    pub bytes: Option<u64>,
    pub dumps_ns: LatencySummary,
    pub loads_ns: LatencySummary,
    pub roundtrip_ns: LatencySummary,
    /// Type name -> objects replaced by a stand-in.
    pub repairs: BTreeMap<String, u64>,
    /// What still fails after the repairs.
    pub error: Option<String>,
    /// Transfer cost (this round trip x pages, or x workers for the Site) as a share of the
    /// render cost, and its class, where the render cost was measured.
    pub transfer_share: Option<f64>,
    pub class: Option<super::VerdictClass>,
}

/// How the budget was spent on this payload, so a surprising sample size can be explained.
#[derive(Serialize, Debug, Clone)]
pub struct PlanJson {
    /// Wall time of the measuring loop, and how much of it went to freeing unpickled copies.
    pub wall_seconds: f64,
    pub release_seconds: f64,
    pub round_estimate_seconds: f64,
    pub share_seconds: f64,
    pub sized: usize,
    /// Objects that got the latency rounds (dumps + loads); the others one timed dumps.
    pub timed: usize,
    pub cut_by_budget: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct TransportJson {
    pub name: TransportKind,
    pub available: bool,
    pub reason: Option<String>,
    pub payload: PayloadKind,
    /// One request at a time to an idle worker: latency, the worker's wake-up included.
    pub roundtrip_ns: LatencySummary,
    /// Per item with requests in flight: the cost a busy pool pays (main interpreter's own
    /// work, the worker's transfer work, wall per item).
    pub stream: Option<StreamCost>,
    /// Why a measured transport has no stream.
    pub stream_reason: Option<String>,
    /// Per worker: median of creating it plus importing the payloads' modules in it.
    pub setup_ns: Option<u64>,
    pub setup: Option<Setup>,
}

#[derive(Serialize, Debug, Clone)]
pub struct RenderJson {
    pub available: bool,
    pub reason: Option<String>,
    /// The render cost of every page of the site (ns): the rendered pages' mean x the site's
    /// pages (None without a render cost).
    pub total_ns: Option<f64>,
    /// The sampled pages that weigh most in that total (the slowest first, until they make half
    /// of it), each with its part of the sampled render time.
    pub dominant: Vec<super::transport::DominantPage>,
    pub pages: u64,
    pub sampled: bool,
    pub method: Option<String>,
    /// "page: error" of the first pages that failed to render; `failed` counts them all.
    pub errors: Vec<serde_json::Value>,
    /// Pages chosen for the probe (`pages` of them rendered).
    pub chosen: u64,
    /// Where the render-cost probe's time limit cut it (None: it did not).
    pub cut: Option<String>,
    pub failed: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct FailureSearch {
    pub visited: u64,
    pub truncated: bool,
    pub limits: Vec<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct SuggestionJson {
    pub fields: Vec<String>,
    pub exclude_keys: BTreeMap<String, Vec<serde_json::Value>>,
    /// Median size estimated from a sample while suggesting.
    pub median_bytes: Option<u64>,
    /// Median size measured as the `page_suggested` payload.
    pub measured_median_bytes: Option<u64>,
    pub dropped: Vec<Dropped>,
    /// Ready to paste: `--fields ... --exclude-keys ...`.
    pub options: String,
    /// The suggested fields against the generator's own payload (`page_generator`), where it
    /// ships one.
    pub generator_comparison: Option<FieldComparison>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ObjectSize {
    /// The page's name (relative to the site root, or the generator's own for a virtual page).
    pub key: String,
    pub bytes: u64,
    /// A page with no source file of its own (a generated tag or index page); absent otherwise.
    #[serde(rename = "virtual", skip_serializing_if = "is_false")]
    pub virtual_page: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct ObjectError {
    pub key: String,
    pub error: String,
    /// As `ObjectSize::virtual_page`.
    #[serde(rename = "virtual", skip_serializing_if = "is_false")]
    pub virtual_page: bool,
}

fn is_false(flag: &bool) -> bool {
    !flag
}

/// What follows a page's name in report text: " (virtual)" for a virtual page.
pub fn virtual_mark(virtual_page: bool) -> &'static str {
    if virtual_page { " (virtual)" } else { "" }
}

#[derive(Serialize, Debug, Clone)]
pub struct Timing {
    pub total_seconds: f64,
    pub load_seconds: f64,
    pub measured_seconds: f64,
    /// The reference object's round trips interleaved with the payloads' (machine speed).
    pub reference_seconds: f64,
    /// Wall time of the warm-up rounds that set the plan, and the dumps/loads calls in them.
    pub calibration_seconds: f64,
    pub calibration_operations_seconds: f64,
    pub phases: BTreeMap<String, f64>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct EnvironmentInfo {
    pub cpu: String,
    pub cpu_count: u64,
    pub platform: String,
    #[serde(default)]
    pub command_line: String,
}

/// The one-paragraph comparison of the payloads.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Verdict {
    pub text: String,
    /// A single Page pickle is at least `verdict::DRAG_FRACTION` of the whole Site's.
    pub page_drags_site: bool,
    pub page_to_site_bytes: Option<f64>,
    pub subset_smaller_than_page: Option<f64>,
    pub subset_faster_than_page: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_method_line_names_its_rows_and_whether_they_were_measured() {
        assert_eq!(
            start_method_line("forkserver", Some("forkserver"), true),
            "This Python's ProcessPoolExecutor() starts workers with forkserver (measured: the forkserver rows)."
        );
        assert_eq!(
            start_method_line("fork", Some("fork"), false),
            "This Python's ProcessPoolExecutor() starts workers with fork (the fork rows, not measured in this run)."
        );
        assert_eq!(
            start_method_line("threads", None, false),
            "This Python's ProcessPoolExecutor() starts workers with threads (no row of this run starts workers that way)."
        );
        // Each start method CPython has is one transport, by the name results.json uses.
        for (method, kind) in [
            ("spawn", TransportKind::Process),
            ("forkserver", TransportKind::Forkserver),
            ("fork", TransportKind::Fork),
        ] {
            assert_eq!(TransportKind::of_start_method(method), Some(kind));
            assert!(kind.judged() && kind != TransportKind::Fork || !kind.pooled());
        }
        assert_eq!(TransportKind::of_start_method("thread"), None);
        assert!(TransportKind::Forkserver.pooled() && TransportKind::Process.pooled());
        assert!(!TransportKind::Fork.pooled() && !TransportKind::Thread.pooled());
    }

    #[test]
    fn the_default_start_method_is_read_from_python_info_and_may_be_absent() {
        let info: PythonInfo = serde_json::from_value(serde_json::json!({
            "version": "3.14.0", "implementation": "CPython", "build": "b",
            "free_threaded": false, "gil_enabled": true, "executable": "/p",
            "prefix": "/v", "base_prefix": "/u", "default_start_method": "forkserver"
        }))
        .unwrap();
        assert_eq!(info.default_start_method.as_deref(), Some("forkserver"));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["default_start_method"], "forkserver");
        let older: PythonInfo = serde_json::from_value(serde_json::json!({
            "version": "3.13.0", "implementation": "CPython", "build": "b",
            "free_threaded": false, "gil_enabled": true, "executable": "/p",
            "prefix": "/v", "base_prefix": "/u"
        }))
        .unwrap();
        assert_eq!(older.default_start_method, None);
    }
}
