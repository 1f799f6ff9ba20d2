//! Shares are ratios of totals: on a site whose render times are skewed by construction (two
//! pages do fifty times the work of the others), the render total is the sampled pages' mean x
//! pages (not p50 x pages), every verdict row's share divides that total, and the pages that
//! weigh most are named.
use crate::util::*;

/// Twenty pages; `heavy-*.md` render with 50 times the work of the rest (work, not sleeps: the
/// machine's load slows both alike).
const SKEWED_PROJECT: &str = r#"
import pathlib

class Page:
    def __init__(self, path, content):
        self.source_path = path
        self.content = content

class Site:
    def __init__(self, root):
        folder = pathlib.Path(root) / "content"
        self.pages = [Page(str(p.relative_to(root)), p.read_text()) for p in sorted(folder.glob("*.md"))]

def load(root):
    return Site(root)

def render(page):
    rounds = 50 if pathlib.Path(page.source_path).name.startswith("heavy") else 1
    text = page.content
    for _ in range(rounds * 100):
        text = "".join(sorted(text))[:2000] + page.content
    return "<article>%d %s</article>" % (len(text), page.content)
"#;

fn skewed_site(tmp: &TempDir) -> std::path::PathBuf {
    let site = tmp.path().join("skewed");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::write(site.join("proj.py"), SKEWED_PROJECT).unwrap();
    for k in 0..20 {
        let name = if k % 10 == 3 {
            format!("heavy-{k:02}.md")
        } else {
            format!("post-{k:02}.md")
        };
        std::fs::write(
            site.join("content").join(name),
            format!("# page {k}\n\n{}\n", "words ".repeat(200)),
        )
        .unwrap();
    }
    site
}

#[test]
fn shares_divide_the_render_total_of_a_skewed_site_and_name_its_heavy_pages() {
    let tmp = TempDir::new("skewed");
    let site = skewed_site(&tmp);
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &[
            "--loader",
            "proj:load",
            "--budget",
            "1",
            "--transport-budget",
            "2",
            "--workers",
            "1",
            "--no-diagnose",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let render = &r["render"];
    let pages = r["site"]["pages"].as_f64().unwrap();
    assert_eq!(pages, 20.0);
    assert_eq!(render["pages"].as_u64(), Some(20), "{render}");
    // The total is mean x pages: the histogram's mean agrees within its precision, and on this
    // site the mean is far above the median (two pages of twenty do 50 times the work).
    let total = render["total_ns"].as_f64().unwrap();
    let summary = &r["render_ns"];
    let (mean, p50) = (
        summary["mean"].as_f64().unwrap(),
        summary["p50"].as_f64().unwrap(),
    );
    assert!(
        (total / pages / mean - 1.0).abs() < 0.01,
        "total {total} vs mean {mean}"
    );
    assert!(
        total / pages > 2.0 * p50,
        "mean {} vs p50 {p50}: not skewed?",
        total / pages
    );
    // The heavy pages are named first, slowest first until half of the sampled render time:
    // both of them (each about 42% of it), or one alone where the machine's load slowed it
    // past half.
    let dominant = render["dominant"].as_array().unwrap();
    let named: Vec<&str> = dominant.iter().map(|d| d["page"].as_str().unwrap()).collect();
    let heavy = named
        .iter()
        .take_while(|n| n.starts_with("content/heavy-"))
        .count();
    let first_share = dominant[0]["share"].as_f64().unwrap();
    assert!(
        heavy >= 2 || (heavy == 1 && first_share > 0.5),
        "{named:?} {dominant:?}"
    );
    let shares: f64 = dominant.iter().map(|d| d["share"].as_f64().unwrap()).sum();
    assert!(shares > 0.5 && shares <= 1.0, "{dominant:?}");
    // Every row's share is its transfer total over the render total, never a ratio of medians.
    let mut checked = 0;
    for row in r["verdicts"].as_array().unwrap() {
        let (Some(share), Some(transfer)) =
            (row["transfer_share"].as_f64(), row["transfer_total_ns"].as_f64())
        else {
            continue;
        };
        assert!((share - transfer / total).abs() <= 1e-9 * share.max(1.0), "{row}");
        let [low, high] = [0, 1].map(|k| row["share_interval"][k].as_f64().unwrap());
        assert!(low <= share && share <= high, "{row}");
        checked += 1;
    }
    assert!(checked > 0, "no row with a share: {}", r["verdicts"]);
    // The report says what the shares divide, and who weighs most.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("the sampled pages' mean x pages"), "{report}");
    assert!(
        report.contains(&format!("Weighing most of the sampled render time: {}", named[0])),
        "{report}"
    );
}
