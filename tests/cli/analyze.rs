//! A Bengal site analysed at both stages: real values, an untouched site directory. The test
//! bodies take the site and its magnitudes; the tests here run them on samples/tiny-blog, and
//! `shared::` runs them on the real Bengal showcase too.
use crate::util::*;
use std::path::Path;

/// What a Bengal site is expected to show. The assertions are the same on every site; only the
/// magnitudes are the site's own.
pub struct BengalSite {
    /// Pages Bengal discovers (before a build).
    pub pages: u64,
    /// Discovered stage: `page._site` drags more than this many bytes of the Site along.
    pub min_site_drag_bytes: u64,
    /// Discovered stage: the suggested payload's median is more than this many times smaller
    /// than a full Page's.
    pub suggested_shrink: u64,
    /// Rendered stage: the Site pickles to more than this many bytes.
    pub rendered_min_site_bytes: u64,
    /// Rendered stage: the largest default page subset (it carries metadata) is above this.
    pub rendered_min_subset_max_bytes: u64,
    /// Rendered stage: the suggested payload's median and largest size stay below these.
    pub rendered_max_suggested_median_bytes: u64,
    pub rendered_max_suggested_max_bytes: u64,
}

/// samples/tiny-blog (Bengal 0.1.2): 16 pages discovered, 35 after a build. A Page drags the
/// ~15 KB Site through `page._site`; after a build the default subset drags ~500 KB of live
/// Pages through `metadata['_posts']` and `metadata['_paginator']`.
pub const TINY_BLOG: BengalSite = BengalSite {
    pages: 16,
    min_site_drag_bytes: 10_000,
    suggested_shrink: 10,
    rendered_min_site_bytes: 400_000,
    rendered_min_subset_max_bytes: 400_000,
    rendered_max_suggested_median_bytes: 50_000,
    rendered_max_suggested_max_bytes: 100_000,
};

#[test]
fn discovered_stage_reports_real_pickle_sizes() {
    discovered_stage(&tiny_blog(), &TINY_BLOG);
}

#[test]
fn rendered_stage_builds_a_copy_and_leaves_the_site_byte_identical() {
    rendered_stage(&tiny_blog(), &TINY_BLOG);
}

#[test]
fn sample_site_with_protocol_2_and_chosen_fields() {
    let site = tiny_blog();
    let before = snapshot(&site);
    let tmp = TempDir::new("tiny");
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &[
            "--protocol",
            "2",
            "--fields",
            "source_path,metadata",
            "--iterations",
            "3",
            "--sample",
            "4",
            "--gc",
            "on",
            "--budget",
            "30",
            "--no-transports",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let truth = independent_sizes(&site, 2, "source_path,metadata", None);
    assert_eq!(r["site"]["pages"], truth["pages"]);
    assert_eq!(r["settings"]["protocol"], 2);
    assert_eq!(r["settings"]["gc"], "on");
    assert_eq!(
        r["settings"]["fields"],
        serde_json::json!(["source_path", "metadata"])
    );
    assert_size_or_error(payload(&r, "site"), &truth["site"]);
    let pages = truth["pages"].as_u64().unwrap();
    for name in ["page", "page_subset"] {
        let p = payload(&r, name);
        if truth[name][0].is_string() {
            // Bengal 0.5: a Page does not pickle; each one fails as the independent dump did.
            assert_eq!(p["failures_count"], pages, "{name}");
            assert_size_or_error(p, &truth[name][0]);
            continue;
        }
        let got = reported_sizes(p);
        assert_eq!(got, sorted_u64(&truth[name]), "{name}");
        // --sample 4 pages get 3 dumps+loads rounds each; every other page one timed dumps
        assert_eq!(p["roundtrip_ns"]["samples"].as_u64().unwrap(), 4 * 3, "{name}");
        assert_eq!(p["loads_ns"]["samples"].as_u64().unwrap(), 4 * 3, "{name}");
        assert_eq!(
            p["dumps_ns"]["samples"].as_u64().unwrap(),
            pages - 4 + 4 * 3,
            "{name}"
        );
        assert_eq!(p["plan"]["timed"], 4);
        assert_eq!(p["iterations"], 3);
    }
    if payload(&r, "site")["picklable"] == true {
        assert_eq!(payload(&r, "site")["roundtrip_ns"]["samples"], 3);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("enabled (`--gc on`)"));
    assert!(
        md.contains("--protocol 2"),
        "the exact command line is in the report"
    );
    assert_eq!(before, snapshot(&site));
}

#[test]
fn no_diagnose_skips_the_explanations() {
    let tmp = TempDir::new("nodiag");
    let out = tmp.path().join("out");
    let o = analyze(
        &tiny_blog(),
        &out,
        &["--no-diagnose", "--budget", "30", "--no-transports"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    assert!(r["timing"]["phases"]["diagnose"].is_null());
    assert!(r["suggestion"].is_null());
    // site, page, page_subset, and Bengal 0.5's own PageView
    let own = usize::from(installed().modern_bengal);
    assert_eq!(r["payloads"].as_array().unwrap().len(), 3 + own);
    assert!(payload(&r, "page")["attribution"].is_null());
}

#[test]
fn exclude_keys_shape_the_subset() {
    let tmp = TempDir::new("exclude");
    let out = tmp.path().join("out");
    let site = tiny_blog();
    let o = analyze(
        &site,
        &out,
        &[
            "--fields",
            "source_path,metadata",
            "--exclude-keys",
            "metadata:title,metadata:tags",
            "--no-diagnose",
            "--budget",
            "30",
            "--no-transports",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let with_all = independent_sizes(&site, 5, "source_path,metadata", None);
    let subset_total = payload(&r, "page_subset")["bytes"]["total"].as_u64().unwrap();
    let full_total: u64 = with_all["page_subset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        subset_total < full_total,
        "dropping keys must shrink the subset: {subset_total} vs {full_total}"
    );
    let o = analyze(
        &site,
        &out,
        &["--fields", "source_path", "--exclude-keys", "metadata:x"],
    );
    assert_one_error_line(
        &o,
        "--exclude-keys names \"metadata\", which is not one of --fields",
    );
}

pub fn discovered_stage(site: &Path, expect: &BengalSite) {
    if installed().modern_bengal {
        return crate::modern::discovered_stage(site, expect.pages);
    }
    let pages = expect.pages;
    let before = snapshot(site);
    let out = TempDir::new("discovered");
    let report = out.path().join("report");
    let o = analyze(site, &report, &["--budget", "30"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    // No progress bars when stderr is not a terminal, and none of Bengal's own chatter.
    assert_eq!(stderr(&o), "", "stderr must stay empty on success");
    let r = read_results(&report);
    let truth = independent_sizes(site, 5, "source_path,content,metadata,output_path", None);

    assert_eq!(r["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r["python"]["version"].as_str().unwrap()[..4], installed().python);
    assert_eq!(r["python"]["free_threaded"], false);
    assert_eq!(r["site"]["generator"], "bengal");
    assert_eq!(r["site"]["generator_version"], installed().bengal.as_str());
    assert_eq!(r["site"]["stage"], "discovered");
    assert_eq!(r["site"]["pages"], truth["pages"]);
    assert_eq!(r["site"]["pages"], pages);
    assert_eq!(r["settings"]["protocol"], 5);
    assert_eq!(r["settings"]["gc"], "off");

    assert_memory_reported(&r);
    let site_p = payload(&r, "site");
    assert_eq!(site_p["picklable"], true);
    assert!(site_p["repaired"].is_null() && site_p["root_causes"] == serde_json::json!([]));
    assert_eq!(site_p["error"], serde_json::Value::Null);
    assert_eq!(site_p["bytes"]["total"], truth["site"]);
    assert_eq!(site_p["count"], 1);

    for name in ["page", "page_subset"] {
        let p = payload(&r, name);
        assert_eq!(p["picklable"], true, "{name}");
        let reported: Vec<u64> = reported_sizes(p);
        let expected = sorted_u64(&truth[name]);
        assert_eq!(
            reported, expected,
            "{name}: every size equals len(pickle.dumps(obj, 5))"
        );
        assert_eq!(
            p["bytes"]["total"].as_u64().unwrap(),
            expected.iter().sum::<u64>()
        );
        assert_eq!(p["bytes"]["min"].as_u64().unwrap(), expected[0]);
        assert_eq!(p["bytes"]["max"].as_u64().unwrap(), *expected.last().unwrap());
        assert_eq!(
            p["bytes"]["median"].as_u64().unwrap(),
            expected[expected.len().div_ceil(2) - 1]
        );
        assert_eq!(p["count"], pages);
        for op in ["dumps_ns", "loads_ns", "roundtrip_ns"] {
            let s = &p[op];
            assert!(s["samples"].as_u64().unwrap() >= pages, "{name} {op}");
            let [min, p50, p99, max] = ["min", "p50", "p99", "max"].map(|k| s[k].as_u64().unwrap());
            assert!(min > 0);
            assert!(min <= p50 && p50 <= p99, "{name} {op}: {s}");
            assert!(p99 <= max, "{name} {op}: {s}");
        }
    }
    // One Page drags the whole Site: its pickle is within a few per cent of the Site's.
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let page_median = payload(&r, "page")["bytes"]["median"].as_f64().unwrap();
    let site_bytes = site_p["bytes"]["total"].as_f64().unwrap();
    assert!(page_median > 0.9 * site_bytes);
    assert_eq!(r["verdict"]["page_drags_site"], true);
    assert!(
        payload(&r, "page_subset")["bytes"]["median"].as_u64()
            < payload(&r, "page")["bytes"]["median"].as_u64()
    );

    // The import closure comes from the pickle streams: a Page needs Bengal's classes, a
    // discovered-stage subset none of them.
    let closure = |name: &str| -> Vec<String> {
        payload(&r, name)["import_closure"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        closure("page").contains(&"bengal.core.page.Page".to_string()),
        "{:?}",
        closure("page")
    );
    assert!(closure("site").contains(&"bengal.core.site.Site".to_string()));
    assert!(
        closure("page_subset").iter().all(|g| !g.starts_with("bengal.")),
        "{:?}",
        closure("page_subset")
    );
    assert_eq!(payload(&r, "page")["plain_data"], false);
    assert!(payload(&r, "page")["inspected"].as_u64().unwrap() >= 1);
    assert!(md.contains("## What a worker must be able to import"));

    // Explanations: the Page drags the Site through page._site; the bytes add up.
    let page = payload(&r, "page");
    let drag = page["drag"].as_array().unwrap();
    let site_drag = drag
        .iter()
        .find(|d| d["path"] == "page._site")
        .expect("page._site drag found");
    assert_eq!(site_drag["reaches"], "site");
    assert!(
        site_drag["bytes"].as_u64().unwrap() > expect.min_site_drag_bytes,
        "{site_drag}"
    );
    for name in ["site", "page", "page_subset"] {
        let a = &payload(&r, name)["attribution"];
        let total = a["total_bytes"].as_u64().unwrap();
        let by_type: u64 = a["by_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(
            by_type, total,
            "{name}: attribution by type adds up to the attributed stream"
        );
        assert!(a["top_paths"][0]["inclusive_bytes"].as_u64().unwrap() == total);
        // The attributed object is the median-sized one: its real pickle is the payload median.
        let median = payload(&r, name)["bytes"]["median"].as_u64().unwrap();
        assert!(
            (total as f64 - median as f64).abs() <= 0.01 * median as f64,
            "{name}: {total} vs {median}"
        );
        assert_eq!(a["pickle_bytes"].as_u64().unwrap(), median, "{name}");
    }
    assert_eq!(payload(&r, "site")["attribution"]["top_paths"][0]["path"], "site");
    let suggestion = &r["suggestion"];
    let fields: Vec<&str> = suggestion["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"content") && !fields.contains(&"_site") && !fields.contains(&"_section"),
        "{fields:?}"
    );
    let suggested = payload(&r, "page_suggested");
    assert_eq!(suggested["picklable"], true);
    assert_eq!(suggested["count"], pages);
    assert!(
        suggested["bytes"]["median"].as_u64().unwrap() * expect.suggested_shrink
            < page["bytes"]["median"].as_u64().unwrap()
    );
    assert_eq!(suggestion["measured_median_bytes"], suggested["bytes"]["median"]);
    assert!(t_phase(&r, "diagnose") > 0.0);
    assert!(report.join("charts/site-bytes-icicle.svg").is_file());
    assert!(
        md.contains("## Why") && md.contains("### What a Page drags along") && md.contains("`page._site`")
    );
    assert!(stdout(&o).contains("suggested payload: --fields "));
    crate::stream::assert_streams(&r, &md, &stdout(&o));

    // Transports: all four carry the Page subset; Bengal's own classes cannot enter an isolated
    // sub-interpreter (its logger imports tracemalloc), so a legacy one is measured instead.
    let transports = r["transports"].as_array().unwrap();
    let cell = |name: &str, payload: &str| {
        transports
            .iter()
            .find(|t| t["name"] == name && t["payload"] == payload)
            .unwrap_or_else(|| panic!("{name}/{payload} missing"))
    };
    for name in ["thread", "subinterpreter", "process", "forkserver"] {
        let c = cell(name, "page_subset");
        assert_eq!(c["available"], true, "{c}");
        assert!(c["roundtrip_ns"]["samples"].as_u64().unwrap() >= 3, "{c}");
        assert!(c["roundtrip_ns"]["p50"].as_u64().unwrap() > 0);
    }
    assert!(cell("process", "page_subset")["setup_ns"].as_u64().unwrap() > 0);
    assert!(cell("forkserver", "page_subset")["setup_ns"].as_u64().unwrap() > 0);
    let isolated_page = cell("subinterpreter", "page");
    assert_eq!(isolated_page["available"], false);
    assert!(
        isolated_page["reason"]
            .as_str()
            .unwrap()
            .contains("not shippable"),
        "{isolated_page}"
    );
    assert!(
        cell("subinterpreter-legacy", "page")["roundtrip_ns"]["samples"]
            .as_u64()
            .unwrap()
            >= 3
    );
    let import_row = r["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["payload"] == "page" && i["module"] == "bengal.core.page")
        .expect("bengal.core.page import checked");
    assert_eq!(import_row["isolated_ok"], false);
    assert_eq!(import_row["legacy_ok"], true);
    assert!(
        import_row["error"]
            .as_str()
            .unwrap()
            .contains("does not support loading in subinterpreters")
    );
    assert_eq!(r["render_ns"]["samples"], pages);
    assert!(r["render_ns"]["p50"].as_u64().unwrap() > 0);
    let verdicts = r["verdicts"].as_array().unwrap();
    let judged = ["subinterpreter", "process", "forkserver", "fork"];
    assert_eq!(
        verdicts.len(),
        r["payloads"].as_array().unwrap().len() * judged.len(),
        "one row per payload and transport that gives a worker its own interpreter"
    );
    let page_sub = verdicts
        .iter()
        .find(|v| v["payload"] == "page" && v["transport"] == "subinterpreter")
        .unwrap();
    assert_eq!(page_sub["class"], "impractical");
    assert!(page_sub["transfer_share"].is_null());
    // The renderer does not load in an isolated sub-interpreter (below): every payload that
    // ships there is blocked, and the answer never names that way.
    for v in verdicts
        .iter()
        .filter(|v| v["transport"] == "subinterpreter" && !v["transfer_share"].is_null())
    {
        assert_eq!(v["class"], "blocked", "{v}");
        assert!(
            v["why"]
                .as_str()
                .unwrap()
                .contains("cannot import the renderer `bengal"),
            "{v}"
        );
    }
    let answer = r["answer"].as_str().unwrap();
    assert!(!answer.contains("via subinterpreter:"), "{answer}");
    // The share is the measured round trip times the pages over the measured render time.
    let page_proc = verdicts
        .iter()
        .find(|v| v["payload"] == "page" && v["transport"] == "process")
        .unwrap();
    // Plus every page's rendered HTML sent back through the same transport, reported apart.
    let back = |name: &str| {
        r["results_back"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["transport"] == name)
            .unwrap_or_else(|| panic!("no result back for {name}: {}", r["results_back"]))
    };
    // A share of totals: each sampled cost's mean times the pages that pay it.
    let render_total = r["render"]["total_ns"].as_f64().unwrap();
    let render_mean = r["render_ns"]["mean"].as_f64().unwrap();
    // The total rests on every rendered page's own time; the histogram's mean agrees to its
    // precision (3 significant digits).
    assert!(
        (render_total / (render_mean * pages as f64) - 1.0).abs() < 2e-3,
        "{render_total} {render_mean}"
    );
    let out = cell("process", "page")["roundtrip_ns"]["mean"].as_f64().unwrap() * pages as f64;
    let returned = back("process")["roundtrip_ns"]["mean"].as_f64().unwrap().round() * pages as f64;
    let share = page_proc["transfer_share"].as_f64().unwrap();
    // A spawned worker also needs the site-wide data: the cheaper of the Site shipped once per
    // worker and the worker loading the site as this run did.
    let site_data = &page_proc["site_data"];
    let workers = page_proc["workers"].as_f64().unwrap();
    let load_ns = (r["site"]["load_seconds"].as_f64().unwrap() * 1e9).floor();
    let site_once = cell("process", "site")["roundtrip_ns"]["mean"].as_f64().unwrap();
    let (way, per_worker) = if site_once <= load_ns {
        ("site_once_per_worker", site_once)
    } else {
        ("worker_loads_site", load_ns)
    };
    assert_eq!(site_data["way"], way, "{page_proc}");
    let held = site_data["total_ns"].as_f64().unwrap();
    assert!(
        (held - per_worker * workers).abs() < 1.0 + 1e-6 * held,
        "{page_proc}"
    );
    assert!(
        (share - (out + returned + held) / render_total).abs() < 1e-9,
        "{page_proc}"
    );
    assert!((page_proc["result_share"].as_f64().unwrap() - returned / render_total).abs() < 1e-9);
    let total = out + returned + held;
    assert!((page_proc["transfer_total_ns"].as_f64().unwrap() - total).abs() < 1e-3 * total);
    let interval: Vec<f64> = page_proc["share_interval"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(interval[0] <= share && share <= interval[1], "{page_proc}");
    for name in [
        "thread",
        "subinterpreter",
        "subinterpreter-legacy",
        "process",
        "fork",
    ] {
        let b = back(name);
        assert_eq!(b["available"], true, "{b}");
        let sizes = sorted_u64(&b["result_bytes"]);
        assert_eq!(sizes.len() as u64, b["results"].as_u64().unwrap());
        // Rendered pages of the tiny blog: whole HTML documents, kilobytes each.
        assert!(sizes[0] > 1_000, "{b}");
        assert!(b["roundtrip_ns"]["samples"].as_u64().unwrap() >= 3, "{b}");
    }
    // Fork shares the objects: the full Page goes by index, set-up is fork + first touch.
    let fork_page = cell("fork", "page");
    assert_eq!(fork_page["available"], true, "{fork_page}");
    let setup = &fork_page["setup"];
    assert_eq!(setup["first_touch"].as_array().unwrap().len(), 2, "{setup}");
    assert!(
        setup["create"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.as_u64().unwrap() > 0)
    );
    let fork_verdict = verdicts
        .iter()
        .find(|v| v["payload"] == "page" && v["transport"] == "fork")
        .unwrap();
    // Its share is fork's measured hand-over plus the results back, over the render time, and its
    // class is the one that share falls in by the run's thresholds.
    let fork_share = fork_verdict["transfer_share"]
        .as_f64()
        .unwrap_or_else(|| panic!("fork has a page share: {fork_verdict}"));
    let fork_out = fork_page["roundtrip_ns"]["mean"].as_f64().unwrap() * pages as f64;
    let fork_back = back("fork")["roundtrip_ns"]["mean"].as_f64().unwrap().round() * pages as f64;
    assert!(
        (fork_share - (fork_out + fork_back) / render_total).abs() < 1e-9,
        "{fork_verdict}"
    );
    let thresholds = &r["thresholds"];
    let class = if fork_share <= thresholds["practical"].as_f64().unwrap() {
        "practical"
    } else if fork_share <= thresholds["marginal"].as_f64().unwrap() {
        "marginal"
    } else {
        "impractical"
    };
    // A real run of fork can only demote the class: the worse of the two.
    let order = ["practical", "marginal", "impractical"];
    let by_run = fork_verdict["measured_class"].as_str().unwrap_or("practical");
    let rank = |c: &str| order.iter().position(|o| *o == c).unwrap();
    let class = order[rank(class).max(rank(by_run))];
    assert_eq!(fork_verdict["class"], class, "{fork_verdict} {thresholds}");
    // The renderer's entry point cannot load in an isolated sub-interpreter: the chain says why.
    let entry = r["render_entry_points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["module"] == "bengal.core.page")
        .expect("bengal.core.page checked as a render entry point");
    assert_eq!(entry["isolated_ok"], false, "{entry}");
    let chain: Vec<&str> = entry["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(chain.first(), Some(&"bengal.core.page"), "{entry}");
    assert!(chain.contains(&"tracemalloc"), "{entry}");
    assert!(md.contains("### Can the renderer run in a sub-interpreter?"));
    assert!(md.contains("### Results back"));
    assert!(r["answer"].as_str().unwrap().starts_with("The Site pickles"));
    for phase in ["transports", "render"] {
        assert!(t_phase(&r, phase) > 0.0);
    }
    assert!(md.find("## Answer").unwrap() < md.find("## Verdict").unwrap());
    assert!(report.join("charts/transfer-vs-render.svg").is_file());

    // Timing adds up: the phases cover the measured operations.
    let t = &r["timing"];
    let measured = t["measured_seconds"].as_f64().unwrap();
    let per_payload: f64 = r["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["measured_seconds"].as_f64().unwrap())
        .sum();
    assert!((measured - per_payload).abs() < 1e-6);
    assert!(measured > 0.0 && measured <= t["phases"]["measure"].as_f64().unwrap());
    // The phase contains its samples, the reference round trips and calibration's calls.
    let calibration_calls = t["calibration_operations_seconds"].as_f64().unwrap();
    assert!(calibration_calls > 0.0 && calibration_calls < t["calibration_seconds"].as_f64().unwrap());
    let operations = measured + t["reference_seconds"].as_f64().unwrap() + calibration_calls;
    assert!(operations < t["phases"]["measure"].as_f64().unwrap(), "{t}");
    assert!(
        md.contains(&format!("{calibration_calls:.2} s (the warm-up's calls)")),
        "the report gives the warm-up's calls"
    );
    for phase in ["load", "measure", "payloads", "inspect", "report"] {
        assert!(t["phases"][phase].as_f64().is_some(), "phase {phase}");
    }
    assert!(t["total_seconds"].as_f64().unwrap() >= t["phases"]["measure"].as_f64().unwrap());

    // Histograms: nine .hgrm files whose counts match results.json.
    for name in ["site", "page", "page_subset"] {
        for (op, key) in [
            ("dumps", "dumps_ns"),
            ("loads", "loads_ns"),
            ("roundtrip", "roundtrip_ns"),
        ] {
            let (rows, total) = parse_hgrm(&report.join(format!("histograms/{name}-{op}.hgrm")));
            let samples = payload(&r, name)[key]["samples"].as_u64().unwrap();
            assert_eq!(total, samples, "{name}-{op}");
            let last = rows.last().unwrap();
            assert_eq!(last.1, 1.0);
            assert_eq!(last.2, samples);
            let max_us = payload(&r, name)[key]["max"].as_f64().unwrap() / 1000.0;
            assert!(
                (last.0 - max_us).abs() / max_us < 0.01,
                "{name}-{op}: {} vs {max_us}",
                last.0
            );
        }
    }
    for chart in [
        "latency-percentiles.svg",
        "full-vs-subset.svg",
        "size-page.svg",
        "size-page_subset.svg",
        "size-site.svg",
    ] {
        let svg = std::fs::read_to_string(report.join("charts").join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<text"), "{chart}");
    }
    let verdict_at = md.find("## Verdict").unwrap();
    assert!(verdict_at < md.find("## Summary").unwrap());
    assert!(
        md.contains("charts/latency-percentiles.svg")
            && md.contains("## Environment")
            && md.contains("## Method")
    );
    assert!(md.contains(&format!("{pages} of {pages}")));
    let out_text = stdout(&o);
    assert!(
        out_text.contains("page_subset") && out_text.contains("drags"),
        "{out_text}"
    );
    assert_no_staging_left(&report);

    assert_eq!(before, snapshot(site), "the site directory changed");
}

pub fn rendered_stage(site: &Path, expect: &BengalSite) {
    if installed().modern_bengal {
        return crate::modern::rendered_stage(site, expect.pages);
    }
    let before = snapshot(site);
    let out = TempDir::new("rendered");
    let o = analyze(site, out.path(), &["--stage", "rendered", "--budget", "6"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(before, snapshot(site), "the site directory changed");
    assert_no_staging_left(out.path());
    let r = read_results(out.path());
    assert_eq!(r["site"]["stage"], "rendered");

    let count = rendered_page_count(site);
    assert_eq!(
        r["site"]["pages"].as_u64().unwrap(),
        count,
        "Bengal's own page count after a build"
    );
    assert!(count > expect.pages);

    let build_root = r["site"]["build_root"].as_str().unwrap();
    assert!(
        !std::path::Path::new(build_root).exists(),
        "the build copy was not removed"
    );
    assert!(!build_root.starts_with(site.to_str().unwrap()));
    let page = payload(&r, "page");
    let subset = payload(&r, "page_subset");
    assert_eq!(page["picklable"], true);
    let sizes: Vec<u64> = page["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(
        page["bytes"]["total"].as_u64().unwrap(),
        sizes.iter().sum::<u64>()
    );
    assert_eq!(sizes.len() as u64, page["count"].as_u64().unwrap());
    // After a build the graph is far bigger than before it.
    assert!(payload(&r, "site")["bytes"]["total"].as_u64().unwrap() > expect.rendered_min_site_bytes);
    assert_eq!(r["verdict"]["page_drags_site"], true);
    // The explanation finds the trap on its own: metadata keys that hold live Pages are named
    // among the drags, and the suggestion drops exactly those keys.
    let drags: Vec<&str> = page["drag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(drags.iter().any(|d| d.starts_with("page.metadata[")), "{drags:?}");
    let excluded: Vec<&str> = r["suggestion"]["exclude_keys"]["metadata"]
        .as_array()
        .expect("metadata keys excluded")
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        excluded.contains(&"_posts") && excluded.contains(&"_paginator"),
        "{excluded:?}"
    );
    for d in &drags {
        if let Some(key) = d
            .strip_prefix("page.metadata['")
            .and_then(|k| k.split('\'').next())
        {
            assert!(
                excluded.contains(&key),
                "dragging key {key} not excluded: {excluded:?}"
            );
        }
    }
    let suggested = payload(&r, "page_suggested");
    assert_eq!(suggested["picklable"], true);
    assert!(
        suggested["bytes"]["median"].as_u64().unwrap() < expect.rendered_max_suggested_median_bytes,
        "{}",
        suggested["bytes"]
    );
    assert!(
        suggested["bytes"]["max"].as_u64().unwrap() < expect.rendered_max_suggested_max_bytes,
        "no suggested payload drags the graph"
    );

    // Verdicts move the expected way: full Pages cost more of the render time than the
    // suggested payload, through the same transport. Both pay the same rendered pages sent
    // back (`result_share`), which on a cheap render can make both impractical: the payloads'
    // own part is compared, and the classes never the wrong way round.
    let rank = |class: &str| {
        ["practical", "marginal", "impractical"]
            .iter()
            .position(|c| *c == class)
            .unwrap()
    };
    let verdicts = r["verdicts"].as_array().unwrap();
    let verdict_of = |payload: &str| {
        verdicts
            .iter()
            .find(|v| v["payload"] == payload && v["transport"] == "process")
            .unwrap()
    };
    let class_of = |payload: &str| verdict_of(payload)["class"].as_str().unwrap().to_string();
    let own_share = |payload: &str| {
        let v = verdict_of(payload);
        v["transfer_share"].as_f64().unwrap()
            - v["result_share"].as_f64().unwrap_or(0.0)
            - v["site_data"]["share"].as_f64().unwrap_or(0.0)
    };
    assert!(
        own_share("page") > 5.0 * own_share("page_suggested"),
        "{} vs {}",
        own_share("page"),
        own_share("page_suggested")
    );
    assert!(
        rank(&class_of("page")) >= rank(&class_of("page_suggested")),
        "{} vs {}",
        class_of("page"),
        class_of("page_suggested")
    );
    assert_eq!(class_of("page"), "impractical");

    // Bengal's known trap: after a build, page metadata holds live Page references, so even the
    // default subset (which carries metadata) is nearly the whole graph.
    assert!(
        subset["bytes"]["max"].as_u64().unwrap() > expect.rendered_min_subset_max_bytes,
        "{}",
        subset["bytes"]
    );
}

fn t_phase(r: &serde_json::Value, phase: &str) -> f64 {
    r["timing"]["phases"][phase]
        .as_f64()
        .unwrap_or_else(|| panic!("phase {phase} missing"))
}

/// The limited phases of a run on `site` with `extra` options: its results and stdout.
fn limited_run(site: &Path, tag: &str, extra: &[&str]) -> (serde_json::Value, String, String) {
    let tmp = TempDir::new(tag);
    let out = tmp.path().join("out");
    let o = analyze(site, &out, extra);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert_no_staging_left(&out);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    (read_results(&out), stdout(&o), report)
}

/// Workers per pool as the memory allows: as many as fit `available / (per_worker x pools)`,
/// at most the ones asked.
fn assert_worker_arithmetic(w: &serde_json::Value) {
    let (asked, started) = (w["asked"].as_u64().unwrap(), w["started"].as_u64().unwrap());
    let per_worker = w["per_worker"]
        .as_u64()
        .expect("the loaded site's size is measured here");
    let available = w["available"].as_u64().expect("MemAvailable is read here");
    let pools = w["pools"].as_u64().unwrap().max(1);
    assert_eq!(started, asked.min(available / (per_worker * pools)), "{w}");
}

#[test]
fn a_default_run_reports_each_phase_within_its_limit() {
    let site = tiny_blog();
    let (r, out, report) = limited_run(&site, "limits-default", &[]);
    let render = phase_limit(&r, "render");
    assert_eq!(render["cut"], false);
    assert_eq!(render["limit_seconds"], 300.0);
    assert_eq!(render["done"], r["render"]["pages"]);
    assert_eq!(
        render["done"], TINY_BLOG.pages,
        "every page of a small site is rendered"
    );
    assert_eq!(render["planned"], r["render"]["chosen"]);
    assert!(r["render"]["cut"].is_null());
    let diagnose = phase_limit(&r, "diagnose");
    assert_eq!(diagnose["cut"], false);
    assert_eq!(diagnose["done"], diagnose["planned"]);
    // The suggestion, then per payload: attribution of site, page and page_subset, the
    // page's drag, and the page_suggested payload's attribution.
    assert!(diagnose["planned"].as_u64().unwrap() >= 5, "{diagnose}");
    assert!(
        diagnose["seconds"].as_f64().unwrap() <= r["timing"]["phases"]["diagnose"].as_f64().unwrap() + 1e-6
    );
    let w = &r["memory"]["workers"];
    assert_eq!(w["available_from"], "MemAvailable");
    assert_eq!(w["per_worker"], r["memory"]["loaded_site"]);
    assert_worker_arithmetic(w);
    assert_eq!(w["started"], w["asked"], "a small site's workers all fit");
    assert!(!out.contains("cut by its"), "{out}");
    assert!(!report.contains("Cut by a time limit"), "{report}");
    assert!(
        report.contains("- Time limit, render-cost probe: 16 of 16 pages rendered"),
        "{report}"
    );
}

#[test]
fn time_limits_cut_the_phases_and_the_run_finishes_with_what_it_has() {
    let site = tiny_blog();
    let before = snapshot(&site);
    let (r, out, report) = limited_run(
        &site,
        "limits-cut",
        &["--render-limit", "0.000001", "--diagnose-limit", "0.000001"],
    );
    assert_eq!(before, snapshot(&site), "the site directory changed");
    let render = phase_limit(&r, "render");
    assert_eq!(
        (render["cut"].as_bool(), render["done"].as_u64()),
        (Some(true), Some(0))
    );
    assert_eq!(render["planned"], TINY_BLOG.pages);
    assert_eq!(r["render"]["available"], false);
    assert!(
        r["render"]["reason"].as_str().unwrap().contains("--render-limit"),
        "{}",
        r["render"]
    );
    assert!(
        r["render"]["cut"]
            .as_str()
            .unwrap()
            .starts_with("preparing the site"),
        "{}",
        r["render"]
    );
    let diagnose = phase_limit(&r, "diagnose");
    assert_eq!(diagnose["cut"], true);
    assert!(diagnose["done"].as_u64().unwrap() < diagnose["planned"].as_u64().unwrap());
    // The payloads were still measured, and the answer says what it rests on.
    assert!(payload(&r, "page_subset")["bytes"]["median"].as_u64().unwrap() > 0);
    let answer = r["answer"].as_str().unwrap();
    assert!(answer.contains("No render cost was measured"), "{answer}");
    assert!(answer.contains("explanations are partial"), "{answer}");
    assert!(
        out.contains("! render-cost probe: 0 of 16 pages rendered"),
        "{out}"
    );
    assert!(
        report.contains("**Cut by a time limit:** render-cost probe: 0 of 16"),
        "{report}"
    );
}

#[test]
fn a_memory_limit_holds_transport_workers_back() {
    let site = tiny_blog();
    // Nothing fits in 1 MiB: no sub-interpreter or process pool starts, and the verdict says
    // those transports were not measured rather than that the Site cannot go that way.
    let (r, out, report) = limited_run(
        &site,
        "limits-memory-none",
        &["--memory-limit", "1M", "--no-diagnose"],
    );
    let w = &r["memory"]["workers"];
    assert_eq!(w["available"], 1 << 20);
    assert_eq!(w["available_from"], "--memory-limit");
    assert_eq!(w["started"], 0);
    assert_worker_arithmetic(w);
    for cell in r["transports"].as_array().unwrap() {
        if cell["name"] == "process" || cell["name"] == "forkserver" {
            assert_eq!(cell["available"], false, "{cell}");
            assert!(
                cell["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no worker fits the memory"),
                "{cell}"
            );
        }
    }
    // Where the Site pickles (Bengal 0.1), the answer names the transport as not measured; where
    // it does not (Bengal 0.5), the answer is about that, and every process row says why.
    if payload(&r, "site")["picklable"] == true {
        for via in ["not measured via process", "not measured via forkserver"] {
            assert!(r["answer"].as_str().unwrap().contains(via), "{}", r["answer"]);
        }
    }
    let process_rows: Vec<_> = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["transport"] == "process" || v["transport"] == "forkserver")
        .collect();
    assert!(!process_rows.is_empty());
    for v in process_rows {
        assert!(
            v["why"].as_str().unwrap().contains("no worker fits the memory"),
            "{v}"
        );
    }
    assert!(
        out.contains("fewer transport workers for the memory: 2 workers asked, 0 started"),
        "{out}"
    );
    assert!(report.contains("**Fewer workers for the memory:**"), "{report}");
    // Room for one worker per pool (and a half): one starts of the two asked.
    let per_worker = w["per_worker"].as_u64().unwrap();
    let pools = w["pools"].as_u64().unwrap();
    let limit = (per_worker * pools * 3 / 2).to_string();
    let (r, _, _) = limited_run(
        &site,
        "limits-memory-one",
        &["--memory-limit", &limit, "--workers", "2", "--no-diagnose"],
    );
    let w = &r["memory"]["workers"];
    assert_worker_arithmetic(w);
    assert_eq!(
        (w["asked"].as_u64(), w["started"].as_u64()),
        (Some(2), Some(1)),
        "{w}"
    );
    for name in ["process", "forkserver"] {
        let pooled = r["transports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["payload"] == "page_subset")
            .unwrap();
        assert_eq!(pooled["available"], true, "{pooled}");
        assert_eq!(pooled["setup"]["create"].as_array().unwrap().len(), 1, "{pooled}");
    }
}

#[test]
fn bad_limits_are_one_error_line() {
    let site = tiny_blog();
    let tmp = TempDir::new("limits-bad");
    for (args, says) in [
        (
            ["--render-limit", "0"],
            "--render-limit must be a positive number of seconds",
        ),
        (
            ["--diagnose-limit", "inf"],
            "--diagnose-limit must be a positive number of seconds",
        ),
        (
            ["--growth-limit", "nan"],
            "--growth-limit must be a positive number of seconds",
        ),
        (
            ["--memory-limit", "lots"],
            "--memory-limit \"lots\" is not a memory size",
        ),
    ] {
        let out = tmp.path().join("out");
        let o = analyze(&site, &out, &args);
        assert_one_error_line(&o, says);
        assert!(!out.join("results.json").exists());
    }
}
