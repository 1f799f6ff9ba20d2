//! Every module that keeps rendering out of isolated sub-interpreters, on a project of the tests'
//! own with two refusing modules: `middle` imports tracemalloc (whose `_tracemalloc` refuses
//! isolated sub-interpreters), and `other` refuses them itself, as a single-phase-init extension
//! does. `entry` imports `middle` first, so `other` is only found once tracemalloc is stubbed.
use crate::scale::scale;
use crate::util::*;
use std::path::{Path, PathBuf};

/// How often `middle` calls `tracemalloc.is_tracing()` while it is imported.
const IS_TRACING_CALLS: u64 = 3;

const TWO_REFUSALS: &[(&str, &str)] = &[
    (
        "entry.py",
        "import middle\nimport other\n\nclass Site:\n    def __init__(self):\n        self.pages = [middle.Page(n) for n in range(4)]\n\ndef load(root):\n    return Site()\n\ndef render(page):\n    extra = other.flavour(page.n) if page.n == 2 else ''\n    return '<p>%d</p>\\n<p>%s</p>\\n' % (page.n, extra)\n",
    ),
    (
        "middle.py",
        "import tracemalloc\n\nfor _ in range(3):\n    tracemalloc.is_tracing()\n\nclass Page:\n    def __init__(self, n):\n        self.n = n\n        self.source_path = 'm%d.md' % n\n",
    ),
    (
        "other.py",
        "def _main_interpreter():\n    try:\n        import _interpreters\n    except ImportError:\n        return True\n    return _interpreters.get_current()[0] == _interpreters.get_main()[0]\n\nif not _main_interpreter():\n    raise ImportError('module other does not support loading in subinterpreters')\n\ndef flavour(n):\n    return 'flavour %d' % n\n",
    ),
];

/// The project in `tmp`/project.
fn two_refusals(tmp: &TempDir) -> PathBuf {
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    for (name, text) in TWO_REFUSALS {
        std::fs::write(project.join(name), text).unwrap();
    }
    project
}

fn no_subinterpreters() -> bool {
    if has_subinterpreters() {
        return false;
    }
    skip(&format!(
        "sub-interpreters need Python 3.13+ (the test Python is {})",
        installed().python
    ));
    true
}

/// `scale --what-if stubs` on `project` at W = 1, 2 through `strategies`; it must succeed.
fn scale_what_if(project: &Path, out: &Path, strategies: &str) -> (std::process::Output, serde_json::Value) {
    let o = scale(
        project,
        out,
        &[
            "--loader",
            "entry:load",
            "--workers",
            "1,2",
            "--strategies",
            strategies,
            "--what-if",
            "stubs",
        ],
        &[],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let r = read_results(out);
    (o, r)
}

/// A what-if render row that ran: no failure, its speed-up the sequential time over its own,
/// the 4 pages rendered and m2.md (which asks the stubbed `other`) the one that differs.
fn assert_ran_with_one_page_different(row: &serde_json::Value) {
    assert_eq!(row["available"], true, "{row}");
    assert_eq!(row["failures"], serde_json::json!([]), "{row}");
    let wall = row["wall_seconds"].as_f64().unwrap();
    let base = row["sequential_seconds"].as_f64().unwrap();
    assert!(wall > 0.0 && base > 0.0, "{row}");
    assert!(
        (row["speedup"].as_f64().unwrap() - base / wall).abs() < 1e-9,
        "{row}"
    );
    assert_eq!(row["pages"], 4, "{row}");
    assert_eq!(row["different_pages"], 1, "{row}");
}

/// The run's equivalence: 3 of the 4 pages identical, m2.md the one that differs.
fn assert_three_of_four_identical(scale: &serde_json::Value) {
    let e = &scale["equivalence"];
    assert_eq!(
        (e["pages"].as_u64(), e["identical"].as_u64()),
        (Some(4), Some(3)),
        "{e}"
    );
    assert_eq!(e["different"][0]["page"], "m2.md", "{e}");
}

/// The two blockers of `entry`, in the order they were found, with the stub made for each and
/// what `middle` asked of the tracemalloc stub.
fn assert_both_blockers(entry: &serde_json::Value) {
    assert_eq!(
        entry["chain"],
        serde_json::json!(["entry", "middle", "tracemalloc", "_tracemalloc"]),
        "{entry}"
    );
    let blockers = entry["blockers"].as_array().expect("blockers");
    assert_eq!(blockers.len(), 2, "{entry}");
    assert_eq!(blockers[0]["module"], "_tracemalloc");
    assert_eq!(blockers[0]["stub"], "tracemalloc");
    assert_eq!(blockers[0]["chain"], entry["chain"]);
    // `other` is only reached once tracemalloc no longer stops the import.
    assert_eq!(blockers[1]["module"], "other");
    assert_eq!(blockers[1]["chain"], serde_json::json!(["entry", "other"]));
    assert_eq!(blockers[1]["stub"], "other");
    assert!(
        blockers[1]["error"]
            .as_str()
            .unwrap()
            .contains("module other does not support loading in subinterpreters"),
        "{entry}"
    );
    assert_eq!(entry["stubs"], serde_json::json!(["tracemalloc", "other"]));
    assert_eq!(entry["loads_with_stubs"], true);
    let uses = entry["stub_uses"].as_array().unwrap();
    assert_eq!(
        uses,
        &vec![
            serde_json::json!({"name": "tracemalloc.is_tracing", "gets": IS_TRACING_CALLS, "calls": IS_TRACING_CALLS})
        ],
        "{entry}"
    );
}

fn read(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name)).unwrap()
}

#[test]
fn scale_reports_every_blocker_and_stubs_nothing_it_measures() {
    if no_subinterpreters() {
        return;
    }
    let tmp = TempDir::new("subinterp-blockers");
    let project = two_refusals(&tmp);
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
    assert_both_blockers(entry);
    // Without --what-if, the sub-interpreter rows are not run: nothing is stubbed.
    for row in r["scale"]["runs"].as_array().unwrap() {
        if row["strategy"] == "subinterpreter" && row["workload"] == "render" {
            assert_eq!(row["available"], false, "{row}");
            assert!(row["wall_seconds"].is_null(), "{row}");
        }
    }
    let text = stdout(&o);
    assert!(
        text.contains("every blocker: _tracemalloc via entry → middle → tracemalloc → _tracemalloc (stub: tracemalloc); other via entry → other (stub: other)"),
        "{text}"
    );
    assert!(
        text.contains(
            "loads with 2 stubs (tracemalloc, other); stub uses: tracemalloc.is_tracing (read 3×, called 3×)"
        ),
        "{text}"
    );
    let md = read(&out, "report.md");
    assert!(
        md.contains("| entry (render) | no | _tracemalloc via entry → middle → tracemalloc → _tracemalloc (stub: tracemalloc); other via entry → other (stub: other) | loads with 2 stubs (tracemalloc, other) | tracemalloc.is_tracing (read 3×, called 3×) |"),
        "{md}"
    );
}

#[test]
fn analyze_reports_every_blocker_of_the_render_entry_point() {
    if no_subinterpreters() {
        return;
    }
    let tmp = TempDir::new("subinterp-analyze");
    let project = two_refusals(&tmp);
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "entry:load",
            "--budget",
            "30",
            "--transport-budget",
            "4",
            "--no-check",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let r = read_results(&out);
    let entry = r["render_entry_points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["module"] == "entry")
        .expect("entry point checked");
    assert_eq!(entry["isolated_ok"], false);
    assert_both_blockers(entry);
    // The pages' own module (their pickles name middle.Page) is blocked by tracemalloc alone.
    let page = r["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["payload"] == "page" && i["module"] == "middle")
        .expect("middle checked");
    assert_eq!(page["isolated_ok"], false);
    assert_eq!(page["stubs"], serde_json::json!(["tracemalloc"]));
    assert_eq!(page["loads_with_stubs"], true);
    let text = stdout(&o);
    assert!(text.contains("sub-interpreter readiness"), "{text}");
    assert!(
        text.contains("entry (render, site): loads in an isolated sub-interpreter: no"),
        "{text}"
    );
    let md = read(&out, "report.md");
    assert!(
        md.contains("### Sub-interpreter readiness: every blocker"),
        "{md}"
    );
    assert!(md.contains("| middle (page) | no | _tracemalloc via middle → tracemalloc → _tracemalloc (stub: tracemalloc) | loads with 1 stub (tracemalloc) | tracemalloc.is_tracing (read 3×, called 3×) |"), "{md}");
}

/// `--what-if stubs`: the sub-interpreter rows run with both modules stubbed, say so in every
/// row, line and chart, count what the pages asked of the stubs, and the page whose HTML
/// depends on the stubbed `other` is reported as different.
#[test]
fn what_if_stubs_renders_in_subinterpreters_and_names_the_page_that_differs() {
    if no_subinterpreters() {
        return;
    }
    let tmp = TempDir::new("subinterp-what-if");
    let project = two_refusals(&tmp);
    let out = tmp.path().join("out");
    let (o, r) = scale_what_if(&project, &out, "thread,subinterpreter");
    let s = &r["scale"];
    let stubbed = serde_json::json!(["tracemalloc", "other"]);
    assert_eq!(s["what_if"], stubbed);
    let pages = s["pages"].as_u64().unwrap();
    assert_eq!(pages, 4);
    let mut seen = 0;
    for row in s["runs"].as_array().unwrap() {
        let what_if_row = row["strategy"] == "subinterpreter" && row["workload"] == "render";
        if !what_if_row {
            // Every other row ran the real modules.
            assert_eq!(row["what_if"], serde_json::json!([]), "{row}");
            continue;
        }
        seen += 1;
        let w = row["workers"].as_u64().unwrap();
        assert_eq!(row["what_if"], stubbed, "{row}");
        assert_ran_with_one_page_different(row);
        // Each worker imports middle (is_tracing x3); page 2 alone calls other.flavour.
        assert_eq!(
            row["stub_uses"],
            serde_json::json!([
                {"name": "other.flavour", "gets": 1, "calls": 1},
                {"name": "tracemalloc.is_tracing", "gets": IS_TRACING_CALLS * w, "calls": IS_TRACING_CALLS * w},
            ]),
            "{row}"
        );
    }
    assert_eq!(seen, 2);
    assert_three_of_four_identical(s);
    let e = &s["equivalence"];
    assert_eq!(
        e["different"],
        serde_json::json!([{"page": "m2.md", "line": 2, "main": "<p>flavour 2</p>", "what_if": "<p></p>", "main_varies": false}])
    );
    let tag = "subinterpreter (what-if: tracemalloc, other stubbed)";
    let text = stdout(&o);
    assert_eq!(
        text.matches(tag).count(),
        5,
        "two rows, their two lines of stub uses and the answer: {text}"
    );
    assert!(
        text.contains("what-if: 1 of 4 pages differ from the main interpreter's"),
        "{text}"
    );
    assert!(text.contains("m2.md differs at line 2"), "{text}");
    let answer = s["answer"].as_str().unwrap();
    assert!(
        answer.contains("Sub-interpreters (what-if: tracemalloc, other stubbed): ")
            && answer.contains("it took 2 stubs (tracemalloc, other;")
            && answer.contains(
                "3 of 4 pages came out identical to the main interpreter's (1 differs, first m2.md at line 2)"
            ),
        "{answer}"
    );
    let md = read(&out, "report.md");
    assert_eq!(md.matches(&format!("| {tag} |")).count(), 2, "{md}");
    assert!(md.contains("## What-if: tracemalloc, other stubbed"), "{md}");
    assert!(
        md.contains("| `m2.md` | 2 | `<p>flavour 2</p>` | `<p></p>` | no |"),
        "{md}"
    );
    for chart in ["charts/scale-speedup-render.svg", "charts/scale-time-render.svg"] {
        assert!(
            read(&out, chart).contains("what-if: tracemalloc, other stubbed"),
            "{chart}"
        );
    }
}

/// Where the Site does not pickle (a lock in it), the what-if's workers load the site
/// themselves, stubs installed, and say so; their pages are compared all the same.
#[test]
fn what_if_stubs_on_a_site_that_does_not_pickle_loads_it_in_each_worker() {
    if no_subinterpreters() {
        return;
    }
    let tmp = TempDir::new("subinterp-reload");
    let project = two_refusals(&tmp);
    let entry = std::fs::read_to_string(project.join("entry.py")).unwrap();
    let locked = entry.replace(
        "    def __init__(self):\n",
        "    def __init__(self):\n        import threading\n        self.lock = threading.Lock()\n",
    );
    assert_ne!(entry, locked);
    std::fs::write(project.join("entry.py"), locked).unwrap();
    let out = tmp.path().join("out");
    let (o, r) = scale_what_if(&project, &out, "process,subinterpreter");
    let s = &r["scale"];
    let mut seen = 0;
    for row in s["runs"].as_array().unwrap() {
        if row["workload"] != "render" {
            continue;
        }
        if row["strategy"] == "process" {
            // Processes get the site pickled: it does not pickle, and no what-if changes that.
            assert_eq!(row["available"], false, "{row}");
            assert_eq!(row["reload"], false, "{row}");
            continue;
        }
        seen += 1;
        assert_eq!(row["reload"], true, "{row}");
        assert_ran_with_one_page_different(row);
    }
    assert_eq!(seen, 2);
    assert_three_of_four_identical(s);
    let text = stdout(&o);
    assert!(
        text.contains("subinterpreter (what-if: tracemalloc, other stubbed) (each worker loads the site)"),
        "{text}"
    );
}

/// `interpreter-pool`: the same what-if through `concurrent.futures.InterpreterPoolExecutor`
/// (3.14+), stubs installed by the pool's initializer, its pages compared like the raw
/// sub-interpreters'; before 3.14 its rows are unavailable, and say why.
#[test]
fn what_if_stubs_renders_through_the_interpreter_pool_executor_where_it_exists() {
    if no_subinterpreters() {
        return;
    }
    let tmp = TempDir::new("subinterp-pool");
    let project = two_refusals(&tmp);
    let out = tmp.path().join("out");
    let (o, r) = scale_what_if(&project, &out, "interpreter-pool");
    let s = &r["scale"];
    let pool = python_version() >= (3, 14);
    let stubbed = serde_json::json!(["tracemalloc", "other"]);
    let rows: Vec<&serde_json::Value> = s["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["workload"] == "render")
        .collect();
    assert_eq!(rows.len(), 2, "{s}");
    for row in rows {
        assert_eq!(row["strategy"], "interpreter-pool", "{row}");
        if !pool {
            assert_eq!(row["available"], false, "{row}");
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("needs Python 3.14's concurrent.futures.InterpreterPoolExecutor"),
                "{row}"
            );
            continue;
        }
        let w = row["workers"].as_u64().unwrap();
        assert_eq!(row["what_if"], stubbed, "{row}");
        assert_ran_with_one_page_different(row);
        // middle is imported once per worker interpreter: the executor may hand both chunks
        // to one interpreter that was ready first.
        let uses = row["stub_uses"].as_array().unwrap();
        assert_eq!(uses.len(), 2, "{row}");
        assert_eq!(
            uses[0],
            serde_json::json!({"name": "other.flavour", "gets": 1, "calls": 1})
        );
        assert_eq!(uses[1]["name"], "tracemalloc.is_tracing", "{row}");
        let calls = uses[1]["calls"].as_u64().unwrap();
        assert!(
            calls % IS_TRACING_CALLS == 0 && (IS_TRACING_CALLS..=IS_TRACING_CALLS * w).contains(&calls),
            "{row}"
        );
    }
    let text = stdout(&o);
    if !pool {
        assert!(
            text.contains("needs Python 3.14's concurrent.futures.InterpreterPoolExecutor"),
            "{text}"
        );
        return;
    }
    assert_three_of_four_identical(s);
    let tag = "interpreter-pool (InterpreterPoolExecutor) (what-if: tracemalloc, other stubbed)";
    assert!(text.matches(tag).count() >= 2, "{text}");
    let md = read(&out, "report.md");
    assert_eq!(md.matches(&format!("| {tag} |")).count(), 2, "{md}");
}
