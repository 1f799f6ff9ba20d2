//! `picklecost scale`: the `scale` object of results.json, as the Python side
//! (`picklecost.scale.run`) returns it and results.json carries it, and the kinds it names.
use super::readiness::StubUse;
use serde::{Deserialize, Serialize};

/// How `scale` renders in parallel (`--strategies`; `STRATEGIES` on the Python side).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Threads of the main interpreter, pages by reference.
    Thread,
    /// Isolated sub-interpreters (own GIL), payload pickled in, pages pickled back.
    Subinterpreter,
    /// `concurrent.futures.InterpreterPoolExecutor` (Python 3.14+): isolated sub-interpreters
    /// behind the executor API, its arguments and results pickled where not shareable.
    #[serde(rename = "interpreter-pool")]
    #[value(name = "interpreter-pool")]
    InterpreterPool,
    /// Spawned processes of the environment's Python, payload pickled over a pipe.
    Process,
    /// Processes forked by multiprocessing's forkserver (started before the site was loaded),
    /// payload pickled over a pipe as for `Process`.
    Forkserver,
    /// Children forked after loading: pages shared copy-on-write, results pickled back.
    Fork,
}

impl Strategy {
    /// The strategy that renders with workers of `transport`'s kind (same name), if any.
    pub fn of_transport(transport: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == transport)
    }

    /// Every strategy, in the order they run.
    pub const ALL: [Strategy; 6] = [
        Strategy::Thread,
        Strategy::Subinterpreter,
        Strategy::InterpreterPool,
        Strategy::Process,
        Strategy::Forkserver,
        Strategy::Fork,
    ];

    /// What the render workload's workers get, in words.
    pub fn ships(self) -> &'static str {
        match self {
            Strategy::Thread => "pages handed to threads by reference",
            Strategy::Subinterpreter => {
                "the Site and its pages pickled once per sub-interpreter, rendered pages pickled back"
            }
            Strategy::InterpreterPool => {
                "the Site and its pages pickled once per task of InterpreterPoolExecutor, rendered pages pickled back by the executor"
            }
            Strategy::Process => {
                "the Site and its pages pickled once per spawned process, rendered pages pickled back"
            }
            Strategy::Forkserver => {
                "the Site and its pages pickled once per process the forkserver forks, rendered pages pickled back"
            }
            Strategy::Fork => "pages shared copy-on-write with forked children, rendered pages pickled back",
        }
    }

    /// The name results.json and the Python side use.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Thread => "thread",
            Strategy::Subinterpreter => "subinterpreter",
            Strategy::InterpreterPool => "interpreter-pool",
            Strategy::Process => "process",
            Strategy::Forkserver => "forkserver",
            Strategy::Fork => "fork",
        }
    }

    /// The strategy that starts workers the way `start_method` (as
    /// `multiprocessing.get_start_method()` names it) does: spawn, forkserver, fork.
    pub fn of_start_method(start_method: &str) -> Option<Self> {
        match start_method {
            "spawn" => Some(Strategy::Process),
            "forkserver" => Some(Strategy::Forkserver),
            "fork" => Some(Strategy::Fork),
            _ => None,
        }
    }
}

/// A what-if run (`--what-if`; `WHAT_IFS` on the Python side): measured, and labelled as such
/// in every row, line and chart that uses it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhatIf {
    /// The render workload's sub-interpreter workers run with every module that refused them
    /// replaced by a recording stub; their pages are compared with the main interpreter's.
    Stubs,
}

impl WhatIf {
    pub const ALL: [WhatIf; 1] = [WhatIf::Stubs];

    /// The name results.json and the Python side use.
    pub fn as_str(self) -> &'static str {
        match self {
            WhatIf::Stubs => "stubs",
        }
    }
}

/// What `scale` renders (`WORKLOADS` on the Python side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// The adapter's per-page renderer.
    Render,
    /// The Markdown-to-HTML step on each page's source.
    Markdown,
}

impl Workload {
    pub const ALL: [Workload; 2] = [Workload::Render, Workload::Markdown];

    /// The name results.json and the Python side use.
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Render => "render",
            Workload::Markdown => "markdown",
        }
    }
}

impl std::fmt::Display for Strategy {
    /// Its name, and for `interpreter-pool` the API it measures, in every row and line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strategy::InterpreterPool => f.write_str("interpreter-pool (InterpreterPoolExecutor)"),
            _ => f.write_str(self.as_str()),
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Workload {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<&str> for Strategy {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Does rendering scale with threads, sub-interpreters, processes or fork?
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scale {
    /// The render workload's sequential baseline (mean of the first and the last timing), or the
    /// markdown workload's when rendering is not available.
    pub sequential_seconds: Option<f64>,
    pub workers: Vec<u32>,
    pub strategies: Vec<Strategy>,
    pub pages: usize,
    pub page_keys: Vec<String>,
    /// The rendered pages that are virtual (no source file of their own: generated tag and
    /// index pages), named as in `page_keys`.
    #[serde(default)]
    pub virtual_pages: Vec<String>,
    pub workloads: Vec<WorkloadInfo>,
    pub baselines: Vec<Baseline>,
    pub runs: Vec<ScaleRun>,
    pub blocked: Vec<Blocked>,
    /// `--what-if stubs`: the modules stubbed in the render workload's sub-interpreter workers
    /// (empty when none).
    #[serde(default)]
    pub what_if: Vec<String>,
    /// With a what-if: its pages against the main interpreter's sequential render of each.
    #[serde(default)]
    pub equivalence: Option<Equivalence>,
    pub gil_enabled: bool,
    pub free_threaded_note: Option<String>,
    pub subinterpreter_fault_isolation: String,
    /// The one-sentence answer, filled in on the Rust side.
    #[serde(default)]
    pub answer: String,
    /// Each strategy's W = 1 run against the sequential baseline, filled in on the Rust side.
    #[serde(default)]
    pub single_worker: Vec<SingleWorkerCheck>,
    /// The experiment against its time limit (`--scale-limit`): runs made of runs planned.
    #[serde(default)]
    pub limit: Option<super::phase_limit::PhaseLimit>,
    /// How many render workers holding a copy of the site fit the memory, filled in on the
    /// Rust side.
    #[serde(default)]
    pub worker_memory: Option<crate::memory::WorkerMemory>,
}

/// One worker of a strategy should render as fast as the main interpreter alone: its wall
/// time over the baseline, and its rendering alone (start-up and shipping left out), judged
/// against the run-to-run noise the two baseline timings showed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SingleWorkerCheck {
    pub workload: Workload,
    pub strategy: Strategy,
    /// wall_seconds(W = 1) / sequential_seconds.
    pub wall_ratio: f64,
    /// render_seconds(W = 1) / sequential_seconds.
    pub render_ratio: f64,
    /// |first - last| / the smaller of the two baseline timings, at least 5%.
    pub noise: f64,
    /// |render_ratio - 1| <= noise.
    pub within_noise: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadInfo {
    pub name: Workload,
    pub available: bool,
    pub reason: Option<String>,
    pub method: Option<String>,
    /// markdown: the parser used.
    pub parser: Option<String>,
}

/// The sequential run of one workload, timed before and after the parallel runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub workload: Workload,
    pub first_seconds: f64,
    pub last_seconds: f64,
    pub seconds: f64,
    /// last / first - 1.
    pub drift: Option<f64>,
    pub result_bytes: u64,
    pub pages: usize,
}

/// One (workload, strategy, W).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleRun {
    pub workload: Workload,
    pub strategy: Strategy,
    pub workers: u32,
    pub available: bool,
    pub reason: Option<String>,
    pub wall_seconds: Option<f64>,
    /// The baseline the speed-up divides (the workload's).
    pub sequential_seconds: Option<f64>,
    /// sequential_seconds / wall_seconds (None when not available or a worker failed).
    pub speedup: Option<f64>,
    /// speedup / workers.
    pub efficiency: Option<f64>,
    /// Means per worker: start-up (interpreter/process/thread up, imports), payload out
    /// (pickled, sent, unpickled), rendering, results back (pickled, sent, unpickled).
    pub startup_seconds: f64,
    pub ship_out_seconds: f64,
    pub render_seconds: f64,
    pub ship_back_seconds: f64,
    pub payload_bytes: u64,
    pub result_bytes: u64,
    /// The largest worker's: Private_Dirty for fork, VmHWM for process.
    pub peak_memory_bytes: Option<u64>,
    pub memory_kind: Option<String>,
    pub pages: usize,
    pub failures: Vec<Failure>,
    /// The speed-up this run's strategy predicts at this W from its own W = 1 run's start-up,
    /// shipping and rendering and the baseline, filled in on the Rust side.
    #[serde(default)]
    pub predicted_speedup: Option<f64>,
    /// predicted_speedup / speedup - 1.
    #[serde(default)]
    pub prediction_error: Option<f64>,
    /// The modules its workers had stubbed (`--what-if stubs`; empty: none, a real run).
    #[serde(default)]
    pub what_if: Vec<String>,
    /// What its workers' code asked of the stubs, imports and pages, added up over workers.
    #[serde(default)]
    pub stub_uses: Vec<StubUse>,
    /// With a what-if: how many of its pages differ from the main interpreter's.
    #[serde(default)]
    pub different_pages: Option<usize>,
    /// Each worker loaded the site itself (the site does not pickle): its payload out is that
    /// load.
    #[serde(default)]
    pub reload: bool,
}

/// The pages rendered under a what-if against the sequential render of the same page in the
/// main interpreter (identical to the first or the last baseline's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Equivalence {
    /// Distinct pages rendered under the what-if.
    pub pages: usize,
    pub identical: usize,
    pub different: Vec<DifferentPage>,
}

/// A page whose HTML under the what-if differs: its first differing line, both ways.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DifferentPage {
    pub page: String,
    /// From 1.
    pub line: usize,
    /// The main interpreter's line and the what-if's (cut at 200 characters).
    pub main: String,
    pub what_if: String,
    /// Its two renders in the main interpreter (the baselines before and after the runs)
    /// differ from each other too: the page changes from one render to the next on its own.
    #[serde(default)]
    pub main_varies: bool,
}

/// A worker that died or failed mid-run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub worker: u32,
    pub pid: Option<i64>,
    pub page_index: Option<usize>,
    #[serde(default)]
    pub page: Option<String>,
    pub what: String,
    pub exit_status: Option<i64>,
    pub signal: Option<i64>,
}

/// A module an isolated sub-interpreter refuses, and the import chain that leads to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blocked {
    pub module: String,
    /// Module names, entry point first, the refusing module last.
    pub chain: Vec<String>,
    pub error: String,
    pub hint: String,
    #[serde(default)]
    pub workload: Option<Workload>,
    #[serde(default)]
    pub parser: Option<String>,
    /// Every blocker beyond the first, found by stubbing each in turn.
    #[serde(flatten)]
    pub beyond: super::readiness::Beyond,
}

impl Scale {
    /// `start_method_line` for this experiment: the strategy of this Python's default start
    /// method (`method`, from results.json's `python`), measured where one of its runs rendered
    /// (None: the start method is unknown).
    pub fn start_method_line(&self, method: Option<&str>) -> Option<String> {
        let method = method?;
        let strategy = Strategy::of_start_method(method);
        let measured = strategy.is_some_and(|s| {
            self.runs
                .iter()
                .any(|r| r.strategy == s && r.available && r.wall_seconds.is_some())
        });
        Some(super::results::start_method_line(
            method,
            strategy.map(Strategy::as_str),
            measured,
        ))
    }
}

/// `analyze`'s short real parallel run: the verdict's strategies rendering a small sample at the
/// verdict's worker count, against a sequential baseline timed twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// Whether it ran (False: `reason`).
    pub ran: bool,
    pub reason: Option<String>,
    pub workers: u32,
    /// |first - last| / mean of the two baseline timings.
    pub noise: Option<f64>,
    /// The speed-up a strategy must pass, over 1, to be practical: max(`MARGIN_FLOOR`, noise).
    pub margin: f64,
    /// The runs, as `picklecost scale` reports them.
    pub scale: Option<Scale>,
}

impl ScaleRun {
    pub fn label(&self) -> String {
        format!("{} ×{}", self.strategy_label(), self.workers)
    }

    /// What the run's code asked of the stubs ("tracemalloc.is_tracing (read 3×, called 3×)"),
    /// or "none".
    pub fn stub_uses_words(&self) -> String {
        if self.stub_uses.is_empty() {
            return "none".into();
        }
        let uses: Vec<String> = self.stub_uses.iter().map(|u| u.words()).collect();
        uses.join(", ")
    }

    /// The strategy, with its what-if where it has one: "subinterpreter (what-if: tracemalloc
    /// stubbed)".
    pub fn strategy_label(&self) -> String {
        let reload = if self.reload {
            " (each worker loads the site)"
        } else {
            ""
        };
        format!("{}{}{reload}", self.strategy, what_if_tag(&self.what_if))
    }
}

/// " (what-if: tracemalloc, other stubbed)", or "" for a real run.
pub fn what_if_tag(stubbed: &[String]) -> String {
    if stubbed.is_empty() {
        return String::new();
    }
    format!(" (what-if: {} stubbed)", stubbed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strategy: Strategy, available: bool, wall: Option<f64>) -> ScaleRun {
        ScaleRun {
            workload: Workload::Render,
            strategy,
            workers: 2,
            available,
            reason: None,
            wall_seconds: wall,
            sequential_seconds: Some(1.0),
            speedup: wall.map(|w| 1.0 / w),
            efficiency: None,
            startup_seconds: 0.0,
            ship_out_seconds: 0.0,
            render_seconds: 0.0,
            ship_back_seconds: 0.0,
            payload_bytes: 0,
            result_bytes: 0,
            peak_memory_bytes: None,
            memory_kind: None,
            pages: 4,
            failures: Vec::new(),
            predicted_speedup: None,
            prediction_error: None,
            what_if: Vec::new(),
            stub_uses: Vec::new(),
            different_pages: None,
            reload: false,
        }
    }

    fn scale(runs: Vec<ScaleRun>) -> Scale {
        Scale {
            sequential_seconds: Some(1.0),
            workers: vec![2],
            strategies: runs.iter().map(|r| r.strategy).collect(),
            pages: 4,
            page_keys: Vec::new(),
            virtual_pages: Vec::new(),
            workloads: Vec::new(),
            baselines: Vec::new(),
            runs,
            blocked: Vec::new(),
            what_if: Vec::new(),
            equivalence: None,
            gil_enabled: true,
            free_threaded_note: None,
            subinterpreter_fault_isolation: String::new(),
            answer: String::new(),
            single_worker: Vec::new(),
            limit: None,
            worker_memory: None,
        }
    }

    #[test]
    fn the_default_start_method_names_the_strategy_that_starts_workers_that_way() {
        let measured = scale(vec![
            run(Strategy::Process, true, Some(0.5)),
            run(Strategy::Forkserver, true, Some(0.6)),
        ]);
        assert_eq!(
            measured.start_method_line(Some("forkserver")).unwrap(),
            "This Python's ProcessPoolExecutor() starts workers with forkserver (measured: the forkserver rows)."
        );
        assert_eq!(
            measured.start_method_line(Some("fork")).unwrap(),
            "This Python's ProcessPoolExecutor() starts workers with fork (the fork rows, not measured in this run)."
        );
        assert_eq!(measured.start_method_line(None), None);
        // A strategy that did not run (not available) measured nothing.
        let refused = scale(vec![run(Strategy::Process, false, None)]);
        assert!(
            refused
                .start_method_line(Some("spawn"))
                .unwrap()
                .ends_with("(the process rows, not measured in this run).")
        );
        for s in Strategy::ALL {
            let method = match s {
                Strategy::Process => "spawn",
                other => other.as_str(),
            };
            let expected = matches!(s, Strategy::Process | Strategy::Forkserver | Strategy::Fork);
            assert_eq!(Strategy::of_start_method(method) == Some(s), expected, "{s}");
        }
    }
}
