//! `picklecost scale`: the results.json shape and arithmetic on the tiny blog (at whichever Bengal
//! generation the test Python has), the blocked import chain of a project's own refusing module,
//! and a worker killed mid-render (reported with its exit status; the other strategies still
//! run; no process of the tool survives it).
use crate::util::*;
use std::path::Path;
use std::process::{Command, Output};

/// `picklecost scale SITE --python <the test venv> --out OUT EXTRA...`, with `env` set.
pub fn scale(site: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let python = python();
    let mut cmd = Command::new(bin());
    cmd.args([
        "scale",
        site.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ])
    .args(["--out", out.to_str().unwrap(), "-q"])
    .args(extra)
    .env_remove("PYTHONUNBUFFERED")
    .env_remove("PYTHONDONTWRITEBYTECODE")
    .env_remove("VIRTUAL_ENV");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running picklecost scale")
}

fn runs<'a>(r: &'a serde_json::Value, workload: &str, strategy: &str) -> Vec<&'a serde_json::Value> {
    r["scale"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["workload"] == workload && x["strategy"] == strategy)
        .collect()
}

const STRATEGIES: [&str; 5] = ["thread", "subinterpreter", "process", "forkserver", "fork"];

#[test]
fn tiny_blog_six_pages_two_workers() {
    scale_a_bengal_site(&tiny_blog(), 6);
}

/// `scale --pages PAGES --workers 1,2` on a Bengal site: every strategy and workload at W = 1
/// and 2, the arithmetic against the recorded wall times, fork's private memory, the blocked
/// import chains and the Markdown rows for sub-interpreters. Also run on the shared showcase.
pub fn scale_a_bengal_site(site: &Path, pages: u64) {
    let tmp = TempDir::new("scale-bengal");
    let out = tmp.path().join("out");
    let o = scale(
        site,
        &out,
        &["--pages", &pages.to_string(), "--workers", "1,2"],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert_no_staging_left(&out);
    for f in [
        "report.md",
        "charts/scale-speedup-render.svg",
        "charts/scale-time-render.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let r = read_results(&out);
    let s = &r["scale"];
    assert_eq!(s["pages"], pages);
    assert_eq!(s["workers"], serde_json::json!([1, 2]));
    let seq = s["sequential_seconds"].as_f64().expect("sequential_seconds");
    assert!(seq > 0.0);
    // One run per (workload, strategy, W), W=1 included, with the keys results.json promises.
    for workload in ["render", "markdown"] {
        let baseline = s["baselines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["workload"] == workload);
        assert!(baseline.is_some(), "no {workload} baseline");
        for strategy in STRATEGIES {
            let rows = runs(&r, workload, strategy);
            let ws: Vec<u64> = rows.iter().map(|x| x["workers"].as_u64().unwrap()).collect();
            assert_eq!(ws, vec![1, 2], "{workload}/{strategy}");
            for row in rows {
                for key in [
                    "available",
                    "reason",
                    "wall_seconds",
                    "speedup",
                    "efficiency",
                    "startup_seconds",
                    "ship_out_seconds",
                    "render_seconds",
                    "ship_back_seconds",
                ] {
                    assert!(row.get(key).is_some(), "{key} missing in {row}");
                }
                if let Some(speedup) = row["speedup"].as_f64() {
                    let wall = row["wall_seconds"].as_f64().unwrap();
                    let base = row["sequential_seconds"].as_f64().unwrap();
                    assert!((speedup - base / wall).abs() <= 1e-9 * speedup.max(1.0), "{row}");
                    let w = row["workers"].as_f64().unwrap();
                    assert!((row["efficiency"].as_f64().unwrap() - speedup / w).abs() < 1e-9);
                    if workload == "render" {
                        assert!((speedup - seq / wall).abs() <= 1e-9 * speedup.max(1.0));
                    }
                } else {
                    assert!(
                        row["available"] == false || !row["failures"].as_array().unwrap().is_empty(),
                        "a run with neither a speed-up nor a reason: {row}"
                    );
                }
            }
        }
    }
    // Threads and fork always run; the thread rows return the real rendered HTML.
    for strategy in ["thread", "fork"] {
        for row in runs(&r, "render", strategy) {
            assert!(row["speedup"].as_f64().is_some(), "{row}");
            assert!(row["result_bytes"].as_u64().unwrap() > 0, "{row}");
        }
    }
    for row in runs(&r, "render", "fork") {
        assert_eq!(row["memory_kind"], "private_dirty");
        assert!(row["peak_memory_bytes"].as_u64().unwrap() > 0);
    }
    if has_subinterpreters() {
        // Bengal's logger imports tracemalloc: the render workers' import chain is reported, and
        // the markdown workload still gives the sub-interpreter row real numbers.
        let blocked = s["blocked"].as_array().unwrap();
        assert!(!blocked.is_empty(), "nothing blocked: {s}");
        for b in blocked {
            let chain: Vec<&str> = b["chain"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(chain[0], b["module"].as_str().unwrap());
            assert!(chain.len() >= 2, "{b}");
            assert!(b["error"].as_str().unwrap().contains("subinterpreters"), "{b}");
        }
        for row in runs(&r, "render", "subinterpreter") {
            assert_eq!(row["available"], false);
            assert!(row["reason"].as_str().unwrap().contains(" → "), "{row}");
        }
        for row in runs(&r, "markdown", "subinterpreter") {
            assert!(row["speedup"].as_f64().is_some(), "{row}");
        }
    }
    // At 0.1 the Site pickles and spawned processes render; at 0.5 it does not, and says why.
    for row in runs(&r, "render", "process") {
        if installed().modern_bengal {
            if row["available"] == false {
                assert!(row["reason"].as_str().unwrap().contains("pickle"), "{row}");
            }
        } else {
            assert!(row["speedup"].as_f64().is_some(), "{row}");
        }
    }
    // W = 1 of each strategy against the baseline: the ratios are the recorded times', and the
    // noise the two baseline timings' spread (at least 5%).
    let checks = s["single_worker"].as_array().unwrap();
    for workload in ["render", "markdown"] {
        for strategy in ["thread", "fork"] {
            let c = checks
                .iter()
                .find(|c| c["workload"] == workload && c["strategy"] == strategy)
                .unwrap_or_else(|| panic!("no W = 1 check for {workload}/{strategy}: {checks:?}"));
            let run = runs(&r, workload, strategy)
                .into_iter()
                .find(|x| x["workers"] == 1)
                .unwrap();
            let base = run["sequential_seconds"].as_f64().unwrap();
            let wall = run["wall_seconds"].as_f64().unwrap();
            let render = run["render_seconds"].as_f64().unwrap();
            assert!(
                (c["wall_ratio"].as_f64().unwrap() - wall / base).abs() < 1e-9,
                "{c}"
            );
            assert!(
                (c["render_ratio"].as_f64().unwrap() - render / base).abs() < 1e-9,
                "{c}"
            );
            let b = s["baselines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["workload"] == workload)
                .unwrap();
            let (first, last) = (
                b["first_seconds"].as_f64().unwrap(),
                b["last_seconds"].as_f64().unwrap(),
            );
            let noise = ((first - last).abs() / first.min(last)).max(0.05);
            assert!((c["noise"].as_f64().unwrap() - noise).abs() < 1e-9, "{c}");
            assert_eq!(
                c["within_noise"].as_bool().unwrap(),
                (render / base - 1.0).abs() <= noise,
                "{c}"
            );
        }
    }
    let text = stdout(&o);
    assert!(text.contains("report:"), "{text}");
    assert!(!r["scale"]["answer"].as_str().unwrap().is_empty());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("W = 1 against the sequential baseline"), "{md}");
}

const CRASHING: &str = r##"
import os

class Page:
    def __init__(self, n, crash):
        self.source_path = "p%d.md" % n
        self.content = "# Page %d\n\nsome *text*\n" % n
        self.crash = crash

class Site:
    def __init__(self, pages):
        self.pages = pages

def load(root):
    os.environ["SCALE_TEST_MAIN_PID"] = str(os.getpid())
    return Site([Page(n, n == 3) for n in range(8)])

def render(page):
    # Only a worker process dies: the tool's own process renders the same page safely.
    if page.crash and str(os.getpid()) != os.environ.get("SCALE_TEST_MAIN_PID"):
        os._exit(7)
    return "<p>%s</p>" % sum(k * k for k in range(20000))
"##;

/// Processes (not zombies) whose environment holds `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if String::from_utf8_lossy(&env).contains(marker) {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if !stat.contains(") Z ") {
                found.push(format!("{name}: {stat}"));
            }
        }
    }
    found
}

#[test]
fn a_worker_killed_mid_render_is_reported_and_the_rest_runs() {
    let tmp = TempDir::new("scale-crash");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("crashy.py"), CRASHING).unwrap();
    let out = tmp.path().join("out");
    let marker = format!("picklecost-scale-crash-{}", std::process::id());
    let o = scale(
        &project,
        &out,
        &[
            "--loader",
            "crashy:load",
            "--workers",
            "1,2",
            "--strategies",
            "thread,process,fork",
        ],
        &[("PICKLECOST_TEST_MARK", &marker)],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let r = read_results(&out);
    for strategy in ["process", "fork"] {
        for row in runs(&r, "render", strategy) {
            let failures = row["failures"].as_array().unwrap();
            assert_eq!(failures.len(), 1, "{row}");
            let f = &failures[0];
            assert_eq!(f["exit_status"], 7, "{f}");
            assert_eq!(f["page"], "p3.md", "{f}");
            assert_eq!(f["page_index"], 3, "{f}");
            assert!(
                f["what"].as_str().unwrap().contains("exited with status 7"),
                "{f}"
            );
            assert!(row["speedup"].is_null(), "a failed run has no speed-up: {row}");
        }
    }
    for row in runs(&r, "render", "thread") {
        assert!(row["speedup"].as_f64().is_some(), "{row}");
        assert!(row["failures"].as_array().unwrap().is_empty());
    }
    // The markdown workload of the same pages ran in every strategy after the crashes.
    for strategy in ["thread", "process", "fork"] {
        for row in runs(&r, "markdown", strategy) {
            assert!(row["speedup"].as_f64().is_some(), "{row}");
        }
    }
    assert!(
        stdout(&o).contains("exited with status 7 while rendering page p3.md"),
        "{}",
        stdout(&o)
    );
    // No process of the tool survived it (spawned and forked workers inherit the marker).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let left = processes_with(&marker);
    assert!(left.is_empty(), "left running: {left:?}");
}

const REFUSING: &[(&str, &str)] = &[
    (
        "entry.py",
        "import middle\n\nclass Site:\n    def __init__(self):\n        self.pages = [middle.Page(n) for n in range(4)]\n\ndef load(root):\n    return Site()\n\ndef render(page):\n    return '<p>%d</p>' % page.n\n",
    ),
    (
        "middle.py",
        "import tracemalloc\n\nclass Page:\n    def __init__(self, n):\n        self.n = n\n        self.source_path = 'm%d.md' % n\n",
    ),
];

#[test]
fn the_chain_to_a_refusing_module_of_the_project() {
    if !has_subinterpreters() {
        return skip(&format!(
            "sub-interpreters need Python 3.13+ (the test Python is {})",
            installed().python
        ));
    }
    let tmp = TempDir::new("scale-chain");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    for (name, text) in REFUSING {
        std::fs::write(project.join(name), text).unwrap();
    }
    let out = tmp.path().join("out");
    let o = scale(
        &project,
        &out,
        &[
            "--loader",
            "entry:load",
            "--workers",
            "1",
            "--strategies",
            "thread,subinterpreter",
        ],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let r = read_results(&out);
    let blocked = r["scale"]["blocked"].as_array().unwrap();
    let entry = blocked
        .iter()
        .find(|b| b["module"] == "entry")
        .expect("entry blocked");
    assert_eq!(
        entry["chain"],
        serde_json::json!(["entry", "middle", "tracemalloc", "_tracemalloc"])
    );
    assert!(
        entry["hint"]
            .as_str()
            .unwrap()
            .starts_with("middle imports tracemalloc"),
        "{entry}"
    );
    assert!(
        stdout(&o).contains("entry → middle → tracemalloc → _tracemalloc"),
        "{}",
        stdout(&o)
    );
}

/// The Python side lists the strategies, workloads and transports once each; they are the
/// names of the Rust enums (and of `--strategies`' values), in the same order.
#[test]
fn python_and_rust_name_the_same_kinds() {
    use clap::ValueEnum;
    use picklecost::model::TransportKind;
    use picklecost::model::scale::{Strategy, WhatIf, Workload};

    let out = Command::new(python())
        .args([
            "-B",
            "-c",
            "import json, sys; sys.path.insert(0, sys.argv[1]); from picklecost import scale, transports; \
             print(json.dumps({'strategies': scale.STRATEGIES, 'workloads': scale.WORKLOADS, 'what_ifs': scale.WHAT_IFS, \
             'transports': transports.TRANSPORTS, 'available': sorted(transports.availability())}))",
            root().join("src/python/py").to_str().unwrap(),
        ])
        .output()
        .expect("running the test Python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = |key: &str| -> Vec<String> { serde_json::from_value(names[key].clone()).unwrap() };

    let strategies: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(listed("strategies"), strategies);
    let values: Vec<String> = Strategy::value_variants()
        .iter()
        .map(|s| s.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(values, strategies);
    for s in Strategy::ALL {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    let workloads: Vec<&str> = Workload::ALL.iter().map(|w| w.as_str()).collect();
    assert_eq!(listed("workloads"), workloads);
    let what_ifs: Vec<&str> = WhatIf::ALL.iter().map(|w| w.as_str()).collect();
    assert_eq!(listed("what_ifs"), what_ifs);
    let values: Vec<String> = WhatIf::value_variants()
        .iter()
        .map(|w| w.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(values, what_ifs);

    // Every TransportKind (a new variant fails to compile here until it is listed).
    let every = |kind: TransportKind| match kind {
        TransportKind::Thread
        | TransportKind::Subinterpreter
        | TransportKind::SubinterpreterLegacy
        | TransportKind::Process
        | TransportKind::Forkserver
        | TransportKind::Fork => kind.name(),
    };
    let transports: Vec<&str> = [
        TransportKind::Thread,
        TransportKind::Subinterpreter,
        TransportKind::SubinterpreterLegacy,
        TransportKind::Process,
        TransportKind::Forkserver,
        TransportKind::Fork,
    ]
    .map(every)
    .to_vec();
    assert_eq!(listed("transports"), transports);
    // availability() speaks of every transport but the legacy sub-interpreters (the isolated
    // ones' other config).
    let mut available = transports.clone();
    available.retain(|t| *t != "subinterpreter-legacy");
    available.sort();
    assert_eq!(listed("available"), available);
}

#[test]
fn the_scale_limit_and_the_memory_are_reported_and_the_run_finishes() {
    let site = tiny_blog();
    let tmp = TempDir::new("scale-limits");
    // 1 MiB fits no render worker holding a copy of the site: sub-interpreter and process
    // render runs are not run, threads and forks are.
    let out = tmp.path().join("memory");
    let o = scale(
        &site,
        &out,
        &[
            "--pages",
            "3",
            "--workers",
            "1,2",
            "--strategies",
            "thread,process",
            "--memory-limit",
            "1M",
        ],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let r = read_results(&out);
    let w = &r["scale"]["worker_memory"];
    assert_eq!(
        (w["asked"].as_u64(), w["started"].as_u64()),
        (Some(2), Some(0)),
        "{w}"
    );
    assert_eq!(w["available"], 1 << 20);
    // (Where the Site does not pickle at all, Bengal 0.5, that comes first and is the reason.)
    for row in runs(&r, "render", "process") {
        assert_eq!(row["available"], false, "{row}");
        let reason = row["reason"].as_str().unwrap();
        assert!(
            reason.contains("would not fit the memory")
                || reason.starts_with("payload not shippable: the site does not pickle"),
            "{row}"
        );
    }
    for row in runs(&r, "render", "thread") {
        assert_eq!(row["available"], true, "{row}");
    }
    // The markdown workload ships page sources, not the site: its process runs are made.
    assert!(
        runs(&r, "markdown", "process")
            .iter()
            .all(|row| row["available"] == true)
    );
    let limit = &r["scale"]["limit"];
    assert_eq!(limit["cut"], false);
    assert_eq!(
        (limit["done"].as_u64(), limit["planned"].as_u64()),
        (Some(8), Some(8))
    );
    assert!(
        stdout(&o).contains("2 workers asked, 0 started"),
        "{}",
        stdout(&o)
    );

    // A limit that has passed before the first run: nothing is run, the run still finishes.
    let out = tmp.path().join("limit");
    let o = scale(
        &site,
        &out,
        &[
            "--pages",
            "3",
            "--workers",
            "1",
            "--strategies",
            "thread",
            "--scale-limit",
            "0.000001",
        ],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert_no_staging_left(&out);
    let r = read_results(&out);
    let limit = &r["scale"]["limit"];
    assert_eq!(limit["cut"], true, "{limit}");
    assert_eq!(
        (limit["done"].as_u64(), limit["planned"].as_u64()),
        (Some(0), Some(2))
    );
    for row in r["scale"]["runs"].as_array().unwrap() {
        let reason = row["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("not run: the time limit (--scale-limit) had passed"),
            "{row}"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("Time limit, scale runs: 0 of 2 runs made"),
        "{report}"
    );
    assert!(
        stdout(&o).contains("cut by its 0.000001 s limit (--scale-limit)"),
        "{}",
        stdout(&o)
    );
}
