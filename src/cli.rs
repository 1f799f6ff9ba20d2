//! Command-line definitions only; checking them into plain settings lives in `settings.rs`.
use crate::model::scale::{Strategy, WhatIf};
use crate::model::{DEFAULT_MARGINAL, DEFAULT_PRACTICAL, GcMode, Stage};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// `--page-limit` when not given (the Python side's `limits.DEFAULT_PAGE_SECONDS`).
pub const DEFAULT_PAGE_LIMIT: f64 = 60.0;
/// `--load-limit` when not given (the Python side's `limits.DEFAULT_LOAD_SECONDS`).
pub const DEFAULT_LOAD_LIMIT: f64 = 3600.0;

#[derive(Parser, Debug)]
#[command(
    name = "picklecost",
    version,
    about = "Can this Python object graph be shipped to worker interpreters cheaply? Measures pickle size and latency of a site generator's Site, its Pages and minimal page payloads."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load a site's real object graph and measure what pickling it costs.
    Analyze(AnalyzeArgs),
    /// Read pickle files without executing them: opcodes, globals a receiver must import
    /// (unsafe ones flagged), memo use, largest literals, plain-data check.
    Inspect(InspectArgs),
    /// Compare two analyze runs: size and latency per payload, before and after, with a rank
    /// test on the recorded latency histograms; `--fail-if` turns it into a CI gate.
    Compare(CompareArgs),
    /// Does rendering scale? Render the same pages sequentially and with W threads,
    /// sub-interpreters, spawned processes, processes a forkserver forked and forked processes;
    /// speed-up, efficiency and where the time goes.
    Scale(ScaleArgs),
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The earlier run: a report directory, or its results.json.
    pub before: PathBuf,
    /// The later run: a report directory, or its results.json.
    pub after: PathBuf,
    /// Exit 1 when a limit is exceeded by a significant change: `[PAYLOAD.]METRIC:+N%`, METRIC
    /// one of size (total bytes, exact), dumps, loads, roundtrip; e.g. `size:+5%`,
    /// `page_subset.roundtrip:+10%`. Repeat it or separate limits with commas.
    #[arg(long, value_delimiter = ',', value_name = "LIMIT")]
    pub fail_if: Vec<String>,
    /// A pull-request comment (Markdown) instead of the terminal table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// One JSON document on stdout instead of the terminal table.
    #[arg(long)]
    pub json: bool,
    /// Family-wise significance level of the latency tests (Bonferroni over all of them).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Latency shifts smaller than this many percent are never significant: run-to-run noise
    /// of the machine, which samples of one run cannot show.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    pub noise: f64,
}

#[derive(Args, Debug)]
pub struct ScaleArgs {
    /// The site directory (read-only: nothing is written into it).
    pub site_dir: PathBuf,
    /// Report directory (created if missing; never inside SITE_DIR).
    #[arg(long, default_value = "picklecost-scale")]
    pub out: PathBuf,
    /// How far to take the site before rendering (see `analyze --help`).
    #[arg(long, value_enum, default_value_t = Stage::Discovered)]
    pub stage: Stage,
    /// Load a non-Bengal project: `module:function` (see `analyze --help`); the module may offer
    /// `render(page) -> str` for the render workload.
    #[arg(long, value_name = "MODULE:FUNCTION")]
    pub loader: Option<String>,
    /// The generator whose adapter loads SITE_DIR.
    #[arg(long, value_name = "NAME")]
    pub generator: Option<String>,
    /// Interpreter of the Python environment to run in.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Render N pages, a stratified sample (sorted by directory and content length, evenly
    /// spaced; default: all that fit --budget).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pages: Option<u64>,
    /// Seconds the whole experiment should take when --pages is not given (pages are
    /// stratified-sampled to fit).
    #[arg(long, default_value_t = 120.0)]
    pub budget: f64,
    /// Try W = 1, 2, ... up to this many workers (default: CPU count).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_workers: Option<u32>,
    /// Exactly these worker counts, comma-separated (e.g. 1,2,4); overrides --max-workers.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: Option<Vec<u32>>,
    /// Strategies to run, comma-separated (default: thread,subinterpreter,process,forkserver,fork).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub strategies: Option<Vec<Strategy>>,
    /// A what-if, measured and labelled as such everywhere: `stubs` renders with the
    /// sub-interpreter workers' refusing modules replaced by recording stubs and compares their
    /// pages with the main interpreter's (default: none, nothing stubbed).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub what_if: Option<WhatIf>,
    /// Seconds one run's workers may take before they are killed.
    #[arg(long, default_value_t = 300.0)]
    pub timeout: f64,
    /// Seconds the whole experiment may take, the renderer's preparation included: a run not
    /// started once they have passed is reported as not run.
    #[arg(long, default_value_t = 3600.0, value_name = "S")]
    pub scale_limit: f64,
    /// Memory the sub-interpreter and process workers rendering pages (each holding a copy of
    /// the site) may use in all, e.g. 4G (default: MemAvailable); a run with more workers than
    /// fit is reported as not run.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Seconds loading the site may take (the generator's or --loader's load); a load still
    /// running then is stopped and the run ends with an error.
    #[arg(long, default_value_t = DEFAULT_LOAD_LIMIT, value_name = "SECONDS")]
    pub load_limit: f64,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Pickle files, or directories to search for *.pickle/*.pkl files.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// How many globals and literals to list per file.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the value of plain-data streams (bounded).
    #[arg(long)]
    pub dump: bool,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The site directory (read-only: nothing is written into it).
    pub site_dir: PathBuf,

    /// Report directory (created if missing; never inside SITE_DIR).
    #[arg(long, default_value = "picklecost-report")]
    pub out: PathBuf,

    /// How far to take the site before measuring: `discovered` (content and assets found, as a
    /// build does before rendering) or `rendered` (a full build, in a temporary copy).
    #[arg(long, value_enum, default_value_t = Stage::Discovered)]
    pub stage: Stage,

    /// Load a non-Bengal project: `module:function`, called with the site directory as a
    /// pathlib.Path; returns the site (pages in `site.pages`) or a tuple (site, pages).
    #[arg(long, value_name = "MODULE:FUNCTION")]
    pub loader: Option<String>,

    /// The generator whose adapter loads SITE_DIR (default: the one that recognises it); needed
    /// when a directory looks like a site of more than one generator.
    #[arg(long, value_name = "NAME")]
    pub generator: Option<String>,

    /// Interpreter of the Python environment to run in (default: $VIRTUAL_ENV, then a .venv in
    /// SITE_DIR or its parents).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// Pickle protocol.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=5))]
    pub protocol: u8,

    /// Page attributes of the `page_subset` payload, comma-separated
    /// (Bengal default: source_path,content,metadata,output_path).
    #[arg(long, value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// Keys to drop from dict-valued fields of the subset, as FIELD:KEY,FIELD:KEY
    /// (e.g. metadata:_posts); the report suggests a value.
    #[arg(long, value_delimiter = ',', value_name = "FIELD:KEY")]
    pub exclude_keys: Option<Vec<String>>,

    /// Skip the explanations (unpicklable paths, byte attribution, drag, suggested payload).
    #[arg(long)]
    pub no_diagnose: bool,

    /// How deep the unpicklable-object search follows references.
    #[arg(long, default_value_t = 100)]
    pub max_depth: u32,

    /// How many objects the unpicklable-object search may visit.
    #[arg(long, default_value_t = 200_000)]
    pub max_visits: u64,

    /// Also model cost against page count: copies of the site (outside it) with 1/8 .. all of
    /// its pages (and 2x, 4x for small sites), then doublings until the Site's pickle outgrows
    /// the last-level cache, each loaded and measured, fitted and projected to 10,000 and
    /// 100,000 pages (no further than 10x the largest copy). The copies share one more --budget.
    #[arg(long)]
    pub growth: bool,

    /// Also build and measure real copies of the site at these page counts (implies --growth;
    /// within --growth-limit, whatever --budget), e.g. 10000.
    #[arg(long, value_name = "N[,M...]", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..))]
    pub growth_pages: Vec<u64>,

    /// Skip the transports (thread, sub-interpreter, process) and the render cost.
    #[arg(long)]
    pub no_transports: bool,

    /// Worker sub-interpreters / processes (default: CPU count).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: Option<u32>,

    /// Seconds the transport round trips may take in all.
    #[arg(long, default_value_t = 15.0)]
    pub transport_budget: f64,

    /// Seconds the render-cost probe may take, the generator's preparation of the pages
    /// included; it stops between pages (and preparation steps) once they have passed.
    #[arg(long, default_value_t = 300.0, value_name = "S")]
    pub render_limit: f64,

    /// Seconds the explanations (suggested payload, culprits, byte attribution, drag) may take
    /// in all; each stops where they have passed, with what it found so far.
    #[arg(long, default_value_t = 300.0, value_name = "S")]
    pub diagnose_limit: f64,

    /// Seconds the --growth copies may take in all (making, loading and measuring each); a
    /// copy not started in time is reported as not measured.
    #[arg(long, default_value_t = 900.0, value_name = "S")]
    pub growth_limit: f64,

    /// Memory the workers that each hold a copy of the site (sub-interpreters, spawned
    /// processes) may use in all, e.g. 4G or 512M (default: MemAvailable when they start);
    /// fewer workers start when --workers of them would not fit.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// Seconds the short real parallel run that checks the verdict's speed-ups may take (a
    /// sequential baseline timed twice and each judged strategy once, at --workers, on a
    /// small sample of pages); a run not started in time is reported as not checked.
    #[arg(long, default_value_t = 120.0, value_name = "S")]
    pub check_limit: f64,

    /// Skip the real parallel check: every speed-up is a prediction only.
    #[arg(long)]
    pub no_check: bool,

    /// Seconds one page's render may take in the render cost; a page still rendering then is
    /// stopped and reported as failed (the others are measured).
    #[arg(long, default_value_t = DEFAULT_PAGE_LIMIT, value_name = "SECONDS")]
    pub page_limit: f64,

    /// Seconds loading the site may take (the generator's or --loader's load); a load still
    /// running then is stopped and the run ends with an error.
    #[arg(long, default_value_t = DEFAULT_LOAD_LIMIT, value_name = "SECONDS")]
    pub load_limit: f64,

    /// Transfer cost up to this share of render cost is `practical`.
    #[arg(long, default_value_t = DEFAULT_PRACTICAL)]
    pub practical: f64,

    /// Transfer cost up to this share of render cost is `marginal` (above: `impractical`).
    #[arg(long, default_value_t = DEFAULT_MARGINAL)]
    pub marginal: f64,

    /// Timed dumps+loads rounds per sampled object (reduced to fit --budget if needed).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,

    /// Latency-sample at most N pages per page payload (default: all that fit the budget).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: Option<u64>,

    /// Seconds the measuring phase may take; iterations and samples are planned to fit.
    #[arg(long, default_value_t = 20.0)]
    pub budget: f64,

    /// Keep Python's cyclic GC running while timing (default off, like timeit).
    #[arg(long, value_enum, default_value_t = GcMode::Off)]
    pub gc: GcMode,

    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}
