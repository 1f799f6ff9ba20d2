//! `picklecost compare`: two runs of the same site (identical sizes, no significant latency
//! change), a run whose subset gained a field (the growth flagged, `--fail-if size:+5%` exits 1),
//! bad inputs (exit 2, one `error:` line), and the JSON and Markdown forms. The analyze runs are
//! made once, one after another, and shared by the tests.
use crate::util::*;
use std::path::{Path, PathBuf};

struct Runs {
    /// A project of the test's own (loaded with `--loader`, so the same on every generator
    /// version) twice with the default settings (transports included).
    same_a: PathBuf,
    same_b: PathBuf,
    /// The same without and with `content` in the subset's fields.
    fields_before: PathBuf,
    fields_after: PathBuf,
}

fn runs() -> &'static Runs {
    static RUNS: std::sync::OnceLock<Runs> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare_runs");
        let _ = std::fs::remove_dir_all(&dir);
        let site = dir.join("project");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(
            site.join("cmpsite.py"),
            "import pathlib\n\
             class Page:\n\
             \x20   def __init__(self, site, n):\n\
             \x20       self.site = site\n\
             \x20       self.source_path = pathlib.Path('/content/p%d.md' % n)\n\
             \x20       self.content = ('word %d ' % n) * (10 + n)\n\
             \x20       self.metadata = {'title': 'Page %d' % n, 'n': n}\n\
             \x20       self.output_path = pathlib.Path('/public/p%d/index.html' % n)\n\
             \x20       self.tags = ['t%d' % (n % 3)]\n\
             class Site:\n\
             \x20   def __init__(self):\n\
             \x20       self.pages = [Page(self, n) for n in range(12)]\n\
             def load(root):\n\
             \x20   return Site()\n",
        )
        .unwrap();
        let run = |name: &str, extra: &[&str]| {
            let out = dir.join(name);
            let o = analyze(&site, &out, &[&["--loader", "cmpsite:load"], extra].concat());
            assert!(o.status.success(), "analyze {name}: {}", stderr(&o));
            out
        };
        let quick = ["--budget", "3", "--transport-budget", "2", "--quiet"];
        // The two runs of the same site run at the same time, so they share whatever else the
        // machine is doing: runs made one after the other on a busy shared machine differ by
        // the load that came and went between them, which compare rightly calls a change.
        let (same_a, same_b) = std::thread::scope(|s| {
            let a = s.spawn(|| run("same-a", &quick));
            let b = s.spawn(|| run("same-b", &quick));
            (a.join().unwrap(), b.join().unwrap())
        });
        let fields_before = run(
            "fields-before",
            &[
                "--budget",
                "3",
                "--no-transports",
                "--quiet",
                "--fields",
                "source_path,metadata,output_path,tags",
            ],
        );
        let fields_after = run(
            "fields-after",
            &[
                "--budget",
                "3",
                "--no-transports",
                "--quiet",
                "--fields",
                "source_path,content,metadata,output_path,tags",
            ],
        );
        Runs {
            same_a,
            same_b,
            fields_before,
            fields_after,
        }
    })
}

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("--json output parses: {e}\n{}", stdout(o)))
}

fn row<'a>(c: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    c["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} row in {c}"))
}

/// Copy a report directory (results.json and histograms) to edit it.
fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("histograms")).unwrap();
    std::fs::copy(from.join("results.json"), to.join("results.json")).unwrap();
    for entry in std::fs::read_dir(from.join("histograms")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("histograms").join(entry.file_name())).unwrap();
    }
}

fn edit_results(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut r = read_results(dir);
    edit(&mut r);
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&r).unwrap(),
    )
    .unwrap();
}

#[test]
fn same_site_twice_identical_sizes_and_no_significant_latency_change() {
    let r = runs();
    // The runs share this machine with whatever else it runs (other builds: load averages of 6
    // to 9 on 2 cores were seen), and load that comes and goes between or within runs moves
    // p50 by up to ~40%: a real change, which the default 10% floor (a quiet machine's
    // run-to-run noise, docs/method.md) would rightly report. The floor is raised to 100% here;
    // the default floor and the test's power are checked deterministically on edited
    // histograms below and on synthetic samples in the unit tests (compare::rank).
    let noise = ["--noise", "100"];
    let o = compare(
        &r.same_a,
        &r.same_b,
        &[&noise[..], &["--fail-if", "size:+5%,roundtrip:+10%"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("sizes identical (exact)"), "{text}");
    assert!(text.contains("latency: no significant change"), "{text}");
    assert!(!text.contains("EXCEEDED"), "{text}");
    let c = json_of(&compare(
        &r.same_a,
        &r.same_b,
        &[&noise[..], &["--json"]].concat(),
    ));
    assert_eq!(c["flags"].as_array().unwrap().len(), 0, "{}", c["flags"]);
    assert!(c["test"]["tests"].as_u64().unwrap() >= 9);
    for p in c["payloads"].as_array().unwrap() {
        assert_eq!(p["presence"], "both");
        let size = &p["size"];
        assert_eq!(size["identical"], true, "{p}");
        assert_eq!(size["total"]["before"], size["total"]["after"]);
        assert_eq!(size["changed_objects"], 0);
        for op in p["latency"].as_array().unwrap() {
            assert!(op["test"].is_object(), "tested from the histograms: {op}");
            assert!(
                op["test"]["machine_speed_ratio"].as_f64().is_some(),
                "both runs recorded the reference object: {op}"
            );
            assert_eq!(op["significant"], false, "{} {op}", p["name"]);
            assert_eq!(op["finding"], "no significant change");
        }
    }
    // Every verdict row of the runs is compared: 4 payloads x 4 judged transports
    // (subinterpreter, process, forkserver, fork).
    assert_eq!(read_results(&r.same_a)["verdicts"].as_array().unwrap().len(), 16);
    assert_eq!(
        c["verdict_changes"].as_array().unwrap().len() + c["verdicts_unchanged"].as_u64().unwrap() as usize,
        16
    );
}

#[test]
fn added_field_flags_the_growth_and_fails_the_size_limit() {
    let r = runs();
    let o = compare(&r.fields_before, &r.fields_after, &[]);
    assert_eq!(o.status.code(), Some(0), "no --fail-if: exit 0 {}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("size changed: page_subset"), "{text}");
    let subset_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("page_subset ") && l.contains("objects differ"))
        .unwrap();
    assert!(subset_line.contains('+'), "{subset_line}");

    let o = compare(&r.fields_before, &r.fields_after, &["--fail-if", "size:+5%"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("--fail-if size:+5%: EXCEEDED by page_subset size"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // Payload-specific limits: the full Page did not change; the subset more than doubled.
    let o = compare(&r.fields_before, &r.fields_after, &["--fail-if", "page.size:+5%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = compare(
        &r.fields_before,
        &r.fields_after,
        &["--fail-if", "page_subset.size:+500%"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = compare(
        &r.fields_before,
        &r.fields_after,
        &["--fail-if", "page_subset.size:+50%"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));

    let c = json_of(&compare(
        &r.fields_before,
        &r.fields_after,
        &["--json", "--fail-if", "size:+5%"],
    ));
    assert_eq!(c["failed"], true);
    let subset = row(&c, "page_subset");
    assert_eq!(subset["size"]["identical"], false);
    assert_eq!(subset["size"]["significant"], true);
    assert!(subset["size"]["total"]["after"].as_u64() > subset["size"]["total"]["before"].as_u64());
    assert!(subset["size"]["total"]["ratio"].as_f64().unwrap() > 1.05);
    assert_eq!(row(&c, "page")["size"]["identical"], true);
    // Payloads with a change come first.
    let changed: Vec<bool> = c["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["size"]["significant"] == true
                || p["latency"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o["significant"] == true)
        })
        .collect();
    assert!(changed.windows(2).all(|w| w[0] >= w[1]), "{changed:?}");
}

#[test]
fn json_output_has_per_payload_rows() {
    let r = runs();
    let o = compare(&r.same_a, &r.fields_after, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = json_of(&o);
    let names: Vec<&str> = c["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["site", "page", "page_subset", "page_suggested"] {
        assert!(names.contains(&name), "{names:?}");
        let p = row(&c, name);
        for key in ["total", "p50", "max"] {
            assert!(
                p["size"][key]["before"].is_u64() && p["size"][key]["after"].is_u64(),
                "{p}"
            );
        }
        let ops: Vec<&str> = p["latency"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["op"].as_str().unwrap())
            .collect();
        assert_eq!(ops, ["dumps", "loads", "roundtrip"]);
        for op in p["latency"].as_array().unwrap() {
            for key in ["p50", "p99"] {
                assert!(op[key]["before"].is_u64() && op[key]["after"].is_u64(), "{op}");
            }
            let t = &op["test"];
            assert!(t["p_value"].as_f64().unwrap() >= 0.0 && t["p_value"].as_f64().unwrap() <= 1.0);
            assert!(t["shift_ratio"].as_f64().unwrap() > 0.0);
        }
    }
    assert!(c["test"]["method"].as_str().unwrap().contains("Mann-Whitney"));
    // The second run has no transports: its verdicts are gone, and every one of the first
    // run's verdict rows is listed as a change.
    let rows = |dir: &Path| read_results(dir)["verdicts"].as_array().map_or(0, Vec::len);
    assert_eq!(rows(&r.fields_after), 0);
    assert!(rows(&r.same_a) > 0);
    assert_eq!(c["verdict_changes"].as_array().unwrap().len(), rows(&r.same_a));
    assert!(c["verdict_changes"][0]["after"].is_null());
}

#[test]
fn markdown_is_a_pull_request_comment() {
    let r = runs();
    let o = compare(
        &r.fields_before,
        &r.fields_after,
        &["--markdown", "--fail-if", "size:+5%"],
    );
    assert_eq!(o.status.code(), Some(1));
    let md = stdout(&o);
    assert!(md.starts_with("### picklecost compare"), "{md}");
    assert!(md.contains("| payload | objects | total before |"), "{md}");
    assert!(md.contains("`--fail-if size:+5%` exceeded"), "{md}");
    assert!(md.contains("<details><summary>Method</summary>"), "{md}");
}

#[test]
fn verdict_changes_come_first_and_other_runs_are_flagged() {
    let r = runs();
    let tmp = TempDir::new("compare-flags");
    let other = tmp.path().join("other");
    copy_run(&r.same_a, &other);
    edit_results(&other, |v| {
        v["python"]["version"] = "3.14.0".into();
        v["site"]["generator_version"] = "0.5.0".into();
        v["settings"]["protocol"] = 4.into();
        v["environment"]["cpu"] = "Some Other CPU".into();
        let class = v["verdicts"][0]["class"].as_str().unwrap().to_string();
        v["verdicts"][0]["class"] = if class == "impractical" {
            "practical"
        } else {
            "impractical"
        }
        .into();
    });
    let o = compare(&r.same_a, &other, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for flag in [
        "python:",
        "3.14.0",
        "generator:",
        "0.5.0",
        "protocol: 5 → 4",
        "machine:",
        "Some Other CPU",
    ] {
        assert!(text.contains(flag), "{flag} in {text}");
    }
    let changed = text.find("Verdict classes that changed").expect(&text);
    assert!(changed < text.find("Size (exact").unwrap(), "{text}");
    assert!(changed < text.find("Latency (").unwrap(), "{text}");
    let c = json_of(&compare(&r.same_a, &other, &["--json"]));
    let what: Vec<&str> = c["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["what"].as_str().unwrap())
        .collect();
    assert_eq!(what, ["python", "generator", "protocol", "machine"]);
    assert_eq!(c["verdict_changes"].as_array().unwrap().len(), 1);
}

/// Write a narrow latency distribution (1000 samples, 100 to 120 µs, times `scale`) as an
/// .hgrm file in the format analyze writes, so the tests of the latency judgement do not depend
/// on how busy the machine was during the shared runs.
fn synthetic_hgrm(path: &Path, scale: f64) {
    let n = 1000u64;
    let mut text = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for k in 0..n {
        let value = (100.0 + k as f64 * 0.02) * scale;
        let q = (k + 1) as f64 / n as f64;
        if k + 1 < n {
            text.push_str(&format!(
                "{value:12.3} {q:2.12} {:10} {:14.2}\n",
                k + 1,
                1.0 / (1.0 - q)
            ));
        } else {
            text.push_str(&format!("{value:12.3} {q:2.12} {:10}\n", k + 1));
        }
    }
    text.push_str(&format!(
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n",
        110.0 * scale,
        5.8 * scale
    ));
    text.push_str(&format!(
        "#[Max     = {:12.3}, Total count    = {n:12}]\n",
        119.98 * scale
    ));
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_slower_roundtrip_fails_the_latency_limit_only_when_significant_and_above_it() {
    let r = runs();
    let tmp = TempDir::new("compare-slow");
    let base = tmp.path().join("base");
    let slow = tmp.path().join("slow");
    let slight = tmp.path().join("slight");
    for (dir, scale) in [(&base, 1.0), (&slow, 1.5), (&slight, 1.05)] {
        copy_run(&r.same_a, dir);
        synthetic_hgrm(&dir.join("histograms/page-roundtrip.hgrm"), scale);
        // The machine ran the reference object equally fast in all three.
        synthetic_hgrm(&dir.join("histograms/page-reference.hgrm"), 1.0);
    }
    let o = compare(&base, &slow, &["--json", "--fail-if", "roundtrip:+10%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let c = json_of(&o);
    let op = &row(&c, "page")["latency"][2];
    assert_eq!(op["op"], "roundtrip");
    assert_eq!(op["significant"], true, "{op}");
    assert_eq!(op["finding"], "slower");
    assert!(
        (op["test"]["shift_ratio"].as_f64().unwrap() - 1.5).abs() < 0.05,
        "{op}"
    );
    assert!(
        (op["test"]["machine_speed_ratio"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{op}"
    );
    // Not above a 60% limit, and a limit on another payload does not see it.
    assert_eq!(
        compare(&base, &slow, &["--fail-if", "roundtrip:+60%"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        compare(&base, &slow, &["--fail-if", "page_subset.roundtrip:+10%"])
            .status
            .code(),
        Some(0)
    );
    // A 5% slowdown is detected by the test but is under the default 10% noise floor.
    let o = compare(&base, &slight, &["--json", "--fail-if", "roundtrip:+1%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let c = json_of(&o);
    let op = &row(&c, "page")["latency"][2];
    assert!(op["test"]["p_value"].as_f64().unwrap() < 1e-6, "{op}");
    assert_eq!(
        (op["significant"].as_bool(), op["within_noise"].as_bool()),
        (Some(false), Some(true)),
        "{op}"
    );
    let o = compare(&base, &slight, &["--noise", "2", "--fail-if", "roundtrip:+1%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    // Faster is never a failure.
    assert_eq!(
        compare(&slow, &base, &["--fail-if", "roundtrip:+10%"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_machine_slower_as_a_whole_is_divided_out() {
    let r = runs();
    let tmp = TempDir::new("compare-machine");
    let base = tmp.path().join("base");
    let busy = tmp.path().join("busy");
    let busy_and_slow = tmp.path().join("busy-and-slow");
    // busy: the payload and the reference object both 1.5x slower (a loaded machine);
    // busy-and-slow: the payload 1.5 * 1.3x slower, the reference 1.5x (a real slowdown too).
    for (dir, payload, reference) in [(&base, 1.0, 1.0), (&busy, 1.5, 1.5), (&busy_and_slow, 1.95, 1.5)] {
        copy_run(&r.same_a, dir);
        synthetic_hgrm(&dir.join("histograms/page-roundtrip.hgrm"), payload);
        synthetic_hgrm(&dir.join("histograms/page-reference.hgrm"), reference);
    }
    let o = compare(&base, &busy, &["--json", "--fail-if", "page.roundtrip:+10%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let c = json_of(&o);
    let op = &row(&c, "page")["latency"][2];
    assert_eq!(op["finding"], "no significant change", "{op}");
    let t = &op["test"];
    assert!(
        (t["machine_speed_ratio"].as_f64().unwrap() - 1.5).abs() < 0.02,
        "{op}"
    );
    assert!(
        (t["raw_shift_ratio"].as_f64().unwrap() - 1.5).abs() < 0.02,
        "{op}"
    );
    assert!((t["shift_ratio"].as_f64().unwrap() - 1.0).abs() < 0.02, "{op}");

    let o = compare(
        &base,
        &busy_and_slow,
        &["--json", "--fail-if", "page.roundtrip:+10%"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let c = json_of(&o);
    let op = &row(&c, "page")["latency"][2];
    assert_eq!(op["finding"], "slower", "{op}");
    assert!(
        (op["test"]["shift_ratio"].as_f64().unwrap() - 1.3).abs() < 0.03,
        "{op}"
    );
    // A reference that spiked on its own (3x) while the payload did not move: dividing it out
    // would say "faster", but the recorded samples did not change, so nothing is reported.
    let spiked = tmp.path().join("spiked");
    copy_run(&r.same_a, &spiked);
    synthetic_hgrm(&spiked.join("histograms/page-roundtrip.hgrm"), 1.0);
    synthetic_hgrm(&spiked.join("histograms/page-reference.hgrm"), 3.0);
    let c = json_of(&compare(&base, &spiked, &["--json"]));
    let op = &row(&c, "page")["latency"][2];
    assert!(
        (op["test"]["shift_ratio"].as_f64().unwrap() - 1.0 / 3.0).abs() < 0.02,
        "{op}"
    );
    assert!(
        (op["test"]["raw_shift_ratio"].as_f64().unwrap() - 1.0).abs() < 0.02,
        "{op}"
    );
    assert_eq!(op["significant"], false, "{op}");
    assert_eq!(op["finding"], "no significant change", "{op}");

    let text = stdout(&compare(&base, &busy, &[]));
    assert!(text.contains("machine"), "{text}");
    let page_rt = text
        .lines()
        .find(|l| l.trim_start().starts_with("page ") && l.contains("roundtrip"))
        .unwrap();
    assert!(
        page_rt.contains("+50%"),
        "the machine's change is shown: {page_rt}"
    );

    // Without the reference files the change is compared as recorded, and said so.
    for dir in [&base, &busy] {
        for entry in std::fs::read_dir(dir.join("histograms")).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with("-reference.hgrm") {
                std::fs::remove_file(path).unwrap();
            }
        }
        edit_results(dir, |r| {
            for p in r["payloads"].as_array_mut().unwrap() {
                p.as_object_mut().unwrap().remove("reference_roundtrip_ns");
            }
        });
    }
    let o = compare(&base, &busy, &["--fail-if", "page.roundtrip:+10%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("no reference round trips recorded"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn results_without_histograms_are_compared_but_not_tested() {
    let r = runs();
    let tmp = TempDir::new("compare-nohist");
    let lone = tmp.path().join("results.json");
    std::fs::copy(r.same_a.join("results.json"), &lone).unwrap();
    let o = compare(&r.same_b, &lone, &["--fail-if", "roundtrip:+10%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("untested (histogram missing)"), "{text}");
    let written = std::fs::read_dir(r.same_a.join("histograms")).unwrap().count();
    assert!(
        written >= 12,
        "dumps, loads, round trip and reference of 4 payloads"
    );
    assert!(
        text.contains(&format!(
            "note: after: {written} histogram file(s) missing (histograms/site-dumps.hgrm"
        )),
        "{text}"
    );
}

#[test]
fn bad_inputs_exit_2_with_one_error_line() {
    let r = runs();
    let tmp = TempDir::new("compare-bad");
    let t = tmp.path();
    let check = |before: &Path, after: &Path, extra: &[&str], must: &str| {
        let o = compare(before, after, extra);
        assert_eq!(o.status.code(), Some(2), "{must}: {}{}", stdout(&o), stderr(&o));
        assert_one_error_line(&o, must);
        assert!(stdout(&o).is_empty());
    };
    check(&t.join("missing"), &r.same_b, &[], "missing: cannot read it");
    std::fs::create_dir(t.join("empty")).unwrap();
    check(&r.same_a, &t.join("empty"), &[], "has no results.json");
    std::fs::write(t.join("not.json"), "this is not json\n").unwrap();
    check(&r.same_a, &t.join("not.json"), &[], "not valid JSON");
    std::fs::write(
        t.join("other.json"),
        r#"{"name": "something else", "payloads": 3}"#,
    )
    .unwrap();
    check(
        &r.same_a,
        &t.join("other.json"),
        &[],
        "is not a picklecost results.json",
    );
    let real = std::fs::read_to_string(r.same_a.join("results.json")).unwrap();
    std::fs::write(t.join("truncated.json"), &real[..real.len() / 2]).unwrap();
    check(&r.same_a, &t.join("truncated.json"), &[], "not valid JSON");
    std::fs::write(t.join("binary.json"), [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    check(&r.same_a, &t.join("binary.json"), &[], "not UTF-8");
    std::fs::write(
        t.join("types.json"),
        r#"{"tool": {"name": "picklecost"}, "payloads": [{"name": "site", "bytes": {"min": -1}}]}"#,
    )
    .unwrap();
    check(
        &r.same_a,
        &t.join("types.json"),
        &[],
        "is not a picklecost results.json it can read",
    );
    std::fs::write(
        t.join("traversal.json"),
        r#"{"tool": {"name": "picklecost"}, "payloads": [{"name": "../../etc/passwd"}]}"#,
    )
    .unwrap();
    check(
        &r.same_a,
        &t.join("traversal.json"),
        &[],
        "is not one analyze writes",
    );
    let corrupt = t.join("corrupt");
    copy_run(&r.same_a, &corrupt);
    std::fs::write(
        corrupt.join("histograms/page-dumps.hgrm"),
        "Value Percentile TotalCount 1/(1-Percentile)\n\n1.0 0.5 9 2\n0.5 1.0 3\n",
    )
    .unwrap();
    check(
        &r.same_a,
        &corrupt,
        &[],
        "page-dumps.hgrm is not a histogram analyze wrote",
    );
    for bad in [
        "size",
        "size:5%",
        "size:+5",
        "size:-5%",
        "bytes:+5%",
        "pages.size:+5%",
        "size:+lots%",
    ] {
        check(&r.same_a, &r.same_b, &["--fail-if", bad], "--fail-if");
    }
}
