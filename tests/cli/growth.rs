//! `analyze --growth`: real copies of the site with fewer and more pages, measured, fitted and
//! projected; a measured point equals a standalone `analyze` of the same copy.
use crate::util::*;

#[test]
fn growth_points_match_standalone_runs_and_projections_stay_within_their_limit() {
    growth_of(&tiny_blog(), 6);
}

/// `--growth` on `site`, whose ladder of copies is `factors` long (6 for small sites, 4 from
/// 200 pages); doublings beyond it follow while the budget allows.
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
        &[&fields[..], &["--growth", "--no-transports", "--budget", "8"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site directory changed");
    let r = read_results(&out);
    let g = &r["growth"];
    // The only copy left out is a doubling the budget would not cover, said so (or, where /sys
    // has no cache sizes, as in a chroot, no doublings, said so).
    for e in g["errors"].as_array().unwrap() {
        let e = e.as_str().unwrap();
        assert!(
            e.contains("would not fit") || e.contains("not readable from /sys"),
            "{g}"
        );
    }
    let copies = g["copies"].as_array().unwrap();
    let ladder = copies.iter().filter(|c| c["reason"] == "ladder").count();
    assert_eq!(ladder, factors, "{}", g["factors"]);
    assert!(copies.iter().all(|c| c["load_ns"].as_u64().unwrap() > 0), "{g}");
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
    let largest = copies.iter().map(|c| c["pages"].as_u64().unwrap()).max().unwrap();
    let projections = g["projections"].as_array().unwrap();
    for pages in [10_000u64, 100_000] {
        let p = projections
            .iter()
            .find(|p| p["pages"] == pages && p["payload"] == "page_subset" && p["quantity"] == "bytes")
            .expect("page_subset projected");
        let factor = pages as f64 / largest as f64;
        assert!(
            (p["extrapolation"].as_f64().unwrap() - factor).abs() < 1e-9,
            "{p}"
        );
        if p["supported"] == true {
            let (v, lo, hi) = (
                p["value"].as_f64().unwrap(),
                p["low"].as_f64().unwrap(),
                p["high"].as_f64().unwrap(),
            );
            assert!(lo <= v && v <= hi && factor <= 10.0, "{p}");
        } else {
            assert!(p["value"].is_null(), "{p}");
        }
    }
    assert!(!g["fits"].as_array().unwrap().is_empty());
    // One point per measured copy and payload, and one legend mark per series: the round trip
    // chart adds the Site's dumps and loads apart, the load chart has one point per copy.
    let series_of = |key: &str, only_site: bool| -> (usize, usize) {
        let measured: Vec<&serde_json::Value> = points
            .iter()
            .filter(|p| !only_site || p["payload"] == "site")
            .filter(|p| p[key].as_u64().is_some_and(|v| v > 0))
            .collect();
        let mut series: Vec<&str> = measured.iter().map(|p| p["payload"].as_str().unwrap()).collect();
        series.sort();
        series.dedup();
        (measured.len(), series.len())
    };
    let circles = |chart: &str| {
        std::fs::read_to_string(out.join("charts").join(chart))
            .unwrap()
            .matches("<circle")
            .count()
    };
    let (n, s) = series_of("bytes", false);
    assert_eq!(circles("growth-bytes.svg"), n + s);
    let parts =
        [("roundtrip_ns", false), ("dumps_ns", true), ("loads_ns", true)].map(|(k, site)| series_of(k, site));
    assert_eq!(
        circles("growth-roundtrip.svg"),
        parts.iter().map(|(n, s)| n + s).sum::<usize>()
    );
    assert_eq!(circles("growth-load.svg"), copies.len() + 1);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Growth") && md.contains("**Projection**"));
    let verdict = r["verdict"]["text"].as_str().unwrap();
    assert!(
        verdict.contains("At 10,000 pages (a projection")
            || verdict.contains("At 10,000 pages there is no projection"),
        "{verdict}"
    );
    assert!(r["timing"]["phases"]["growth"].as_f64().unwrap() > 0.0);
    let limit = phase_limit(&r, "growth");
    assert_eq!(limit["cut"], false);
    assert_eq!(limit["done"].as_u64(), Some(copies.len() as u64));
    assert_eq!(
        limit["planned"].as_u64(),
        Some(g["factors"].as_array().unwrap().len() as u64)
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
    let planned = limit["planned"].as_u64().unwrap();
    assert!(planned >= 6, "{limit}");
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
        planned,
        "{limit} {errors:?}"
    );
    let answer = r["answer"].as_str().unwrap();
    assert!(answer.contains("The growth model rests on"), "{answer}");
    assert!(stdout(&o).contains("! growth copies: "), "{}", stdout(&o));
}

/// A `--loader` project whose per-page cost steps up beyond `STEP` pages: past it, the Site
/// carries a 500 KB index entry per page instead of 200 B (a cache, say, that a bigger site
/// turns on). `make_variant` keeps the first pages or adds more.
const STEP_PROJECT: &str = r##"
import pathlib, shutil

STEP = 50

class Page:
    def __init__(self, path, content):
        self.source_path = path
        self.content = content

class Site:
    def __init__(self, root):
        files = sorted((pathlib.Path(root) / "content").glob("*.md"))
        self.pages = [Page(p.name, p.read_text()) for p in files]
        entry = 500_000 if len(files) > STEP else 200
        self.index = {p.name: ("%s:" % p.name) + "x" * entry for p in files}

def load(root):
    return Site(root)

def make_variant(root, dest, factor):
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted((pathlib.Path(dest) / "content").glob("*.md"))
    wanted = max(1, round(len(files) * factor))
    for extra in files[wanted:]:
        extra.unlink()
    for k in range(len(files), wanted):
        (pathlib.Path(dest) / "content" / ("page-%05d.md" % k)).write_text("# page %d\n" % k)
"##;

fn step_site(tmp: &TempDir, with_variant: bool) -> std::path::PathBuf {
    let site = tmp.path().join("stepsite");
    std::fs::create_dir_all(site.join("content")).unwrap();
    let source = if with_variant {
        STEP_PROJECT.to_string()
    } else {
        STEP_PROJECT.replace("def make_variant(", "def no_variant(")
    };
    std::fs::write(site.join("stepproj.py"), source).unwrap();
    for k in 0..20 {
        std::fs::write(
            site.join("content").join(format!("page-{k:05}.md")),
            format!("# page {k}\n"),
        )
        .unwrap();
    }
    site
}

#[test]
fn a_step_up_in_per_page_cost_is_located_and_widens_or_refuses_the_projection() {
    let tmp = TempDir::new("growth-step");
    let site = step_site(&tmp, true);
    let before = snapshot(&site);
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &[
            "--loader",
            "stepproj:load",
            "--growth",
            "--no-transports",
            "--no-diagnose",
            "--budget",
            "6",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site directory changed");
    let r = read_results(&out);
    let g = &r["growth"];
    let pages: Vec<u64> = g["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pages"].as_u64().unwrap())
        .collect();
    // The ladder: 1/8 .. 4 times the 20 pages (2.5 rounds to 2).
    for p in [2, 5, 10, 20, 40, 80] {
        assert!(pages.contains(&p), "{pages:?}");
    }
    // The Site's size per page jumps past 50 pages: found between the copies around it.
    let fit = g["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["payload"] == "site" && f["quantity"] == "bytes")
        .expect("the Site's size fitted");
    assert_eq!(fit["step_up"]["from_pages"], 40, "{fit}");
    assert_eq!(fit["step_up"]["to_pages"], 80, "{fit}");
    assert!(
        fit["step_up"]["per_page_after"].as_f64().unwrap()
            > 10.0 * fit["step_up"]["per_page_before"].as_f64().unwrap(),
        "{fit}"
    );
    // The out-of-sample check, fitted below the largest copy, misses it by what the step adds
    // when the step lies between them. The ladder doubles on while the Site fits the machine's
    // last-level cache (300 MiB on some), so the fit may reach past the step: then the step is
    // inside what was fitted and the check holds closely.
    let h = &fit["holdout"];
    let fitted_up_to = h["fitted_up_to"].as_u64().unwrap();
    if fitted_up_to < 80 {
        assert!(h["log_error"].as_f64().unwrap() > 0.5, "{h}");
    } else {
        assert!(h["log_error"].as_f64().unwrap() < 0.1, "{h}");
    }
    let largest = *pages.iter().max().unwrap() as f64;
    for p in g["projections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["payload"] == "site" && p["quantity"] == "bytes")
    {
        let x = p["pages"].as_f64().unwrap();
        if x / largest > 10.0 {
            assert_eq!(p["supported"], false, "{p}");
            assert!(p["value"].is_null(), "{p}");
        } else {
            // Widened: the interval is at least exp(log_error) times the fit's own on each side.
            let w = h["log_error"].as_f64().unwrap().exp();
            assert!(
                p["high"].as_f64().unwrap() >= p["fit_high"].as_f64().unwrap() * w * 0.999,
                "{p}"
            );
            assert!(
                p["low"].as_f64().unwrap() <= p["fit_low"].as_f64().unwrap() / w * 1.001,
                "{p}"
            );
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("`site` size: the per-page cost steps up between 40 and 80 pages"),
        "{md}"
    );
    assert!(md.contains("**40 → 80 pages**"), "{md}");
    let verdict = r["verdict"]["text"].as_str().unwrap();
    assert!(verdict.contains("steps up between 40 and 80 pages"), "{verdict}");
}

#[test]
fn growth_with_a_loader_needs_its_make_variant() {
    let tmp = TempDir::new("growth-loader");
    let site = step_site(&tmp, false);
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &[
            "--loader",
            "stepproj:load",
            "--growth",
            "--no-transports",
            "--no-diagnose",
            "--growth-limit",
            "30",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let errors = r["growth"]["errors"].as_array().unwrap();
    let needs = errors
        .iter()
        .filter(|e| {
            e.as_str()
                .unwrap()
                .contains("needs make_variant(root, dest, factor) in module 'stepproj'")
        })
        .count();
    // Every copy of the ladder; the doublings need a measured copy to start from.
    assert_eq!(needs, 6, "{errors:?}");
    assert!(r["growth"]["copies"].as_array().unwrap().is_empty());
}
