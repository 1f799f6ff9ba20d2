//! `analyze --growth`: real copies of the site with fewer and more pages, measured, fitted and
//! projected; a measured point equals a standalone `analyze` of the same copy.
use crate::util::*;

#[test]
fn growth_points_match_standalone_runs_and_project_to_10k_and_100k() {
    growth_of(&tiny_blog(), 6);
}

/// `--growth` on `site`, whose factors are `factors` many (6 for small sites, 4 from 200 pages).
pub fn growth_of(site: &std::path::Path, factors: usize) {
    let site = site.to_path_buf();
    let before = snapshot(&site);
    let tmp = TempDir::new("growth");
    let out = tmp.path().join("out");
    // Pages carry their absolute source path, and a copy lives elsewhere: the subset compared
    // across copies is made of fields that do not name the copy's location.
    let fields = ["--fields", "content,metadata"];
    let o = analyze(
        &site,
        &out,
        &[&fields[..], &["--growth", "--no-transports", "--budget", "20"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site directory changed");
    let r = read_results(&out);
    let g = &r["growth"];
    assert_eq!(g["errors"], serde_json::json!([]), "{g}");
    assert_eq!(
        g["factors"].as_array().unwrap().len(),
        factors,
        "{}",
        g["factors"]
    );
    let points = g["points"].as_array().unwrap();
    let at = |pages: u64, payload: &str| {
        points
            .iter()
            .find(|p| p["pages"] == pages && p["payload"] == payload)
            .unwrap_or_else(|| panic!("no {payload} point at {pages} pages: {points:?}"))
    };
    // The x1 copy is the site itself: its point equals this run's own measurement.
    let pages = r["site"]["pages"].as_u64().unwrap();
    assert_eq!(
        at(pages, "page_subset")["bytes"],
        payload(&r, "page_subset")["bytes"]["median"]
    );

    // The half-size copy, made the same way and analysed on its own, measures the same.
    let copy = tmp.path().join("half");
    let made = std::process::Command::new(python())
        .args([
            "-B",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from picklecost.generators.bengal import Bengal; \
             print('RESULT', Bengal().make_variant(sys.argv[2], sys.argv[3], 0.5))",
            root().join("src/python/py").to_str().unwrap(),
            site.to_str().unwrap(),
            copy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let alone = tmp.path().join("alone");
    let o = analyze(
        &copy,
        &alone,
        &[
            &fields[..],
            &["--no-transports", "--no-diagnose", "--budget", "10"],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read_results(&alone);
    let half_pages = a["site"]["pages"].as_u64().unwrap();
    assert!(half_pages < pages);
    assert_eq!(
        at(half_pages, "page_subset")["bytes"],
        payload(&a, "page_subset")["bytes"]["median"]
    );
    // The Site holds its root path, so its size is not compared across locations; but the copy's
    // Site is measured exactly when the standalone run of the copy can pickle it, and it is
    // smaller than the full-size copy's.
    let half_site = &at(half_pages, "site")["bytes"];
    assert_eq!(
        half_site.is_u64(),
        payload(&a, "site")["picklable"] == true,
        "{half_site} vs {}",
        payload(&a, "site")
    );
    let full_site = &at(pages, "site")["bytes"];
    assert_eq!(
        full_site.is_u64(),
        half_site.is_u64(),
        "{full_site} vs {half_site}"
    );
    if let (Some(half), Some(full)) = (half_site.as_u64(), full_site.as_u64()) {
        assert!(half < full, "{half} vs {full}");
    }

    // Fits and projections (labelled as such), charts and the report section.
    let projections = g["projections"].as_array().unwrap();
    for pages in [10_000, 100_000] {
        let p = projections
            .iter()
            .find(|p| p["pages"] == pages && p["payload"] == "page_subset")
            .expect("page_subset projected");
        let (v, lo, hi) = (
            p["bytes"].as_f64().unwrap(),
            p["bytes_low"].as_f64().unwrap(),
            p["bytes_high"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{p}");
    }
    assert!(!g["fits"].as_array().unwrap().is_empty());
    for (chart, key) in [
        ("growth-bytes.svg", "bytes"),
        ("growth-roundtrip.svg", "roundtrip_ns"),
    ] {
        let svg = std::fs::read_to_string(out.join("charts").join(chart)).unwrap();
        // One point per measured copy and payload, and one legend mark per payload.
        let measured: Vec<&serde_json::Value> = points
            .iter()
            .filter(|p| p[key].as_u64().is_some_and(|v| v > 0))
            .collect();
        let mut series: Vec<&str> = measured.iter().map(|p| p["payload"].as_str().unwrap()).collect();
        series.sort();
        series.dedup();
        assert_eq!(
            svg.matches("<circle").count(),
            measured.len() + series.len(),
            "{chart}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Growth") && md.contains("**Projection**"));
    assert!(
        r["verdict"]["text"]
            .as_str()
            .unwrap()
            .contains("At 10,000 pages (a projection")
    );
    assert!(r["timing"]["phases"]["growth"].as_f64().unwrap() > 0.0);
    let limit = phase_limit(&r, "growth");
    assert_eq!(limit["cut"], false);
    assert_eq!(
        (limit["done"].as_u64(), limit["planned"].as_u64()),
        (Some(factors as u64), Some(factors as u64))
    );
}

#[test]
fn the_growth_limit_stops_the_copies_and_says_how_many_were_measured() {
    let site = tiny_blog();
    let tmp = TempDir::new("growth-limit");
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &[
            "--growth",
            "--growth-limit",
            "0.000000001",
            "--no-transports",
            "--no-diagnose",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let limit = phase_limit(&r, "growth");
    assert_eq!(limit["cut"], true);
    assert_eq!(limit["planned"], 6);
    let errors = r["growth"]["errors"].as_array().unwrap();
    let not_started = errors
        .iter()
        .filter(|e| {
            e.as_str()
                .unwrap()
                .ends_with("not measured, the growth limit (--growth-limit) had passed")
        })
        .count() as u64;
    // A copy takes far longer than a nanosecond: at most the first one was made.
    assert!(not_started >= 5, "{errors:?}");
    assert_eq!(
        limit["done"].as_u64().unwrap() + not_started,
        6,
        "{limit} {errors:?}"
    );
    let answer = r["answer"].as_str().unwrap();
    assert!(answer.contains("The growth model rests on"), "{answer}");
    assert!(stdout(&o).contains("! growth copies: "), "{}", stdout(&o));
}

#[test]
fn growth_needs_a_generator_adapter() {
    let tmp = TempDir::new("growth-loader");
    let o = analyze(
        &tiny_blog(),
        &tmp.path().join("out"),
        &["--growth", "--loader", "m:f"],
    );
    assert_one_error_line(
        &o,
        "--growth makes copies of the site through its generator adapter",
    );
}
