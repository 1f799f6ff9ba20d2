//! The `forkserver` transport and `scale` strategy (workers forked by multiprocessing's
//! forkserver, the default start method from Python 3.14 on Linux), and the start method the
//! user's Python gives `ProcessPoolExecutor()`: recorded in results.json, said in the summary and
//! the report with the rows that start workers that way. No process of a run is left behind.
use crate::util::*;
use std::path::Path;

/// What `multiprocessing.get_start_method()` says in the test venv's Python, run as a user
/// would run it.
fn venv_start_method() -> String {
    let out = std::process::Command::new(python())
        .args([
            "-B",
            "-c",
            "import multiprocessing; print(multiprocessing.get_start_method())",
        ])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("running the test Python");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// Whether the test Python has the forkserver start method (POSIX with fd passing).
fn has_forkserver() -> bool {
    let out = std::process::Command::new(python())
        .args([
            "-B",
            "-c",
            "import multiprocessing; print('forkserver' in multiprocessing.get_all_start_methods())",
        ])
        .output()
        .expect("running the test Python");
    stdout(&out).trim() == "True"
}

/// The first row of `rows` (an array of results.json objects) that `pick` accepts.
fn row(rows: &serde_json::Value, pick: impl Fn(&serde_json::Value) -> bool) -> &serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| pick(r))
        .unwrap_or_else(|| panic!("no such row in {rows}"))
}

/// The start-method line the summary and the report carry, for `method` measured by `row`.
fn start_line(method: &str, row: &str, measured: bool) -> String {
    let which = if measured {
        format!("measured: the {row} rows")
    } else {
        format!("the {row} rows, not measured in this run")
    };
    format!("This Python's ProcessPoolExecutor() starts workers with {method} ({which}).")
}

/// The transport or strategy row of a start method, by the names results.json uses.
fn row_of(method: &str) -> &str {
    match method {
        "spawn" => "process",
        other => other,
    }
}

/// The tool run with `args` in `scratch`: it must succeed and leave no process and no scratch
/// behind; its output and the results it wrote to `out`.
fn run(args: &[&str], scratch: &Path, out: &Path) -> (std::process::Output, serde_json::Value) {
    let python = python();
    let mut all = args.to_vec();
    all.extend(["--python", python.to_str().unwrap(), "-q"]);
    let done = run_isolated(&all, scratch);
    let o = &done.output;
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    assert_no_process_left(&done.marker);
    assert_no_scratch_left(&done, scratch);
    let r = read_results(out);
    (done.output, r)
}

#[test]
fn analyze_measures_the_forkserver_transport_and_names_the_default_start_method() {
    if !has_forkserver() {
        return skip("the test Python has no forkserver start method");
    }
    let tmp = TempDir::new("forkserver-analyze");
    let out = tmp.path().join("out");
    let site = tiny_blog();
    let scratch = tmp.path().join("tmp");
    let (o, r) = run(
        &[
            "analyze",
            site.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-diagnose",
            "--workers",
            "2",
        ],
        &scratch,
        &out,
    );
    let method = venv_start_method();
    assert_eq!(r["python"]["default_start_method"], method.as_str());
    assert_eq!(r["transport_availability"]["forkserver"]["available"], true);

    // Every payload that pickles went through forkserver workers: real round trips, and each
    // worker's start-up (the first one's includes starting the server) and imports timed. A
    // payload that does not pickle here (Bengal 0.5's Site) is refused by both kinds of process
    // worker for the same reason.
    let transports = &r["transports"];
    let mut shipped = Vec::new();
    for payload in ["site", "page", "page_subset"] {
        let cell = row(transports, |t| {
            t["name"] == "forkserver" && t["payload"] == payload
        });
        let process = row(transports, |t| t["name"] == "process" && t["payload"] == payload);
        if process["available"] == false {
            assert_eq!(cell["available"], false, "{cell}");
            assert_eq!(cell["reason"], process["reason"], "{cell}\n{process}");
            continue;
        }
        shipped.push(payload);
        assert_eq!(cell["available"], true, "{cell}");
        assert!(cell["roundtrip_ns"]["samples"].as_u64().unwrap() >= 3, "{cell}");
        assert!(cell["roundtrip_ns"]["p50"].as_u64().unwrap() > 0, "{cell}");
        let setup = &cell["setup"];
        assert_eq!(setup["create"].as_array().unwrap().len(), 2, "{cell}");
        assert_eq!(setup["import"].as_array().unwrap().len(), 2, "{cell}");
        assert!(
            setup["create"]
                .as_array()
                .unwrap()
                .iter()
                .all(|ns| ns.as_u64().unwrap() > 0)
        );
    }
    // The per-page payloads pickle with every supported Bengal.
    assert!(shipped.contains(&"page_subset"), "{transports}");
    // The rendered pages sent back through the forkserver workers are the ones every transport
    // sends: the same pickled sizes, len(pickle.dumps(html, 5)) of each.
    let backs = &r["results_back"];
    let forkserver_back = row(backs, |b| b["transport"] == "forkserver");
    assert_eq!(forkserver_back["available"], true, "{forkserver_back}");
    assert!(forkserver_back["roundtrip_ns"]["samples"].as_u64().unwrap() > 0);
    for other in ["thread", "process", "fork"] {
        let b = row(backs, |b| b["transport"] == other);
        assert_eq!(b["result_bytes"], forkserver_back["result_bytes"], "{other}");
    }
    // Its verdict rows are classed like the spawned process rows: one per payload, with a share
    // of the render cost, and the per-page ones with the site-wide data a worker needs.
    let verdicts = &r["verdicts"];
    for payload in shipped {
        let v = row(verdicts, |v| {
            v["transport"] == "forkserver" && v["payload"] == payload
        });
        let p = row(verdicts, |v| {
            v["transport"] == "process" && v["payload"] == payload
        });
        assert!(v["transfer_share"].as_f64().unwrap() > 0.0, "{v}");
        assert!(v["setup_share"].as_f64().unwrap() > 0.0, "{v}");
        assert_eq!(v["strategy"], p["strategy"], "{v}");
        assert!(
            ["practical", "marginal", "impractical"].contains(&v["class"].as_str().unwrap()),
            "{v}"
        );
        assert_eq!(v["site_data"].is_null(), payload == "site", "{v}");
    }
    // The default start method is said with the rows that start workers that way.
    let line = start_line(&method, row_of(&method), true);
    let said: String = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains(&line), "{said}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains(&line), "{md}");
    assert!(md.contains("| forkserver | `page_subset` |"), "{md}");
}

#[test]
fn scale_renders_the_pages_through_forkserver_workers() {
    if !has_forkserver() {
        return skip("the test Python has no forkserver start method");
    }
    let tmp = TempDir::new("forkserver-scale");
    let out = tmp.path().join("out");
    let site = tiny_blog();
    let scratch = tmp.path().join("tmp");
    let (o, r) = run(
        &[
            "scale",
            site.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--pages",
            "4",
            "--workers",
            "1,2",
            "--strategies",
            "forkserver",
        ],
        &scratch,
        &out,
    );
    let method = venv_start_method();
    assert_eq!(r["python"]["default_start_method"], method.as_str());
    let s = &r["scale"];
    assert_eq!(s["strategies"], serde_json::json!(["forkserver"]));
    let runs: Vec<&serde_json::Value> = s["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["strategy"] == "forkserver")
        .collect();
    // render and markdown at W = 1 and 2.
    assert_eq!(runs.len(), 4, "{s}");
    for run in &runs {
        let markdown = run["workload"] == "markdown";
        let rendered = run["available"] == true;
        // At Bengal 0.5 the Site does not pickle: a forkserver worker cannot get it, and says why.
        if !rendered {
            assert!(!markdown && installed().modern_bengal, "{run}");
            assert!(run["reason"].as_str().unwrap().contains("pickle"), "{run}");
            continue;
        }
        assert!(run["failures"].as_array().unwrap().is_empty(), "{run}");
        assert_eq!(run["pages"], 4, "{run}");
        assert!(run["speedup"].as_f64().unwrap() > 0.0, "{run}");
        assert!(run["startup_seconds"].as_f64().unwrap() > 0.0, "{run}");
        assert!(run["result_bytes"].as_u64().unwrap() > 0, "{run}");
        // Not forked from the loaded site: the payload was pickled to each worker.
        assert!(run["payload_bytes"].as_u64().unwrap() > 0, "{run}");
        assert_eq!(run["memory_kind"], "peak_rss", "{run}");
    }
    if !installed().modern_bengal {
        assert!(runs.iter().all(|x| x["available"] == true), "{s}");
    }
    let measured = method == "forkserver";
    let line = start_line(&method, row_of(&method), measured);
    let said: String = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains(&line), "{said}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains(&line), "{md}");
}
