//! Settings checked from the command line into plain data: every check that needs no Python
//! happens here. Imports nothing of the pipeline; every stage takes the part it needs.
use crate::cli::{AnalyzeArgs, CompareArgs, InspectArgs, ScaleArgs};
use crate::error::UserError;
use crate::model::limit::Limit;
use crate::model::scale::{Strategy, WhatIf};
use crate::model::{GcMode, Stage, Thresholds};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tuning numbers of the pipeline, in one place.
pub mod tuning {
    /// Pages rendered for the render-cost estimate: all of a small site, a spread of a big one.
    pub const RENDER_PAGES: usize = 60;
    /// Objects of a per-page payload sent through the transports (spread over the sized pages).
    pub const TRANSPORT_OBJECTS_PER_PAYLOAD: usize = 16;
    /// Rendered pages every worker keeps to send back (spread over what the render probe wrote):
    /// each in-process sub-interpreter worker holds a copy of them.
    pub const RESULTS_BACK_PAGES: usize = 8;
    /// At most this many sampled pages are named as weighing most in the render total.
    pub const DOMINANT_PAGES: usize = 3;
    /// However tight the budget, this many round trips per measured transport cell...
    pub const TRANSPORT_MIN_ROUNDS: usize = 3;
    /// ...and never more than this many.
    pub const TRANSPORT_MAX_ROUNDS: usize = 200;
    /// Requests waiting per worker in a transport's stream (its per-item cost, no wake-up in it).
    pub const STREAM_IN_FLIGHT: u32 = 4;
    /// Items a stream plans per request slot (`STREAM_IN_FLIGHT` x workers slots): the fill at
    /// the start and the drain at the end are one slot's worth of it.
    pub const STREAM_ITEMS_PER_SLOT: u64 = 8;
    /// Pages the suggestion judges "page-specific" on (its safety checks see every page).
    pub const SUGGEST_SAMPLE_PAGES: usize = 20;
    /// Levels below the root of the byte-attribution tree (the icicle chart).
    pub const BYTE_TREE_DEPTH: usize = 4;
    /// Attribute paths kept per payload in the byte attribution.
    pub const TOP_PATHS: usize = 30;
    /// Timed rounds of the repaired ("after repairs") pickle of an unpicklable object.
    pub const REPAIR_ROUNDS: usize = 5;
}

/// Where the site is and how to load it.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub site_dir: PathBuf,
    pub stage: Stage,
    /// `module:function` of a user's own loader, instead of a generator adapter.
    pub loader: Option<String>,
    /// The adapter to use by name, instead of detecting it.
    pub generator: Option<String>,
    /// Seconds the generator's (or loader's) load may take (`--load-limit`).
    pub load_limit_seconds: f64,
}

/// How the pickles are measured.
#[derive(Debug, Clone)]
pub struct MeasureSettings {
    pub protocol: u8,
    pub iterations: u32,
    pub sample: Option<u64>,
    pub budget_seconds: f64,
    pub gc: GcMode,
}

/// How far the unpicklable-object search may go.
#[derive(Debug, Clone, Copy)]
pub struct ExplainLimits {
    pub max_depth: u32,
    pub max_visits: u64,
    /// Seconds the explanations may take in all (`--diagnose-limit`).
    pub seconds: f64,
}

/// The transports, the render cost and the verdict thresholds.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    pub workers: usize,
    pub budget_seconds: f64,
    pub protocol: u8,
    pub thresholds: Thresholds,
    /// Seconds the render-cost probe may take (`--render-limit`).
    pub render_limit_seconds: f64,
    /// Bytes the workers holding a copy of the site may use in all (`--memory-limit`).
    pub memory_limit: Option<u64>,
    /// Seconds one page's render may take in the render cost (`--page-limit`).
    pub page_limit_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct AnalyzeSettings {
    pub load: LoadSettings,
    pub out_dir: PathBuf,
    pub python: Option<PathBuf>,
    pub measure: MeasureSettings,
    pub fields: Option<Vec<String>>,
    /// field -> keys to drop from it
    pub exclude_keys: BTreeMap<String, Vec<String>>,
    /// None: no explanations.
    pub explain: Option<ExplainLimits>,
    /// None: transports and render cost are skipped.
    pub transports: Option<TransportSettings>,
    /// Model cost against page count, in one more --budget.
    pub growth: bool,
    /// Seconds the growth copies may take in all (`--growth-limit`).
    pub growth_limit_seconds: f64,
    /// Page counts of copies to measure for real (`--growth-pages`).
    pub growth_pages: Vec<u64>,
    /// Seconds the real parallel check may take (`--check-limit`); None: `--no-check`.
    pub check_limit_seconds: Option<f64>,
    pub quiet: bool,
    pub command_line: String,
}

impl AnalyzeSettings {
    pub fn from_args(args: AnalyzeArgs) -> Result<Self, UserError> {
        let (site_dir, out_dir) = site_and_out(&args.site_dir, &args.out)?;
        if args.loader.is_some() && args.generator.is_some() {
            return Err(UserError::Fields(
                "--loader and --generator both choose how to load the site: give one of them".into(),
            ));
        }
        if !(args.budget.is_finite() && args.budget > 0.0) {
            return Err(UserError::BadBudget(args.budget));
        }
        let fields: Option<Vec<String>> = args.fields.map(|fields| {
            fields
                .into_iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect()
        });
        if matches!(&fields, Some(f) if f.is_empty()) {
            return Err(UserError::Fields(
                "--fields is empty: name at least one page attribute".into(),
            ));
        }
        let mut exclude_keys = BTreeMap::<String, Vec<String>>::new();
        for item in args.exclude_keys.unwrap_or_default() {
            let Some((field, key)) = item
                .split_once(':')
                .filter(|(f, k)| !f.trim().is_empty() && !k.is_empty())
            else {
                return Err(UserError::Fields(format!(
                    "--exclude-keys wants FIELD:KEY items, got {item:?}"
                )));
            };
            exclude_keys
                .entry(field.trim().to_string())
                .or_default()
                .push(key.to_string());
        }
        if let Some(fields) = &fields
            && let Some(field) = exclude_keys.keys().find(|f| !fields.contains(f))
        {
            return Err(UserError::Fields(format!(
                "--exclude-keys names {field:?}, which is not one of --fields"
            )));
        }
        if !(args.transport_budget.is_finite() && args.transport_budget > 0.0) {
            return Err(UserError::BadTransportBudget(args.transport_budget));
        }
        positive_seconds("--page-limit", args.page_limit)?;
        positive_seconds("--load-limit", args.load_limit)?;
        if !(0.0 < args.practical && args.practical <= args.marginal) {
            return Err(UserError::Fields(format!(
                "--practical ({}) must be above 0 and at most --marginal ({})",
                args.practical, args.marginal
            )));
        }
        for (flag, seconds) in [
            ("--render-limit", args.render_limit),
            ("--diagnose-limit", args.diagnose_limit),
            ("--growth-limit", args.growth_limit),
            ("--check-limit", args.check_limit),
        ] {
            positive_seconds(flag, seconds)?;
        }
        let memory_limit = args.memory_limit.as_deref().map(parse_size).transpose()?;
        let workers = args
            .workers
            .map(|w| w as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let transports = (!args.no_transports).then_some(TransportSettings {
            workers,
            budget_seconds: args.transport_budget,
            protocol: args.protocol,
            thresholds: Thresholds {
                practical: args.practical,
                marginal: args.marginal,
            },
            render_limit_seconds: args.render_limit,
            memory_limit,
            page_limit_seconds: args.page_limit,
        });
        Ok(Self {
            load: LoadSettings {
                site_dir,
                stage: args.stage,
                loader: args.loader,
                generator: args.generator,
                load_limit_seconds: args.load_limit,
            },
            out_dir,
            python: args.python,
            measure: MeasureSettings {
                protocol: args.protocol,
                iterations: args.iterations,
                sample: args.sample,
                budget_seconds: args.budget,
                gc: args.gc,
            },
            fields,
            exclude_keys,
            explain: (!args.no_diagnose).then_some(ExplainLimits {
                max_depth: args.max_depth,
                max_visits: args.max_visits,
                seconds: args.diagnose_limit,
            }),
            transports,
            growth: args.growth || !args.growth_pages.is_empty(),
            growth_limit_seconds: args.growth_limit,
            growth_pages: args.growth_pages,
            check_limit_seconds: (!args.no_check).then_some(args.check_limit),
            quiet: args.quiet,
            command_line: command_line(),
        })
    }
}

/// `picklecost scale`: what to load, which pages, which worker counts and strategies.
#[derive(Debug, Clone)]
pub struct ScaleSettings {
    pub load: LoadSettings,
    pub out_dir: PathBuf,
    pub python: Option<PathBuf>,
    pub pages: Option<u64>,
    pub budget_seconds: f64,
    /// Worker counts, ascending.
    pub workers: Vec<u32>,
    /// In the order given, each once.
    pub strategies: Vec<Strategy>,
    /// `--what-if` (None: nothing stubbed).
    pub what_if: Option<WhatIf>,
    pub timeout_seconds: f64,
    /// Seconds the whole experiment may take (`--scale-limit`).
    pub limit_seconds: f64,
    /// Bytes the workers holding a copy of the site may use in all (`--memory-limit`).
    pub memory_limit: Option<u64>,
    pub quiet: bool,
    pub command_line: String,
}

impl ScaleSettings {
    pub fn from_args(args: ScaleArgs) -> Result<Self, UserError> {
        let (site_dir, out_dir) = site_and_out(&args.site_dir, &args.out)?;
        if args.loader.is_some() && args.generator.is_some() {
            return Err(UserError::Fields(
                "--loader and --generator both choose how to load the site: give one of them".into(),
            ));
        }
        if !(args.budget.is_finite() && args.budget > 0.0) {
            return Err(UserError::BadBudget(args.budget));
        }
        positive_seconds("--load-limit", args.load_limit)?;
        if !(args.timeout.is_finite() && args.timeout > 0.0) {
            return Err(UserError::Fields(format!(
                "--timeout must be a positive number of seconds, got {}",
                args.timeout
            )));
        }
        positive_seconds("--scale-limit", args.scale_limit)?;
        let memory_limit = args.memory_limit.as_deref().map(parse_size).transpose()?;
        let mut workers = match args.workers {
            Some(list) if !list.is_empty() => list,
            _ => {
                let top = args.max_workers.unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get() as u32)
                        .unwrap_or(1)
                });
                (1..=top).collect()
            }
        };
        workers.sort_unstable();
        workers.dedup();
        let strategies = match args.strategies {
            Some(list) if !list.is_empty() => first_of_each(list),
            _ => Strategy::ALL.to_vec(),
        };
        Ok(Self {
            load: LoadSettings {
                site_dir,
                stage: args.stage,
                loader: args.loader,
                generator: args.generator,
                load_limit_seconds: args.load_limit,
            },
            out_dir,
            python: args.python,
            pages: args.pages,
            budget_seconds: args.budget,
            workers,
            strategies,
            what_if: args.what_if,
            timeout_seconds: args.timeout,
            limit_seconds: args.scale_limit,
            memory_limit,
            quiet: args.quiet,
            command_line: command_line(),
        })
    }
}

/// A time limit must be a positive, finite number of seconds.
fn positive_seconds(flag: &str, seconds: f64) -> Result<(), UserError> {
    if seconds.is_finite() && seconds > 0.0 {
        return Ok(());
    }
    Err(UserError::Fields(format!(
        "{flag} must be a positive number of seconds, got {seconds}"
    )))
}

/// A memory size: bytes, or a number with K, M, G or T (powers of 1024; a trailing B or iB
/// is allowed): `4G`, `512M`, `1.5GiB`, `1000000`.
pub fn parse_size(text: &str) -> Result<u64, UserError> {
    let bad = || {
        UserError::Fields(format!(
            "--memory-limit {text:?} is not a memory size; write bytes or a number with K, M, G \
             or T (e.g. 4G, 512M)"
        ))
    };
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t);
    let (number, scale) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        Some('T') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// `items` in their order, each only where it first occurs.
fn first_of_each<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// What `picklecost inspect` reads and how it prints it.
#[derive(Debug, Clone)]
pub struct InspectSettings {
    pub paths: Vec<PathBuf>,
    pub json: bool,
    pub top: usize,
    pub dump: bool,
}

impl InspectSettings {
    pub fn from_args(args: InspectArgs) -> Self {
        Self {
            paths: args.paths,
            json: args.json,
            top: args.top,
            dump: args.dump,
        }
    }
}

/// What `picklecost compare` reads, how it judges, and how it prints.
#[derive(Debug, Clone)]
pub struct CompareSettings {
    pub before: PathBuf,
    pub after: PathBuf,
    pub limits: Vec<Limit>,
    pub format: CompareFormat,
    /// Family-wise significance level of the latency tests.
    pub alpha: f64,
    /// Latency shifts below this fraction (0.10 = 10%) are never significant.
    pub noise: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    Table,
    Markdown,
    Json,
}

impl CompareSettings {
    pub fn from_args(args: CompareArgs) -> Result<Self, UserError> {
        let limits = args
            .fail_if
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Limit::parse(l))
            .collect::<Result<Vec<_>, _>>()?;
        if !(args.alpha > 0.0 && args.alpha < 1.0) {
            return Err(UserError::Compare(format!(
                "--alpha must be between 0 and 1, got {}",
                args.alpha
            )));
        }
        if !(args.noise.is_finite() && args.noise >= 0.0) {
            return Err(UserError::Compare(format!(
                "--noise must be a non-negative percentage, got {}",
                args.noise
            )));
        }
        let format = if args.json {
            CompareFormat::Json
        } else if args.markdown {
            CompareFormat::Markdown
        } else {
            CompareFormat::Table
        };
        Ok(Self {
            before: args.before,
            after: args.after,
            limits,
            format,
            alpha: args.alpha,
            noise: args.noise / 100.0,
        })
    }
}

/// The site directory (it must exist and be a directory) and the report directory (never inside
/// the site), both absolute.
fn site_and_out(site: &Path, out: &Path) -> Result<(PathBuf, PathBuf), UserError> {
    let site_dir = std::path::absolute(site).unwrap_or(site.to_path_buf());
    if !site_dir.exists() {
        return Err(UserError::SiteMissing(site.to_path_buf()));
    }
    if !site_dir.is_dir() {
        return Err(UserError::SiteNotDirectory(site.to_path_buf()));
    }
    let site_dir = site_dir.canonicalize().unwrap_or(site_dir);
    let out_dir = std::path::absolute(out).unwrap_or(out.to_path_buf());
    if resolve_existing_prefix(&out_dir).starts_with(&site_dir) {
        return Err(UserError::OutInsideSite {
            out: out.to_path_buf(),
            site: site_dir,
        });
    }
    Ok((site_dir, out_dir))
}

/// Canonicalise the longest existing prefix of a path that may not exist yet, so a symlinked
/// or `..`-laden --out cannot sneak into the site directory.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let mut existing = lexically_normal(path);
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_owned()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_resolution_sees_through_dotdot() {
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let weird = tmp.join("does-not-exist-a").join("..").join("b");
        assert_eq!(resolve_existing_prefix(&weird), tmp.join("b"));
    }

    #[test]
    fn memory_sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("2kb").unwrap(), 2048);
        assert_eq!(parse_size("1000000").unwrap(), 1_000_000);
        for bad in ["", "G", "-1G", "0", "lots", "1.5X", "infG"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn first_of_each_keeps_the_order_and_drops_every_later_duplicate() {
        assert_eq!(first_of_each(vec![3, 1, 3, 2, 1, 3]), vec![3, 1, 2]);
        assert_eq!(first_of_each(Vec::<u8>::new()), Vec::<u8>::new());
    }

    fn scale_settings(extra: &[&str]) -> ScaleSettings {
        use clap::Parser;
        let site = std::env::temp_dir().join(format!("picklecost-settings-{}", std::process::id()));
        std::fs::create_dir_all(&site).unwrap();
        let site = site.to_string_lossy().into_owned();
        let mut args = vec!["picklecost", "scale", site.as_str()];
        args.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(args).unwrap().command {
            crate::cli::Command::Scale(args) => ScaleSettings::from_args(args).unwrap(),
            _ => unreachable!("parsed as scale"),
        }
    }

    #[test]
    fn scale_strategies_in_the_order_given_each_once() {
        let given = scale_settings(&["--strategies", "fork,thread,fork,process,thread"]);
        assert_eq!(
            given.strategies,
            vec![Strategy::Fork, Strategy::Thread, Strategy::Process]
        );
        assert_eq!(scale_settings(&[]).strategies, Strategy::ALL.to_vec());
    }

    #[test]
    fn scale_strategies_outside_the_enum_are_refused() {
        use clap::Parser;
        let parsed =
            crate::cli::Cli::try_parse_from(["picklecost", "scale", ".", "--strategies", "thread,pool"]);
        let message = parsed.expect_err("an unknown strategy is refused").to_string();
        assert!(message.contains("invalid value 'pool'"), "{message}");
        assert!(
            message.contains(
                "[possible values: thread, subinterpreter, interpreter-pool, process, forkserver, fork]"
            ),
            "{message}"
        );
    }

    #[test]
    fn time_limits_default_pass_through_and_must_be_positive() {
        use clap::Parser;
        let site = std::env::temp_dir().join(format!("picklecost-limits-{}", std::process::id()));
        std::fs::create_dir_all(&site).unwrap();
        let site = site.to_string_lossy().into_owned();
        let analyze = |extra: &[&str]| {
            let mut args = vec!["picklecost", "analyze", site.as_str()];
            args.extend_from_slice(extra);
            match crate::cli::Cli::try_parse_from(args).unwrap().command {
                crate::cli::Command::Analyze(args) => AnalyzeSettings::from_args(args),
                _ => unreachable!("parsed as analyze"),
            }
        };
        let defaults = analyze(&[]).unwrap();
        assert_eq!(defaults.load.load_limit_seconds, crate::cli::DEFAULT_LOAD_LIMIT);
        assert_eq!(
            defaults.transports.unwrap().page_limit_seconds,
            crate::cli::DEFAULT_PAGE_LIMIT
        );
        let given = analyze(&["--page-limit", "2.5", "--load-limit", "30"]).unwrap();
        assert_eq!(given.transports.unwrap().page_limit_seconds, 2.5);
        assert_eq!(given.load.load_limit_seconds, 30.0);
        assert_eq!(
            scale_settings(&["--load-limit", "7"]).load.load_limit_seconds,
            7.0
        );
        for (flag, value) in [
            ("--page-limit", "0"),
            ("--load-limit", "-1"),
            ("--page-limit", "inf"),
        ] {
            let err = analyze(&[&format!("{flag}={value}")]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{flag} must be a positive number of seconds, got ")),
                "{err}"
            );
        }
    }
}
