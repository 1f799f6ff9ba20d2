//! `analyze`'s short real parallel run: every verdict row carries a predicted speed-up and the
//! speed-up a real run of its strategy measured (or why there is none), and no row is
//! `practical` while that run was slower than sequential.
use crate::util::*;

fn run(tag: &str, extra: &[&str]) -> (serde_json::Value, String, String) {
    let tmp = TempDir::new(tag);
    let out = tmp.path().join("out");
    let mut args = vec!["--workers", "2", "-q"];
    args.extend_from_slice(extra);
    let o = analyze(&tiny_blog(), &out, &args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    (read_results(&out), stdout(&o), report)
}

/// The rows a real run can check: the payload ships and the worker can render.
fn checkable(v: &serde_json::Value) -> bool {
    !v["transfer_share"].is_null() && v["class"] != "blocked" && v["class"] != "unknown"
}

#[test]
fn a_real_run_checks_the_rows_and_no_practical_row_is_slower_than_sequential() {
    let (r, out, report) = run("check-real", &[]);
    let check = &r["check"];
    assert_eq!(check["ran"], true, "{check}");
    assert_eq!(check["workers"], 2);
    let scale = &check["scale"];
    // Enough of the 16 pages for 2 s of sequential rendering at the render probe's mean, at
    // least 4 a worker: all of them on a site this small.
    let site_pages = r["site"]["pages"].as_u64().unwrap();
    let mean_seconds = r["render"]["total_ns"].as_f64().unwrap() / site_pages as f64 / 1e9;
    let wanted = (2.0 / mean_seconds).ceil() as u64;
    assert_eq!(scale["pages"].as_u64().unwrap(), site_pages.min(wanted.max(8)));
    assert_eq!(scale["pages"], 16);
    let baseline = &scale["baselines"][0];
    let (first, last) = (
        baseline["first_seconds"].as_f64().unwrap(),
        baseline["last_seconds"].as_f64().unwrap(),
    );
    let noise = (first - last).abs() / ((first + last) / 2.0);
    assert!(
        (check["noise"].as_f64().unwrap() - noise).abs() < 1e-12,
        "{check}"
    );
    let margin = check["margin"].as_f64().unwrap();
    // Recomputed from rounded JSON values: equal to the last bits, not bit for bit.
    assert!((margin - noise.max(0.10)).abs() < 1e-12, "{check}");
    let runs = scale["runs"].as_array().unwrap();
    let limit = r["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["phase"] == "check")
        .expect("the check's time limit is recorded");
    assert_eq!(limit["limit_seconds"], 120.0);
    assert_eq!(limit["planned"].as_u64().unwrap(), runs.len() as u64);
    assert_eq!(limit["done"], limit["planned"], "{limit}");
    assert!(r["timing"]["phases"]["check"].as_f64().unwrap() > 0.0);

    let verdicts = r["verdicts"].as_array().unwrap();
    let render_total = r["render"]["total_ns"].as_f64().unwrap();
    let mut checked = 0;
    for v in verdicts {
        if !checkable(v) {
            assert!(v["predicted_speedup"].is_null(), "{v}");
            assert!(
                v["measured_reason"].as_str().unwrap().starts_with("not checked"),
                "{v}"
            );
            continue;
        }
        // The prediction is made of this run's parts.
        let p = &v["prediction"];
        assert_eq!(p["render_total_ns"].as_f64().unwrap(), render_total, "{v}");
        assert_eq!(p["workers"], v["workers"]);
        let predicted = v["predicted_speedup"].as_f64().unwrap();
        assert!(
            (predicted - render_total / p["parallel_ns"].as_f64().unwrap()).abs() < 1e-9,
            "{v}"
        );
        let run = runs
            .iter()
            .find(|run| run["strategy"] == v["transport"])
            .unwrap_or_else(|| panic!("no run of {}", v["transport"]));
        match v["measured_speedup"].as_f64() {
            Some(measured) => {
                checked += 1;
                assert_eq!(Some(measured), run["speedup"].as_f64(), "{v}");
                assert!(v["measured_reason"].is_null());
                assert!(
                    v["checked_with"].as_str().unwrap().contains("rendered pages"),
                    "{v}"
                );
                let by_run = if measured >= 1.0 + margin {
                    "practical"
                } else if measured < 1.0 - noise {
                    "impractical"
                } else {
                    "marginal"
                };
                assert_eq!(v["measured_class"], by_run, "{v}");
                if measured < 1.0 {
                    assert_ne!(v["class"], "practical", "slower than sequential: {v}");
                }
                if by_run == "impractical" {
                    assert_eq!(v["class"], "impractical");
                    assert!(v["why"].as_str().unwrap().contains(&format!(
                        "slower than sequential in a real run: {measured:.2}× at W = 2"
                    )));
                }
                assert_eq!(p["cold_measured"], true, "{v}");
                // The same model on the real run's own pages, said beside what it measured.
                let on_sample = v["predicted_check_speedup"].as_f64().unwrap();
                assert!(on_sample > 0.0, "{v}");
                assert!(
                    v["why"].as_str().unwrap().contains(&format!(
                        "{measured:.2}× at W = 2 ({} pages, predicted {on_sample:.2}× for those pages",
                        run["pages"]
                    )),
                    "{v}"
                );
            }
            None => {
                assert!(run["speedup"].is_null(), "{v}");
                assert!(!v["measured_reason"].as_str().unwrap().is_empty(), "{v}");
            }
        }
    }
    assert!(checked > 0, "fork runs on Linux: some row is checked");
    // The answer names no row the real run contradicts.
    let answer = r["answer"].as_str().unwrap();
    for v in verdicts
        .iter()
        .filter(|v| v["measured_class"] == "impractical" || v["class"] == "blocked")
    {
        let named = format!(
            "`{}` via {}",
            v["payload"].as_str().unwrap(),
            v["transport"].as_str().unwrap()
        );
        assert!(!answer.contains(&named), "{named} in {answer}");
    }
    assert!(
        report.contains("| predicted speed-up | predicted on the checked sample | measured speed-up |"),
        "{report}"
    );
    assert!(out.contains("predicted "), "{out}");
}

#[test]
fn no_check_leaves_every_speed_up_a_prediction_with_the_reason() {
    let (r, out, report) = run("check-skipped", &["--no-check"]);
    assert_eq!(r["check"]["ran"], false);
    assert_eq!(r["check"]["reason"], "skipped: --no-check");
    assert!(r["check"]["scale"].is_null());
    assert!(r["timing"]["phases"]["check"].is_null());
    assert!(
        !r["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["phase"] == "check")
    );
    let verdicts = r["verdicts"].as_array().unwrap();
    assert!(verdicts.iter().any(checkable));
    for v in verdicts.iter().filter(|v| checkable(v)) {
        assert!(v["measured_speedup"].is_null(), "{v}");
        assert!(v["predicted_check_speedup"].is_null(), "{v}");
        assert_eq!(v["measured_reason"], "skipped: --no-check", "{v}");
        assert!(v["predicted_speedup"].as_f64().unwrap() > 0.0, "{v}");
        assert_eq!(v["prediction"]["cold_measured"], false);
        assert!(
            v["why"].as_str().unwrap().contains("cold workers not measured"),
            "{v}"
        );
    }
    assert!(out.contains("(prediction only)"), "{out}");
    assert!(
        report.contains("No real run checked them (skipped: --no-check)"),
        "{report}"
    );
}

#[test]
fn a_bad_check_limit_is_one_error_line() {
    let tmp = TempDir::new("check-bad");
    let o = analyze(&tiny_blog(), &tmp.path().join("out"), &["--check-limit", "0"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("--check-limit"),
        "{err}"
    );
}
